"""Hand kinematics and distribution distances: known values, and a static pose never beating real motion."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_clips import synthetic_clip

from gesture_core import skeleton
from gesture_core.metrics import distribution, kinematics

FPS = 15.0


def arms_hanging(n: int) -> np.ndarray:
    """Poses (n, 27): the mean pose with both arms straight down (+y in TED axes)."""
    d = skeleton.as_directions(np.tile(skeleton.MEAN_DIR_VEC, (n, 1))).copy()
    for bone in ("left_upper_arm", "left_forearm", "right_upper_arm", "right_forearm"):
        d[:, skeleton.BONE_NAMES.index(bone)] = [0.0, 1.0, 0.0]
    return skeleton.normalize_directions(d.reshape(n, 27))


def test_hand_height_elbow_angle_and_speed_of_known_poses():
    poses = arms_hanging(4)
    np.testing.assert_allclose(kinematics.elbow_angle(poses), 180.0)
    shoulder = skeleton.joint_positions(poses)[0, skeleton.JOINTS.index("left_shoulder"), 1]
    np.testing.assert_allclose(kinematics.hand_height(poses)[:, 0], -(shoulder + 0.36 + 0.33))
    np.testing.assert_allclose(kinematics.hand_speed(poses), 0.0)
    # the left forearm bent to horizontal (forward, +z): a right angle at the elbow
    d = skeleton.as_directions(poses).copy()
    d[:, skeleton.BONE_NAMES.index("left_forearm")] = [0.0, 0.0, 1.0]
    np.testing.assert_allclose(kinematics.elbow_angle(d.reshape(4, 27))[:, 0], 90.0)


def test_a_hand_moving_at_known_speed():
    """The left forearm turning at 2 rad/s: the wrist at 0.33 * chord speed, the right hand still."""
    t = np.arange(30) / FPS
    d = skeleton.as_directions(np.tile(skeleton.MEAN_DIR_VEC, (30, 1))).copy()
    d[:, skeleton.BONE_NAMES.index("left_forearm")] = np.stack([np.cos(2 * t), np.sin(2 * t), 0 * t], axis=1)
    speed = kinematics.hand_speed(d.reshape(30, 27))
    np.testing.assert_allclose(speed[1:-1, 0], 0.33 * np.sin(2 / FPS) * FPS, rtol=1e-9)
    np.testing.assert_allclose(speed[:, 1], 0.0, atol=1e-12)
    assert kinematics.in_motion(d.reshape(30, 27)).all()  # 0.66 u/s > 0.1


def test_static_pose_distances_are_the_spread_of_the_real_values():
    real, _, _ = synthetic_clip(10.0, seed=0)
    static = np.tile(skeleton.MEAN_DIR_VEC, (len(real), 1))
    got = distribution.distribution_distances([real], [static])
    samples = distribution.motion_samples(real)
    assert got["hand_speed"] == pytest.approx(np.mean(samples["hand_speed"]))  # W1 to a point mass at 0
    assert got["motion_fraction"] == pytest.approx(np.mean(samples["in_motion"]))
    assert distribution.distribution_distances([real], [real]) == {d.key: 0.0 for d in distribution.DISTANCES}


@pytest.mark.parametrize("seed", range(4))
def test_a_static_pose_never_beats_real_motion(seed):
    """Against one real clip, real motion of another clip of the same speaker (the same process, another
    seed) is closer on every distance than a static pose, even one at the real clip's own mean pose."""
    real, _, _ = synthetic_clip(12.0, seed=seed)
    other, _, _ = synthetic_clip(12.0, seed=seed + 10)
    mean = skeleton.normalize_directions(real.astype(np.float64).mean(axis=0))
    for static in (np.tile(mean, (len(real), 1)), np.tile(skeleton.MEAN_DIR_VEC, (len(real), 1))):
        s = distribution.distribution_distances([real], [static])
        o = distribution.distribution_distances([real], [other])
        for key in s:
            assert s[key] > o[key], (key, s[key], o[key])
