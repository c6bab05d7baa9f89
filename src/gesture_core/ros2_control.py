"""ros2_control for a retargeted robot: the controllers YAML and the URDF that Gazebo loads.

Both are generated from the robot's retargeting config (``config/retarget_<robot>.yaml``, see
:mod:`gesture_core.retarget.config`) and its URDF, so the joints ros2_control drives are exactly
the joints the retargeter commands:

- :func:`controllers_yaml`: the controller manager's ``update_rate`` (the config's
  ``controller_rate_hz``), a ``joint_state_broadcaster`` and a ``joint_trajectory_controller``
  over the retargeted joints (``position`` command, ``position``/``velocity`` state interfaces).
  The same file serves Gazebo (``gz_ros2_control`` loads it) and a real ros2_control robot.
  The bundled robots ship theirs as ``config/controllers_<robot>.yaml``.
- :func:`gazebo_urdf`: the robot's URDF unchanged, plus a ``<ros2_control>`` block (hardware
  ``gz_ros2_control/GazeboSimSystem``; per retargeted joint one ``position`` command interface
  with the URDF limits, ``position`` and ``velocity`` state interfaces, the rest pose as initial
  position), the ``gz_ros2_control`` Gazebo system plugin pointing at the controllers YAML (an
  absolute path: Gazebo passes it to the controller manager as a parameter file), and a fixed
  joint from a ``world`` link, so the robot stands fixed on the ground of the world file.
- :func:`world_path`: the project's Gazebo world (``worlds/gesture.sdf``, installed by
  ``gesture_bringup``), named :data:`WORLD_NAME`.

The retargeter's ``joint_trajectory`` goes to the controller's topic interface,
:data:`TRAJECTORY_TOPIC`. Command line: ``gesture-ros2-control`` (see :func:`main`).
"""

from __future__ import annotations

import argparse
import logging
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import yaml

from .bundled import bundled_file, cache_dir
from .errors import ConfigError, GestureError, RobotDescriptionError

if TYPE_CHECKING:  # the names and files below are needed without them (bringup's graph imports this module)
    from .retarget.config import RetargetConfig
    from .robot import RobotDescription

log = logging.getLogger(__name__)

#: Controller names (node names under the controller manager) and the trajectory controller's
#: topic interface, where the retargeter's ``joint_trajectory`` is remapped to.
CONTROLLER_MANAGER = "controller_manager"
JOINT_STATE_BROADCASTER = "joint_state_broadcaster"
TRAJECTORY_CONTROLLER = "joint_trajectory_controller"
TRAJECTORY_TOPIC = f"/{TRAJECTORY_CONTROLLER}/joint_trajectory"
CONTROLLER_TYPES = {
    JOINT_STATE_BROADCASTER: "joint_state_broadcaster/JointStateBroadcaster",
    TRAJECTORY_CONTROLLER: "joint_trajectory_controller/JointTrajectoryController",
}
COMMAND_INTERFACES = ("position",)
STATE_INTERFACES = ("position", "velocity")

#: Goal tolerance (rad) per joint and time tolerance (s) of the trajectory controller's action
#: goals; path tolerances stay off (0): the retargeter's trajectories are already within limits.
GOAL_TOLERANCE = 0.05
GOAL_TIME_TOLERANCE = 0.5
#: rad/s under which the controller counts a joint as stopped at the end of a goal.
STOPPED_VELOCITY_TOLERANCE = 0.05

#: Gazebo: the hardware plugin of the ``<ros2_control>`` block and the system plugin that runs
#: the controller manager inside Gazebo.
HARDWARE_PLUGIN = "gz_ros2_control/GazeboSimSystem"
GZ_PLUGIN_FILE = "gz_ros2_control-system"
GZ_PLUGIN_NAME = "gz_ros2_control::GazeboSimROS2ControlPlugin"
#: GazeboSimSystem drives a position-commanded joint at ``gain x error x update_rate`` (rad/s): a
#: first-order lag of time constant ``1 / (gain x update_rate)``, 20 ms at 100 Hz; gains up to 1
#: do not oscillate.
POSITION_GAIN = 0.5
#: The link the robot is fixed to (URDF's convention, understood by Gazebo and MuJoCo alike).
WORLD_LINK = "world"
WORLD_JOINT = "world_joint"

