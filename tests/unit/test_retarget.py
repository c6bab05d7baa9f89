"""Retargeting TED poses onto the humanoids: Jacobians, round trips, mirror and sign conventions,
the 7-DOF variant, input repair, and the whole planner under adversarial input."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from locations import ROOT

from gesture_core import skeleton
from gesture_core.contracts import NS_PER_S, GestureSequence
from gesture_core.errors import ContractError
from gesture_core.retarget.config import load_config
from gesture_core.retarget.ik import Retargeter
from gesture_core.retarget.motion import MotionPlanner

CONFIG_5DOF = ROOT / "config" / "retarget_humanoid.yaml"
CONFIG_7DOF = ROOT / "config" / "retarget_humanoid_7dof.yaml"

MEAN = skeleton.normalize_directions(skeleton.MEAN_DIR_VEC).reshape(9, 3)


@pytest.fixture(scope="module")
def r5() -> Retargeter:
    return Retargeter(load_config(CONFIG_5DOF))


@pytest.fixture(scope="module")
def r7() -> Retargeter:
    return Retargeter(load_config(CONFIG_7DOF))


def angle_errors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Angles (rad) between the bone directions of two (27,) poses, NaN bones ignored."""
    a, b = a.reshape(9, 3), b.reshape(9, 3)
    return np.arccos(np.clip(np.sum(a * b, axis=1), -1.0, 1.0))


def pose_with(**bones: tuple[float, float, float]) -> np.ndarray:
    """The TED mean pose with some bones replaced (TED axes: x = person's right, y down, z forward)."""
    d = MEAN.copy()
    for name, vec in bones.items():
        d[skeleton.BONE_NAMES.index(name)] = np.asarray(vec, dtype=float) / np.linalg.norm(vec)
    return d.ravel()


def q_of(r: Retargeter, q: np.ndarray, name: str) -> float:
    return float(q[r.joint_names.index(name)])


# --------------------------------------------------------------------------------------------
# Kinematics
# --------------------------------------------------------------------------------------------


def test_direction_jacobian_matches_finite_differences(r5):
    rng = np.random.default_rng(0)
    q = rng.uniform(r5.lower, r5.upper)
    targets = np.zeros((len(r5.bones), 3))
    r0, jac = r5.residuals(q, targets)
    eps = 1e-6
    for j in range(len(q)):
        dq = np.zeros_like(q)
        dq[j] = eps
        numeric = (r5.residuals(q + dq, targets)[0] - r5.residuals(q - dq, targets)[0]) / (2 * eps)
        np.testing.assert_allclose(jac[:, :, j], numeric, atol=1e-6, err_msg=r5.joint_names[j])


def test_zero_pose_hangs_the_arms_and_faces_the_listener(r5):
    """At q = 0 the robot stands upright, arms down: its TED pose has the arms along +y (down)
    and the nose forward (+z TED) of the thorax."""
    d = r5.bone_directions(np.zeros(len(r5.joint_names))).reshape(9, 3)
    for bone in ("left_upper_arm", "left_forearm", "right_upper_arm", "right_forearm"):
        np.testing.assert_allclose(d[skeleton.BONE_NAMES.index(bone)], [0, 1, 0], atol=1e-9)
    np.testing.assert_allclose(d[0], [0, -1, 0], atol=1e-9)  # spine up
    assert d[skeleton.BONE_NAMES.index("neck")][2] > 0.3  # nose in front of the thorax
    assert d[skeleton.BONE_NAMES.index("left_collar")][0] < -0.9  # robot's left = person's left = -x


# --------------------------------------------------------------------------------------------
# Round trips: robot angles -> FK -> TED directions -> retarget -> the same angles
# --------------------------------------------------------------------------------------------


