"""TED-Expressive reader: self-made clips in HA2G's 42-vector camera-axis layout, word timings, and the
real clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gesture_core import skeleton
from gesture_core.data import format as fmt
from gesture_core.data import ted_expressive as tx
from gesture_core.errors import DataError

#: Nose -> eye unit vectors of a level head facing forward, TED axes (right eye on +x).
RIGHT_EYE = np.array([0.5, -0.6, -0.3]) / np.linalg.norm([0.5, -0.6, -0.3])
LEFT_EYE = RIGHT_EYE * [-1.0, 1.0, 1.0]


def ha2g_vectors(ted_poses: np.ndarray, camera: bool = True) -> np.ndarray:
    """(T, 126) HA2G vectors whose TED bones are ``ted_poses`` (T, 27); camera axes unless not ``camera``."""
    d = skeleton.as_directions(ted_poses)
    v = np.tile(np.array([0.0, 1.0, 0.0]), (len(d), tx.N_VECTORS, 1))  # fingers: any unit vector
    for bone, i in enumerate(tx.TED_FROM_HA2G):
        if i is not None:
            v[:, i] = d[:, bone]
    v[:, tx.RIGHT_EYE], v[:, tx.LEFT_EYE] = RIGHT_EYE, LEFT_EYE
    return (v * tx.CAMERA_TO_TED if camera else v).reshape(len(d), -1).astype(np.float32)


def write_clip(
    root: Path, clip_id: str, ted_poses: np.ndarray, camera: bool = True, timing: str = ""
) -> None:
    np.savez(root / f"{clip_id}_gt.npz", human_dir_vec=ha2g_vectors(ted_poses, camera), fps=np.int64(15))
    sf.write(root / f"{clip_id}.wav", np.zeros(fmt.expected_audio_samples(len(ted_poses)), np.float32), 16000)
    (root / f"{clip_id}_with_timing.txt").write_text(timing, encoding="utf-8")


def test_ted_bones_come_back_and_the_head_follows_the_eyes(tmp_path):
    rng = np.random.default_rng(0)
    poses = skeleton.normalize_directions(skeleton.MEAN_DIR_VEC + 0.1 * rng.standard_normal((20, 27)))
    timing = "['hola ', -0.5, 0.3]\n['mundo', 0.3, 0.9]\n['fuera', 2.0, 2.5]\n\n['largo', 1.0, 9.0]\n"
    write_clip(tmp_path, "abcdefghijk_1_0_2", poses, timing=timing)
    (info,) = tx.convert(tmp_path, tmp_path / "out")
    clip = fmt.load_clip(tmp_path / "out", info)
    assert (info.clip_id, info.speaker_id, info.n_frames) == ("abcdefghijk_1_0_2", "abcdefghijk", 20)
    head = skeleton.BONE_NAMES.index("head")
    body = [b for b in range(9) if b != head]
    got = skeleton.as_directions(clip.poses)
    np.testing.assert_allclose(got[:, body], skeleton.as_directions(poses)[:, body], atol=1e-6)
    # eye frame: x = (1, 0, 0), y = the eyes' up (0, -0.6, -0.3)/|.|; head = cos10 y - sin10 (x cross y)
    y = np.array([0.0, -0.6, -0.3]) / np.linalg.norm([0.6, 0.3])
    expected = np.cos(np.radians(10)) * y - np.sin(np.radians(10)) * np.cross([1.0, 0, 0], y)
    np.testing.assert_allclose(got[:, head], np.broadcast_to(expected, (20, 3)), atol=1e-6)
    # words: the one starting before 0 clipped, the one after the clip (1.33 s) dropped, the long one cut
    assert [(w.word, round(w.start, 2), round(w.end, 2)) for w in clip.words] == [
        ("hola", 0.0, 0.3), ("mundo", 0.3, 0.9), ("largo", 1.0, 1.33)
    ]  # fmt: skip


def test_degenerate_eyes_keep_the_previous_head(caplog):
    right = np.tile(RIGHT_EYE, (3, 1))
    left = right.copy()
    left[0] = LEFT_EYE  # frame 0 has a head frame, frames 1-2 do not
    head = tx.head_directions(right, left, "clip")
    np.testing.assert_allclose(head[1], head[0])
    np.testing.assert_allclose(head[2], head[0])
    assert "2 frame(s) without a head frame" in caplog.text


def test_bad_files_are_named(tmp_path):
    write_clip(tmp_path, "abcdefghijk_0", np.tile(skeleton.MEAN_DIR_VEC, (5, 1)), timing="not a list\n")
    with pytest.raises(DataError, match=r"abcdefghijk_0_with_timing.txt:1: expected \['word', start, end\]"):
        tx.read_clip(tmp_path, "abcdefghijk_0")
    with pytest.raises(DataError, match="missing_gt.npz: file missing"):
        tx.read_clip(tmp_path, "missing")
    np.savez(tmp_path / "short_gt.npz", human_dir_vec=np.zeros((4, 12), np.float32))
    sf.write(tmp_path / "short.wav", np.zeros(100, np.float32), 16000)
    with pytest.raises(DataError, match=r"short_gt.npz: human_dir_vec of shape \(4, 12\)"):
        tx.read_clip(tmp_path, "short")


@pytest.mark.shared
def test_real_clips(shared_dir, tmp_path):
    assert tx.main([str(shared_dir / "data" / "ted_expressive"), str(tmp_path / "ted")]) == 0
    infos = fmt.read_manifest(tmp_path / "ted")
    assert len(infos) == 19 and sum(i.duration for i in infos) == pytest.approx(171.5, abs=0.2)
    assert len({i.speaker_id for i in infos}) == 18  # vXW0jfZqmzo gives two clips
    poses = np.concatenate([fmt.load_clip(tmp_path / "ted", i).poses for i in infos])
    mean = skeleton.as_directions(poses.mean(axis=0))
    ted = skeleton.as_directions(skeleton.MEAN_DIR_VEC)
    angle = np.degrees(
        np.arccos(np.sum(mean * ted, 1) / np.linalg.norm(mean, axis=1) / np.linalg.norm(ted, axis=1))
    )
    # measured: spine 11, neck 22, head 6, collars 20 / 4, arms 22, 20, 16, 13 deg from TED's mean
    assert np.all(angle < 25), angle
