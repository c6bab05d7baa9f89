"""Export a diffusion checkpoint to ONNX, for the torch-free onnxruntime backend.

    python -m gesture_core.models.diffusion.export CKPT_DIR [--opset 18]

writes two graphs, batch dimension dynamic, with the ``torch.export``-based exporter:

- ``CKPT_DIR/encoder.onnx``: the condition encoder, run once per window
  (:data:`.config.ENCODER_INPUTS` -> :data:`.config.ENCODER_OUTPUTS`);
- ``CKPT_DIR/model.onnx``: ONE denoising step, run ``steps`` times per window
  (:data:`.config.DENOISER_INPUTS` -> :data:`.config.DENOISER_OUTPUT`).

Each is checked with onnxruntime against PyTorch on random inputs and not kept if they disagree.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch
from torch import nn

from ..common_torch import export_checked, export_cli
from .checkpoint import load_model
from .config import (
    DENOISER_INPUTS,
    DENOISER_OUTPUT,
    ENCODER_INPUTS,
    ENCODER_ONNX_FILE,
    ENCODER_OUTPUTS,
    ONNX_FILE,
)
from .model import GestureDenoiser


class ConditionGraph(nn.Module):
    """The part of :class:`GestureDenoiser` that ``encoder.onnx`` holds: :meth:`GestureDenoiser.encode`."""

    def __init__(self, model: GestureDenoiser):
        super().__init__()
        self.model = model

    def forward(
        self, audio: torch.Tensor, text_ids: torch.Tensor, speaker_weights: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.encode(audio, text_ids, speaker_weights)


def encoder_inputs(model: GestureDenoiser, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random condition-encoder inputs, in :data:`ENCODER_INPUTS` order."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    audio = 0.1 * torch.randn(batch, cfg.audio_samples, generator=g)
    text_ids = torch.randint(0, cfg.n_words, (batch, cfg.n_poses), generator=g)
    speakers = torch.randint(0, cfg.n_speakers, (batch,), generator=g)
    return audio, text_ids, torch.nn.functional.one_hot(speakers, cfg.n_speakers).float()


def denoiser_inputs(model: GestureDenoiser, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random inputs of one denoising step, in :data:`DENOISER_INPUTS` order."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    x_t = torch.randn(batch, cfg.n_poses, cfg.pose_dim, generator=g)
    t = torch.randint(0, cfg.n_train_steps, (batch,), generator=g).float()
    cond = torch.randn(batch, cfg.n_poses, cfg.cond_dim, generator=g)
    pre_seq = torch.zeros(batch, cfg.n_poses, cfg.pose_dim + 1)
    pre_seq[:, : cfg.n_pre_poses, :-1] = 0.2 * torch.randn(batch, cfg.n_pre_poses, cfg.pose_dim, generator=g)
    pre_seq[:, : cfg.n_pre_poses, -1] = 1.0
    return x_t, t, cond, pre_seq


def export_onnx(model: GestureDenoiser, out_dir: str | Path, opset: int = 18) -> dict[str, float]:
    """Write ``encoder.onnx`` and ``model.onnx`` of ``model`` into ``out_dir``.

    Returns the checked max abs diff (onnxruntime vs torch) per file name.
    """
    out_dir = Path(out_dir)
    model = model.cpu().eval()
    encoder = ConditionGraph(model).eval()
    return {
        ENCODER_ONNX_FILE: export_checked(
            encoder,
            partial(encoder_inputs, model),
            out_dir / ENCODER_ONNX_FILE,
            ENCODER_INPUTS,
            ENCODER_OUTPUTS,
            opset,
        ),
        ONNX_FILE: export_checked(
            model,
            partial(denoiser_inputs, model),
            out_dir / ONNX_FILE,
            DENOISER_INPUTS,
            [DENOISER_OUTPUT],
            opset,
        ),
    }


def export_checkpoint(ckpt_dir: str | Path, opset: int = 18) -> dict[str, float]:
    """Export the checkpoint in ``ckpt_dir`` to its ``encoder.onnx`` and ``model.onnx``."""
    model, meta = load_model(ckpt_dir)
    return export_onnx(model, meta.path, opset)


def main(argv: list[str] | None = None) -> int:
    description = "Export a diffusion checkpoint directory to CKPT_DIR/encoder.onnx and CKPT_DIR/model.onnx."
    return export_cli(argv, description, export_checkpoint)


if __name__ == "__main__":
    raise SystemExit(main())
