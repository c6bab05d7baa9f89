"""A vendor URDF loads as it is: compiler flags, <mujoco> blocks, mesh references, floating bases.

Every load problem either is repaired (logged, asserted here by its message) or raises the
project's own exception naming the file and the fix.
"""

from __future__ import annotations

import logging
import struct
import zipfile
from pathlib import Path

import mujoco
import numpy as np
import pytest

from gesture_core import bundled, robot
from gesture_core.errors import RobotDescriptionError

INERTIAL = '<inertial><mass value="1"/><inertia ixx="0.01" ixy="0" ixz="0" iyy="0.01" iyz="0" izz="0.01"/></inertial>'
CUBE_OBJ = "\n".join(
    [f"v {x} {y} {z}" for x in (-0.05, 0.05) for y in (-0.05, 0.05) for z in (-0.05, 0.05)]
    + ["f 1 3 4 2", "f 5 6 8 7", "f 1 2 6 5", "f 3 7 8 4", "f 1 5 7 3", "f 2 4 8 6"]
)


def write_stl(path: Path) -> None:
    """A binary STL tetrahedron (0.1 m)."""
    v = np.array([[0, 0, 0], [0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.1]], dtype=np.float32)
    faces = [(0, 2, 1), (0, 1, 3), (0, 3, 2), (1, 2, 3)]
    data = bytearray(b"\0" * 80 + struct.pack("<I", len(faces)))
    for f in faces:
        data += struct.pack("<3f", 0, 0, 0) + b"".join(struct.pack("<3f", *v[i]) for i in f) + b"\0\0"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))


def arm_urdf(mesh: str = "", mujoco_blocks: str = "", root_joint: str = "") -> str:
    """A base and one link on a revolute joint; ``mesh`` (a filename) is the link's visual and collision."""
    geometry = f'<geometry><mesh filename="{mesh}"/></geometry>' if mesh else '<geometry><box size="0.1 0.1 0.1"/></geometry>'
    world = '<link name="world"/>' if root_joint else ""
    return (
        f'<robot name="arm">{mujoco_blocks}{world}<link name="base">{INERTIAL}</link>'
        f'<link name="upper">{INERTIAL}<visual>{geometry}</visual><collision>{geometry}</collision></link>'
        '<link name="tip_frame"/>'
        f"{root_joint}"
        '<joint name="shoulder" type="revolute"><parent link="base"/><child link="upper"/><origin xyz="0 0.2 0.3"/>'
        '<axis xyz="0 1 0"/><limit lower="-1" upper="1" velocity="2" effort="10"/></joint>'
        '<joint name="tip" type="fixed"><parent link="upper"/><child link="tip_frame"/><origin xyz="0.3 0 0"/></joint>'
        "</robot>"
    )


def write(tmp_path: Path, text: str, name: str = "arm.urdf") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def test_missing_mesh_is_drawn_as_primitives_with_one_warning(tmp_path, caplog):
    path = write(tmp_path, arm_urdf(mesh="meshes/upper_arm.STL"))
    with caplog.at_level(logging.INFO):
        model = robot.load_mujoco_model(path)
    [warning] = warnings_of(caplog)
    assert f"{path}: 2 of 2 mesh references could not be used (first: 'meshes/upper_arm.STL': not found (looked at {tmp_path}/meshes/upper_arm.STL)" in warning
    assert "1 link(s) drawn as primitives. Fix: install the meshes and list their folder (or .zip) under mesh_paths" in warning
    upper = model.body("upper").id
    kinds = {int(model.geom_type[g]) for g in range(model.ngeom) if model.geom_bodyid[g] == upper}
    assert kinds == {mujoco.mjtGeom.mjGEOM_CAPSULE, mujoco.mjtGeom.mjGEOM_ELLIPSOID}  # to the tip joint, the inertia
    assert model.nmesh == 0


