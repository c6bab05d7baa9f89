"""Every converter refuses rotated input with an error that says what it found.

The inputs are made here: a BEAT2 .npz with the body turned, a ZEGGS-like BVH with its root turned,
TED-Expressive vectors that were not in camera axes, a TED Gesture clip upside down.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from scipy.spatial.transform import Rotation
from test_data_zeggs import write_bvh

from gesture_core import skeleton
from gesture_core.data import beat2, orientation, ted_expressive, zeggs
from gesture_core.data import format as fmt
from gesture_core.errors import DataError

MEAN = skeleton.MEAN_DIR_VEC


def turned(poses: np.ndarray, rotvec: list[float]) -> np.ndarray:
    """TED poses (N, 27) with every bone turned by ``rotvec`` (TED axes)."""
    d = skeleton.as_directions(poses)
    return Rotation.from_rotvec(rotvec).apply(d.reshape(-1, 3)).reshape(poses.shape)


@pytest.mark.parametrize(
    ("rotvec", "found"),
    [
        ([np.pi, 0, 0], "spine points down \\(\\+y\\): the clip looks upside down"),
        ([0, 0, np.pi / 2], "spine points the person's .*: the clip looks lying on its side"),
        ([0, np.pi, 0], "chest faces backward \\(-z\\)"),
        ([0, np.pi / 2, 0], "chest faces the person's .*, 90 deg from forward: the body is turned sideways"),
    ],
)
def test_turned_mean_pose_is_refused_with_what_was_found(rotvec, found):
    poses = np.tile(MEAN, (5, 1))
    o = orientation.check_orientation(poses, "clip.npz", "test axes")
    assert o.tilt_deg < 15 and o.turn_deg < 15
    with pytest.raises(DataError, match=f"clip.npz: {found}.*the converter assumes test axes"):
        orientation.check_orientation(turned(poses, rotvec), "clip.npz", "test axes")


def test_a_speaker_turned_by_40_degrees_passes():
    o = orientation.check_orientation(turned(np.tile(MEAN, (3, 1)), [0, np.radians(40), 0]), "x", "y")
    assert o.turn_deg == pytest.approx(40, abs=6)


def write_beat2(tmp_path, global_rotvec: list[float]) -> None:
    aa = np.zeros((8, beat2.N_SMPLX_JOINTS, 3))
    aa[:, 0] = global_rotvec
    np.savez(tmp_path / "take.npz", poses=aa.reshape(8, -1).astype(np.float32), mocap_frame_rate=np.int32(30))
    sf.write(tmp_path / "take.wav", np.zeros(16000, np.float32), 16000)


@pytest.mark.parametrize(
    ("rotvec", "found"),
    [
        ([np.pi, 0, 0], "upside down"),
        ([0, np.pi, 0], "faces backward"),
        ([0, 0, np.pi / 2], "lying on its side"),
    ],
)
def test_beat2_converter_refuses_a_turned_body(tmp_path, rotvec, found):
    write_beat2(tmp_path, rotvec)
    with pytest.raises(DataError, match=f"take.npz: .*{found}.*SMPL-X axes: y up"):
        beat2.convert(tmp_path / "take.npz", None, tmp_path / "out", "s")
    write_beat2(tmp_path, [0.0, 0.3, 0.0])  # a small turn is a speaker, not a convention
    assert beat2.convert(tmp_path / "take.npz", None, tmp_path / "out", "s").n_frames == 4


@pytest.mark.parametrize(("root", "found"), [((0, 0, 180), "upside down"), ((0, 180, 0), "faces backward")])
def test_zeggs_converter_refuses_a_turned_root(tmp_path, root, found):
    """Root channels Z Y X (deg): 180 about z turns the body upside down, 180 about y turns it away."""
    write_bvh(tmp_path / "take.bvh", [{"Hips": root}] * 4)
    sf.write(tmp_path / "take.wav", np.zeros(16000, np.float32), 16000)
    with pytest.raises(DataError, match=f"take.bvh: .*{found}.*ZEGGS BVH axes"):
        zeggs.read_take(tmp_path / "take.bvh")
    write_bvh(tmp_path / "take.bvh", [{}] * 4)
    assert len(zeggs.read_take(tmp_path / "take.bvh").poses) == 2


def test_ted_expressive_clip_not_in_camera_axes_is_skipped(tmp_path, caplog):
    from test_data_ted_expressive import write_clip

    write_clip(tmp_path, "good_clip_0_0_0", np.tile(MEAN, (20, 1)))
    write_clip(tmp_path, "bad_clip_0_0_1", np.tile(MEAN, (20, 1)), camera=False)  # already in TED axes
    infos = ted_expressive.convert(tmp_path, tmp_path / "out")
    assert [i.clip_id for i in infos] == ["good_clip_0_0_0"]
    assert "skipping clip bad_clip_0_0_1" in caplog.text and "chest faces backward" in caplog.text
    with pytest.raises(
        DataError, match="no clip converted; first error: .*bad_clip_0_0_1_gt.npz: .*backward"
    ):
        ted_expressive.convert(tmp_path, tmp_path / "out2", only=["bad_clip_0_0_1"])


def test_ted_lmdb_clip_upside_down_is_refused():
    from gesture_core.data import ted_lmdb

    positions = skeleton.joint_positions(np.tile(MEAN, (10, 1)))
    assert ted_lmdb.clip_to_poses(positions, 1.0, "v_000").shape == (15, 27)
    with pytest.raises(DataError, match="v_000.skeletons_3d: spine points down"):
        ted_lmdb.clip_to_poses(positions * [1.0, -1.0, -1.0], 1.0, "v_000")  # 180 deg about x


@pytest.mark.shared
def test_converted_real_clips_are_upright(shared_dir, tmp_path):
    """The real BEAT2, ZEGGS and TED-Expressive files pass, with their measured orientation."""
    data = shared_dir / "data"
    take = beat2.read_take(data / "beat2_scott" / "2_scott_0_1_1.npz")
    o = orientation.mean_orientation(take.poses)
    assert o.tilt_deg < 10 and o.turn_deg < 15
    take = zeggs.read_take(data / "zeggs_067" / "067_Speech_2_x_1_0.bvh")
    o = orientation.mean_orientation(take.poses)
    assert o.tilt_deg < 10 and o.turn_deg < 15
    infos = ted_expressive.convert(data / "ted_expressive", tmp_path / "ted")
    assert len(infos) == 19
    turns = [orientation.mean_orientation(fmt.load_clip(tmp_path / "ted", i).poses).turn_deg for i in infos]
    assert max(turns) < orientation.MAX_TURN_DEG  # measured: 6-47 deg (camera angles of the talks)
