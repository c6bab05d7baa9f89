"""The simulator's clock against ROS time and the wall clock.

- :class:`SimClock`: sim time ``s`` (seconds from 0 when the simulator starts) <-> ROS time in
  integer ns: ``ros_ns = origin_ns + s * 1e9``. The sim node takes ``origin_ns`` = the ROS time
  at its start, publishes ``origin_ns + s`` on ``/clock``, and maps trajectory stamps back.
- :class:`Pacer`: how far the simulation should have advanced at a wall-clock instant, running at
  ``real_time_factor`` times real time, and dropping time it cannot catch up with.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..contracts import NS_PER_S
from ..errors import ConfigError


@dataclass(frozen=True)
class SimClock:
    """``origin_ns``: ROS time (ns) of sim time 0."""

    origin_ns: int

    def to_ros_ns(self, sim_s: float) -> int:
        """ROS time (ns) of sim time ``sim_s`` (s)."""
        return self.origin_ns + round(sim_s * NS_PER_S)

    def to_sim(self, ros_ns: int) -> float:
        """Sim time (s) of ROS time ``ros_ns``; negative for times before the simulation began."""
        return (ros_ns - self.origin_ns) / NS_PER_S


class Pacer:
    """Sim time to reach at a given wall time (s, monotonic), at ``real_time_factor`` x real time.

    When the simulation falls more than ``max_lag`` sim seconds behind (too slow a machine, a long
    render), the excess is dropped rather than caught up in a burst, and reported.
    """

    def __init__(self, real_time_factor: float, wall_now: float, sim_now: float, max_lag: float = 0.1):
        if max_lag <= 0:
            raise ConfigError(f"pacer max_lag must be > 0, got {max_lag}")
        self.max_lag = max_lag
        self.set_rate(real_time_factor, wall_now, sim_now)

    def set_rate(self, real_time_factor: float, wall_now: float, sim_now: float) -> None:
        """Run at ``real_time_factor`` from now on (the past is not rescaled)."""
        if not real_time_factor > 0:
            raise ConfigError(f"real_time_factor must be > 0, got {real_time_factor}")
        self.real_time_factor = real_time_factor
        self._wall0, self._sim0 = wall_now, sim_now

    def target(self, wall_now: float, sim_now: float) -> tuple[float, float]:
        """(sim time to advance to, sim seconds dropped because the simulation fell behind)."""
        target = self._sim0 + (wall_now - self._wall0) * self.real_time_factor
        dropped = max(0.0, target - sim_now - self.max_lag)
        self._sim0 -= dropped
        return target - dropped, dropped