def test_meshdir_plus_a_filename_that_repeats_it_is_found(tmp_path, caplog):
    """``meshdir="meshes/"`` and ``filename="meshes/x.obj"``: MuJoCo alone looks for meshes/meshes/x.obj."""
    (tmp_path / "meshes").mkdir()
    (tmp_path / "meshes" / "upper.obj").write_text(CUBE_OBJ)
    path = write(tmp_path, arm_urdf("meshes/upper.obj", '<mujoco><compiler meshdir="meshes/"/></mujoco>'))
    with pytest.raises(ValueError, match="meshes/meshes/upper.obj"):  # the problem is real
        mujoco.MjSpec.from_file(str(path)).compile()
    with caplog.at_level(logging.INFO):
        model = robot.load_mujoco_model(path)
    assert model.nmesh == 1 and warnings_of(caplog) == []  # visual and collision share it


def test_a_urdf_with_its_own_mujoco_blocks_is_merged_and_the_flags_set_in_code(tmp_path, caplog):
    blocks = (
        '<mujoco><compiler fusestatic="true" discardvisual="true" angle="radian"/></mujoco>'
        '<mujoco><compiler discardvisual="false" fusestatic="false"/></mujoco>'  # the old README's block pasted in
    )
    path = write(tmp_path, arm_urdf(mujoco_blocks=blocks))
    with pytest.raises(ValueError, match="repeated element"):  # what MuJoCo alone says
        mujoco.MjSpec.from_file(str(path))
    with caplog.at_level(logging.INFO):
        model = robot.load_mujoco_model(path, sites={"ted_point_left_wrist": ("tip_frame", [0.0, 0.0, 0.01])})
    messages = [r.getMessage() for r in caplog.records]
    assert f"{path}: merged its 2 <mujoco> blocks into one" in messages
    # the second block already restored what the project needs: nothing to override
    assert not any("overridden" in m for m in messages)
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    # the fixed tip_frame link stayed a body (fusestatic off), so the skeleton point on it is where it belongs
    np.testing.assert_allclose(data.site("ted_point_left_wrist").xpos, [0.3, 0.2, 0.31], atol=1e-9)


def test_a_compiler_flag_the_project_needs_is_overridden_and_logged(tmp_path, caplog):
    path = write(tmp_path, arm_urdf(mujoco_blocks='<mujoco><compiler fusestatic="true"/></mujoco>'))
    with caplog.at_level(logging.INFO):
        model = robot.load_mujoco_model(path)
    assert f"{path}: <mujoco><compiler fusestatic='true'> overridden by 'false' (the project sets it in code)" in caplog.text
    assert mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "tip_frame") >= 0


def test_package_meshes_resolve_through_the_package_path_and_the_vendor_folder(tmp_path, monkeypatch, caplog):
    # a vendor package laid out as it ships: <pkg>/urdf/robot.urdf referencing package://<pkg>/meshes/...
    pkg = tmp_path / "acme_description"
    write_stl(pkg / "meshes" / "upper.stl")
    path = write(pkg, arm_urdf("package://acme_description/meshes/upper.stl"), "urdf/robot.urdf")
    monkeypatch.delenv("ROS_PACKAGE_PATH", raising=False)
    with caplog.at_level(logging.WARNING):
        assert robot.load_mujoco_model(path).nmesh == 1  # found as the folder above the URDF named like the package
    assert warnings_of(caplog) == []
    # elsewhere, through ROS_PACKAGE_PATH
    other = write(tmp_path / "elsewhere", path.read_text())
    monkeypatch.setenv("ROS_PACKAGE_PATH", str(tmp_path))
    assert robot.load_mujoco_model(other).nmesh == 1
    assert bundled.package_dirs("acme_description")[-1] == pkg


