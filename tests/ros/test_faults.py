"""Fault cases of issue 16, over real DDS. At the sim node: whatever is sent to ``joint_trajectory``
(beyond the limits, 10^6 points, after a real-time-factor change) or whoever dies, ``joint_states``
stay within the robot's position limits and 1.05x its velocity limits, the node lives on, and the
next normal trajectory is followed without a jump; a killed commander leaves the robot at rest. At
the retargeter: a generator killed or stuck in a callback mid-gesture makes it return the robot to rest
within 1 s, and the next utterance is gestured."""

from __future__ import annotations

import signal
import struct
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core.retarget.config import default_config_path
from gesture_core.robot import default_urdf_path, parse_urdf

from motion_bounds import fastest_stop_all
from test_sim_node import TOLERANCE, start_sim, trajectory

pytestmark = pytest.mark.ros
JointTrajectory = pytest.importorskip("trajectory_msgs.msg").JointTrajectory
JointTrajectoryPoint = pytest.importorskip("trajectory_msgs.msg").JointTrajectoryPoint
serialize_message = pytest.importorskip("rclpy.serialization").serialize_message

ROBOT = parse_urdf(default_urdf_path())
#: Measured velocities may exceed the limits by this factor (the servo's tracking error).
VELOCITY_SLACK = 1.05
#: Time (s) from a lapsed lease to the safe stop's stamp: DDS's lease check, the retargeter's
#: executor (measured 0.0x s on 2 loaded cores) with room for the load of CI.
REACTION_S = 0.5


def assert_within_limits(listener, since: int = 0) -> None:
    """Every joint state received from index ``since`` on lies within the URDF's position limits
    and VELOCITY_SLACK times its velocity limits."""
    assert len(listener.raw) > since
    for msg in listener.raw[since:]:
        for name, q, v in zip(msg.name, msg.position, msg.velocity):
            joint = ROBOT.joint(name)
            assert joint.lower - 1e-3 <= q <= joint.upper + 1e-3, (name, q, joint.lower, joint.upper)
            assert abs(v) <= VELOCITY_SLACK * joint.velocity, (name, v, joint.velocity)


def test_direct_commands_beyond_the_limits_stay_within_them_and_the_next_one_starts_smoothly(ros):
    listener, pub = start_sim(ros)
    node = ros.procs[0]
    since = len(listener.raw)
    # far beyond the position limit (-2.0) and 20x too fast, then back and forth within 50 ms
    pub.publish(trajectory(["r_shoulder_pitch", "l_elbow_roll"], [0.05], [[-3.5, -1.5]], uid="too-far-too-fast"))
    ros.spin_until(lambda: listener.at({"r_shoulder_pitch": -2.0, "l_elbow_roll": -1.5}), 20.0, "the far pose")
    pub.publish(trajectory(["r_shoulder_pitch"], [0.02, 0.04, 0.06], [[0.0], [-2.0], [0.5]], uid="jerk"))
    ros.spin_for(1.0)
    # the next normal gesture, stamped in the past: joined from where the robot is, within limits
    past = ros.node.get_clock().now().nanoseconds - c.NS_PER_S // 2
    pub.publish(trajectory(["r_shoulder_pitch"], [0.5, 1.5], [[-0.5], [-1.0]], stamp_ns=past, uid="normal"))
    ros.spin_until(lambda: listener.at({"r_shoulder_pitch": -1.0}), 20.0, "the normal gesture's end")
    assert_within_limits(listener, since)
    assert node.alive()
    log = node.log()
    assert "exceeds the position limits" in log and "exceeds the velocity limits" in log


