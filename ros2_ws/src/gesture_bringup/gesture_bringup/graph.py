"""The node graph of the gesture stack, defined once.

Both ``launch/robot.launch.py`` (``ros2 launch gesture_bringup robot.launch.py`` on a full ROS 2
install) and ``gesture-bringup`` (any machine) start what :func:`plan` returns for the arguments of
:data:`ARGUMENTS`: the nodes (:func:`build_graph`) and, per node, its parameters, exactly as the
launch file passes them to ``launch_ros`` (the graph's parameter file ``config/gesture.yaml`` for
the project's nodes, then the values that arguments decide). :func:`ros_arguments` is the command
line ``launch_ros`` gives a node, so anything can start the same processes without ``launch``.

::

    speech/say ──> speech_source ──speech/utterance, speech/audio, speech/words──┐
                                                                                  ├─> asr ──speech/words──┐
                                                                                  ├─> audio_features ─────┤ speech/features
                                                                                  └─> gesture_generator <─┘
    gesture_generator ──gesture/human_pose──> retarget ──joint_trajectory──> the robot (sim:=...)
    robot_description: robot_state_publisher where installed, else the project's robot_description node
    recorder: every topic -> MCAP

``sim`` chooses what executes the trajectories:

- ``mujoco`` (default): the project's MuJoCo simulation ``mujoco_sim`` (``joint_states``, ``/clock``,
  ``sim/image``);
- ``gazebo``: Gazebo Harmonic (``ros_gz_sim gzserver`` with ``worlds/gesture.sdf``), the robot
  spawned from ``robot_description`` (its URDF plus the generated ``<ros2_control>`` block and
  ``gz_ros2_control`` plugin: :func:`gesture_core.ros2_control.gazebo_urdf`), ``/clock`` bridged
  from Gazebo, ``joint_state_broadcaster`` and ``joint_trajectory_controller`` spawned, every
  node on sim time, the retargeter's output remapped to the controller's topic;
- ``none``: a real robot: ``ros2_control_node`` (where ``controller_manager`` is installed) with the
  robot's controllers YAML on the robot's URDF, the same controllers spawned, the same remapping.

With ``gazebo`` and ``none`` the ``trajectory_watchdog`` runs beside the controller (same remapping):
JTC holds its last point when the retargeter dies; the watchdog sends it the rest pose.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from gesture_core import contracts as c
from gesture_core import ros2_control as rc
from gesture_core.bundled import DEFAULT_ROBOT, ROBOTS, bundled_file
from gesture_core.errors import ConfigError
from gesture_core.models.registry import backends
from gesture_core.node_settings import GeneratorSettings, SimSettings, SpeechSourceSettings
from gesture_core.settings import specs

log = logging.getLogger("gesture_bringup")

#: The package that owns the project's node executables.
NODE_PACKAGE = "gesture_ros"
#: What executes the trajectories (the launch argument ``sim``); the first is the default.
SIM_MODES = ("mujoco", "gazebo", "none")
#: Seconds the controller spawner waits for the controller manager (Gazebo loads it with the robot).
CONTROLLER_MANAGER_TIMEOUT_S = 120
#: ROS packages each ``sim`` mode needs besides the project's (a full ROS 2 install provides them;
#: gesture_bringup's ``package.xml`` declares them as ``exec_depend``, so rosdep installs them).
SIM_PACKAGES = {
    "gazebo": (
        "ros_gz_sim", "ros_gz_bridge", "gz_ros2_control", "controller_manager", "joint_state_broadcaster",
        "joint_trajectory_controller", "robot_state_publisher",
    ),
}  # fmt: skip


@dataclass(frozen=True)
class Argument:
    """A launch argument (``name:=value``) that is also a ``gesture-bringup --name value`` option."""

    name: str
    default: str
    description: str
    choices: tuple[str, ...] | None = None


def _from_setting(name: str, cls: type, field: str, default: str | None = None, choices: tuple | None = None) -> Argument:
    """The argument that sets node setting ``cls.field``: its description, default and choices
    come from the setting (``default`` / ``choices`` where the graph's differ)."""
    item = next(i for i in specs(cls) if i.name == field)
    value = item.default if default is None else default
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    if choices is None and isinstance(item.default, bool):
        choices = ("true", "false")
    elif choices is None and item.spec.choices is not None:
        choices = tuple(map(str, item.spec.choices))
    return Argument(name, text, item.spec.description, choices)


#: Every argument of the graph, in the order ``--help`` shows them. Those that set a node parameter
#: are derived from its setting (gesture_core.node_settings); the robot names are gesture_core.bundled.ROBOTS.
ARGUMENTS: tuple[Argument, ...] = (
    _from_setting("input", SpeechSourceSettings, "mode"),
    _from_setting("backend", GeneratorSettings, "backend", choices=tuple(backends())),
    _from_setting("checkpoint", GeneratorSettings, "checkpoint"),
    Argument("robot", "", f"robot: a bundled name (config/retarget_<robot>.yaml: {', '.join(ROBOTS)}) or the path "
             "of a robot config (.yaml); empty: the nodes' config_file (params file, else "
             f"{DEFAULT_ROBOT})"),
    Argument("sim", SIM_MODES[0], "what executes the trajectories: mujoco (the MuJoCo simulation), gazebo "
             "(Gazebo Harmonic + ros2_control, full ROS 2 installs), none (a real robot's ros2_control)", SIM_MODES),
    _from_setting("render", SimSettings, "render", default="true"),
    _from_setting("viewer", SimSettings, "viewer"),
    Argument("record", "", "directory for the MCAP recording of every topic (empty: no recording)"),
    Argument("params_file", "", "parameter file (empty: config/gesture.yaml of gesture_bringup)"),
)  # fmt: skip


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph: ``executable`` of ``package``, started as node ``name``.

    The project's nodes (``package`` :data:`NODE_PACKAGE`) have a ``module`` (what runs behind the
    console script, so that ``gesture-bringup`` can start them with this interpreter where no
    workspace is sourced), read the graph's parameter file (``params_file``) and have
    ``arg_params``: node parameter -> the argument that sets it. ``arguments`` come before
    ``--ros-args`` on the command line.
    """

    name: str
    executable: str
    module: str | None = None
    arg_params: dict[str, str] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()
    package: str = NODE_PACKAGE
    arguments: tuple[str, ...] = ()
    params_file: bool = True
    transient: bool = False


@dataclass(frozen=True)
class Process:
    """A node with its parameters, in ``launch_ros`` order: parameter files (paths) and values (dicts)."""

    spec: NodeSpec
    parameters: tuple[Path | dict[str, Any], ...]


def ros_package_installed(package: str) -> bool:
    """Whether ``package`` is in the ament index (a sourced ROS 2 install or workspace)."""
    try:
        from ament_index_python.packages import get_package_prefix

        get_package_prefix(package)
    except (ImportError, LookupError, ValueError, OSError):
        return False
    return True


def missing_packages(args: dict[str, str], installed: Callable[[str], bool] = ros_package_installed) -> list[str]:
    """The ROS packages that ``sim:=<args["sim"]>`` needs and this machine lacks."""
    return [p for p in SIM_PACKAGES.get(args["sim"], ()) if not installed(p)]


def trajectory_topic(args: dict[str, str]) -> str:
    """Where the retargeter's ``joint_trajectory`` goes: MuJoCo's input, else the ros2_control
    ``joint_trajectory_controller``'s topic interface."""
    return c.JOINT_TRAJECTORY.name if args["sim"] == "mujoco" else rc.TRAJECTORY_TOPIC


