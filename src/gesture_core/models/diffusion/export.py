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

import argparse
import logging
import os
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from ...errors import GestureError, ModelError
from ..trimodal.export import configure_cli_logging
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

log = logging.getLogger(__name__)

#: Largest accepted |onnxruntime - torch| on the check inputs (float32 round-off is ~1e-6).
TOLERANCE = 1e-4


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


def max_abs_diff(
    module: nn.Module, onnx_path: str | Path, inputs: Sequence[torch.Tensor], names: Sequence[str]
) -> float:
    """max |onnxruntime(inputs) - module(inputs)| over all outputs of the ONNX file of ``module``."""
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
    with torch.inference_mode():
        want = module(*inputs)
    want = want if isinstance(want, tuple) else (want,)
    return max(float(np.max(np.abs(g - w.detach().numpy()))) for g, w in zip(got, want))


def _export_checked(
    module: nn.Module,
    make_inputs: Callable[..., tuple[torch.Tensor, ...]],
    path: Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    opset: int,
) -> float:
    """Export ``module`` to ``path`` (batch dynamic), check it on fresh inputs; returns the max abs diff."""
    batch = torch.export.Dim("batch", min=1, max=4096)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.onnx.export(
            module,
            make_inputs(batch=2, seed=0),
            str(tmp),
            input_names=list(input_names),
            output_names=list(output_names),
            opset_version=opset,
            dynamo=True,
            external_data=False,
            dynamic_shapes={name: {0: batch} for name in input_names},
            verbose=False,
        )
        diff = max_abs_diff(module, tmp, make_inputs(batch=3, seed=1), input_names)
        if not diff < TOLERANCE:
            raise ModelError(f"{path}: exported ONNX disagrees with PyTorch: max abs diff {diff:.3g}")
        os.replace(tmp, path)
    except ModelError:
        raise
    except Exception as e:  # the exporter raises many kinds of errors; report them as ours
        raise ModelError(f"{path}: ONNX export failed: {type(e).__name__}: {e}") from e
    finally:
        tmp.unlink(missing_ok=True)
    log.info("wrote %s (opset %d, onnxruntime vs torch max abs diff %.2e)", path, opset, diff)
    return diff


def export_onnx(model: GestureDenoiser, out_dir: str | Path, opset: int = 18) -> dict[str, float]:
    """Write ``encoder.onnx`` and ``model.onnx`` of ``model`` into ``out_dir``.

    Returns the checked max abs diff (onnxruntime vs torch) per file name.
    """
    if opset < 17:
        raise ModelError(f"export.opset must be >= 17, got {opset}")
    out_dir = Path(out_dir)
    model = model.cpu().eval()
    encoder = ConditionGraph(model).eval()
    return {
        ENCODER_ONNX_FILE: _export_checked(
            encoder,
            partial(encoder_inputs, model),
            out_dir / ENCODER_ONNX_FILE,
            ENCODER_INPUTS,
            ENCODER_OUTPUTS,
            opset,
        ),
        ONNX_FILE: _export_checked(
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
    parser = argparse.ArgumentParser(
        description="Export a diffusion checkpoint directory to CKPT_DIR/encoder.onnx and CKPT_DIR/model.onnx."
    )
    parser.add_argument("ckpt_dir", type=Path)
    parser.add_argument("--opset", type=int, default=18)
    args = parser.parse_args(argv)
    configure_cli_logging()
    try:
        diffs = export_checkpoint(args.ckpt_dir, args.opset)
    except GestureError as e:
        log.error("%s", e)
        return 1
    for name, diff in diffs.items():
        print(f"{args.ckpt_dir / name}  max abs diff vs torch {diff:.2e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
