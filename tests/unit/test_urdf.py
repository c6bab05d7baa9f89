"""The bundled humanoid URDFs, their parser (gesture_core.robot) and their MuJoCo model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mujoco
import numpy as np
import pytest

from gesture_core import robot
from gesture_core.errors import RobotDescriptionError

BODY_JOINTS = ["torso_yaw", "torso_pitch", "head_yaw", "head_pitch"]
ARM_JOINTS = {
    "humanoid": ["shoulder_pitch", "shoulder_roll", "elbow_yaw", "elbow_roll", "wrist_yaw"],
    "humanoid_7dof": [
        "shoulder_pitch",
        "shoulder_roll",
        "shoulder_yaw",
        "elbow_roll",
        "wrist_yaw",
        "wrist_pitch",
        "wrist_roll",
    ],
}
MARKERS = [f"ted_{j}" for j in ("spine", "thorax", "nose", "head_top")] + [
    f"ted_{side}_{j}" for side in ("left", "right") for j in ("shoulder", "elbow", "wrist")
]
#: The link each marker is fixed to (it moves with that link).
MARKER_PARENTS = {"ted_spine": "torso_link", "ted_thorax": "torso_link", "ted_nose": "head_link",
                  "ted_head_top": "head_link",
                  "ted_left_shoulder": "torso_link", "ted_right_shoulder": "torso_link",
                  "ted_left_elbow": "l_upper_arm_link", "ted_left_wrist": "l_forearm_link",
                  "ted_right_elbow": "r_upper_arm_link", "ted_right_wrist": "r_forearm_link"}  # fmt: skip

VARIANTS = list(robot.VARIANTS)


@pytest.fixture(scope="module", params=VARIANTS)
def variant(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def description(variant: str) -> robot.RobotDescription:
    return robot.parse_urdf(robot.default_urdf_path(variant))


@pytest.fixture(scope="module")
def model(variant: str) -> mujoco.MjModel:
    return robot.load_mujoco_model(robot.default_urdf_path(variant))


def forward(model: mujoco.MjModel, q: dict[str, float] | None = None) -> mujoco.MjData:
    """MuJoCo forward kinematics at joint positions ``q`` (others zero)."""
    data = mujoco.MjData(model)
    for name, value in (q or {}).items():
        data.joint(name).qpos[0] = value
    mujoco.mj_kinematics(model, data)
    return data


def mirror_name(name: str) -> str:
    """The name of the mirror-image part: ``l_x`` <-> ``r_x``, ``ted_left_x`` <-> ``ted_right_x``."""
    for a, b in (("l_", "r_"), ("r_", "l_")):
        if name.startswith(a):
            return b + name[2:]
    for a, b in (("_left_", "_right_"), ("_right_", "_left_")):
        if a in name:
            return name.replace(a, b)
    return name


def mirror_sign(description: robot.RobotDescription, left: robot.Joint) -> float:
    """+1 if the mirror image of ``left``'s motion is the right joint's positive motion, else -1.

    Reflecting y -> -y maps a rotation axis a to -diag(1, -1, 1) a (axes are pseudo-vectors).
    """
    right = description.joint(mirror_name(left.name))
    mirrored_axis = -np.array([1.0, -1.0, 1.0]) * left.axis
    if np.allclose(right.axis, mirrored_axis):
        return 1.0
    np.testing.assert_allclose(
        right.axis, -mirrored_axis, err_msg=f"{left.name} and its mirror have unrelated axes"
    )
    return -1.0


# --------------------------------------------------------------------------------------------
# The bundled descriptions
# --------------------------------------------------------------------------------------------


def test_kinematic_tree(description: robot.RobotDescription, variant: str) -> None:
    assert description.root == "base_link"
    expected = BODY_JOINTS + [f"{side}_{j}" for side in "lr" for j in ARM_JOINTS[variant]]
    assert description.joint_names == expected
    assert all(j.type == "revolute" for j in description.movable_joints)
    for joint in description.joints.values():
        assert joint.parent in description.links and joint.child in description.links
        assert np.isclose(np.linalg.norm(joint.axis), 1.0)
    children = [j.child for j in description.joints.values()]
    assert len(children) == len(set(children)) == len(description.links) - 1


def test_limits_are_sane(description: robot.RobotDescription) -> None:
    for j in description.movable_joints:
        assert j.lower < j.upper, j.name
        assert -np.pi <= j.lower and j.upper <= np.pi, j.name
        assert 1.0 <= j.velocity <= 5.0, j.name
        assert j.effort > 0, j.name
    for side in "lr":  # the arm can reach forward and up, and a little backward
        pitch = description.joint(f"{side}_shoulder_pitch")
        assert pitch.lower <= -1.8 and 0.5 <= pitch.upper


def test_inertias_and_masses_are_physical(description: robot.RobotDescription) -> None:
    for link in description.links.values():
        if link.inertial is None:
            assert link.name.startswith("ted_"), f"{link.name} has no inertial"
            continue
        a, b, c = np.linalg.eigvalsh(link.inertial.inertia)
        assert a > 0 and a + b >= c, link.name
        assert 0.01 <= link.inertial.mass <= 15.0, link.name
    assert 15.0 <= description.total_mass <= 40.0


def test_marker_links_move_with_their_body_part(description: robot.RobotDescription) -> None:
    for marker in MARKERS:
        joint = description.parent_joint(marker)
        assert joint.type == "fixed" and joint.parent == MARKER_PARENTS[marker], marker
        assert description.links[marker].inertial is None


def test_left_right_limits_mirror(description: robot.RobotDescription) -> None:
    for left in (j for j in description.movable_joints if j.name.startswith("l_")):
        right = description.joint(mirror_name(left.name))
        assert right.parent == mirror_name(left.parent)
        np.testing.assert_allclose(right.origin_xyz, left.origin_xyz * [1, -1, 1], atol=1e-12)
        if mirror_sign(description, left) > 0:
            assert (right.lower, right.upper) == (left.lower, left.upper), left.name
        else:
            assert (right.lower, right.upper) == (-left.upper, -left.lower), left.name
        assert (right.velocity, right.effort) == (left.velocity, left.effort)


def test_mirrored_configurations_give_mirrored_bodies(description, model) -> None:
    """Geometry and axes are mirror images: a mirrored pose puts every body and geom at mirrored places."""
    rng = np.random.default_rng(0)
    left = [j for j in description.movable_joints if j.name.startswith("l_")]
    for _ in range(5):
        q = {}
        for j in left:
            q[j.name] = rng.uniform(j.lower, j.upper)
            q[mirror_name(j.name)] = mirror_sign(description, j) * q[j.name]
        data = forward(model, q)
        for b in range(1, model.nbody):
            name = model.body(b).name
            np.testing.assert_allclose(
                data.body(mirror_name(name)).xpos, data.xpos[b] * [1, -1, 1], atol=1e-9
            )
    for b in range(1, model.nbody):
        other = model.body(mirror_name(model.body(b).name))
        assert np.isclose(model.body_mass[b], model.body_mass[other.id])
        np.testing.assert_allclose(np.sort(model.body_inertia[b]), np.sort(model.body_inertia[other.id]))
        sizes = sorted(map(tuple, model.geom_size[model.geom_bodyid == b].round(9)))
        assert sizes == sorted(map(tuple, model.geom_size[model.geom_bodyid == other.id].round(9)))


# --------------------------------------------------------------------------------------------
# Geometry at and around the zero configuration (MuJoCo forward kinematics, REP-103 axes)
# --------------------------------------------------------------------------------------------


def test_zero_pose_is_upright_with_arms_down(model, variant: str) -> None:
    data = forward(model)
    pos = {m: data.body(m).xpos.copy() for m in MARKERS}
    for side, sign in (("left", 1), ("right", -1)):
        shoulder, elbow, wrist = (pos[f"ted_{side}_{j}"] for j in ("shoulder", "elbow", "wrist"))
        assert sign * wrist[1] > 0.1  # robot's left is +y
        assert wrist[2] < elbow[2] < shoulder[2]
        np.testing.assert_allclose(wrist[:2], shoulder[:2], atol=1e-9)  # hanging straight down
        upper, fore = shoulder[2] - elbow[2], elbow[2] - wrist[2]
        if variant == "humanoid":
            assert 0.28 <= upper <= 0.30 and 0.25 <= fore <= 0.27
    width = pos["ted_left_shoulder"][1] - pos["ted_right_shoulder"][1]
    assert 0.38 <= width <= 0.42 if variant == "humanoid" else width > 0.42
    assert pos["ted_nose"][0] > pos["ted_thorax"][0] + 0.05  # the face looks forward, +x
    assert pos["ted_head_top"][2] > pos["ted_nose"][2] > pos["ted_thorax"][2] > pos["ted_spine"][2]
    assert 0.4 <= pos["ted_thorax"][2] <= 0.6  # torso height above the pelvis (base_link origin)


@pytest.mark.parametrize(
    "q, marker, axis, sign",
    [
        ({"l_shoulder_pitch": -1.5}, "ted_left_wrist", 0, +1),  # arm forward
        ({"l_shoulder_roll": 1.0}, "ted_left_wrist", 1, +1),  # left arm out to the left
        ({"r_shoulder_roll": -1.0}, "ted_right_wrist", 1, -1),  # right arm out to the right
        ({"l_elbow_roll": -1.5}, "ted_left_wrist", 0, +1),  # forearm flexes forward
        ({"head_pitch": 0.4}, "ted_nose", 2, -1),  # nodding down
        ({"torso_pitch": 0.4}, "ted_thorax", 0, +1),  # leaning forward
        ({"torso_yaw": 0.4}, "ted_left_shoulder", 0, -1),  # turning left
    ],
)
def test_joint_sign_conventions(model, q: dict, marker: str, axis: int, sign: int) -> None:
    moved = forward(model, q).body(marker).xpos[axis] - forward(model).body(marker).xpos[axis]
    assert sign * moved > 0.03


def test_arms_clear_the_body_at_the_inward_roll_limit(description, model) -> None:
    """At the inward shoulder-roll limit a hanging arm still does not touch the torso or pelvis."""
    trunk = {model.body(n).id for n in ("base_link", "waist_link", "torso_link")}
    for side in "lr":
        roll = description.joint(f"{side}_shoulder_roll")
        data = forward(model, {roll.name: roll.lower if side == "l" else roll.upper})
        arm = {b for b in range(model.nbody) if model.body(b).name.startswith(f"{side}_")}
        collision = [g for g in range(model.ngeom) if model.geom_group[g] == robot.COLLISION_GROUP]
        fromto = np.zeros(6)
        for g1 in (g for g in collision if model.geom_bodyid[g] in arm):
            for g2 in (g for g in collision if model.geom_bodyid[g] in trunk):
                distance = mujoco.mj_geomDistance(model, data, g1, g2, 1.0, fromto)
                assert distance > 0.0, (
                    model.body(model.geom_bodyid[g1]).name,
                    model.body(model.geom_bodyid[g2]).name,
                )


def test_mujoco_model_has_a_position_servo_per_joint(description, model) -> None:
    assert model.nu == len(description.joint_names) and model.nq == model.nu  # fixed base
    for j in description.movable_joints:
        act = model.actuator(j.name)
        assert model.actuator_trnid[act.id, 0] == model.joint(j.name).id
        np.testing.assert_allclose(model.actuator_ctrlrange[act.id], [j.lower, j.upper])
        np.testing.assert_allclose(model.actuator_forcerange[act.id], [-j.effort, j.effort])
    assert model.camera(robot.FRONT_CAMERA).pos[0] > 1.0
    floor = model.geom("floor")
    assert floor.pos[2] < -0.5 and model.geom_contype[floor.id] == 0


def test_generated_files_are_up_to_date(repo_root: Path, tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, str(repo_root / "urdf" / "generate.py"), "--out", str(tmp_path)], check=True
    )
    for filename in robot.VARIANTS.values():
        assert (tmp_path / filename).read_text() == (repo_root / "urdf" / filename).read_text(), filename


# --------------------------------------------------------------------------------------------
# Bad descriptions
# --------------------------------------------------------------------------------------------


def inertial(mass: str = "1", iyy: str = "0.01", izz: str = "0.01") -> str:
    inertia = f'<inertia ixx="0.01" ixy="0" ixz="0" iyy="{iyy}" iyz="0" izz="{izz}"/>'
    return f'<inertial><mass value="{mass}"/>{inertia}</inertial>'


def joint(name: str = "j", parent: str = "a", child: str = "b", kind: str = "revolute", **limit: str) -> str:
    limit = {"lower": "-1", "upper": "1", "velocity": "2", "effort": "10", **limit}
    limit_el = (
        "<limit " + " ".join(f'{k}="{v}"' for k, v in limit.items()) + "/>" if kind == "revolute" else ""
    )
    ends = f'<parent link="{parent}"/><child link="{child}"/>'
    return f'<joint name="{name}" type="{kind}">{ends}<axis xyz="0 0 1"/>{limit_el}</joint>'


INERTIAL = inertial()


def urdf(links: str = f'<link name="a"/><link name="b">{INERTIAL}</link>', joints: str | None = None) -> str:
    return f'<robot name="tiny">{links}{joint() if joints is None else joints}</robot>'


def test_a_minimal_urdf_parses() -> None:
    d = robot.parse_urdf_string(urdf())
    assert d.root == "a" and d.joint_names == ["j"] and d.total_mass == 1.0
    np.testing.assert_allclose(d.limits()[0], [-1.0])


@pytest.mark.parametrize(
    "text, message",
    [
        ("<robot><link name='a'>", "not well-formed XML"),
        ("<model name='x'/>", "expected <robot>"),
        (urdf(joints=""), "2 root links"),
        (urdf(joints=joint(kind="planar")), "type 'planar'; supported: revolute, continuous"),
        (urdf(joints=joint(kind="continuous")), "joint 'j' is continuous but has no <limit>"),
        (urdf(joints=joint(kind="revolute").replace("<limit", "<nolimit")), "has no <limit>"),
        (urdf(joints=joint(child="c")), "child link 'c'"),
        (urdf(joints=joint(lower="1")), "not below upper"),
        (urdf(joints=joint(velocity="0")), "must be > 0"),
        (urdf(joints=joint(effort="x")), "effort"),
        (urdf(links='<link name="a"/><link name="b"/>'), "moves link 'b', which has no <inertial> mass"),
        (urdf(links=f'<link name="a"/><link name="b">{inertial(mass="0")}</link>'), "which has no <inertial> mass"),
        (
            urdf(links=f'<link name="a"/><link name="b">{inertial(iyy="-0.01")}</link>'),
            "not positive definite",
        ),
        (urdf(links=f'<link name="a"/><link name="b">{inertial(izz="0.05")}</link>'), "triangle inequality"),
        (urdf(links=f'<link name="a"/><link name="b">{inertial(mass="-1")}</link>'), "mass must be >= 0"),
        (urdf(links='<link name="a"/><link name="a"/>', joints=""), "duplicate link 'a'"),
        (
            urdf(
                links=f'<link name="a">{INERTIAL}</link><link name="b">{INERTIAL}</link>',
                joints=joint("j1", "a", "b") + joint("j2", "b", "a"),
            ),
            "joints form a cycle",
        ),
        (
            urdf(
                links=f'<link name="r"/><link name="a">{INERTIAL}</link><link name="b">{INERTIAL}</link>',
                joints=joint("j1", "a", "b") + joint("j2", "b", "a"),
            ),
            "'a', 'b'\\] form a cycle",
        ),
        (urdf(joints=joint() + joint("j2")), "child of two joints"),
    ],
)
def test_bad_urdfs_are_rejected_with_a_reason(text: str, message: str) -> None:
    with pytest.raises(RobotDescriptionError, match=message):
        robot.parse_urdf_string(text)


def test_missing_and_bad_files(tmp_path: Path) -> None:
    with pytest.raises(RobotDescriptionError, match="cannot read URDF"):
        robot.parse_urdf(tmp_path / "nope.urdf")
    with pytest.raises(RobotDescriptionError, match="cannot read URDF"):
        robot.load_mujoco_model(tmp_path / "nope.urdf")
    bad = tmp_path / "bad.urdf"
    bad.write_text(urdf(joints=""))
    with pytest.raises(RobotDescriptionError, match=str(bad)):
        robot.load_mujoco_model(bad)
    with pytest.raises(RobotDescriptionError, match="unknown robot variant"):
        robot.default_urdf_path("octopus")


def test_a_small_valid_urdf_loads_into_mujoco(tmp_path: Path) -> None:
    path = tmp_path / "tiny.urdf"
    path.write_text(urdf())
    model = robot.load_mujoco_model(path, kp=50.0, floor=False)
    assert model.nu == 1 and model.actuator_gainprm[0, 0] == 50.0
    with pytest.raises(RobotDescriptionError, match="no joint 'x'"):
        robot.parse_urdf(path).joint("x")