def _spawner() -> NodeSpec:
    return NodeSpec(
        "controller_spawner", "spawner", package="controller_manager", params_file=False, transient=True,
        arguments=(rc.JOINT_STATE_BROADCASTER, rc.TRAJECTORY_CONTROLLER, "-c", f"/{rc.CONTROLLER_MANAGER}",
                   "--controller-manager-timeout", str(CONTROLLER_MANAGER_TIMEOUT_S)),
    )  # fmt: skip


def build_graph(args: dict[str, str], installed: Callable[[str], bool] = ros_package_installed) -> list[NodeSpec]:
    """The nodes to start for ``args`` (argument name -> value, defaults filled in); ``installed``
    tells which ROS packages exist (robot_state_publisher, controller_manager)."""
    sim = args["sim"]
    to_robot = () if sim == "mujoco" else ((c.JOINT_TRAJECTORY.name, rc.TRAJECTORY_TOPIC),)
    nodes = [
        NodeSpec("speech_source", "speech_source", "gesture_ros.speech_source_node", {"mode": "input"}),
        NodeSpec("asr", "asr", "gesture_ros.asr_node"),
        NodeSpec("audio_features", "audio_features", "gesture_ros.audio_features_node"),
        NodeSpec("gesture_generator", "gesture_generator", "gesture_ros.generator_node",
                 {"backend": "backend", "checkpoint": "checkpoint"}),
        NodeSpec("retarget", "retarget", "gesture_ros.retarget_node", {"config_file": "robot"}, to_robot),
    ]  # fmt: skip
    if sim == "mujoco":
        nodes.append(NodeSpec("mujoco_sim", "mujoco_sim", "gesture_ros.sim_node",
                              {"config_file": "robot", "render": "render", "viewer": "viewer"}))  # fmt: skip
    if sim == "gazebo" or installed("robot_state_publisher"):
        nodes.append(NodeSpec("robot_state_publisher", "robot_state_publisher", package="robot_state_publisher",
                              params_file=False))  # fmt: skip
    else:
        nodes.append(NodeSpec("robot_description", "robot_description", "gesture_ros.description_node",
                              {"config_file": "robot"}))  # fmt: skip
    if sim == "gazebo":
        nodes += [
            NodeSpec("gazebo", "gzserver", package="ros_gz_sim", params_file=False),
            NodeSpec("clock_bridge", "parameter_bridge", package="ros_gz_bridge", params_file=False,
                     arguments=(rc.CLOCK_BRIDGE,)),
            NodeSpec("spawn_robot", "create", package="ros_gz_sim", params_file=False, transient=True,
                     arguments=("-world", rc.WORLD_NAME, "-topic", c.ROBOT_DESCRIPTION.name,
                                "-name", rc.robot_name(robot_config(args)))),
            _spawner(),
        ]  # fmt: skip
    if sim != "mujoco":  # JTC holds its last point when the retargeter dies: the watchdog rests the robot
        nodes.append(NodeSpec("trajectory_watchdog", "trajectory_watchdog", "gesture_ros.watchdog_node",
                              {"config_file": "robot"}, to_robot))  # fmt: skip
    if sim == "none" and installed("controller_manager"):
        nodes += [
            NodeSpec(rc.CONTROLLER_MANAGER, "ros2_control_node", package="controller_manager", params_file=False),
            _spawner(),
        ]
    if args["record"]:
        nodes.append(NodeSpec("recorder", "recorder", "gesture_ros.recorder_node", {"output_dir": "record"}))
    return nodes


