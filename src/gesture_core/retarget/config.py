"""The robot config: YAML (``config/retarget_*.yaml``, or a user's file) loaded into validated
dataclasses. It is everything the project needs to know about a robot besides its URDF, which it
names and which stays untouched: where the TED skeleton points sit, which joints each chain moves,
the rest pose, limits, rates.

Every error is a :class:`ConfigError` whose message starts with the path of the bad key, e.g.
``chains.left_arm.joints[2]: unknown joint 'l_elbo_roll'``, and says what would fix it.
:func:`load_config` checks the file's structure (missing, unknown and wrongly typed keys), the
value ranges, and then the names it uses against the robot's URDF (joints, links, limits).

A file looks like ``config/retarget_humanoid.yaml``; its keys are the fields of
:class:`RetargetConfig` (documented there) and of the nested dataclasses.
"""

from __future__ import annotations

import dataclasses
import difflib
import logging
import math
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import skeleton
from .. import retarget_ranges as R
from ..bundled import bundled_file, resolve
from ..errors import ConfigError, GestureError
from ..robot import RobotDescription, parse_urdf
from .safety import JointLimits

log = logging.getLogger(__name__)

#: Name of the MuJoCo site of TED joint ``j``: ``SITE_PREFIX + j``.
SITE_PREFIX = "ted_point_"


@dataclass(frozen=True)
class MarkerConfig:
    """Where a TED skeleton point sits on the robot: on ``link`` (its frame's origin), or at the
    origin of ``joint`` (the frame of its child link), plus ``offset`` (3,) m in that link's frame.

    In YAML either a mapping (``{link: l_upper_arm, offset: [0, 0, -0.1]}``, ``{joint:
    LElbowRoll}``) or a plain link name (``ted_left_elbow``).
    """

    link: str = ""
    joint: str = ""
    offset: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])

    #: The key a plain string in YAML stands for.
    shorthand = "link"

    def __post_init__(self) -> None:
        if bool(self.link) == bool(self.joint):
            raise ConfigError("give either link or joint (one of them)")
        if len(self.offset) != 3 or not all(math.isfinite(v) and abs(v) <= 2.0 for v in self.offset):
            raise ConfigError(f"offset: {self.offset!r} is not 3 numbers within 2 m")


@dataclass(frozen=True)
class ChainConfig:
    """One kinematic chain solved on its own: its robot ``joints`` (in order) and the TED ``bones``
    whose directions it matches, with a weight each (e.g. ``{left_upper_arm: 1.0, left_forearm: 1.0}``)."""

    joints: list[str]
    bones: dict[str, float]


@dataclass(frozen=True)
class IKConfig:
    """Damped least squares on bone-direction errors, per frame (see :mod:`.ik`).

    - ``iterations``: Gauss-Newton steps at most per frame; ``tolerance``: stop when no joint moves
      more than this (rad) in a step.
    - ``damping``: Levenberg-Marquardt damping of each step (dimensionless, on unit-vector errors).
    - ``rest_weight``: weight of the pull towards the rest pose (resolves redundancy and
      singularities; small, so it barely biases reachable directions).
    - ``retry_error``: when a chain's worst bone error (chord length, ~rad) is above this, the
      chain is re-solved from ``restarts`` other postures (escapes local minima), at most once per
      ``retry_interval`` frames.
    """

    iterations: int = 30
    tolerance: float = 1e-4
    damping: float = 1e-3
    rest_weight: float = 1e-4
    retry_error: float = 0.1
    restarts: int = 6
    retry_interval: int = 15


