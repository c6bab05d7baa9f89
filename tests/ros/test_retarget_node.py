"""The retarget node as its own process over real DDS: human gestures in, joint trajectories out."""

from __future__ import annotations

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core import skeleton
from gesture_core.retarget.config import default_config_path, load_config, resolve_urdf, safety_limits
from gesture_core.robot import parse_urdf

pytestmark = pytest.mark.ros
JointTrajectory = pytest.importorskip("trajectory_msgs.msg").JointTrajectory
GestureSequence = pytest.importorskip("gesture_msgs.msg").GestureSequence

NODE = "gesture_ros.retarget_node"
CFG = load_config(default_config_path())
LIMITS = safety_limits(CFG, parse_urdf(resolve_urdf(CFG)))


def gesture(n: int = 30) -> np.ndarray:
    """(n, 27) smooth gesture: the mean pose with the left forearm swinging up and down."""
    poses = np.tile(skeleton.MEAN_DIR_VEC, (n, 1))
    angle = 0.8 * np.sin(2 * np.pi * 0.7 * np.arange(n) / 15.0)
    poses[:, 15:18] = np.stack([np.zeros(n), -np.sin(angle), np.cos(angle)], axis=1)  # forward, +- up
    return poses


def pose_msg(uid: str, start_ns: int, poses: np.ndarray, first_frame: int = 0) -> GestureSequence:
    return c.encode_human_pose(GestureSequence(), c.GestureSequence(uid, start_ns, poses, first_frame))


class Retarget:
    """The node under test, a pose publisher and the trajectories it answers with."""

    def __init__(self, ros, **params):
        self.ros = ros
        self.received: list[c.JointCommand] = []
        ros.node.create_subscription(
            JointTrajectory, c.JOINT_TRAJECTORY.name, lambda m: self.received.append(c.decode_joint_trajectory(m)), 50
        )
        self.pub = ros.node.create_publisher(GestureSequence, c.HUMAN_POSE.name, 10)
        self.proc = ros.start(NODE, params)
        ros.wait_for_subscribers(self.pub, timeout=60.0)
        # the node commands the rest pose once it sees a controller (us): then it surely sends to us
        ros.spin_until(lambda: any(r.utterance_id == "rest" for r in self.received), 60.0, "the start-up rest pose")

    def now_ns(self) -> int:
        return self.ros.node.get_clock().now().nanoseconds

    def answer(self, msg: GestureSequence, uid: str, timeout: float = 30.0) -> c.JointCommand:
        """Publish ``msg`` and return the first trajectory of utterance ``uid`` that comes back."""
        self.pub.publish(msg)
        self.ros.spin_until(lambda: any(r.utterance_id == uid for r in self.received), timeout, f"trajectory {uid}")
        return next(r for r in self.received if r.utterance_id == uid)


def assert_within_limits(cmd: c.JointCommand) -> None:
    assert cmd.joint_names == CFG.joint_names
    assert np.all(cmd.positions >= LIMITS.lower - 1e-6) and np.all(cmd.positions <= LIMITS.upper + 1e-6)
    dt = np.diff(cmd.times)
    assert np.all(np.abs(np.diff(cmd.positions, axis=0)) <= LIMITS.velocity * dt[:, None] * (1 + 1e-6) + 1e-6)


def test_gesture_in_trajectory_out_then_back_to_rest(ros):
    node = Retarget(ros)  # a controller (this test) subscribes: the node commands the rest pose once
    startup = node.received[0]
    assert startup.joint_names == CFG.joint_names and len(startup.times) == 1
    rest = startup.positions[0]

    start_ns = node.now_ns() + 2 * c.NS_PER_S  # the speech starts in 2 s
    cmd = node.answer(pose_msg("utt-1", start_ns, gesture(30)), "utt-1")
    assert cmd.stamp_ns == start_ns  # utterance start + first frame time (frame 0)
    assert cmd.times[0] == 0.0 and cmd.times[-1] >= 29 / 15.0
    np.testing.assert_allclose(np.diff(cmd.times), 1.0 / CFG.controller_rate_hz, atol=1e-6)
    np.testing.assert_allclose(cmd.positions[0], rest, atol=1e-6)  # starts from the commanded rest pose
    assert_within_limits(cmd)
    elbow = CFG.joint_names.index("l_elbow_roll")
    assert np.ptp(cmd.positions[:, elbow]) > 0.3  # the forearm swing moved the elbow

    # a streaming window continues the utterance: stamp = start + 30 frames / 15 fps
    node.received.clear()
    node.pub.publish(pose_msg("utt-1", start_ns, gesture(60)[30:], first_frame=30))
    ros.spin_until(lambda: len(node.received) >= 1, 30.0, "the second window")
    window = node.received[0]
    assert window.utterance_id == "utt-1" and window.stamp_ns == start_ns + 2 * c.NS_PER_S
    k = round(2.0 * CFG.controller_rate_hz)
    np.testing.assert_allclose(window.positions[0], cmd.positions[k], atol=1e-6)  # joins the first window
    assert_within_limits(window)

    # when the gestures stop, the robot is blended back to rest after the hold
    ros.spin_until(lambda: any(r.utterance_id == "rest" for r in node.received), 30.0, "the return to rest")
    back = next(r for r in node.received if r.utterance_id == "rest")
    assert back.stamp_ns >= window.stamp_ns + round((window.times[-1] + CFG.rest_hold_time) * c.NS_PER_S)
    np.testing.assert_allclose(back.positions[-1], rest, atol=1e-6)
    assert_within_limits(back)


