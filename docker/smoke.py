#!/usr/bin/env python3
"""Smoke test of the gesture-gazebo image: the robot in Gazebo gestures when asked to speak.

Inside the container (``docker run --rm gesture-gazebo python3 docker/smoke.py``):

1. starts the graph (default ``ros2 launch gesture_bringup robot.launch.py sim:=gazebo``) in a
   process group of its own, its output in ``--log``;
2. waits for ``joint_states`` (the joint_state_broadcaster's) and for every gesture node to
   subscribe its input (after its warm-up), then ``--settle`` s for the start-up move to rest;
3. takes the posture, publishes a sentence on ``speech/say`` and passes when some joint moves more
   than ``--min-motion`` rad away from that posture within ``--timeout`` s;
4. stops the graph (SIGINT to the group, SIGKILL after 20 s); on failure prints its output's tail.

Exit status 0 on success, 1 on failure. ``--command`` runs any other launcher of the same graph
(e.g. ``gesture-bringup --stay`` for the MuJoCo simulation).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import rclpy
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState
from std_msgs.msg import String

log = logging.getLogger("smoke")

DEFAULT_COMMAND = "ros2 launch gesture_bringup robot.launch.py sim:=gazebo"
SENTENCE = "Hello! I am a robot in Gazebo, and I move my arms while I talk to you."
#: Topic -> the nodes that must subscribe it before the graph can gesture (README's node table).
READY = {
    "/speech/say": {"speech_source"},
    "/speech/audio": {"asr", "audio_features", "gesture_generator"},
    "/speech/features": {"gesture_generator"},
    "/gesture/human_pose": {"retarget"},
}


class Watcher:
    """Latest ``joint_states`` positions by joint name, and the speech/say publisher."""

    def __init__(self) -> None:
        self.node = rclpy.create_node("gesture_smoke")
        self.positions: dict[str, float] = {}
        self.node.create_subscription(JointState, "joint_states", self._on_joints, qos_profile_sensor_data)
        self.say = self.node.create_publisher(String, "speech/say", 10)

    def _on_joints(self, msg: JointState) -> None:
        self.positions.update(zip(msg.name, msg.position))

    def spin_until(self, done, timeout: float, graph: subprocess.Popen) -> bool:
        """Spin until ``done()`` (True) or ``timeout`` s pass or the graph exits (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if graph.poll() is not None:
                log.error("the graph exited with status %s", graph.returncode)
                return False
            rclpy.spin_once(self.node, timeout_sec=0.1)
            if done():
                return True
        return False

    def missing(self) -> list[str]:
        """``node on topic`` for every subscription of :data:`READY` not made yet."""
        out = []
        for topic, nodes in READY.items():
            have = {i.node_name for i in self.node.get_subscriptions_info_by_topic(topic)}
            out += [f"{n} on {topic}" for n in sorted(nodes - have)]
        return out

    def largest_motion(self, posture: dict[str, float]) -> tuple[str, float]:
        """The joint that moved most from ``posture`` and by how much (rad)."""
        return max(((n, abs(self.positions[n] - q)) for n, q in posture.items()), key=lambda item: item[1])


def check(watcher: Watcher, graph: subprocess.Popen, args: argparse.Namespace) -> bool:
    if not watcher.spin_until(lambda: bool(watcher.positions), args.startup_timeout, graph):
        log.error("no joint_states within %.0f s", args.startup_timeout)
        return False
    log.info("joint_states: %d joints", len(watcher.positions))
    if not watcher.spin_until(lambda: not watcher.missing(), args.startup_timeout, graph):
        log.error("not up within %.0f s: %s", args.startup_timeout, ", ".join(watcher.missing()))
        return False
    log.info("all gesture nodes are up")
    watcher.spin_until(lambda: False, args.settle, graph)
    if graph.poll() is not None:
        return False
    posture = dict(watcher.positions)
    log.info("saying: %s", args.text)
    watcher.say.publish(String(data=args.text))
    moving = lambda: watcher.largest_motion(posture)[1] > args.min_motion  # noqa: E731
    moved = watcher.spin_until(moving, args.timeout, graph)
    joint, motion = watcher.largest_motion(posture)
    log.info("largest motion: %s by %.3f rad (needed > %.3f)", joint, motion, args.min_motion)
    return moved


def stop(graph: subprocess.Popen) -> None:
    if graph.poll() is None:
        os.killpg(graph.pid, signal.SIGINT)
        try:
            graph.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(graph.pid, signal.SIGKILL)
            graph.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--command", default=DEFAULT_COMMAND, help="starts the graph (default: %(default)s)")
    add("--text", default=SENTENCE, help="what the robot is asked to say")
    add("--startup-timeout", type=float, default=180.0, help="s for Gazebo and the nodes to start")
    add("--settle", type=float, default=5.0, help="s to wait for the start-up move to rest")
    add("--timeout", type=float, default=30.0, help="s for the robot to move after the request")
    add("--min-motion", type=float, default=0.05, help="rad a joint must move to pass")
    add("--log", default="/tmp/gesture-smoke.log", help="the graph's output")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[smoke] %(message)s")
    log_path = Path(args.log)
    with log_path.open("w") as out:
        command = shlex.split(args.command)
        graph = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    rclpy.init()
    try:
        passed = check(Watcher(), graph, args)
    finally:
        stop(graph)
        rclpy.try_shutdown()
    if not passed:
        print("".join(log_path.read_text().splitlines(keepends=True)[-60:]), file=sys.stderr)
    print(f"smoke test {'passed' if passed else 'FAILED'} (graph output: {log_path})")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
