"""Test oracle: how fast the limits let a joint stop (the analytic bang-bang optimum)."""

from __future__ import annotations

import numpy as np


def fastest_stop(x0: float, v0: float, goal: float, vmax: float, amax: float) -> float:
    """Shortest time (s) from position ``x0`` (rad), velocity ``v0`` (rad/s) to rest at ``goal``
    with speed at most ``vmax`` and acceleration at most ``amax`` (the bang-bang solution)."""
    d = goal - x0
    if d < 0:
        d, v0 = -d, -v0
    if v0 < 0:  # moving away: stop first, then from rest over the longer way
        return -v0 / amax + fastest_stop(0.0, 0.0, d + v0**2 / (2 * amax), vmax, amax)
    if v0**2 / (2 * amax) > d:  # cannot stop before the goal: brake, come back
        return v0 / amax + fastest_stop(0.0, 0.0, v0**2 / (2 * amax) - d, vmax, amax)
    cruise = d - (2 * vmax**2 - v0**2) / (2 * amax)
    if cruise >= 0:
        return (vmax - v0) / amax + vmax / amax + cruise / vmax
    peak = np.sqrt((2 * amax * d + v0**2) / 2)
    return float((peak - v0) / amax + peak / amax)


def fastest_stop_all(x0, v0, goal, vmax, amax) -> float:
    """:func:`fastest_stop` of the slowest of several joints (arrays (J,))."""
    return max(fastest_stop(*args) for args in zip(x0, v0, goal, vmax, amax))
