"""The ``trimodal`` backend's plug-in entry (see :mod:`gesture_core.models.registry`)."""

from __future__ import annotations

from ...generation.base import GestureGenerator
from ..common import CheckpointRuntimes, load_checkpoint_generator
from ..registry import Backend, BuildOptions

RUNTIMES = CheckpointRuntimes(
    onnx_files=("model.onnx",),
    onnx_class="gesture_core.models.trimodal.runtime:OnnxTrimodalGenerator",
    torch_class="gesture_core.models.trimodal.generator:TrimodalGenerator",
    export_module="gesture_core.models.trimodal.export",
)


def _build(options: BuildOptions) -> GestureGenerator:
    return load_checkpoint_generator("trimodal", RUNTIMES, options.checkpoint, options.providers)


BACKEND = Backend(
    "trimodal",
    "Yoon et al. 2020: text + audio + speaker style, faithful layer for layer to the official checkpoint",
    _build,
    needs_checkpoint=True,
)