def well_conditioned(r: Retargeter, rng: np.random.Generator) -> np.ndarray:
    """A posture whose joint angles the bone directions determine uniquely and well: elbows
    clearly bent, arms not raised sideways to the horizontal (at a shoulder roll of pi/2 the
    shoulder pitch no longer moves the upper arm's direction), unobservable wrist joints at rest."""
    q = rng.uniform(r.lower, r.upper)
    for side, sign in (("l", 1.0), ("r", -1.0)):
        q[r.joint_names.index(f"{side}_elbow_roll")] = rng.uniform(-2.0, -0.5)
        q[r.joint_names.index(f"{side}_shoulder_roll")] = sign * rng.uniform(0.0, 1.2)
    for i, name in enumerate(r.joint_names):
        if "wrist" in name:
            q[i] = r.rest[i]
    return q


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32 - 1))
def test_round_trip_recovers_the_angles(r5, seed):
    q_true = well_conditioned(r5, np.random.default_rng(seed))
    pose = r5.bone_directions(q_true)
    q = r5.retarget(pose[None])[0]  # cold start from the rest pose
    np.testing.assert_allclose(q, q_true, atol=0.02)
    assert np.max(angle_errors(r5.bone_directions(q), pose)) < 0.01


@pytest.mark.parametrize("config", [CONFIG_5DOF, CONFIG_7DOF], ids=["humanoid", "humanoid_7dof"])
def test_round_trip_directions_over_a_motion(config):
    """A smooth robot motion through most of the joint space is retargeted frame by frame (warm
    started) back to the same bone directions; for the redundant 7-DOF arms the directions are
    what is determined, not the angles."""
    r = Retargeter(load_config(config))
    rng = np.random.default_rng(1)
    t = np.arange(60) / 15.0
    mid, half = 0.5 * (r.lower + r.upper), 0.45 * (r.upper - r.lower)
    q_true = mid + half * np.sin(2 * np.pi * 0.4 * t[:, None] + rng.uniform(0, 2 * np.pi, len(mid)))
    poses = np.array([r.bone_directions(q) for q in q_true])
    q = r.retarget(poses, q_true[0])
    errors = np.array([angle_errors(r.bone_directions(a), b) for a, b in zip(q, poses)])
    assert np.max(errors) < np.radians(1.0), np.degrees(errors.max(axis=0))
    assert np.all(q >= r.lower) and np.all(q <= r.upper)


def test_7dof_variant_retargets_with_only_its_config_changed(r5, r7):
    """The same human motion drives both robots to the same arm bone directions; the joints no
    bone direction observes (wrist pitch/roll) stay at rest."""
    rng = np.random.default_rng(2)
    q5 = np.array([well_conditioned(r5, rng) for _ in range(5)])
    poses = np.array([r5.bone_directions(q) for q in q5])
    q7 = np.vstack([r7.retarget(p[None])[0] for p in poses])
    assert len(r7.joint_names) == 18 and len(r5.joint_names) == 14
    arms = [skeleton.BONE_NAMES.index(b) for b in ("left_upper_arm", "left_forearm", "right_upper_arm", "right_forearm")]
    for q, pose in zip(q7, poses):
        assert np.max(angle_errors(r7.bone_directions(q), pose)[arms]) < np.radians(1.0)
    for name in ("l_wrist_pitch", "l_wrist_roll", "r_wrist_pitch", "r_wrist_roll"):
        i = r7.joint_names.index(name)
        np.testing.assert_allclose(q7[:, i], r7.rest[i], atol=1e-3)


# --------------------------------------------------------------------------------------------
# Mirror and sign conventions
# --------------------------------------------------------------------------------------------


def arm_vector(r: Retargeter, q: np.ndarray, side: str, bone: str = "upper_arm") -> np.ndarray:
    """Unit vector, REP-103 (x forward, y left, z up), of the robot's ``side`` upper arm/forearm."""
    m = r.marker_positions(q)
    a, b = (f"{side}_shoulder", f"{side}_elbow") if bone == "upper_arm" else (f"{side}_elbow", f"{side}_wrist")
    v = m[b] - m[a]
    return v / np.linalg.norm(v)


