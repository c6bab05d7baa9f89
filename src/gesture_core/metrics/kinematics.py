"""Hand kinematics of TED poses: hand speed, hand height, elbow angle, motion, strokes.

Every function takes TED poses ``(T, 27)`` (unit bone directions, TED axes: +x the person's right,
+y down, +z forward) at ``fps`` frames per second (15 by default) and decodes them with
:func:`gesture_core.skeleton.joint_positions` (TED bone lengths, TED units ~ metres, the mid-spine
joint at the origin). Hands are the two wrist joints, so their motion is relative to the mid-spine:
a torso sway moves them, a whole-body translation does not exist in this format.

Strokes
-------
A gesture's stroke is its fast, effortful phase (McNeill 1992; Kendon 2004). Here a stroke is a
prominent peak of the *stroke speed* -- the sum of both hands' speeds -- rising at least
``min_prominence`` (default :data:`STROKE_PROMINENCE` = 0.3 TED units/s) above the troughs on
either side (``scipy.signal.find_peaks`` prominence), and its time is the peak. The threshold is
absolute on purpose: a stroke must be visible. Tiny oscillations or a jittery still pose have no
strokes, and a static pose has none at all.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks

from .. import skeleton
from ..errors import DataError

FPS = skeleton.FPS
#: Minimum prominence (TED units/s, both hands' speeds summed) of a stroke.
STROKE_PROMINENCE = 0.3
#: A frame is "in motion" when either hand moves faster than this (TED units/s).
MOTION_THRESHOLD = 0.1
#: Wrist joints (left, right) and the bones of each arm (upper arm, forearm).
WRISTS = (skeleton.JOINTS.index("left_wrist"), skeleton.JOINTS.index("right_wrist"))
ARMS = (
    (skeleton.BONE_NAMES.index("left_upper_arm"), skeleton.BONE_NAMES.index("left_forearm")),
    (skeleton.BONE_NAMES.index("right_upper_arm"), skeleton.BONE_NAMES.index("right_forearm")),
)


def check_poses(poses: np.ndarray, min_frames: int = 1) -> np.ndarray:
    """``poses`` as float64 (T, 27), T >= ``min_frames``, finite; :class:`DataError` otherwise."""
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] != skeleton.POSE_DIM or len(poses) < min_frames:
        raise DataError(f"poses: shape {poses.shape}, expected (T >= {min_frames}, {skeleton.POSE_DIM})")
    if not np.all(np.isfinite(poses)):
        raise DataError("poses: contain NaN or inf")
    return poses


def hand_positions(poses: np.ndarray) -> np.ndarray:
    """Wrist positions (T, 2, 3) (left, right), TED units and axes, mid-spine at the origin."""
    return skeleton.joint_positions(check_poses(poses))[:, WRISTS]


def hand_speed(poses: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Speed (T, 2) of each wrist (left, right), TED units/s; central differences (``numpy.gradient``)."""
    pos = hand_positions(check_poses(poses, 2))
    return np.linalg.norm(np.gradient(pos, 1.0 / fps, axis=0), axis=-1)


def stroke_speed(poses: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Both wrists' speeds summed, (T,) TED units/s: the signal whose peaks are strokes."""
    return hand_speed(poses, fps).sum(axis=1)


def hand_height(poses: np.ndarray) -> np.ndarray:
    """Height (T, 2) of each wrist above the mid-spine joint (TED units; up is -y, so ``-y``)."""
    return -hand_positions(poses)[..., 1]


def elbow_angle(poses: np.ndarray) -> np.ndarray:
    """Inner elbow angle (T, 2) (left, right) in degrees: 180 for a straight arm, smaller when bent."""
    d = skeleton.as_directions(check_poses(poses))
    angles = []
    for upper, fore in ARMS:
        u = d[:, upper] / np.linalg.norm(d[:, upper], axis=-1, keepdims=True)
        f = d[:, fore] / np.linalg.norm(d[:, fore], axis=-1, keepdims=True)
        angles.append(np.degrees(np.arccos(np.clip(np.sum(-u * f, axis=-1), -1.0, 1.0))))
    return np.stack(angles, axis=1)


def in_motion(poses: np.ndarray, fps: float = FPS, threshold: float = MOTION_THRESHOLD) -> np.ndarray:
    """(T,) bool: either hand faster than ``threshold`` TED units/s."""
    return np.any(hand_speed(poses, fps) > threshold, axis=1)


def strokes(poses: np.ndarray, fps: float = FPS, min_prominence: float = STROKE_PROMINENCE) -> np.ndarray:
    """Stroke times (s, frame 0 at 0): peaks of :func:`stroke_speed` with at least ``min_prominence``
    TED units/s of prominence (see the module docstring). A pose sequence of < 3 frames has none."""
    poses = check_poses(poses)
    if len(poses) < 3:
        return np.zeros(0)
    if min_prominence <= 0:
        raise DataError(f"strokes: min_prominence must be > 0, got {min_prominence}")
    peaks, _ = find_peaks(stroke_speed(poses, fps), prominence=min_prominence)
    return peaks / fps