def test_meshes_in_a_zip_archive_are_extracted_once_into_the_cache(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    archive = tmp_path / "meshes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("meshes/acme/upper.obj", CUBE_OBJ)
    path = write(tmp_path / "urdf", arm_urdf("meshes/acme/upper.obj"))
    with caplog.at_level(logging.INFO):
        model = robot.load_mujoco_model(path, mesh_paths=[archive])
        robot.load_mujoco_model(path, mesh_paths=[archive])
    assert model.nmesh == 1 and warnings_of(caplog) == []  # visual and collision share it
    assert caplog.text.count("extracted mesh archive") == 1
    assert list((tmp_path / "cache" / "gesture_stack" / "meshes").glob("meshes-*/meshes/acme/upper.obj"))


def test_an_encrypted_mesh_archive_is_named_with_the_fix(tmp_path, monkeypatch, caplog):
    """qiBullet ships its meshes encrypted behind a licence: the warning says so and what to do."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    archive = tmp_path / "meshes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("meshes/upper.obj", CUBE_OBJ)
    raw = bytearray(archive.read_bytes())
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):  # mark the entry encrypted
        at = raw.index(signature)
        raw[at + flag_offset] |= 0x1
    archive.write_bytes(bytes(raw))
    path = write(tmp_path / "urdf", arm_urdf("meshes/upper.obj"))
    with caplog.at_level(logging.WARNING):
        robot.load_mujoco_model(path, mesh_paths=[archive])
    [warning] = warnings_of(caplog)
    assert f"mesh archive {archive} is encrypted; extract it with its vendor's installer (accepting its licence)" in warning


def test_an_unreadable_mesh_is_a_project_error_naming_the_file(tmp_path):
    (tmp_path / "upper.obj").write_text("v 0 0 0\nv 1 0 0\nf 1 2 7\n")  # a face of vertices that do not exist
    path = write(tmp_path, arm_urdf("upper.obj"))
    with pytest.raises(RobotDescriptionError) as err:
        robot.load_mujoco_model(path)
    assert f"MuJoCo cannot compile {path}" in str(err.value)


def test_a_floating_base_is_welded_at_its_root(tmp_path, caplog):
    floating = '<joint name="float" type="floating"><parent link="world"/><child link="base"/><origin xyz="0 0 0.8"/></joint>'
    path = write(tmp_path, arm_urdf(root_joint=floating))
    assert robot.parse_urdf(path).joint_names == ["shoulder"]
    with caplog.at_level(logging.INFO):
        model = robot.load_mujoco_model(path)
    assert f"{path}: welded at its root in simulation (floating joint float made fixed)" in caplog.text
    assert model.njnt == 1 and model.nq == 1  # no free joint
    data = mujoco.MjData(model)
    mujoco.mj_step(model, data, 200)
    assert data.body("base").xpos[2] == pytest.approx(0.8)  # gravity does not pull it down


def test_continuous_joints_have_no_position_limits(tmp_path):
    path = write(tmp_path, arm_urdf().replace('type="revolute"', 'type="continuous"').replace('lower="-1" upper="1" ', ""))
    j = robot.parse_urdf(path).joint("shoulder")
    assert j.lower == -np.inf and j.upper == np.inf
    model = robot.load_mujoco_model(path)
    assert not model.actuator_ctrllimited[0] and model.actuator_forcerange[0, 1] == 10.0


def test_base_orientation_turns_the_robot_to_face_x(tmp_path):
    path = write(tmp_path, arm_urdf())
    sites = {"p": ("tip_frame", [0.0, 0.0, 0.0])}
    plain = robot.load_mujoco_model(path, floor=False, sites=sites)
    turned = robot.load_mujoco_model(path, floor=False, sites=sites, base_rpy=(0.0, 0.0, np.pi))
    positions = []
    for model in (plain, turned):
        data = mujoco.MjData(model)
        mujoco.mj_forward(model, data)
        positions.append(data.site("p").xpos.copy())
    np.testing.assert_allclose(positions[1], positions[0] * [-1, -1, 1], atol=1e-9)


def test_vendor_inertials_zero_masses_and_rotated_origins_parse(tmp_path):
    rotated = INERTIAL.replace("<mass", '<origin xyz="0 0 0.1" rpy="0 1.5707963 0"/><mass').replace(
        'ixx="0.01"', 'ixx="0.02"'
    )
    text = arm_urdf().replace(f'<link name="upper">{INERTIAL}', f'<link name="upper">{rotated}')
    text = text.replace('<link name="tip_frame"/>', '<link name="tip_frame"><inertial><mass value="0"/><inertia ixx="0" ixy="0" ixz="0" iyy="0" iyz="0" izz="0"/></inertial></link>')
    d = robot.parse_urdf(write(tmp_path, text))
    assert d.links["tip_frame"].inertial is None
    np.testing.assert_allclose(np.diag(d.links["upper"].inertial.inertia), [0.01, 0.01, 0.02], atol=1e-8)  # ixx turned onto z
