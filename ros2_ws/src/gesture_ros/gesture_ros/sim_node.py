"""MuJoCo simulation node: the simulated robot that executes joint trajectories.

Subscribes to ``joint_trajectory`` and executes each trajectory with joint_trajectory_controller
semantics (:class:`gesture_core.sim.Simulator`); publishes ``joint_states`` (every joint's
position, velocity and effort, ``publish_rate`` times per sim second), ``/clock`` (sim time) and,
with ``render:=true``, ``sim/image`` (rgb8 frames from the front camera, ``render_rate`` per sim
second; rendering runs in the node's one thread, so large frames slow the simulation down) and,
with ``viewer:=true`` and a display, shows MuJoCo's interactive viewer.

Time: sim time 0 is the ROS time at which the node started; ``/clock`` and every stamp it
publishes are that start time plus the sim time, so with ``real_time_factor`` 1 they track the
system clock and nodes may use either. A trajectory's ``header.stamp`` is mapped back the same
way; stamp 0 means "start now" (as in JTC), and a stamp in the past skips the points already due
(the trajectory is joined from where the robot is, within its limits).
The simulation runs ``real_time_factor`` times faster than the wall clock, so its clock runs
ahead of (or behind) the system clock: that is for nodes that use sim time (``use_sim_time``) or
trajectories stamped 0. At every change of ``real_time_factor`` the sim clock is tied to the ROS
time again (``/clock`` jumps by the difference, logged), so back at 1 it tracks it as before.
If the simulation falls behind by more than 0.1 s (a slow machine), the lost time is dropped
rather than caught up, and the origin of the sim clock moves with it, so stamps stay on the ROS
clock; so do the trajectories already scheduled (they move with the origin: motion stays on time
with the speech, skipping what was lost). The total dropped while a trajectory played is logged
when it ends, once per utterance.

The robot is that of ``config_file`` (a robot config: its URDF, skeleton points, mesh paths, the
rest values at which joints outside the chains are held and its limits), or of
``robot_description_file`` alone (a URDF; joints rest at 0); with neither, the bundled
humanoid's config.

Safety, whatever sends the trajectories (:class:`gesture_core.sim.Simulator`):

- every motion stays within the robot's position, velocity and acceleration limits; targets
  beyond them are logged and held back;
- invalid trajectories and those naming unknown joints are logged and dropped; a trajectory of
  more than :data:`~gesture_core.contracts.MAX_TRAJECTORY_POINTS` points is refused by its size,
  before it is decoded; trajectories are decoded beside the simulation (a thread), so a large one
  never stalls ``joint_states``;
- **watchdog**: when a publisher of ``joint_trajectory`` that asserts liveliness (the retargeter)
  dies, freezes or leaves, the robot returns to its rest pose at once, as fast as its limits allow.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections import deque

os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; must be set before mujoco loads

from rclpy.serialization import deserialize_message  # noqa: E402

from gesture_core import contracts as c  # noqa: E402
from gesture_core.errors import GestureError  # noqa: E402
from gesture_core.node_settings import SimSettings  # noqa: E402
from gesture_core.retarget.config import default_config_path, load_config  # noqa: E402
from gesture_core.sim import Renderer, Simulator  # noqa: E402
from gesture_core.sim.clock import Pacer, SimClock  # noqa: E402

from .ros_io import GestureNode, NodeSettings, guarded, msg_class, run_node, watch_publishers  # noqa: E402

#: Shortest wall period of the simulation timer (s).
MIN_TICK_S = 0.002
#: A trajectory starting more than this before the current sim time is reported late (s).
LATE_S = 0.02
#: Serialized bytes of one trajectory point per joint (positions, velocities, accelerations and
#: efforts as float64) and per point (their four lengths, alignment, time_from_start), at most.
POINT_BYTES_PER_JOINT, POINT_BYTES = 32, 48
#: Serialized bytes of a trajectory's header and of each joint name, at most (generous).
HEADER_BYTES, NAME_BYTES = 4096, 260


def trajectory_points(data: bytes) -> int | None:
    """The number of points of a serialized ``trajectory_msgs/JointTrajectory`` (CDR, either byte
    order), read from its header without decoding the message; None if the bytes end first."""
    order = "little" if data[1:2] == b"\x01" else "big"  # encapsulation: 0x0000 CDR_BE, 0x0001 CDR_LE
    offset = 4 + 8  # encapsulation, header.stamp (sec, nanosec)

    def u32() -> int:
        nonlocal offset
        offset += -(offset - 4) % 4  # 4-byte alignment, relative to the encapsulation
        value = int.from_bytes(data[offset : offset + 4], order)
        offset += 4
        return value

    length = u32()  # header.frame_id: length (with its NUL), characters
    offset += length
    for _ in range(u32()):  # joint_names
        length = u32()
        offset += length
        if offset > len(data):
            return None
    points = u32()
    return points if offset <= len(data) else None


class SimNode(GestureNode):
    def __init__(self) -> None:
        super().__init__("mujoco_sim")
        self._s = NodeSettings(self, SimSettings, on_change=self._on_settings)
        urdf, config_file = self._s.value.robot_description_file, self._s.value.config_file
        config = load_config(config_file or default_config_path()) if config_file or not urdf else None
        self._sim = Simulator(urdf or None, config=config)
        self._playing: tuple[str, float] | None = None  # utterance id and sim end time of the latest trajectory
        self._dropped = (0.0, 0)  # sim seconds dropped while it played, and how many times
        self._sim_clock = SimClock(self.get_clock().now().nanoseconds)
        self._pacer: Pacer | None = None  # started by the first tick, once the node spins
        self._JointState, self._Clock, self._Image = (
            msg_class(c.JOINT_STATES),
            msg_class(c.CLOCK),
            msg_class(c.SIM_IMAGE),
        )
        self._state_pub = self.create_publisher(self._JointState, c.JOINT_STATES.name, c.JOINT_STATES.depth)
        self._clock_pub = self.create_publisher(self._Clock, c.CLOCK.name, c.CLOCK.depth)
        self._image_pub = self.create_publisher(self._Image, c.SIM_IMAGE.name, c.SIM_IMAGE.depth)
        topic = c.JOINT_TRAJECTORY
        self._Trajectory = msg_class(topic)
        joints = len(self._sim.joint_names)
        #: Largest serialized trajectory that may hold MAX_TRAJECTORY_POINTS points of this robot's joints.
        self._max_bytes = (
            HEADER_BYTES + NAME_BYTES * joints + c.MAX_TRAJECTORY_POINTS * (POINT_BYTES + POINT_BYTES_PER_JOINT * joints)
        )
        self.create_subscription(self._Trajectory, topic.name, self._on_trajectory_bytes, topic.depth, raw=True)
        self._undecoded: queue.Queue[bytes | None] = queue.Queue(maxsize=topic.depth)
        self._decoded: deque[c.JointCommand] = deque()  # appended by the decoder thread, run by the tick
        self._decoder = threading.Thread(target=self._decode_loop, name="trajectory-decoder", daemon=True)
        self._decoder.start()
        watch_publishers(self, topic, self._on_commander_gone)
        self._renderer: Renderer | None = None
        self._next_frame = 0.0  # sim time of the next rendered frame (s)
        self._set_render(self._s.value.render)
        self._viewer = self._open_viewer() if self._s.value.viewer else None
        self._timer = self.create_timer(self._tick_period(), self._tick)
        self.get_logger().info(
            f"simulating {self._sim.description.name} ({len(self._sim.joint_names)} joints) from "
            f"{self._sim.urdf_path} at {self._s.value.real_time_factor:g}x real time"
        )

    # -- parameters -------------------------------------------------------------------------------

    def _on_settings(self, _settings: SimSettings, changes: set[str]) -> None:
        if "real_time_factor" in changes and self._pacer is not None:
            self._pacer.set_rate(self._s.value.real_time_factor, time.monotonic(), self._sim.time)
            self._anchor_clock()
        if "publish_rate" in changes or "real_time_factor" in changes:
            self._timer.cancel()
            self.destroy_timer(self._timer)
            self._timer = self.create_timer(self._tick_period(), self._tick)
        if "render" in changes:
            self._set_render(self._s.value.render)

    def _tick_period(self) -> float:
        return max(MIN_TICK_S, 1.0 / (self._s.value.publish_rate * self._s.value.real_time_factor))

    def _set_render(self, on: bool) -> None:
        if on and self._renderer is None:
            self._renderer = Renderer(self._sim.model, self._s.value.render_width, self._s.value.render_height)
            self._next_frame = self._sim.time
        elif not on and self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def _open_viewer(self):
        """MuJoCo's passive viewer on the display, or None (logged) when there is none."""
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            self.get_logger().error("viewer requested but there is no display (DISPLAY unset); running headless")
            return None
        import mujoco.viewer

        try:
            viewer = mujoco.viewer.launch_passive(self._sim.model, self._sim.data)
        except Exception as exc:  # no usable OpenGL on the display: keep simulating headless
            self.get_logger().error(f"cannot open the MuJoCo viewer: {exc}; running headless")
            return None
        self.get_logger().info(f"viewer open on display {os.environ.get('DISPLAY')}")
        return viewer

    def _anchor_clock(self) -> None:
        """Tie the sim clock to the ROS time now (after running at another real-time factor, it
        ran ahead of it or behind it); the trajectories scheduled stay at their sim times."""
        old = self._sim_clock.origin_ns
        self._sim_clock = SimClock(self.get_clock().now().nanoseconds - round(self._sim.time * c.NS_PER_S))
        jump = (self._sim_clock.origin_ns - old) / c.NS_PER_S
        if abs(jump) > LATE_S:
            self.get_logger().warning(
                f"real_time_factor is now {self._s.value.real_time_factor:g}: the sim clock is tied to the ROS "
                f"time again (/clock moved {jump:+.3f} s)"
            )

    # -- input ------------------------------------------------------------------------------------

    def _on_trajectory_bytes(self, data: bytes) -> None:
        """Executor thread: refuse a trajectory too large to be valid by its size alone, queue the
        others for the decoder thread."""
        if len(data) > self._max_bytes:
            self.get_logger().error(
                f"refused a joint trajectory of {len(data) / 1e6:.1f} MB: more than {c.MAX_TRAJECTORY_POINTS} points "
                f"of {len(self._sim.joint_names)} joints cannot be that large (send long motions in parts)"
            )
            return
        points = trajectory_points(data)
        if points is None or points > c.MAX_TRAJECTORY_POINTS:
            why = "it is truncated" if points is None else f"{points} points, more than {c.MAX_TRAJECTORY_POINTS}"
            self.get_logger().error(f"refused a joint trajectory: {why} (send long motions in parts)")
            return
        try:
            self._undecoded.put_nowait(data)
        except queue.Full:
            self.get_logger().error(
                f"dropped a joint trajectory: {self._undecoded.maxsize} are still being decoded (a flood?)",
                throttle_duration_sec=5.0,
            )

    def _decode_loop(self) -> None:
        """Decoder thread: bytes -> validated commands for the tick; bad ones logged and dropped."""
        while (data := self._undecoded.get()) is not None:
            try:
                self._decoded.append(c.decode_joint_trajectory(deserialize_message(data, self._Trajectory)))
            except GestureError as exc:
                self.get_logger().error(f"dropped a message on {c.JOINT_TRAJECTORY.name}: {exc}")
            except Exception as exc:  # a malformed message must not stop the decoding of the next ones
                self.get_logger().error(f"dropped a message on {c.JOINT_TRAJECTORY.name}: {type(exc).__name__}: {exc}")

    def _on_commander_gone(self, why: str) -> None:
        """Watchdog: the retargeter (or another watched commander) is gone; rest now."""
        self._sim.hold(dict(zip(self._sim.joint_names, self._sim.rest)))
        self._finish_utterance()
        self.get_logger().warning(f"watchdog: {why}; returning the robot to rest now")

    def _execute(self, cmd: c.JointCommand) -> None:
        start = self._sim_clock.to_sim(cmd.stamp_ns) if cmd.stamp_ns else self._sim.time
        if start < self._sim.time - LATE_S:
            late = self._sim.time - start
            self.get_logger().warning(
                f"trajectory {cmd.utterance_id} starts {late:.3f} s in the past; skipping points already due"
            )
        try:
            self._sim.execute(cmd, start)
        except GestureError as exc:  # unknown joints
            self.get_logger().error(f"dropped a message on {c.JOINT_TRAJECTORY.name}: {exc}")
            return
        self._finish_utterance(cmd.utterance_id)
        self._playing = (cmd.utterance_id, start + cmd.times[-1])
        self.get_logger().info(
            f"trajectory {cmd.utterance_id}: {len(cmd.joint_names)} joints, {len(cmd.times)} points, "
            f"{cmd.times[-1]:.2f} s, starting at sim time {start:.3f} s"
        )

    # -- simulation and outputs -------------------------------------------------------------------

    def _tick(self) -> None:
        while self._decoded:
            self._execute(self._decoded.popleft())
        if self._pacer is None:
            self._pacer = Pacer(self._s.value.real_time_factor, time.monotonic(), self._sim.time)
            # sim time runs from the first tick: anchor it to the ROS clock now, not at construction
            self._sim_clock = SimClock(self.get_clock().now().nanoseconds - round(self._sim.time * c.NS_PER_S))
        target, dropped = self._pacer.target(time.monotonic(), self._sim.time)
        if dropped > 0:
            # skipped sim time must not put the stamps behind the ROS clock: move the origin with it,
            # and the scheduled trajectories too, so they stay at their ROS time
            self._sim_clock = SimClock(self._sim_clock.origin_ns + round(dropped * c.NS_PER_S))
            self._sim.drop_time(dropped)
            if self._playing is not None:
                uid, end = self._playing
                self._playing = (uid, end - dropped)
                self._dropped = (self._dropped[0] + dropped, self._dropped[1] + 1)
            rtf = self._s.value.real_time_factor
            self.get_logger().warning(
                f"simulation is slower than {rtf:g}x real time: dropped {dropped:.3f} s",
                throttle_duration_sec=5.0,
            )
        self._sim.advance_to(target)
        if self._playing is not None and self._sim.time >= self._playing[1]:
            self._finish_utterance()
        if self._viewer is not None:
            if self._viewer.is_running():
                self._viewer.sync()
            else:
                self.get_logger().info("viewer closed; simulation goes on headless")
                self._viewer = None
        stamp = self._sim_clock.to_ros_ns(self._sim.time)
        self._publish_state(stamp)
        clock = self._Clock()
        c.ns_to_stamp(stamp, clock.clock)
        self._clock_pub.publish(clock)
        if self._renderer is not None and self._sim.time >= self._next_frame:
            self._publish_frame(stamp)
            self._next_frame = max(self._next_frame + 1.0 / self._s.value.render_rate, self._sim.time)

    def _finish_utterance(self, next_uid: str | None = None) -> None:
        """Log the sim time dropped while the latest trajectory's utterance played (once it ended
        or another utterance's trajectory replaced it)."""
        if self._playing is None or self._playing[0] == next_uid:
            return
        uid, (total, times) = self._playing[0], self._dropped
        if total > 0:
            self.get_logger().warning(
                f"{uid}: the simulation fell behind and dropped {total:.3f} s of sim time in total ({times} times); "
                "the motion stayed on ROS time, skipping what was lost"
            )
        else:
            self.get_logger().info(f"{uid}: played on time (no sim time dropped)")
        self._playing, self._dropped = None, (0.0, 0)

    def _publish_state(self, stamp: int) -> None:
        msg = self._JointState()
        c.ns_to_stamp(stamp, msg.header.stamp)
        msg.name = list(self._sim.joint_names)
        msg.position = self._sim.positions().tolist()
        msg.velocity = self._sim.velocities().tolist()
        msg.effort = self._sim.efforts().tolist()
        self._state_pub.publish(msg)

    def _publish_frame(self, stamp: int) -> None:
        assert self._renderer is not None
        frame = self._renderer.render(self._sim.data)
        msg = self._Image()
        c.ns_to_stamp(stamp, msg.header.stamp)
        msg.header.frame_id = self._renderer.camera
        msg.height, msg.width = frame.shape[:2]
        msg.encoding, msg.is_bigendian, msg.step = "rgb8", 0, 3 * frame.shape[1]
        msg.data = frame.tobytes()
        self._image_pub.publish(msg)

    def destroy_node(self) -> None:
        try:
            self._undecoded.put_nowait(None)  # ends the decoder thread
        except queue.Full:
            pass  # a daemon thread: it ends with the process
        if self._viewer is not None:
            self._viewer.close()
        self._set_render(False)
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    return run_node(SimNode, args)


if __name__ == "__main__":
    raise SystemExit(main())
