"""Export one Trimodal window step to ONNX, for the torch-free onnxruntime backend.

    python -m gesture_core.models.trimodal.export CKPT_DIR [--opset 18]

writes ``CKPT_DIR/model.onnx`` (inputs and output: :data:`.config.ONNX_INPUTS`, batch dimension
dynamic) with the ``torch.export``-based exporter, then checks it with onnxruntime against PyTorch on
random inputs and refuses to keep it if they disagree.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import torch

from ..common_torch import export_checked, export_cli
from .checkpoint import load_model
from .config import ONNX_FILE, ONNX_INPUTS, ONNX_OUTPUT
from .model import PoseGenerator


def example_inputs(model: PoseGenerator, batch: int = 2, seed: int = 0) -> tuple[torch.Tensor, ...]:
    """Random inputs of one window step, in :data:`ONNX_INPUTS` order."""
    cfg = model.cfg
    g = torch.Generator().manual_seed(seed)
    pre_seq = torch.zeros(batch, cfg.n_poses, cfg.pose_dim + 1)
    pre_seq[:, : cfg.n_pre_poses, :-1] = 0.2 * torch.randn(batch, cfg.n_pre_poses, cfg.pose_dim, generator=g)
    pre_seq[:, : cfg.n_pre_poses, -1] = 1.0
    text_ids = torch.randint(0, cfg.n_words, (batch, cfg.n_poses), generator=g)
    audio = 0.1 * torch.randn(batch, cfg.audio_samples, generator=g)
    speakers = torch.randint(0, cfg.n_speakers, (batch,), generator=g)
    speaker_weights = torch.nn.functional.one_hot(speakers, cfg.n_speakers).float()
    eps = torch.randn(batch, cfg.z_dim, generator=g)
    return pre_seq, text_ids, audio, speaker_weights, eps


def export_onnx(model: PoseGenerator, path: str | Path, opset: int = 18) -> float:
    """Write ``model`` (one window step) to ``path`` as ONNX; returns the checked max abs diff."""
    model = model.cpu().eval()
    inputs = partial(example_inputs, model)
    return export_checked(model, inputs, Path(path), ONNX_INPUTS, [ONNX_OUTPUT], opset)


def export_checkpoint(ckpt_dir: str | Path, opset: int = 18) -> dict[str, float]:
    """Export the checkpoint in ``ckpt_dir`` to ``ckpt_dir/model.onnx``; returns the checked max abs
    diff (onnxruntime vs torch) by file name."""
    model, meta = load_model(ckpt_dir)
    return {ONNX_FILE: export_onnx(model, meta.path / ONNX_FILE, opset)}


def main(argv: list[str] | None = None) -> int:
    return export_cli(argv, "Export a Trimodal checkpoint directory to CKPT_DIR/model.onnx.", export_checkpoint)


if __name__ == "__main__":
    raise SystemExit(main())
