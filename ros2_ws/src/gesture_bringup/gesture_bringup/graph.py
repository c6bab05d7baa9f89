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

#: The package that owns every node executable.
NODE_PACKAGE = "gesture_ros"


@dataclass(frozen=True)
class Argument:
    """A launch argument (``name:=value``) that is also a ``gesture-bringup --name value`` option."""

    name: str
    default: str
    description: str
    choices: tuple[str, ...] | None = None


#: Every argument of the graph, in the order ``--help`` shows them.
ARGUMENTS: tuple[Argument, ...] = (
    Argument("input", "tts", "speech source mode: tts (speaks speech/say), file (plays speech/play_file), mic", ("tts", "file", "mic")),
    Argument("backend", "procedural", "gesture generator", ("procedural", "trimodal", "diffusion")),
    Argument("checkpoint", "", "checkpoint directory of the learned backend (empty: bundled default, if any)"),
    Argument("robot", "", "robot: a bundled name (config/retarget_<robot>.yaml: humanoid, humanoid_7dof, nao, pepper, "
             "icub) or the path of a robot config (.yaml); empty: the nodes' config_file (params file, else humanoid)"),
    Argument("sim", "true", "run the MuJoCo simulation of the robot", ("true", "false")),
    Argument("render", "true", "render the simulation offscreen and publish sim/image", ("true", "false")),
    Argument("viewer", "false", "show the simulation in MuJoCo's viewer (needs a display)", ("true", "false")),
    Argument("record", "", "directory for the MCAP recording of every topic (empty: no recording)"),
    Argument("params_file", "", "parameter file (empty: config/gesture.yaml of gesture_bringup)"),
)


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
