"""Drafting a robot config from a URDF alone (``gesture-robot init``), for a person to review.

:func:`draft_config` finds the arm chains by name and geometry:

- every movable joint's name is split into words (``LShoulderPitch`` -> l, shoulder, pitch;
  ``left_elbow_joint`` -> left, elbow, joint); the side is the word ``l``/``left`` or ``r``/
  ``right``, the part ``shoulder``, ``elbow`` or ``wrist``;
- an arm is the path of movable joints from the side's first shoulder joint down to its first
  wrist joint (twists and flexions in between included; hands and fingers left out); its skeleton
  points are the origins of those shoulder, elbow and wrist joints;
- the thorax sits midway between the shoulders on their common parent link, the spine below it by
  the TED proportions; a head chain is the ``head``/``neck`` joints between that link and the
  head, whose nose and head top are placed by the TED proportions (no head joints: no head chain,
  the points ride on the torso); a torso chain is the movable joints between the root and the
  shoulders' common parent (a waist of any number of joints);
- geometry checks the names: the left shoulder must be on the robot's left (+y). If it is on -y
  the root frame looks backwards and ``base_orientation`` turns it (yaw pi).
- the rest pose is solved by the retargeter itself for a person standing with relaxed arms.

Raises :class:`~gesture_core.errors.ConfigError` naming what could not be found.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np
import yaml

from .. import skeleton
from ..bundled import PACKAGE_SCHEME, resolve
from ..errors import ConfigError
from ..robot import RobotDescription, load_mujoco_model, parse_urdf

log = logging.getLogger(__name__)

SIDES = {"l": "left", "left": "left", "r": "right", "right": "right"}
PARTS = ("shoulder", "elbow", "wrist")
#: TED bone lengths relative to the upper arm (``skeleton.BONE_LENGTHS``).
_RATIO = {name: length / skeleton.BONE_LENGTHS[4] for name, length in zip(skeleton.BONE_NAMES, skeleton.BONE_LENGTHS)}


def name_words(name: str) -> list[str]:
    """Lower-case words of a joint name: camelCase, separators and digits split."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", name)
    return [w for w in re.split(r"[^A-Za-z]+", spaced.lower()) if w]


@dataclass(frozen=True)
class _Arm:
    joints: list[str]
    shoulder: str
    elbow: str
    wrists: list[str]


def _arm(robot: RobotDescription, side: str) -> _Arm:
    tagged: dict[str, list[str]] = {part: [] for part in PARTS}
    for joint in robot.movable_joints:
        words = name_words(joint.name)
        if any(SIDES.get(w) == side for w in words):
            for part in PARTS:
                if any(w.startswith(part) for w in words):
                    tagged[part].append(joint.name)
    missing = [part for part in ("shoulder", "elbow") if not tagged[part]]
    if missing:
        raise ConfigError(
            f"no {side} {' or '.join(missing)} joint found by name (looked for joints named like "
            f"{side[0].upper()}ShoulderPitch or {side}_elbow); write the config by hand from config/retarget_humanoid.yaml"
        )
    depth = {j: len(robot.chain(robot.joint(j).child)) for part in PARTS for j in tagged[part]}
    end = max(tagged["wrist"] or tagged["elbow"], key=depth.__getitem__)  # the hand end of the arm
    path = [j.name for j in robot.chain(robot.joint(end).child) if j.movable]
    shoulder = next(j for j in path if j in tagged["shoulder"])
    elbow = next(j for j in path if j in tagged["elbow"])
    wrists = [j for j in path if j in tagged["wrist"]]
    joints = path[path.index(shoulder) :]
    return _Arm(joints, shoulder, elbow, wrists)


def _ancestors(robot: RobotDescription, link: str) -> list[str]:
    """Links from the root down to ``link`` (root first)."""
    chain = robot.chain(link)
    return [robot.root] + [j.child for j in chain]


