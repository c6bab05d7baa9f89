"""Audio features on signals whose answer is known: clicks, sines, silence; timing and windows."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core.contracts import AUDIO_SAMPLE_RATE as SR
from gesture_core.errors import ConfigError, ContractError
from gesture_core.features import FeatureConfig, extract_features

FRAME = 1 / 15  # one gesture frame, s


def clicks(times: list[float], duration: float, seed: int = 0) -> np.ndarray:
    """Short noise bursts (5 ms) at ``times`` (s) over a -80 dB noise floor."""
    rng = np.random.default_rng(seed)
    y = rng.normal(0, 1e-4, int(duration * SR)).astype(np.float32)
    for t in times:
        i = int(round(t * SR))
        y[i : i + 80] += 0.8 * np.hanning(80) * np.sign(rng.normal(size=80))
    return y


def sine(hz: float, duration: float, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * hz * np.arange(int(duration * SR)) / SR)).astype(np.float32)


def test_onsets_of_clicks_within_one_frame():
    times = [0.31, 0.87, 1.42, 2.05, 2.6]
    f = extract_features(clicks(times, 3.3), "clicks")
    assert len(f.onsets) == len(times)
    np.testing.assert_allclose(f.onsets, times, atol=FRAME)
    # the onset envelope peaks in the frame of each click
    peak_frames = np.argsort(f.onset_strength)[-len(times) :]
    np.testing.assert_allclose(np.sort(f.frame_times()[peak_frames]), times, atol=FRAME)


def test_beats_follow_a_regular_click_train():
    period = 0.5
    times = list(np.arange(0.25, 6.0, period))
    f = extract_features(clicks(times, 6.2), "beats")
    assert len(f.beats) >= 4
    nearest = np.min(np.abs(f.beats[:, None] - np.asarray(times)[None, :]), axis=1)
    assert np.all(nearest < FRAME)
    np.testing.assert_allclose(np.median(np.diff(f.beats)), period, rtol=0.1)


@pytest.mark.parametrize("hz", [90.0, 180.0, 333.0])
def test_sine_pitch_within_two_percent(hz):
    f = extract_features(sine(hz, 1.5), "sine")
    assert np.all(f.f0_hz > 0), "a steady tone is voiced in every frame"
    np.testing.assert_allclose(f.f0_hz, hz, rtol=0.02)
    np.testing.assert_allclose(f.rms[2:-2], 0.5 / math.sqrt(2), rtol=0.02)


def test_silence_is_unvoiced_and_quiet():
    f = extract_features(np.zeros(SR, np.float32), "quiet")
    assert np.all(f.f0_hz == 0) and np.all(f.rms < 1e-6)
    assert len(f.onsets) == 0 and len(f.beats) == 0
    assert np.all(f.log_mel <= -99.0)


def test_noise_is_unvoiced_tone_in_noise_is_voiced():
    rng = np.random.default_rng(3)
    noise = rng.uniform(-0.3, 0.3, SR).astype(np.float32)
    assert np.mean(extract_features(noise, "noise").f0_hz > 0) < 0.1
    f = extract_features(sine(150, 1.0) + 0.05 * noise, "tone")
    assert np.mean(f.f0_hz > 0) > 0.9


def test_tone_between_silences_is_voiced_only_where_it_sounds():
    y = np.concatenate([np.zeros(SR // 2), sine(200, 1.0), np.zeros(SR // 2)]).astype(np.float32)
    f = extract_features(y, "burst")
    t = f.frame_times()
    assert np.all(f.f0_hz[(t < 0.45) | (t > 1.55)] == 0)
    np.testing.assert_allclose(f.f0_hz[(t > 0.55) & (t < 1.45)], 200, rtol=0.02)


@pytest.mark.parametrize("n_samples", [160, 1067, 16000, 16001, 37123])
@pytest.mark.parametrize("frame_rate", [15.0, 30.0, 7.5])
def test_whole_utterance_frames_cover_the_audio(n_samples, frame_rate):
    cfg = FeatureConfig(frame_rate=frame_rate, n_mels=40)
    y = np.random.default_rng(n_samples).uniform(-0.2, 0.2, n_samples).astype(np.float32)
    f = extract_features(y, "u", cfg)
    duration = n_samples / SR
    assert f.t0 == 0 and f.frame_rate == frame_rate
    assert f.n_frames == math.ceil(duration * frame_rate)
    assert f.log_mel.shape == (f.n_frames, 40)
    for series in (f.onset_strength, f.rms, f.f0_hz):
        assert series.shape == (f.n_frames,)
    t = f.frame_times()
    np.testing.assert_allclose(t, np.arange(f.n_frames) / frame_rate)
    assert t[-1] < duration <= t[-1] + 1 / frame_rate + 1e-9
    assert np.all((f.onsets >= 0) & (f.onsets <= duration))


@settings(max_examples=30, deadline=None)
@given(
    offset=st.integers(0, 100_000),
    n_samples=st.integers(160, 8000),
    frame_rate=st.sampled_from([5.0, 15.0, 24.0, 30.0, 40.0]),
)
def test_any_segment_gets_every_grid_frame_inside_it(offset, n_samples, frame_rate):
    """Every output frame pools at least one fine frame (else its mean would be NaN and rejected)."""
    y = np.random.default_rng(offset).uniform(-0.3, 0.3, n_samples).astype(np.float32)
    f = extract_features(y, "seg", FeatureConfig(frame_rate=frame_rate), offset_samples=offset)
    t = f.frame_times()
    k = np.arange(math.ceil(offset * frame_rate / SR - 1e-9), math.ceil((offset + n_samples) * frame_rate / SR - 1e-9))
    np.testing.assert_allclose(t, k / frame_rate)
    assert np.all((t >= offset / SR - 1e-9) & (t < (offset + n_samples) / SR))


@pytest.mark.parametrize("offset", [32000, 17777])
def test_window_frames_equal_whole_utterance_frames_inside(offset):
    """A window lies on the utterance's frame grid and matches it away from its two edge frames."""
    rng = np.random.default_rng(1)
    y = np.concatenate([sine(140, 1.3), rng.normal(0, 0.1, SR), sine(220, 1.7)]).astype(np.float32)
    whole = extract_features(y, "w")
    length = 2 * SR
    win = extract_features(y[offset : offset + length], "w", offset_samples=offset, final=False)
    assert not win.final and whole.final
    k0 = round(win.t0 * 15)
    assert win.t0 == pytest.approx(k0 / 15) and win.t0 >= offset / SR > win.t0 - FRAME
    assert win.frame_times()[-1] < (offset + length) / SR
    inner = slice(1, win.n_frames - 1)
    whole_inner = slice(k0 + 1, k0 + win.n_frames - 1)
    np.testing.assert_allclose(win.log_mel[inner], whole.log_mel[whole_inner], atol=1e-3)
    np.testing.assert_allclose(win.rms[inner], whole.rms[whole_inner], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(win.f0_hz[inner], whole.f0_hz[whole_inner], rtol=1e-4)
    np.testing.assert_allclose(win.onset_strength[inner], whole.onset_strength[whole_inner], rtol=1e-3, atol=1e-3)


def test_rejects_bad_audio_and_names_bad_config_keys():
    with pytest.raises(ContractError, match="NaN"):
        extract_features(np.full(1000, np.nan, np.float32), "u")
    with pytest.raises(ContractError, match="at least 160 samples"):
        extract_features(np.zeros(10, np.float32), "u")
    with pytest.raises(ContractError, match="offset_samples"):
        extract_features(np.zeros(1000, np.float32), "u", offset_samples=-1)
    for kw, key in [
        ({"frame_rate": 100.0}, "frame_rate"),
        ({"hop_s": 0.01003}, "hop_s"),
        ({"n_mels": 0}, "n_mels"),
        ({"f0_min_hz": 10.0}, "f0_min_hz"),
        ({"f0_min_hz": 300.0, "f0_max_hz": 200.0}, "f0_max_hz"),
        ({"voicing_threshold": 1.5}, "voicing_threshold"),
    ]:
        with pytest.raises(ConfigError, match=key):
            FeatureConfig(**kw)


@pytest.mark.slow
def test_processes_starting_together_share_librosas_numba_cache_safely(tmp_path):
    """Regression: nodes of the graph start at once and all extract features. numba's disk cache
    is not safe for concurrent writers (numba #10128: a gufunc's two cache files from different
    processes segfault every later loader), so the first compile is serialised by a file lock.
    Here four processes start on an empty cache together, then a fifth loads what they wrote;
    every one must exit cleanly (a segfault is exit code -11)."""
    code = (
        "import numpy as np\n"
        "from gesture_core.features import extract_features\n"
        "y = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1\n"
        "f = extract_features(y, 'u')\n"
        "assert f.rms.size == 15\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba-cache")}
    procs = [
        subprocess.Popen([sys.executable, "-c", code], env=env, stderr=subprocess.PIPE, text=True) for _ in range(4)
    ]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    last = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    results.append((last.returncode, last.stderr))
    assert any((tmp_path / "numba-cache").rglob("*.nbc")), "librosa's kernels were not cached"
    for rc, err in results:
        assert rc == 0, err
