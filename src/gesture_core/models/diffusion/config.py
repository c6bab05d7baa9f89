"""The diffusion model's configuration and its checkpoint directory's metadata files (torch-free).

A checkpoint is a directory, laid out like the Trimodal model's::

    config.json        {"format": "gesture.diffusion/1", "backend": "diffusion",
                        "config": {DiffusionConfig}, "provenance": {...}}
    model.safetensors  the denoiser's state dict (written and read by :mod:`.checkpoint`, needs torch)
    vocab.json         the word vocabulary (:class:`gesture_core.vocab.Vocab`)
    encoder.onnx       optional: the condition encoder (audio, words, speaker -> per-frame condition)
    model.onnx         optional: ONE denoising step (written with encoder.onnx by :mod:`.export`)

This module reads and writes everything except the weights, so the onnxruntime backend
(:mod:`.runtime`) loads a checkpoint without torch. Failures are :class:`ModelError` naming the
file (and the field); a bad config value is a :class:`ConfigError` naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ... import skeleton
from ...errors import ConfigError
from ...vocab import Vocab
from ..common import CONFIG_FILE as CONFIG_FILE  # re-exported: file names of the checkpoint layout
from ..common import ONNX_FILE as ONNX_FILE
from ..common import WEIGHTS_FILE as WEIGHTS_FILE
from ..common import ModelConfig, check_mean_dir_vec, read_checkpoint_files, write_checkpoint_files

FORMAT = "gesture.diffusion/1"
#: Value of ``"backend"`` in config.json: the training command and the generator node pick the model by it.
BACKEND = "diffusion"

ENCODER_ONNX_FILE = "encoder.onnx"

#: encoder.onnx: inputs (batch first) audio (B, audio_samples) float32, text_ids (B, n_poses) int64,
#: speaker_weights (B, n_speakers) float32 -> cond, uncond (B, n_poses, cond_dim) float32.
ENCODER_INPUTS = ("audio", "text_ids", "speaker_weights")
ENCODER_OUTPUTS = ("cond", "uncond")
#: model.onnx (one denoising step): x_t (B, n_poses, 27) float32, t (B,) float32,
#: cond (B, n_poses, cond_dim) float32, pre_seq (B, n_poses, 28) float32 -> pred (B, n_poses, 27).
DENOISER_INPUTS = ("x_t", "t", "cond", "pre_seq")
DENOISER_OUTPUT = "pred"

PREDICTIONS = ("v", "x0", "eps")


def _positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"diffusion.{name} must be a positive integer, got {value!r}")


def _number_in(name: str, value: Any, lo: float, hi: float, hi_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < lo or value > hi or (hi_open and value == hi):
        bracket = ")" if hi_open else "]"
        raise ConfigError(f"diffusion.{name} must be a number in [{lo}, {hi}{bracket}, got {value!r}")


@dataclass
class DiffusionConfig(ModelConfig):
    """Sizes and training settings of the diffusion denoiser (:class:`.model.GestureDenoiser`).

    Window (the Trimodal model's, see ``facts.md``): ``n_poses`` frames at ``fps``, the first
    ``n_pre_poses`` of which are seed poses; ``audio_samples`` raw 16 kHz samples per window.

    Sizes: a transformer-lite of ``n_layers`` blocks of width ``d_model`` (``n_heads`` attention
    heads, feed-forward width ``d_ff``); condition features of width ``cond_dim`` per frame, built
    from ``audio_dim`` audio channels, ``text_dim`` text channels (word embeddings of ``word_dim``)
    and a ``speaker_dim`` speaker embedding.

    - ``n_words``: rows of the word embedding (vocabulary size, special tokens included).
    - ``n_speakers``: rows of the speaker embedding; as in the Trimodal model, row 0 is unused and
      speakers are rows 1..n_speakers-1 (the default style is their average).
    - ``prediction``: what the network predicts from the noisy window: ``"v"`` (velocity,
      ``sqrt(ab)*eps - sqrt(1-ab)*x0``; default: well-behaved at every noise level, so few-step
      sampling works), ``"x0"`` (the clean window) or ``"eps"`` (the noise).
    - ``n_train_steps``: discrete diffusion timesteps of the cosine schedule (:mod:`.schedule`).
    - ``p_uncond``: probability of dropping audio, words and speaker together during training
      (classifier-free guidance learns the unconditional model from these samples).
    - ``p_no_seed``: probability of hiding the seed poses during training (constraint bits 0), so
      the model can also start an utterance without seed poses.
    - ``pose_scale``: the model works on ``(pose - mean_dir_vec) / pose_scale``; 0.3 is the RMS of
      ``pose - mean_dir_vec`` measured on BEAT2 speaker "scott" (TED format), so the data has about
      unit variance like the noise.
    - ``mean_dir_vec``: (27,) the mean pose (default: the Trimodal model's).
    """

    section: ClassVar[str] = "diffusion"

    n_words: int
    n_speakers: int
    n_poses: int = 34
    n_pre_poses: int = 4
    fps: float = skeleton.FPS
    sample_rate: int = 16_000
    d_model: int = 192
    n_layers: int = 4
    n_heads: int = 4
    d_ff: int = 512
    word_dim: int = 128
    audio_dim: int = 32
    text_dim: int = 32
    speaker_dim: int = 16
    cond_dim: int = 64
    dropout: float = 0.1
    prediction: str = "v"
    n_train_steps: int = 1000
    p_uncond: float = 0.1
    p_no_seed: float = 0.1
    pose_scale: float = 0.3
    mean_dir_vec: list[float] = field(default_factory=lambda: [float(v) for v in skeleton.MEAN_DIR_VEC])

    def __post_init__(self) -> None:
        for name in ("n_words", "n_speakers", "n_poses", "sample_rate", "d_model", "n_layers", "n_heads", "d_ff",
                     "word_dim", "audio_dim", "text_dim", "speaker_dim", "cond_dim", "n_train_steps"):  # fmt: skip
            _positive_int(name, getattr(self, name))
        if self.n_words <= 4:
            raise ConfigError(f"diffusion.n_words must exceed the 4 special tokens, got {self.n_words}")
        _positive_int("n_pre_poses", self.n_pre_poses)
        if self.n_pre_poses >= self.n_poses:
            raise ConfigError(
                f"diffusion.n_pre_poses must be below n_poses={self.n_poses}, got {self.n_pre_poses}"
            )
        if self.d_model % self.n_heads:
            raise ConfigError(f"diffusion.n_heads must divide d_model={self.d_model}, got {self.n_heads}")
        if self.d_model % 2:
            raise ConfigError(
                f"diffusion.d_model must be even (sinusoidal timestep embedding), got {self.d_model}"
            )
        _number_in("fps", self.fps, 1e-3, math.inf)
        _number_in("dropout", self.dropout, 0.0, 1.0, hi_open=True)
        _number_in("p_uncond", self.p_uncond, 0.0, 1.0, hi_open=True)
        _number_in("p_no_seed", self.p_no_seed, 0.0, 1.0, hi_open=True)
        _number_in("pose_scale", self.pose_scale, 1e-3, 10.0)
        if self.prediction not in PREDICTIONS:
            raise ConfigError(f"diffusion.prediction must be one of {PREDICTIONS}, got {self.prediction!r}")
        self.mean_dir_vec = check_mean_dir_vec("diffusion", self.mean_dir_vec)


@dataclass
class CheckpointMeta:
    """Everything in a checkpoint directory except the weights."""

    path: Path
    config: DiffusionConfig
    vocab: Vocab
    #: Where the weights came from (free-form: training run, "random initialisation", ...).
    provenance: dict[str, Any] = field(default_factory=dict)


def read_meta(ckpt_dir: str | Path) -> CheckpointMeta:
    """Read ``config.json`` and ``vocab.json`` of a checkpoint directory (no weights)."""
    files = read_checkpoint_files(ckpt_dir, {"format": FORMAT, "backend": BACKEND}, DiffusionConfig)
    return CheckpointMeta(files.path, files.config, files.vocab, files.provenance)


def write_meta(meta: CheckpointMeta) -> None:
    """Write ``config.json`` and ``vocab.json`` into ``meta.path`` (created if needed)."""
    header = {"format": FORMAT, "backend": BACKEND}
    write_checkpoint_files(meta.path, header, meta.config, meta.vocab, meta.provenance)
