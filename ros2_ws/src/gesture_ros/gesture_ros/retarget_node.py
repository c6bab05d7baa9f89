"""Retarget node: human gestures (TED poses) -> safe robot joint trajectories.

Subscribes ``gesture/human_pose`` and publishes ``joint_trajectory`` (the topic interface of a
ros2_control joint_trajectory_controller) through :class:`gesture_core.retarget.motion.MotionPlanner`:
retargeting onto the robot of ``config_file``, then the safety stage (limits, smoothing,
controller-rate resampling, joined to the commanded state).

- ``header.stamp`` = utterance start + first frame time, ``header.frame_id`` = utterance id;
  a streaming window (``first_frame > 0``) continues its utterance. A message whose first frame
  is already past is cut to what is still to come and starts from the commanded state now (logged).
- When gestures stop, the robot holds its last posture for ``rest_hold_time`` and then blends to
  the rest pose over ``rest_blend_time``.
- A ``cancel`` event on ``speech/utterance`` (a canceled ``say`` goal) stops that utterance's
  motion now: the robot blends from its commanded state to rest over ``rest_blend_time``, and later
  gestures of the utterance are dropped (logged).
- At start-up, once a controller subscribes, the rest pose is commanded (one point,
  ``rest_blend_time`` ahead) so the robot starts in a known posture; so is it whenever another
  controller subscribes while the robot is idle.

Every tunable parameter is live: a change applies to the next message. Bad messages (wrong
layout, NaN, ...) are logged and dropped.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from gesture_core import contracts as c
from gesture_core.errors import ConfigError
from gesture_core.retarget.config import RetargetConfig, default_config_path, load_config
from gesture_core.retarget.motion import MotionPlanner
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node
from trajectory_msgs.msg import JointTrajectoryPoint

from .ros_io import Param, declare_params, guarded, msg_class, run_node

#: Node parameter -> the RetargetConfig setting it overrides (see RetargetConfig.with_overrides).
SETTINGS = {
    "amplitude_scale": "amplitude_scale",
    "speed_scale": "speed_scale",
    "smoothing_cutoff_hz": "smoothing_cutoff_hz",
    "limit_margin": "limits_margin",
    "rest_hold_time": "rest_hold_time",
    "rest_blend_time": "rest_blend_time",
    "controller_rate": "controller_rate_hz",
}
#: Period of the timer that watches for the end of the gestures (s).
WATCH_PERIOD_S = 0.05


def tunable_params(cfg: RetargetConfig) -> list[Param]:
    """The live parameters, defaulting to the values of the loaded config file."""
    return [
        Param("amplitude_scale", cfg.amplitude_scale, "scale of the gestures around the mean pose (1: as generated)",
              range=(0.0, 3.0)),
        Param("speed_scale", cfg.speed_scale, "scale of the velocity limits (acceleration: squared); <= 1",
              range=(0.05, 1.0)),
        Param("smoothing_cutoff_hz", cfg.smoothing_cutoff_hz, "low-pass cutoff of the safety stage (Hz)",
              range=(0.1, 450.0)),
        Param("limit_margin", cfg.limits.margin, "kept clear of every joint position limit (rad)", range=(0.0, 0.5)),
        Param("rest_hold_time", cfg.rest_hold_time, "hold of the last posture before returning to rest (s)",
              range=(0.0, 10.0)),
        Param("rest_blend_time", cfg.rest_blend_time, "duration of the return to the rest pose (s)",
              range=(0.1, 10.0)),
        Param("controller_rate", cfg.controller_rate_hz, "rate of the trajectory points (Hz)", range=(10.0, 1000.0)),
    ]  # fmt: skip


class RetargetNode(Node):
    def __init__(self) -> None:
        super().__init__("retarget")
        static = declare_params(
            self, [Param("config_file", "", "retarget YAML (empty: the bundled retarget_humanoid.yaml)", dynamic=False)]
        )
        path = static["config_file"] or default_config_path()
        cfg = load_config(path)
        self._values = declare_params(self, tunable_params(cfg), on_change=self._on_params)
        self._planner = MotionPlanner(self._config(cfg, self._values))
        self.add_on_set_parameters_callback(self._check_params)
        self._Trajectory = msg_class(c.JOINT_TRAJECTORY)
        self._pub = self.create_publisher(self._Trajectory, c.JOINT_TRAJECTORY.name, c.JOINT_TRAJECTORY.depth)
        topic = c.HUMAN_POSE
        self.create_subscription(msg_class(topic), topic.name, guarded(self, topic.name)(self._on_pose), topic.depth)
        topic = c.UTTERANCE
        self.create_subscription(msg_class(topic), topic.name, guarded(self, topic.name)(self._on_event), topic.depth)
        self._moving: str | None = None  # utterance id of the last gesture commanded
        self._canceled: deque[str] = deque(maxlen=64)
        self._listeners = 0  # subscribers of joint_trajectory at the last watch
        self.create_timer(WATCH_PERIOD_S, self._watch)
        self.get_logger().info(
            f"retargeting onto {self._planner.robot.name} ({len(self._planner.joint_names)} joints) with {path}"
        )

    # -- parameters -------------------------------------------------------------------------------

    @staticmethod
    def _config(base: RetargetConfig, values: dict) -> RetargetConfig:
        return base.with_overrides(**{SETTINGS[k]: v for k, v in values.items() if k in SETTINGS})

    def _check_params(self, changes: list) -> SetParametersResult:
        """Refuse a combination the robot cannot take (cutoff above Nyquist, margin wider than a
        joint's range, ...), naming the setting."""
        values = {**self._values, **{ch.name: ch.value for ch in changes if ch.name in SETTINGS}}
        try:
            self._planner.check(self._config(self._planner.cfg, values))
        except ConfigError as exc:
            self.get_logger().warning(f"rejected parameter change: {exc}")
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _on_params(self, changes: dict) -> None:
        self._values.update(changes)
        self._planner.configure(self._config(self._planner.cfg, self._values))
        self.get_logger().info(f"settings changed (from the next message on): {changes}")

    # -- gestures in, trajectories out ------------------------------------------------------------

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _publish(self, cmd: c.JointCommand) -> None:
        self._pub.publish(c.encode_joint_trajectory(self._Trajectory(), cmd, JointTrajectoryPoint))

    def _on_pose(self, msg: object) -> None:
        seq = c.decode_human_pose(msg)
        if seq.utterance_id in self._canceled:
            self.get_logger().info(f"{seq.utterance_id}: canceled; its gestures (frame {seq.first_frame} on) dropped")
            return
        began = time.perf_counter()
        cmd = self._planner.plan_gesture(seq, self._now_ns())
        if cmd is None:
            return
        self._publish(cmd)
        self._moving = seq.utterance_id
        self.get_logger().info(
            f"{seq.utterance_id}: frames {seq.first_frame}-{seq.first_frame + len(seq.poses) - 1} -> "
            f"{len(cmd.times)} points over {cmd.times[-1]:.2f} s "
            f"(planned in {1000 * (time.perf_counter() - began):.0f} ms)"
        )

    def _on_event(self, msg: object) -> None:
        ev = c.decode_utterance(msg)
        if ev.event != "cancel":
            return
        self._canceled.append(ev.utterance_id)
        now = self._now_ns()
        end = self._planner.end_ns
        if self._moving == ev.utterance_id and end is not None and (now < end or not self._planner.resting()):
            self._publish(self._planner.plan_rest(now))
            self._moving = None
            self.get_logger().info(f"{ev.utterance_id}: canceled; returning to the rest pose now")

    def _watch(self) -> None:
        """Rest command for a controller that starts listening while the robot is idle (at
        start-up: once); back to rest when the gestures stop."""
        now = self._now_ns()
        end = self._planner.end_ns
        idle = self._planner.resting() and (end is None or now >= end)
        listeners = self._pub.get_subscription_count()
        if listeners > self._listeners and idle:
            self._publish(self._planner.plan_startup(now))
            self.get_logger().info(f"commanded the rest pose ({listeners} controller(s) listening)")
        if listeners < self._listeners or idle:  # a newcomer during a motion is served once idle
            self._listeners = listeners
        hold = round(self._planner.cfg.rest_hold_time * c.NS_PER_S)
        if end is not None and not self._planner.resting() and now >= end + hold:
            self._publish(self._planner.plan_rest(now))
            self.get_logger().info("no more gestures: returning to the rest pose")


def main(args: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    return run_node(RetargetNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
