"""Streaming retargeting: gesture chunks in, trajectory messages that extend the motion already sent.

:class:`StreamingPlanner` retargets the frames of an utterance chunk by chunk (as
:class:`~gesture_core.generation.streaming.UtteranceStream` makes them final) onto one joint
trajectory on a fixed controller-rate grid that only ever grows:

1. **IK** per chunk, warm-started from the last frame's solution (branch continuity across chunks,
   :meth:`~.ik.Retargeter.retarget` with ``continues``).
2. **Targets** on the grid: PCHIP through the frames (local: the spline between two frames is final
   once the frame after them is there), then a **zero-phase FIR low-pass** (a Gaussian with gain
   1/2 at ``smoothing_cutoff_hz``, as the batch stage's Butterworth run forward and backward,
   truncated at 3 sigma): symmetric, so no delay, and with a finite lookahead
   (:attr:`StreamingPlanner.lag_s`, 0.14 s at 4 Hz, plus one frame for the spline): a grid sample
   is final once the frames reach that far beyond it. The first samples of an utterance blend in from the
   commanded state over ``join_time`` (minimum jerk), as the batch planner does.
3. **Limits**, sample by sample (:func:`~.safety.limit_step`) from the last committed position and
   velocity: position, velocity, acceleration and braking distance hold *across* chunk joins by
   construction, because the limiter's state is carried over, never restarted.

Each message obeys ros2_control ``joint_trajectory_controller`` semantics (a new message replaces
the rest of the current trajectory from its first point on, immediately, even when its stamp lies
in the future): it starts at the first committed grid point not before ``now + budget`` -- a point
it shares, with its velocity, with what is playing -- repeats the committed points after it, adds
the new ones and ends with a **braking tail** (within the limits, to rest) that the next message
replaces. If the next chunk is late, the robot brakes on that tail instead of jumping; the next
message then continues from the tail's state at its stamp (the tail's points played are committed).
:meth:`StreamingPlanner.finish` flushes the last samples and settles at the last target.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from ..contracts import GESTURE_FPS, NS_PER_S, GestureSequence, JointCommand
from .motion import MotionPlanner
from .safety import JointState, Trajectory, central_velocities, limit_step, limit_trajectory, minimum_jerk

log = logging.getLogger(__name__)

#: Frames of the previous chunk kept to continue the spline into the next one.
SPLINE_CONTEXT = 3
#: The FIR kernel is truncated at this many standard deviations (its lookahead).
KERNEL_SIGMAS = 3.0


def gaussian_kernel(cutoff_hz: float, rate_hz: float) -> np.ndarray:
    """(2 h + 1,) normalised Gaussian low-pass taps with gain 1/2 at ``cutoff_hz`` (as the batch
    stage's order-2 Butterworth applied forward and backward) at ``rate_hz``: ``sigma = sqrt(ln 2
    / 2) / (pi f_c)`` s, truncated at :data:`KERNEL_SIGMAS` sigma."""
    sigma = np.sqrt(np.log(2.0) / 2.0) / (np.pi * cutoff_hz) * rate_hz  # samples
    h = max(1, int(np.ceil(KERNEL_SIGMAS * sigma)))
    k = np.exp(-0.5 * (np.arange(-h, h + 1) / sigma) ** 2)
    return k / k.sum()


@dataclass
class _Utterance:
    """The growing trajectory of one utterance. Grid sample ``i`` is at ``origin_ns + i * dt``."""

    uid: str
    start_ns: int  # time of frame 0
    origin_ns: int  # time of grid sample 0 (the first command's stamp)
    frame_times: np.ndarray  # (F,) s from origin: frames kept for the spline
    frame_q: np.ndarray  # (F, J)
    next_frame: int
    q_last: np.ndarray  # last IK solution
    raw_until: int  # raw (unsmoothed) targets exist for samples < raw_until
    raw: np.ndarray  # (R, J) raw targets of samples [raw_from, raw_until)
    raw_from: int
    committed: np.ndarray  # (C, J) positions of samples [0, C)
    velocity: np.ndarray  # (J,) velocity arriving at the last committed sample
    last_target: np.ndarray  # (J,) the target of the last committed sample
    join_offset: np.ndarray  # (J,) start state minus the first target, blended out over join_n samples
    join_n: int
    tail: np.ndarray  # (T, J) the braking tail sent after the committed samples
    start_velocity: np.ndarray  # (J,) the commanded velocity at the origin


class StreamingPlanner:
    """Chunks of human gesture -> trajectory messages extending one safe trajectory per utterance.

    ``planner``: the :class:`~.motion.MotionPlanner` whose robot, retargeter, safety stage and
    record of issued commands are used (its batch planning, rest and start-up commands stay
    available and see the streamed commands as issued).
    """

    def __init__(self, planner: MotionPlanner):
        self.planner = planner
        self._utt: _Utterance | None = None

    @property
    def dt(self) -> float:
        return self.planner.safety.dt

    @property
    def kernel(self) -> np.ndarray:
        s = self.planner.safety
        return gaussian_kernel(s.cutoff_hz, s.rate_hz)

    @property
    def lag_s(self) -> float:
        """Lookahead of the smoothing (s): a grid sample is final once the frames reach this far beyond it."""
        return (len(self.kernel) // 2) * self.dt

    # -- chunks -----------------------------------------------------------------------------------

    def push(self, seq: GestureSequence, now_ns: int, budget_s: float = 0.0) -> JointCommand | None:
        """The message for the next chunk ``seq`` of an utterance (frames ``seq.first_frame`` on)
        at ROS time ``now_ns``; ``budget_s``: the time until the message can reach the controller.

        A chunk of another utterance, or one that does not continue the last chunk's frames,
        starts a new trajectory from the commanded state. Returns None (logged) when the chunk
        holds no frame that is still in the future.
        """
        utt = self._utt
        key = (seq.utterance_id, seq.start_ns, seq.first_frame)
        if utt is None or (utt.uid, utt.start_ns, utt.next_frame) != key:
            utt = self._open(seq, now_ns, budget_s)
        stamp_i = self._stamp_index(utt, now_ns, budget_s)
        q = self.planner.retargeter.retarget(seq.poses, utt.q_last, continues=True)
        utt.q_last, utt.next_frame = q[-1], seq.first_frame + len(q)
        frames = seq.first_frame + np.arange(len(q))
        times = (seq.start_ns - utt.origin_ns) / NS_PER_S + frames / GESTURE_FPS
        keep = times > (utt.frame_times[-1] if len(utt.frame_times) else -np.inf)
        utt.frame_times = np.concatenate([utt.frame_times, times[keep]])
        utt.frame_q = np.concatenate([utt.frame_q, q[keep]])
        self._extend(utt, final=False)
        return self._message(utt, stamp_i)

    def finish(self, now_ns: int, budget_s: float = 0.0) -> JointCommand | None:
        """The utterance's last message: the remaining samples (the last frame held for the
        smoothing), then a stop at the last target. None when no utterance is open."""
        utt = self._utt
        if utt is None:
            return None
        stamp_i = self._stamp_index(utt, now_ns, budget_s)
        self._extend(utt, final=True)
        utt.tail = self._settle(utt)
        self._utt = None
        return self._message(utt, stamp_i)

    # -- the trajectory ---------------------------------------------------------------------------

    def _open(self, seq: GestureSequence, now_ns: int, budget_s: float) -> _Utterance:
        """A new utterance's trajectory: grid origin at its first frame's time or, if that is
        past, when this message can be ready; it starts from the commanded state there."""
        p = self.planner
        first_ns = seq.start_ns + round(seq.first_frame * NS_PER_S / GESTURE_FPS)
        origin_ns = max(first_ns, now_ns + round(max(0.0, budget_s) * NS_PER_S))
        if origin_ns > first_ns:
            log.warning(
                "gesture %s frame %d arrived %.3f s late: its past frames are dropped",
                seq.utterance_id, seq.first_frame, (origin_ns - first_ns) / NS_PER_S,
            )  # fmt: skip
        start = p.safety.limits.admissible(p.state_at(origin_ns))
        j = len(p.joint_names)
        utt = _Utterance(
            uid=seq.utterance_id, start_ns=seq.start_ns, origin_ns=origin_ns,
            frame_times=np.zeros(0), frame_q=np.zeros((0, j)), next_frame=seq.first_frame,
            q_last=start.position, raw_until=0, raw=np.zeros((0, j)), raw_from=0,
            committed=start.position[None, :].copy(), velocity=start.velocity.copy(),
            last_target=start.position.copy(), join_offset=np.zeros(j), join_n=0, tail=np.zeros((0, j)),
            start_velocity=start.velocity.copy(),
        )  # fmt: skip
        self._utt = utt
        return utt

    def _stamp_index(self, utt: _Utterance, now_ns: int, budget_s: float) -> int:
        """Grid index of the next message's first point: the first committed sample not before
        ``now + budget``; when that is beyond the committed samples (a late chunk), the braking
        tail's points up to then were played: they become committed."""
        ready = (now_ns + round(max(0.0, budget_s) * NS_PER_S) - utt.origin_ns) / NS_PER_S
        i = max(0, int(np.ceil(ready / self.dt - 1e-9)))
        n = len(utt.committed)
        if i >= n and len(utt.tail):
            played = utt.tail[: i - n + 1]
            x = np.concatenate([utt.committed[-1:], played])
            utt.velocity = (x[-1] - x[-2]) / self.dt if len(played) else utt.velocity
            utt.committed = np.concatenate([utt.committed, played])
            utt.last_target = utt.committed[-1].copy()
            utt.tail = utt.tail[len(played) :]
            log.warning("gesture %s: the next chunk came %.3f s late; continuing from the braking tail",
                        utt.uid, len(played) * self.dt)  # fmt: skip
        return min(i, len(utt.committed) - 1)

    def _extend(self, utt: _Utterance, final: bool) -> None:
        """Commit every grid sample whose smoothed target is known (all when ``final``)."""
        kernel = self.kernel
        h = len(kernel) // 2
        times = utt.frame_times
        if not len(times):
            return
        # PCHIP is local: the spline between two frames depends on the frames on either side, so
        # until the utterance ends it is final up to the second-to-last frame (chunking-invariant)
        last_t = times[-1] if final else (times[-2] if len(times) > 1 else -np.inf)
        n_raw = int(np.floor(last_t / self.dt + 1e-9)) + 1 if np.isfinite(last_t) else 0
        if n_raw > utt.raw_until:
            grid = np.arange(utt.raw_until, n_raw) * self.dt
            if len(times) > 1:
                new = PchipInterpolator(times, utt.frame_q, axis=0)(np.clip(grid, times[0], times[-1]))
            else:
                new = np.repeat(utt.frame_q, len(grid), axis=0)
            new = self.planner.safety.limits.clamp(new)
            if utt.raw_until == 0:  # the first targets: blend in from the start state
                offset = utt.committed[0] - new[0]
                utt.join_offset = offset
                safety = self.planner.safety
                utt.join_n = max(1, round(max(safety.join_time, safety.ramp_time(offset)) / self.dt))
            utt.raw = np.concatenate([utt.raw, new])
            utt.raw_until = n_raw
            k = np.searchsorted(times, times[-1] - SPLINE_CONTEXT / GESTURE_FPS - 1e-9)
            utt.frame_times, utt.frame_q = times[max(0, k - 1) :], utt.frame_q[max(0, k - 1) :]
        n_done = len(utt.committed)  # samples [0, n_done) are committed (sample 0: the start state)
        stop = utt.raw_until if final else utt.raw_until - h
        if stop <= n_done:
            return
        # smoothed targets of samples [n_done, stop): raw samples [n_done - h, stop + h), edges held
        lo, hi = n_done - h, stop + h
        idx = np.clip(np.arange(lo, hi), 0, utt.raw_until - 1) - utt.raw_from
        window = utt.raw[idx]
        smooth = np.stack([np.convolve(col, kernel, mode="valid") for col in window.T], axis=1)
        i = np.arange(n_done, stop)
        fade = 1.0 - minimum_jerk(i / utt.join_n)
        target = self.planner.safety.limits.clamp(smooth + fade[:, None] * utt.join_offset)
        lim = self.planner.safety.limits
        x, v = utt.committed[-1].copy(), utt.velocity.copy()
        before = utt.last_target
        out = np.empty_like(target)
        for k, after in enumerate(target):
            x, v = limit_step(
                x, v, before, after, self.dt, lim.lower, lim.upper, lim.velocity, lim.acceleration
            )
            out[k], before = x, after
        utt.committed = np.concatenate([utt.committed, out])
        utt.velocity, utt.last_target = v, target[-1].copy()
        # raw targets older than the kernel's reach are no longer needed
        drop = max(0, stop - h - utt.raw_from)
        utt.raw, utt.raw_from = utt.raw[drop:], utt.raw_from + drop
        utt.tail = self._brake(utt)

    def _brake(self, utt: _Utterance) -> np.ndarray:
        """(T, J) samples after the committed ones that bring every joint to rest within the limits
        (towards where it would stop braking at full deceleration)."""
        lim = self.planner.safety.limits
        x, v = utt.committed[-1], utt.velocity
        stop = lim.clamp(x + v * np.abs(v) / (2.0 * lim.acceleration))
        path = limit_trajectory(np.repeat(stop[None, :], 2, axis=0), JointState(x, v), self.dt, lim)
        return path[1:]

    def _settle(self, utt: _Utterance) -> np.ndarray:
        """(T, J) samples after the committed ones that stop at the last target."""
        lim = self.planner.safety.limits
        target = np.repeat(utt.last_target[None, :], 2, axis=0)
        return limit_trajectory(target, JointState(utt.committed[-1], utt.velocity), self.dt, lim)[1:]

    def _message(self, utt: _Utterance, stamp_i: int) -> JointCommand | None:
        """Committed samples from ``stamp_i`` on, then the tail, as a command stamped at ``stamp_i``."""
        x = np.concatenate([utt.committed[stamp_i:], utt.tail])
        if len(x) < 2:
            log.debug("gesture %s: nothing new to command after sample %d yet", utt.uid, stamp_i)
            return None
        if stamp_i > 0:
            v0 = (utt.committed[stamp_i] - utt.committed[stamp_i - 1]) / self.dt
        else:
            v0 = utt.start_velocity
        traj = Trajectory(np.arange(len(x)) * self.dt, x, central_velocities(x, self.dt, v0))
        stamp_ns = utt.origin_ns + round(stamp_i * self.dt * NS_PER_S)
        return self.planner._issue(utt.uid, stamp_ns, traj)