@dataclass(frozen=True)
class LimitsConfig:
    """How the safety stage derives its limits from the URDF.

    - ``margin``: rad kept clear of each position limit.
    - ``position``: joint -> ``[lower, upper]`` rad, narrower position limits than the URDF's
      (e.g. an elbow that the URDF lets hyperextend: keep the IK on one side of straight).
    - ``velocity``: joint -> rad/s, a lower velocity limit than the URDF's (vendors' placeholders
      such as 50000 rad/s).
    - ``velocity_scale``: fraction of the velocity limits allowed.
    - ``acceleration``: rad/s^2 for every joint (URDF has no acceleration limits), overridden per
      joint by ``acceleration_per_joint``; all multiplied by ``acceleration_scale``.
    """

    margin: float = 0.05
    position: dict[str, list[float]] = field(default_factory=dict)
    velocity: dict[str, float] = field(default_factory=dict)
    velocity_scale: float = 0.8
    acceleration: float = 15.0
    acceleration_per_joint: dict[str, float] = field(default_factory=dict)
    acceleration_scale: float = 1.0


@dataclass(frozen=True)
class RetargetConfig:
    """Everything the retargeter and the safety stage need for one robot.

    - ``urdf``: the robot's URDF, used as it is: absolute, ``package://<package>/<path>``, or
      relative to this file (see :func:`resolve_urdf`).
    - ``mesh_paths``: extra folders or ``.zip`` archives where the URDF's mesh files are looked
      for (same forms as ``urdf``); meshes found nowhere are drawn as primitives.
    - ``markers``: TED joint name (``skeleton.JOINTS``) -> :class:`MarkerConfig` (a link plus an
      offset, or a joint's origin); every bone of a chain needs both its ends here. They become
      sites of the project's MuJoCo model, not links of the URDF.
    - ``chains``: name -> :class:`ChainConfig`; chains use disjoint joints and disjoint bones.
      Joints outside every chain (legs, fingers, wheels) are never commanded: the simulation holds
      them at their rest value.
    - ``rest_pose``: joint -> rad, for any movable joint; joints left out rest at 0 (or the
      nearest limit).
    - ``base_orientation``: roll, pitch, yaw (rad) turning the root link so that the robot faces
      +x with z up (REP-103), for URDFs whose root frame does not (iCub's looks backwards: yaw pi).
    - ``amplitude_scale``: scale of the human motion around the TED mean pose (1 = as generated).
    - ``smoothing_cutoff_hz``: low-pass cutoff of the safety stage; ``controller_rate_hz``: rate of
      the output trajectory; ``join_time``: s to blend in from the current commanded state;
      ``rest_hold_time``: s to hold the last commanded posture before returning to rest;
      ``rest_blend_time``: s to return to the rest pose when gestures stop.
    - ``speed_scale``: extra scale (<= 1) of the velocity limits, its square of the acceleration
      limits (as if the motion were slowed down in time).
    """

    urdf: str
    markers: dict[str, MarkerConfig]
    chains: dict[str, ChainConfig]
    rest_pose: dict[str, float] = field(default_factory=dict)
    mesh_paths: list[str] = field(default_factory=list)
    base_orientation: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    amplitude_scale: float = 1.0
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    ik: IKConfig = field(default_factory=IKConfig)
    smoothing_cutoff_hz: float = 4.0
    controller_rate_hz: float = 100.0
    join_time: float = 0.5
    rest_hold_time: float = 0.5
    rest_blend_time: float = 1.5
    speed_scale: float = 1.0
    #: Where the file was loaded from (not a YAML key); relative ``urdf`` paths resolve against it.
    source: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        _in_range("amplitude_scale", self.amplitude_scale, *R.AMPLITUDE_SCALE)
        _in_range("controller_rate_hz", self.controller_rate_hz, *R.CONTROLLER_RATE_HZ)
        cutoff_hi = min(R.SMOOTHING_CUTOFF_HZ[1], 0.45 * self.controller_rate_hz)
        _in_range("smoothing_cutoff_hz", self.smoothing_cutoff_hz, R.SMOOTHING_CUTOFF_HZ[0], cutoff_hi)
        _in_range("join_time", self.join_time, *R.JOIN_TIME_S)
        _in_range("rest_hold_time", self.rest_hold_time, *R.REST_HOLD_TIME_S)
        _in_range("rest_blend_time", self.rest_blend_time, *R.REST_BLEND_TIME_S)
        _in_range("speed_scale", self.speed_scale, *R.SPEED_SCALE)
        _in_range("limits.margin", self.limits.margin, *R.LIMIT_MARGIN_RAD)
        _in_range("limits.velocity_scale", self.limits.velocity_scale, 0.01, 1.0)
        _in_range("limits.acceleration", self.limits.acceleration, 0.1, 1000.0)
        _in_range("limits.acceleration_scale", self.limits.acceleration_scale, 0.01, 1.0)
        for joint, value in self.limits.acceleration_per_joint.items():
            _in_range(f"limits.acceleration_per_joint.{joint}", value, 0.1, 1000.0)
        if len(self.base_orientation) != 3:
            raise ConfigError(f"base_orientation: expected [roll, pitch, yaw] in rad, got {self.base_orientation!r}")
        for i, angle in enumerate(self.base_orientation):
            _in_range(f"base_orientation[{i}]", angle, -2 * math.pi, 2 * math.pi)
        for joint, value in self.limits.velocity.items():
            _in_range(f"limits.velocity.{joint}", value, 1e-3, 100.0)
        for joint, bounds in self.limits.position.items():
            key = f"limits.position.{joint}"
            if len(bounds) != 2:
                raise ConfigError(f"{key}: expected [lower, upper] in rad, got {bounds!r}")
            _in_range(f"{key}[0]", bounds[0], -4 * math.pi, 4 * math.pi)
            _in_range(f"{key}[1]", bounds[1], -4 * math.pi, 4 * math.pi)
            if not bounds[0] < bounds[1]:
                raise ConfigError(f"{key}: lower {bounds[0]} is not below upper {bounds[1]}; swap them")
        _in_range("ik.iterations", self.ik.iterations, 1, 1000)
        _in_range("ik.tolerance", self.ik.tolerance, 1e-12, 0.1)
        _in_range("ik.damping", self.ik.damping, 0.0, 10.0)
        _in_range("ik.rest_weight", self.ik.rest_weight, 0.0, 10.0)
        _in_range("ik.retry_error", self.ik.retry_error, 0.0, 2.0)
        _in_range("ik.restarts", self.ik.restarts, 0, 50)
        _in_range("ik.retry_interval", self.ik.retry_interval, 1, 10_000)
        for joint, value in self.rest_pose.items():
            _in_range(f"rest_pose.{joint}", value, -2 * math.pi, 2 * math.pi)
        for ted_joint in self.markers:
            if ted_joint not in skeleton.JOINTS:
                raise ConfigError(f"markers.{ted_joint}: not a TED joint (one of {', '.join(skeleton.JOINTS)})")
        if not self.chains:
            raise ConfigError("chains: at least one chain is needed")
        seen_joints: dict[str, str] = {}
        seen_bones: dict[str, str] = {}
        for name, chain in self.chains.items():
            if not chain.joints:
                raise ConfigError(f"chains.{name}.joints: empty")
            if not chain.bones:
                raise ConfigError(f"chains.{name}.bones: empty")
            for i, joint in enumerate(chain.joints):
                if joint in seen_joints:
                    raise ConfigError(f"chains.{name}.joints[{i}]: {joint!r} is already in chain {seen_joints[joint]!r}")
                seen_joints[joint] = name
            for bone, weight in chain.bones.items():
                key = f"chains.{name}.bones.{bone}"
                if bone not in skeleton.BONE_NAMES:
                    raise ConfigError(f"{key}: not a TED bone (one of {', '.join(skeleton.BONE_NAMES)})")
                if bone in seen_bones:
                    raise ConfigError(f"{key}: already matched by chain {seen_bones[bone]!r}")
                seen_bones[bone] = name
                _in_range(key, weight, 1e-3, 100.0)
                parent, child = skeleton.BONES[skeleton.BONE_NAMES.index(bone)]
                for end in (skeleton.JOINTS[parent], skeleton.JOINTS[child]):
                    if end not in self.markers:
                        raise ConfigError(f"{key}: needs a marker for TED joint {end!r} under markers")

    @property
    def joint_names(self) -> list[str]:
        """Every retargeted joint, chain by chain: the column order of joint arrays."""
        return [j for chain in self.chains.values() for j in chain.joints]

    def with_overrides(self, **changes: Any) -> RetargetConfig:
        """A copy with top-level fields (``amplitude_scale=...``) or limits fields
        (``limits_margin=...``) changed, validated again."""
        limits = {k.removeprefix("limits_"): v for k, v in changes.items() if k.startswith("limits_")}
        top = {k: v for k, v in changes.items() if not k.startswith("limits_")}
        unknown = set(top) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"{sorted(unknown)[0]}: not a retarget setting")
        try:
            new_limits = dataclasses.replace(self.limits, **limits)
        except TypeError:
            raise ConfigError(f"limits: unknown setting among {sorted(limits)}") from None
        return dataclasses.replace(self, limits=new_limits, **top)


