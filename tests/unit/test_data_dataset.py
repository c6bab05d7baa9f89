"""Windowed dataset: window count, and alignment of poses, audio and words on a self-made clip."""

from __future__ import annotations

import numpy as np
import pytest

from gesture_core import skeleton
from gesture_core.contracts import Word
from gesture_core.data import format as fmt
from gesture_core.data.dataset import GestureWindows, TorchWindows
from gesture_core.errors import DataError
from gesture_core.vocab import Vocab

VOCAB = Vocab(["hello", "world", "early"])


def frame_coded_poses(n: int) -> np.ndarray:
    """(n, 27) unit poses whose left forearm angle encodes the frame index: angle = 0.01 * k rad."""
    d = skeleton.as_directions(np.tile(skeleton.MEAN_DIR_VEC, (n, 1))).copy()
    angle = 0.01 * np.arange(n)
    d[:, 5] = np.stack([np.cos(angle), np.sin(angle), np.zeros(n)], axis=1)
    return skeleton.normalize_directions(d.reshape(n, 27)).astype(np.float32)


def frame_index(poses: np.ndarray) -> np.ndarray:
    forearm = skeleton.as_directions(poses)[:, 5]
    return np.round(np.arctan2(forearm[:, 1], forearm[:, 0]) / 0.01).astype(int)


def ramp_audio(n_frames: int) -> np.ndarray:
    """Sample ``s`` has value ``s / 2**20``: the value tells where a sample came from."""
    return (np.arange(fmt.expected_audio_samples(n_frames)) / 2**20).astype(np.float32)


@pytest.fixture
def dataset_dir(tmp_path):
    words = [Word("early", 0.0, 0.75), Word("Hello,", 1.05, 1.3), Word("world", 3.2, 3.5)]
    with fmt.DatasetWriter(tmp_path, "wav") as writer:
        writer.add("long", "bob", frame_coded_poses(60), ramp_audio(60), words, "test")
        writer.add("short", "alice", frame_coded_poses(20), ramp_audio(20), [], "test")
        writer.add("exact", "alice", frame_coded_poses(34), ramp_audio(34), [], "test")
    return tmp_path


def test_window_count_and_speakers(dataset_dir):
    ds = GestureWindows(dataset_dir, VOCAB)
    # 60 frames: starts 0, 10, 20 (20 + 34 <= 60); 20 frames: none; 34 frames: one
    assert [(ds.clips[c].info.clip_id, s) for c, s in ds.windows] == [
        ("long", 0),
        ("long", 10),
        ("long", 20),
        ("exact", 0),
    ]
    assert ds.speakers == {"alice": 1, "bob": 2}
    assert [int(ds[i]["speaker"]) for i in range(len(ds))] == [2, 2, 2, 1]


def test_poses_audio_and_words_line_up(dataset_dir):
    ds = GestureWindows(dataset_dir, VOCAB)
    item = ds[1]  # clip "long", window starting at frame 10 = 0.667 s
    assert item["poses"].shape == (34, 27) and item["poses"].dtype == np.float32
    np.testing.assert_array_equal(frame_index(item["poses"]), np.arange(10, 44))
    assert item["audio"].shape == (36266,) and item["audio"].dtype == np.float32
    first_sample = round(10 * 16000 / 15)
    np.testing.assert_allclose(item["audio"] * 2**20, first_sample + np.arange(36266), atol=1e-3)

    text = item["text"]
    assert text.shape == (34,) and text.dtype == np.int64
    # "early" (0-0.75 s) overlaps the window start -> frame 0;
    # "Hello," at 1.05 s -> frame floor((1.05 - 2/3) * 15) = 5
    # "world" at 3.2 s is past the window's end (0.667 + 2.267 = 2.933 s)
    expected = np.zeros(34, np.int64)
    expected[0], expected[5] = VOCAB.lookup("early"), VOCAB.lookup("hello")
    np.testing.assert_array_equal(text, expected)
    # window 0: "Hello," at frame floor(1.05 * 15) = 15
    assert np.flatnonzero(ds[0]["text"]).tolist() == [0, 15]
    assert int(ds[0]["text"][15]) == VOCAB.lookup("hello")
    # window 2 starts at 1.333 s: "world" at floor((3.2 - 4/3) * 15) = 28
    assert np.flatnonzero(ds[2]["text"]).tolist() == [28]


def test_without_vocabulary_text_is_padding(dataset_dir):
    ds = GestureWindows(dataset_dir)
    assert not ds[0]["text"].any()


def test_audio_past_the_clip_end_is_zero(tmp_path):
    n = 34
    audio = ramp_audio(n)[: -fmt.SAMPLE_RATE // 15]  # one frame short, still a valid clip
    with fmt.DatasetWriter(tmp_path, "wav") as writer:
        writer.add("c", "s", frame_coded_poses(n), audio, [], "test")
    item = GestureWindows(tmp_path)[0]
    np.testing.assert_array_equal(item["audio"][: audio.size], audio)
    assert not item["audio"][audio.size :].any()


def test_speaker_mapping_must_cover_every_speaker(dataset_dir):
    assert GestureWindows(dataset_dir, speakers={"alice": 7, "bob": 3})[0]["speaker"] == 3
    with pytest.raises(DataError, match=r"no id for speaker\(s\) \['bob'\]"):
        GestureWindows(dataset_dir, speakers={"alice": 1})


def test_corrupted_window_is_reported(dataset_dir):
    poses = frame_coded_poses(60)
    poses[12] = 0.0
    np.save(dataset_dir / "long" / fmt.POSES_FILE, poses)
    ds = GestureWindows(dataset_dir)
    with pytest.raises(DataError, match=r"clip 'long' poses.npy: bone 'spine' of frame 12 has length 0.0000"):
        ds[1]


def test_other_stride(dataset_dir):
    ds = GestureWindows(dataset_dir, stride=13)
    assert [(ds.clips[c].info.clip_id, s) for c, s in ds.windows] == [
        ("long", 0),
        ("long", 13),
        ("long", 26),
        ("exact", 0),
    ]


def test_torch_adapter_batches(dataset_dir):
    torch = pytest.importorskip("torch")
    loader = torch.utils.data.DataLoader(TorchWindows(GestureWindows(dataset_dir, VOCAB)), batch_size=2)
    batch = next(iter(loader))
    assert batch["poses"].shape == (2, 34, 27) and batch["poses"].dtype == torch.float32
    assert batch["audio"].shape == (2, 36266)
    assert batch["text"].dtype == torch.int64 and batch["speaker"].tolist() == [2, 2]
