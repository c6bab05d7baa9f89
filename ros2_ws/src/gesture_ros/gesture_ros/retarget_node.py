"""Retarget node: human gestures (TED poses) -> safe robot joint trajectories.

Subscribes ``gesture/human_pose`` and publishes ``joint_trajectory`` (the topic interface of a
ros2_control joint_trajectory_controller) through :class:`gesture_core.retarget.motion.MotionPlanner`:
retargeting onto the robot of ``config_file``, then the safety stage (limits, smoothing,
controller-rate resampling, joined to the commanded state).

- ``header.stamp`` = utterance start + first frame time, ``header.frame_id`` = utterance id;
  a streaming window (``first_frame > 0``) continues its utterance. A message whose first frame
  is already past is cut to what is still to come and starts from the commanded state now (logged).
- **Bounded work, planned in time**: a message is planned in pieces of at most
  :data:`~gesture_core.retarget.motion.MAX_PLAN_FRAMES` frames (10 s), each once its first frame is
  due within :data:`PLAN_AHEAD_S` (the first at once), so no plan blocks the node for long. Each
  piece is stamped no earlier than *now plus the time its planning is expected to take*
  (:class:`~gesture_core.retarget.motion.PlanningTime`, measured at start-up and learned from every
  plan): frames that would be past when the plan is ready are cut before planning, so a command
  never starts in the past. A message of another utterance drops the pieces not yet planned.
- When gestures stop, the robot holds its last posture for ``rest_hold_time`` and then blends to
  the rest pose over ``rest_blend_time``.
- A ``cancel`` event on ``speech/utterance`` (a canceled ``say`` goal) stops that utterance's
  motion now: the robot blends from its commanded state to rest over ``rest_blend_time``, and later
  gestures of the utterance are dropped (logged).
- At start-up, once a controller subscribes, the rest pose is commanded (one point,
  ``rest_blend_time`` ahead) so the robot starts in a known posture; so is it whenever another
  controller subscribes while the robot is idle.
- **Safe stop**: when a publisher of ``gesture/human_pose``, ``speech/utterance``,
  ``speech/words`` or ``speech/features`` (the generator, the speech source, ``asr``,
  ``audio_features``: every node upstream) dies, freezes or leaves (its liveliness lease,
  ``ros_io.watch_publishers``, runs out: within about ``LIVELINESS_LEASE_S``, 0.5 s) or is stuck in
  a callback (its process ends after ``STALL_S``, 5 s) while the robot moves, the robot returns to rest from
  its commanded state as fast as its velocity and acceleration limits allow
  (``MotionPlanner.plan_stop``; logged); the node lives on for the restarted upstream.

Every tunable parameter is live: a change applies to the next message. Bad messages (wrong
layout, NaN, ...) are logged and dropped.
"""

from __future__ import annotations

import logging
import time
from collections import deque

from gesture_core import contracts as c
from gesture_core.errors import ConfigError
from gesture_core.node_settings import RETARGET_CONFIG_KEYS, RetargetFileSettings, RetargetSettings
from gesture_core.retarget.config import RetargetConfig, default_config_path, load_config
from gesture_core.retarget.motion import FIRST_PLAN_FRAMES, MAX_PLAN_FRAMES, MotionPlanner, split_sequence
from trajectory_msgs.msg import JointTrajectoryPoint

from .ros_io import GestureNode, NodeSettings, guarded, msg_class, publisher_qos, run_node, watch_publishers

#: Period of the timer that watches for the end of the gestures and plans the pieces due (s).
WATCH_PERIOD_S = 0.05
#: The topics of every node upstream (generator, speech source, asr, audio_features): when a
#: publisher of one of them dies or stalls, the robot rests.
UPSTREAM = (c.HUMAN_POSE, c.UTTERANCE, c.WORDS, c.FEATURES)
#: A piece of a gesture is planned once its first frame is due within this many seconds (or within its
#: expected planning time, if that is longer).
PLAN_AHEAD_S = 2.0


