"""Speech to robot motion over DDS: utterance -> generator node -> retarget node -> joint trajectory.

Both nodes run as their own processes; the test publishes an utterance (start event, 100 ms audio
chunks, words, end event) and checks the robot trajectories of that utterance: stamped at its
start, as long as its speech, moving, and within the robot's position and velocity limits.
"""

from __future__ import annotations

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core.retarget.config import default_config_path, load_config, resolve_urdf, safety_limits
from gesture_core.robot import parse_urdf

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip("rclpy")
from trajectory_msgs.msg import JointTrajectory  # noqa: E402

CFG = load_config(default_config_path())
LIMITS = safety_limits(CFG, parse_urdf(resolve_urdf(CFG)))
CHUNK = c.AUDIO_SAMPLE_RATE // 10
TIMEOUT = 60.0


def assert_within_limits(cmd: c.JointCommand) -> None:
    assert cmd.joint_names == CFG.joint_names
    assert np.all(cmd.positions >= LIMITS.lower - 1e-6) and np.all(cmd.positions <= LIMITS.upper + 1e-6)
    steps = np.abs(np.diff(cmd.positions, axis=0))
    assert np.all(steps <= LIMITS.velocity * np.diff(cmd.times)[:, None] * (1 + 1e-6) + 1e-6)


def test_utterance_to_robot_trajectory(ros, speech_with_clicks) -> None:
    received: dict[str, list[c.JointCommand]] = {}

    def on_trajectory(msg: JointTrajectory) -> None:
        cmd = c.decode_joint_trajectory(msg)
        received.setdefault(cmd.utterance_id, []).append(cmd)

    ros.node.create_subscription(JointTrajectory, c.JOINT_TRAJECTORY.name, on_trajectory, 50)
    ros.start("gesture_ros.generator_node")
    ros.start("gesture_ros.retarget_node")
    for topic in (c.UTTERANCE, c.AUDIO, c.WORDS):
        ros.wait_for_subscribers(ros.publisher(topic), timeout=TIMEOUT)
    ros.wait_for_publishers(c.JOINT_TRAJECTORY.name, timeout=TIMEOUT)

    def say(uid: str, audio: np.ndarray, source: str) -> int:
        start_ns = ros.node.get_clock().now().nanoseconds + 2 * c.NS_PER_S  # speech starts in 2 s
        words = [c.Word("hello", 0.2, 0.6), c.Word("robot", 1.0, 1.6)] if source == "tts" else None
        return ros.publish_utterance(uid, audio, source, start_ns, words=words, chunk_samples=CHUNK)

    # Text to speech: one trajectory for the whole utterance, from its start, as long as its speech.
    audio = speech_with_clicks(3.0, clicks=(0.6, 1.3, 2.1))
    start_ns = say("utt-1", audio, "tts")
    ros.spin_until(lambda: "utt-1" in received, TIMEOUT, "the robot trajectory of utt-1")
    (cmd,) = received["utt-1"]
    assert cmd.stamp_ns == start_ns
    assert cmd.times[-1] >= 44 / c.GESTURE_FPS  # 45 frames
    assert_within_limits(cmd)
    assert np.ptp(cmd.positions, axis=0).max() > 0.2  # the arms move (rad)

    # Live microphone speech: 2 s windows, each continuing the utterance on the robot.
    live = speech_with_clicks(4.5, clicks=(0.7, 1.6, 2.5, 3.4))
    start_ns = say("mic-1", live, "mic")
    ros.spin_until(lambda: len(received.get("mic-1", [])) >= 3, TIMEOUT, "3 trajectory windows of mic-1")
    windows = sorted(received["mic-1"], key=lambda w: w.stamp_ns)
    assert windows[0].stamp_ns == start_ns
    assert [w.stamp_ns - start_ns for w in windows[1:]] == [2 * c.NS_PER_S, 4 * c.NS_PER_S]
    for window in windows:
        assert_within_limits(window)
