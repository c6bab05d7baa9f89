"""Synchrony against the permutation null, on motion built to have a known answer, and on real BEAT2."""

from __future__ import annotations

import numpy as np
import pytest

from gesture_core import skeleton
from gesture_core.errors import DataError
from gesture_core.metrics import cues, kinematics, motion, synchrony

FPS = 15.0
FOREARM = skeleton.BONE_NAMES.index("left_forearm")


def stroke_motion(stroke_times: np.ndarray, duration: float, amplitude: float = 0.6, width: float = 0.06):
    """Poses (T, 27): the mean pose whose left forearm swings up and down in steps (sigmoids of
    ``width`` s) centred on ``stroke_times``: its hand speed peaks exactly there (~0.8 u/s)."""
    t = np.arange(round(duration * FPS)) / FPS
    signs = (-1.0) ** np.arange(len(stroke_times))
    angle = 1.0 + np.sum(
        signs[:, None] * amplitude / (1 + np.exp(-(t[None] - np.asarray(stroke_times)[:, None]) / width)),
        axis=0,
    )
    d = skeleton.as_directions(np.tile(skeleton.MEAN_DIR_VEC, (len(t), 1))).copy()
    d[:, FOREARM] = np.stack([np.cos(angle), np.sin(angle), np.zeros_like(angle)], axis=1)
    return d.reshape(len(t), 27)


def irregular_cues(duration: float, seed: int) -> np.ndarray:
    """Random cue times (gaps 0.25 s + exponential with mean 0.65 s), from 0.5 s to ``duration`` - 0.5 s."""
    rng = np.random.default_rng(seed)
    times = 0.5 + np.cumsum(0.25 + rng.exponential(0.65, int(2 * duration)))
    return times[times < duration - 0.5]


def test_strokes_are_the_hand_speed_peaks():
    times = np.array([1.0, 2.2, 3.1])
    poses = stroke_motion(times, 4.0)
    np.testing.assert_allclose(kinematics.strokes(poses), times, atol=0.5 / FPS)
    assert kinematics.stroke_speed(poses).max() > 0.5
    assert kinematics.strokes(np.tile(skeleton.MEAN_DIR_VEC, (60, 1))).size == 0
    tiny = stroke_motion(times, 4.0, amplitude=0.05)  # peaks of ~0.07 u/s: not visible strokes
    assert kinematics.strokes(tiny).size == 0


def test_strokes_on_the_cues_score_far_above_chance_and_a_half_second_shift_is_chance():
    duration, late_percentiles = 40.0, []
    for seed in range(8):
        c = irregular_cues(duration, seed)
        on = synchrony.motion_synchrony(stroke_motion(c, duration), c, seed=0)
        assert on.score > 0.95 and on.percentile == 100 and on.z > 5
        for shift in (0.5, -0.5):
            moved = synchrony.motion_synchrony(stroke_motion(c + shift, duration), c, seed=0)
            assert moved.n_events >= on.n_events - 1 and abs(moved.z) < 2
            late_percentiles.append(moved.percentile)
    assert 30 < np.mean(late_percentiles) < 70  # measured: 54


def test_a_static_pose_sits_at_chance():
    res = synchrony.motion_synchrony(np.tile(skeleton.MEAN_DIR_VEC, (300, 1)), irregular_cues(20.0, 1))
    assert (res.score, res.percentile, res.z, res.n_events) == (0.0, 50.0, 0.0, 0)


def test_pooled_clips_and_explicit_seeds():
    clips = [(irregular_cues(d, s), d) for s, d in ((1, 12.0), (2, 8.0), (4, 15.0))]
    aligned = [
        synchrony.motion_synchrony(stroke_motion(c, d), c, seed=(0, i)) for i, (c, d) in enumerate(clips)
    ]
    pooled = synchrony.pooled_sync(aligned)
    assert pooled.percentile == 100 and pooled.n_cues == sum(len(c) for c, _ in clips)
    w = np.array([r.n_cues for r in aligned])
    assert pooled.score == pytest.approx(np.sum(w * [r.score for r in aligned]) / w.sum())
    np.testing.assert_allclose(pooled.null, np.sum(w[:, None] * [r.null for r in aligned], 0) / w.sum())
    again = synchrony.motion_synchrony(stroke_motion(clips[0][0], 12.0), clips[0][0], seed=(0, 0))
    np.testing.assert_array_equal(again.null, aligned[0].null)  # same seed, same null
    other = synchrony.motion_synchrony(stroke_motion(clips[0][0], 12.0), clips[0][0], seed=(1, 0))
    assert not np.array_equal(other.null, aligned[0].null)
    with pytest.raises(DataError, match="different lengths"):
        synchrony.pooled_sync(
            [
                aligned[0],
                synchrony.motion_synchrony(stroke_motion(clips[1][0], 8.0), clips[1][0], n_shifts=50),
            ]
        )


