"""The robot description: a URDF parsed into typed joints and links, and its MuJoCo model.

- :func:`parse_urdf` reads a URDF into a :class:`RobotDescription` (joints with axes and limits,
  links with inertials, the kinematic tree) and checks what the project relies on, raising
  :class:`~gesture_core.errors.RobotDescriptionError` naming the bad element.
- :func:`load_mujoco_model` builds an ``mujoco.MjModel`` from the same URDF with MuJoCo's own
  importer plus a position actuator per movable joint, a floor, lights and a front camera.
- :func:`default_urdf_path` finds the bundled humanoids (``urdf/`` of the repository).

Supported joint types are ``revolute``, ``prismatic`` and ``fixed``: every movable joint needs
position, velocity and effort limits. Units are SI (m, rad, kg, kg m^2, N m, rad/s); axes REP-103.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import mujoco
import numpy as np

from .bundled import DEFAULT_ROBOT, ROBOTS, bundled_file
from .errors import RobotDescriptionError

log = logging.getLogger(__name__)

MOVABLE_TYPES = ("revolute", "prismatic")
SUPPORTED_TYPES = (*MOVABLE_TYPES, "fixed")

#: Bundled robot variants -> URDF file name (in the repository's ``urdf/``).
VARIANTS = ROBOTS

#: Name of the front (listener's view) camera that :func:`load_mujoco_model` adds.
FRONT_CAMERA = "front"


@dataclass(frozen=True)
class Inertial:
    """Mass (kg), centre of mass (3,) m in the link frame, inertia (3, 3) kg m^2 about the COM."""

    mass: float
    com: np.ndarray
    inertia: np.ndarray


@dataclass(frozen=True)
class Link:
    """A link; ``inertial`` is None for massless frames (e.g. the ``ted_*`` marker links)."""

    name: str
    inertial: Inertial | None


@dataclass(frozen=True)
class Joint:
    """A joint between ``parent`` and ``child`` links.

    ``origin_xyz`` (m) and ``origin_rpy`` (rad) place the child frame in the parent frame at zero
    position; ``axis`` is the unit rotation/translation axis in the child frame. Limits are
    ``lower``/``upper`` (rad or m), ``velocity`` (rad/s or m/s) and ``effort`` (N m or N); all
    None for fixed joints.
    """

    name: str
    type: str
    parent: str
    child: str
    origin_xyz: np.ndarray
    origin_rpy: np.ndarray
    axis: np.ndarray
    lower: float | None = None
    upper: float | None = None
    velocity: float | None = None
    effort: float | None = None

    @property
    def movable(self) -> bool:
        return self.type in MOVABLE_TYPES


@dataclass(frozen=True)
class RobotDescription:
    """A parsed, validated URDF: links and joints by name (file order) and the tree's root link."""

    name: str
    links: dict[str, Link]
    joints: dict[str, Joint]
    root: str
    path: Path | None = None

    @property
    def movable_joints(self) -> list[Joint]:
        """The revolute/prismatic joints, in file order."""
        return [j for j in self.joints.values() if j.movable]

    @property
    def joint_names(self) -> list[str]:
        """Names of the movable joints, in file order."""
        return [j.name for j in self.movable_joints]

    def limits(self, names: list[str] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper position limits, each (J,), of ``names`` (default: all movable joints)."""
        joints = [self.joint(n) for n in (names if names is not None else self.joint_names)]
        return np.array([j.lower for j in joints]), np.array([j.upper for j in joints])

    def joint(self, name: str) -> Joint:
        if name not in self.joints:
            raise RobotDescriptionError(f"robot {self.name!r} has no joint {name!r}")
        return self.joints[name]

    def parent_joint(self, link: str) -> Joint | None:
        """The joint whose child is ``link`` (None for the root)."""
        if link not in self.links:
            raise RobotDescriptionError(f"robot {self.name!r} has no link {link!r}")
        return next((j for j in self.joints.values() if j.child == link), None)

    def chain(self, link: str) -> list[Joint]:
        """Joints from the root down to ``link`` (root first)."""
        joints = []
        joint = self.parent_joint(link)
        while joint is not None:
            joints.append(joint)
            joint = self.parent_joint(joint.parent)
        return joints[::-1]

    @property
    def total_mass(self) -> float:
        """Sum of all link masses (kg)."""
        return sum(link.inertial.mass for link in self.links.values() if link.inertial is not None)


# --------------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------------


def _floats(text: str | None, n: int, what: str, default: tuple[float, ...] | None = None) -> np.ndarray:
    if text is None:
        if default is None:
            raise RobotDescriptionError(f"{what} is missing")
        return np.array(default, dtype=float)
    try:
        values = np.array([float(v) for v in text.split()])
    except ValueError:
        raise RobotDescriptionError(f"{what} = {text!r} is not {n} numbers") from None
    if values.shape != (n,) or not np.all(np.isfinite(values)):
        raise RobotDescriptionError(f"{what} = {text!r} is not {n} finite numbers")
    return values


def _float_attr(el: ET.Element, key: str, what: str) -> float:
    return float(_floats(el.get(key), 1, f"{what} {key}")[0])


def _parse_inertial(el: ET.Element | None, link: str) -> Inertial | None:
    if el is None:
        return None
    what = f"link {link!r} inertial"
    mass_el, inertia_el = el.find("mass"), el.find("inertia")
    if mass_el is None or inertia_el is None:
        raise RobotDescriptionError(f"{what} needs <mass> and <inertia>")
    origin = el.find("origin")
    if origin is not None and np.any(_floats(origin.get("rpy"), 3, f"{what} origin rpy", (0, 0, 0))):
        raise RobotDescriptionError(f"{what} origin has a rotation; give the inertia in the link axes")
    com = _floats(origin.get("xyz") if origin is not None else None, 3, f"{what} origin xyz", (0, 0, 0))
    mass = _float_attr(mass_el, "value", f"{what} mass")
    if mass <= 0:
        raise RobotDescriptionError(f"{what} mass must be > 0, got {mass}")
    i = {k: _float_attr(inertia_el, k, what) for k in ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")}
    inertia = np.array(
        [[i["ixx"], i["ixy"], i["ixz"]], [i["ixy"], i["iyy"], i["iyz"]], [i["ixz"], i["iyz"], i["izz"]]]
    )
    principal = np.linalg.eigvalsh(inertia)
    if principal[0] <= 0:
        raise RobotDescriptionError(
            f"{what} inertia is not positive definite (principal moments {principal})"
        )
    a, b, c = principal
    if a + b < c * (1 - 1e-9):
        raise RobotDescriptionError(f"{what} principal moments {principal} break the triangle inequality")
    return Inertial(mass, com, inertia)


def _parse_joint(el: ET.Element, links: dict[str, Link]) -> Joint:
    name = el.get("name")
    if not name:
        raise RobotDescriptionError("a <joint> has no name")
    what = f"joint {name!r}"
    jtype = el.get("type")
    if jtype not in SUPPORTED_TYPES:
        raise RobotDescriptionError(f"{what} has type {jtype!r}; supported: {', '.join(SUPPORTED_TYPES)}")
    ends = {}
    for end in ("parent", "child"):
        end_el = el.find(end)
        ends[end] = end_el.get("link") if end_el is not None else None
        if ends[end] not in links:
            raise RobotDescriptionError(f"{what} {end} link {ends[end]!r} is not a <link> of the robot")
    origin = el.find("origin")
    xyz = _floats(origin.get("xyz") if origin is not None else None, 3, f"{what} origin xyz", (0, 0, 0))
    rpy = _floats(origin.get("rpy") if origin is not None else None, 3, f"{what} origin rpy", (0, 0, 0))
    axis_el = el.find("axis")
    axis = _floats(axis_el.get("xyz") if axis_el is not None else None, 3, f"{what} axis", (1, 0, 0))
    if np.linalg.norm(axis) < 1e-9:
        raise RobotDescriptionError(f"{what} axis is zero")
    axis = axis / np.linalg.norm(axis)
    if jtype == "fixed":
        return Joint(name, jtype, ends["parent"], ends["child"], xyz, rpy, axis)
    limit = el.find("limit")
    if limit is None:
        raise RobotDescriptionError(f"{what} is {jtype} but has no <limit>")
    lower, upper, velocity, effort = (
        _float_attr(limit, k, f"{what} limit") for k in ("lower", "upper", "velocity", "effort")
    )
    if not lower < upper:
        raise RobotDescriptionError(f"{what} limit lower={lower} is not below upper={upper}")
    if velocity <= 0 or effort <= 0:
        raise RobotDescriptionError(f"{what} limit velocity={velocity} and effort={effort} must be > 0")
    if links[ends["child"]].inertial is None:
        raise RobotDescriptionError(f"{what} moves link {ends['child']!r}, which has no <inertial>")
    return Joint(name, jtype, ends["parent"], ends["child"], xyz, rpy, axis, lower, upper, velocity, effort)


def _find_root(name: str, links: dict[str, Link], joints: dict[str, Joint]) -> str:
    """The one link that is no joint's child; checks the links form a single tree."""
    parent_of: dict[str, str] = {}
    for j in joints.values():
        if j.child in parent_of:
            raise RobotDescriptionError(
                f"link {j.child!r} is the child of two joints ({parent_of[j.child]!r}, {j.name!r})"
            )
        parent_of[j.child] = j.name
    roots = [link for link in links if link not in parent_of]
    if not roots:
        raise RobotDescriptionError(f"robot {name!r} has no root link: the joints form a cycle")
    if len(roots) > 1:
        raise RobotDescriptionError(
            f"robot {name!r} has {len(roots)} root links {roots}; the tree must be connected"
        )
    reached, todo = {roots[0]}, [roots[0]]
    while todo:
        link = todo.pop()
        for j in joints.values():
            if j.parent == link and j.child not in reached:
                reached.add(j.child)
                todo.append(j.child)
    if len(reached) != len(links):
        raise RobotDescriptionError(
            f"links {sorted(set(links) - reached)} form a cycle, unreachable from {roots[0]!r}"
        )
    return roots[0]


def parse_urdf_string(text: str, path: Path | None = None) -> RobotDescription:
    """Parse and validate URDF ``text``; errors start with ``path`` (or ``<string>``)."""
    try:
        return _parse_robot(text, path)
    except RobotDescriptionError as exc:
        raise RobotDescriptionError(f"{path if path is not None else '<string>'}: {exc}") from None


def _parse_robot(text: str, path: Path | None) -> RobotDescription:
    try:
        robot = ET.fromstring(text)
    except ET.ParseError as exc:
        raise RobotDescriptionError(f"not well-formed XML: {exc}") from None
    if robot.tag != "robot":
        raise RobotDescriptionError(f"root element is <{robot.tag}>, expected <robot>")
    name = robot.get("name") or "unnamed"
    links: dict[str, Link] = {}
    for el in robot.findall("link"):
        link_name = el.get("name")
        if not link_name:
            raise RobotDescriptionError("a <link> has no name")
        if link_name in links:
            raise RobotDescriptionError(f"duplicate link {link_name!r}")
        links[link_name] = Link(link_name, _parse_inertial(el.find("inertial"), link_name))
    if not links:
        raise RobotDescriptionError(f"robot {name!r} has no links")
    joints: dict[str, Joint] = {}
    for el in robot.findall("joint"):
        joint = _parse_joint(el, links)
        if joint.name in joints:
            raise RobotDescriptionError(f"duplicate joint {joint.name!r}")
        joints[joint.name] = joint
    root = _find_root(name, links, joints)
    return RobotDescription(name, links, joints, root, path)


def parse_urdf(path: str | Path) -> RobotDescription:
    """Parse and validate the URDF file at ``path``."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise RobotDescriptionError(f"cannot read URDF {path}: {exc.strerror or exc}") from None
    return parse_urdf_string(text, path)


def default_urdf_path(variant: str = DEFAULT_ROBOT) -> Path:
    """Path of a bundled humanoid URDF (``variant``: a key of :data:`VARIANTS`).

    Looks in the source tree's ``urdf/`` first (the editable checkout everyone develops in), then in
    the ``gesture_description`` package's ament share directory (see :mod:`gesture_core.bundled`).
    """
    if variant not in VARIANTS:
        raise RobotDescriptionError(f"unknown robot variant {variant!r}; known: {sorted(VARIANTS)}")
    return bundled_file("urdf", VARIANTS[variant], "gesture_description", RobotDescriptionError)


# --------------------------------------------------------------------------------------------
# MuJoCo
# --------------------------------------------------------------------------------------------

#: Geom group of collision geoms: hidden in renders (MuJoCo shows groups 0-2 by default).
COLLISION_GROUP = 3


def _lowest_point(model: mujoco.MjModel) -> float:
    """Lowest z (m) of any geom's bounding box at the model's reference configuration."""
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    centre, half = model.geom_aabb[:, :3], model.geom_aabb[:, 3:]
    rot = data.geom_xmat.reshape(-1, 3, 3)
    z = (
        data.geom_xpos[:, 2]
        + np.einsum("gj,gj->g", rot[:, 2, :], centre)
        - np.einsum("gj,gj->g", np.abs(rot[:, 2, :]), half)
    )
    return float(z.min())


def load_mujoco_model(
    urdf_path: str | Path,
    kp: float = 1000.0,
    kv: float = 40.0,
    armature: float = 0.05,
    timestep: float = 0.002,
    gravity_compensation: bool = True,
    floor: bool = True,
) -> mujoco.MjModel:
    """MuJoCo model of the URDF at ``urdf_path``, ready to simulate with position control.

    - the base link stays fixed to the world (MuJoCo adds no free joint to a URDF root);
    - one ``position`` actuator per movable joint, named like the joint: force
      ``kp * (ctrl - q) - kv * qdot`` (``kp`` N m/rad, ``kv`` N m s/rad), ``ctrlrange`` = the joint's
      position limits (targets outside are clipped), ``forcerange`` = its effort limit;
    - ``armature`` (kg m^2): reflected rotor inertia added to every joint, as geared servos have;
      it also keeps the stiff servos of the light wrist links stable at ``timestep`` (s);
    - ``gravity_compensation``: the actuators also cancel gravity (a servo's feed-forward term,
      counted in the actuator force and its effort limit); gravity itself stays on;
    - robot bodies never collide with each other (self-collision would jam the forearms on the
      torso); collision geoms are kept in group 3, hidden in renders; with ``floor`` a ground plane
      at the lowest point of the robot (the foot of its stand), which only the robot can touch;
    - a ``front`` camera facing the robot from +x (the listener's view) and two lights.

    Validates the URDF with :func:`parse_urdf` first, so a bad file fails with a clear
    :class:`RobotDescriptionError`. Mesh file names resolve relative to the URDF's directory.
    """
    urdf_path = Path(urdf_path)
    description = parse_urdf(urdf_path)
    try:
        spec = mujoco.MjSpec.from_file(str(urdf_path))
    except ValueError as exc:
        raise RobotDescriptionError(f"MuJoCo cannot load {urdf_path}: {exc}") from None
    spec.modelname = description.name
    spec.option.timestep = timestep
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    for geom in spec.geoms:
        if geom.contype or geom.conaffinity:  # a collision geom: touches the floor only
            geom.contype, geom.conaffinity, geom.group = 1, 0, COLLISION_GROUP
    for body in spec.bodies:
        body.gravcomp = 1.0 if gravity_compensation else 0.0
    for joint in description.movable_joints:
        mj_joint = spec.joint(joint.name)
        mj_joint.armature = armature
        mj_joint.actgravcomp = gravity_compensation  # gravity compensation comes from the actuator...
        mj_joint.actfrclimited, mj_joint.actfrcrange = True, [-joint.effort, joint.effort]  # ...within effort
        actuator = spec.add_actuator(name=joint.name, target=joint.name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        actuator.set_to_position(kp=kp, kv=kv)
        actuator.ctrllimited, actuator.ctrlrange = True, [joint.lower, joint.upper]
        actuator.forcelimited, actuator.forcerange = True, [-joint.effort, joint.effort]
    if floor:
        _add_floor(spec)
    _add_camera_and_lights(spec)
    try:
        return spec.compile()
    except ValueError as exc:
        raise RobotDescriptionError(f"MuJoCo cannot compile {urdf_path}: {exc}") from None


def _add_floor(spec: mujoco.MjSpec) -> None:
    height = _lowest_point(spec.compile())
    spec.add_texture(
        name="grid", type=mujoco.mjtTexture.mjTEXTURE_2D, builtin=mujoco.mjtBuiltin.mjBUILTIN_CHECKER,
        rgb1=[0.82, 0.82, 0.80], rgb2=[0.72, 0.72, 0.70], width=256, height=256,
    )  # fmt: skip
    spec.add_material(name="floor", texrepeat=[8, 8], reflectance=0.05).textures[
        mujoco.mjtTextureRole.mjTEXROLE_RGB
    ] = "grid"
    spec.worldbody.add_geom(
        name="floor", type=mujoco.mjtGeom.mjGEOM_PLANE, size=[3, 3, 0.05], pos=[0, 0, height],
        material="floor", contype=0, conaffinity=1,
    )  # fmt: skip


def _add_camera_and_lights(spec: mujoco.MjSpec) -> None:
    # A MuJoCo camera looks along its -z axis with +y up: image right = world +y, up = world +z.
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=float).ravel())
    spec.worldbody.add_camera(name=FRONT_CAMERA, pos=[1.7, 0.0, 0.3], quat=quat, fovy=45.0)
    spec.worldbody.add_light(
        name="key", pos=[1.5, 1.0, 2.5], dir=[-0.5, -0.35, -1.0], diffuse=[0.5, 0.5, 0.5], castshadow=True
    )
    spec.worldbody.add_light(
        name="fill", pos=[1.5, -1.5, 1.0], dir=[-1.0, 1.0, -0.3], diffuse=[0.2, 0.2, 0.2], castshadow=False
    )
    spec.visual.headlight.diffuse = [0.3, 0.3, 0.3]
    spec.visual.headlight.ambient = [0.15, 0.15, 0.15]
    spec.add_texture(
        name="sky", type=mujoco.mjtTexture.mjTEXTURE_SKYBOX, builtin=mujoco.mjtBuiltin.mjBUILTIN_GRADIENT,
        rgb1=[0.55, 0.65, 0.75], rgb2=[0.95, 0.95, 0.97], width=256, height=256,
    )  # fmt: skip
