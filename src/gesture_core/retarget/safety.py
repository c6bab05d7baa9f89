"""The safety stage: every robot joint command passes through here before it leaves the core.

Pipeline of :meth:`SafetyStage.plan` (15 fps joint targets in, controller-rate trajectory out):

1. **validate / repair** -- a wrong shape or bad timeline raises :class:`ContractError`; NaN/inf
   entries are repaired by interpolating the joint's finite neighbours (or holding the start state
   when a joint has none), and the repair is logged.
2. **clamp** the targets to the position limits (minus the margin), logged when it bites.
3. **resample** 15 fps -> controller rate with a PCHIP spline (shape preserving: never leaves the
   range of its samples, so it cannot overshoot a limit).
4. **smooth** with a zero-phase Butterworth low-pass (``scipy.signal.sosfiltfilt``), one block at a
   time. Zero phase matters here: the whole block is known in advance and must stay in sync with
   the speech it belongs to; a causal filter would delay every gesture by ~1/(2 pi f_c).
5. **join** from the robot's current commanded state: the offset between that state and the first
   target is blended out with a minimum-jerk ramp over ``join_time`` (longer when the limits
   need more time for the offset).
6. **limit** (:func:`limit_trajectory`), last, because smoothing can overshoot: a sample-by-sample
   pass that bounds acceleration, velocity *and* the braking distance to both position limits, so
   positions, velocities and accelerations all stay inside the limits *by construction* (see the
   function's docstring for the argument). It appends a short tail that brings the joints to rest.

Finite differences define velocity and acceleration: ``v_k = (x_k - x_{k-1}) / dt`` with ``x_0``
the start position and ``v_0`` the start velocity, ``a_k = (v_k - v_{k-1}) / dt``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.signal import butter, sosfiltfilt

from .. import retarget_ranges as R
from ..errors import ConfigError, ContractError

log = logging.getLogger(__name__)

#: Filter order of the Butterworth low-pass (applied twice by filtfilt: effective order 4).
FILTER_ORDER = 2
#: The limiter reports (logs) when it had to move a target by more than this (rad).
REPORT_DEVIATION = 0.02


@dataclass(frozen=True)
class JointLimits:
    """Limits of J joints, as the safety stage enforces them (margins and scales already applied).

    - ``lower``, ``upper``: (J,) position limits, rad (m for prismatic joints), ``lower < upper``.
    - ``velocity``: (J,) maximum speed, rad/s, > 0.
    - ``acceleration``: (J,) maximum acceleration, rad/s^2, > 0.
    """

    names: tuple[str, ...]
    lower: np.ndarray
    upper: np.ndarray
    velocity: np.ndarray
    acceleration: np.ndarray

    def __post_init__(self) -> None:
        j = len(self.names)
        for field in ("lower", "upper", "velocity", "acceleration"):
            arr = np.asarray(getattr(self, field), dtype=np.float64)
            if arr.shape != (j,) or not np.all(np.isfinite(arr)):
                raise ConfigError(f"limits.{field}: need {j} finite values, got shape {arr.shape}")
            object.__setattr__(self, field, arr)
        for field in ("velocity", "acceleration"):
            bad = np.flatnonzero(getattr(self, field) <= 0)
            if bad.size:
                raise ConfigError(f"limits.{field}: joint {self.names[bad[0]]!r} has a non-positive limit")
        bad = np.flatnonzero(self.lower >= self.upper)
        if bad.size:
            name = self.names[bad[0]]
            raise ConfigError(
                f"limits: joint {name!r} has an empty range [{self.lower[bad[0]]:.4f}, {self.upper[bad[0]]:.4f}]"
                " (is the margin larger than half its range?)"
            )

    def clamp(self, q: np.ndarray) -> np.ndarray:
        """Positions ``(..., J)`` clipped into ``[lower, upper]``."""
        return np.clip(q, self.lower, self.upper)

    def admissible(self, state: JointState) -> JointState:
        """``state`` repaired (and logged) if it breaks these limits: NaN positions -> mid-range,
        positions clipped, velocities clipped to the speed limit and to the speed from which the
        joint can still brake before its limit (``sqrt(2 a d)``). Trajectories start from this."""
        middle = 0.5 * (self.lower + self.upper)
        x = self.clamp(np.where(np.isfinite(state.position), state.position, middle))
        a = self.acceleration
        v_hi = np.minimum(self.velocity, np.sqrt(2.0 * a * (self.upper - x)))
        v_lo = -np.minimum(self.velocity, np.sqrt(2.0 * a * (x - self.lower)))
        v = np.clip(np.where(np.isfinite(state.velocity), state.velocity, 0.0), v_lo, v_hi)
        with np.errstate(invalid="ignore"):
            moved = np.abs(x - state.position) + np.abs(v - state.velocity)
        if not np.all(moved <= 1e-9):
            k = int(np.argmax(np.where(np.isfinite(moved), moved, np.inf)))
            log.warning(
                "start state outside the limits (joint %r: %.4f rad, %.4f rad/s); clipped to %.4f rad, %.4f rad/s",
                self.names[k], state.position[k], state.velocity[k], x[k], v[k],
            )  # fmt: skip
        return JointState(x, v)


@dataclass(frozen=True)
class JointState:
    """Commanded state of J joints: ``position`` (J,) rad and ``velocity`` (J,) rad/s."""

    position: np.ndarray
    velocity: np.ndarray

    @staticmethod
    def at_rest(position: np.ndarray) -> JointState:
        position = np.asarray(position, dtype=np.float64)
        return JointState(position.copy(), np.zeros_like(position))


@dataclass(frozen=True)
class Trajectory:
    """A controller-rate joint trajectory.

    ``times``: (M,) seconds from the trajectory start (``times[0] == 0``, step ``1/rate``);
    ``positions``: (M, J) rad; ``velocities``: (M, J) rad/s (central differences, 0 at the end).
    """

    times: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray

    def state_at(self, t: float) -> JointState:
        """Commanded state ``t`` seconds after the start: linear interpolation between samples,
        with the velocity of the step that arrives there (at a sample, the step that ended at it,
        so a trajectory joined there sees the same finite differences); before the start the
        first point, after the end the last point at rest."""
        if t <= 0.0 or len(self.times) == 1:
            return JointState(self.positions[0].copy(), self.velocities[0].copy())
        if t >= self.times[-1]:
            return JointState.at_rest(self.positions[-1])
        k = int(np.searchsorted(self.times, t, side="left")) - 1
        t0, t1 = self.times[k], self.times[k + 1]
        w = (t - t0) / (t1 - t0)
        x0, x1 = self.positions[k], self.positions[k + 1]
        return JointState(x0 + w * (x1 - x0), (x1 - x0) / (t1 - t0))

    @property
    def duration(self) -> float:
        return float(self.times[-1])


def braking_speed(distance: np.ndarray, accel: np.ndarray, dt: float) -> np.ndarray:
    """Largest speed ``v >= 0`` from which a joint still stops within ``distance`` (>= 0).

    One more step at ``v`` then braking at ``accel`` covers at most ``v dt + v^2 / (2 accel)``
    (the discrete braking sum is below the continuous integral), so this solves
    ``v dt + v^2 / (2 a) = d`` for ``v``: ``v = -a dt + sqrt(a^2 dt^2 + 2 a d)``.
    """
    d = np.maximum(distance, 0.0)
    return -accel * dt + np.sqrt((accel * dt) ** 2 + 2.0 * accel * d)


def limit_trajectory(
    target: np.ndarray, start: JointState, dt: float, limits: JointLimits, settle: bool = True
) -> np.ndarray:
    """Follow ``target`` as closely as the limits allow, starting from ``start``.

    ``target``: (M, J) desired positions on a grid of step ``dt`` s, ``target[0]`` at the start
    time. Returns positions (M + T, J): row 0 is ``start.position`` and, with ``settle``, T >= 0
    extra rows hold the last target until every joint is at rest.

    Each step picks a velocity: the target's own velocity plus a correction that closes the
    tracking error without overshooting (at most the braking speed for the error), then clips it to
    the intersection of ``[-vmax, vmax]``, ``[v_prev - a dt, v_prev + a dt]`` and
    ``[-braking_speed(x - lower), braking_speed(upper - x)]``. That intersection is never empty
    once the start is admissible: if the previous step respected the braking bound then braking
    at full deceleration, ``v_prev - a dt``, respects it again (``(v - a dt) dt + (v - a dt)^2 / 2a
    = v^2 / 2a - a dt^2 / 2``). So positions, velocities and accelerations stay within limits by
    construction, whatever the target (a final clip only removes floating-point round-off).
    Non-finite targets are treated as the start position (:meth:`SafetyStage.plan` repairs them
    better before they get here).
    """
    start = limits.admissible(start)
    target = np.asarray(target, dtype=np.float64)
    target = limits.clamp(np.where(np.isfinite(target), target, start.position))
    lo, hi, vmax, amax = limits.lower, limits.upper, limits.velocity, limits.acceleration
    x, v = start.position.copy(), start.velocity.copy()
    out = [x.copy()]
    max_tail = int(np.ceil(np.max((hi - lo) / vmax + 2.0 * vmax / amax) / dt)) + 2 if settle else 0
    n_steps = len(target) - 1 + max_tail
    for k in range(1, n_steps + 1):
        i = min(k, len(target) - 1)
        before = target[i - 1] if k < len(target) else target[-1]
        x, v = limit_step(x, v, before, target[i], dt, lo, hi, vmax, amax)
        out.append(x.copy())
        if k >= len(target) - 1 and np.all(np.abs(v) < 1e-9) and np.all(np.abs(target[-1] - x) < 1e-9):
            break
    return np.asarray(out)


def limit_step(
    x: np.ndarray,
    v: np.ndarray,
    before: np.ndarray,
    after: np.ndarray,
    dt: float,
    lower: np.ndarray,
    upper: np.ndarray,
    vmax: np.ndarray,
    amax: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One step of :func:`limit_trajectory`: from position ``x`` and velocity ``v`` (J,), towards a
    target that moves from ``before`` to ``after`` (J,) during the step of ``dt`` s; returns the new
    position and velocity, within the limits ``lower``/``upper`` (rad, may be infinite), ``vmax``
    (rad/s) and ``amax`` (rad/s^2) if ``x``, ``v`` were admissible (see there). A target that the
    limits allow is followed exactly (``x`` ends at ``after``)."""
    error = before - x
    correction = np.sign(error) * np.minimum(np.abs(error) / dt, braking_speed(np.abs(error), amax, dt))
    v_hi = np.minimum(np.minimum(vmax, v + amax * dt), braking_speed(upper - x, amax, dt))
    v_lo = np.maximum(np.maximum(-vmax, v - amax * dt), -braking_speed(x - lower, amax, dt))
    v = np.minimum(np.maximum((after - before) / dt + correction, v_lo), v_hi)
    return np.clip(x + v * dt, lower, upper), v


