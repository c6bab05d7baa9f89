"""Model weights shipped with the package (installed as package data, loadable without torch).

- ``trimodal_beat2/``: a small audio-only Trimodal model trained on 50 s of BEAT2 speaker "scott"
  (``config.json``, ``model.safetensors``, ``vocab.json``, ``speakers.json``, ``model.onnx``);
- ``diffusion_beat2/``: the diffusion model trained the same way (when shipped).

How they were trained and how they score against the procedural baseline: ``docs/evaluation.md``.
The BEAT2 data is CC BY-NC 4.0: these weights are for non-commercial use.
"""

from __future__ import annotations

from pathlib import Path

from ..bundled import bundled_file
from ..errors import GestureError

#: Backend name -> directory of its shipped checkpoint (package data: ``gesture_core/weights/<dir>``).
SHIPPED = {"trimodal": "trimodal_beat2", "diffusion": "diffusion_beat2"}


def default_checkpoint(backend: str) -> Path | None:
    """The shipped checkpoint directory of ``backend``, or None when the package ships none for it
    (``procedural`` needs none)."""
    name = SHIPPED.get(backend)
    if name is None:
        return None
    try:
        path = bundled_file("weights", name, "gesture_core", directory=True)
    except GestureError:
        return None
    return path if (path / "config.json").is_file() else None