def huge_trajectory(points: int) -> bytes:
    """A serialized (CDR, little-endian) JointTrajectory of ``points`` one-joint points, written
    byte by byte: building 10^6 Python points would take the test longer than the sim takes to
    refuse it."""
    buf = bytearray(b"\x00\x01\x00\x00")  # encapsulation: CDR little-endian

    def pack(fmt: str, *values: object) -> None:
        size = struct.calcsize("<" + fmt[0])
        buf.extend(b"\x00" * (-(len(buf) - 4) % size))  # alignment of the first field
        buf.extend(struct.pack("<" + fmt, *values))

    def string(text: str) -> None:
        pack("I", len(text) + 1)
        buf.extend(text.encode() + b"\x00")

    pack("iI", 0, 0)  # header.stamp
    string("huge")
    pack("I", 1)
    string("torso_pitch")
    pack("I", points)
    for k in range(min(points, 2)):  # from the second point on, every point is 32 aligned bytes
        pack("I", 1)
        pack("d", 0.0)
        pack("IIIiI", 0, 0, 0, 0, 10_000_000 * (k + 1))  # velocities, accelerations, efforts, time
    buf.extend(buf[-32:] * (points - 2))
    return bytes(buf)


def test_a_trajectory_of_a_million_points_is_refused_without_freezing_the_joint_states(ros):
    listener, pub = start_sim(ros)
    node = ros.procs[0]
    data = huge_trajectory(1_000_000)
    since = len(listener.raw)
    pub.publish(data)
    ros.spin_until(lambda: "1000000 points" in node.log(), 60.0, "the refusal")
    ros.spin_for(1.0)
    stamps = np.array([c.stamp_to_ns(m.header.stamp) for m in listener.raw[since:]]) / c.NS_PER_S
    assert stamps.size > 10 and np.diff(stamps).max() < 0.5  # joint_states kept coming
    assert "refused a joint trajectory" in node.log() and node.alive()
    pub.publish(trajectory(["torso_pitch"], [0.5], [[0.3]], uid="normal"))
    ros.spin_until(lambda: listener.at({"torso_pitch": 0.3}), 20.0, "the next normal trajectory")
    assert_within_limits(listener, since)


def test_the_sim_clock_follows_ros_time_after_a_real_time_factor_change(ros):
    listener, pub = start_sim(ros, real_time_factor=20.0)
    ros.spin_for(3.0)  # about 60 s of sim time in 3 s
    ros.spin_until(lambda: len(listener.clock) > 0, 10.0, "/clock")
    ahead = (listener.clock[-1] - ros.node.get_clock().now().nanoseconds) / c.NS_PER_S
    assert ahead > 5.0  # the sim ran ahead of the ROS time
    [result] = ros.set_parameters("mujoco_sim", real_time_factor=1.0)
    assert result.successful, result.reason
    ros.spin_for(1.0)
    offset = (listener.clock[-1] - ros.node.get_clock().now().nanoseconds) / c.NS_PER_S
    assert abs(offset) < 0.5, offset
    since = len(listener.raw)
    start = ros.node.get_clock().now().nanoseconds + c.NS_PER_S // 2
    pub.publish(trajectory(["torso_pitch"], [0.0, 0.5], [[0.0], [0.3]], stamp_ns=start, uid="after-rtf"))
    ros.spin_until(lambda: listener.at({"torso_pitch": 0.3}), 20.0, "the stamped trajectory after the change")
    moved = [t for t, s in listener.states[since:] if abs(s["torso_pitch"]) > 0.05]
    assert moved and moved[0] > start  # executed on time, not skipped as if it were in the past
    assert_within_limits(listener, since)
    assert "tied to the ROS time again" in ros.procs[0].log()


COMMANDER = textwrap.dedent(
    """
    import sys
    import rclpy
    from gesture_core import contracts as c
    from gesture_ros.ros_io import msg_class, publisher_qos
    from trajectory_msgs.msg import JointTrajectoryPoint

    rclpy.init()
    node = rclpy.create_node("commander")
    pub = node.create_publisher(msg_class(c.JOINT_TRAJECTORY), c.JOINT_TRAJECTORY.name, publisher_qos(c.JOINT_TRAJECTORY))
    cmd = c.JointCommand("raise", 0, ["l_shoulder_pitch", "r_shoulder_pitch"], [1.0, 60.0], [[-1.2, -1.2], [-1.2, -1.2]])
    while pub.get_subscription_count() < 2:
        rclpy.spin_once(node, timeout_sec=0.1)
    pub.publish(c.encode_joint_trajectory(msg_class(c.JOINT_TRAJECTORY)(), cmd, JointTrajectoryPoint))
    print("sent", flush=True)
    rclpy.spin(node)
    """
)