class RetargetNode(GestureNode):
    def __init__(self) -> None:
        super().__init__("retarget")
        path = NodeSettings(self, RetargetFileSettings).value.config_file or default_config_path()
        cfg = load_config(path)
        defaults = {name: _config_value(cfg, key) for name, key in RETARGET_CONFIG_KEYS.items()}
        self._planner: MotionPlanner | None = None
        self._s = NodeSettings(self, RetargetSettings, defaults=defaults, check=self._problem, on_change=self._on_settings)
        self._planner = MotionPlanner(self._config(cfg, self._s.value))
        self._Trajectory = msg_class(c.JOINT_TRAJECTORY)
        topic = c.JOINT_TRAJECTORY
        self._pub = self.create_publisher(self._Trajectory, topic.name, publisher_qos(topic))
        for upstream in UPSTREAM:
            watch_publishers(self, upstream, self._on_upstream_gone)
        topic = c.HUMAN_POSE
        self.create_subscription(msg_class(topic), topic.name, self._on_pose, topic.depth)
        topic = c.UTTERANCE
        self.create_subscription(msg_class(topic), topic.name, self._on_event, topic.depth)
        self._moving: str | None = None  # utterance id of the last gesture commanded
        self._canceled: deque[str] = deque(maxlen=64)
        self._pending: deque[c.GestureSequence] = deque()  # pieces of one utterance not yet planned
        took = self._planner.warm_up()
        self._listeners = 0  # subscribers of joint_trajectory at the last watch
        self.create_timer(WATCH_PERIOD_S, self._watch)
        self.get_logger().info(
            f"retargeting onto {self._planner.robot.name} ({len(self._planner.joint_names)} joints) with {path}; "
            f"a 2 s gesture plans in {took:.2f} s"
        )

    # -- parameters -------------------------------------------------------------------------------

    @staticmethod
    def _config(base: RetargetConfig, s: RetargetSettings) -> RetargetConfig:
        return base.with_overrides(**{key: getattr(s, name) for name, key in RETARGET_CONFIG_KEYS.items()})

    def _problem(self, candidate: RetargetSettings) -> str | None:
        """Why the robot cannot take ``candidate`` (a margin wider than a joint's range, ...), or None."""
        if self._planner is None:
            return None  # start-up: MotionPlanner checks the first settings itself
        try:
            self._planner.check(self._config(self._planner.cfg, candidate))
        except ConfigError as exc:
            return str(exc)
        return None

    def _on_settings(self, settings: RetargetSettings, changes: set[str]) -> None:
        assert self._planner is not None
        self._planner.configure(self._config(self._planner.cfg, settings))
        self.get_logger().info(f"settings changed (from the next message on): {sorted(changes)}")

    # -- gestures in, trajectories out ------------------------------------------------------------

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _publish(self, cmd: c.JointCommand) -> None:
        self._pub.publish(c.encode_joint_trajectory(self._Trajectory(), cmd, JointTrajectoryPoint))

    def _on_pose(self, msg: object) -> None:
        seq = c.decode_human_pose(msg, self._now_ns())
        if seq.utterance_id in self._canceled:
            self.get_logger().info(f"{seq.utterance_id}: canceled; its gestures (frame {seq.first_frame} on) dropped")
            return
        self._drop_pending(f"{seq.utterance_id} takes over", keep=seq.utterance_id)
        # A message that could not be planned whole before its first frame is due is planned in short
        # pieces, its first second first and each next one while the previous plays (split_sequence),
        # instead of losing its start (or, with one long second piece, the frames after the first second).
        lead_s = (seq.start_ns - self._now_ns()) / c.NS_PER_S + seq.first_frame / c.GESTURE_FPS
        if lead_s < self._planner.timing.estimate(min(len(seq.poses), MAX_PLAN_FRAMES)):
            pieces = split_sequence(seq, max_frames=2 * FIRST_PLAN_FRAMES, first_frames=FIRST_PLAN_FRAMES)
        else:
            pieces = split_sequence(seq)
        self._pending.extend(pieces)
        self._plan_due()

    def _drop_pending(self, why: str, keep: str | None = None) -> None:
        """Forget the pieces not yet planned (unless they belong to utterance ``keep``)."""
        if self._pending and self._pending[0].utterance_id != keep:
            frames = sum(len(p.poses) for p in self._pending)
            self.get_logger().info(f"{self._pending[0].utterance_id}: {frames} frames not yet planned dropped: {why}")
            self._pending.clear()

    def _plan_due(self) -> None:
        """Plan the next piece if its first frame is due within PLAN_AHEAD_S (one piece per call)."""
        if not self._pending:
            return
        piece = self._pending[0]
        now = self._now_ns()
        first_ns = piece.start_ns + round(piece.first_frame * c.NS_PER_S / c.GESTURE_FPS)
        budget_s = self._planner.timing.estimate(len(piece.poses))
        if first_ns - now > max(PLAN_AHEAD_S, 2 * budget_s) * c.NS_PER_S:
            return
        self._pending.popleft()
        began = time.perf_counter()
        cmd = self._planner.plan_gesture(piece, now, budget_s)
        if cmd is None:
            return
        self._publish(cmd)
        self._moving = piece.utterance_id
        self.get_logger().info(
            f"{piece.utterance_id}: frames {piece.first_frame}-{piece.first_frame + len(piece.poses) - 1} -> "
            f"{len(cmd.times)} points over {cmd.times[-1]:.2f} s from {(cmd.stamp_ns - now) / c.NS_PER_S:+.2f} s "
            f"(planned in {1000 * (time.perf_counter() - began):.0f} ms)"
        )

    def _on_event(self, msg: object) -> None:
        ev = c.decode_utterance(msg, self._now_ns())
        if ev.event != "cancel":
            return
        self._canceled.append(ev.utterance_id)
        if self._pending and self._pending[0].utterance_id == ev.utterance_id:
            self._drop_pending("canceled")
        now = self._now_ns()
        end = self._planner.end_ns
        if self._moving == ev.utterance_id and end is not None and (now < end or not self._planner.resting()):
            self._publish(self._planner.plan_rest(now))
            self._moving = None
            self.get_logger().info(f"{ev.utterance_id}: canceled; returning to the rest pose now")

    def _on_upstream_gone(self, why: str) -> None:
        """Safe stop: an upstream node died, froze or is stuck; rest now, as fast as the limits
        allow, if the robot moves."""
        now = self._now_ns()
        end = self._planner.end_ns
        if end is not None and (now < end or not self._planner.resting()):
            self.get_logger().warning(f"{why}: returning to the rest pose now")
            self._drop_pending(why)
            self._publish(self._planner.plan_stop(now))
            self._moving = None
        else:
            self.get_logger().warning(f"{why}; the robot is at rest")

    def _watch(self) -> None:
        """Plan the piece that is due; rest command for a controller that starts listening while the
        robot is idle (at start-up: once); back to rest when the gestures stop."""
        self._plan_due()
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


def _config_value(cfg: RetargetConfig, key: str) -> float:
    """The value of a :meth:`RetargetConfig.with_overrides` key in ``cfg`` (``limits_margin``: limits.margin)."""
    return float(cfg.limits.margin if key == "limits_margin" else getattr(cfg, key))


def main(args: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    return run_node(RetargetNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
