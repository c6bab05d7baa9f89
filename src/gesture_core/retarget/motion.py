"""Retargeting and the safety stage on the utterance timeline: what the retarget node runs.

The :class:`MotionPlanner` turns each :class:`~gesture_core.contracts.GestureSequence` into a
:class:`~gesture_core.contracts.JointCommand` whose ``stamp_ns`` is the time of its first point:

- on time: ``stamp = utterance start + first frame time``; a streaming window
  (``first_frame > 0``) of the utterance being played continues it (the IK is warm-started from
  where the previous window ended, the trajectory from the commanded state at the stamp);
- late (the first frame is already in the past): ``stamp = now``; the past frames are dropped
  and the motion starts from the current commanded state, now (logged).

**Planning time is accounted for before planning.** Planning takes time (IK and the safety stage,
about 2 ms per frame on a small CPU), so a command stamped ``now`` would already be late when it is
published. Given ``budget_s``, the time the plan is expected to take (:class:`PlanningTime`, learned
from the plans made), the stamp is ``max(first frame, now + budget)``: frames that would be past
by the time the plan is ready are cut *before* planning, never played late. Long messages are
planned in pieces (:func:`split_sequence`, :data:`MAX_PLAN_FRAMES`), each when it is due, so that
no single plan takes long, and the first piece is short (:data:`FIRST_PLAN_FRAMES`), so that the
motion can start after the planning of one second, not of the whole message (the retarget node does
this).

It remembers the commands it issued, so it knows the robot's *commanded* state at any time:
the newest command whose stamp is not after that time governs it (a trajectory controller
replaces the old trajectory from the new one's start time on). Every trajectory starts exactly at
that state, and ends at rest; :meth:`plan_rest` blends back to the rest pose.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from .. import skeleton
from ..contracts import GESTURE_FPS, NS_PER_S, REST_ID, GestureSequence, JointCommand
from ..errors import ConfigError
from ..timing import PlanningTime
from .config import RetargetConfig, check_against_robot, safety_limits
from .ik import Retargeter, load_robot
from .safety import JointState, SafetyStage, Trajectory

log = logging.getLogger(__name__)

#: How many issued commands are remembered (older ones can no longer govern the future).
HISTORY = 16
#: Most frames planned at once (10 s): a longer gesture message is planned in pieces.
MAX_PLAN_FRAMES = 150
#: Frames of the first piece of a message that could not be planned whole before it starts (1 s): it
#: is planned first, so the time before the motion can start is the planning time of one second of
#: motion, not of the whole message; the other pieces are planned while it plays.
FIRST_PLAN_FRAMES = 15


#: Frames a piece reaches into the next one (0.53 s): the next piece replaces it from its own first
#: frame on, so at the join the robot is still moving along the gesture (not yet slowing down to the
#: rest every trajectory ends in) and the next piece continues from that state, speed included.
PIECE_OVERLAP_FRAMES = 8


def split_sequence(
    seq: GestureSequence, max_frames: int = MAX_PLAN_FRAMES, first_frames: int | None = None,
    overlap: int = PIECE_OVERLAP_FRAMES,
) -> list[GestureSequence]:  # fmt: skip
    """``seq`` as consecutive pieces of the same utterance: the first of ``first_frames`` frames
    (None: ``max_frames``), the others of ``max_frames``, each but the last extended by ``overlap``
    frames of the next (each with its ``first_frame``; a stroke goes with the piece whose own frames,
    without the overlap, hold its time)."""
    first_frames = max_frames if first_frames is None else first_frames
    if max_frames < 1 or first_frames < 1 or overlap < 0:
        raise ConfigError(f"need max_frames, first_frames >= 1 and overlap >= 0: {max_frames}, {first_frames}, {overlap}")
    n = len(seq.poses)
    if n <= first_frames:
        return [seq]
    pieces = []
    bounds = [0, *range(first_frames, n, max_frames)]
    for a in bounds:
        b = min(n, first_frames if a == 0 else a + max_frames)
        t_lo = (seq.first_frame + a) / GESTURE_FPS
        t_hi = (seq.first_frame + b) / GESTURE_FPS if b < n else float("inf")
        strokes = tuple((t, label) for t, label in seq.strokes if t_lo <= t < t_hi or (a == 0 and t < t_lo))
        poses = seq.poses[a : min(n, b + overlap)]
        pieces.append(GestureSequence(seq.utterance_id, seq.start_ns, poses, seq.first_frame + a, strokes))
    return pieces


@dataclass(frozen=True)
class _Issued:
    stamp_ns: int
    trajectory: Trajectory

    @property
    def end_ns(self) -> int:
        return self.stamp_ns + round(self.trajectory.duration * NS_PER_S)


class MotionPlanner:
    """Human gesture sequences -> safe robot joint commands, joined to what was commanded before.

    ``cfg``: a validated :class:`RetargetConfig` (see :func:`~.config.load_config`). The robot
    starts (as far as the planner knows) at rest.
    """

    def __init__(self, cfg: RetargetConfig):
        self.robot, model = load_robot(cfg)
        self.retargeter = Retargeter(cfg, self.robot, model)
        self._issued: list[_Issued] = []
        self._stream: tuple[str, int, np.ndarray] | None = None  # (utterance id, next frame, last IK solution)
        self.cfg = cfg
        self.safety = self.check(cfg)
        self.timing = PlanningTime()

    @property
    def joint_names(self) -> list[str]:
        return self.retargeter.joint_names

    @property
    def rest(self) -> np.ndarray:
        """The rest pose (J,), rad, inside the limits less the margin."""
        return self.retargeter.rest

    def check(self, cfg: RetargetConfig) -> SafetyStage:
        """The safety stage for settings ``cfg``; raises :class:`ConfigError` if they do not fit
        this planner's robot (unknown joints, a margin wider than a joint's range, a different
        chain layout, ...)."""
        if (cfg.chains, cfg.markers) != (self.cfg.chains, self.cfg.markers):
            raise ConfigError("chains, markers: cannot change on a running planner")
        check_against_robot(cfg, self.robot)
        return SafetyStage(safety_limits(cfg, self.robot), cfg.controller_rate_hz, cfg.smoothing_cutoff_hz, cfg.join_time)

    def configure(self, cfg: RetargetConfig) -> None:
        """Apply new settings (amplitude, limits, smoothing, rates, ...) to the next command.
        Raises :class:`ConfigError` if they do not fit the robot; the old settings stay then."""
        safety = self.check(cfg)
        self.retargeter.configure(cfg)
        self.cfg, self.safety = cfg, safety

    # -- the commanded state ---------------------------------------------------------------------

    def state_at(self, t_ns: int) -> JointState:
        """The commanded state at ROS time ``t_ns`` (the rest pose before any command)."""
        for issued in reversed(self._issued):
            if issued.stamp_ns <= t_ns:
                return issued.trajectory.state_at((t_ns - issued.stamp_ns) / NS_PER_S)
        return JointState.at_rest(self.rest)

    @property
    def end_ns(self) -> int | None:
        """When the newest command ends (its last point, at rest), or None before any command."""
        return self._issued[-1].end_ns if self._issued else None

    def resting(self) -> bool:
        """True when the newest command ends in the rest pose (or none was issued)."""
        return not self._issued or bool(np.allclose(self._issued[-1].trajectory.positions[-1], self.rest, atol=1e-6))

    def _issue(self, uid: str, stamp_ns: int, traj: Trajectory) -> JointCommand:
        self._issued.append(_Issued(stamp_ns, traj))
        del self._issued[:-HISTORY]
        return JointCommand(uid, stamp_ns, list(self.joint_names), traj.times, traj.positions, traj.velocities)

    # -- planning --------------------------------------------------------------------------------

    def plan_gesture(self, seq: GestureSequence, now_ns: int, budget_s: float = 0.0) -> JointCommand | None:
        """The joint command for ``seq`` at ROS time ``now_ns``; None (logged) if it is all past.

        ``budget_s``: the time this plan is expected to take (``self.timing.estimate(frames)``): the
        command starts no earlier than ``now + budget``, and frames before that are cut before
        planning. The time the plan took updates ``self.timing``.
        """
        began = time.perf_counter()
        frames = seq.first_frame + np.arange(len(seq.poses))
        frame_ns = seq.start_ns + np.round(frames * (NS_PER_S / GESTURE_FPS)).astype(np.int64)
        first_ns = int(frame_ns[0])
        ready_ns = now_ns + round(max(0.0, budget_s) * NS_PER_S)  # when the plan will be ready
        stamp_ns = max(first_ns, ready_ns)
        times = (frame_ns - stamp_ns) / NS_PER_S  # s, relative to the stamp (exactly 0 for an on-time first frame)
        if times[-1] < 0.0:
            log.error(
                "gesture %s frames %d-%d arrived %.3f s after its last frame could still be planned; dropped",
                seq.utterance_id, seq.first_frame, seq.first_frame + len(times) - 1, -times[-1],
            )  # fmt: skip
            return None
        keep = max(0, int(np.searchsorted(times, 0.0, side="right")) - 1)  # the frame just before the stamp
        if stamp_ns > first_ns:
            log.warning(
                "gesture %s frame %d arrived %.3f s late (%.3f s allowed for planning): dropped %d past frames, "
                "starting from the commanded state then",
                seq.utterance_id, seq.first_frame, (stamp_ns - first_ns) / NS_PER_S, budget_s, keep,
            )  # fmt: skip
        start = self.state_at(stamp_ns)
        continues = self._stream is not None and self._stream[:2] == (seq.utterance_id, seq.first_frame)
        q_init = self._stream[2] if continues else start.position
        q = self.retargeter.retarget(seq.poses[keep:], q_init, continues=continues)
        self._stream = (seq.utterance_id, seq.first_frame + len(seq.poses), q[-1])
        traj = self.safety.plan(times[keep:], q, start)
        took = time.perf_counter() - began
        self.timing.update(len(q), took)
        if budget_s > 0 and took > budget_s:
            log.warning(
                "gesture %s frame %d: planning took %.3f s, more than the %.3f s allowed; its start is %.3f s late",
                seq.utterance_id, seq.first_frame, took, budget_s, max(0.0, took - (stamp_ns - now_ns) / NS_PER_S),
            )  # fmt: skip
        if traj is None:
            return None
        return self._issue(seq.utterance_id, stamp_ns, traj)

    def warm_up(self, n_frames: int = 30) -> float:
        """Plan a throwaway gesture (the TED mean pose, gently moving) twice: the first plan warms
        what a first plan warms (caches, lazily built solvers; several times slower), the second,
        warm one measures the planning time (``self.timing`` starts afresh from it, so one cold plan
        does not make every later estimate pessimistic). The planner's state is kept as it was.
        Returns the seconds the warm plan took."""
        issued, stream = list(self._issued), self._stream
        poses = np.tile(skeleton.MEAN_DIR_VEC, (n_frames, 1))
        poses[:, 15:18] += 0.2 * np.sin(np.linspace(0, np.pi, n_frames))[:, None]  # the left forearm moves
        self.plan_gesture(GestureSequence("warm-up", 0, poses), 0)
        self._issued, self._stream = list(issued), stream
        self.timing = PlanningTime()
        began = time.perf_counter()
        self.plan_gesture(GestureSequence("warm-up", 0, poses), 0)
        took = time.perf_counter() - began
        self._issued, self._stream = issued, stream
        return took

    def plan_rest(self, now_ns: int) -> JointCommand:
        """A command that blends from the commanded state at ``now_ns`` to the rest pose over
        ``rest_blend_time`` (stamp ``now_ns``, utterance id ``rest``)."""
        self._stream = None
        traj = self.safety.blend_to(self.rest, self.state_at(now_ns), self.cfg.rest_blend_time)
        return self._issue(REST_ID, now_ns, traj)

    def plan_stop(self, now_ns: int) -> JointCommand:
        """A safe stop: the fastest command from the commanded state at ``now_ns`` to the rest
        pose that the velocity and acceleration limits allow (:meth:`SafetyStage.stop_at`; stamp
        ``now_ns``, utterance id ``rest``)."""
        self._stream = None
        return self._issue(REST_ID, now_ns, self.safety.stop_at(self.rest, self.state_at(now_ns)))

    def plan_startup(self, now_ns: int) -> JointCommand:
        """The start-up command: one point, the rest pose, ``rest_blend_time`` after ``now_ns``.

        The planner does not know where the robot is before its first command, so this is the one
        command that is not joined to a known state: the trajectory controller interpolates from
        the robot's actual posture to the rest pose (hence the single point, well in the future).
        """
        self._stream = None
        self._issued.clear()
        at = np.array([self.cfg.rest_blend_time])
        return JointCommand(REST_ID, now_ns, list(self.joint_names), at, self.rest[None, :], np.zeros((1, len(self.rest))))
