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
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from pathlib import Path

from gesture_core.bundled import bundled_file
from gesture_core.errors import GestureError

from . import graph
from .supervisor import Supervisor

log = logging.getLogger("gesture_bringup")

#: The bundled example sentence of the demo.
DEFAULT_TEXT = "Hello! I am a robot. I move my arms and my head while I talk to you, like people do."


def node_command(spec: graph.NodeSpec, args: dict[str, str], params_file: Path) -> list[str]:
    """The command line that starts ``spec`` with this interpreter."""
    cmd = [sys.executable, "-u", "-m", spec.module, "--ros-args", "-r", f"__node:={spec.name}"]
    cmd += ["--params-file", str(params_file)]
    for param, value in graph.arg_param_values(spec, args, bundled_file).items():
        cmd += ["-p", f"{param}:={_ros_value(value)}"]
    for a, b in spec.remappings:
        cmd += ["-r", f"{a}:={b}"]
    return cmd


def _ros_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value) if value != "" else "''"


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
    try:
        params_file = Path(args["params_file"]) if args["params_file"] else bundled_file("config", "gesture.yaml", "gesture_bringup")
    except GestureError as exc:
        log.error("%s", exc)
        return 2
    if not params_file.is_file():
        log.error("parameter file %s not found", params_file)
        return 2
    if args["robot"]:  # check the robot config before any node starts: one clear error, not a crashing node
        from gesture_core.retarget.config import load_config

        logging.getLogger("OpenGL").setLevel(logging.WARNING)  # imported with MuJoCo; its notes are not ours
        try:
            load_config(graph.robot_config_file(args["robot"], bundled_file))
        except GestureError as exc:
            log.error("--robot %s: %s", args["robot"], exc)
            return 2

    nodes = graph.build_graph(args)
    sup = Supervisor(out / "logs", echo=not ns.quiet)
    stop = {"signal": None}

    def on_signal(signum: int, _frame: object) -> None:
        stop["signal"] = signum

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    log.info("starting %d nodes: %s (logs in %s)", len(nodes), ", ".join(n.name for n in nodes), out / "logs")
    for spec in nodes:
        sup.start(spec.name, node_command(spec, args, params_file), env=os.environ.copy())

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
    from gesture_core.outputs import load_timeline, plot_timeline, write_video

    try:
        tl = load_timeline(recording)
        plot_timeline(tl, out / "timeline.png")
        log.info("picture:   %s", out / "timeline.png")
        if args["sim"] == "true" and args["render"] == "true":
            duration = write_video(tl, out / "gesture.mp4")
            log.info("video:     %s (%.1f s, with the speech audio)", out / "gesture.mp4", duration)
    except GestureError as exc:
        log.error("could not make the outputs: %s", exc)
        return 1
    log.info("recording: %s", recording)
    return 0


if __name__ == "__main__":
    sys.exit(main())
