"""The robot description: a URDF parsed into typed joints and links, and its MuJoCo model.

- :func:`parse_urdf` reads a URDF into a :class:`RobotDescription` (joints with axes and limits,
  links with inertials, the kinematic tree) and checks what the project relies on, raising
  :class:`~gesture_core.errors.RobotDescriptionError` naming the bad element.
- :func:`load_mujoco_model` builds an ``mujoco.MjModel`` from the same URDF with MuJoCo's own
  importer plus a position actuator per movable joint, a floor, lights and a front camera.
- :func:`default_urdf_path` finds the bundled humanoids (``urdf/`` of the repository).

Supported joint types are ``revolute``, ``continuous``, ``prismatic``, ``fixed`` and ``floating``
(welded: the project simulates robots fixed at their root). Revolute and prismatic joints need
position, velocity and effort limits, continuous ones velocity and effort (their position range is
unbounded). Units are SI (m, rad, kg, kg m^2, N m, rad/s); axes REP-103.
"""

from __future__ import annotations

import logging
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from .bundled import DEFAULT_ROBOT, URDFS, bundled_file
from .errors import RobotDescriptionError
from .robot_xml import prepare_urdf

log = logging.getLogger(__name__)

MOVABLE_TYPES = ("revolute", "continuous", "prismatic")
SUPPORTED_TYPES = (*MOVABLE_TYPES, "fixed", "floating")

#: Bundled robot variants -> URDF file name (in the repository's ``urdf/``).
VARIANTS = URDFS

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
    """A link; ``inertial`` is None for massless frames (e.g. the ``ted_*`` marker links, or a
    vendor's ``<mass value="0"/>`` sensor frames)."""

    name: str
    inertial: Inertial | None


