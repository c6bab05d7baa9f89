"""MuJoCo simulation of the robot: the simulator, its trajectory reference, offscreen rendering.

- :class:`Simulator`: headless, fixed timestep, joint trajectories with JTC semantics.
- :class:`Renderer`: RGB frames from the front (listener's) camera; set ``MUJOCO_GL``.
- :func:`wave_gesture`, :func:`rms_tracking_error`: a test gesture and how well it is followed.
"""

from .render import Renderer
from .simulator import Simulator
from .tracking import rms_tracking_error, wave_gesture
from .trajectory import TrajectoryReference

__all__ = ["Renderer", "Simulator", "TrajectoryReference", "rms_tracking_error", "wave_gesture"]