def central_velocities(positions: np.ndarray, dt: float, v0: np.ndarray) -> np.ndarray:
    """Velocities (M, J) of a sampled trajectory: ``v0`` at the start, the mean of the two
    neighbouring finite differences inside, 0 at the end (trajectories end at rest)."""
    v = np.zeros_like(positions)
    if len(positions) > 1:
        diff = np.diff(positions, axis=0) / dt
        v[0] = v0
        v[1:-1] = 0.5 * (diff[:-1] + diff[1:])
    return v


def minimum_jerk(s: np.ndarray) -> np.ndarray:
    """Minimum-jerk ramp ``10 s^3 - 15 s^4 + 6 s^5`` from 0 to 1 for ``s`` in [0, 1] (clipped)."""
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10.0 - 15.0 * s + 6.0 * s**2)


class SafetyStage:
    """Turns joint targets into a safe controller-rate trajectory (see the module docstring).

    ``limits``: enforced limits; ``rate_hz``: controller rate; ``cutoff_hz``: low-pass cutoff
    (``< rate_hz / 2``); ``join_time``: seconds over which a block blends in from the start state.
    """

    def __init__(self, limits: JointLimits, rate_hz: float, cutoff_hz: float, join_time: float = 0.5):
        lo, hi = R.CONTROLLER_RATE_HZ
        if not lo <= rate_hz <= hi:
            raise ConfigError(f"controller_rate_hz: {rate_hz} outside [{lo:g}, {hi:g}]")
        if not 0.0 < cutoff_hz < 0.5 * rate_hz:
            raise ConfigError(f"smoothing_cutoff_hz: {cutoff_hz} must be in (0, {0.5 * rate_hz}) (Nyquist)")
        lo, hi = R.JOIN_TIME_S
        if not lo <= join_time <= hi:
            raise ConfigError(f"join_time: {join_time} outside [{lo:g}, {hi:g}] s")
        self.limits = limits
        self.rate_hz = float(rate_hz)
        self.dt = 1.0 / self.rate_hz
        self.cutoff_hz = float(cutoff_hz)
        self.join_time = float(join_time)
        self._sos = butter(FILTER_ORDER, self.cutoff_hz, fs=self.rate_hz, output="sos")

    @property
    def joint_names(self) -> tuple[str, ...]:
        return self.limits.names

    # -- the pipeline ---------------------------------------------------------------------------

    def plan(self, frame_times: np.ndarray, positions: np.ndarray, start: JointState) -> Trajectory | None:
        """Safe trajectory through joint targets, from the current commanded state ``start``.

        ``frame_times``: (N,) s relative to the trajectory start (t = 0 is where ``start`` holds;
        frames before 0 only shape the spline); ``positions``: (N, J) rad. Returns None (logged)
        when every frame lies in the past. Raises :class:`ContractError` on a wrong shape or timeline.
        """
        times, q = self._checked(frame_times, positions)
        if times[-1] < 0.0:
            log.error("every target frame is in the past (last at %.3f s); nothing to command", times[-1])
            return None
        start = self.limits.admissible(start)
        q = self._clamped(self._repaired(q, start))
        grid = np.arange(0.0, times[-1] + 1e-9, self.dt)
        if len(times) > 1:
            target = PchipInterpolator(times, q, axis=0)(np.clip(grid, times[0], times[-1]))
        else:
            target = np.repeat(q, len(grid), axis=0)
        target = self.limits.clamp(self._smoothed(target))
        target = self._joined(target, start)
        return self._limited(target, start)

    def blend_to(self, goal: np.ndarray, start: JointState, duration: float) -> Trajectory:
        """Safe trajectory from ``start`` to the posture ``goal`` (J,) along a minimum-jerk ramp of
        ``duration`` s (slower if the limits demand it), ending at rest."""
        start = self.limits.admissible(start)
        goal = np.asarray(goal, dtype=np.float64)
        if goal.shape != (len(self.joint_names),):
            raise ContractError(f"goal posture has shape {goal.shape}, expected ({len(self.joint_names)},)")
        goal = self._clamped(self._repaired(goal[None, :], start))[0]
        if not 0.0 <= duration <= 60.0:
            raise ContractError(f"blend duration {duration!r} s outside [0, 60]")
        n = max(1, int(round(max(duration, self.ramp_time(goal - start.position)) / self.dt)))
        s = minimum_jerk(np.arange(n + 1) / n)[:, None]
        return self._limited(start.position + s * (goal - start.position), start)

    def stop_at(self, goal: np.ndarray, start: JointState) -> Trajectory:
        """The fastest safe trajectory from ``start`` to the posture ``goal`` (J,), ending at rest:
        each joint brakes, accelerates and cruises at its velocity and acceleration limits
        (time-optimal per joint, :func:`limit_trajectory` towards a fixed target), so the robot
        is at rest after ``max_j`` of the shortest time the limits allow joint ``j`` (a safe stop;
        :meth:`blend_to` is the gentle return)."""
        start = self.limits.admissible(start)
        goal = np.asarray(goal, dtype=np.float64)
        if goal.shape != (len(self.joint_names),):
            raise ContractError(f"goal posture has shape {goal.shape}, expected ({len(self.joint_names)},)")
        goal = self._clamped(self._repaired(goal[None, :], start))
        x = limit_trajectory(goal, start, self.dt, self.limits)
        times = np.arange(len(x)) * self.dt
        return Trajectory(times, x, central_velocities(x, self.dt, start.velocity))

    # -- the steps ------------------------------------------------------------------------------

    def _checked(self, frame_times: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        try:
            times = np.asarray(frame_times, dtype=np.float64)
            q = np.asarray(positions, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ContractError(f"joint targets are not numeric arrays: {exc}") from None
        j = len(self.joint_names)
        if q.ndim != 2 or q.shape[1] != j or q.shape[0] == 0:
            raise ContractError(f"joint targets have shape {q.shape}, expected (N>0, {j}) for joints {list(self.joint_names)}")
        if times.shape != (q.shape[0],):
            raise ContractError(f"frame_times has shape {times.shape}, expected ({q.shape[0]},)")
        if not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
            raise ContractError("frame_times must be finite and strictly increasing")
        return times, q

    def _repaired(self, q: np.ndarray, start: JointState) -> np.ndarray:
        """Replace NaN/inf entries: interpolate each joint's finite neighbours, hold the start
        position for a joint without any finite value. Logged."""
        bad = ~np.isfinite(q)
        if not bad.any():
            return q
        q = q.copy()
        idx = np.arange(len(q))
        for j in np.flatnonzero(bad.any(axis=0)):
            ok = ~bad[:, j]
            fallback = start.position[j] if np.isfinite(start.position[j]) else 0.5 * (self.limits.lower[j] + self.limits.upper[j])
            q[:, j] = np.interp(idx, idx[ok], q[ok, j]) if ok.any() else fallback
        log.error(
            "repaired %d non-finite joint targets in %d joint(s) (%s)",
            int(bad.sum()), int(bad.any(axis=0).sum()), ", ".join(self.joint_names[j] for j in np.flatnonzero(bad.any(axis=0))),
        )  # fmt: skip
        return q

    def _clamped(self, q: np.ndarray) -> np.ndarray:
        clamped = self.limits.clamp(q)
        excess = np.abs(clamped - q)
        if np.max(excess) > 1e-6:
            j = int(np.argmax(excess.max(axis=0)))
            log.warning(
                "clamped %d joint targets to the position limits (worst: %r by %.4f rad)",
                int((excess > 1e-6).sum()), self.joint_names[j], float(excess[:, j].max()),
            )  # fmt: skip
        return clamped

    def _smoothed(self, target: np.ndarray) -> np.ndarray:
        """Zero-phase low-pass along time; blocks too short to filter are returned unchanged.
        Padding is about one cutoff period (odd extension), so the ends keep their value and slope."""
        padlen = min(len(target) - 1, int(np.ceil(self.rate_hz / self.cutoff_hz)))
        if padlen < 3:
            return target
        return sosfiltfilt(self._sos, target, axis=0, padlen=padlen)

    def ramp_time(self, distance: np.ndarray) -> float:
        """Shortest duration (s) of a minimum-jerk ramp over ``distance`` (J,) rad that keeps every
        joint within its velocity and acceleration limits (the ramp peaks at 1.875 d/T and
        5.77 d/T^2), with 10 % to spare."""
        d = np.abs(distance)
        need = np.maximum(1.875 * d / self.limits.velocity, np.sqrt(5.7735 * d / self.limits.acceleration))
        return 1.1 * float(np.max(need, initial=0.0))

    def _joined(self, target: np.ndarray, start: JointState) -> np.ndarray:
        """Blend the offset between the start state and the first target out over ``join_time``
        (longer if the offset is too large to blend out that fast within the limits; a block
        shorter than the blend is extended by holding its last target)."""
        offset = start.position - target[0]
        n = max(1, int(round(max(self.join_time, self.ramp_time(offset)) / self.dt)))
        if n >= len(target):
            target = np.vstack([target, np.repeat(target[-1:], n + 1 - len(target), axis=0)])
        fade = 1.0 - minimum_jerk(np.arange(len(target)) / n)
        return target + fade[:, None] * offset

    def _limited(self, target: np.ndarray, start: JointState) -> Trajectory:
        x = limit_trajectory(target, start, self.dt, self.limits)
        if len(x) > 1 and np.any(np.abs(x[-1] - x[-2]) > 1e-9):
            log.warning("the trajectory did not settle within its tail; it ends moving")
        deviation = np.abs(x[: len(target)] - target[: len(x)])
        worst = float(np.max(deviation))
        if worst > REPORT_DEVIATION:
            j = int(np.argmax(deviation.max(axis=0)))
            log.log(
                logging.WARNING if worst > 10 * REPORT_DEVIATION else logging.INFO,
                "velocity/acceleration limits held the motion back (worst: %r by %.3f rad)", self.joint_names[j], worst,
            )  # fmt: skip
        times = np.arange(len(x)) * self.dt
        return Trajectory(times, x, central_velocities(x, self.dt, start.velocity))
