"""Write the gesturing humanoid's URDFs from one readable description.

Run ``.venv/bin/python urdf/generate.py`` after editing this file; the ``.urdf`` files it writes are
committed (they are what ROS and MuJoCo load). Two variants share the body plan:

- ``gesture_humanoid.urdf``: NAO/Pepper-like 5-DOF arms (shoulder_pitch, shoulder_roll, elbow_yaw,
  elbow_roll, wrist_yaw), shoulders 0.40 m apart, upper arm 0.29 m, forearm 0.26 m.
- ``gesture_humanoid_7dof.urdf``: 7-DOF arms (shoulder_pitch, shoulder_roll, shoulder_yaw,
  elbow_roll, wrist_yaw, wrist_pitch, wrist_roll; the upper-arm twist sits at the shoulder instead
  of the elbow, which is kinematically the same axis), wider shoulders and longer arms.

Conventions (REP-103): x forward (the robot faces +x, the listener), y left, z up. Every link frame
is parallel to ``base_link`` at the zero configuration, in which the robot stands upright with the
arms hanging at its sides. Pitch joints turn about +y (negative = arm/forearm forward and up, head
up), roll joints about +x, yaw joints about +z (the long axis of a hanging limb). Left and right
use the same axes, so roll and yaw limits are mirrored (negated and swapped).

Masses are chosen per link; inertias are *computed* from the link's solid primitives (mass shared
in proportion to volume, parallel-axis theorem), never typed in.
"""

from __future__ import annotations

import argparse
import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

log = logging.getLogger("urdf.generate")

HERE = Path(__file__).resolve().parent

MATERIALS = {
    "body": (0.85, 0.86, 0.88, 1.0),
    "joint": (0.25, 0.27, 0.30, 1.0),
    "accent": (0.15, 0.45, 0.80, 1.0),
    "eye": (0.05, 0.05, 0.05, 1.0),
    "stand": (0.40, 0.40, 0.42, 1.0),
}


@dataclass(frozen=True)
class Shape:
    """A primitive at ``xyz`` (link frame, m), axis-aligned; cylinders run along z.

    ``size``: box (x, y, z) full edge lengths; cylinder (radius, length); sphere (radius,).
    ``solid``: counts towards the link's mass and inertia. ``collide``: also a collision geometry.
    """

    kind: str  # "box" | "cylinder" | "sphere"
    size: tuple[float, ...]
    xyz: tuple[float, float, float] = (0.0, 0.0, 0.0)
    material: str = "body"
    solid: bool = True
    collide: bool = True

    def volume(self) -> float:
        if self.kind == "box":
            return float(np.prod(self.size))
        if self.kind == "cylinder":
            r, h = self.size
            return np.pi * r * r * h
        return 4.0 / 3.0 * np.pi * self.size[0] ** 3

    def inertia(self, mass: float) -> np.ndarray:
        """(3, 3) inertia tensor (kg m^2) of the solid primitive of ``mass`` about its centre."""
        if self.kind == "box":
            x, y, z = self.size
            return mass / 12.0 * np.diag([y * y + z * z, x * x + z * z, x * x + y * y])
        if self.kind == "cylinder":
            r, h = self.size
            side = mass * (3 * r * r + h * h) / 12.0
            return np.diag([side, side, mass * r * r / 2.0])
        return np.eye(3) * 0.4 * mass * self.size[0] ** 2


@dataclass
class Link:
    name: str
    mass: float = 0.0  # kg; 0 for massless marker links
    shapes: list[Shape] = field(default_factory=list)

    def inertial(self) -> tuple[np.ndarray, np.ndarray]:
        """Centre of mass (3,) m and inertia about it (3, 3) kg m^2 of the solid shapes."""
        solids = [s for s in self.shapes if s.solid]
        volumes = np.array([s.volume() for s in solids])
        masses = self.mass * volumes / volumes.sum()
        centres = np.array([s.xyz for s in solids])
        com = masses @ centres / self.mass
        inertia = np.zeros((3, 3))
        for s, m, c in zip(solids, masses, centres):
            d = c - com
            inertia += s.inertia(m) + m * (d @ d * np.eye(3) - np.outer(d, d))
        return com, inertia