def with_defaults(args: dict[str, str]) -> dict[str, str]:
    """``args`` with every missing argument set to its default; unknown names raise ValueError."""
    known = {a.name: a for a in ARGUMENTS}
    unknown = set(args) - set(known)
    if unknown:
        raise ValueError(f"unknown argument(s): {', '.join(sorted(unknown))}")
    full = {a.name: a.default for a in ARGUMENTS} | dict(args)
    for name, value in full.items():
        choices = known[name].choices
        if choices and value not in choices:
            raise ValueError(f"argument {name}:={value!r} is not one of {list(choices)}")
    return full


def robot_config_file(robot: str) -> Path:
    """The robot config that the ``robot`` argument names: a path (it ends in ``.yaml``/``.yml`` or
    contains a ``/``; made absolute) or a bundled name (``config/retarget_<robot>.yaml`` of
    gesture_bringup)."""
    if robot.endswith((".yaml", ".yml")) or "/" in robot:
        return Path(robot).expanduser().resolve()
    return bundled_file("config", f"retarget_{robot}.yaml", "gesture_bringup", ConfigError)


def params_file(args: dict[str, str]) -> Path:
    """The graph's parameter file: ``params_file``, else ``config/gesture.yaml`` of gesture_bringup."""
    return Path(args["params_file"]).resolve() if args["params_file"] else bundled_file(
        "config", "gesture.yaml", "gesture_bringup", ConfigError
    )


def robot_config(args: dict[str, str]) -> Path:
    """The robot config the graph runs: the ``robot`` argument's, else the retargeter's
    ``config_file`` in the parameter file, else the bundled default robot's."""
    if args["robot"]:
        return robot_config_file(args["robot"])
    try:
        section = yaml.safe_load(params_file(args).read_text()) or {}
        configured = section.get("retarget", {}).get("ros__parameters", {}).get("config_file", "")
    except (OSError, yaml.YAMLError, AttributeError) as exc:
        raise ConfigError(f"parameter file {args['params_file']}: {exc}") from None
    return Path(configured) if configured else robot_config_file(DEFAULT_ROBOT)


