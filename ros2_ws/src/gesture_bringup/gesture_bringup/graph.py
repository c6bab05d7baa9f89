"""The node graph of the gesture stack, defined once.

Both ``launch/robot.launch.py`` (``ros2 launch gesture_bringup robot.launch.py`` on a full ROS 2
install) and ``gesture-bringup`` (pip-only machines) build their graph from :func:`build_graph`, with
the arguments of :data:`ARGUMENTS`. Parameters come from the parameter file (``config/gesture.yaml``,
one section per node name); the few values that arguments decide (input mode, backend, robot) are
listed per node in :class:`NodeSpec.arg_params`, so nothing else is set inline.

::

    speech/say ──> speech_source ──speech/utterance, speech/audio, speech/words──┐
                                                                                  ├─> asr ──speech/words──┐
                                                                                  ├─> audio_features ─────┤ speech/features
                                                                                  └─> gesture_generator <─┘
    gesture_generator ──gesture/human_pose──> retarget ──joint_trajectory──> mujoco_sim ──joint_states, /clock, sim/image
    recorder: every topic -> MCAP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gesture_core.bundled import DEFAULT_ROBOT, ROBOTS
from gesture_core.models.registry import backends
from gesture_core.node_settings import GeneratorSettings, SimSettings, SpeechSourceSettings
from gesture_core.settings import specs

#: The package that owns every node executable.
NODE_PACKAGE = "gesture_ros"


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
    Argument("sim", "true", "run the MuJoCo simulation of the robot", ("true", "false")),
    _from_setting("render", SimSettings, "render", default="true"),
    _from_setting("viewer", SimSettings, "viewer"),
    Argument("record", "", "directory for the MCAP recording of every topic (empty: no recording)"),
    Argument("params_file", "", "parameter file (empty: config/gesture.yaml of gesture_bringup)"),
)  # fmt: skip


@dataclass(frozen=True)
class NodeSpec:
    """One node of the graph.

    ``executable`` is the console script of :data:`NODE_PACKAGE` (what ``ros2 launch`` runs) and
    ``module`` the Python module behind it (what ``gesture-bringup`` runs with this interpreter).
    ``arg_params`` maps a node parameter to the argument that sets it.
    """

    name: str
    executable: str
    module: str
    arg_params: dict[str, str] = field(default_factory=dict)
    remappings: tuple[tuple[str, str], ...] = ()


def build_graph(args: dict[str, str]) -> list[NodeSpec]:
    """The nodes to start for ``args`` (argument name -> value, defaults filled in)."""
    nodes = [
        NodeSpec("speech_source", "speech_source", "gesture_ros.speech_source_node", {"mode": "input"}),
        NodeSpec("asr", "asr", "gesture_ros.asr_node"),
        NodeSpec("audio_features", "audio_features", "gesture_ros.audio_features_node"),
        NodeSpec("gesture_generator", "gesture_generator", "gesture_ros.generator_node",
                 {"backend": "backend", "checkpoint": "checkpoint"}),
        NodeSpec("retarget", "retarget", "gesture_ros.retarget_node", {"config_file": "robot"}),
    ]  # fmt: skip
    if args["sim"] == "true":
        nodes.append(
            NodeSpec("mujoco_sim", "mujoco_sim", "gesture_ros.sim_node", {"config_file": "robot", "render": "render", "viewer": "viewer"})
        )
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


def robot_config_file(robot: str, locate: Callable[[str, str, str], Path]) -> Path:
    """The robot config that the ``robot`` argument names: a path (it ends in ``.yaml``/``.yml`` or
    contains a ``/``; made absolute) or a bundled name (``config/retarget_<robot>.yaml`` of
    gesture_bringup, found by ``locate``)."""
    if robot.endswith((".yaml", ".yml")) or "/" in robot:
        return Path(robot).expanduser().resolve()
    return locate("config", f"retarget_{robot}.yaml", "gesture_bringup")


def arg_param_values(spec: NodeSpec, args: dict[str, str], locate: Callable[[str, str, str], Path]) -> dict:
    """The parameters that arguments set on ``spec``: ``robot`` becomes the robot config's path
    (every node reads the URDF from it), true/false bools. An empty ``robot`` sets nothing, so a
    value from the parameter file stays (never overridden by a default).

    ``locate(folder, name, package)`` finds a bundled file: the launch file looks in the packages'
    share directories, ``gesture-bringup`` uses :func:`gesture_core.bundled.bundled_file`.
    """
    values: dict[str, str | bool] = {}
    for param, arg_name in spec.arg_params.items():
        value = args[arg_name]
        if arg_name == "robot":
            if value:
                values[param] = str(robot_config_file(value, locate))
        elif value in ("true", "false"):
            values[param] = value == "true"
        else:
            values[param] = value
    return values
