"""The ``trimodal`` backend's plug-in entry (see :mod:`gesture_core.models.registry`)."""

from __future__ import annotations

from ..common import CheckpointRuntimes, learned_backend

BACKEND = learned_backend(
    "trimodal",
    "Yoon et al. 2020: text + audio + speaker style, faithful layer for layer to the official checkpoint",
    CheckpointRuntimes(
        onnx_files=("model.onnx",),
        onnx_class="gesture_core.models.trimodal.runtime:OnnxTrimodalGenerator",
        torch_class="gesture_core.models.trimodal.generator:TrimodalGenerator",
        export_module="gesture_core.models.trimodal.export",
    ),
)