def arg_param_values(spec: NodeSpec, args: dict[str, str]) -> dict[str, str | bool]:
    """The parameters that arguments set on ``spec``: ``robot`` becomes the robot config's path
    (every node reads the URDF from it), true/false bools. An empty ``robot`` sets nothing, so a
    value from the parameter file stays (never overridden by a default)."""
    values: dict[str, str | bool] = {}
    for param, arg_name in spec.arg_params.items():
        value = args[arg_name]
        if arg_name == "robot":
            if value:
                values[param] = str(robot_config_file(value))
        elif value in ("true", "false"):
            values[param] = value == "true"
        else:
            values[param] = value
    return values


def robot_description(args: dict[str, str]) -> str:
    """The URDF (XML text) that ``robot_description`` carries: for ``sim:=gazebo`` the robot's
    URDF with the ``<ros2_control>`` block and the ``gz_ros2_control`` plugin loading its
    controllers YAML (:func:`gesture_core.ros2_control.gazebo_urdf`, :func:`controllers`);
    otherwise the robot's URDF as it is."""
    from gesture_core.retarget.config import load_config, resolve_urdf

    config_path = robot_config(args)
    cfg = load_config(config_path)
    if args["sim"] != "gazebo":
        return resolve_urdf(cfg).read_text()
    robot = rc.controlled_robot(cfg)
    return rc.gazebo_urdf(robot, rc.controllers_file(config_path, robot))


def controllers(args: dict[str, str]) -> Path:
    """The robot's controllers YAML (``controllers_<robot>.yaml`` beside its config, else generated:
    :func:`gesture_core.ros2_control.controllers_file`)."""
    from gesture_core.retarget.config import load_config

    config_path = robot_config(args)
    return rc.controllers_file(config_path, rc.controlled_robot(load_config(config_path)))


def plan(args: dict[str, str], installed: Callable[[str], bool] = ros_package_installed) -> list[Process]:
    """What the launch file starts for ``args`` (defaults filled in): every node of
    :func:`build_graph` with its parameters. The project's nodes get the graph's parameter file,
    then the values arguments set (and ``use_sim_time`` with Gazebo); robot_state_publisher the
    URDF (:func:`robot_description`); the Gazebo server the world; the controller manager the
    robot's controllers YAML (:func:`controllers`)."""
    sim_time = {"use_sim_time": True} if args["sim"] == "gazebo" else {}
    processes = []
    for spec in build_graph(args, installed):
        files: list[Path] = [params_file(args)] if spec.params_file else []
        values: dict[str, Any] = {}
        if spec.package == NODE_PACKAGE:
            values = {**arg_param_values(spec, args), **sim_time}
        elif spec.name == "robot_state_publisher":
            values = {"robot_description": robot_description(args), **sim_time}
        elif spec.name == "gazebo":
            values = {"world_sdf_file": str(rc.world_path()), **sim_time}
        elif spec.name == rc.CONTROLLER_MANAGER:
            files.append(controllers(args))
        processes.append(Process(spec, (*files, values) if values else tuple(files)))
    return processes


def ros_arguments(process: Process, params_dir: Path) -> list[str]:
    """The command-line arguments ``launch_ros`` gives ``process``'s executable: its arguments,
    then ``--ros-args`` with the node name, every parameter file (each dict of values written to
    ``params_dir/<name>.yaml`` under the ``/**`` wildcard, as ``launch_ros`` writes them to
    temporary files, so they reach the node in any namespace) and the remappings."""
    spec = process.spec
    out = [*spec.arguments, "--ros-args", "-r", f"__node:={spec.name}"]
    for i, params in enumerate(process.parameters):
        if isinstance(params, dict):
            path = Path(params_dir) / f"{spec.name}-{i}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(yaml.safe_dump({"/**": {"ros__parameters": params}}, sort_keys=False))
            params = path
        out += ["--params-file", str(params)]
    for a, b in spec.remappings:
        out += ["-r", f"{a}:={b}"]
    return out