def test_person_raising_the_left_arm_sideways_raises_the_robots_left_arm(r5):
    # person's left = -x in TED axes; the arm points out to the side, horizontally
    q = r5.retarget(pose_with(left_upper_arm=(-1, 0, 0), left_forearm=(-1, 0, 0))[None])[0]
    np.testing.assert_allclose(arm_vector(r5, q, "left"), [0, 1, 0], atol=0.03)  # robot's left: +y
    assert q_of(r5, q, "l_shoulder_roll") > 1.3  # rolls the arm out to +y
    assert arm_vector(r5, q, "right")[2] < -0.5  # the right arm stays down
    q_mean = r5.retarget(MEAN.ravel()[None])[0]
    right = [i for i, n in enumerate(r5.joint_names) if n.startswith("r_")]
    np.testing.assert_allclose(q[right], q_mean[right], atol=0.02)


def test_person_raising_the_right_arm_sideways_raises_the_robots_right_arm(r5):
    q = r5.retarget(pose_with(right_upper_arm=(1, 0, 0), right_forearm=(1, 0, 0))[None])[0]
    np.testing.assert_allclose(arm_vector(r5, q, "right"), [0, -1, 0], atol=0.03)  # robot's right: -y
    assert q_of(r5, q, "r_shoulder_roll") < -1.3
    assert arm_vector(r5, q, "left")[2] < -0.5


@pytest.mark.parametrize("side, sign", [("left", 1.0), ("right", -1.0)])
def test_arm_pointing_at_the_listener_pitches_the_shoulder_forward(r5, side, sign):
    # upper arm forward (+z TED, towards the listener), forearm up (-y TED): a "stop" gesture
    q = r5.retarget(pose_with(**{f"{side}_upper_arm": (0, 0, 1), f"{side}_forearm": (0, -1, 0)})[None])[0]
    np.testing.assert_allclose(arm_vector(r5, q, side), [1, 0, 0], atol=0.03)  # forward: +x
    np.testing.assert_allclose(arm_vector(r5, q, side, "forearm"), [0, 0, 1], atol=0.03)  # up: +z
    assert q_of(r5, q, f"{side[0]}_shoulder_pitch") < -1.3  # negative pitch = forward and up
    assert q_of(r5, q, f"{side[0]}_elbow_roll") < -1.3


def rotate_about_vertical(pose: np.ndarray, angle: float) -> np.ndarray:
    """Turn TED directions about the vertical (TED -y) by ``angle`` rad, positive = to the
    person's left (from +z forward towards -x)."""
    c, s = np.cos(angle), np.sin(angle)
    rot = np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])  # +z -> -x for angle = pi/2
    return (pose.reshape(9, 3) @ rot.T).ravel()


def test_head_and_torso_turns_follow_the_person(r5):
    """The person turns the head (or the whole upper body) to their left: the robot turns to its
    left, which is positive yaw about +z (REP-103)."""
    head_left = MEAN.copy()
    head_bones = [skeleton.BONE_NAMES.index(b) for b in ("neck", "head")]
    head_left[head_bones] = rotate_about_vertical(MEAN.ravel(), 0.5).reshape(9, 3)[head_bones]
    q = r5.retarget(head_left.ravel()[None])[0]
    assert q_of(r5, q, "head_yaw") > 0.3
    assert abs(q_of(r5, q, "torso_yaw")) < 0.05
    q = r5.retarget(rotate_about_vertical(MEAN.ravel(), 0.4)[None])[0]
    assert q_of(r5, q, "torso_yaw") > 0.3
    lean = pose_with(spine=(0, -np.cos(0.3), np.sin(0.3)))  # leaning towards the listener
    assert q_of(r5, r5.retarget(lean[None])[0], "torso_pitch") > 0.2


def mirror_pose(pose: np.ndarray) -> np.ndarray:
    """The person's mirror image: x -> -x, left and right bones swapped."""
    d = pose.reshape(9, 3) * np.array([-1.0, 1.0, 1.0])
    swap = [skeleton.BONE_NAMES.index(n.replace("left", "@").replace("right", "left").replace("@", "right")) for n in skeleton.BONE_NAMES]
    return d[swap].ravel()