def test_scores_percentiles_and_edge_cases():
    assert synchrony.alignment_score([1.0, 2.0], [1.0, 2.1], sigma=0.1) == pytest.approx(
        (1 + np.exp(-0.5)) / 2
    )
    assert np.isnan(synchrony.alignment_score([], [1.0])) and synchrony.alignment_score([1.0], []) == 0.0
    # BeatAlign is the alignment score of onsets to speed minima with sigma 0.3 s
    a, m = np.array([0.5, 1.7, 3.2]), np.array([0.4, 1.0, 2.0, 3.9])
    assert synchrony.alignment_score(a, m, motion.BEAT_SIGMA) == pytest.approx(motion.beat_align(a, m))
    r = synchrony.SyncResult.from_null(0.5, np.array([0.1, 0.5, 0.5, 0.9]), 3, 2)
    assert r.percentile == pytest.approx(50.0)  # one below, two ties (half), one above
    assert synchrony.SyncResult.from_null(1.0, np.full(10, 0.2), 1, 1).z == np.inf
    short = synchrony.sync_test([0.5], [0.5], duration=1.5)  # no shift fits in [1 s, T - 1 s]
    assert short.score == 1.0 and np.isnan(short.percentile)
    assert np.isnan(synchrony.pooled_sync([short]).score)
    with pytest.raises(DataError, match="duration"):
        synchrony.sync_test([0.5], [0.5], duration=0.0)


@pytest.mark.shared
def test_real_beat2_motion_is_in_sync_with_its_own_speech_and_a_shift_destroys_it(shared_dir):
    """The 63.5 s BEAT2 clip: its strokes fall on its stressed syllables (far above chance); the same
    motion 0.5 s late, or against another stretch of the speech, is at chance."""
    from gesture_core.data import beat2, textgrid

    src = shared_dir / "data" / "beat2_scott"
    take = beat2.read_take(src / "2_scott_0_1_1.npz")
    stressed = cues.stressed_syllables(textgrid.read_phones(src / "2_scott_0_1_1.TextGrid"), take.words)
    real = synchrony.motion_synchrony(take.poses, stressed, seed=0)
    # measured: 99.8th percentile, z +2.8 (prominent syllables from the audio alone: 91st, z +1.4)
    assert real.percentile > 99 and real.z > 2.5
    late = np.concatenate([np.repeat(take.poses[:1], 8, axis=0), take.poses[:-8]])  # 0.53 s late
    assert synchrony.motion_synchrony(late, stressed, seed=0).percentile < 95  # measured: 74th
    rolled = np.roll(take.poses, len(take.poses) // 3, axis=0)  # another stretch of the speech
    assert synchrony.motion_synchrony(rolled, stressed, seed=0).percentile < 95  # measured: 34th


def test_a_start_from_rest_on_every_clip_does_not_count_as_synchrony():
    """Speech that starts 0.3 s into every clip and motion that starts there too (a generator leaving
    its rest pose), unrelated in between: in sync only if the clip ends are scored."""
    results = {0.0: [], synchrony.EDGE: []}
    for i in range(12):
        rng = np.random.default_rng(i)
        speech = np.concatenate([[0.3], np.sort(rng.uniform(1.0, 5.5, 4))])
        strokes = np.concatenate([[0.3], np.sort(rng.uniform(1.0, 5.5, 4))])
        for edge, res in results.items():
            res.append(synchrony.sync_test(speech, strokes, 6.0, 200, (0, i), edge=edge))
    assert synchrony.pooled_sync(results[0.0]).percentile > 95  # measured: 99
    assert 5 < synchrony.pooled_sync(results[synchrony.EDGE]).percentile < 95  # measured: 31
