"""Motion metrics: beat consistency with speech, diversity, smoothness, robot limit violations.

Human-side metrics work on TED poses ``(T, 27)`` at 15 fps, decoded to joint positions with
:func:`gesture_core.skeleton.joint_positions` (TED units, about metres) of joints 1-9: joint 0 (the
spine base) is the fixed origin and would only dilute every average.

Beat consistency (BeatAlign)
----------------------------
Motion beats are the local minima of the mean joint speed (the pauses that end a stroke), audio
beats are speech onsets (:func:`audio_onsets`). The score is the standard formula
(AIST++, Li et al. 2021; BEAT, Liu et al. 2022)::

    BeatAlign = 1/|A| * sum_{a in A} exp(-min_{m in M} (a - m)^2 / (2 sigma^2))

with ``sigma = 0.3 s`` by default: the value of the BEAT / EMAGE evaluation code for speech, so
numbers are on the scale of those reported for BEAT (e.g. 0.776 for Trimodal). AIST++ uses
sigma = 3 frames at 60 fps (0.05 s) for music beats, which is below one frame at 15 fps.
Motion beats are minima of one envelope (the mean speed of joints 1-9, as AIST++), which needs
no dataset-specific speed normalisation (BEAT's per-joint variant does); a minimum must be the
lowest value within ``order`` frames on each side (default 3 frames = 0.2 s, close to BEAT's
7 frames at 30 fps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import argrelextrema

from .. import skeleton
from ..errors import DataError
from ..features import FeatureConfig, extract_features
from .synchrony import alignment_score

FPS = skeleton.FPS
#: BeatAlign tolerance (s): BEAT / EMAGE's value for speech.
BEAT_SIGMA = 0.3
#: Half-width (frames at 15 fps) of the neighbourhood in which a motion beat is the minimum speed.
BEAT_ORDER = 3


def _positions(poses: np.ndarray) -> np.ndarray:
    """Positions (T, 9, 3) of joints 1-9 decoded from ``poses`` (T, 27)."""
    poses = np.asarray(poses, dtype=np.float64)
    if poses.ndim != 2 or poses.shape[1] != skeleton.POSE_DIM:
        raise DataError(f"poses: shape {poses.shape}, expected (T, {skeleton.POSE_DIM})")
    if not np.all(np.isfinite(poses)):
        raise DataError("poses: contain NaN or inf")
    return skeleton.joint_positions(poses)[:, 1:]


# --------------------------------------------------------------------------------------------
# Beat consistency
# --------------------------------------------------------------------------------------------


def joint_speed(poses: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Mean speed of joints 1-9 per frame, (T,) TED units/s.

    Central differences (one-sided at the first and last frame), ``numpy.gradient``.
    """
    pos = _positions(poses)
    if len(pos) < 2:
        raise DataError(f"poses: need at least 2 frames for a speed, got {len(pos)}")
    velocity = np.gradient(pos, 1.0 / fps, axis=0)
    return np.linalg.norm(velocity, axis=-1).mean(axis=1)


def motion_beats(poses: np.ndarray, fps: float = FPS, order: int = BEAT_ORDER) -> np.ndarray:
    """Times (s, frame 0 at 0) of the motion beats: strict local minima of :func:`joint_speed`.

    A frame is a beat when its speed is below that of every frame within ``order`` frames
    (``scipy.signal.argrelextrema``, clipped at the ends: the first/last frames can be beats).
    """
    speed = joint_speed(poses, fps)
    (frames,) = argrelextrema(speed, np.less, order=order, mode="clip")
    return frames / fps


def audio_onsets(audio: np.ndarray) -> np.ndarray:
    """Speech onset times (s) of 16 kHz mono ``audio``.

    The onsets of :func:`gesture_core.features.extract_features` (log-mel spectral flux at a
    10 ms hop, librosa peak picking): the same ones the generators receive.
    """
    audio = np.asarray(audio, dtype=np.float32).ravel()
    if audio.size < FeatureConfig().hop:
        return np.zeros(0)
    return extract_features(audio, "beat-align").onsets


def beat_align(audio_beats: np.ndarray, motion_beat_times: np.ndarray, sigma: float = BEAT_SIGMA) -> float:
    """BeatAlign in [0, 1]: mean over audio beats of ``exp(-d^2 / (2 sigma^2))``, ``d`` = distance (s)
    to the nearest motion beat. NaN without audio beats; 0 when there are audio beats but no motion beat.
    """
    return alignment_score(audio_beats, motion_beat_times, sigma)  # the same formula, any cues and events


# --------------------------------------------------------------------------------------------
# Windows, diversity and smoothness
# --------------------------------------------------------------------------------------------


def pose_windows(poses: np.ndarray, length: int, stride: int) -> np.ndarray:
    """Cut a sequence ``(T, 27)`` into windows ``(W, length, 27)`` starting every ``stride`` frames.

    ``W = (T - length) // stride + 1``; a sequence shorter than ``length`` gives no window.
    """
    poses = np.asarray(poses)
    starts = range(0, len(poses) - length + 1, stride)
    if not len(starts):
        return np.zeros((0, length) + poses.shape[1:], dtype=poses.dtype)
    return np.stack([poses[s : s + length] for s in starts])


def diversity(windows: np.ndarray) -> float:
    """Mean pairwise distance between generated windows ``(N, T, 27)``, N >= 2.

    The distance between two windows is the mean over frames and joints 1-9 of the Euclidean
    distance between their decoded joint positions (TED units, about metres).
    """
    windows = np.asarray(windows, dtype=np.float64)
    if windows.ndim != 3 or len(windows) < 2:
        raise DataError(
            f"diversity windows: shape {windows.shape}, expected (N >= 2, T, {skeleton.POSE_DIM})"
        )
    pos = np.stack([_positions(w) for w in windows])  # (N, T, 9, 3)
    # row i holds the distances to windows i+1..N-1: sum them, then divide by the number of pairs
    total = sum(
        np.linalg.norm(pos[i + 1 :] - pos[i], axis=-1).mean(axis=(1, 2)).sum() for i in range(len(pos) - 1)
    )
    return float(total / (len(pos) * (len(pos) - 1) / 2))