def mirror_joints(r: Retargeter, q: np.ndarray) -> np.ndarray:
    """The robot's mirror image (y -> -y): l_/r_ joints swapped. Both sides use the same joint
    axes (urdf/generate.py); reflecting y turns a rotation about x or z into its opposite and
    leaves a rotation about y as it is."""
    out = np.empty_like(q)
    for i, name in enumerate(r.joint_names):
        other = {"l": "r", "r": "l"}.get(name[0], "") + name[1:] if name[1] == "_" else name
        sign = 1.0 if abs(r.robot.joint(name).axis[1]) > 0.99 else -1.0
        out[i] = sign * q[r.joint_names.index(other)]
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32 - 1))
def test_mirrored_person_gives_the_mirrored_robot(r5, seed):
    q = well_conditioned(r5, np.random.default_rng(seed))
    pose = r5.bone_directions(q)
    np.testing.assert_allclose(r5.bone_directions(mirror_joints(r5, q)), mirror_pose(pose), atol=1e-9)
    q_mirrored = r5.retarget(mirror_pose(pose)[None])[0]
    np.testing.assert_allclose(q_mirrored, mirror_joints(r5, q), atol=0.02)


# --------------------------------------------------------------------------------------------
# Input repair and amplitude
# --------------------------------------------------------------------------------------------


def test_bad_bone_vectors_are_repaired_from_the_previous_frame(r5, caplog):
    poses = np.tile(pose_with(left_forearm=(-1, 0, 0)), (4, 1))
    poses[2, 15:18] = np.nan  # left forearm of frame 2
    poses[3, 0:3] = 0.0  # spine of frame 3
    poses[1, 3:6] *= 1e200  # a huge but valid neck vector
    with caplog.at_level(logging.WARNING, logger="gesture_core.retarget.ik"):
        d = r5.repaired_directions(poses)
    assert "repaired 2 bone vectors" in caplog.text and "frame 2, bone left_forearm" in caplog.text
    assert "normalised 1 bone vectors whose length was not 1 +- 0.5 (first: frame 1, bone neck, length inf)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gesture_core.retarget.ik"):
        r5.repaired_directions(np.tile(MEAN.ravel() * 0.8, (2, 1)))  # as a cross-fade: quietly normalised
    assert not caplog.text
    np.testing.assert_allclose(d[2, 5], [-1, 0, 0])  # the previous frame's forearm
    np.testing.assert_allclose(d[3, 0], MEAN[0], atol=1e-12)  # the previous frame's spine
    np.testing.assert_allclose(d[1, 1], MEAN[1], atol=1e-12)
    q = r5.retarget(poses)
    assert np.all(np.isfinite(q))


@pytest.mark.parametrize("bad", [np.zeros((3, 26)), np.zeros(27), np.zeros((0, 27)), [["x"] * 27]])
def test_wrong_pose_shapes_are_rejected(r5, bad):
    with pytest.raises(ContractError, match="TED poses"):
        r5.retarget(bad)


def test_amplitude_scales_the_motion_around_the_mean_pose():
    cfg = load_config(CONFIG_5DOF)
    r = Retargeter(cfg)
    rng = np.random.default_rng(4)
    q_true = np.array([well_conditioned(r, rng) for _ in range(6)])
    poses = np.array([r.bone_directions(q) for q in q_true])
    q_full = r.retarget(poses)
    r.configure(cfg.with_overrides(amplitude_scale=0.0))
    q_zero = r.retarget(poses)
    np.testing.assert_allclose(q_zero, np.tile(r.retarget(MEAN.ravel()[None]), (6, 1)), atol=1e-3)
    r.configure(cfg.with_overrides(amplitude_scale=0.5))
    q_half = r.retarget(poses)
    spread = lambda q: np.mean(np.abs(q - q_zero))  # noqa: E731
    assert spread(q_zero) < spread(q_half) < spread(q_full)