def test_the_watchdog_brings_the_robot_to_rest_when_its_commander_is_killed(ros):
    listener, pub = start_sim(ros)
    node = ros.procs[0]
    commander = subprocess.Popen([sys.executable, "-c", COMMANDER], stdout=subprocess.PIPE, text=True)
    try:
        raised = {"l_shoulder_pitch": -1.2, "r_shoulder_pitch": -1.2}
        ros.spin_until(lambda: listener.at(raised), 60.0, "the commander's raised arms")
        since = len(listener.raw)
        commander.send_signal(signal.SIGKILL)
        commander.wait()
        killed = ros.node.get_clock().now().nanoseconds
        rest = {n: 0.0 for n in raised}
        ros.spin_until(lambda: listener.at(rest), 10.0, "the arms at rest")
        at_rest = next(t for t, s in listener.states[since:] if all(abs(s[n]) < TOLERANCE for n in rest))
        assert (at_rest - killed) / c.NS_PER_S < 2.0  # lease (0.5 s) + the move at the limits
        assert "watchdog" in node.log() and node.alive()
        assert_within_limits(listener, since)
    finally:
        commander.kill()
        commander.wait()


GENERATOR = textwrap.dedent(
    """
    import time
    import numpy as np
    import rclpy
    from gesture_core import contracts as c, skeleton
    from gesture_ros.ros_io import GestureNode, msg_class, publisher_qos
    from std_msgs.msg import String

    rclpy.init()
    node = GestureNode("gesture_generator")
    pub = node.create_publisher(msg_class(c.HUMAN_POSE), c.HUMAN_POSE.name, publisher_qos(c.HUMAN_POSE))
    # a message on test/stall gets it stuck in a callback that never returns (its DDS threads live
    # on and keep asserting its liveliness: only GestureNode's stall limit ends it)
    node.create_subscription(String, "test/stall", lambda _msg: time.sleep(3600), 1)
    n = 300  # 20 s: the left forearm swinging
    poses = np.tile(skeleton.MEAN_DIR_VEC, (n, 1))
    angle = 0.8 * np.sin(2 * np.pi * 0.7 * np.arange(n) / 15.0)
    poses[:, 15:18] = np.stack([np.zeros(n), -np.sin(angle), np.cos(angle)], axis=1)
    while pub.get_subscription_count() < 1:
        rclpy.spin_once(node, timeout_sec=0.1)
    start = node.get_clock().now().nanoseconds + c.NS_PER_S // 2
    pub.publish(c.encode_human_pose(msg_class(c.HUMAN_POSE)(), c.GestureSequence("long", start, poses, 0)))
    rclpy.spin(node)
    """
)


@pytest.mark.parametrize("fault", ["killed", "stuck"])
def test_the_retargeter_rests_the_robot_when_its_generator_is_killed_or_stuck_mid_gesture(ros, fault):
    from std_msgs.msg import String

    from test_retarget_node import CFG, LIMITS, Retarget, gesture, pose_msg

    node = Retarget(ros)
    rest = node.received[0].positions[0]
    stall = ros.node.create_publisher(String, "test/stall", 1)
    generator = subprocess.Popen([sys.executable, "-c", GENERATOR])
    try:
        ros.spin_until(lambda: any(r.utterance_id == "long" for r in node.received), 60.0, "the long gesture")
        ros.wait_for_subscribers(stall, timeout=30)
        ros.spin_for(1.5)  # mid-gesture
        killed = node.now_ns()
        if fault == "killed":
            generator.send_signal(signal.SIGKILL)
            generator.wait()
        else:  # alive, but stuck in a callback
            stall.publish(String(data="hang"))
            assert generator.wait(timeout=c.STALL_S + 30) == 1  # ended by its stall limit
        ros.spin_until(lambda: node.received[-1].utterance_id == "rest", 10.0, "the safe stop")
        stop = node.received[-1]
        # noticed within the lease (plus STALL_S for a stuck node) and REACTION_S
        noticed = (stop.stamp_ns - killed) / c.NS_PER_S
        assert noticed < c.LIVELINESS_LEASE_S + (c.STALL_S if fault == "stuck" else 0.0) + REACTION_S, noticed
        # then at rest as fast as the limits allow from the commanded state (the stop's first point)
        fastest = fastest_stop_all(
            stop.positions[0], stop.velocities[0], rest, LIMITS.velocity, LIMITS.acceleration
        )
        assert stop.times[-1] <= fastest + 8 / CFG.controller_rate_hz, (stop.times[-1], fastest)
        np.testing.assert_allclose(stop.positions[-1], rest, atol=1e-6)  # and ends at rest
        print(f"{fault}: noticed after {noticed:.2f} s, at rest {noticed + stop.times[-1]:.2f} s after the "
              f"fault (the limits allow the stop in {fastest:.2f} s)")
        assert "returning to the rest pose now" in node.proc.log() and node.proc.alive()
        # the next normal utterance (a restarted generator) is gestured
        cmd = node.answer(pose_msg("next", node.now_ns() + c.NS_PER_S, gesture(30)), "next")
        assert cmd.times[-1] >= 29 / 15.0
    finally:
        generator.kill()
        generator.wait()


