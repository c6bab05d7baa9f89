"""The diffusion generator on PyTorch (``backend: diffusion`` with torch installed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_model
from .inference import DiffusionGeneratorBase
from .sampler import SamplerConfig


class DiffusionGenerator(DiffusionGeneratorBase):
    """Gesture generator running a diffusion checkpoint with PyTorch.

    - ckpt_dir: a diffusion checkpoint directory (see :mod:`.config`).
    - device: torch device of the model (``"cpu"``, ``"cuda"``).
    - sampler: DDIM settings (steps, eta, guidance, in-painting); default :class:`SamplerConfig`.

    Raises :class:`~gesture_core.errors.ModelError` for a missing or corrupt checkpoint.
    """

    def __init__(self, ckpt_dir: str | Path, device: str = "cpu", sampler: SamplerConfig | None = None):
        self.model, meta = load_model(ckpt_dir, device)
        self.device = torch.device(device)
        super().__init__(meta, sampler)

    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device)

    @torch.inference_mode()
    def encode(
        self, audio: np.ndarray, text_ids: np.ndarray, speaker_weights: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        cond, uncond = self.model.encode(
            self._tensor(audio.astype(np.float32)), self._tensor(text_ids.astype(np.int64)),
            self._tensor(speaker_weights.astype(np.float32)),
        )  # fmt: skip
        return cond.cpu().numpy(), uncond.cpu().numpy()

    @torch.inference_mode()
    def denoise(self, x_t: np.ndarray, t: np.ndarray, cond: np.ndarray, pre_seq: np.ndarray) -> np.ndarray:
        out = self.model(self._tensor(x_t), self._tensor(t), self._tensor(cond), self._tensor(pre_seq))
        return out.cpu().numpy()