# --------------------------------------------------------------------------------------------
# The whole planner (retarget + safety) under random and adversarial input
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planner() -> MotionPlanner:
    return MotionPlanner(load_config(CONFIG_5DOF))


bad_value = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, 1e300, -1e300, 1e-300])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 25),
    kind=st.sampled_from(["gesture", "random", "jumps"]),
    n_bad=st.integers(0, 6),
    bad=bad_value,
    late=st.floats(-1.0, 1.5),
    first_frame=st.integers(0, 40),
)
def test_planner_commands_never_leave_the_limits(planner, seed, n, kind, n_bad, bad, late, first_frame):
    rng = np.random.default_rng(seed)
    if kind == "gesture":
        poses = np.tile(MEAN.ravel(), (n, 1)) + 0.3 * np.sin(np.arange(n)[:, None] / 3 + rng.uniform(0, 6, 27))
    elif kind == "random":
        poses = rng.normal(0, 1, (n, 27))
    else:
        poses = np.where(rng.random((n, 1)) < 0.5, MEAN.ravel(), -MEAN.ravel()) * rng.uniform(0.1, 1e3)
    poses[rng.integers(n, size=n_bad), rng.integers(27, size=n_bad)] = bad
    now = 100 * NS_PER_S
    start_ns = now - round(late * NS_PER_S) - round(first_frame * NS_PER_S / 15)  # late > 0: already started
    first_ns = start_ns + round(first_frame * NS_PER_S / 15)
    start = planner.safety.limits.admissible(planner.state_at(max(first_ns, now)))  # the state it must join
    cmd = planner.plan_gesture(GestureSequence("u1", start_ns, poses, first_frame), now)
    if cmd is None:
        assert first_ns + (n - 1) * NS_PER_S / 15 < now  # only when every frame is past
        return
    limits = planner.safety.limits
    assert cmd.joint_names == planner.joint_names
    assert cmd.stamp_ns == max(first_ns, now)
    x = cmd.positions
    assert np.all(np.isfinite(x)) and np.all(x >= limits.lower - 1e-9) and np.all(x <= limits.upper + 1e-9)
    dt = 1.0 / planner.cfg.controller_rate_hz
    np.testing.assert_allclose(x[0], start.position, atol=1e-9)
    v = np.vstack([start.velocity, np.diff(x, axis=0) / dt])
    assert np.all(np.abs(v) <= limits.velocity * (1 + 1e-6) + 1e-6)
    assert np.all(np.abs(np.diff(v, axis=0) / dt) <= limits.acceleration * (1 + 1e-6) + 1e-6)


@pytest.mark.shared
@pytest.mark.parametrize("config", [CONFIG_5DOF, CONFIG_7DOF], ids=["humanoid", "humanoid_7dof"])
def test_real_motion_capture_arms_are_followed_closely(shared_dir, config):
    """20 s of real BEAT2 motion (converted to TED poses): the robot's upper arms and forearms
    point where the person's do (median and 95th percentile of the angle between them)."""
    from gesture_core.data.beat2 import smplx_to_ted_poses

    data = np.load(shared_dir / "data" / "beat2_scott" / "2_scott_0_1_1.npz")
    poses = smplx_to_ted_poses(data["poses"][:600], float(data["mocap_frame_rate"])).astype(np.float64)
    r = Retargeter(load_config(config))
    q = r.retarget(poses)
    arms = [skeleton.BONE_NAMES.index(b) for b in ("left_upper_arm", "left_forearm", "right_upper_arm", "right_forearm")]
    human = skeleton.normalize_directions(poses)
    errors = np.array([angle_errors(r.bone_directions(x), p)[arms] for x, p in zip(q, human)])
    assert np.median(errors) < np.radians(1.0) and np.percentile(errors, 95) < np.radians(5.0)


