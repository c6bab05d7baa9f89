"""The training format: write/read round trips and validation errors that name the clip and field."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core import skeleton
from gesture_core.contracts import Word
from gesture_core.data import format as fmt
from gesture_core.errors import DataError


def random_poses(n: int, seed: int = 0) -> np.ndarray:
    """(n, 27) float32 unit bone directions near the mean pose."""
    rng = np.random.default_rng(seed)
    d = skeleton.MEAN_DIR_VEC + 0.2 * rng.standard_normal((n, skeleton.POSE_DIM))
    return skeleton.normalize_directions(d).astype(np.float32)


def speech(n_frames: int) -> np.ndarray:
    t = np.arange(fmt.expected_audio_samples(n_frames)) / fmt.SAMPLE_RATE
    return (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


WORDS = [Word("hello", 0.2, 0.5), Word("world", 0.6, 1.1)]


@pytest.mark.parametrize("audio_format", ["flac", "wav"])
def test_round_trip(tmp_path, audio_format):
    poses, audio = random_poses(40), speech(40)
    with fmt.DatasetWriter(tmp_path, audio_format) as writer:
        info = writer.add("clip-a", "alice", poses, audio, WORDS, "test")
    assert (info.n_frames, info.duration, info.audio_file) == (
        40,
        pytest.approx(40 / 15),
        f"audio.{audio_format}",
    )

    (listed,) = fmt.read_manifest(tmp_path)
    assert listed == info
    clip = fmt.load_clip(tmp_path, listed)
    np.testing.assert_array_equal(clip.poses, poses)
    # FLAC stores 16-bit samples: error at most one quantisation step; WAV stores float32.
    np.testing.assert_allclose(clip.audio, audio, atol=1 / 32768 if audio_format == "flac" else 0)
    assert [(w.word, w.start, w.end) for w in clip.words] == [(w.word, w.start, w.end) for w in WORDS]


def test_writer_keeps_other_clips_and_replaces_same_id(tmp_path):
    with fmt.DatasetWriter(tmp_path) as writer:
        writer.add("a", "alice", random_poses(20), speech(20), [], "first")
        writer.add("b", "bob", random_poses(30), speech(30), [], "first")
    with fmt.DatasetWriter(tmp_path, "wav") as writer:
        writer.add("a", "alice", random_poses(25, seed=1), speech(25), [], "second")
    infos = {i.clip_id: i for i in fmt.read_manifest(tmp_path)}
    assert set(infos) == {"a", "b"}
    assert (infos["a"].n_frames, infos["a"].source, infos["a"].audio_file) == (25, "second", "audio.wav")
    assert not (tmp_path / "a" / "audio.flac").exists()
    assert fmt.load_clip(tmp_path, infos["a"]).poses.shape == (25, 27)


def test_write_rejects_bad_clips_naming_the_field(tmp_path):
    writer = fmt.DatasetWriter(tmp_path)
    poses = random_poses(30)
    bad = poses.copy()
    bad[7, 12:15] *= 1.5  # left forearm (bone 4) of frame 7 no longer unit length
    with pytest.raises(DataError, match=r"clip 'c1' poses.npy: bone 'left_upper_arm' of frame 7"):
        writer.add("c1", "s", bad, speech(30), [], "t")
    with pytest.raises(DataError, match=r"clip 'c1' poses.npy: shape \(30, 26\)"):
        writer.add("c1", "s", poses[:, :26], speech(30), [], "t")
    with pytest.raises(DataError, match=r"clip 'c1' audio.flac: .* poses need 2.000 s"):
        writer.add("c1", "s", poses, speech(35), [], "t")
    with pytest.raises(DataError, match=r"clip 'c1' words.json\[1\]: start 0.5 and end 0.4"):
        writer.add("c1", "s", poses, speech(30), [Word("a", 0.1, 0.2), Word("b", 0.5, 0.4)], "t")
    with pytest.raises(DataError, match=r"invalid clip id '../x'"):
        writer.add("../x", "s", poses, speech(30), [], "t")
    writer.close()
    assert fmt.read_manifest(tmp_path) == []


def test_audio_within_two_frames_is_accepted(tmp_path):
    poses = random_poses(30)
    audio = speech(30)[: -fmt.SAMPLE_RATE // 15]  # one frame short
    with fmt.DatasetWriter(tmp_path) as writer:
        writer.add("c", "s", poses, audio, [], "t")
    clip = fmt.load_clip(tmp_path, fmt.read_manifest(tmp_path)[0])
    assert clip.audio.size == audio.size


def test_reading_detects_files_that_disagree_with_the_manifest(tmp_path):
    with fmt.DatasetWriter(tmp_path) as writer:
        writer.add("c", "s", random_poses(30), speech(30), WORDS, "t")
    manifest = json.loads((tmp_path / fmt.MANIFEST).read_text())

    manifest["clips"][0]["n_frames"] = 31
    manifest["clips"][0]["duration"] = 31 / 15
    (tmp_path / fmt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"clip 'c' poses.npy: shape \(30, 27\), manifest needs \(31, 27\)"):
        fmt.open_clip(tmp_path, fmt.read_manifest(tmp_path)[0])

    manifest["clips"][0]["duration"] = 5.0
    (tmp_path / fmt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"manifest.json clips\[0\].duration"):
        fmt.read_manifest(tmp_path)

    del manifest["clips"][0]["speaker_id"]
    (tmp_path / fmt.MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(DataError, match=r"clips\[0\]: missing key 'speaker_id'"):
        fmt.read_manifest(tmp_path)


def test_reading_rejects_bad_words_and_non_unit_poses(tmp_path):
    with fmt.DatasetWriter(tmp_path) as writer:
        info = writer.add("c", "s", random_poses(30), speech(30), [], "t")
    (tmp_path / "c" / fmt.WORDS_FILE).write_text(json.dumps([{"word": "x", "start": "0.1", "end": 0.2}]))
    with pytest.raises(DataError, match=r"clip 'c' words.json\[0\].start: expected a finite number"):
        fmt.open_clip(tmp_path, info)
    (tmp_path / "c" / fmt.WORDS_FILE).write_text("[]")
    np.save(tmp_path / "c" / fmt.POSES_FILE, 2 * random_poses(30))
    with pytest.raises(DataError, match=r"clip 'c' poses.npy: bone '\w+' of frame \d+ has length 2.0000"):
        fmt.load_clip(tmp_path, info)


def test_missing_manifest_is_reported(tmp_path):
    with pytest.raises(DataError, match="no such manifest"):
        fmt.read_manifest(tmp_path)


def test_resample_30_to_15_fps_takes_every_other_frame():
    frames = np.random.default_rng(0).standard_normal((9, 10, 3))
    np.testing.assert_allclose(fmt.resample_frames(frames, 30.0, 5), frames[::2])


@settings(max_examples=30, deadline=None)
@given(
    src_fps=st.floats(10.0, 120.0),
    slope=st.floats(-5.0, 5.0),
    offset=st.floats(-5.0, 5.0),
    n=st.integers(2, 200),
)
def test_resample_reproduces_linear_motion(src_fps, slope, offset, n):
    """Linear interpolation is exact on motion linear in time, at any pair of rates."""
    frames = offset + slope * np.arange(n) / src_fps
    n_out = int((n - 1) / src_fps * 15) + 1
    out = fmt.resample_frames(frames, src_fps, n_out)
    np.testing.assert_allclose(out, offset + slope * np.arange(n_out) / 15, atol=1e-9)


def test_fit_audio_cuts_and_pads():
    a = np.ones(1000, dtype=np.float32)
    out = fmt.fit_audio(a, 3, "x")
    assert out.shape == (3200,) and out[:1000].sum() == 1000 and out[1000:].sum() == 0
    assert fmt.fit_audio(np.ones(5000, np.float32), 3, "x").shape == (3200,)
