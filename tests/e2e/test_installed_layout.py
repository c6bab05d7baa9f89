"""The README's full-ROS steps on a default colcon install, isolated and merged, and a clean stop of
every node in the middle of an utterance.

The README's build line (``cd ros2_ws && colcon build && source install/setup.bash``, and the same
with ``--merge-install``) runs verbatim in a copy of ``ros2_ws`` (a temporary folder), in the
activated venv that holds this machine's ROS 2 (the pip wheels). ``ros2 launch`` is not installable
here, so in the sourced environment ``gesture-bringup --dry-run`` prints the command lines that
``robot.launch.py`` computes (``gesture_bringup.graph.plan``: the same parameters, from the
*installed* packages) and the test starts exactly those *installed* executables; instead of
``ros2 topic pub`` it publishes the README's text on ``speech/say``. The robot must gesture
(``joint_states`` move). Then every node gets SIGINT (isolated) or SIGTERM (merged), in turn, while
the robot still moves, and must end within 2 s with status 0 and a clean log.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from locations import ROOT
from stopping import end_times, problems

from gesture_core import contracts as c

pytestmark = [pytest.mark.slow]

#: The venv whose ROS 2 (pip wheels) builds and runs the workspace.
VENV = Path(sys.prefix)


def readme_steps() -> tuple[str, str]:
    """The README's full-ROS build line and the text its ``ros2 topic pub`` line says."""
    text = (ROOT / "README.md").read_text()
    block = text.split("## On a full ROS 2 install", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    build = next(line.split("#", 1)[0].strip() for line in block.splitlines() if "colcon build" in line)
    pub = next(
        line for line in block.splitlines() if line.startswith("ros2 topic pub") and c.SAY.name in line
    )
    return build, re.search(r"data: '([^']+)'", pub).group(1)


def test_readme_steps_are_the_ones_this_test_performs():
    build, said = readme_steps()
    assert build == "cd ros2_ws && colcon build && source install/setup.bash"
    assert said == "Hello there!"
    assert "colcon build --merge-install" in (ROOT / "README.md").read_text()


def _build(tmp: Path, merge: bool) -> dict[str, str]:
    """Run the README's build line in a copy of ros2_ws under ``tmp``; the sourced environment."""
    shutil.copytree(ROOT / "ros2_ws" / "src", tmp / "ros2_ws" / "src", symlinks=False,
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))  # fmt: skip
    build, _ = readme_steps()
    if merge:
        build = build.replace("colcon build", "colcon build --merge-install")
    activate = shlex.quote(str(VENV / "bin" / "activate"))
    script = f"{{ source {activate} && {build}; }} > build.log 2>&1 && env -0"  # all of the line to build.log
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AMENT_", "COLCON_", "CMAKE_PREFIX"))}
    done = subprocess.run(["bash", "-c", script], cwd=tmp, env=env, capture_output=True, timeout=900)
    assert done.returncode == 0, (tmp / "build.log").read_text()[-5000:]
    return dict(item.split("=", 1) for item in done.stdout.decode().split("\0") if "=" in item)


def _graph_commands(env: dict[str, str], out: Path) -> dict[str, list[str]]:
    """The installed graph's command lines (``gesture-bringup --dry-run`` in the sourced environment)."""
    run = lambda *cmd: subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    where = run(
        sys.executable,
        "-c",
        "import gesture_bringup, gesture_ros; print(gesture_bringup.__file__, gesture_ros.__file__)",
    )
    assert where.returncode == 0, where.stderr
    for path in where.stdout.split():  # the installed packages, not the checkout's
        assert "/install/" in path, where.stdout
    done = run(
        sys.executable, "-m", "gesture_bringup.cli", "--dry-run", "--render", "false", "--output", str(out)
    )
    assert done.returncode == 0, done.stdout + done.stderr
    commands = [shlex.split(line) for line in done.stdout.splitlines()]
    return {cmd[cmd.index("-r") + 1].removeprefix("__node:="): cmd for cmd in commands}