@dataclass(frozen=True)
class Joint:
    """A joint at ``xyz`` in the parent link frame. ``limits``: (lower, upper, velocity, effort)."""

    name: str
    parent: str
    child: str
    xyz: tuple[float, float, float]
    axis: tuple[float, float, float] | None = None  # None: fixed joint
    limits: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Proportions:
    """What differs between variants (m, kg)."""

    shoulder_half_width: float = 0.20
    chest_half_width: float = 0.13
    pelvis_half_width: float = 0.12
    upper_arm: float = 0.29
    forearm: float = 0.26
    hand: float = 0.14
    arm_dof: int = 5


#: Height of the shoulder joints and of the neck base above the torso_pitch joint (m).
SHOULDER_Z, NECK_Z = 0.34, 0.40
#: Height of the pelvis centre above the floor; the stand fills the gap.
STAND_HEIGHT = 0.95

X, Y, Z = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)


def mirrored(lower: float, upper: float, side: float) -> tuple[float, float]:
    """Limits of a roll/yaw joint given for the left arm (side=+1), mirrored for the right (-1)."""
    return (lower, upper) if side > 0 else (-upper, -lower)


def body_and_head(p: Proportions) -> tuple[list[Link], list[Joint]]:
    """Pelvis on its stand, waist, chest, neck and head, with their TED marker links."""
    pw, cw = p.pelvis_half_width, p.chest_half_width
    links = [
        Link(
            "base_link",
            6.0,
            [
                Shape("box", (0.16, 2 * pw, 0.12)),
                Shape("cylinder", (0.03, STAND_HEIGHT - 0.09), (0, 0, -(STAND_HEIGHT + 0.03) / 2), "stand", False),
                Shape("cylinder", (0.22, 0.03), (0, 0, -STAND_HEIGHT + 0.015), "stand", False),
            ],
        ),
        Link("waist_link", 1.5, [Shape("cylinder", (0.07, 0.08), (0, 0, 0.04), "joint")]),
        Link("torso_link", 10.0, [Shape("box", (0.18, 2 * cw, 0.38), (0, 0, 0.21))]),
        Link("neck_link", 0.3, [Shape("cylinder", (0.035, 0.08), (0, 0, 0.04), "joint")]),
        Link(
            "head_link",
            2.5,
            [Shape("sphere", (0.10,), (0, 0, 0.10))]
            + [Shape("sphere", (0.015,), (0.088, s * 0.035, 0.12), "eye", False, False) for s in (1, -1)],
        ),
    ]
    joints = [
        Joint("torso_yaw", "base_link", "waist_link", (0, 0, 0.06), Z, (-0.6, 0.6, 2.0, 80.0)),
        Joint("torso_pitch", "waist_link", "torso_link", (0, 0, 0.06), Y, (-0.25, 0.5, 2.0, 80.0)),
        Joint("head_yaw", "torso_link", "neck_link", (0, 0, NECK_Z), Z, (-1.5, 1.5, 4.0, 10.0)),
        Joint("head_pitch", "neck_link", "head_link", (0, 0, 0.08), Y, (-0.6, 0.5, 4.0, 10.0)),
    ]
    markers = {
        "ted_spine": ("torso_link", (0, 0, NECK_Z - 0.24)),
        "ted_thorax": ("torso_link", (0, 0, NECK_Z)),
        "ted_nose": ("head_link", (0.095, 0, 0.07)),
        "ted_head_top": ("head_link", (0, 0, 0.20)),
    }
    for name, (parent, xyz) in markers.items():
        links.append(Link(name))
        joints.append(Joint(f"{name}_joint", parent, name, xyz))
    return links, joints


