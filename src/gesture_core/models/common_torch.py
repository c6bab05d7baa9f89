"""What the learned models share that needs torch: safetensors weights and the checked ONNX export.

- :func:`save_weights` / :func:`load_weights`: a module's state dict as ``model.safetensors``
  (no pickles); tensors a module registers under two names are stored once.
- :func:`export_checked`: ``torch.onnx.export`` with a dynamic batch dimension, then the ONNX file
  is run with onnxruntime on fresh random inputs and kept only if it agrees with PyTorch;
  :func:`export_cli`, the command line of a model's export module.

The torch-free parts (checkpoint metadata, sessions) are in :mod:`.common`.
"""

from __future__ import annotations

import argparse
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import onnxruntime as ort
import torch
from safetensors import SafetensorError
from safetensors.torch import load_model as st_load_model
from safetensors.torch import save_model as st_save_model
from torch import nn

from ..errors import GestureError, ModelError
from .common import CPU, configure_cli_logging

log = logging.getLogger(__name__)

#: Largest accepted |onnxruntime - torch| on the check inputs (float32 round-off is ~1e-6).
TOLERANCE = 1e-4
#: Lowest ONNX opset the exporter is asked for.
MIN_OPSET = 17

M = TypeVar("M", bound=nn.Module)


def save_weights(model: nn.Module, path: Path, fmt: str) -> None:
    """Write ``model``'s state dict to ``path`` (safetensors, with ``{"format": fmt}`` as metadata)."""
    st_save_model(model, str(path), metadata={"format": fmt})


def load_weights(model: M, path: Path, device: str | torch.device = "cpu") -> M:
    """Load ``path`` into ``model`` (strict: every tensor, right shapes); returns it in eval mode on
    ``device``. Raises :class:`ModelError` naming the file (and tensor) when it is missing or corrupt."""
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint file is missing")
    try:
        st_load_model(model, str(path), strict=True, device=str(device))
    except (SafetensorError, RuntimeError, OSError, ValueError) as e:
        # RuntimeError from load_state_dict names the missing/unexpected key or the size mismatch.
        raise ModelError(f"{path}: cannot load the weights: {e}") from e
    return model.to(device).eval()


def max_abs_diff(
    module: nn.Module, onnx_path: str | Path, inputs: Sequence[torch.Tensor], names: Sequence[str]
) -> float:
    """max |onnxruntime(inputs) - module(inputs)| over all outputs of the ONNX file of ``module``;
    ``names``: the ONNX input names, in the order of ``inputs``."""
    sess = ort.InferenceSession(str(onnx_path), providers=[CPU])
    got = sess.run(None, {n: t.numpy() for n, t in zip(names, inputs)})
    with torch.inference_mode():
        want = module(*inputs)
    want = want if isinstance(want, tuple) else (want,)
    return max(float(np.max(np.abs(g - w.detach().numpy()))) for g, w in zip(got, want))


def export_checked(
    module: nn.Module,
    make_inputs: Callable[..., tuple[torch.Tensor, ...]],
    path: Path,
    input_names: Sequence[str],
    output_names: Sequence[str],
    opset: int,
) -> float:
    """Export ``module`` (an eval-mode CPU module) to ``path`` with the batch dimension of every
    input dynamic, check it on fresh inputs; returns the max abs diff (onnxruntime vs torch).

    - make_inputs: ``make_inputs(batch=B, seed=S)`` -> random inputs in ``input_names`` order.

    Raises :class:`ModelError` when the export fails or disagrees with PyTorch by
    :data:`TOLERANCE` or more; nothing is written then.
    """
    if opset < MIN_OPSET:
        raise ModelError(f"export.opset must be >= {MIN_OPSET}, got {opset}")
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


def export_cli(
    argv: list[str] | None, description: str, export_checkpoint: Callable[[Path, int], Mapping[str, float]]
) -> int:
    """The ``python -m ...export CKPT_DIR [--opset N]`` command of a model: runs
    ``export_checkpoint(ckpt_dir, opset)`` (-> checked max abs diff per written file name), prints
    one line per file; a :class:`GestureError` is logged as one line and exits with status 1."""
    parser = argparse.ArgumentParser(description=description)
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