def test_bad_messages_are_dropped_and_the_node_keeps_answering(ros):
    node = Retarget(ros)
    now = node.now_ns()
    wrong_skeleton = pose_msg("bad-1", now, gesture(5))
    wrong_skeleton.skeleton = "smplx"
    nan = pose_msg("bad-2", now, gesture(5))
    nan.poses[30] = float("nan")
    short = pose_msg("bad-3", now, gesture(5))
    short.poses = short.poses[:-1]
    bad_id = pose_msg("bad-4", now, gesture(5))
    bad_id.utterance_id = "no spaces allowed"
    off_rate = pose_msg("bad-5", now, gesture(5))
    off_rate.frame_rate = 30.0
    for msg in (wrong_skeleton, nan, short, bad_id, off_rate):
        node.pub.publish(msg)
    ros.spin_for(1.0)
    assert not [r for r in node.received if r.utterance_id.startswith("bad")]
    assert node.proc.alive()
    # zero-length bones reach the retargeter (the contract does not forbid them): repaired, logged
    zeros = gesture(10)
    zeros[3:6, 0:3] = 0.0
    cmd = node.answer(pose_msg("zeros", node.now_ns() + c.NS_PER_S, zeros), "zeros")
    assert np.all(np.isfinite(cmd.positions))
    cmd = node.answer(pose_msg("good", node.now_ns() + c.NS_PER_S, gesture(10)), "good")
    assert_within_limits(cmd)
    log = node.proc.log()
    assert log.count("dropped a message on gesture/human_pose") == 5
    for reason in ("skeleton", "NaN", "multiple of 27", "invalid utterance id", "frame_rate 30", "repaired 3 bone vectors"):
        assert reason in log, reason


def test_a_late_message_starts_now_from_the_commanded_state(ros):
    node = Retarget(ros)
    start_ns = node.now_ns() - c.NS_PER_S  # the speech started a second ago
    cmd = node.answer(pose_msg("late", start_ns, gesture(45)), "late")
    assert cmd.stamp_ns > start_ns + c.NS_PER_S  # starts now: the past second is dropped
    rest = np.array([CFG.rest_pose.get(n, 0.0) for n in CFG.joint_names]).clip(LIMITS.lower, LIMITS.upper)
    np.testing.assert_allclose(cmd.positions[0], rest, atol=1e-6)  # from the commanded state (rest)
    assert_within_limits(cmd)
    assert "arrived" in node.proc.log() and "s allowed for planning): dropped" in node.proc.log()


def test_parameters_change_the_output_and_bad_values_are_rejected(ros):
    node = Retarget(ros)

    def set_params(**values) -> list:
        return ros.set_parameters("retarget", **values)

    poses = gesture(30)
    full = node.answer(pose_msg("amp-1", node.now_ns() + c.NS_PER_S, poses), "amp-1")
    assert all(r.successful for r in set_params(speed_scale=0.1))  # a tenth of the velocity limits
    small = node.answer(pose_msg("amp-2", node.now_ns() + c.NS_PER_S, poses), "amp-2")
    elbow = CFG.joint_names.index("l_elbow_roll")
    swing = slice(round(CFG.controller_rate_hz), round(1.9 * CFG.controller_rate_hz))  # after the join from rest
    assert np.ptp(small.positions[swing, elbow]) < 0.5 * np.ptp(full.positions[swing, elbow])

    out_of_range = set_params(speed_scale=5.0)[0]
    assert not out_of_range.successful and "speed_scale" in out_of_range.reason
    # gesture size is the generator's amplitude; the robot config's amplitude_scale is no parameter
    assert not set_params(amplitude_scale=0.5)[0].successful
    above_nyquist = set_params(smoothing_cutoff_hz=80.0)[0]  # the controller rate is 100 Hz
    assert not above_nyquist.successful and "smoothing_cutoff_hz" in above_nyquist.reason
    static = set_params(config_file="other.yaml")[0]
    assert not static.successful and "start-up only" in static.reason
    assert all(r.successful for r in set_params(controller_rate=50.0))
    slow = node.answer(pose_msg("rate", node.now_ns() + c.NS_PER_S, poses), "rate")
    np.testing.assert_allclose(np.diff(slow.times), 0.02, atol=1e-6)
