"""The sliding-window engine shared by learned generators: geometry, audio and word placement,
seeding, blending continuity and streaming continuation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core import skeleton
from gesture_core.errors import ConfigError, ModelError
from gesture_core.generation.windows import (
    TimedToken,
    WindowInput,
    WindowSpec,
    blend_overlap,
    make_pre_seq,
    run_windows,
    window_audio,
    window_text_ids,
)

SPEC = WindowSpec()
MEAN = skeleton.MEAN_DIR_VEC


def test_default_geometry_matches_the_trimodal_model():
    assert (SPEC.n_poses, SPEC.n_pre_poses, SPEC.stride) == (34, 4, 30)
    assert SPEC.audio_samples == 36266 == int(34 / 15 * 16000)
    # windows cover n_frames: 34 + 30 (k - 1) >= n_frames
    for n_frames in (1, 34, 35, 64, 65, 150, 1000):
        k = SPEC.n_windows(n_frames)
        assert 34 + 30 * (k - 1) >= n_frames
        assert k == 1 or 34 + 30 * (k - 2) < n_frames


def test_spec_validation_names_the_field():
    with pytest.raises(ConfigError, match="n_pre_poses"):
        WindowSpec(n_poses=4, n_pre_poses=4)


def test_window_audio_slices_and_zero_pads_both_ends():
    audio = np.arange(1, 101, dtype=np.float32)
    np.testing.assert_array_equal(window_audio(audio, 10, 5), audio[10:15])
    head = window_audio(audio, -3, 5)
    np.testing.assert_array_equal(head, [0, 0, 0, 1, 2])
    tail = window_audio(audio, 98, 5)
    np.testing.assert_array_equal(tail, [99, 100, 0, 0, 0])
    assert window_audio(audio, 200, 4).tolist() == [0, 0, 0, 0]


def test_text_ids_follow_the_training_placement():
    t0 = 2.0  # second window
    tokens = [
        TimedToken(5, 1.5, 1.9),  # ended before the window: absent
        TimedToken(6, 1.9, 2.1),  # began before, overlaps: frame 0
        TimedToken(7, 2.1, 2.3),  # 0.1 s in: frame floor(1.5) = 1
        TimedToken(8, 3.0, 3.2),  # 1.0 s in: frame 15
        TimedToken(9, 2.0 + 34 / 15, 4.5),  # starts when the window ends: absent
    ]
    ids = window_text_ids(tokens, t0, SPEC)
    assert ids.dtype == np.int64 and ids.shape == (34,)
    assert {int(i): int(ids[i]) for i in np.flatnonzero(ids)} == {0: 6, 1: 7, 15: 8}


@settings(max_examples=200, deadline=None)
@given(t0=st.floats(0, 100), offset=st.floats(0, 34 / 15 - 1e-6))
def test_a_word_lands_on_the_frame_containing_its_start(t0, offset):
    ids = window_text_ids([TimedToken(42, t0 + offset, t0 + offset + 0.2)], t0, SPEC)
    (frame,) = np.flatnonzero(ids)
    assert frame / 15 - 1e-6 <= offset < (frame + 1) / 15 + 1e-6


def test_pre_seq_layout():
    seed = np.arange(4 * 27, dtype=np.float32).reshape(4, 27)
    pre = make_pre_seq(seed, SPEC)
    assert pre.shape == (34, 28)
    np.testing.assert_array_equal(pre[:4, :27], seed)
    np.testing.assert_array_equal(pre[:4, 27], 1.0)
    assert not pre[4:].any()


def test_blend_weights():
    prev, nxt = np.zeros((4, 1)), np.ones((4, 1))
    # out[j] = prev[j] (4 - j) / 5 + next[j] (j + 1) / 5
    np.testing.assert_allclose(blend_overlap(prev, nxt)[:, 0], [(j + 1) / 5 for j in range(4)])
    a, b = np.random.default_rng(0).standard_normal((2, 4, 27))
    want = np.stack([a[j] * (4 - j) / 5 + b[j] * (j + 1) / 5 for j in range(4)])
    np.testing.assert_allclose(blend_overlap(a, b), want)


class SeedFollowingModel:
    """A smooth stand-in for a trained model: starts at its seed poses (as training teaches), then
    eases from the seed's pose and velocity towards its own smooth random trajectory.
    Records every input it got."""

    def __init__(self, seed: int = 0, speed: float = 0.03):
        self.rng = np.random.default_rng(seed)
        self.speed = speed
        self.inputs: list[WindowInput] = []
        self.outputs: list[np.ndarray] = []

    def __call__(self, win: WindowInput) -> np.ndarray:
        self.inputs.append(win)
        seed = win.pre_seq[:4, :27].astype(np.float64)
        k = np.arange(34)[:, None]
        phase, freq = self.rng.uniform(0, 2 * np.pi, 27), self.rng.uniform(0.05, 0.15, 27)
        own = 0.3 * np.sin(freq * (k + win.start_frame) + phase)  # the window's own motion
        velocity = seed[3] - seed[2]
        follow = seed[3] + velocity * (k - 3)  # continue the seed's motion
        x = np.clip((k - 3) / 12.0, 0.0, 1.0)
        w = x * x * (3 - 2 * x)  # smoothstep 0 -> 1 over frames 3..15
        out = (1 - w) * follow + w * own
        out[:4] = seed
        self.outputs.append(out)
        return out


def _jumps(poses: np.ndarray) -> np.ndarray:
    """Frame-to-frame change |p[k+1] - p[k]| (k = 0..N-2)."""
    return np.linalg.norm(np.diff(poses, axis=0), axis=1)


def test_windows_are_seeded_with_the_previous_raw_frames_and_joins_are_smooth():
    model = SeedFollowingModel()
    n_frames = 150  # 10 s: 5 windows
    audio = np.random.default_rng(1).standard_normal(n_frames * 16000 // 15).astype(np.float32)
    poses = run_windows(model, audio, [], n_frames, MEAN, SPEC)
    assert poses.shape == (150, 27)
    np.testing.assert_allclose(np.linalg.norm(poses.reshape(-1, 9, 3), axis=-1), 1.0, atol=1e-9)

    assert len(model.inputs) == 5
    np.testing.assert_array_equal(model.inputs[0].pre_seq[:4, :27], 0.0)  # the mean pose
    for i in range(1, 5):
        win = model.inputs[i]
        assert win.start_frame == 30 * i
        np.testing.assert_allclose(win.pre_seq[:4, :27], model.outputs[i - 1][-4:], atol=1e-6)
        part = audio[32000 * i : 32000 * i + 36266]  # the last window runs past the audio: zeros
        np.testing.assert_array_equal(win.audio, np.pad(part, (0, 36266 - part.size)))

    # Continuity: the largest step across a join is no larger than the model's own largest step
    # inside windows (away from joins).
    steps = _jumps(poses)
    join_frames = {30 * i + j for i in range(1, 5) for j in range(-1, 5)}
    inside = np.array([s for k, s in enumerate(steps) if k not in join_frames])
    across = np.array([steps[k] for k in sorted(join_frames) if k < len(steps)])
    assert across.max() <= inside.max(), (across.max(), inside.max())


def test_blending_spreads_the_gap_between_independent_windows():
    """A model that ignores its seed leaves a gap between windows; the 5-frame cross-fade turns it
    into 5 steps of about a fifth of the gap instead of one jump."""
    v = 0.3 * np.random.default_rng(5).standard_normal(27)

    def alternating_model(win: WindowInput) -> np.ndarray:
        return np.tile(v * (-1) ** win.index, (34, 1))  # constant within a window

    poses = run_windows(alternating_model, np.zeros(64 * 1067, np.float32), [], 64, MEAN, SPEC)
    gap = np.linalg.norm(skeleton.normalize_directions(MEAN + v) - skeleton.normalize_directions(MEAN - v))
    steps = _jumps(poses)
    assert np.flatnonzero(steps > 1e-9).tolist() == [29, 30, 31, 32, 33]  # frames 29->30 ... 33->34
    assert steps.max() < 0.35 * gap
    assert steps.sum() >= gap - 1e-9


def test_streaming_continuation_with_seed_poses():
    """A second call seeded with the last 4 frames of the first continues smoothly, and its first
    window starts 4 frames before its audio (zero-padded there)."""
    audio = np.random.default_rng(2).standard_normal(6 * 16000).astype(np.float32)
    first, second = audio[: 3 * 16000], audio[3 * 16000 :]
    model = SeedFollowingModel(seed=3)
    a = run_windows(model, first, [], 45, MEAN, SPEC)
    model2 = SeedFollowingModel(seed=4)
    b = run_windows(model2, second, [], 45, MEAN, SPEC, seed_poses=a[-4:])

    win0 = model2.inputs[0]
    assert win0.start_frame == -4
    lead = math.ceil(4 / 15 * 16000)
    np.testing.assert_array_equal(win0.audio[:lead], 0.0)
    np.testing.assert_array_equal(win0.audio[lead:], second[: 36266 - lead])
    np.testing.assert_allclose(win0.pre_seq[:4, :27], a[-4:] - MEAN, atol=1e-6)

    both = np.concatenate([a, b])
    steps = _jumps(both)
    assert steps[44] <= steps[np.arange(len(steps)) != 44].max()


def test_amplitude_scales_motion_around_the_mean():
    def model(win: WindowInput) -> np.ndarray:
        return np.tile(np.linspace(-0.2, 0.2, 34)[:, None], (1, 27))

    still = run_windows(model, np.zeros(16000, np.float32), [], 15, MEAN, SPEC, amplitude=0.0)
    np.testing.assert_allclose(still, np.tile(skeleton.normalize_directions(MEAN), (15, 1)), atol=1e-12)
    small = run_windows(model, np.zeros(16000, np.float32), [], 15, MEAN, SPEC, amplitude=0.5)
    full = run_windows(model, np.zeros(16000, np.float32), [], 15, MEAN, SPEC, amplitude=1.0)
    assert _jumps(small).sum() < _jumps(full).sum()


def test_bad_model_output_and_bad_seed_are_reported():
    with pytest.raises(ModelError, match="window 0"):
        run_windows(lambda w: np.zeros((33, 27)), np.zeros(100, np.float32), [], 10, MEAN, SPEC)
    with pytest.raises(ModelError, match="NaN"):
        run_windows(lambda w: np.full((34, 27), np.nan), np.zeros(100, np.float32), [], 10, MEAN, SPEC)
    with pytest.raises(ConfigError, match="seed_poses"):
        run_windows(lambda w: np.zeros((34, 27)), np.zeros(100, np.float32), [], 10, MEAN, SPEC, np.zeros((3, 27)))
