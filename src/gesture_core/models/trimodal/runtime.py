"""The Trimodal generator on onnxruntime: no torch needed (imports numpy and onnxruntime only).

Loads ``model.onnx`` (written by ``python -m gesture_core.models.trimodal.export CKPT_DIR``) plus
the checkpoint's JSON metadata. Execution providers are chosen by name, in order of preference
(:func:`gesture_core.models.common.select_providers`): a provider this onnxruntime build lacks
(e.g. ``CUDAExecutionProvider`` without a GPU build) is skipped with a warning, and
``CPUExecutionProvider`` is always the last resort.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..common import CPU, open_session
from ..common import select_providers as select_providers  # re-exported (used by tests and users)
from .config import ONNX_FILE, ONNX_OUTPUT, read_meta
from .inference import TrimodalGeneratorBase

log = logging.getLogger(__name__)

#: The module whose CLI writes ``model.onnx``.
EXPORT_MODULE = "gesture_core.models.trimodal.export"


class OnnxTrimodalGenerator(TrimodalGeneratorBase):
    """Gesture generator running a checkpoint's ``model.onnx`` with onnxruntime.

    - ckpt_dir: a project-format checkpoint directory containing ``model.onnx``.
    - providers: onnxruntime execution provider names in order of preference.
    - threads: intra-op threads (0: onnxruntime's default).

    Raises :class:`ModelError` for a missing or corrupt checkpoint or ONNX file.
    """

    def __init__(self, ckpt_dir: str | Path, providers: Sequence[str] = (CPU,), threads: int = 0):
        meta = read_meta(ckpt_dir)
        super().__init__(meta)
        cfg = self.config
        inputs = {
            "pre_seq": [cfg.n_poses, cfg.pose_dim + 1],
            "text_ids": [cfg.n_poses],
            "audio": [cfg.audio_samples],
            "speaker_weights": [cfg.n_speakers],
            "eps": [cfg.z_dim],
        }
        self.session = open_session(
            meta.path / ONNX_FILE, inputs, [ONNX_OUTPUT], select_providers(providers), threads, EXPORT_MODULE
        )
        log.info("trimodal onnx: %s on %s", meta.path / ONNX_FILE, self.providers)

    @property
    def providers(self) -> list[str]:
        """Providers the session actually uses."""
        return self.session.get_providers()

    def run_window(
        self, pre_seq: np.ndarray, text_ids: np.ndarray, audio: np.ndarray, speaker_weights: np.ndarray, eps: np.ndarray
    ) -> np.ndarray:
        feeds = {
            "pre_seq": np.asarray(pre_seq, dtype=np.float32),
            "text_ids": np.asarray(text_ids, dtype=np.int64),
            "audio": np.asarray(audio, dtype=np.float32),
            "speaker_weights": np.asarray(speaker_weights, dtype=np.float32),
            "eps": np.asarray(eps, dtype=np.float32),
        }
        return self.session.run([ONNX_OUTPUT], feeds)[0]