class _Kinematics:
    """World poses of the links at the zero configuration (MuJoCo, no meshes)."""

    def __init__(self, path: Path, base_rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)):
        self.model = load_mujoco_model(path, floor=False, meshes=False, base_rpy=base_rpy)
        self.data = mujoco.MjData(self.model)
        mujoco.mj_forward(self.model, self.data)

    def pos(self, link: str) -> np.ndarray:
        return self.data.body(link).xpos.copy()

    def local(self, link: str, world: np.ndarray) -> list[float]:
        """``world`` point (3,) in the frame of ``link``, rounded to mm."""
        rot = self.data.body(link).xmat.reshape(3, 3)
        return [round(float(v), 4) + 0.0 for v in rot.T @ (world - self.pos(link))]


def draft_config(urdf: str, out: Path) -> tuple[dict, list[str]]:
    """A robot config (the YAML mapping) for the URDF ``urdf`` (a path or ``package://`` reference),
    to be written to ``out``, and notes for the person reviewing it."""
    path = resolve(urdf, Path.cwd(), ConfigError, "urdf")
    robot = parse_urdf(path)
    notes: list[str] = []
    arms = {side: _arm(robot, side) for side in ("left", "right")}
    kin = _Kinematics(path)
    base = [0.0, 0.0, 0.0]
    left_y = kin.pos(robot.joint(arms["left"].shoulder).child)[1]
    right_y = kin.pos(robot.joint(arms["right"].shoulder).child)[1]
    if left_y < right_y:  # the root frame looks backwards: turn the robot to face +x
        base = [0.0, 0.0, round(float(np.pi), 6)]
        kin = _Kinematics(path, tuple(base))
        notes.append("the left arm is on -y of the root frame: base_orientation turns the robot by pi about z")
    shoulder_links = [robot.joint(arms[s].shoulder).parent for s in ("left", "right")]
    common = [
        link
        for link in _ancestors(robot, shoulder_links[0])
        if link in _ancestors(robot, shoulder_links[1])
    ][-1]
    points = {}
    for side, arm in arms.items():
        points[f"{side}_shoulder"] = {"joint": arm.shoulder}
        points[f"{side}_elbow"] = {"joint": arm.elbow}
        elbow_at = kin.pos(robot.joint(arm.elbow).child)
        if arm.wrists:  # the wrist joint farthest from the elbow (not a forearm twist near it)
            wrist = max(arm.wrists, key=lambda j: np.linalg.norm(kin.pos(robot.joint(j).child) - elbow_at))
            points[f"{side}_wrist"] = {"joint": wrist}
        else:
            end = robot.joint(arm.joints[-1]).child
            points[f"{side}_wrist"] = {"link": end}
            notes.append(f"no {side} wrist joint: the {side} wrist point is on link {end!r}; move it with an offset")
    shoulders = [kin.pos(robot.joint(arms[s].shoulder).child) for s in ("left", "right")]
    elbow = kin.pos(robot.joint(arms["left"].elbow).child)
    upper_arm = float(np.linalg.norm(elbow - shoulders[0]))
    thorax = (shoulders[0] + shoulders[1]) / 2
    points["thorax"] = {"link": common, "offset": kin.local(common, thorax)}
    points["spine"] = {"link": common, "offset": kin.local(common, thorax - [0, 0, _RATIO["spine"] * upper_arm])}
    in_arms = {j for arm in arms.values() for j in arm.joints}
    head_joints = [
        j.name
        for j in robot.movable_joints
        if j.name not in in_arms
        and {"head", "neck"} & set(name_words(j.name))
        and common in _ancestors(robot, j.child)
    ]
    head_link = common
    if head_joints:  # the deepest of them carries the head
        deepest = max(head_joints, key=lambda n: len(robot.chain(robot.joint(n).child)))
        head_link = robot.joint(deepest).child
        head_joints = [j.name for j in robot.chain(head_link) if j.name in head_joints]
    else:
        notes.append("no head or neck joints: the nose and head top ride on the torso, no head chain")
    mean = skeleton.as_directions(skeleton.MEAN_DIR_VEC) @ skeleton.TED_TO_REP103.T
    mean /= np.linalg.norm(mean, axis=1, keepdims=True)
    nose = thorax + _RATIO["neck"] * upper_arm * mean[1] * 1.6  # a head is larger than its neck bone
    head_top = nose + _RATIO["head"] * upper_arm * mean[2] * 1.6
    points["nose"] = {"link": head_link, "offset": kin.local(head_link, nose)}
    points["head_top"] = {"link": head_link, "offset": kin.local(head_link, head_top)}
    torso_joints = [j.name for j in robot.chain(common) if j.movable]
    chains: dict[str, dict] = {}
    if torso_joints:
        chains["torso"] = {"joints": torso_joints, "bones": {"spine": 1.0, "left_collar": 0.5, "right_collar": 0.5}}
    else:
        notes.append("no joints between the root and the shoulders: no torso chain")
    if head_joints:
        chains["head"] = {"joints": head_joints, "bones": {"neck": 1.0, "head": 0.5}}
    for side, arm in arms.items():
        chains[f"{side}_arm"] = {
            "joints": arm.joints,
            "bones": {f"{side}_upper_arm": 1.0, f"{side}_forearm": 1.0},
        }
    for j in torso_joints + head_joints + [j for arm in arms.values() for j in arm.joints]:
        if not np.isfinite(robot.joint(j).lower):
            notes.append(f"joint {j!r} is continuous: give it limits.position to retarget it")
    fast = sorted({j for c in chains.values() for j in c["joints"] if robot.joint(j).velocity > 50.0})
    urdf_ref = urdf if urdf.startswith(PACKAGE_SCHEME) else os.path.relpath(path, out.resolve().parent)
    data = {
        "urdf": urdf_ref,
        "base_orientation": base,
        "markers": {ted: points[ted] for ted in skeleton.JOINTS},
        "chains": chains,
        "rest_pose": {},
        "limits": {"margin": 0.05, "velocity_scale": 0.8, "acceleration": 15.0},
    }
    if fast:
        data["limits"]["velocity"] = {j: 3.0 for j in fast}
        notes.append(f"{len(fast)} joints claim velocity limits above 50 rad/s (placeholders?): capped at 3 rad/s")
    data["rest_pose"] = _solve_rest(data, out)
    return data, notes


