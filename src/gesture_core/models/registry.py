"""The gesture generator backends: a plug-in interface found through entry points.

A backend is a :class:`Backend` object that a package exposes under the entry-point group
``gesture_core.backends`` (``name = "module:OBJECT"``); the project's own (``procedural``,
``trimodal``, ``diffusion``) are registered the same way in ``pyproject.toml``, and any installed
package -- or any ``*.dist-info`` with an ``entry_points.txt`` on ``sys.path`` -- adds its own
without a change to this project. A backend says:

- ``name`` and ``description`` (the generator node's ``backend`` choices and docs come from them);
- ``settings``: a :class:`~gesture_core.settings.Settings` dataclass of its own parameters (the node
  declares each as ``<backend>.<field>`` with its description and range, live-changeable);
- ``build(options)``: the generator for :class:`BuildOptions` (checkpoint, onnxruntime providers);
  the module that does the work is imported only here, so listing backends stays cheap;
- ``needs_checkpoint``: a learned backend (its checkpoint is a directory; None: its shipped weights).

The generator it builds implements :class:`~gesture_core.generation.base.GestureGenerator` and, when
the backend has settings, ``configure(**settings)``, which applies them to the loaded model from
its next window on (no reload).
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..generation.base import GestureGenerator
from ..settings import Settings

log = logging.getLogger(__name__)

#: The entry-point group that backends register under.
GROUP = "gesture_core.backends"


@dataclass(frozen=True)
class NoSettings(Settings):
    """The settings of a backend that has none."""


@dataclass(frozen=True)
class BuildOptions:
    """What every backend gets: ``checkpoint`` directory (None: its shipped weights, if any) and the
    onnxruntime ``providers`` in order of preference (a PyTorch backend takes any GPU one as CUDA)."""

    checkpoint: Path | None
    providers: tuple[str, ...]


@dataclass(frozen=True)
class Backend:
    """A gesture generator backend (see the module docstring)."""

    name: str
    description: str
    build: Callable[[BuildOptions], GestureGenerator]
    settings: type[Settings] = NoSettings
    needs_checkpoint: bool = False


@functools.cache
def backends() -> dict[str, Backend]:
    """Every installed backend by name, the project's first; a plug-in that fails to load is logged
    and skipped (it must not take the others down)."""
    found: dict[str, Backend] = {}
    eps = sorted(importlib.metadata.entry_points(group=GROUP), key=lambda ep: not ep.value.startswith("gesture_core."))
    for ep in eps:
        try:
            backend = ep.load()
        except Exception as exc:  # a broken third-party plug-in
            log.error("backend plug-in %s = %s could not be loaded: %s: %s", ep.name, ep.value, type(exc).__name__, exc)
            continue
        if not isinstance(backend, Backend) or backend.name != ep.name:
            log.error("entry point %s = %s is not a Backend named %r; skipped", ep.name, ep.value, ep.name)
            continue
        found.setdefault(backend.name, backend)
    return found


def get_backend(name: str) -> Backend:
    """The backend ``name``; :class:`ConfigError` listing the installed ones if there is none."""
    known = backends()
    if name not in known:
        raise ConfigError(f"backend {name!r} is not one of the installed backends {list(known)}")
    return known[name]
