"""The Trimodal generator on PyTorch (``backend: trimodal`` with torch installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_model
from .inference import TrimodalGeneratorBase


class TrimodalGenerator(TrimodalGeneratorBase):
    """Gesture generator running a project-format Trimodal checkpoint with PyTorch.

    Raises :class:`~gesture_core.errors.ModelError` for a missing or corrupt checkpoint.
    """

    def __init__(self, ckpt_dir: str | Path, device: str = "cpu"):
        self.model, meta = load_model(ckpt_dir, device)
        self.device = torch.device(device)
        super().__init__(meta)

    @torch.inference_mode()
    def run_window(
        self, pre_seq: np.ndarray, text_ids: np.ndarray, audio: np.ndarray, speaker_weights: np.ndarray, eps: np.ndarray
    ) -> np.ndarray:
        def t(a: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

        out = self.model(t(pre_seq), t(text_ids), t(audio), t(speaker_weights), t(eps))
        return out.cpu().numpy()