#: The project's Gazebo world: file (under ``worlds/``, installed by ``gesture_bringup``) and name.
WORLD_FILE = "gesture.sdf"
WORLD_NAME = "gesture"
#: ``ros_gz_bridge parameter_bridge`` argument that brings Gazebo's clock to ROS ``/clock``.
CLOCK_BRIDGE = "/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock"

#: The controllers YAML of robot ``<robot>`` (beside its ``retarget_<robot>.yaml``).
CONTROLLERS_FILE = "controllers_{robot}.yaml"


@dataclass(frozen=True)
class ControlledRobot:
    """A robot as ros2_control drives it.

    ``joints``: the J retargeted joints, in the config's order; ``rest``: (J,) their rest pose
    (rad, as the retargeter commands it: the config's ``rest_pose`` inside the limits less the
    margin); ``update_rate_hz``: the controller manager's rate (the config's
    ``controller_rate_hz``); ``base_height``: m from the ground to the URDF's root link, so the
    robot's lowest point touches the ground at its zero configuration.
    """

    name: str
    urdf_path: Path
    config_path: Path | None
    description: RobotDescription
    joints: tuple[str, ...]
    rest: np.ndarray
    update_rate_hz: int
    base_height: float
    base_rpy: tuple[float, float, float] = (0.0, 0.0, 0.0)


def controlled_robot(cfg: RetargetConfig, urdf_path: str | Path | None = None) -> ControlledRobot:
    """The :class:`ControlledRobot` of a retargeting config and its URDF (default: the config's
    ``urdf``). Raises :class:`ConfigError` / :class:`RobotDescriptionError` naming the bad key."""
    from .retarget.config import check_against_robot, marker_sites, resolve_mesh_paths, resolve_urdf
    from .retarget.ik import Retargeter
    from .robot import load_mujoco_model, parse_urdf

    path = Path(urdf_path) if urdf_path is not None else resolve_urdf(cfg)
    description = parse_urdf(path)
    check_against_robot(cfg, description)
    model = load_mujoco_model(  # its floor lies at the robot's lowest point
        path,
        sites=marker_sites(cfg, description),
        mesh_paths=resolve_mesh_paths(cfg),
        base_rpy=cfg.base_orientation,
    )
    rest = Retargeter(cfg, description, model).rest
    uncommanded = [j for j in description.joint_names if j not in cfg.joint_names]
    if uncommanded:
        log.warning(
            "%s: movable joints %s are in no chain: ros2_control leaves them out (passive in Gazebo); "
            "add them to a chain of the config or make them fixed",
            path, uncommanded,
        )  # fmt: skip
    return ControlledRobot(
        name=description.name,
        urdf_path=path,
        config_path=cfg.source,
        description=description,
        joints=tuple(cfg.joint_names),
        rest=np.asarray(rest, dtype=np.float64),
        update_rate_hz=int(round(cfg.controller_rate_hz)),
        base_height=round(float(-model.geom("floor").pos[2]), 6),
        base_rpy=tuple(float(a) for a in cfg.base_orientation),
    )


def _num(value: float) -> str:
    """A float as URDF/YAML text: shortest round-trip form, no ``-0``."""
    return repr(float(value) + 0.0)


def _sources(robot: ControlledRobot) -> str:
    names = [p.name for p in (robot.config_path, robot.urdf_path) if p is not None]
    return " and ".join(names)


# --------------------------------------------------------------------------------------------
# Controllers YAML
# --------------------------------------------------------------------------------------------


def controllers_config(robot: ControlledRobot) -> dict[str, Any]:
    """The ros2_control parameters of ``robot``: ``{node: {"ros__parameters": {...}}}``."""
    joints = list(robot.joints)
    return {
        CONTROLLER_MANAGER: {
            "ros__parameters": {
                "update_rate": robot.update_rate_hz,
                **{name: {"type": kind} for name, kind in CONTROLLER_TYPES.items()},
            }
        },
        TRAJECTORY_CONTROLLER: {
            "ros__parameters": {
                "joints": joints,
                "command_interfaces": list(COMMAND_INTERFACES),
                "state_interfaces": list(STATE_INTERFACES),
                "allow_partial_joints_goal": False,
                "allow_nonzero_velocity_at_trajectory_end": False,
                "interpolation_method": "splines",
                "constraints": {
                    "stopped_velocity_tolerance": STOPPED_VELOCITY_TOLERANCE,
                    "goal_time": GOAL_TIME_TOLERANCE,
                    **{j: {"trajectory": 0.0, "goal": GOAL_TOLERANCE} for j in joints},
                },
            }
        },
    }


