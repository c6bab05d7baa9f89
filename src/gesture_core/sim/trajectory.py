"""Joint references from joint commands, with joint_trajectory_controller semantics.

A :class:`~gesture_core.contracts.JointCommand` gives positions (and optionally velocities) of some
joints at times relative to its start. :class:`TrajectoryReference` turns a stream of them into
the reference position and velocity of every joint at any time:

- between points: cubic Hermite interpolation when the command has velocities, else PCHIP
  (shape-preserving cubic: passes through every point, never overshoots them, so it stays within
  the joint limits the points respect);
- before its first point: from the reference at the command's start (or, if the command starts
  in the past, from where the robot is commanded ``now``) to the first point, as ros2_control's
  JTC does; points already in the past are skipped;
- after its last point: the last point is held (zero velocity);
- a newer command replaces, for its joints, everything scheduled from its start time on; other
  joints keep their own trajectories.

Times are seconds on one clock (the simulator's); positions rad, velocities rad/s.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.interpolate import CubicHermiteSpline, PchipInterpolator, PPoly

from ..contracts import JointCommand
from ..errors import ContractError

#: Two times closer than this (s) are the same instant.
EPS = 1e-9


@dataclass(frozen=True)
class _Segment:
    """One command's curve for some joints, active from ``begin`` (absolute time, s).

    ``curve(t - origin)`` gives positions (len(joints),) for ``begin <= t <= end``; after ``end``
    the ``last`` positions are held. ``curve`` is None for a command that only says "go to ``last``".
    """

    origin: float
    begin: float
    end: float
    columns: dict[int, int]  # joint index -> column in the curve's output
    last: np.ndarray
    curve: PPoly | None
    slope: PPoly | None

    def sample(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Positions and velocities (len(joints),) at absolute time ``t`` >= ``begin``."""
        if self.curve is None or t >= self.end:
            return self.last, np.zeros_like(self.last)
        return self.curve(t - self.origin), self.slope(t - self.origin)


class TrajectoryReference:
    """Reference positions/velocities of ``joint_names`` built from queued joint commands.

    ``hold``: (J,) positions each joint holds until a command moves it. Time only moves forward:
    after :meth:`forget_before` ``t``, the reference is undefined before ``t``.
    """

    def __init__(self, joint_names: list[str], hold: np.ndarray):
        self.joint_names = list(joint_names)
        self._index = {name: i for i, name in enumerate(self.joint_names)}
        self._hold = np.asarray(hold, dtype=float).copy()
        if self._hold.shape != (len(self.joint_names),):
            raise ContractError(
                f"hold positions shape {self._hold.shape}, expected ({len(self.joint_names)},)"
            )
        #: Per joint, its segments by increasing ``begin``.
        self._segments: list[list[_Segment]] = [[] for _ in self.joint_names]

    def indices(self, names: list[str]) -> np.ndarray:
        """Indices of joint ``names``; raises ContractError naming any unknown joint."""
        unknown = [n for n in names if n not in self._index]
        if unknown:
            raise ContractError(f"joint command names joints this robot does not have: {unknown}")
        return np.array([self._index[n] for n in names], dtype=int)

    def sample(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Reference positions and velocities, each (J,), at time ``t``."""
        pos, vel = self._hold.copy(), np.zeros(len(self.joint_names))
        sampled: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for j, segments in enumerate(self._segments):
            segment = _active(segments, t)
            if segment is None:
                continue
            if id(segment) not in sampled:
                sampled[id(segment)] = segment.sample(t)
            p, v = sampled[id(segment)]
            pos[j], vel[j] = p[segment.columns[j]], v[segment.columns[j]]
        return pos, vel

    def forget_before(self, t: float) -> None:
        """Drop what can no longer matter once time has reached ``t`` (finished curves become holds)."""
        for j, segments in enumerate(self._segments):
            segment = _active(segments, t)
            if segment is None:
                continue
            del segments[: segments.index(segment)]
            if t >= segment.end:
                self._hold[j] = segment.last[segment.columns[j]]
                del segments[0]

    def shift(self, dt: float) -> None:
        """Move everything scheduled by ``dt`` seconds (negative: earlier). When the simulator
        drops time it moves its clock origin; shifting the schedule with it keeps every trajectory
        at its original time on the other clock (ROS time)."""
        moved: dict[int, _Segment] = {}
        for j, segments in enumerate(self._segments):
            for k, s in enumerate(segments):
                if id(s) not in moved:
                    moved[id(s)] = replace(s, origin=s.origin + dt, begin=s.begin + dt, end=s.end + dt)
                segments[k] = moved[id(s)]

    def add(
        self, cmd: JointCommand, start: float, now: float, current: tuple[np.ndarray, np.ndarray] | None = None
    ) -> None:
        """Schedule ``cmd`` with its time 0 at absolute time ``start``; ``now`` is the current time.

        The command takes over its joints at ``max(start, now)``, from the reference there (from
        ``current``, the (J,) positions and velocities where the robot is commanded now, if given
        and the command takes over now), unless one of its points is exactly at that instant;
        points already in the past are skipped (if all are, the joints go to the last one).
        """
        joints = self.indices(cmd.joint_names)
        t0 = max(now - start, 0.0)  # command time at which it takes over
        times, pos = cmd.times, cmd.positions
        vel = cmd.velocities if cmd.velocities is not None else np.full_like(pos, np.nan)
        future = times > t0 + EPS
        first = int(np.argmax(future)) if future.any() else len(times) - 1
        if future.any() and first > 0 and times[first - 1] >= t0 - EPS:
            first -= 1  # a point exactly at t0 stays
        times, pos, vel = times[first:], pos[first:], vel[first:]
        if times[0] > t0 + EPS:  # start from where the reference is when the command takes over
            takes_over_now = current is not None and start + t0 <= now + EPS
            ref_pos, ref_vel = current if takes_over_now else self.sample(start + t0)
            times = np.concatenate([[t0], times])
            pos, vel = np.vstack([ref_pos[joints], pos]), np.vstack([ref_vel[joints], vel])
        curve = _interpolate(times, pos, None if np.isnan(vel).any() else vel)
        segment = _Segment(
            origin=start,
            begin=start + t0,
            end=start + max(times[-1], t0),
            columns={int(j): k for k, j in enumerate(joints)},
            last=pos[-1].copy(),
            curve=curve,
            slope=curve.derivative() if curve is not None else None,
        )
        for j in joints:
            self._segments[j] = [s for s in self._segments[j] if s.begin < segment.begin] + [segment]


def _active(segments: list[_Segment], t: float) -> _Segment | None:
    """The latest of ``segments`` that has begun by ``t``."""
    for segment in reversed(segments):
        if segment.begin <= t:
            return segment
    return None


def _interpolate(times: np.ndarray, pos: np.ndarray, vel: np.ndarray | None) -> PPoly | None:
    """Piecewise cubic through ``pos`` (N, J) at ``times`` (N,): Hermite with ``vel`` (N, J), else
    PCHIP; None for a single point."""
    if len(times) == 1:
        return None
    if vel is not None:
        return CubicHermiteSpline(times, pos, vel, axis=0)
    return PchipInterpolator(times, pos, axis=0)