def arm(p: Proportions, side: float) -> tuple[list[Link], list[Joint]]:
    """One arm (side +1 left, -1 right): a chain of links hanging down -z from the shoulder."""
    pre = "l_" if side > 0 else "r_"
    ted = "left" if side > 0 else "right"
    scale = (p.upper_arm + p.forearm) / 0.55  # heavier for longer arms
    u, f, h = p.upper_arm, p.forearm, p.hand
    housing = Shape("sphere", (0.045,), material="joint")
    links = [
        Link(f"{pre}shoulder_link", 0.4, [Shape("sphere", (0.05,), material="joint")]),
        Link(f"{pre}upper_arm_link", 1.8 * scale, [Shape("cylinder", (0.04, u - 0.05), (0, 0, -u / 2))]),
        Link(f"{pre}forearm_link", 1.2 * scale, [Shape("cylinder", (0.035, f - 0.04), (0, 0, -f / 2))]),
        Link(f"{pre}hand_link", 0.4, [Shape("box", (0.08, 0.03, h), (0, 0, -h / 2), "accent")]),
    ]
    shoulder = (0, side * p.shoulder_half_width, SHOULDER_Z)
    roll = (*mirrored(-0.08, 1.65, side), 3.0, 30.0)
    joints = [Joint(f"{pre}shoulder_pitch", "torso_link", f"{pre}shoulder_link", shoulder, Y, (-2.0, 1.0, 3.0, 30.0))]
    if p.arm_dof == 5:
        links.append(Link(f"{pre}elbow_link", 0.2, [housing]))
        joints += [
            Joint(f"{pre}shoulder_roll", f"{pre}shoulder_link", f"{pre}upper_arm_link", (0, 0, 0), X, roll),
            Joint(f"{pre}elbow_yaw", f"{pre}upper_arm_link", f"{pre}elbow_link", (0, 0, -u), Z, (-2.0, 2.0, 3.5, 15.0)),
            Joint(f"{pre}elbow_roll", f"{pre}elbow_link", f"{pre}forearm_link", (0, 0, 0), Y, (-2.4, 0.0, 3.5, 15.0)),
            Joint(f"{pre}wrist_yaw", f"{pre}forearm_link", f"{pre}hand_link", (0, 0, -f), Z, (-1.8, 1.8, 4.0, 5.0)),
        ]
    else:
        links += [
            Link(f"{pre}shoulder_roll_link", 0.2, [Shape("cylinder", (0.045, 0.04), (0, 0, -0.02), "joint")]),
            Link(f"{pre}wrist_link", 0.1, [Shape("sphere", (0.03,), material="joint")]),
            Link(f"{pre}wrist_pitch_link", 0.05, [Shape("sphere", (0.025,), material="joint")]),
        ]
        links[2].shapes.append(housing)  # elbow housing on the forearm
        joints += [
            Joint(f"{pre}shoulder_roll", f"{pre}shoulder_link", f"{pre}shoulder_roll_link", (0, 0, 0), X, roll),
            Joint(f"{pre}shoulder_yaw", f"{pre}shoulder_roll_link", f"{pre}upper_arm_link", (0, 0, 0), Z, (-2.0, 2.0, 3.0, 20.0)),
            Joint(f"{pre}elbow_roll", f"{pre}upper_arm_link", f"{pre}forearm_link", (0, 0, -u), Y, (-2.4, 0.0, 3.5, 15.0)),
            Joint(f"{pre}wrist_yaw", f"{pre}forearm_link", f"{pre}wrist_link", (0, 0, -f), Z, (-1.8, 1.8, 4.0, 5.0)),
            Joint(f"{pre}wrist_pitch", f"{pre}wrist_link", f"{pre}wrist_pitch_link", (0, 0, 0), Y, (-1.2, 1.2, 4.0, 5.0)),
            Joint(f"{pre}wrist_roll", f"{pre}wrist_pitch_link", f"{pre}hand_link", (0, 0, 0), X, (*mirrored(-0.5, 0.5, side), 4.0, 5.0)),
        ]
    markers = {
        f"ted_{ted}_shoulder": ("torso_link", shoulder),
        f"ted_{ted}_elbow": (f"{pre}upper_arm_link", (0, 0, -u)),
        f"ted_{ted}_wrist": (f"{pre}forearm_link", (0, 0, -f)),
    }
    for name, (parent, xyz) in markers.items():
        links.append(Link(name))
        joints.append(Joint(f"{name}_joint", parent, name, xyz))
    return links, joints


def _fmt(values) -> str:
    return " ".join(f"{float(v):.6g}" for v in values)