def controllers_yaml(robot: ControlledRobot) -> str:
    """:func:`controllers_config` as a commented YAML file."""
    header = (
        f"# ros2_control controllers of {robot.name}, generated by gesture-ros2-control from\n"
        f"# {_sources(robot)}: regenerate it, do not edit it.\n"
        "# Loaded by gz_ros2_control in Gazebo (sim:=gazebo) and by a real robot's ros2_control_node\n"
        "# (sim:=none). The trajectory controller takes the retargeter's trajectories on its topic\n"
        f"# {TRAJECTORY_TOPIC}; each of them names every joint and ends at\n"
        "# rest (the next one continues from there).\n"
    )
    body = yaml.safe_dump(controllers_config(robot), sort_keys=False, default_flow_style=None, width=110)
    return header + body


# --------------------------------------------------------------------------------------------
# URDF for Gazebo
# --------------------------------------------------------------------------------------------


def ros2_control_element(robot: ControlledRobot) -> ET.Element:
    """The ``<ros2_control>`` block: hardware :data:`HARDWARE_PLUGIN`; per retargeted joint a
    ``position`` command interface (``min``/``max``: the URDF limits), ``position`` (initial
    value: the rest pose) and ``velocity`` state interfaces."""
    block = ET.Element("ros2_control", name="GazeboSimSystem", type="system")
    ET.SubElement(ET.SubElement(block, "hardware"), "plugin").text = HARDWARE_PLUGIN
    for name, rest in zip(robot.joints, robot.rest):
        joint_desc = robot.description.joint(name)
        joint = ET.SubElement(block, "joint", name=name)
        command = ET.SubElement(joint, "command_interface", name="position")
        ET.SubElement(command, "param", name="min").text = _num(joint_desc.lower)
        ET.SubElement(command, "param", name="max").text = _num(joint_desc.upper)
        position = ET.SubElement(joint, "state_interface", name="position")
        ET.SubElement(position, "param", name="initial_value").text = _num(rest)
        ET.SubElement(joint, "state_interface", name="velocity")
    return block


def gazebo_plugin_element(controllers_file: str | Path) -> ET.Element:
    """``<gazebo><plugin>`` of ``gz_ros2_control``, loading the controllers YAML at
    ``controllers_file`` (made absolute: Gazebo does not know where the URDF came from)."""
    gazebo = ET.Element("gazebo")
    plugin = ET.SubElement(gazebo, "plugin", filename=GZ_PLUGIN_FILE, name=GZ_PLUGIN_NAME)
    ET.SubElement(plugin, "parameters").text = str(Path(controllers_file).absolute())
    ET.SubElement(plugin, "controller_manager_name").text = CONTROLLER_MANAGER
    ET.SubElement(plugin, "position_proportional_gain").text = _num(POSITION_GAIN)
    return gazebo


