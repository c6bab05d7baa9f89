"""BEAT2 / SMPL-X -> TED conversion: known poses on self-made files, and the real BEAT2 file."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from scipy.spatial.transform import Rotation

from gesture_core import skeleton
from gesture_core.data import beat2
from gesture_core.data import format as fmt
from gesture_core.errors import DataError

LEFT_ELBOW = 18
HEAD = 15
GLOBAL = 0
NECK_BONE, HEAD_BONE = skeleton.BONE_NAMES.index("neck"), skeleton.BONE_NAMES.index("head")


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def rest_directions() -> np.ndarray:
    """TED bone directions (9, 3) of the SMPL-X rest pose: the body's straight from the rest
    positions; thorax -> nose -> head top are TED's mean directions, turned as TED's mean spine
    turns onto the SMPL-X rest spine (the head in its neutral pose relative to the torso)."""
    rest = {j: np.array(p) * [-1.0, -1.0, 1.0] for j, p in beat2.SMPLX_REST.items()}  # TED axes
    joints = [rest[9], rest[12], None, None, rest[16], rest[18], rest[20], rest[17], rest[19], rest[21]]
    ted_mean = unit(skeleton.as_directions(skeleton.MEAN_DIR_VEC))
    spine = unit(rest[12] - rest[9])
    turn, _ = Rotation.align_vectors([spine], [ted_mean[0]])
    d = [turn.apply(ted_mean[b]) if b in (NECK_BONE, HEAD_BONE) else joints[c] - joints[p]
         for b, (p, c) in enumerate(skeleton.BONES)]  # fmt: skip
    return unit(np.array(d))


def smplx_poses(n: int, **rotvecs: np.ndarray) -> np.ndarray:
    """(n, 165) zero axis-angles with the given joints (``j18=...``) set."""
    aa = np.zeros((n, beat2.N_SMPLX_JOINTS, 3))
    for name, rv in rotvecs.items():
        aa[:, int(name[1:])] = rv
    return aa.reshape(n, -1)


def test_zero_pose_gives_the_rest_directions():
    poses = beat2.smplx_to_ted_poses(smplx_poses(3), src_fps=30.0)
    assert poses.shape == (2, 27)  # frames at 0 and 1/15 s
    np.testing.assert_allclose(
        poses.reshape(-1, 9, 3), np.broadcast_to(rest_directions(), (2, 9, 3)), atol=1e-6
    )


def test_left_elbow_rotation_moves_only_the_left_forearm():
    rotvec = np.array([0.3, -0.8, 0.5])
    poses = beat2.smplx_to_ted_poses(smplx_poses(1, **{f"j{LEFT_ELBOW}": rotvec}), src_fps=30.0).reshape(9, 3)
    rest = rest_directions()
    forearm = skeleton.BONE_NAMES.index("left_forearm")
    others = [b for b in range(9) if b != forearm]
    np.testing.assert_allclose(poses[others], rest[others], atol=1e-6)
    # the elbow's rotation acts in SMPL-X axes; TED axes flip x and y (a rotation by 180 deg about z)
    flip = np.diag([-1.0, -1.0, 1.0])
    expected = flip @ Rotation.from_rotvec(rotvec).apply(flip @ rest[forearm])
    np.testing.assert_allclose(poses[forearm], expected, atol=1e-6)
    assert np.degrees(np.arccos(np.clip(poses[forearm] @ rest[forearm], -1, 1))) > 20


def test_head_rotation_turns_the_head_bones_rigidly():
    """Nose and head top move with the head joint: a nod turns the head bone by exactly the nod
    and moves the neck bone (thorax -> nose); no other bone moves."""
    nod = np.array([0.4, 0.0, 0.0])  # 23 deg about the body's left axis: looking down
    poses = beat2.smplx_to_ted_poses(smplx_poses(1, **{f"j{HEAD}": nod}), src_fps=30.0).reshape(9, 3)
    rest = rest_directions()
    others = [b for b in range(9) if b not in (NECK_BONE, HEAD_BONE)]
    np.testing.assert_allclose(poses[others], rest[others], atol=1e-6)
    flip = np.diag([-1.0, -1.0, 1.0])
    expected = flip @ Rotation.from_rotvec(nod).apply(flip @ rest[HEAD_BONE])
    np.testing.assert_allclose(poses[HEAD_BONE], expected, atol=1e-6)
    # the nose, below and in front of the head joint, swings back towards the thorax
    assert poses[NECK_BONE][2] < rest[NECK_BONE][2] - 0.05


def test_global_orientation_turns_the_whole_body():
    """Turning the body 180 deg about the vertical axis negates every bone's x and z."""
    poses = beat2.smplx_to_ted_poses(smplx_poses(1, j0=np.array([0.0, np.pi, 0.0])), src_fps=30.0).reshape(
        9, 3
    )
    np.testing.assert_allclose(poses, rest_directions() * [-1.0, 1.0, -1.0], atol=1e-6)


