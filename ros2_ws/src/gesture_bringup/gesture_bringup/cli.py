"""``gesture-bringup``: the graph of ``robot.launch.py`` on machines without ``ros2 launch``.

Same arguments as the launch file (``--input tts --backend procedural ...``), same nodes, same
parameter file. With ``--input tts`` (the default) it is the demo: the simulated robot says
``--text`` and gestures with it, then the outputs are written to ``--output``:

- ``recording.mcap``: every topic (open it in Foxglove or with ``ros2 bag``);
- ``gesture.mp4``: the rendered robot with the speech audio;
- ``timeline.png``: waveform, onsets and words lined up with the joint trajectories;
- ``logs/<node>.log``: each node's output.

``--input file --file speech.wav`` does the same with a recording; ``--input mic`` (and ``--stay``)
keep the graph running until Ctrl-C, for live use and tuning through the parameter services.

Each node is started as ``ros2 launch`` starts it (:func:`gesture_bringup.graph.ros_arguments`):
from its installed executable where its package is in the ament index (a sourced workspace or
ROS 2 install), else the project's nodes with this interpreter (``python -m <module>``). ``--sim
gazebo`` needs Gazebo and ros2_control (a full ROS 2 install); without them it is refused.
``--dry-run`` prints the command lines and starts nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import sys
from pathlib import Path

from gesture_core.errors import GestureError

from . import graph
from .supervisor import Supervisor

log = logging.getLogger("gesture_bringup")

#: The bundled example sentence of the demo.
DEFAULT_TEXT = "Hello! I am a robot. I move my arms and my head while I talk to you, like people do."


def executable(spec: graph.NodeSpec) -> list[str]:
    """How to run ``spec``: its installed executable (``<prefix>/lib/<package>/<executable>``, as
    ``ros2 run`` finds it) where the ament index knows its package, else, for the project's nodes,
    this interpreter on its module. Raises GestureError naming the missing package."""
    try:
        from ament_index_python.packages import get_package_prefix

        installed = Path(get_package_prefix(spec.package)) / "lib" / spec.package / spec.executable
    except (ImportError, LookupError, ValueError, OSError):
        installed = None
    if installed is not None and os.access(installed, os.X_OK):
        return [str(installed)]
    if spec.module:
        return [sys.executable, "-u", "-m", spec.module]
    raise GestureError(f"node {spec.name}: executable {spec.executable} of ROS package {spec.package} not found "
                       "(install the package and source its setup.bash)")


def node_command(process: graph.Process, params_dir: Path) -> list[str]:
    """The command line that starts ``process`` (values of its parameters written to ``params_dir``)."""
    return executable(process.spec) + graph.ros_arguments(process, params_dir)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="gesture-bringup",
        description="Start the co-speech gesture graph (the nodes of robot.launch.py) without ros2 launch.",
    )
    for a in graph.ARGUMENTS:
        p.add_argument(f"--{a.name}", default=a.default, choices=a.choices, help=f"{a.description} (default: %(default)r)")
    p.add_argument("--text", default=DEFAULT_TEXT, help="what the robot says (--input tts)")
    p.add_argument("--file", default="", help="speech file to play (--input file): WAV/FLAC, any rate/channels")
    p.add_argument("--output", default="out/demo", help="output folder (recording, video, picture, logs)")
    p.add_argument("--stay", action="store_true", help="keep the graph running after the utterance (Ctrl-C stops)")
    p.add_argument("--startup-timeout", type=float, default=120.0, help="seconds to wait for the nodes to come up")
    p.add_argument("--quiet", action="store_true", help="don't echo the nodes' output")
    p.add_argument("--dry-run", action="store_true", help="print every node's command line and start nothing")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="\033[1m[gesture-bringup]\033[0m %(message)s")
    ns = parse_args(argv)
    out = Path(ns.output).resolve()
    args = {a.name: str(getattr(ns, a.name)) for a in graph.ARGUMENTS}
    if not args["record"]:
        args["record"] = str(out)
    try:
        args = graph.with_defaults(args)
    except ValueError as exc:
        log.error("%s", exc)
        return 2
    if args["input"] == "file" and not Path(ns.file).is_file():
        log.error("--input file needs --file pointing to a WAV/FLAC file (got %r)", ns.file)
        return 2
    missing = graph.missing_packages(args)
    if missing:
        log.error(
            "--sim %s needs Gazebo Harmonic and ros2_control (a full ROS 2 Jazzy install, or the Docker image of "
            "docker/README.md); not installed here: %s. Use --sim mujoco (the MuJoCo simulation) on this machine.",
            args["sim"], ", ".join(missing),
        )  # fmt: skip
        return 2
    if args["params_file"] and not Path(args["params_file"]).is_file():
        log.error("parameter file %s not found", args["params_file"])
        return 2
    logging.getLogger("OpenGL").setLevel(logging.WARNING)  # imported with MuJoCo; its notes are not ours
    try:
        if args["robot"]:  # check the robot config before any node starts: one clear error, not a crashing node
            from gesture_core.retarget.config import load_config

            load_config(graph.robot_config_file(args["robot"]))
        processes = graph.plan(args)
        commands = {p.spec.name: node_command(p, out / "params") for p in processes}
    except GestureError as exc:
        log.error("%s%s", f"--robot {args['robot']}: " if args["robot"] else "", exc)
        return 2
    if ns.dry_run:
        for cmd in commands.values():
            sys.stdout.write(shlex.join(cmd) + "\n")
        return 0

    nodes = [p.spec for p in processes]
    sup = Supervisor(out / "logs", echo=not ns.quiet)
    stop = {"signal": None}

    def on_signal(signum: int, _frame: object) -> None:
        stop["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info("starting %d nodes: %s (logs in %s)", len(nodes), ", ".join(n.name for n in nodes), out / "logs")
    env = os.environ | {"PYTHONUNBUFFERED": "1"}
    for spec in nodes:
        sup.start(spec.name, commands[spec.name], env=env, transient=spec.transient)

    from .director import Director

    director = Director(args, nodes, text=ns.text, file=ns.file)
    status = 0
    try:
        status = director.run(sup, stop, startup_timeout=ns.startup_timeout, stay=ns.stay or args["input"] == "mic")
    finally:
        director.close()
        log.info("stopping the graph")
        sup.stop()
    recording = Path(args["record"]) / "recording.mcap"
    return max(status, _make_outputs(recording, out, args))


def _make_outputs(recording: Path, out: Path, args: dict[str, str]) -> int:
    if not recording.is_file():
        log.warning("no recording at %s: no video or picture", recording)
        return 0
    from gesture_core.outputs import load_timeline, plot_timeline, write_contact_sheet, write_video

    try:
        tl = load_timeline(recording)
        plot_timeline(tl, out / "timeline.png")
        log.info("picture:   %s", out / "timeline.png")
        if args["sim"] == "mujoco" and args["render"] == "true":
            duration = write_video(tl, out / "gesture.mp4")
            log.info("video:     %s (%.1f s, with the speech audio)", out / "gesture.mp4", duration)
            n = write_contact_sheet(tl, out / "contact_sheet.png")
            log.info("frames:    %s (%d: rest, each lexicon gesture's stroke, the end)", out / "contact_sheet.png", n)
    except GestureError as exc:
        log.error("could not make the outputs: %s", exc)
        return 1
    log.info("recording: %s", recording)
    return 0


if __name__ == "__main__":
    sys.exit(main())