def _read_urdf_tree(path: Path) -> ET.Element:
    """The URDF's XML tree, comments kept (it was already validated by :func:`parse_urdf`)."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True))
    return ET.fromstring(path.read_text(), parser=parser)


def gazebo_urdf(robot: ControlledRobot, controllers_file: str | Path) -> str:
    """The URDF Gazebo spawns: ``robot``'s URDF unchanged plus :func:`ros2_control_element`,
    :func:`gazebo_plugin_element` and a fixed joint from a :data:`WORLD_LINK` link placing the
    root ``base_height`` m above the ground (already fixed robots, whose root is ``world``, stay
    as they are).

    Raises :class:`RobotDescriptionError` if the URDF already has a ``<ros2_control>`` block or a
    ``gz_ros2_control`` plugin (this generator would make a second one), or a ``world`` link that
    is not its root.
    """
    root = _read_urdf_tree(robot.urdf_path)
    fixed = robot.description.root == WORLD_LINK
    problem = None
    if root.find("ros2_control") is not None:
        problem = "already has a <ros2_control> block; remove it to generate one"
    elif any(p.get("name") == GZ_PLUGIN_NAME for p in root.iter("plugin")):
        problem = "already has a gz_ros2_control plugin; remove it to generate one"
    elif WORLD_LINK in robot.description.links and not fixed:
        problem = f"link {WORLD_LINK!r} is not the root; rename it"
    elif WORLD_JOINT in robot.description.joints and not fixed:
        problem = f"joint {WORLD_JOINT!r} exists; rename it"
    if problem:
        raise RobotDescriptionError(f"{robot.urdf_path}: {problem}")
    if not fixed:
        first_link = next(i for i, el in enumerate(root) if el.tag == "link")
        joint = ET.Element("joint", name=WORLD_JOINT, type="fixed")
        ET.SubElement(joint, "parent", link=WORLD_LINK)
        ET.SubElement(joint, "child", link=robot.description.root)
        ET.SubElement(
            joint, "origin", xyz=f"0 0 {_num(robot.base_height)}", rpy=" ".join(_num(a) for a in robot.base_rpy)
        )
        root[first_link:first_link] = [ET.Element("link", name=WORLD_LINK), joint]
    root.insert(0, ET.Comment(f" Gazebo version, generated by gesture-ros2-control from {_sources(robot)} "))
    root.append(ros2_control_element(robot))
    root.append(gazebo_plugin_element(controllers_file))
    ET.indent(root, space="  ")
    return '<?xml version="1.0"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def controllers_file(config_path: str | Path, robot: ControlledRobot) -> Path:
    """The controllers YAML of the robot of ``config_path``: ``controllers_<robot>.yaml`` beside the
    config when it exists (the bundled robots ship theirs), else generated from ``robot`` into the
    user's cache (``gesture_stack/ros2_control/``) and logged: what a launch needs for a robot given
    by its config alone."""
    beside = Path(config_path).parent / CONTROLLERS_FILE.format(robot=robot_name(config_path))
    if beside.is_file():
        return beside
    path = cache_dir("ros2_control") / beside.name
    text = controllers_yaml(robot)
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    log.info("%s has no %s beside it: generated %s", config_path, beside.name, path)
    return path


def world_path() -> Path:
    """The project's Gazebo world file (source tree or ``gesture_bringup``'s share)."""
    return bundled_file("worlds", WORLD_FILE, "gesture_bringup", ConfigError)


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def robot_name(config_path: str | Path) -> str:
    """``<robot>`` of a config file named ``retarget_<robot>.yaml`` (else the file's stem)."""
    return Path(config_path).stem.removeprefix("retarget_")


def _outputs(args: argparse.Namespace) -> dict[Path, str]:
    """Every file to write (path -> text)."""
    from .retarget.config import read_config

    out: dict[Path, str] = {}
    for config in args.configs:
        cfg = read_config(config)
        robot = controlled_robot(cfg, args.urdf)
        folder = Path(args.out_dir) if args.out_dir else Path(config).parent
        controllers = folder / CONTROLLERS_FILE.format(robot=robot_name(config))
        out[controllers] = controllers_yaml(robot)
        if args.gazebo_urdf:
            out[Path(args.gazebo_urdf)] = gazebo_urdf(robot, controllers)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gesture-ros2-control",
        description=(
            "Write the ros2_control controllers YAML (controllers_<robot>.yaml, beside the config unless "
            "--out-dir) of each retargeting config (retarget_<robot>.yaml), and optionally the URDF "
            "for Gazebo (the robot plus its <ros2_control> block and the gz_ros2_control plugin). "
            "Regenerate the bundled robots' files with: gesture-ros2-control config/retarget_*.yaml"
        ),
    )
    add = parser.add_argument
    add("configs", nargs="+", metavar="CONFIG", help="retargeting config(s), retarget_<robot>.yaml")
    add("--urdf", help="the robot's URDF (default: the config's urdf); one CONFIG only")
    add("--out-dir", help="folder of the controllers YAML (default: the config's folder)")
    add("--gazebo-urdf", metavar="FILE", help="also write the URDF for Gazebo here; one CONFIG only")
    add("--check", action="store_true", help="write nothing; exit 1 if a file differs from what it would be")
    args = parser.parse_args(argv)
    if len(args.configs) > 1 and (args.urdf or args.gazebo_urdf):
        parser.error("--urdf and --gazebo-urdf take one CONFIG")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        outputs = _outputs(args)
    except GestureError as exc:
        parser.exit(1, f"error: {exc}\n")
    if args.check:
        stale = [p for p, text in outputs.items() if not p.is_file() or p.read_text() != text]
        for path in stale:
            print(f"out of date: {path}", file=sys.stderr)
        return 1 if stale else 0
    for path, text in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
