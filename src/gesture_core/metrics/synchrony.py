"""Speech-gesture synchrony against a permutation null: does the motion's timing follow the speech?

Score
-----
:func:`alignment_score` is the mean over speech cues of ``exp(-d^2 / (2 sigma^2))``, ``d`` the
distance (s) from the cue to the nearest motion event: 1 when every cue has an event on it, near
0 when events are far from every cue. With speech onsets as cues, motion-speed minima as events and
``sigma = 0.3`` s it is BeatAlign (:func:`gesture_core.metrics.motion.beat_align`).

The raw score is no measure of synchrony: it grows with the number of events (jittery motion
scores high against any speech) and with the density of cues. So it is always compared with a
**permutation null**: the same motion against the same cues circularly shifted in time
(``t -> (t + s) mod T``, ``s`` uniform in ``[min_shift, T - min_shift]``, ``n_shifts`` shifts from
an explicit seed). The shifts keep the rhythm and density of both the cues and the motion and
destroy only their alignment. :class:`SyncResult` gives the score's **percentile** in that null
(ties count half: a motion whose score cannot change, e.g. a static pose, sits at 50) and its
**z-score** ``(score - mean) / sd``; :func:`pooled_sync` combines clips (the cue-weighted mean score
against the cue-weighted mean of the clips' nulls, shift by shift).

Cues within :data:`EDGE` (0.5 s) of a clip's ends are not scored, real or shifted: generated
motion starts from rest at every clip start, where speech often starts too.

What a high percentile says: the motion's events fall on the speech cues more often than on the
same cues moved elsewhere in the clip. Part of that can be slow structure (moving during speech,
resting in pauses), not only beat-level timing. A percentile near 50 says nothing aligns; a
percentile near 0 says the events avoid the cues.

The project's default measure (:func:`motion_synchrony`) uses strokes (prominent hand-speed peaks,
:func:`gesture_core.metrics.kinematics.strokes`) as events, ``sigma = 0.15`` s, and whatever cue
times the caller gives (see :mod:`gesture_core.metrics.cues`); ``docs/evaluation.md`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError
from . import kinematics

#: Tolerance (s) of :func:`motion_synchrony`.
SYNC_SIGMA = 0.15
#: Smallest circular shift (s) of the null: shifts closer to 0 would keep the alignment.
MIN_SHIFT = 1.0
#: Shifts per null by default.
N_SHIFTS = 1000
#: Cues closer than this (s) to the start or end of a clip are not scored, real or shifted.
EDGE = 0.5


def alignment_score(cues: np.ndarray, events: np.ndarray, sigma: float = SYNC_SIGMA) -> float:
    """Mean over ``cues`` (s) of ``exp(-d^2 / (2 sigma^2))``, ``d`` the distance to the nearest of
    ``events`` (s). NaN without cues; 0 with cues but no events."""
    cues = np.asarray(cues, dtype=np.float64).ravel()
    events = np.sort(np.asarray(events, dtype=np.float64).ravel())
    if sigma <= 0:
        raise DataError(f"alignment sigma must be > 0, got {sigma}")
    if cues.size == 0:
        return float("nan")
    if events.size == 0:
        return 0.0
    return float(np.mean(np.exp(-(_nearest_distance(cues, events) ** 2) / (2 * sigma**2))))


def _nearest_distance(cues: np.ndarray, events: np.ndarray) -> np.ndarray:
    """Distance from each of ``cues`` (any shape) to the nearest of the sorted ``events`` (E >= 1)."""
    i = np.clip(np.searchsorted(events, cues), 1, max(len(events) - 1, 1))
    left, right = events[i - 1], events[np.minimum(i, len(events) - 1)]
    return np.minimum(np.abs(cues - left), np.abs(cues - right))


def circular_shifts(
    duration: float, n: int, seed: int | Sequence[int], min_shift: float = MIN_SHIFT
) -> np.ndarray:
    """``n`` shifts (s) uniform in ``[min_shift, duration - min_shift]`` from ``seed``
    (an int or a sequence of ints for ``numpy.random.SeedSequence``). Empty when the clip is too short."""
    if n < 1:
        raise DataError(f"n_shifts must be >= 1, got {n}")
    if duration <= 2 * min_shift:
        return np.zeros(0)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    return rng.uniform(min_shift, duration - min_shift, n)


@dataclass(frozen=True)
class SyncResult:
    """A score against its permutation null.

    ``score``: the alignment score of the real timing; ``null``: (K,) scores of the shifted cues;
    ``percentile``: 100 x (fraction of the null below the score + half the ties), in [0, 100];
    ``z``: ``(score - mean(null)) / sd(null)`` (0 when the null has no spread and equals the score);
    ``n_cues``, ``n_events``: counts behind the score. NaN fields when undefined (no cues, clip too
    short for the shifts).
    """

    score: float
    percentile: float
    z: float
    null_mean: float
    null_sd: float
    n_cues: int
    n_events: int
    null: np.ndarray = field(repr=False)

    @classmethod
    def from_null(cls, score: float, null: np.ndarray, n_cues: int, n_events: int) -> SyncResult:
        """The result of ``score`` against ``null`` (K,); NaN entries of the null (shifts that left
        no cue to score) are skipped."""
        null = np.asarray(null, dtype=np.float64)
        valid = null[np.isfinite(null)]
        if np.isnan(score) or valid.size == 0:
            nan = float("nan")
            return cls(score, nan, nan, nan, nan, n_cues, n_events, null)
        mean, sd = float(valid.mean()), float(valid.std())
        below, ties = np.sum(valid < score - 1e-12), np.sum(np.abs(valid - score) <= 1e-12)
        if sd > 1e-12:
            z = (score - mean) / sd
        else:
            z = 0.0 if abs(score - mean) <= 1e-12 else float(np.sign(score - mean) * np.inf)
        return cls(
            score,
            float(100.0 * (below + 0.5 * ties) / valid.size),
            float(z),
            mean,
            sd,
            n_cues,
            n_events,
            null,
        )

    def to_dict(self) -> dict[str, float]:
        """The fields without the null array (for JSON)."""
        return {
            "score": self.score, "percentile": self.percentile, "z": self.z, "null_mean": self.null_mean,
            "null_sd": self.null_sd, "n_cues": self.n_cues, "n_events": self.n_events,
        }  # fmt: skip


def sync_test(
    cues: np.ndarray,
    events: np.ndarray,
    duration: float,
    n_shifts: int = N_SHIFTS,
    seed: int | Sequence[int] = 0,
    sigma: float = SYNC_SIGMA,
    min_shift: float = MIN_SHIFT,
    edge: float = EDGE,
) -> SyncResult:
    """:func:`alignment_score` of ``cues`` against ``events`` (s, within ``[0, duration)``) and its
    permutation null: the cues circularly shifted ``n_shifts`` times (:func:`circular_shifts`, ``seed``).

    Cues within ``edge`` s of either end of the clip are left out, before and after each shift: a
    generated motion starts from rest at every clip start, and speech often starts there too, so
    the ends would align whatever the motion does in between.
    """
    if not duration > 0:
        raise DataError(f"sync_test duration must be > 0 s, got {duration}")
    cues = np.asarray(cues, dtype=np.float64).ravel()
    events = np.sort(np.asarray(events, dtype=np.float64).ravel())
    inner = cues[(cues >= edge) & (cues < duration - edge)]
    score = alignment_score(inner, events, sigma)
    shifts = circular_shifts(duration, n_shifts, seed, min_shift)
    if inner.size == 0 or shifts.size == 0:
        return SyncResult.from_null(
            score, np.full(shifts.size or 1, np.nan), int(inner.size), int(events.size)
        )
    shifted = np.mod(cues[None, :] + shifts[:, None], duration)  # (K, C)
    kept = (shifted >= edge) & (shifted < duration - edge)
    if events.size == 0:
        null = np.where(kept.any(axis=1), 0.0, np.nan)
    else:
        hits = np.exp(-(_nearest_distance(shifted, events) ** 2) / (2 * sigma**2))
        with np.errstate(invalid="ignore"):
            null = np.sum(hits * kept, axis=1) / kept.sum(axis=1)  # NaN: every shifted cue at an end
    return SyncResult.from_null(score, null, int(inner.size), int(events.size))


def motion_synchrony(
    poses: np.ndarray,
    cues: np.ndarray,
    fps: float = kinematics.FPS,
    n_shifts: int = N_SHIFTS,
    seed: int | Sequence[int] = 0,
    sigma: float = SYNC_SIGMA,
    min_prominence: float = kinematics.STROKE_PROMINENCE,
) -> SyncResult:
    """Synchrony of the strokes of TED ``poses`` (T, 27) at ``fps`` with speech ``cues`` (s from frame 0).

    The clip lasts ``T / fps`` s; cues at or after its end are ignored. See :func:`sync_test`
    (cues within :data:`EDGE` s of either end are not scored).
    """
    poses = kinematics.check_poses(poses)
    duration = len(poses) / fps
    cues = np.asarray(cues, dtype=np.float64).ravel()
    events = kinematics.strokes(poses, fps, min_prominence)
    return sync_test(cues[(cues >= 0) & (cues < duration)], events, duration, n_shifts, seed, sigma)


def pooled_sync(results: Sequence[SyncResult]) -> SyncResult:
    """Clips pooled: the cue-weighted mean score against the cue-weighted mean of the clips' nulls,
    shift ``k`` of every clip together (the nulls must have equal lengths; a clip's NaN entry leaves it
    out of that shift). Clips without cues or null are left out; none left: NaN."""
    usable = [r for r in results if r.n_cues > 0 and not np.isnan(r.score) and np.isfinite(r.null).any()]
    if not usable:
        nan = float("nan")
        return SyncResult(nan, nan, nan, nan, nan, 0, 0, np.zeros(0))
    sizes = {r.null.size for r in usable}
    if len(sizes) != 1:
        raise DataError(f"pooled_sync: nulls of different lengths {sorted(sizes)}")
    w = np.array([r.n_cues for r in usable], dtype=np.float64)
    score = float(np.sum(w * [r.score for r in usable]) / w.sum())
    nulls = np.stack([r.null for r in usable])  # (C, K)
    finite = np.isfinite(nulls)
    weight = w[:, None] * finite
    with np.errstate(invalid="ignore"):
        null = np.sum(weight * np.where(finite, nulls, 0.0), axis=0) / weight.sum(axis=0)
    return SyncResult.from_null(score, null, int(w.sum()), int(sum(r.n_events for r in usable)))