def _derivative_magnitude(x: np.ndarray, order: int, fps: float) -> np.ndarray:
    """|d^order x / dt^order| by repeated forward differences: (T - order, J)."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim not in (2, 3) or len(x) <= order:
        raise DataError(f"trajectory: shape {x.shape}, expected (T > {order}, J) or (T > {order}, J, 3)")
    d = np.diff(x, n=order, axis=0) * fps**order
    return np.linalg.norm(d, axis=-1) if d.ndim == 3 else np.abs(d)


def mean_acceleration(x: np.ndarray, fps: float = FPS) -> float:
    """Mean acceleration magnitude of a trajectory sampled at ``fps``.

    ``x``: (T, J, 3) points (units/s^2 of their unit: TED units or m) or (T, J) scalar joints
    (e.g. rad -> rad/s^2). Second differences ``(x[t+1] - 2x[t] + x[t-1]) * fps^2``, averaged over
    the T-2 interior frames and the joints.
    """
    return float(_derivative_magnitude(x, 2, fps).mean())


def mean_jerk(x: np.ndarray, fps: float = FPS) -> float:
    """Mean jerk magnitude (units/s^3), third forward differences ``* fps^3``.

    Shapes and units as :func:`mean_acceleration`.
    """
    return float(_derivative_magnitude(x, 3, fps).mean())


def pose_smoothness(poses: np.ndarray, fps: float = FPS) -> tuple[float, float]:
    """(mean acceleration, mean jerk) of joints 1-9 decoded from ``poses`` (T, 27): TED units/s^2, /s^3."""
    pos = _positions(poses)
    return mean_acceleration(pos, fps), mean_jerk(pos, fps)


# --------------------------------------------------------------------------------------------
# Robot joint limits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LimitViolations:
    """Limit violations of a robot joint trajectory.

    Position: samples ``(t, j)`` outside ``[lower - tol, upper + tol]``; velocity: intervals
    ``(t, t+1)`` whose finite-difference speed exceeds ``max_velocity + tol_velocity``.
    Fractions are over all samples / intervals; ``*_per_joint`` are (J,) counts.
    """

    position_count: int
    position_fraction: float
    position_per_joint: np.ndarray
    max_position_excess: float  # rad (or m for prismatic joints); 0 when none
    velocity_count: int
    velocity_fraction: float
    velocity_per_joint: np.ndarray
    max_velocity_excess: float  # rad/s; 0 when none


def _per_joint(values: np.ndarray | float, name: str, n_joints: int) -> np.ndarray:
    """A (J,) limit array from ``values`` ((J,) or a scalar for every joint), checked."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = np.full(n_joints, float(arr))
    if arr.shape != (n_joints,) or np.any(np.isnan(arr)):
        raise DataError(
            f"limit check {name}: shape {arr.shape} or NaN values, expected ({n_joints},) numbers"
        )
    return arr


def limit_violations(
    q: np.ndarray,
    times: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    max_velocity: np.ndarray,
    tol: float = 1e-9,
    tol_velocity: float = 1e-9,
) -> LimitViolations:
    """Count position and velocity limit violations of ``q`` (T, J) sampled at ``times`` (T,) s.

    ``lower``, ``upper``, ``max_velocity``: (J,) limits (rad, rad/s) or one value for all joints;
    infinite values mean no limit.
    Velocities are ``diff(q) / diff(times)`` per interval; ``times`` must increase strictly.
    """
    q = np.asarray(q, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if q.ndim != 2 or len(q) == 0:
        raise DataError(f"limit check q: shape {q.shape}, expected (T >= 1, J)")
    n_t, n_j = q.shape
    if times.shape != (n_t,):
        raise DataError(f"limit check times: shape {times.shape}, expected ({n_t},) like q")
    if np.any(np.diff(times) <= 0):
        raise DataError("limit check times: must increase strictly")
    limits = {
        name: _per_joint(arr, name, n_j)
        for name, arr in (("lower", lower), ("upper", upper), ("max_velocity", max_velocity))
    }
    if np.any(limits["lower"] > limits["upper"]):
        raise DataError(
            "limit check: lower > upper for joints "
            f"{np.flatnonzero(limits['lower'] > limits['upper']).tolist()}"
        )
    if not np.all(np.isfinite(q)):
        raise DataError("limit check q: contains NaN or inf")

    excess_pos = np.maximum(limits["lower"] - q, q - limits["upper"])  # > 0 outside
    bad_pos = excess_pos > tol
    speed = np.abs(np.diff(q, axis=0)) / np.diff(times)[:, None]
    excess_vel = speed - limits["max_velocity"]
    bad_vel = excess_vel > tol_velocity
    return LimitViolations(
        position_count=int(bad_pos.sum()),
        position_fraction=float(bad_pos.mean()),
        position_per_joint=bad_pos.sum(axis=0),
        max_position_excess=float(excess_pos[bad_pos].max()) if bad_pos.any() else 0.0,
        velocity_count=int(bad_vel.sum()),
        velocity_fraction=float(bad_vel.mean()) if bad_vel.size else 0.0,
        velocity_per_joint=bad_vel.sum(axis=0),
        max_velocity_excess=float(excess_vel[bad_vel].max()) if bad_vel.any() else 0.0,
    )
