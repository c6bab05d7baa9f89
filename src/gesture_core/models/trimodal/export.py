"""Export one Trimodal window step to ONNX, for the torch-free onnxruntime backend.

    python -m gesture_core.models.trimodal.export CKPT_DIR [--opset 18]

writes ``CKPT_DIR/model.onnx`` (inputs and output: :data:`.config.ONNX_INPUTS`, batch dimension
dynamic) with the ``torch.export``-based exporter, then checks it with onnxruntime against PyTorch on
random inputs and refuses to keep it if they disagree.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from ...errors import GestureError, ModelError
from .checkpoint import load_model
from .config import ONNX_FILE, ONNX_INPUTS, ONNX_OUTPUT
from .model import PoseGenerator

log = logging.getLogger(__name__)

#: Largest accepted |onnxruntime - torch| on the check inputs (float32 round-off is ~1e-6).
TOLERANCE = 1e-4


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


def max_abs_diff(model: PoseGenerator, onnx_path: str | Path, inputs: tuple[torch.Tensor, ...]) -> float:
    """max |onnxruntime(inputs) - model(inputs)| for the ONNX file of ``model``."""
    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    got = sess.run([ONNX_OUTPUT], {n: t.numpy() for n, t in zip(ONNX_INPUTS, inputs)})[0]
    with torch.inference_mode():
        want = model(*inputs).numpy()
    return float(np.max(np.abs(got - want)))


def export_onnx(model: PoseGenerator, path: str | Path, opset: int = 18) -> float:
    """Write ``model`` (one window step) to ``path`` as ONNX; returns the checked max abs diff."""
    if opset < 17:
        raise ModelError(f"export.opset must be >= 17, got {opset}")
    path = Path(path)
    model = model.cpu().eval()
    inputs = example_inputs(model)
    batch = torch.export.Dim("batch", min=1, max=4096)
    tmp = path.with_name(path.name + ".tmp")
    try:
        torch.onnx.export(
            model,
            inputs,
            str(tmp),
            input_names=list(ONNX_INPUTS),
            output_names=[ONNX_OUTPUT],
            opset_version=opset,
            dynamo=True,
            external_data=False,
            dynamic_shapes={name: {0: batch} for name in ONNX_INPUTS},
            verbose=False,
        )
        diff = max_abs_diff(model, tmp, example_inputs(model, batch=3, seed=1))
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


def export_checkpoint(ckpt_dir: str | Path, opset: int = 18) -> Path:
    """Export the checkpoint in ``ckpt_dir`` to ``ckpt_dir/model.onnx``; returns its path."""
    model, meta = load_model(ckpt_dir)
    path = meta.path / ONNX_FILE
    export_onnx(model, path, opset)
    return path


def configure_cli_logging() -> None:
    """INFO logging for the command-line tools, without the ONNX optimiser's per-pass chatter."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("onnx_ir").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Export a Trimodal checkpoint directory to CKPT_DIR/model.onnx.")
    parser.add_argument("ckpt_dir", type=Path)
    parser.add_argument("--opset", type=int, default=18)
    args = parser.parse_args(argv)
    configure_cli_logging()
    try:
        path = export_checkpoint(args.ckpt_dir, args.opset)
    except GestureError as e:
        log.error("%s", e)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
