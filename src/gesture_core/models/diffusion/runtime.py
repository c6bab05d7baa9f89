"""The diffusion generator on onnxruntime: no torch needed (imports numpy and onnxruntime only).

Loads ``encoder.onnx`` (the condition encoder, run once per window) and ``model.onnx`` (one
denoising step, run ``steps`` times per window), written by
``python -m gesture_core.models.diffusion.export CKPT_DIR``, plus the checkpoint's JSON metadata;
the DDIM loop runs in numpy (:mod:`.sampler`). Execution providers are chosen by
:func:`gesture_core.models.common.select_providers`: by name in order of preference, unavailable
ones skipped with a warning, ``CPUExecutionProvider`` always last.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..common import CPU, open_session, select_providers
from .config import (
    DENOISER_INPUTS,
    DENOISER_OUTPUT,
    ENCODER_INPUTS,
    ENCODER_ONNX_FILE,
    ENCODER_OUTPUTS,
    ONNX_FILE,
    read_meta,
)
from .inference import DiffusionGeneratorBase
from .sampler import SamplerConfig

log = logging.getLogger(__name__)

#: The module whose CLI writes ``encoder.onnx`` and ``model.onnx``.
EXPORT_MODULE = "gesture_core.models.diffusion.export"


class OnnxDiffusionGenerator(DiffusionGeneratorBase):
    """Gesture generator running a checkpoint's ``encoder.onnx`` + ``model.onnx`` with onnxruntime.

    - ckpt_dir: a diffusion checkpoint directory containing both ONNX files.
    - sampler: DDIM settings (steps, eta, guidance, in-painting); default :class:`SamplerConfig`.
    - providers: onnxruntime execution provider names in order of preference.
    - threads: intra-op threads (0: onnxruntime's default).

    Raises :class:`ModelError` for a missing or corrupt checkpoint or ONNX file.
    """

    def __init__(
        self,
        ckpt_dir: str | Path,
        sampler: SamplerConfig | None = None,
        providers: Sequence[str] = (CPU,),
        threads: int = 0,
    ):
        meta = read_meta(ckpt_dir)
        super().__init__(meta, sampler)
        cfg = self.config
        chosen = select_providers(providers)
        self.encoder = open_session(
            meta.path / ENCODER_ONNX_FILE,
            {"audio": [cfg.audio_samples], "text_ids": [cfg.n_poses], "speaker_weights": [cfg.n_speakers]},
            ENCODER_OUTPUTS, chosen, threads, EXPORT_MODULE,
        )  # fmt: skip
        pose = [cfg.n_poses, cfg.pose_dim]
        self.denoiser = open_session(
            meta.path / ONNX_FILE,
            {"x_t": pose, "t": [], "cond": [cfg.n_poses, cfg.cond_dim], "pre_seq": [cfg.n_poses, cfg.pose_dim + 1]},
            [DENOISER_OUTPUT], chosen, threads, EXPORT_MODULE,
        )  # fmt: skip
        log.info("diffusion onnx: %s on %s", meta.path, self.providers)

    @property
    def providers(self) -> list[str]:
        """Providers the denoiser session actually uses."""
        return self.denoiser.get_providers()

    def encode(
        self, audio: np.ndarray, text_ids: np.ndarray, speaker_weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        arrays = (audio.astype(np.float32), text_ids.astype(np.int64), speaker_weights.astype(np.float32))
        cond, uncond = self.encoder.run(list(ENCODER_OUTPUTS), dict(zip(ENCODER_INPUTS, arrays)))
        return cond, uncond

    def denoise(self, x_t: np.ndarray, t: np.ndarray, cond: np.ndarray, pre_seq: np.ndarray) -> np.ndarray:
        arrays = (x_t, t, cond, pre_seq)
        feeds = {name: np.asarray(a, dtype=np.float32) for name, a in zip(DENOISER_INPUTS, arrays)}
        return self.denoiser.run([DENOISER_OUTPUT], feeds)[0]