def test_convert_tiny_file_resamples_motion_and_audio(tmp_path):
    n_in, fps = 61, 60.0  # 1 s at 60 fps -> 16 frames at 15 fps
    rng = np.random.default_rng(0)
    aa = smplx_poses(n_in) + 0.1 * rng.standard_normal((n_in, 165))
    np.savez(tmp_path / "take.npz", poses=aa.astype(np.float32), mocap_frame_rate=np.int32(fps))
    rate = 44_100
    sf.write(tmp_path / "take.wav", rng.uniform(-0.5, 0.5, (rate * 11 // 10, 2)).astype(np.float32), rate)

    info = beat2.convert(tmp_path / "take.npz", None, tmp_path / "out", speaker_id="tester")
    assert (info.clip_id, info.speaker_id, info.n_frames) == ("take", "tester", 16)
    clip = fmt.load_clip(tmp_path / "out", info)
    assert clip.audio.size == fmt.expected_audio_samples(16)
    direct = beat2.smplx_to_ted_poses(aa[::4], src_fps=15.0)  # every 4th frame = the 15 fps times
    np.testing.assert_allclose(clip.poses, direct, atol=1e-6)


def test_convert_rejects_missing_speech(tmp_path):
    np.savez(tmp_path / "take.npz", poses=np.zeros((4, 165), np.float32), mocap_frame_rate=np.int32(30))
    with pytest.raises(DataError, match="take.wav: speech file not found"):
        beat2.convert(tmp_path / "take.npz", None, tmp_path / "out", speaker_id="s")


@pytest.mark.shared
def test_real_beat2_file(shared_dir, tmp_path):
    src = shared_dir / "data" / "beat2_scott"
    out = tmp_path / "beat2"
    assert (
        beat2.main(
            [str(src / "2_scott_0_1_1.npz"), str(src / "2_scott_0_1_1.wav"), str(out), "--speaker", "scott"]
        )
        == 0
    )
    (info,) = fmt.read_manifest(out)
    assert info.n_frames == 953  # 1906 frames at 30 fps
    assert info.duration == pytest.approx(1906 / 30)
    clip = fmt.load_clip(out, info)
    assert clip.audio.size == fmt.expected_audio_samples(953)

    mean = clip.poses.reshape(-1, 9, 3).mean(axis=0)
    # checked values (facts.md), close to TED's mean_dir_vec
    np.testing.assert_allclose(mean[0], [0.05, -0.99, -0.02], atol=0.02)  # spine
    np.testing.assert_allclose(mean[3], [-0.93, 0.30, 0.10], atol=0.02)  # neck -> left shoulder
    ted_mean = skeleton.MEAN_DIR_VEC.reshape(9, 3)
    for bone in ("spine", "left_collar", "right_collar"):
        b = skeleton.BONE_NAMES.index(bone)
        cosine = mean[b] @ ted_mean[b] / np.linalg.norm(mean[b]) / np.linalg.norm(ted_mean[b])
        assert cosine > 0.98, bone
    # Head: thorax -> nose up and forward, nose -> head top up and BACK, as in TED (measured 13 and
    # 10 deg from TED's mean; the rest is this speaker's head, pitched ~15 deg forward on average).
    angle = np.degrees(np.arccos(np.sum(unit(mean) * unit(ted_mean), axis=1)))
    assert angle[NECK_BONE] < 15 and angle[HEAD_BONE] < 12, angle
    assert mean[NECK_BONE][2] > 0.3 and mean[HEAD_BONE][2] < -0.1

    # the held-out evaluation slice: the last 13.5 s, and the rest for training
    beat2.main([str(src / "2_scott_0_1_1.npz"), str(out), "--speaker", "scott", "--start", "-13.5"])
    beat2.main([str(src / "2_scott_0_1_1.npz"), str(out), "--speaker", "scott", "--end", "-13.5"])
    infos = {i.clip_id: i for i in fmt.read_manifest(out)}
    test, train = infos["2_scott_0_1_1_f751-953"], infos["2_scott_0_1_1_f0-751"]
    assert test.duration == pytest.approx(13.5, abs=1 / 15)
    assert test.n_frames + train.n_frames == 953
    held_out = fmt.load_clip(out, test)
    np.testing.assert_array_equal(held_out.poses, clip.poses[751:])
    tail = clip.audio[fmt.expected_audio_samples(751) :]  # one sample shorter: both lengths are rounded
    np.testing.assert_allclose(held_out.audio[: tail.size], tail, atol=1e-6)
