"""Save and load diffusion checkpoints (needs torch). The directory layout is in :mod:`.config`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_model as st_load_model
from safetensors.torch import save_model as st_save_model

from ...errors import ModelError
from ...vocab import Vocab
from .config import FORMAT, WEIGHTS_FILE, CheckpointMeta, read_meta, write_meta
from .model import GestureDenoiser

log = logging.getLogger(__name__)


def save_checkpoint(
    ckpt_dir: str | Path, model: GestureDenoiser, vocab: Vocab, provenance: dict[str, Any] | None = None
) -> CheckpointMeta:
    """Write ``model`` with its vocabulary as a checkpoint directory (created if needed)."""
    meta = CheckpointMeta(Path(ckpt_dir), model.cfg, vocab, dict(provenance or {}))
    write_meta(meta)
    st_save_model(model, str(meta.path / WEIGHTS_FILE), metadata={"format": FORMAT})
    log.info("saved diffusion checkpoint to %s", meta.path)
    return meta


def load_model(
    ckpt_dir: str | Path, device: str | torch.device = "cpu"
) -> tuple[GestureDenoiser, CheckpointMeta]:
    """Build the denoiser of a checkpoint directory, in eval mode on ``device``.

    Raises :class:`ModelError` naming the file (and tensor) when anything is missing or corrupt.
    """
    meta = read_meta(ckpt_dir)
    path = meta.path / WEIGHTS_FILE
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint file is missing")
    model = GestureDenoiser(meta.config)
    try:
        st_load_model(model, str(path), strict=True, device=str(device))
    except (SafetensorError, RuntimeError, OSError, ValueError) as e:
        raise ModelError(f"{path}: cannot load the weights: {e}") from e
    return model.to(device).eval(), meta