def _in_range(key: str, value: float, lo: float, hi: float) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and lo <= value <= hi):
        raise ConfigError(f"{key}: {value!r} outside [{lo:g}, {hi:g}]")


# ------------------------------------------------------------------------------------------------
# Loading: YAML -> dataclasses, with the key path in every error
# ------------------------------------------------------------------------------------------------


def _convert(value: Any, kind: Any, key: str) -> Any:
    """``value`` checked against the annotation ``kind`` (float, int, str, list[T], dict[str, T],
    a dataclass), converted where lossless (int -> float)."""
    origin = typing.get_origin(kind)
    if dataclasses.is_dataclass(kind):
        if isinstance(value, str) and hasattr(kind, "shorthand"):
            value = {kind.shorthand: value}
        return _build(kind, value, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {type(value).__name__}")
        (item,) = typing.get_args(kind)
        return [_convert(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        _, item = typing.get_args(kind)
        for k in value:
            if not isinstance(k, str):
                raise ConfigError(f"{key}: key {k!r} is not a string")
        return {k: _convert(v, item, f"{key}.{k}") for k, v in value.items()}
    if kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{key}: expected a number, got {value!r}")
        return float(value)
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if kind is str:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{key}: expected a non-empty string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported setting type {kind}")  # a bug in this module


def _build(cls: type, data: Any, prefix: str) -> Any:
    """Build dataclass ``cls`` from a YAML mapping; missing/unknown/mistyped keys name their path."""
    where = prefix or "the top level"
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name != "source"}
    for key in data:
        if key not in fields:
            raise ConfigError(f"{prefix + '.' if prefix else ''}{key}: unknown key (known: {', '.join(fields)})")
    kwargs = {}
    for name, f in fields.items():
        key = f"{prefix}.{name}" if prefix else name
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ConfigError(f"{key}: missing")
            continue
        kind = hints[name]
        if isinstance(kind, types.UnionType):  # "X | None": only the X part is a YAML value
            kind = next(a for a in typing.get_args(kind) if a is not type(None))
        kwargs[name] = _convert(data[name], kind, key)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(f"{prefix}: {exc}" if prefix else str(exc)) from None


def config_from_dict(data: Any, source: Path | None = None) -> RetargetConfig:
    """A :class:`RetargetConfig` from an already-parsed YAML mapping (structure and ranges checked,
    names not yet checked against the robot: see :func:`check_against_robot`)."""
    cfg = _build(RetargetConfig, data, "")
    return dataclasses.replace(cfg, source=source) if source is not None else cfg


def resolve_urdf(cfg: RetargetConfig) -> Path:
    """The URDF file of ``cfg``: absolute, ``package://<package>/<path>``, or relative to the
    config file (see :func:`gesture_core.bundled.resolve`)."""
    base = cfg.source.resolve().parent if cfg.source is not None else None
    return resolve(
        cfg.urdf, base, ConfigError, "urdf",
        fix="give an absolute path, package://<package>/<path>, or a path relative to the config file",
    )  # fmt: skip


def resolve_mesh_paths(cfg: RetargetConfig) -> list[Path]:
    """The folders and archives of ``cfg.mesh_paths`` that exist (missing ones are logged: the
    meshes they would hold are then drawn as primitives)."""
    base = cfg.source.resolve().parent if cfg.source is not None else None
    found = []
    for i, ref in enumerate(cfg.mesh_paths):
        try:
            found.append(resolve(ref, base, ConfigError, f"mesh_paths[{i}]", directory=not ref.endswith(".zip")))
        except ConfigError as exc:
            log.info("%s (its meshes are drawn as primitives if found nowhere else)", exc)
    return found


def _suggest(name: str, known: typing.Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
    return f" (did you mean {', '.join(map(repr, close))}?)" if close else ""


def marker_sites(cfg: RetargetConfig, robot: RobotDescription) -> dict[str, tuple[str, list[float]]]:
    """The MuJoCo sites of the skeleton points: site name (``SITE_PREFIX + TED joint``) -> (link,
    offset (3,) m in the link frame). A joint marker sits at the origin of the joint's child link."""
    sites = {}
    for ted, marker in cfg.markers.items():
        link = marker.link or robot.joint(marker.joint).child
        sites[SITE_PREFIX + ted] = (link, list(marker.offset))
    return sites


def position_limits(cfg: RetargetConfig, robot: RobotDescription, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Position limits (lower, upper), each (J,), of joints ``names``: the URDF's, narrowed by
    ``limits.position`` (no margin applied)."""
    lower, upper = robot.limits(names)
    for i, name in enumerate(names):
        if name in cfg.limits.position:
            lower[i], upper[i] = cfg.limits.position[name]
    return lower, upper


def velocity_limits(cfg: RetargetConfig, robot: RobotDescription, names: list[str]) -> np.ndarray:
    """Velocity limits (J,) rad/s of joints ``names``: the URDF's, lowered by ``limits.velocity``
    (no scales applied)."""
    return np.array([cfg.limits.velocity.get(n, robot.joint(n).velocity) for n in names])


def rest_positions(cfg: RetargetConfig, robot: RobotDescription) -> dict[str, float]:
    """Rest value (rad or m) of every movable joint of the robot: ``rest_pose``, else 0 moved
    inside the joint's limits by the margin (at most a quarter of its range: a servo holding a
    joint exactly at its limit sags past it). For joints outside the chains this is what the
    simulation holds them at."""
    rest = {}
    for joint in robot.movable_joints:
        (lo,), (hi,) = position_limits(cfg, robot, [joint.name])
        if joint.name in cfg.rest_pose:
            rest[joint.name] = float(np.clip(cfg.rest_pose[joint.name], lo, hi))
        else:
            pad = min(cfg.limits.margin, (hi - lo) / 4) if np.isfinite(hi - lo) else 0.0
            rest[joint.name] = float(np.clip(0.0, lo + pad, hi - pad))
    return rest


def check_against_robot(cfg: RetargetConfig, robot: RobotDescription) -> None:
    """Check every name ``cfg`` uses against the robot (joints, marker links and joints) and the
    rest pose, position limits and margin against its joint limits."""
    joints = {j.name: (j.lower, j.upper) for j in robot.movable_joints}
    for name, chain in cfg.chains.items():
        for i, joint in enumerate(chain.joints):
            if joint not in joints:
                raise ConfigError(f"chains.{name}.joints[{i}]: unknown joint {joint!r}{_suggest(joint, joints)}")
    for ted_joint, marker in cfg.markers.items():
        if marker.link and marker.link not in robot.links:
            raise ConfigError(
                f"markers.{ted_joint}.link: unknown link {marker.link!r}{_suggest(marker.link, robot.links)}; "
                "give a link of the URDF (run gesture-robot init URDF for a draft)"
            )
        if marker.joint and marker.joint not in robot.joints:
            raise ConfigError(
                f"markers.{ted_joint}.joint: unknown joint {marker.joint!r}{_suggest(marker.joint, robot.joints)}"
            )
    used = set(cfg.joint_names)
    for joint in cfg.limits.acceleration_per_joint:
        if joint not in used:
            raise ConfigError(f"limits.acceleration_per_joint.{joint}: not a joint of any chain")
    sections = (("rest_pose", cfg.rest_pose), ("limits.position", cfg.limits.position), ("limits.velocity", cfg.limits.velocity))
    for section, mapping in sections:
        for joint in mapping:
            if joint not in joints:
                raise ConfigError(f"{section}.{joint}: not a movable joint of the robot{_suggest(joint, joints)}")
    for joint, (lo, hi) in cfg.limits.position.items():
        urdf_lo, urdf_hi = joints[joint]
        if lo < urdf_lo - 1e-9 or hi > urdf_hi + 1e-9:
            raise ConfigError(
                f"limits.position.{joint}: [{lo}, {hi}] is wider than the URDF's [{urdf_lo}, {urdf_hi}]; "
                "it may only narrow them"
            )
    for joint, velocity in cfg.limits.velocity.items():
        if velocity > robot.joint(joint).velocity:
            raise ConfigError(
                f"limits.velocity.{joint}: {velocity} rad/s is above the URDF's {robot.joint(joint).velocity}; "
                "it may only lower it"
            )
    margin = cfg.limits.margin
    for joint in cfg.joint_names:
        (lo,), (hi,) = position_limits(cfg, robot, [joint])
        if not (np.isfinite(lo) and np.isfinite(hi)):
            raise ConfigError(
                f"limits.position.{joint}: joint {joint!r} is continuous (no position limits); give it a "
                "[lower, upper] range here to retarget it"
            )
        if hi - lo <= 2 * margin:
            raise ConfigError(
                f"limits.margin: {margin} leaves joint {joint!r} ([{lo}, {hi}]) no range; "
                f"lower the margin below {(hi - lo) / 2:.3f} or widen limits.position.{joint}"
            )
    for joint, angle in cfg.rest_pose.items():
        (lo,), (hi,) = position_limits(cfg, robot, [joint])
        pad = margin if joint in used else 0.0
        if not lo + pad <= angle <= hi - pad:
            raise ConfigError(
                f"rest_pose.{joint}: {angle} outside the joint's limits [{lo}, {hi}]"
                + (f" less the margin {margin}" if pad else "")
            )


def safety_limits(cfg: RetargetConfig, robot: RobotDescription) -> JointLimits:
    """The limits the safety stage enforces on ``cfg.joint_names``: position limits (URDF, narrowed
    by ``limits.position``) less the margin, velocity (URDF, lowered by ``limits.velocity``) x ``velocity_scale`` x ``speed_scale``, and the configured acceleration
    x ``acceleration_scale`` x ``speed_scale^2``."""
    names = cfg.joint_names
    lower, upper = position_limits(cfg, robot, names)
    velocity = velocity_limits(cfg, robot, names) * cfg.limits.velocity_scale * cfg.speed_scale
    accel = np.array([cfg.limits.acceleration_per_joint.get(n, cfg.limits.acceleration) for n in names])
    accel = accel * cfg.limits.acceleration_scale * cfg.speed_scale**2
    margin = cfg.limits.margin
    return JointLimits(tuple(names), lower + margin, upper - margin, velocity, accel)


def default_config_path(name: str = "retarget_humanoid.yaml") -> Path:
    """A bundled retarget config (``config/<name>`` of the source tree or of ``gesture_bringup``)."""
    return bundled_file("config", name, "gesture_bringup", ConfigError)


def load_config(path: str | Path) -> RetargetConfig:
    """Load a robot config and validate it completely, against its robot's URDF too."""
    cfg = read_config(path)
    try:
        urdf = resolve_urdf(cfg)
        robot = parse_urdf(urdf)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    except GestureError as exc:  # the URDF itself is bad
        raise ConfigError(f"{path}: urdf: {exc}") from None
    try:
        check_against_robot(cfg, robot)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    return cfg


def read_config(path: str | Path) -> RetargetConfig:
    """Parse and structurally validate a retarget YAML file (no robot needed)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path}: not valid YAML: {exc}") from None
    try:
        return config_from_dict(data, source=path)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None
