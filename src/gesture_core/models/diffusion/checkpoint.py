"""Save and load diffusion checkpoints (needs torch). The directory layout is in :mod:`.config`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from ...vocab import Vocab
from ..common_torch import load_weights, save_weights
from .config import FORMAT, WEIGHTS_FILE, CheckpointMeta, read_meta, write_meta
from .model import GestureDenoiser

log = logging.getLogger(__name__)


def save_checkpoint(
    ckpt_dir: str | Path, model: GestureDenoiser, vocab: Vocab, provenance: dict[str, Any] | None = None
) -> CheckpointMeta:
    """Write ``model`` with its vocabulary as a checkpoint directory (created if needed)."""
    meta = CheckpointMeta(Path(ckpt_dir), model.cfg, vocab, dict(provenance or {}))
    write_meta(meta)
    save_weights(model, meta.path / WEIGHTS_FILE, FORMAT)
    log.info("saved diffusion checkpoint to %s", meta.path)
    return meta


def load_model(
    ckpt_dir: str | Path, device: str | torch.device = "cpu"
) -> tuple[GestureDenoiser, CheckpointMeta]:
    """Build the denoiser of a checkpoint directory, in eval mode on ``device``.

    Raises :class:`~gesture_core.errors.ModelError` naming the file (and tensor) when anything is
    missing or corrupt.
    """
    meta = read_meta(ckpt_dir)
    return load_weights(GestureDenoiser(meta.config), meta.path / WEIGHTS_FILE, device), meta
