"""Build a gesture generator by backend name: what the generator node and the evaluation call.

The backends are plug-ins (:mod:`gesture_core.models.registry`): ``procedural`` (weight-free,
the default), ``trimodal`` and ``diffusion`` (checkpoint directories: ``config.json``,
``model.safetensors``, ``vocab.json``, plus the ONNX export; run on onnxruntime, or on PyTorch
when the ONNX files are missing), and whatever other installed package registers one. Nothing here
names a concrete backend: :func:`make_generator` looks the name up, builds the generator and
applies the backend's own settings (``configure(**settings)``, e.g. the diffusion sampler's
``steps``), which can be changed later on the generator without reloading it.

Every failure to build a learned generator -- missing or corrupt checkpoint, missing runtime --
raises :class:`~gesture_core.errors.ModelError` with a message saying what to fix; an unknown
backend, setting or execution provider name raises :class:`~gesture_core.errors.ConfigError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..models.common import CPU
from ..models.registry import BuildOptions, backends, get_backend
from .base import GestureGenerator

#: onnxruntime execution providers for each short name, in order of preference (CPU is the last
#: resort; providers missing from the installed onnxruntime build are skipped with a warning).
EXECUTION_PROVIDERS: dict[str, list[str]] = {
    "cpu": [CPU],
    "cuda": ["CUDAExecutionProvider", CPU],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", CPU],
}


def __getattr__(name: str) -> Any:
    """``BACKENDS`` (every installed backend's name) and ``LEARNED`` (those that load a checkpoint),
    read from the registry when asked for."""
    if name == "BACKENDS":
        return tuple(backends())
    if name == "LEARNED":
        return {n: b for n, b in backends().items() if b.needs_checkpoint}
    raise AttributeError(name)


def providers_for(name: str) -> list[str]:
    """onnxruntime provider names for a short name ``cpu`` | ``cuda`` | ``tensorrt``."""
    if name not in EXECUTION_PROVIDERS:
        raise ConfigError(f"execution_provider {name!r} is not one of {list(EXECUTION_PROVIDERS)}")
    return list(EXECUTION_PROVIDERS[name])


def make_generator(
    backend: str,
    checkpoint: str | Path | None = None,
    providers: Sequence[str] | None = None,
    **settings: Any,
) -> GestureGenerator:
    """The generator of ``backend`` (a name of :func:`~gesture_core.models.registry.backends`).

    ``checkpoint``: checkpoint directory of a learned backend (ignored by the others); None takes
    the checkpoint shipped with the package (:func:`gesture_core.weights.default_checkpoint`).
    ``providers``: onnxruntime execution providers in order of preference (default: CPU).
    ``settings``: the backend's own settings (fields of its ``settings`` class, validated; the
    others keep their defaults), applied with ``configure``.
    """
    spec = get_backend(backend)
    values = spec.settings().replace(**settings)  # validates names and values before any loading
    ckpt = Path(checkpoint) if checkpoint and spec.needs_checkpoint else None
    generator = spec.build(BuildOptions(ckpt, tuple(providers or [CPU])))
    if values.as_dict():
        generator.configure(**values.as_dict())
    return generator
