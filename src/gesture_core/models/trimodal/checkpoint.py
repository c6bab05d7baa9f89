"""Save and load Trimodal checkpoints in the project format (needs torch).

The directory layout is described in :mod:`.config`. Weights are a safetensors file (no pickles);
tensors the module registers under two names (the TCN's ``conv1`` = ``net.0``) are stored once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch

from ...vocab import Vocab
from ..common_torch import load_weights, save_weights
from .config import FORMAT, WEIGHTS_FILE, CheckpointMeta, read_meta, write_meta
from .model import PoseGenerator

log = logging.getLogger(__name__)


def save_checkpoint(
    ckpt_dir: str | Path,
    model: PoseGenerator,
    vocab: Vocab,
    speakers: list[str | None] | None = None,
    provenance: dict[str, Any] | None = None,
) -> CheckpointMeta:
    """Write ``model`` with its vocabulary (and speaker names) as a checkpoint directory."""
    meta = CheckpointMeta(Path(ckpt_dir), model.cfg, vocab, speakers, dict(provenance or {}))
    write_meta(meta)
    save_weights(model, meta.path / WEIGHTS_FILE, FORMAT)
    log.info("saved Trimodal checkpoint to %s", meta.path)
    return meta


def load_model(ckpt_dir: str | Path, device: str | torch.device = "cpu") -> tuple[PoseGenerator, CheckpointMeta]:
    """Build the generator of a checkpoint directory, in eval mode on ``device``.

    Raises :class:`~gesture_core.errors.ModelError` naming the file (and tensor) when anything is
    missing or corrupt.
    """
    meta = read_meta(ckpt_dir)
    return load_weights(PoseGenerator(meta.config), meta.path / WEIGHTS_FILE, device), meta
