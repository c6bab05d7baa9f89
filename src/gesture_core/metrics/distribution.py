"""Distribution distances between generated and real motion that stay honest on little data.

Each distance compares the per-frame distribution of one interpretable quantity (see
:mod:`.kinematics`) pooled over every sequence of a set:

- ``hand_speed``: 1-Wasserstein distance of the wrists' speeds (TED units/s, both hands);
- ``hand_height``: 1-Wasserstein distance of the wrists' heights above the mid-spine (TED units);
- ``elbow_angle``: 1-Wasserstein distance of the inner elbow angles (deg, both arms);
- ``motion_fraction``: absolute difference of the fraction of frames in motion (either hand faster
  than :data:`~.kinematics.MOTION_THRESHOLD`).

The 1-Wasserstein distance (``scipy.stats.wasserstein_distance``) is the mean distance the
generated values have to move to match the real ones, in the quantity's own unit; it needs no
binning, no covariance and no feature network, so a few seconds of motion give a usable number.
A static pose scores the spread of the real values (its speed is 0, its height one value): it can
never get to 0 unless the real motion is still, which is the point. These distances say how the
motion *moves* (its statistics), not whether it fits its speech: real motion of another clip of
the same speaker scores about as well as the real motion itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import wasserstein_distance

from ..errors import DataError
from . import kinematics


@dataclass(frozen=True)
class Distance:
    """One distance: its key, unit and what it compares."""

    key: str
    unit: str
    description: str


DISTANCES = (
    Distance("hand_speed", "u/s", "1-Wasserstein distance of wrist speeds"),
    Distance("hand_height", "u", "1-Wasserstein distance of wrist heights above the mid-spine"),
    Distance("elbow_angle", "deg", "1-Wasserstein distance of inner elbow angles"),
    Distance("motion_fraction", "", "difference of the fraction of frames with a hand in motion"),
)


def motion_samples(poses: np.ndarray, fps: float = kinematics.FPS) -> dict[str, np.ndarray]:
    """Per-frame samples of one sequence ``(T >= 2, 27)``: ``hand_speed``, ``hand_height``, ``elbow_angle``
    ((2T,) each: both hands / arms) and ``in_motion`` ((T,) 0/1)."""
    poses = kinematics.check_poses(poses, 2)
    return {
        "hand_speed": kinematics.hand_speed(poses, fps).ravel(),
        "hand_height": kinematics.hand_height(poses).ravel(),
        "elbow_angle": kinematics.elbow_angle(poses).ravel(),
        "in_motion": kinematics.in_motion(poses, fps).astype(np.float64),
    }


def pooled_samples(sequences: Sequence[np.ndarray], fps: float = kinematics.FPS) -> dict[str, np.ndarray]:
    """:func:`motion_samples` of every sequence, concatenated per quantity."""
    if not sequences:
        raise DataError("distribution distances: no sequences")
    per = [motion_samples(p, fps) for p in sequences]
    return {k: np.concatenate([s[k] for s in per]) for k in per[0]}


def distances_from_samples(real: dict[str, np.ndarray], generated: dict[str, np.ndarray]) -> dict[str, float]:
    """The :data:`DISTANCES` between two sample sets of :func:`pooled_samples`."""
    out = {
        d: float(wasserstein_distance(real[d], generated[d]))
        for d in ("hand_speed", "hand_height", "elbow_angle")
    }
    out["motion_fraction"] = float(abs(np.mean(generated["in_motion"]) - np.mean(real["in_motion"])))
    return out


def distribution_distances(
    real: Sequence[np.ndarray], generated: Sequence[np.ndarray], fps: float = kinematics.FPS
) -> dict[str, float]:
    """The :data:`DISTANCES` between the generated and the real sequences (each a list of (T, 27) poses,
    pooled; the lists need not pair up)."""
    return distances_from_samples(pooled_samples(real, fps), pooled_samples(generated, fps))