def _run_installed_graph(ros, tmp: Path, merge: bool, sig: int) -> None:
    env = _build(tmp, merge)
    install = tmp / "ros2_ws" / "install"
    commands = _graph_commands(env, tmp / "out")
    assert {"speech_source", "asr", "audio_features", "gesture_generator", "retarget", "mujoco_sim",
            "robot_description", "recorder"} == set(commands)  # fmt: skip
    layout = install / "lib" if merge else install / "gesture_ros" / "lib"
    procs: dict[str, subprocess.Popen] = {}
    logs: dict[str, Path] = {}
    try:
        for name, cmd in commands.items():
            assert Path(cmd[0]).is_relative_to(layout), cmd[0]  # the installed executable
            logs[name] = tmp / f"{name}.log"
            with open(logs[name], "w") as log:
                procs[name] = subprocess.Popen(
                    cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                )
        _gesture_then_stop(ros, procs, logs, sig, install)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _gesture_then_stop(ros, procs: dict, logs: dict, sig: int, install: Path) -> None:
    from gesture_ros.ros_io import publisher_qos
    from sensor_msgs.msg import JointState
    from std_msgs.msg import String

    states: list[np.ndarray] = []
    descriptions: list[str] = []
    ros.node.create_subscription(
        JointState, c.JOINT_STATES.name, lambda m: states.append(np.array(m.position)), 50
    )
    durable = publisher_qos(c.ROBOT_DESCRIPTION)
    ros.node.create_subscription(
        String, c.ROBOT_DESCRIPTION.name, lambda m: descriptions.append(m.data), durable
    )
    say = ros.node.create_publisher(String, c.SAY.name, c.SAY.depth)

    def check_alive() -> bool:
        for name, proc in procs.items():
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{logs[name].read_text()}")
        return True

    def up() -> bool:  # every node subscribes what it needs (the generator after its warm-up)
        check_alive()
        needs = {c.SAY.name: {"speech_source"}, c.AUDIO.name: {"asr", "audio_features", "gesture_generator"},
                 c.HUMAN_POSE.name: {"retarget"}, c.JOINT_TRAJECTORY.name: {"mujoco_sim"}}  # fmt: skip
        return len(states) > 0 and all(
            nodes <= {i.node_name for i in ros.node.get_subscriptions_info_by_topic("/" + topic)}
            for topic, nodes in needs.items()
        )

    ros.spin_until(up, 300, "the graph")
    ros.spin_until(lambda: len(descriptions) > 0, 30, "robot_description (transient local)")
    publishers = ros.node.get_publishers_info_by_topic("/" + c.ROBOT_DESCRIPTION.name)
    assert len(descriptions) == 1 and len(publishers) == 1, [i.node_name for i in publishers]  # never two
    assert '<robot name="gesture_humanoid"' in descriptions[0]
    for name in (
        "retarget",
        "mujoco_sim",
        "robot_description",
        "speech_source",  # the gesture lexicon
        "gesture_generator",
    ):  # the installed shares' files, not the checkout's
        assert f"{install}/" in logs[name].read_text(), logs[name].read_text()

    def settled() -> bool:  # the start-up move to the rest pose is over
        check_alive()
        return len(states) > 30 and float(np.abs(states[-1] - states[-30]).max()) < 1e-3

    ros.spin_until(settled, 60, "the robot at rest")
    rest = states[-1]
    _, text = readme_steps()
    say.publish(String(data=text))
    ros.spin_until(
        lambda: check_alive() and float(np.abs(states[-1] - rest).max()) > 0.05, 120, "the robot gesturing"
    )
    # mid-utterance: the robot is moving; every node in turn
    sent = {}
    for name, proc in procs.items():
        proc.send_signal(sig)
        sent[name] = time.monotonic()
    ended = end_times(procs, sent)
    bad = [
        line
        for name, proc in procs.items()
        for line in problems(name, proc, ended[name], logs[name].read_text())
    ]
    assert not bad, "\n".join(bad) + "".join(f"\n--- {n}\n{logs[n].read_text()}" for n in procs)


def test_isolated_install_gestures_and_stops_on_sigint(ros, tmp_path):
    _run_installed_graph(ros, tmp_path, merge=False, sig=signal.SIGINT)


def test_merged_install_gestures_and_stops_on_sigterm(ros, tmp_path):
    _run_installed_graph(ros, tmp_path, merge=True, sig=signal.SIGTERM)
