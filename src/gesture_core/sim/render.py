"""Offscreen rendering of the simulated robot, as the listener sees it.

MuJoCo picks its OpenGL backend from the ``MUJOCO_GL`` environment variable when ``mujoco`` is
first imported, so set it before that: ``egl`` (a GPU, or Mesa's software EGL on a machine without
one: that is what the project's tests and nodes use) or ``osmesa`` (pure software, the fallback
where no EGL library exists). Both were checked on a 2-core CPU-only machine; the default
(``glfw``) needs a display and fails headless.
"""

from __future__ import annotations

import os

import mujoco
import numpy as np

from ..errors import ConfigError
from ..robot import FRONT_CAMERA

#: Largest frame size a Renderer accepts (pixels).
MAX_SIZE = 4096


class Renderer:
    """RGB frames ``(height, width, 3)`` uint8 of ``model`` from ``camera`` (default: the front camera).

    ``shadows``: draw shadows and reflections (slow without a GPU).

    Use as a context manager, or call :meth:`close`, to free the OpenGL context.
    """

    def __init__(
        self,
        model: mujoco.MjModel,
        width: int = 640,
        height: int = 480,
        camera: str = FRONT_CAMERA,
        shadows: bool = False,
    ):
        if not (16 <= width <= MAX_SIZE and 16 <= height <= MAX_SIZE):
            raise ConfigError(f"render width/height must be in [16, {MAX_SIZE}], got {width}x{height}")
        if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, camera) < 0:
            raise ConfigError(f"render camera {camera!r} is not in the model")
        # The offscreen framebuffer must be at least as large as the frames.
        model.vis.global_.offwidth = max(model.vis.global_.offwidth, width)
        model.vis.global_.offheight = max(model.vis.global_.offheight, height)
        try:
            self._renderer = mujoco.Renderer(model, height, width)
        except Exception as exc:  # the GL backend could not start; say which one and what to try
            backend = os.environ.get("MUJOCO_GL", "<unset: glfw>")
            raise ConfigError(f"cannot create a MuJoCo renderer with MUJOCO_GL={backend}: {exc}; "
                              "set MUJOCO_GL=egl or osmesa before mujoco is imported") from None  # fmt: skip
        # Shadows and reflections cost ~5x the rest of a frame with software OpenGL (no GPU: 480x360
        # measured 83 ms with them, 16 ms without), so they are off unless asked for.
        self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_SHADOW] = shadows
        self._renderer.scene.flags[mujoco.mjtRndFlag.mjRND_REFLECTION] = shadows
        self.camera = camera
        self.width, self.height = width, height

    def render(self, data: mujoco.MjData) -> np.ndarray:
        """The scene of ``data`` (call after a step or ``mj_forward``): (height, width, 3) uint8 RGB."""
        self._renderer.update_scene(data, camera=self.camera)
        return self._renderer.render()

    def close(self) -> None:
        self._renderer.close()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
