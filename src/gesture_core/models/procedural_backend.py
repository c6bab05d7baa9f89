"""The ``procedural`` backend's plug-in entry (see :mod:`gesture_core.models.registry`)."""

from __future__ import annotations

from ..generation.base import GestureGenerator
from .registry import Backend, BuildOptions


def _build(_options: BuildOptions) -> GestureGenerator:
    from .procedural import ProceduralGenerator

    return ProceduralGenerator()


BACKEND = Backend(
    "procedural",
    "weight-free: rest pose, breathing and sway, beat gestures on audio onsets and pitch accents, "
    "amplitude from speech energy, back to rest in pauses",
    _build,
)
