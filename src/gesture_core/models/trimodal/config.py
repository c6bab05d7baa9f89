"""The Trimodal model's configuration and the checkpoint directory's metadata files (torch-free).

A project-format checkpoint is a directory::

    config.json        {"format": "gesture.trimodal/1", "config": {TrimodalConfig}, "provenance": {...}}
    model.safetensors  the generator's state dict (written and read by :mod:`.checkpoint`, needs torch)
    vocab.json         the word vocabulary (:class:`gesture_core.vocab.Vocab`)
    speakers.json      optional: {"schema": "gesture.speakers/1", "names": [null, "vid_a", ...]}
    model.onnx         optional: one window step for onnxruntime (written by :mod:`.export`)

This module reads and writes everything except the weights, so the onnxruntime backend can load a
checkpoint without torch. Every failure is a :class:`ModelError` naming the file (and the field).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from ... import skeleton
from ...errors import ConfigError, ModelError
from ...vocab import Vocab
from ..common import CONFIG_FILE as CONFIG_FILE  # re-exported: file names of the checkpoint layout
from ..common import ONNX_FILE as ONNX_FILE
from ..common import WEIGHTS_FILE as WEIGHTS_FILE
from ..common import ModelConfig, check_mean_dir_vec, read_checkpoint_files, read_json, write_checkpoint_files

FORMAT = "gesture.trimodal/1"
SPEAKERS_SCHEMA = "gesture.speakers/1"

SPEAKERS_FILE = "speakers.json"

#: ``model.onnx``: one window step, batch dimension dynamic (see ``PoseGenerator.forward``):
#: pre_seq (B, 34, 28) float32, text_ids (B, 34) int64, audio (B, 36266) float32,
#: speaker_weights (B, n_speakers) float32, eps (B, 16) float32 -> poses (B, 34, 27) float32.
ONNX_INPUTS = ("pre_seq", "text_ids", "audio", "speaker_weights", "eps")
ONNX_OUTPUT = "poses"


@dataclass
class TrimodalConfig(ModelConfig):
    """Sizes of the Trimodal generator (``PoseGenerator`` of Yoon et al. 2020).

    Defaults are the official TED model's. ``hidden_size`` and ``n_layers`` size both the GRU and
    the text TCN (``n_layers`` temporal blocks of ``hidden_size`` channels), as in the original code.

    - ``n_words``: rows of the word embedding (vocabulary size, special tokens included).
    - ``n_speakers``: rows of the speaker embedding. Official convention: row 0 is unused, speakers
      are rows 1..n_speakers-1; the default style (no speaker given) is their average.
    - ``audio_samples``: raw 16 kHz samples per window, ``int(n_poses / fps * sample_rate)``.
    - ``mean_dir_vec``: (27,) the mean pose; the model predicts ``pose - mean_dir_vec``.
    """

    section: ClassVar[str] = "trimodal"

    n_words: int
    n_speakers: int
    hidden_size: int = 300
    n_layers: int = 4
    dropout: float = 0.3
    n_poses: int = 34
    n_pre_poses: int = 4
    wordembed_dim: int = 300
    z_dim: int = 16
    audio_feat_dim: int = 32
    text_feat_dim: int = 32
    emb_dropout: float = 0.1
    fps: float = skeleton.FPS
    sample_rate: int = 16_000
    mean_dir_vec: list[float] = field(default_factory=lambda: [float(v) for v in skeleton.MEAN_DIR_VEC])

    def __post_init__(self) -> None:
        for name in ("n_words", "n_speakers", "hidden_size", "n_layers", "n_poses", "wordembed_dim", "z_dim",
                     "audio_feat_dim", "text_feat_dim", "sample_rate"):  # fmt: skip
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"trimodal.{name} must be a positive integer, got {value!r}")
        if self.n_words <= 4:
            raise ConfigError(f"trimodal.n_words must exceed the 4 special tokens, got {self.n_words}")
        if isinstance(self.n_pre_poses, bool) or not isinstance(self.n_pre_poses, int) or not (
            0 < self.n_pre_poses < self.n_poses
        ):
            raise ConfigError(f"trimodal.n_pre_poses must be an integer in 1..n_poses-1, got {self.n_pre_poses!r}")
        for name in ("dropout", "emb_dropout"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
                raise ConfigError(f"trimodal.{name} must be in [0, 1), got {value!r}")
        if not isinstance(self.fps, (int, float)) or not math.isfinite(self.fps) or self.fps <= 0:
            raise ConfigError(f"trimodal.fps must be a positive number, got {self.fps!r}")
        self.mean_dir_vec = check_mean_dir_vec("trimodal", self.mean_dir_vec)

    @property
    def gru_input_size(self) -> int:
        """Per-frame GRU input: seed pose + constraint bit, audio, text, z (108 for the defaults)."""
        return self.pose_dim + 1 + self.audio_feat_dim + self.text_feat_dim + self.z_dim


@dataclass
class CheckpointMeta:
    """Everything in a checkpoint directory except the weights."""

    path: Path
    config: TrimodalConfig
    vocab: Vocab
    #: Speaker names by embedding row (row 0: None in official checkpoints), or None if unknown.
    speakers: list[str | None] | None = None
    #: Where the weights came from (free-form: source file, conversion tool, training run...).
    provenance: dict[str, Any] = field(default_factory=dict)


def read_meta(ckpt_dir: str | Path) -> CheckpointMeta:
    """Read ``config.json``, ``vocab.json`` and ``speakers.json`` of a checkpoint directory."""
    files = read_checkpoint_files(ckpt_dir, {"format": FORMAT}, TrimodalConfig)
    speakers = None
    spk_path = files.path / SPEAKERS_FILE
    if spk_path.exists():
        spk = read_json(spk_path)
        names = spk.get("names") if isinstance(spk, dict) else None
        if not isinstance(spk, dict) or spk.get("schema") != SPEAKERS_SCHEMA or not isinstance(names, list):
            raise ModelError(f"{spk_path}: expected {{'schema': {SPEAKERS_SCHEMA!r}, 'names': [...]}}")
        n_speakers = files.config.n_speakers
        if len(names) != n_speakers or not all(n is None or isinstance(n, str) for n in names):
            raise ModelError(f"{spk_path}: 'names' must be {n_speakers} strings or nulls (n_speakers)")
        speakers = names
    return CheckpointMeta(files.path, files.config, files.vocab, speakers, files.provenance)


def write_meta(meta: CheckpointMeta) -> None:
    """Write ``config.json``, ``vocab.json`` (and ``speakers.json``) into ``meta.path`` (created)."""
    if meta.speakers is not None and len(meta.speakers) != meta.config.n_speakers:
        raise ModelError(f"{len(meta.speakers)} speaker names but config.n_speakers={meta.config.n_speakers}")
    write_checkpoint_files(meta.path, {"format": FORMAT}, meta.config, meta.vocab, meta.provenance)
    if meta.speakers is not None:
        doc = {"schema": SPEAKERS_SCHEMA, "names": meta.speakers}
        (meta.path / SPEAKERS_FILE).write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
