"""A simple human body model in joint-angle-like parameters, turned into TED poses.

Gestures are easier to write, plan and check in angles than in bone directions: a shoulder that
lifts the arm forward, an elbow that bends, a head that nods. :func:`pose_from_angles` turns the
parameters of :class:`BodyAngles` (radians; scalars or per-frame arrays) into TED poses,
``(n_frames, 27)`` unit bone directions (see :mod:`gesture_core.skeleton`), with
:class:`scipy.spatial.transform.Rotation`:

- torso: ``torso_pitch`` leans the upper body forward, ``torso_roll`` sways it sideways (both
  rotate every bone), ``shrug`` lifts both shoulders (the collar bones);
- head: ``head_pitch`` tips it down (a nod), ``head_yaw`` turns it towards the person's right (a shake
  swings it both ways);
- each arm (:class:`ArmAngles`): shoulder flexion, abduction and twist, elbow flexion.

TED axes: ``+x`` the person's right, ``+y`` down, ``+z`` forward (towards the listener). ``side``
is +1 for the right arm and -1 for the left one, so one formula serves both arms and the left arm
mirrors the right one across the body's midline.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from scipy.spatial.transform import Rotation

from .. import skeleton

_DOWN = np.array([0.0, 1.0, 0.0])
#: Arm names and their ``side`` sign.
SIDES = {"left": -1.0, "right": 1.0}
_AXES = {"x": np.array([1.0, 0.0, 0.0]), "y": np.array([0.0, 1.0, 0.0]), "z": np.array([0.0, 0.0, 1.0])}


@dataclass(frozen=True)
class ArmAngles:
    """Angles of one arm (rad), each a scalar or an (n_frames,) array.

    - ``flex``: shoulder flexion, raises the upper arm forward (towards +z).
    - ``abd``: shoulder abduction, raises it sideways, away from the body.
    - ``twist``: internal rotation of the upper arm, swings a bent forearm towards the midline
      (negative: outwards, the open-palm direction).
    - ``elbow``: elbow flexion, 0 = straight arm.
    """

    flex: np.ndarray | float
    abd: np.ndarray | float
    twist: np.ndarray | float
    elbow: np.ndarray | float


@dataclass(frozen=True)
class BodyAngles:
    """The whole parameter set of one pose sequence (rad, scalars or (n_frames,) arrays).

    ``torso_pitch`` leans the upper body forward, ``torso_roll`` sways it sideways (both rotate
    every bone), ``shrug`` lifts both shoulders, ``head_pitch`` tips the head down (a nod),
    ``head_yaw`` turns it towards the person's right (+x).
    """

    torso_pitch: np.ndarray | float
    torso_roll: np.ndarray | float
    shrug: np.ndarray | float
    head_pitch: np.ndarray | float
    left: ArmAngles
    right: ArmAngles
    head_yaw: np.ndarray | float = 0.0


#: Joint ranges (rad) the arm angles are clipped to: (low, high).
ARM_LIMITS = {"flex": (-0.6, 2.0), "abd": (-0.15, 1.6), "twist": (-1.2, 1.3), "elbow": (0.0, 2.5)}
#: Ranges (rad) of the torso and head parameters: (low, high).
BODY_LIMITS = {
    "torso_pitch": (-0.3, 0.5),
    "torso_roll": (-0.3, 0.3),
    "shrug": (-0.1, 0.4),
    "head_pitch": (-0.6, 0.6),
    "head_yaw": (-1.0, 1.0),
}

#: Rest pose: arms relaxed at the sides, slightly forward, elbows a little bent.
REST_ARM = ArmAngles(flex=0.12, abd=0.10, twist=0.30, elbow=0.40)
#: Hands in gesture space at full energy: upper arms a little forward and out, forearms forward and down.
HOLD_ARM = ArmAngles(flex=0.30, abd=0.30, twist=0.45, elbow=1.15)

# Rest directions of the torso and head bones, TED axes (roughly the TED mean pose: the neck bone
# runs from the thorax up and forward to the nose, the head bone from the nose up and back).
_SPINE_REST = _DOWN * -1.0
_NECK_REST = np.array([0.0, -np.cos(0.47), np.sin(0.47)])
_HEAD_REST = np.array([0.0, -np.cos(0.44), -np.sin(0.44)])
_COLLAR_DROP = 0.32  # collar bones slope down from the neck base to the shoulders (rad)


def rot(axis: str, angle: np.ndarray | float) -> Rotation:
    """Rotations by ``angle`` (rad, scalar or (n,)) about a body axis (right-hand rule), n of them."""
    return Rotation.from_rotvec(np.atleast_1d(np.asarray(angle, dtype=float))[:, None] * _AXES[axis])


def _arm_directions(arm: ArmAngles, side: float, torso: Rotation) -> tuple[np.ndarray, np.ndarray]:
    """Upper arm and forearm unit directions, each (n, 3), for arm angles in the torso frame."""
    shoulder = (
        torso
        * rot("z", -side * np.asarray(arm.abd))
        * rot("x", arm.flex)
        * rot("y", -side * np.asarray(arm.twist))
    )
    upper = shoulder.apply(_DOWN)
    fore = (shoulder * rot("x", arm.elbow)).apply(_DOWN)
    return np.atleast_2d(upper), np.atleast_2d(fore)


def pose_from_angles(body: BodyAngles, n_frames: int) -> np.ndarray:
    """TED poses from body angles: (n_frames, 27) unit bone directions, TED axes.

    Every field of ``body`` is a scalar or an (n_frames,) array in radians.
    """

    def full(x: np.ndarray | float) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), (n_frames,))

    torso = rot("z", full(body.torso_roll)) * rot("x", -full(body.torso_pitch))
    head = torso * rot("y", full(body.head_yaw)) * rot("x", -full(body.head_pitch))
    bones: dict[str, np.ndarray] = {
        "spine": torso.apply(_SPINE_REST),
        "neck": head.apply(_NECK_REST),
        "head": head.apply(_HEAD_REST),
    }
    for name, side in SIDES.items():
        collar_rest = np.array([side * np.cos(_COLLAR_DROP), np.sin(_COLLAR_DROP), 0.0])
        bones[f"{name}_collar"] = (torso * rot("z", -side * full(body.shrug))).apply(collar_rest)
        arm = getattr(body, name)
        arm = ArmAngles(*(full(getattr(arm, f.name)) for f in fields(ArmAngles)))
        bones[f"{name}_upper_arm"], bones[f"{name}_forearm"] = _arm_directions(arm, side, torso)
    poses = np.stack([np.broadcast_to(bones[b], (n_frames, 3)) for b in skeleton.BONE_NAMES], axis=1)
    return skeleton.normalize_directions(poses.reshape(n_frames, skeleton.POSE_DIM))


def rest_body() -> BodyAngles:
    """The rest posture: upright, head level, arms relaxed at the sides."""
    return BodyAngles(0.0, 0.0, 0.0, 0.0, REST_ARM, REST_ARM)


def rest_pose() -> np.ndarray:
    """The rest pose: (27,) unit bone directions, TED axes."""
    return pose_from_angles(rest_body(), 1)[0]


def clip_arm(arm: ArmAngles) -> ArmAngles:
    """``arm`` with every angle clipped into :data:`ARM_LIMITS`."""
    return ArmAngles(
        **{f.name: np.clip(getattr(arm, f.name), *ARM_LIMITS[f.name]) for f in fields(ArmAngles)}
    )


#: Bones of each body part (what a gesture may take over), in :data:`skeleton.BONE_NAMES` terms.
PART_BONES = {
    "head": ("neck", "head"),
    "shoulders": ("left_collar", "right_collar"),
    "left_arm": ("left_upper_arm", "left_forearm"),
    "right_arm": ("right_upper_arm", "right_forearm"),
    "torso": ("spine",),
}


def part_mask(parts: tuple[str, ...] | list[str]) -> np.ndarray:
    """(9,) bool: which bones of a pose belong to ``parts`` (names of :data:`PART_BONES`)."""
    bones = {b for p in parts for b in PART_BONES[p]}
    return np.array([b in bones for b in skeleton.BONE_NAMES])


def mirror_pose(poses: np.ndarray) -> np.ndarray:
    """Poses ``(..., 27)`` mirrored across the body's midline: left and right bones swapped, x negated."""
    d = skeleton.as_directions(poses).copy()
    d[..., 0] *= -1.0
    names = list(skeleton.BONE_NAMES)
    swapped = d.copy()
    for i, name in enumerate(names):
        other = name.replace("left", "@").replace("right", "left").replace("@", "right")
        swapped[..., names.index(other), :] = d[..., i, :]
    return swapped.reshape(poses.shape)
