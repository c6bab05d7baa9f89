"""Where the robot's motion lands relative to the planned strokes: retargeting and simulation, offline.

A stroke planned on a stressed syllable reaches the robot through the retargeter's IK, its safety
stage (zero-phase smoothing, then velocity and acceleration limits, which flatten and delay fast
strokes) and the joint controllers (here MuJoCo's position servos). :class:`RobotTimingCheck` runs
a gesture sequence through the same core pieces the ROS graph uses --
:class:`~gesture_core.retarget.motion.MotionPlanner` and :class:`~gesture_core.sim.Simulator` -- and
finds, for every planned stroke, the peak of the joint speed (the norm of all commanded joints'
velocities) near it in three signals:

- ``planned``: the IK solution of the poses themselves (15 fps, before the safety stage);
- ``commanded``: the safety stage's trajectory (what ``joint_trajectory`` carries);
- ``measured``: the simulated robot's joint velocities sampled like ``joint_states`` (50 Hz).

``measured - planned`` is the robot's delay (what ``LayerConfig.robot_lead_s`` compensates);
``measured - time`` is where the robot's stroke lands relative to its target. Times are seconds
from the utterance start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..contracts import GESTURE_FPS, NS_PER_S, GestureSequence
from ..errors import ConfigError

#: Where a stroke's speed peak is looked for, s relative to its target.
WINDOW = (-0.4, 0.3)
#: Rate of the simulated joint_states samples (Hz), the sim node's default ``publish_rate``.
JOINT_STATES_HZ = 50.0
#: The motion starts this long after the simulation (s): room for the join from rest.
START_S = 1.0


@dataclass(frozen=True)
class StrokeTiming:
    """One stroke: its target ``time`` and ``label``, and the times (s) of the joint-speed peaks near
    it in the ``planned``, ``commanded`` and ``measured`` motion (None: no peak in the window)."""

    time: float
    label: str
    planned: float | None
    commanded: float | None
    measured: float | None


@dataclass
class TimingReport:
    """Stroke timings of one sequence, and the speed signals they came from ((times s, speed rad/s))."""

    strokes: list[StrokeTiming]
    signals: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def delay(self, what: str = "measured", reference: str = "planned") -> float:
        """How far (s) the ``what`` joint speed lags the ``reference`` one (:func:`delay`)."""
        return delay(self.signals[reference], self.signals[what])

    def offsets(self, what: str = "measured", reference: str = "time") -> np.ndarray:
        """``what - reference`` (s) for every stroke where both are known; ``what``/``reference``:
        ``time``, ``planned``, ``commanded`` or ``measured``."""
        pairs = [(getattr(s, what), getattr(s, reference)) for s in self.strokes]
        return np.array([a - b for a, b in pairs if a is not None and b is not None])


def speed_peak(
    times: np.ndarray,
    speed: np.ndarray,
    target: float,
    window: tuple[float, float] = WINDOW,
    floor: float = 0.3,
) -> float | None:
    """Time (s) of the local maximum of ``speed`` ((n,) at ``times``) nearest ``target`` within
    ``target + window``, among those at least ``floor`` times the window's highest; refined by a
    parabola through its neighbours. None when the window holds no local maximum."""
    inside = np.flatnonzero((times >= target + window[0]) & (times <= target + window[1]))
    inside = inside[(inside > 0) & (inside < len(speed) - 1)]
    peaks = [k for k in inside if speed[k] >= speed[k - 1] and speed[k] > speed[k + 1]]
    if not peaks:
        return None
    top = max(speed[k] for k in peaks)
    k = min((k for k in peaks if speed[k] >= floor * top), key=lambda i: abs(times[i] - target))
    a, b, c = speed[k - 1], speed[k], speed[k + 1]
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return float(times[k] + shift * (times[k + 1] - times[k]))


def delay(
    reference: tuple[np.ndarray, np.ndarray], signal: tuple[np.ndarray, np.ndarray], max_lag: float = 0.3
) -> float:
    """The lag (s) by which ``signal`` follows ``reference`` (each (times s, values)): the maximum of
    their cross-correlation on a 10 ms grid over the common span, searched within ``max_lag``."""
    step = 0.01
    t = np.arange(max(reference[0][0], signal[0][0]), min(reference[0][-1], signal[0][-1]), step)
    a = np.interp(t, *reference)
    b = np.interp(t, *signal)
    a, b = a - a.mean(), b - b.mean()
    lags = np.arange(-round(max_lag / step), round(max_lag / step) + 1)
    n = len(t)
    scores = [np.dot(a[max(0, -k) : n - max(0, k)], b[max(0, k) : n - max(0, -k)]) for k in lags]
    return float(lags[int(np.argmax(scores))] * step)


def joint_speed(times: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Norm of the joint velocities (rad/s), (n,), from positions (n, J) at ``times`` (central diff.)."""
    return np.linalg.norm(np.gradient(q, times, axis=0), axis=1)


