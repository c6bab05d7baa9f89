"""Build a gesture generator by backend name: the registry behind the generator node's ``backend``.

- ``procedural``: :class:`~gesture_core.models.procedural.ProceduralGenerator`, weight-free; the
  default when no trained weights are installed.
- ``trimodal``, ``diffusion``: a checkpoint directory (``config.json``, ``model.safetensors``,
  ``vocab.json``, plus the ONNX export). When the directory holds the ONNX files the model runs
  on onnxruntime (torch-free: ``OnnxTrimodalGenerator`` / ``OnnxDiffusionGenerator``); otherwise
  on PyTorch (``TrimodalGenerator`` / ``DiffusionGenerator``) if torch is installed. The model
  modules are imported only when asked for, so the procedural backend never loads onnxruntime or
  torch.

The diffusion backend also takes the DDIM sampler settings (``sampler``, a
:class:`~gesture_core.models.diffusion.sampler.SamplerConfig`); they can be changed later on the
generator itself (its ``sampler`` attribute) without reloading the model.

Every failure to build a learned generator -- missing or corrupt checkpoint, missing runtime --
raises :class:`~gesture_core.errors.ModelError` with a message saying what to fix; an unknown
backend or execution provider name raises :class:`~gesture_core.errors.ConfigError`.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, GestureError, ModelError
from ..models.common import CPU
from ..models.procedural import ProceduralGenerator
from ..weights import default_checkpoint
from .base import GestureGenerator

if TYPE_CHECKING:
    from ..models.diffusion.sampler import SamplerConfig

_log = logging.getLogger(__name__)

#: onnxruntime execution providers for each short name, in order of preference (CPU is the last
#: resort; providers missing from the installed onnxruntime build are skipped with a warning).
EXECUTION_PROVIDERS: dict[str, list[str]] = {
    "cpu": [CPU],
    "cuda": ["CUDAExecutionProvider", CPU],
    "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", CPU],
}


@dataclass(frozen=True)
class LearnedBackend:
    """Where a learned backend lives: its ONNX files and its two generator classes (``module:Class``).

    Both classes take the checkpoint directory first; the onnxruntime one a ``providers`` list,
    the PyTorch one a ``device``; both a ``sampler`` when ``takes_sampler``.
    """

    onnx_files: tuple[str, ...]
    onnx_class: str
    torch_class: str
    export_module: str
    takes_sampler: bool = False


LEARNED: dict[str, LearnedBackend] = {
    "trimodal": LearnedBackend(
        ("model.onnx",),
        "gesture_core.models.trimodal.runtime:OnnxTrimodalGenerator",
        "gesture_core.models.trimodal.generator:TrimodalGenerator",
        "gesture_core.models.trimodal.export",
    ),
    "diffusion": LearnedBackend(
        ("encoder.onnx", "model.onnx"),
        "gesture_core.models.diffusion.runtime:OnnxDiffusionGenerator",
        "gesture_core.models.diffusion.generator:DiffusionGenerator",
        "gesture_core.models.diffusion.export",
        takes_sampler=True,
    ),
}

#: Backend names accepted by :func:`make_generator`.
BACKENDS = ("procedural", *LEARNED)


def providers_for(name: str) -> list[str]:
    """onnxruntime provider names for a short name ``cpu`` | ``cuda`` | ``tensorrt``."""
    if name not in EXECUTION_PROVIDERS:
        raise ConfigError(f"execution_provider {name!r} is not one of {list(EXECUTION_PROVIDERS)}")
    return list(EXECUTION_PROVIDERS[name])


def make_generator(
    backend: str,
    checkpoint: str | Path | None = None,
    providers: Sequence[str] | None = None,
    sampler: SamplerConfig | None = None,
) -> GestureGenerator:
    """The generator for ``backend`` (one of :data:`BACKENDS`).

    ``checkpoint``: checkpoint directory (learned backends only; ignored by ``procedural``); None
    takes the checkpoint shipped with the package (:func:`gesture_core.weights.default_checkpoint`).
    ``providers``: onnxruntime execution providers in order of preference (default: CPU); for a
    PyTorch backend, any GPU provider selects CUDA when torch sees a GPU.
    ``sampler``: DDIM settings of the diffusion backend (default: ``SamplerConfig()``, 8 steps);
    ignored by the other backends.
    """
    if backend == "procedural":
        return ProceduralGenerator()
    if backend not in LEARNED:
        raise ConfigError(f"backend {backend!r} is not one of {list(BACKENDS)}")
    checkpoint = checkpoint or default_checkpoint(backend)
    if not checkpoint:
        raise ModelError(
            f"backend {backend!r} needs a checkpoint directory (config.json, model.safetensors, ...)"
        )
    ckpt = Path(checkpoint).expanduser()
    if not ckpt.is_dir():
        raise ModelError(f"{backend} checkpoint directory {ckpt} does not exist")
    try:
        return _load(backend, LEARNED[backend], ckpt, list(providers or [CPU]), sampler)
    except GestureError:
        raise
    except Exception as exc:  # a corrupt file can make any loader raise its own exception type
        raise ModelError(
            f"{backend} checkpoint {ckpt} could not be loaded: {type(exc).__name__}: {exc}"
        ) from exc


def _load(
    backend: str, spec: LearnedBackend, ckpt: Path, providers: list[str], sampler: SamplerConfig | None
) -> GestureGenerator:
    options: dict[str, Any] = {"sampler": sampler} if spec.takes_sampler else {}
    if all((ckpt / f).is_file() for f in spec.onnx_files):
        return _class(spec.onnx_class)(ckpt, providers=providers, **options)
    if importlib.util.find_spec("torch") is None:
        raise ModelError(
            f"{backend} checkpoint {ckpt} lacks {' + '.join(spec.onnx_files)} and torch is not installed: "
            f"export it with `python -m {spec.export_module} {ckpt}` or install the 'torch' extra"
        )
    import torch

    gpu = any(p != CPU for p in providers) and torch.cuda.is_available()
    _log.info("%s: no ONNX export in %s, running on PyTorch (%s)", backend, ckpt, "cuda" if gpu else "cpu")
    return _class(spec.torch_class)(ckpt, device="cuda" if gpu else "cpu", **options)


def _class(path: str) -> type:
    """The class named ``module:Class``, imported now."""
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)