def _solve_rest(data: dict, out: Path) -> dict[str, float]:
    """Rest values of the chain joints: the retargeter's solution for a person at rest (arms
    hanging slightly forward, elbows a little bent, looking ahead), rounded to 0.01 rad."""
    from .config import config_from_dict
    from .ik import Retargeter

    cfg = config_from_dict(data, source=out.resolve())
    rest = skeleton.as_directions(skeleton.MEAN_DIR_VEC).copy()
    rest /= np.linalg.norm(rest, axis=1, keepdims=True)
    for side, sign in (("left", -1.0), ("right", 1.0)):  # TED: +x is the person's right, +y down
        upper = np.array([0.15 * sign, 1.0, 0.1])
        fore = np.array([0.05 * sign, 0.8, 0.45])
        rest[skeleton.BONE_NAMES.index(f"{side}_upper_arm")] = upper / np.linalg.norm(upper)
        rest[skeleton.BONE_NAMES.index(f"{side}_forearm")] = fore / np.linalg.norm(fore)
    r = Retargeter(cfg)
    q = r.retarget(rest.reshape(1, -1))[0]
    q = np.clip(np.round(q, 2), np.ceil(r.lower * 100) / 100, np.floor(r.upper * 100) / 100)  # rounded inside the limits
    return {name: float(v) + 0.0 for name, v in zip(r.joint_names, q) if abs(v) >= 0.005}


def write_draft(data: dict, notes: list[str], urdf: str, out: Path) -> None:
    """Write the drafted config to ``out`` with a header saying how to review it."""
    header = [
        f"# Robot config drafted by `gesture-robot init {urdf}`: review every line.",
        "# Check it with `gesture-robot check " + out.name + "`: the picture shows the skeleton points on the robot.",
        "# Keys: src/gesture_core/retarget/config.py (RetargetConfig); examples: config/retarget_*.yaml.",
    ] + [f"# NOTE: {n}" for n in notes]
    out.write_text("\n".join(header) + "\n" + yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=100))
