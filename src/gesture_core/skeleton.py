"""The TED gesture skeleton: the human pose format every gesture generator speaks.

A pose is 9 unit bone direction vectors (parent -> child), flattened to 27 values, at 15 frames per
second. Axes are the TED dataset's (right-handed): ``+x`` is the person's right (their left is
``-x``), ``+y`` points DOWN, ``+z`` points forward, towards the listener.

Numbers from the Trimodal model's public source (see ``../shared/docs/facts.md``).
"""

from __future__ import annotations

import numpy as np

from .errors import ContractError

#: Frames per second of every gesture sequence.
FPS = 15.0

#: Joint names, Human3.6M order.
JOINTS = (
    "spine",
    "thorax",
    "nose",
    "head_top",
    "left_shoulder",
    "left_elbow",
    "left_wrist",
    "right_shoulder",
    "right_elbow",
    "right_wrist",
)

#: Bones as (parent joint, child joint), in the order of the 27-value vector.
BONES = ((0, 1), (1, 2), (2, 3), (1, 4), (4, 5), (5, 6), (1, 7), (7, 8), (8, 9))

#: Bone names, same order as :data:`BONES`.
BONE_NAMES = (
    "spine",
    "neck",
    "head",
    "left_collar",
    "left_upper_arm",
    "left_forearm",
    "right_collar",
    "right_upper_arm",
    "right_forearm",
)

#: Bone lengths used to rebuild joint positions (TED units, roughly metres).
BONE_LENGTHS = np.array([0.26, 0.18, 0.14, 0.22, 0.36, 0.33, 0.22, 0.36, 0.33])

N_BONES = len(BONES)
POSE_DIM = 3 * N_BONES  # 27

#: Mean direction vector of the Trimodal model; the model predicts ``pose - MEAN_DIR_VEC``.
MEAN_DIR_VEC = np.array(
    [
        0.0154009, -0.9690125, -0.0884354, -0.0022264, -0.8655276, 0.4342174, -0.0035145,
        -0.8755367, -0.4121039, -0.9236511, 0.3061306, -0.0012415, -0.5155854, 0.8129665,
        0.0871897, 0.2348464, 0.1846561, 0.8091402, 0.9271948, 0.2960011, -0.013189,
        0.5233978, 0.8092403, 0.0725451, -0.2037076, 0.1924306, 0.8196916,
    ]
)  # fmt: skip

#: TED axes -> REP-103 (x forward, y left, z up): ted (x right, y down, z forward).
#: ``rep103 = TED_TO_REP103 @ ted``.
TED_TO_REP103 = np.array([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def as_directions(poses: np.ndarray) -> np.ndarray:
    """Reshape poses ``(..., 27)`` into bone directions ``(..., 9, 3)``, checking the shape."""
    poses = np.asarray(poses, dtype=float)
    if poses.shape[-1:] != (POSE_DIM,):
        raise ContractError(f"TED poses must end in {POSE_DIM} values, got shape {poses.shape}")
    return poses.reshape(*poses.shape[:-1], N_BONES, 3)


def normalize_directions(poses: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Make every bone vector of ``(..., 27)`` poses unit length.

    Raises :class:`ContractError` when a bone vector is shorter than ``eps`` or not finite: such
    a pose has no direction to normalise.
    """
    d = as_directions(poses)
    if not np.all(np.isfinite(d)):
        raise ContractError("TED poses contain NaN or inf")
    n = np.linalg.norm(d, axis=-1, keepdims=True)
    if np.any(n < eps):
        raise ContractError("TED poses contain a zero-length bone vector")
    return (d / n).reshape(poses.shape)


def joint_positions(poses: np.ndarray, lengths: np.ndarray = BONE_LENGTHS) -> np.ndarray:
    """Rebuild joint positions ``(..., 10, 3)`` from direction poses ``(..., 27)``.

    Joint 0 (mid-spine) is at the origin; each child = parent + length * direction (the vectors
    are used as given, not re-normalised, as in the reference decoder). TED axes, TED units.
    """
    d = as_directions(poses)
    pos = np.zeros(d.shape[:-2] + (len(JOINTS), 3))
    for b, (parent, child) in enumerate(BONES):
        pos[..., child, :] = pos[..., parent, :] + lengths[b] * d[..., b, :]
    return pos


def directions_from_positions(positions: np.ndarray) -> np.ndarray:
    """Unit bone directions ``(..., 27)`` from joint positions ``(..., 10, 3)``."""
    positions = np.asarray(positions, dtype=float)
    vecs = np.stack([positions[..., c, :] - positions[..., p, :] for p, c in BONES], axis=-2)
    return normalize_directions(vecs.reshape(*vecs.shape[:-2], POSE_DIM))
