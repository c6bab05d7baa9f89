"""Trajectory watchdog: beside a ros2_control ``joint_trajectory_controller``, rests the robot when
the retargeter is gone.

JTC does not rest a robot whose commander died: it finishes the trajectory it holds and then holds
its last point, arms raised. This node watches the publishers of ``joint_trajectory`` (remapped,
as the retargeter's output is, to the controller's topic) with the contract's liveliness
(``ros_io.watch_publishers``): when the retargeter dies, freezes, is stuck (``STALL_S``) or leaves,
it publishes on that topic the fastest trajectory to the rest pose that the robot config's
velocity and acceleration limits allow (``SafetyStage.stop_at``), from the last measured
``joint_states`` (stamp 0: JTC starts it now). Without joint states yet it sends the rest pose as
one point ``rest_blend_time`` ahead (JTC interpolates from the actual state; logged).

Its own publisher offers no liveliness lease, so neither it nor the sim's watchdog takes it for a
commander to watch. Parameters: ``config_file`` (the robot config, as the retargeter's).
"""

from __future__ import annotations

import logging
import sys

import numpy as np
from gesture_core import contracts as c
from gesture_core.node_settings import WatchdogSettings
from gesture_core.retarget.config import default_config_path, load_config, resolve_urdf, safety_limits
from gesture_core.retarget.safety import JointState, SafetyStage
from gesture_core.robot import parse_urdf
from trajectory_msgs.msg import JointTrajectoryPoint

from .ros_io import GestureNode, NodeSettings, msg_class, run_node, watch_publishers


class WatchdogNode(GestureNode):
    def __init__(self) -> None:
        super().__init__("trajectory_watchdog")
        path = NodeSettings(self, WatchdogSettings).value.config_file or default_config_path()
        self._cfg = load_config(path)
        self._names = list(self._cfg.joint_names)
        limits = safety_limits(self._cfg, parse_urdf(resolve_urdf(self._cfg)))
        self._stage = SafetyStage(limits, self._cfg.controller_rate_hz, self._cfg.smoothing_cutoff_hz)
        rest = self._cfg.rest_pose
        self._rest = np.clip([rest.get(n, 0.0) for n in self._names], limits.lower, limits.upper)
        self._state: JointState | None = None  # last measured state of the controlled joints
        self._Trajectory = msg_class(c.JOINT_TRAJECTORY)
        self._pub = self.create_publisher(self._Trajectory, c.JOINT_TRAJECTORY.name, c.JOINT_TRAJECTORY.depth)
        topic = c.JOINT_STATES
        self.create_subscription(msg_class(topic), topic.name, self._on_state, topic.depth)
        watch_publishers(self, c.JOINT_TRAJECTORY, self._on_commander_gone)
        self.get_logger().info(
            f"watching the publishers of {self.resolve_topic_name(c.JOINT_TRAJECTORY.name)} for "
            f"{len(self._names)} joints of {path}"
        )

    def _on_state(self, msg: object) -> None:
        index = {name: i for i, name in enumerate(msg.name)}
        if any(n not in index for n in self._names):
            return  # another robot's or a partial state: keep the last complete one
        q = np.array([msg.position[index[n]] for n in self._names], dtype=float)
        v = np.zeros_like(q)
        if len(msg.velocity) == len(msg.name):
            v = np.array([msg.velocity[index[n]] for n in self._names], dtype=float)
        self._state = JointState(q, v)

    def _on_commander_gone(self, why: str) -> None:
        if self._state is None:
            times = np.array([self._cfg.rest_blend_time])
            positions, velocities = self._rest[None, :], np.zeros((1, len(self._names)))
            how = f"the rest pose in {self._cfg.rest_blend_time} s (no joint states yet)"
        else:
            traj = self._stage.stop_at(self._rest, self._state)
            times, positions, velocities = traj.times[1:], traj.positions[1:], traj.velocities[1:]
            if len(times) == 0:  # at rest already: hold it
                times, positions, velocities = np.array([self._stage.dt]), traj.positions, traj.velocities
            how = f"at rest in {times[-1]:.2f} s, as fast as the limits allow"
        cmd = c.JointCommand(c.REST_ID, 0, self._names, times, positions, velocities)
        self._pub.publish(c.encode_joint_trajectory(self._Trajectory(), cmd, JointTrajectoryPoint))
        self.get_logger().warning(f"watchdog: {why}; sent the controller the robot's rest pose ({how})")


def main(args: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    return run_node(WatchdogNode, args)


if __name__ == "__main__":
    sys.exit(main())
