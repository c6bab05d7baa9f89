"""Motion metrics on motions with known answers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core import skeleton
from gesture_core.errors import DataError
from gesture_core.metrics import motion

FOREARM = skeleton.BONE_NAMES.index("left_forearm")
FOREARM_LENGTH = skeleton.BONE_LENGTHS[FOREARM]


def forearm_motion(angles: np.ndarray) -> np.ndarray:
    """Poses (T, 27): the mean pose with the left forearm at ``angles`` (rad) in the x-y plane."""
    d = skeleton.as_directions(np.tile(skeleton.MEAN_DIR_VEC, (len(angles), 1))).copy()
    d[:, FOREARM] = np.stack([np.cos(angles), np.sin(angles), np.zeros_like(angles)], axis=1)
    return d.reshape(len(angles), 27)


def strokes(duration: float, period: float) -> np.ndarray:
    """Forearm strokes whose angular speed 1 - cos(2 pi t / period) is zero exactly at t = k * period."""
    t = np.arange(int(round(duration * 15)) + 1) / 15
    return forearm_motion(t - np.sin(2 * np.pi * t / period) * period / (2 * np.pi))


# ------------------------------------------------------------------------------- beat consistency


def test_beat_align_formula():
    assert motion.beat_align([1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0, 4.0]) == 1.0
    d = 0.2
    assert motion.beat_align([1.0, 2.0], [1.0 + d, 2.0 - d]) == pytest.approx(np.exp(-(d**2) / (2 * 0.3**2)))
    # the mean is over audio beats: one hit, one at distance 0.3 s = sigma
    assert motion.beat_align([1.0, 5.0], [1.0, 5.3]) == pytest.approx((1 + np.exp(-0.5)) / 2)
    assert motion.beat_align([1.0], []) == 0.0
    assert np.isnan(motion.beat_align([], [1.0]))


def test_speed_minima_at_the_onsets_give_beat_align_one():
    poses = strokes(duration=4.0, period=1.0)
    beats = motion.motion_beats(poses)
    assert {1.0, 2.0, 3.0} <= set(np.round(beats, 6))
    assert motion.beat_align([1.0, 2.0, 3.0], beats) == 1.0
    # onsets half a period away from every pause score exp(-0.5^2 / (2 * 0.3^2))
    assert motion.beat_align([1.5, 2.5], beats) == pytest.approx(np.exp(-(0.5**2) / (2 * 0.3**2)))


def test_joint_speed_of_a_rotating_forearm():
    omega = 2.0  # rad/s: only the left wrist moves, at 0.33 * 2 units/s, averaged over 9 joints
    poses = forearm_motion(omega * np.arange(30) / 15)
    speed = motion.joint_speed(poses)
    chord = np.sin(omega / 15) * 15  # central differences: |p(t+h) - p(t-h)| / 2h = r sin(omega h) / h
    np.testing.assert_allclose(speed[1:-1], FOREARM_LENGTH * chord / 9, rtol=1e-9)


def syllables(times: list[float], duration: float) -> np.ndarray:
    """16 kHz audio: a 220 Hz tone burst (2 ms attack, 30 ms decay) starting at each of ``times``."""
    sr = 16000
    audio = np.zeros(int(duration * sr), np.float32)
    n = np.arange(4800)
    burst = 0.5 * np.sin(2 * np.pi * 220 * n / sr) * np.minimum(n / 32, 1) * np.exp(-n / sr / 0.03)
    for t in times:
        audio[int(t * sr) : int(t * sr) + n.size] = burst
    return audio


def test_audio_onsets_find_syllables():
    np.testing.assert_allclose(
        motion.audio_onsets(syllables([0.5, 1.3, 2.2], 3.0)), [0.5, 1.3, 2.2], atol=0.02
    )
    assert motion.audio_onsets(np.zeros(16000)).size == 0


# ---------------------------------------------------------------------------------- diversity


def test_diversity_known_distances():
    alpha = 0.6
    still = forearm_motion(np.zeros(20))
    up, down = forearm_motion(np.full(20, alpha)), forearm_motion(np.full(20, -alpha))
    d_up = FOREARM_LENGTH * 2 * np.sin(alpha / 2) / 9  # only the wrist (1 of joints 1-9) moves
    d_ud = FOREARM_LENGTH * 2 * np.sin(alpha) / 9
    assert motion.diversity(np.stack([still, up])) == pytest.approx(d_up)
    assert motion.diversity(np.stack([still, up, down])) == pytest.approx((2 * d_up + d_ud) / 3)
    assert motion.diversity(np.stack([still, still, still])) == 0.0
    with pytest.raises(DataError, match="N >= 2"):
        motion.diversity(still[None])


# ------------------------------------------------------------------------------- smoothness


@settings(max_examples=25, deadline=None)
@given(
    a=st.floats(-3, 3),
    b=st.floats(-3, 3),
    c=st.floats(-3, 3),
    n=st.integers(5, 60),
)
def test_cubic_trajectory_has_its_known_jerk_and_acceleration(a, b, c, n):
    t = np.arange(n) / 15
    x = (a * t**3 + b * t**2 + c * t)[:, None]  # (T, 1) one scalar joint
    assert motion.mean_jerk(x) == pytest.approx(abs(6 * a), rel=1e-6, abs=1e-6)
    # second differences are exact for a cubic at the interior frames
    assert motion.mean_acceleration(x) == pytest.approx(
        np.mean(np.abs(6 * a * t[1:-1] + 2 * b)), rel=1e-6, abs=1e-6
    )


def test_jerk_of_3d_points_is_the_vector_norm():
    t = np.arange(20) / 15
    direction = np.array([1.0, -2.0, 2.0])  # |direction| = 3
    x = (0.5 * t**3)[:, None, None] * direction  # (T, 1, 3)
    assert motion.mean_jerk(x) == pytest.approx(6 * 0.5 * 3)


def test_still_pose_is_perfectly_smooth():
    assert motion.pose_smoothness(forearm_motion(np.zeros(10))) == (0.0, 0.0)


# ------------------------------------------------------------------------------ robot limits


def test_limit_violations_count_known_crossings():
    times = np.arange(50) / 50.0  # 50 Hz
    q = np.zeros((50, 3))
    q[:, 0] = np.linspace(0.0, 1.0, 50)  # crosses upper = 0.8 at the last k frames
    k = int(np.sum(q[:, 0] > 0.8))
    q[20, 1] = -0.5  # joint 1: one sample below lower -0.4 ...
    q[30:, 2] = 0.1  # joint 2: one jump of 0.1 rad in 0.02 s = 5 rad/s
    lower, upper, vmax = np.array([-1.0, -0.4, -1.0]), np.array([0.8, 1.0, 1.0]), np.array([2.0, 30.0, 3.0])
    v = motion.limit_violations(q, times, lower, upper, vmax)
    assert v.position_count == k + 1
    assert v.position_per_joint.tolist() == [k, 1, 0]
    assert v.position_fraction == pytest.approx((k + 1) / 150)
    assert v.max_position_excess == pytest.approx(0.2)
    # ... which is also reached at 25 rad/s (limit 30: fine); joint 0 moves at 50/49 rad/s (limit 2: fine)
    assert v.velocity_per_joint.tolist() == [0, 0, 1]
    assert v.velocity_count == 1 and v.velocity_fraction == pytest.approx(1 / (49 * 3))
    assert v.max_velocity_excess == pytest.approx(5.0 - 3.0)


def test_limits_without_violations_and_scalar_limits():
    q = np.full((10, 2), 0.5)
    v = motion.limit_violations(q, np.arange(10) * 0.1, -1.0, 1.0, np.inf)
    assert (v.position_count, v.velocity_count, v.max_position_excess, v.max_velocity_excess) == (
        0,
        0,
        0.0,
        0.0,
    )


def test_limit_inputs_are_checked():
    q = np.zeros((5, 2))
    with pytest.raises(DataError, match="times: must increase strictly"):
        motion.limit_violations(q, np.array([0, 1, 1, 2, 3.0]), -1, 1, 1)
    with pytest.raises(DataError, match=r"upper: shape \(3,\)"):
        motion.limit_violations(q, np.arange(5.0), -1, np.ones(3), 1)
    with pytest.raises(DataError, match=r"lower > upper for joints \[1\]"):
        motion.limit_violations(q, np.arange(5.0), [-1, 2], [1, 1], 1)


def test_pose_windows():
    poses = np.arange(130 * 27, dtype=float).reshape(130, 27)
    w = motion.pose_windows(poses, 60, 30)
    assert w.shape == (3, 60, 27)
    np.testing.assert_array_equal(w[2], poses[60:120])
    assert motion.pose_windows(poses[:59], 60, 30).shape == (0, 60, 27)