class RobotTimingCheck:
    """Retargets gesture sequences onto a robot, simulates it and times its strokes (module docstring).

    ``config``: a retarget config YAML (default: the bundled humanoid's).
    """

    def __init__(self, config: str | Path | None = None):
        from ..retarget.config import default_config_path, load_config, resolve_urdf
        from ..retarget.motion import MotionPlanner
        from ..sim.simulator import Simulator

        cfg = load_config(config if config is not None else default_config_path())
        self.planner = MotionPlanner(cfg)
        self.sim = Simulator(resolve_urdf(cfg))
        names = self.planner.joint_names
        unknown = [n for n in names if n not in self.sim.joint_names]
        if unknown:
            raise ConfigError(f"retargeted joints {unknown} are not joints of the simulated robot")
        self._columns = [self.sim.joint_names.index(n) for n in names]

    def run(
        self, poses: np.ndarray, strokes: tuple[tuple[float, str], ...] | list[tuple[float, str]]
    ) -> TimingReport:
        """Time the ``strokes`` ((time s, label)) of ``poses`` ((n, 27) TED at 15 fps, frame 0 at 0 s)."""
        n = len(poses)
        frame_t = np.arange(n) / GESTURE_FPS
        planned_q = self.planner.retargeter.retarget(poses)

        start_ns = round(START_S * NS_PER_S)
        cmd = self.planner.plan_gesture(GestureSequence("timing", start_ns, poses), now_ns=0)
        if cmd is None:
            raise ConfigError("the motion planner dropped the whole sequence")
        cmd_t = cmd.stamp_ns / NS_PER_S + cmd.times - START_S

        rest = np.zeros(len(self.sim.joint_names))
        rest[self._columns] = self.planner.rest
        self.sim.reset(rest)
        self.sim.execute(cmd, cmd.stamp_ns / NS_PER_S)
        step = 1.0 / JOINT_STATES_HZ
        end = cmd.stamp_ns / NS_PER_S + cmd.times[-1] + 0.3
        sim_t, sim_v = [], []
        while self.sim.time < end:
            self.sim.advance_to(self.sim.time + step)
            sim_t.append(self.sim.time - START_S)
            sim_v.append(self.sim.velocities()[self._columns])
        signals = {
            "planned": (frame_t, joint_speed(frame_t, planned_q) if n > 1 else np.zeros(n)),
            "commanded": (cmd_t, joint_speed(cmd_t, cmd.positions)),
            "measured": (np.asarray(sim_t), np.linalg.norm(np.asarray(sim_v), axis=1)),
        }
        timings = [
            StrokeTiming(
                t, label, *(speed_peak(*signals[k], t) for k in ("planned", "commanded", "measured"))
            )
            for t, label in strokes
        ]
        return TimingReport(timings, signals)


# ------------------------------------------------------------------------------ synchrony with speech


def _circular_correlation(
    speed: np.ndarray, fps: float, cue_times: np.ndarray, sigma: float
) -> np.ndarray | None:
    """Pearson correlation of ``speed`` with the cue density circularly shifted by every whole
    frame m (the cues ``m / fps`` s later), (n,); None when either signal is constant."""
    n = len(speed)
    t = np.arange(n) / fps
    duration = n / fps
    d = (t[:, None] - np.mod(cue_times, duration)[None, :] + duration / 2) % duration - duration / 2
    density = np.exp(-0.5 * (d / sigma) ** 2).sum(axis=1)  # cues wrap around the ends
    if np.std(speed) < 1e-12 or np.std(density) < 1e-12:
        return None
    a = (speed - speed.mean()) / speed.std()
    b = (density - density.mean()) / density.std()
    return np.fft.irfft(np.fft.rfft(a) * np.conj(np.fft.rfft(b)), n) / n


def sync_percentile(
    speed: np.ndarray,
    fps: float,
    cue_times: np.ndarray,
    n_shifts: int = 500,
    seed: int = 0,
    min_shift: float = 1.0,
    max_lag: float = 0.3,
    sigma: float = 0.1,
) -> tuple[float, float]:
    """How well a motion-speed envelope follows speech cues, against a permutation null.

    ``speed``: (n,) motion speed at ``fps``; ``cue_times``: s (stressed syllables, onsets). The
    score is the largest Pearson correlation, over lags within ``max_lag`` s, between the speed and
    the cues' density (Gaussians of ``sigma`` s). The null: the cues circularly shifted by
    ``n_shifts`` seeded random offsets of at least ``min_shift`` s (motion unchanged), each scored
    the same way. Returns (score, percentage of the null below the score: 100 = above every shift);
    NaN when the motion or the cues are constant or the clip is too short to shift.
    """
    speed = np.asarray(speed, dtype=np.float64)
    n = len(speed)
    c = _circular_correlation(speed, fps, np.asarray(cue_times, dtype=np.float64), sigma)
    if c is None:
        return float("nan"), float("nan")
    lags = np.arange(-round(max_lag * fps), round(max_lag * fps) + 1)

    def score(shift: int) -> float:
        return float(np.max(c[(shift + lags) % n]))

    actual = score(0)
    lo, hi = round(min_shift * fps), n - round(min_shift * fps)
    if hi <= lo:
        return actual, float("nan")
    shifts = np.random.default_rng(seed).integers(lo, hi, size=n_shifts)
    null = np.array([score(int(k)) for k in shifts])
    return actual, float(100.0 * np.mean(null < actual))