def _geometry(parent: ET.Element, s: Shape) -> None:
    geometry = ET.SubElement(parent, "geometry")
    if s.kind == "box":
        ET.SubElement(geometry, "box", size=_fmt(s.size))
    elif s.kind == "cylinder":
        ET.SubElement(geometry, "cylinder", radius=_fmt(s.size[:1]), length=_fmt(s.size[1:]))
    else:
        ET.SubElement(geometry, "sphere", radius=_fmt(s.size))


def to_urdf(name: str, links: list[Link], joints: list[Joint]) -> ET.Element:
    """The URDF ``<robot>`` element of ``links`` and ``joints``."""
    robot = ET.Element("robot", name=name)
    mujoco = ET.SubElement(robot, "mujoco")
    ET.SubElement(mujoco, "compiler", discardvisual="false", fusestatic="false")
    for mat, rgba in MATERIALS.items():
        ET.SubElement(ET.SubElement(robot, "material", name=mat), "color", rgba=_fmt(rgba))
    for link in links:
        el = ET.SubElement(robot, "link", name=link.name)
        if link.mass > 0:
            com, inertia = link.inertial()
            inertial = ET.SubElement(el, "inertial")
            ET.SubElement(inertial, "origin", xyz=_fmt(com), rpy="0 0 0")
            ET.SubElement(inertial, "mass", value=f"{link.mass:.6g}")
            ET.SubElement(
                inertial,
                "inertia",
                {k: f"{inertia[i, j]:.6g}" for k, (i, j) in
                 {"ixx": (0, 0), "ixy": (0, 1), "ixz": (0, 2), "iyy": (1, 1), "iyz": (1, 2), "izz": (2, 2)}.items()},
            )  # fmt: skip
        for s in link.shapes:
            visual = ET.SubElement(el, "visual")
            ET.SubElement(visual, "origin", xyz=_fmt(s.xyz), rpy="0 0 0")
            _geometry(visual, s)
            ET.SubElement(visual, "material", name=s.material)
        for s in (s for s in link.shapes if s.collide):
            collision = ET.SubElement(el, "collision")
            ET.SubElement(collision, "origin", xyz=_fmt(s.xyz), rpy="0 0 0")
            _geometry(collision, s)
    for j in joints:
        el = ET.SubElement(robot, "joint", name=j.name, type="fixed" if j.axis is None else "revolute")
        ET.SubElement(el, "origin", xyz=_fmt(j.xyz), rpy="0 0 0")
        ET.SubElement(el, "parent", link=j.parent)
        ET.SubElement(el, "child", link=j.child)
        if j.axis is not None:
            lower, upper, velocity, effort = j.limits
            ET.SubElement(el, "axis", xyz=_fmt(j.axis))
            ET.SubElement(el, "limit", lower=f"{lower:g}", upper=f"{upper:g}", velocity=f"{velocity:g}", effort=f"{effort:g}")
            ET.SubElement(el, "dynamics", damping="0.1", friction="0")
    ET.indent(robot)
    return robot


def humanoid(name: str, p: Proportions) -> ET.Element:
    links, joints = body_and_head(p)
    for side in (1.0, -1.0):
        arm_links, arm_joints = arm(p, side)
        links += arm_links
        joints += arm_joints
    return to_urdf(name, links, joints)


VARIANTS = {
    "gesture_humanoid.urdf": Proportions(),
    "gesture_humanoid_7dof.urdf": replace(
        Proportions(), shoulder_half_width=0.23, chest_half_width=0.15, pelvis_half_width=0.14,
        upper_arm=0.32, forearm=0.28, hand=0.16, arm_dof=7,
    ),
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE, help="directory to write the .urdf files to")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for filename, proportions in VARIANTS.items():
        robot = humanoid(filename.removesuffix(".urdf"), proportions)
        header = f"<?xml version=\"1.0\"?>\n<!-- Generated by urdf/generate.py; edit that script, not this file. -->\n"
        path = args.out / filename
        path.write_text(header + ET.tostring(robot, encoding="unicode") + "\n")
        log.info("wrote %s", path)


if __name__ == "__main__":
    main()