@dataclass(frozen=True)
class Joint:
    """A joint between ``parent`` and ``child`` links.

    ``origin_xyz`` (m) and ``origin_rpy`` (rad) place the child frame in the parent frame at zero
    position; ``axis`` is the unit rotation/translation axis in the child frame. Limits are
    ``lower``/``upper`` (rad or m; -inf/inf for a continuous joint), ``velocity`` (rad/s or m/s)
    and ``effort`` (N m or N); all None for fixed and floating joints.
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
    #: The URDF text as read (the MuJoCo model is built from it, see :func:`load_mujoco_model`).
    text: str = field(default="", repr=False, compare=False)

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


def rpy_matrix(rpy: np.ndarray) -> np.ndarray:
    """Rotation matrix (3, 3) of URDF roll-pitch-yaw angles (rad): ``Rz(yaw) Ry(pitch) Rx(roll)``."""
    (cr, cp, cy), (sr, sp, sy) = np.cos(rpy), np.sin(rpy)
    return np.array(
        [
            [cy * cp, cy * sp * sr - sy * cr, cy * sp * cr + sy * sr],
            [sy * cp, sy * sp * sr + cy * cr, sy * sp * cr - cy * sr],
            [-sp, cp * sr, cp * cr],
        ]
    )


def _parse_inertial(el: ET.Element | None, link: str) -> Inertial | None:
    """The link's inertial in its own axes (a rotated ``<origin rpy>`` is turned into them); None
    for a massless frame (no ``<inertial>``, or a zero mass)."""
    if el is None:
        return None
    what = f"link {link!r} inertial"
    mass_el, inertia_el = el.find("mass"), el.find("inertia")
    if mass_el is None:
        raise RobotDescriptionError(f"{what} needs <mass>")
    mass = _float_attr(mass_el, "value", f"{what} mass")
    if mass < 0:
        raise RobotDescriptionError(f"{what} mass must be >= 0, got {mass}")
    if mass == 0:
        return None  # a frame (sensor, marker): MuJoCo gives it no body dynamics either
    if inertia_el is None:
        raise RobotDescriptionError(f"{what} needs <inertia> (its mass is {mass} kg)")
    origin = el.find("origin")
    rpy = _floats(origin.get("rpy") if origin is not None else None, 3, f"{what} origin rpy", (0, 0, 0))
    com = _floats(origin.get("xyz") if origin is not None else None, 3, f"{what} origin xyz", (0, 0, 0))
    i = {k: _float_attr(inertia_el, k, what) for k in ("ixx", "ixy", "ixz", "iyy", "iyz", "izz")}
    inertia = np.array(
        [[i["ixx"], i["ixy"], i["ixz"]], [i["ixy"], i["iyy"], i["iyz"]], [i["ixz"], i["iyz"], i["izz"]]]
    )
    rot = rpy_matrix(rpy)
    inertia = rot @ inertia @ rot.T  # into the link axes
    principal = np.linalg.eigvalsh(inertia)
    if np.all(np.abs(principal) <= 1e-12):
        return Inertial(mass, com, np.zeros((3, 3)))  # a point mass (vendors' placeholder links)
    if principal[0] <= 0:
        raise RobotDescriptionError(
            f"{what} inertia is not positive definite (principal moments {principal})"
        )
    a, b, c = principal
    if a + b < c * (1 - 1e-6):
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
    if jtype in ("fixed", "floating"):  # their axis means nothing (vendors leave it zero)
        return Joint(name, jtype, ends["parent"], ends["child"], xyz, rpy, axis)
    if np.linalg.norm(axis) < 1e-9:
        raise RobotDescriptionError(f"{what} axis is zero")
    axis = axis / np.linalg.norm(axis)
    limit = el.find("limit")
    if limit is None:
        raise RobotDescriptionError(f"{what} is {jtype} but has no <limit>")
    velocity, effort = (_float_attr(limit, k, f"{what} limit") for k in ("velocity", "effort"))
    if jtype == "continuous":
        lower, upper = -np.inf, np.inf
    else:
        lower, upper = (_float_attr(limit, k, f"{what} limit") for k in ("lower", "upper"))
    if not lower < upper:
        raise RobotDescriptionError(f"{what} limit lower={lower} is not below upper={upper}")
    if velocity <= 0 or effort <= 0:
        raise RobotDescriptionError(f"{what} limit velocity={velocity} and effort={effort} must be > 0")
    return Joint(name, jtype, ends["parent"], ends["child"], xyz, rpy, axis, lower, upper, velocity, effort)


def _check_moving_mass(joints: dict[str, Joint], links: dict[str, Link]) -> None:
    """Every movable joint must move some mass: its child link, or a link fixed to it."""
    children: dict[str, list[Joint]] = {}
    for j in joints.values():
        children.setdefault(j.parent, []).append(j)

    def massive(link: str) -> bool:
        if links[link].inertial is not None:
            return True
        return any(not j.movable and massive(j.child) for j in children.get(link, []))

    for j in joints.values():
        if j.movable and not massive(j.child):
            raise RobotDescriptionError(
                f"joint {j.name!r} moves link {j.child!r}, which has no <inertial> mass (nor any link fixed to it)"
            )


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
    _check_moving_mass(joints, links)
    return RobotDescription(name, links, joints, root, path, text)


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


#: Colour of the primitives that stand in for missing meshes.
PRIMITIVE_RGBA = (0.78, 0.79, 0.82, 1.0)
#: Geom group of skeleton-point sites: hidden in renders (MuJoCo shows groups 0-2 by default).
SITE_GROUP = 4
#: Vertical field of view of the front camera (degrees).
CAMERA_FOVY = 45.0


def _geom_boxes(model: mujoco.MjModel, data: mujoco.MjData) -> tuple[np.ndarray, np.ndarray]:
    """World-axis bounding boxes (lower (G, 3), upper (G, 3), m) of every geom at ``data``."""
    centre, half = model.geom_aabb[:, :3], model.geom_aabb[:, 3:]
    rot = data.geom_xmat.reshape(-1, 3, 3)
    mid = data.geom_xpos + np.einsum("gij,gj->gi", rot, centre)
    reach = np.einsum("gij,gj->gi", np.abs(rot), half)
    return mid - reach, mid + reach


def load_mujoco_model(
    urdf_path: str | Path,
    kp: float = 1000.0,
    kv: float = 40.0,
    armature: float = 0.05,
    timestep: float = 0.002,
    gravity_compensation: bool = True,
    floor: bool = True,
    sites: Mapping[str, tuple[str, Sequence[float]]] | None = None,
    mesh_paths: Sequence[Path] = (),
    meshes: bool = True,
    base_rpy: Sequence[float] = (0.0, 0.0, 0.0),
) -> mujoco.MjModel:
    """MuJoCo model of the URDF at ``urdf_path``, ready to simulate with position control.

    - the URDF is read as it is on disk and prepared in memory (:mod:`gesture_core.robot_xml`):
      compiler flags set in code and merged with its own ``<mujoco>`` block, mesh references
      resolved (also in ``mesh_paths``: folders or ``.zip`` archives), missing meshes replaced by
      primitives (a capsule to each child joint and an ellipsoid of the link's inertia; one
      warning), floating joints welded; without ``meshes`` no mesh is loaded (kinematics only);
    - the root link stays fixed to the world (MuJoCo adds no free joint to a URDF root), turned by
      ``base_rpy`` (roll, pitch, yaw, rad) for a URDF whose root frame does not face +x;
    - ``sites``: name -> (link, offset (3,) m in the link frame): a site per skeleton point, in
      group 4 (hidden in renders);
    - one ``position`` actuator per movable joint, named like the joint: force
      ``kp * (ctrl - q) - kv * qdot`` (``kp`` N m/rad, ``kv`` N m s/rad), ``ctrlrange`` = the joint's
      position limits (targets outside are clipped; none for continuous joints), ``forcerange`` =
      its effort limit;
    - ``armature`` (kg m^2): reflected rotor inertia added to every joint, as geared servos have;
      it also keeps the stiff servos of the light wrist links stable at ``timestep`` (s);
    - ``gravity_compensation``: the actuators also cancel gravity (a servo's feed-forward term,
      counted in the actuator force and its effort limit); gravity itself stays on;
    - robot bodies never collide with each other (self-collision would jam the forearms on the
      torso); collision geoms are kept in group 3, hidden in renders; with ``floor`` a ground plane
      at the lowest point of the robot (its feet, or the foot of its stand), which only the robot
      can touch;
    - a ``front`` camera facing the robot from +x (the listener's view), framing the skeleton
      points (or the whole robot without ``sites``), and two lights.

    Every problem is a :class:`RobotDescriptionError` naming the file: the URDF is validated with
    :func:`parse_urdf` first, and MuJoCo's own errors are wrapped.
    """
    urdf_path = Path(urdf_path)
    description = parse_urdf(urdf_path)
    prepared = prepare_urdf(urdf_path, description.text, list(mesh_paths), meshes)
    try:
        spec = mujoco.MjSpec.from_string(prepared.text)
    except ValueError as exc:
        raise RobotDescriptionError(f"MuJoCo cannot load {urdf_path}: {exc}") from None
    spec.modelname = description.name
    spec.option.timestep = timestep
    spec.option.integrator = mujoco.mjtIntegrator.mjINT_IMPLICITFAST
    for geom in spec.geoms:
        if geom.contype or geom.conaffinity:  # a collision geom: touches the floor only
            geom.contype, geom.conaffinity, geom.group = 1, 0, COLLISION_GROUP
    for link in prepared.bare_links:
        _add_primitives(spec, description, link)
    if np.any(base_rpy):
        base = rpy_matrix(np.asarray(base_rpy, dtype=float))
        for body in spec.worldbody.bodies:  # the root link (or, under a "world" link, its children)
            quat, turned = np.zeros(4), np.zeros(4)
            mujoco.mju_mat2Quat(quat, base.ravel())
            mujoco.mju_mulQuat(turned, quat, np.asarray(body.quat, dtype=float))
            body.pos, body.quat = base @ np.asarray(body.pos, dtype=float), turned
    for body in spec.bodies:
        body.gravcomp = 1.0 if gravity_compensation else 0.0
    for name, (link, offset) in (sites or {}).items():
        body = spec.body(link)
        if body is None:
            raise RobotDescriptionError(f"{urdf_path}: site {name!r} is on link {link!r}, which MuJoCo did not keep")
        body.add_site(name=name, pos=list(offset), size=[0.012, 0, 0], group=SITE_GROUP, rgba=[1, 0.3, 0.1, 1])
    for joint in description.movable_joints:
        mj_joint = spec.joint(joint.name)
        mj_joint.armature = armature
        mj_joint.actgravcomp = gravity_compensation  # gravity compensation comes from the actuator...
        mj_joint.actfrclimited, mj_joint.actfrcrange = True, [-joint.effort, joint.effort]  # ...within effort
        actuator = spec.add_actuator(name=joint.name, target=joint.name, trntype=mujoco.mjtTrn.mjTRN_JOINT)
        actuator.set_to_position(kp=kp, kv=kv)
        if np.isfinite(joint.lower) and np.isfinite(joint.upper):
            actuator.ctrllimited, actuator.ctrlrange = True, [joint.lower, joint.upper]
        actuator.forcelimited, actuator.forcerange = True, [-joint.effort, joint.effort]
    lower, upper, site_pos = model_extent(_compiled(spec, urdf_path))
    if floor:
        _add_floor(spec, lower[2])
    _add_camera_and_lights(spec, lower, upper, site_pos)
    return _compiled(spec, urdf_path)


def _compiled(spec: mujoco.MjSpec, path: Path) -> mujoco.MjModel:
    try:
        return spec.compile()
    except ValueError as exc:
        raise RobotDescriptionError(
            f"MuJoCo cannot compile {path}: {exc} (check the named element of the URDF; meshes can "
            "be left out by listing no mesh_paths, they are then drawn as primitives)"
        ) from None


def model_extent(model: mujoco.MjModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The robot's bounding box (lower (3,), upper (3,), m) at its reference configuration (the
    floor left out) and its site positions (S, 3)."""
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    lo, hi = _geom_boxes(model, data)
    robot = model.geom_type != mujoco.mjtGeom.mjGEOM_PLANE
    lo, hi = lo[robot], hi[robot]
    if len(lo) == 0:
        lo = hi = data.xpos
    return lo.min(axis=0), hi.max(axis=0), data.site_xpos.copy()


def _add_primitives(spec: mujoco.MjSpec, description: RobotDescription, link: str) -> None:
    """Visual stand-ins for a link whose meshes are missing: a capsule from its origin to each
    child joint, and the ellipsoid of uniform density with the link's inertia at its centre of mass."""
    body = spec.body(link)
    visual = {"contype": 0, "conaffinity": 0, "group": 1, "rgba": list(PRIMITIVE_RGBA), "mass": 0.0, "density": 0.0}
    reach = 0.05  # the ellipsoid stays within the link's own size (vendors' inertias can be placeholders)
    for joint in description.joints.values():
        length = float(np.linalg.norm(joint.origin_xyz))
        if joint.parent == link:
            reach = max(reach, 0.6 * length)
        if joint.parent == link and length > 0.01:
            radius = float(np.clip(0.12 * length, 0.006, 0.03))
            body.add_geom(type=mujoco.mjtGeom.mjGEOM_CAPSULE, fromto=[0, 0, 0, *joint.origin_xyz], size=[radius, 0, 0], **visual)
    inertial = description.links[link].inertial
    if inertial is not None and np.any(inertial.inertia):
        moments, axes = np.linalg.eigh(inertial.inertia)
        a, b, c = moments
        semi = np.sqrt(np.maximum(2.5 / inertial.mass * np.array([b + c - a, a + c - b, a + b - c]), 0.0))
        quat = np.zeros(4)
        axes = axes * np.sign(np.linalg.det(axes))
        mujoco.mju_mat2Quat(quat, axes.ravel())
        body.add_geom(
            type=mujoco.mjtGeom.mjGEOM_ELLIPSOID, pos=list(inertial.com), quat=list(quat),
            size=list(np.clip(semi, 0.008, min(reach, 0.25))), **visual,
        )  # fmt: skip


def _add_floor(spec: mujoco.MjSpec, height: float) -> None:
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


def framing(lower: np.ndarray, upper: np.ndarray, sites: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What a view of the robot shows: centre (3,) and half extents (3,) (m, world axes) of the
    gesture space, from the robot's bounding box ``lower``/``upper`` (3,) and its skeleton points
    ``sites`` (S, 3): from the top of the robot down to below its lowest skeleton point by a
    quarter of the skeleton's height (the hands at rest), as wide as the arms can reach. Without
    sites: the whole robot."""
    if len(sites) == 0:
        return (lower + upper) / 2, (upper - lower) / 2
    span = float(np.ptp(sites[:, 2])) or float(upper[2] - lower[2])
    top, bottom = upper[2], max(lower[2], sites[:, 2].min() - span / 4)
    reach = np.max(np.abs(sites[:, 1])) + span / 2
    centre = np.array([(lower[0] + upper[0]) / 2, (lower[1] + upper[1]) / 2, (top + bottom) / 2])
    return centre, np.array([(upper[0] - lower[0]) / 2, reach, (top - bottom) / 2])


def camera_distance(half: np.ndarray, across: int, fovy: float = CAMERA_FOVY, aspect: float = 4 / 3) -> float:
    """Distance (m) from the near face of the box of half extents ``half`` (3,) at which a camera
    of vertical field of view ``fovy`` (degrees) and ``aspect`` (width / height) sees all of it:
    ``across`` is the world axis shown left-right (1 = y for the front view, 0 = x for a side
    view); the vertical is z."""
    tan = np.tan(np.radians(fovy) / 2)
    return float(1.05 * max(half[2] / tan, half[across] / (tan * aspect)))


def _add_camera_and_lights(spec: mujoco.MjSpec, lower: np.ndarray, upper: np.ndarray, sites: np.ndarray) -> None:
    # A MuJoCo camera looks along its -z axis with +y up: image right = world +y, up = world +z.
    quat = np.zeros(4)
    mujoco.mju_mat2Quat(quat, np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0]], dtype=float).ravel())
    centre, half = framing(lower, upper, sites)
    pos = centre + [half[0] + camera_distance(half, across=1), 0.0, 0.0]
    spec.worldbody.add_camera(name=FRONT_CAMERA, pos=list(pos), quat=quat, fovy=CAMERA_FOVY)
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