def through_the_straight_elbow(n: int = 45) -> np.ndarray:
    """(n, 27) TED poses: the left upper arm held out sideways, the forearm swinging in the vertical
    plane from bent up (70 deg) through straight (the singular pose: the upper arm's twist is free)
    to bent down (-70 deg); the rest at the mean pose."""
    phi = np.radians(np.linspace(70, -70, n))
    poses = np.tile(skeleton.as_directions(skeleton.MEAN_DIR_VEC), (n, 1, 1))
    poses[:, skeleton.BONE_NAMES.index("left_upper_arm")] = [-1.0, 0.0, 0.0]  # TED -x: the person's left
    poses[:, skeleton.BONE_NAMES.index("left_forearm")] = np.stack([-np.cos(phi), -np.sin(phi), np.zeros(n)], axis=1)
    return poses.reshape(n, -1)


@pytest.mark.parametrize("config", [CONFIG_5DOF, CONFIG_7DOF], ids=["5dof", "7dof"])
def test_motion_through_the_singular_pose_keeps_branch_continuity(config):
    """A one-sided elbow can only follow a forearm that swings through straight by turning the upper
    arm over (~pi). Solved frame by frame without the continuity bound the IK flips in one frame;
    with it the arm turns over within the velocity limits and ends on the target again."""
    r = Retargeter(load_config(config))
    poses = through_the_straight_elbow()
    forearm = skeleton.BONE_NAMES.index("left_forearm")

    def forearm_error(q: np.ndarray, pose: np.ndarray) -> float:
        got, want = r.bone_directions(q).reshape(-1, 3)[forearm], pose.reshape(-1, 3)[forearm]
        return float(np.degrees(np.arccos(np.clip(got @ want, -1.0, 1.0))))

    unbounded = [r.retarget(poses[:1])[0]]
    for k in range(1, len(poses)):  # each frame alone, warm-started but free to jump
        unbounded.append(r.retarget(poses[k : k + 1], unbounded[-1])[0])
    assert np.max(np.abs(np.diff(unbounded, axis=0))) > 1.0  # the motion does cross the singular pose: a flip

    q = r.retarget(poses)
    steps = np.abs(np.diff(q, axis=0))
    assert np.all(steps <= r.max_step + 1e-9), (steps.max(axis=0), r.max_step)
    assert steps.max() < 0.5  # rad per frame: no flip
    assert max(forearm_error(q[k], poses[k]) for k in range(10)) < 2.0  # on target before the crossing...
    assert max(forearm_error(q[k], poses[k]) for k in range(len(q) - 5, len(q))) < 2.0  # ...and after it


def test_a_robot_without_head_joints_and_with_narrower_limits_retargets(tmp_path):
    """No head chain (nose and head top ride on the torso, or are left out), and per-joint position
    limits narrower than the URDF's: the IK and the planner keep every joint inside them."""
    import yaml

    from gesture_core.retarget.config import config_from_dict, resolve_urdf

    base = load_config(CONFIG_5DOF)
    data = yaml.safe_load(CONFIG_5DOF.read_text())
    data["urdf"] = str(resolve_urdf(base))
    del data["chains"]["head"], data["markers"]["nose"], data["markers"]["head_top"]
    data["rest_pose"]["head_pitch"] = 0.2  # a joint outside the chains: held there
    data["limits"]["position"] = {"l_elbow_roll": [-1.2, -0.2], "l_shoulder_roll": [0.0, 1.0]}
    path = tmp_path / "headless.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = load_config(path)
    assert "head_pitch" not in cfg.joint_names and config_from_dict(data) is not None
    planner = MotionPlanner(cfg)
    rng = np.random.default_rng(3)
    poses = skeleton.MEAN_DIR_VEC + 0.6 * rng.standard_normal((60, skeleton.POSE_DIM))
    cmd = planner.plan_gesture(GestureSequence("u", 0, poses), 0)
    names = cfg.joint_names
    for joint, (lo, hi) in data["limits"]["position"].items():
        q = cmd.positions[:, names.index(joint)]
        assert q.min() >= lo + cfg.limits.margin - 1e-9 and q.max() <= hi - cfg.limits.margin + 1e-9, joint
    assert planner.retargeter.data.qpos[planner.retargeter.model.joint("head_pitch").qposadr[0]] == 0.2