def test_the_ros2_control_watchdog_rests_the_robot_when_the_retargeter_is_killed(ros):
    """The trajectory watchdog of sim:=none|gazebo, with the MuJoCo sim standing in for JTC (it
    executes what arrives on the trajectory topic): the retargeter is killed mid-gesture, the
    watchdog sends the fastest rest trajectory within the limits from the measured state."""
    from gesture_msgs.msg import GestureSequence

    from test_retarget_node import CFG, LIMITS, gesture, pose_msg

    listener, _ = start_sim(ros, config_file=str(default_config_path()))
    sent: list[c.JointCommand] = []
    ros.node.create_subscription(
        JointTrajectory, c.JOINT_TRAJECTORY.name, lambda m: sent.append(c.decode_joint_trajectory(m)), 50
    )
    watchdog = ros.start("gesture_ros.watchdog_node")
    retarget = ros.start("gesture_ros.retarget_node")
    poses = ros.node.create_publisher(GestureSequence, c.HUMAN_POSE.name, 10)
    ros.wait_for_subscribers(poses, timeout=60.0)
    ros.spin_until(lambda: "watching the publishers" in watchdog.log(), 60.0, "the watchdog")
    ros.spin_until(lambda: any(s.utterance_id == c.REST_ID for s in sent), 60.0, "the start-up rest pose")
    poses.publish(pose_msg("swing", ros.node.get_clock().now().nanoseconds + 3 * c.NS_PER_S, gesture(150)))
    ros.spin_until(lambda: any(s.utterance_id == "swing" for s in sent), 30.0, "the gesture")
    ros.spin_for(4.0)  # mid-gesture
    since, killed = len(sent), ros.node.get_clock().now().nanoseconds
    ros.procs.remove(retarget)  # its death is the test, not a failure
    retarget.proc.send_signal(signal.SIGKILL)
    retarget.proc.wait()
    ros.spin_until(lambda: len(sent) > since, 10.0, "the watchdog's rest trajectory")
    (stop,) = sent[since:]
    assert stop.utterance_id == c.REST_ID and stop.stamp_ns == 0  # now, from the measured state
    assert stop.joint_names == CFG.joint_names
    lo, hi = LIMITS.lower - 1e-6, LIMITS.upper + 1e-6
    assert np.all(stop.positions >= lo) and np.all(stop.positions <= hi)
    assert np.all(np.abs(stop.velocities) <= LIMITS.velocity * (1 + 1e-6))
    startup = next(s for s in sent if s.utterance_id == c.REST_ID)  # the retargeter's rest pose
    np.testing.assert_allclose(stop.positions[-1], startup.positions[-1], atol=1e-6)
    rest = dict(zip(CFG.joint_names, stop.positions[-1]))
    ros.spin_until(lambda: listener.at(rest), 10.0, "the robot at rest")
    at_rest = (listener.states[-1][0] - killed) / c.NS_PER_S
    print(f"watchdog: rest sent after the kill, the robot at rest {at_rest:.2f} s after it")
    assert "watchdog:" in watchdog.log() and watchdog.alive()
