"""TED Gesture lmdb -> training format, on a tiny lmdb built here in the authors' layout."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest

from gesture_core import skeleton
from gesture_core.data import format as fmt
from gesture_core.data import ted_lmdb
from gesture_core.errors import DataError

lmdb = pytest.importorskip("lmdb")

SRC_FPS = 30.0  # TED clips come at the video's frame rate


def joint_positions(directions: np.ndarray, seed: int) -> np.ndarray:
    """(n, 10, 3) positions with random bone lengths along the given (n, 27) unit directions."""
    lengths = np.random.default_rng(seed).uniform(0.1, 0.5, skeleton.N_BONES)
    return skeleton.joint_positions(directions, lengths) + [0.3, -0.2, 1.5]


def moving_poses(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    walk = np.cumsum(0.02 * rng.standard_normal((n, skeleton.POSE_DIM)), axis=0)
    return skeleton.normalize_directions(skeleton.MEAN_DIR_VEC + walk)


def make_clip(n_frames: int, start_time: float, words: list, seed: int) -> tuple[dict, np.ndarray]:
    directions = moving_poses(n_frames, seed)
    duration = n_frames / SRC_FPS
    clip = {
        "skeletons_3d": joint_positions(directions, seed),
        "audio_raw": np.random.default_rng(seed).uniform(-0.3, 0.3, int(duration * 16000)).astype(np.float32),
        "audio_feat": np.zeros((64, 10), np.float16),
        "words": words,
        "start_time": np.float64(start_time),  # a numpy scalar, as pickled by the authors' scripts
        "end_time": start_time + duration,
        "start_frame_no": 0,
        "end_frame_no": n_frames,
    }
    return clip, directions


def write_lmdb(path, values: list[bytes]) -> None:
    env = lmdb.open(str(path), map_size=64 << 20)
    with env.begin(write=True) as txn:
        for i, value in enumerate(values):
            txn.put(f"{i:010}".encode("ascii"), value)
    env.close()


def test_convert_tiny_lmdb(tmp_path):
    clip_a, dirs_a = make_clip(60, 10.0, [["hello", 10.2, 10.5], ["world", 11.0, 11.4]], seed=1)
    clip_b, dirs_b = make_clip(45, 100.0, [], seed=2)
    clip_c, dirs_c = make_clip(32, 3.0, [["before", 2.5, 3.2], ["so", 3.5, 3.6]], seed=3)
    videos = [{"vid": "abc-123_X", "clips": [clip_a, clip_b]}, {"vid": "second", "clips": [clip_c]}]
    # the first video as Python 3 pickles usually are, the second with protocol 2 (as from Python 2 tools)
    write_lmdb(
        tmp_path / "lmdb_train", [pickle.dumps(videos[0], protocol=4), pickle.dumps(videos[1], protocol=2)]
    )

    written = ted_lmdb.convert(tmp_path / "lmdb_train", tmp_path / "out")
    assert [i.clip_id for i in written] == ["abc-123_X_000", "abc-123_X_001", "second_000"]
    infos = {i.clip_id: i for i in fmt.read_manifest(tmp_path / "out")}
    assert [infos[c].speaker_id for c in ("abc-123_X_000", "abc-123_X_001", "second_000")] == [
        "abc-123_X",
        "abc-123_X",
        "second",
    ]
    # 60 frames at 30 fps = 2 s -> 30 frames at 15 fps: exactly every other input frame
    for clip_id, dirs in (("abc-123_X_000", dirs_a), ("abc-123_X_001", dirs_b), ("second_000", dirs_c)):
        clip = fmt.load_clip(tmp_path / "out", infos[clip_id])
        n = int(round(len(dirs) / SRC_FPS * 15))
        assert clip.poses.shape == (n, 27)
        np.testing.assert_allclose(clip.poses, dirs[::2][:n], atol=1e-6)
        assert clip.audio.size == fmt.expected_audio_samples(n)

    words = fmt.load_clip(tmp_path / "out", infos["abc-123_X_000"]).words
    assert [(w.word, round(w.start, 6), round(w.end, 6)) for w in words] == [
        ("hello", 0.2, 0.5),
        ("world", 1.0, 1.4),
    ]
    # a word that began before the clip is clipped to its start
    words = fmt.load_clip(tmp_path / "out", infos["second_000"]).words
    assert [(w.word, round(w.start, 6), round(w.end, 6)) for w in words] == [
        ("before", 0.0, 0.2),
        ("so", 0.5, 0.6),
    ]


def test_bad_clip_is_skipped_and_reported(tmp_path, caplog):
    good, _ = make_clip(30, 0.0, [], seed=1)
    bad, _ = make_clip(30, 5.0, [], seed=2)
    bad["skeletons_3d"][4, 6] = np.nan
    write_lmdb(tmp_path / "db", [pickle.dumps({"vid": "v", "clips": [bad, good]})])
    written = ted_lmdb.convert(tmp_path / "db", tmp_path / "out")
    assert [i.clip_id for i in written] == ["v_001"]
    assert "v_000.skeletons_3d: contains NaN" in caplog.text


class Exploit:
    """A pickle payload that would create a directory when unpickled by an unrestricted loader."""

    def __init__(self, target: str):
        self.target = target

    def __reduce__(self):
        return (os.mkdir, (self.target,))


def test_disallowed_class_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "pwned"
    payload = pickle.dumps({"vid": "v", "clips": [{"skeletons_3d": Exploit(str(marker))}]})
    with pytest.raises(DataError, match=r"references (posix|os)\.mkdir, which is not allowed"):
        ted_lmdb.restricted_loads(payload)
    assert not marker.exists()

    write_lmdb(tmp_path / "db", [payload])
    with pytest.raises(DataError, match="not allowed"):
        ted_lmdb.convert(tmp_path / "db", tmp_path / "out")
    assert not marker.exists()
    # plain pickle would have run it: the payload is a real attack
    pickle.loads(payload)
    assert marker.is_dir()


def test_restricted_loads_rebuilds_numpy_and_containers():
    value = {
        "a": np.arange(6, dtype=np.float32).reshape(2, 3),
        "t": np.float64(1.5),
        "w": [("x", 1, 2.0)],
        "s": {1, 2},
    }
    for protocol in (2, 3, 4, 5):
        out = ted_lmdb.restricted_loads(pickle.dumps(value, protocol=protocol))
        np.testing.assert_array_equal(out["a"], value["a"])
        assert out["t"] == 1.5 and out["w"] == [("x", 1, 2.0)]


def test_non_pickle_value_is_explained():
    with pytest.raises(DataError, match="pyarrow.serialize"):
        ted_lmdb.restricted_loads(b"ARROW1\x00\x00")
