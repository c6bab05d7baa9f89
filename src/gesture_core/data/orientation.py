"""Axis-convention check of converted motion: every converter refuses a clip that is not upright
and facing forward in TED axes.

A converter assumes its source's axis convention (SMPL-X and ZEGGS: y up, facing +z; TED-Expressive:
camera axes). A file that breaks the assumption -- a y-down export, a body turned to face away,
left and right swapped -- converts without any numerical error into motion that is upside down or
backwards, and every metric and model downstream silently learns or scores nonsense. So the
converters check the *mean* pose of every clip (TED axes: ``+x`` the person's right, ``+y`` down,
``+z`` forward):

- *upright*: the mean spine bone (mid-spine -> thorax) within :data:`MAX_TILT_DEG` of up (``-y``);
- *facing forward*: the facing direction -- the person's left (right -> left shoulder, from the
  two collar bones) crossed with up, i.e. the chest normal -- within :data:`MAX_TURN_DEG` of ``+z``.

The error says what was found, e.g. ``spine points down (+y): the clip looks upside down``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import skeleton
from ..errors import DataError

#: Largest angle (deg) between the mean spine and up (-y) of an upright clip.
MAX_TILT_DEG = 45.0
#: Largest angle (deg) between the mean facing direction and forward (+z).
MAX_TURN_DEG = 60.0

_SPINE = skeleton.BONE_NAMES.index("spine")
_LEFT_COLLAR = skeleton.BONE_NAMES.index("left_collar")
_RIGHT_COLLAR = skeleton.BONE_NAMES.index("right_collar")
_UP = np.array([0.0, -1.0, 0.0])
_FORWARD = np.array([0.0, 0.0, 1.0])
#: Names of the six TED axis directions.
_AXIS_NAMES = {
    (0, 1): "the person's right (+x)",
    (0, -1): "the person's left (-x)",
    (1, 1): "down (+y)",
    (1, -1): "up (-y)",
    (2, 1): "forward (+z)",
    (2, -1): "backward (-z)",
}


@dataclass(frozen=True)
class Orientation:
    """Mean orientation of a clip in TED axes.

    ``up``: (3,) unit mean spine direction; ``facing``: (3,) unit chest normal (person's left x up);
    ``tilt_deg``: angle between ``up`` and -y; ``turn_deg``: angle between ``facing`` and +z.
    """

    up: np.ndarray
    facing: np.ndarray
    tilt_deg: float
    turn_deg: float


def axis_name(v: np.ndarray) -> str:
    """The TED axis direction closest to ``v`` (3,), in words, e.g. ``down (+y)``."""
    v = np.asarray(v, dtype=np.float64)
    axis = int(np.argmax(np.abs(v)))
    return _AXIS_NAMES[(axis, 1 if v[axis] >= 0 else -1)]


def _angle(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.degrees(np.arccos(np.clip(a @ b, -1.0, 1.0))))


def mean_orientation(poses: np.ndarray) -> Orientation:
    """Mean orientation of TED poses ``(N, 27)`` (unit bone directions, TED axes)."""
    d = skeleton.as_directions(np.asarray(poses, dtype=np.float64))
    if d.ndim != 3 or len(d) == 0:
        raise DataError(f"orientation check: poses of shape {np.shape(poses)}, expected (N >= 1, 27)")
    up = d[:, _SPINE].mean(axis=0)
    left = (d[:, _LEFT_COLLAR] - d[:, _RIGHT_COLLAR]).mean(axis=0)  # right shoulder -> left shoulder
    if np.linalg.norm(up) < 1e-6 or np.linalg.norm(left) < 1e-6:
        raise DataError("orientation check: the mean spine or shoulder line has no direction")
    up /= np.linalg.norm(up)
    facing = np.cross(left, up)
    if np.linalg.norm(facing) < 1e-6:  # shoulders along the spine: no facing direction
        facing = np.cross(left + 1e-3 * _FORWARD, up)
    facing /= np.linalg.norm(facing)
    return Orientation(up, facing, _angle(up, _UP), _angle(facing, _FORWARD))


def check_orientation(
    poses: np.ndarray,
    where: str,
    convention: str,
    max_tilt_deg: float = MAX_TILT_DEG,
    max_turn_deg: float = MAX_TURN_DEG,
) -> Orientation:
    """Raise :class:`DataError` unless ``poses`` (N, 27, TED axes) are upright and facing forward.

    ``where`` names the input (file, clip); ``convention`` the axis convention the converter
    assumed (e.g. ``"SMPL-X: y up, facing +z"``), both quoted in the error. Returns the orientation.
    """
    o = mean_orientation(poses)
    u, f = np.round(o.up, 2).tolist(), np.round(o.facing, 2).tolist()
    hint = (
        f"the converter assumes {convention}; export the motion in that convention or rotate it "
        "(mean spine {u}, mean facing {f} in TED axes: +x right, +y down, +z forward)"
    ).format(u=u, f=f)
    if o.tilt_deg > max_tilt_deg:
        if o.up[1] > np.cos(np.radians(max_tilt_deg)):
            found = "spine points down (+y): the clip looks upside down"
        else:
            found = (
                f"spine points {axis_name(o.up)}, {o.tilt_deg:.0f} deg from up: "
                "the clip looks lying on its side"
            )
        raise DataError(f"{where}: {found}; {hint}")
    if o.turn_deg > max_turn_deg:
        if o.facing[2] < -np.cos(np.radians(max_turn_deg)):
            found = "chest faces backward (-z): the body is turned away, or its left and right are swapped"
        else:
            found = (
                f"chest faces {axis_name(o.facing)}, {o.turn_deg:.0f} deg from forward: "
                "the body is turned sideways"
            )
        raise DataError(f"{where}: {found}; {hint}")
    return o
