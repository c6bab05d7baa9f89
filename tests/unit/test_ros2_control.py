"""ros2_control and Gazebo files of the bundled robots (gesture_core.ros2_control, worlds/).

Gazebo and ros2_control are not installable here, so these are static checks against independent
sources: the retargeting config and the URDF (through the project's loaders), the retargeter's
own rest pose, MuJoCo (which loads the Gazebo URDF as the same robot), the parameter names of
ros2_controllers' joint_trajectory_controller (Jazzy), and, where SDFormat's command line is
installed (``ign sdf`` / ``gz sdf``, Debian: ignition-tools + libsdformat-dev, installed by
``make setup``), SDFormat itself, the library Gazebo loads worlds and URDFs with.
"""

from __future__ import annotations

import dataclasses
import logging
import shutil
import subprocess
import xml.etree.ElementTree as ET
from functools import cache
from pathlib import Path

import mujoco
import numpy as np
import pytest
import yaml

from gesture_core import ros2_control as rc
from gesture_core import skeleton
from gesture_core.contracts import NS_PER_S, GestureSequence
from gesture_core.errors import RobotDescriptionError
from gesture_core.retarget.config import load_config, read_config, resolve_urdf
from gesture_core.retarget.motion import MotionPlanner
from gesture_core.robot import load_mujoco_model, parse_urdf

from locations import ROOT  # noqa: E402
# The robots whose controllers YAML ships (the vendor robots get theirs from `gesture-ros2-control CONFIG`).
CONFIGS = sorted((ROOT / "config").glob("retarget_humanoid*.yaml"))

#: Every parameter of joint_trajectory_controller (ros2_controllers, Jazzy:
#: joint_trajectory_controller/src/joint_trajectory_controller_parameters.yaml); ``constraints``
#: and ``gains`` are maps checked on their own.
JTC_PARAMETERS = {
    "joints", "command_joints", "command_interfaces", "state_interfaces", "allow_partial_joints_goal",
    "interpolate_from_desired_state", "allow_integration_in_goal_trajectories", "action_monitor_rate",
    "interpolation_method", "allow_nonzero_velocity_at_trajectory_end", "cmd_timeout", "gains", "constraints",
    "open_loop_control", "set_last_command_interface_value_as_state_on_activation",
}  # fmt: skip
JTC_CONSTRAINTS = {"stopped_velocity_tolerance", "goal_time"}
JTC_JOINT_CONSTRAINTS = {"trajectory", "goal"}
#: The systems a headless Gazebo run of the world needs: plugin name -> library.
GZ_SYSTEMS = {
    "gz::sim::systems::Physics": "gz-sim-physics-system",
    "gz::sim::systems::UserCommands": "gz-sim-user-commands-system",
    "gz::sim::systems::SceneBroadcaster": "gz-sim-scene-broadcaster-system",
}


@cache
def sdf_tool() -> tuple[str, ...] | None:
    """SDFormat's command line (``gz sdf`` or ``ign sdf``), or None when not installed."""
    for tool in ("gz", "ign"):
        command = (tool, "sdf")
        if shutil.which(tool) and subprocess.run([*command, "--help"], capture_output=True).returncode == 0:
            return command
    return None


def sdf(*args: str) -> subprocess.CompletedProcess:
    tool = sdf_tool()
    if tool is None:
        pytest.skip("SDFormat's command line (gz sdf / ign sdf) is not installed (make setup installs it)")
    return subprocess.run([*tool, *args], capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module", params=CONFIGS, ids=lambda p: rc.robot_name(p))
def bundled(request, tmp_path_factory):
    """(config, robot, shipped controllers YAML, Gazebo URDF file, motion planner) of one bundled robot."""
    config = request.param
    cfg = load_config(config)
    robot = rc.controlled_robot(cfg)
    controllers = config.parent / rc.CONTROLLERS_FILE.format(robot=rc.robot_name(config))
    urdf = tmp_path_factory.mktemp("gazebo") / "robot.urdf"
    urdf.write_text(rc.gazebo_urdf(robot, controllers))
    return cfg, robot, controllers, urdf, MotionPlanner(cfg)


# ------------------------------------------------------------------------------------------------
# controllers YAML
# ------------------------------------------------------------------------------------------------


def test_shipped_controllers_files_are_what_the_generator_makes(bundled):
    cfg, robot, controllers, *_ = bundled
    assert controllers.is_file(), f"{controllers} is missing: run gesture-ros2-control {cfg.source}"
    assert controllers.read_text() == rc.controllers_yaml(robot), (
        f"{controllers} drifted from its generator: run gesture-ros2-control config/retarget_*.yaml"
    )
    assert rc.main([str(cfg.source), "--check"]) == 0


def test_check_mode_finds_missing_and_edited_files(tmp_path):
    args = [str(CONFIGS[0]), "--out-dir", str(tmp_path)]
    assert rc.main([*args, "--check"]) == 1  # nothing written yet
    assert rc.main(args) == 0
    assert rc.main([*args, "--check"]) == 0
    (written,) = tmp_path.glob("controllers_*.yaml")
    written.write_text(written.read_text().replace("goal: 0.05", "goal: 0.5", 1))
    assert rc.main([*args, "--check"]) == 1


def test_controllers_drive_exactly_the_retargeted_joints_within_urdf_limits(bundled):
    cfg, _, controllers, *_ = bundled
    params = yaml.safe_load(controllers.read_text())
    urdf = parse_urdf(resolve_urdf(cfg))
    manager = params[rc.CONTROLLER_MANAGER]["ros__parameters"]
    assert isinstance(manager["update_rate"], int) and manager["update_rate"] == round(cfg.controller_rate_hz)
    assert manager[rc.JOINT_STATE_BROADCASTER] == {"type": "joint_state_broadcaster/JointStateBroadcaster"}
    assert manager[rc.TRAJECTORY_CONTROLLER] == {
        "type": "joint_trajectory_controller/JointTrajectoryController"
    }
    assert set(params) == {rc.CONTROLLER_MANAGER, rc.TRAJECTORY_CONTROLLER}
    jtc = params[rc.TRAJECTORY_CONTROLLER]["ros__parameters"]
    assert set(jtc) <= JTC_PARAMETERS, f"unknown JTC parameters {set(jtc) - JTC_PARAMETERS}"
    assert jtc["joints"] == cfg.joint_names
    for name in jtc["joints"]:
        joint = urdf.joint(name)
        assert joint.movable and joint.lower < joint.upper and joint.velocity > 0 and joint.effort > 0
    assert jtc["command_interfaces"] == ["position"]
    assert jtc["state_interfaces"] == ["position", "velocity"]
    assert jtc["allow_partial_joints_goal"] is False
    assert jtc["allow_nonzero_velocity_at_trajectory_end"] is False  # see the test below
    constraints = jtc["constraints"]
    assert set(constraints) == JTC_CONSTRAINTS | set(cfg.joint_names)
    assert constraints["goal_time"] > 0  # 0 would wait for an action goal forever (Jazzy)
    for name in cfg.joint_names:
        assert set(constraints[name]) <= JTC_JOINT_CONSTRAINTS
        assert 0 < constraints[name]["goal"] < urdf.joint(name).upper - urdf.joint(name).lower


def test_every_retargeted_trajectory_ends_at_rest_as_the_controller_demands(bundled):
    """The controller (allow_nonzero_velocity_at_trajectory_end: false, Jazzy's default) rejects a
    trajectory whose last point moves faster than float epsilon: the planner's never do."""
    planner = bundled[4]
    t = np.arange(60)[:, None] / 15.0
    wave = 0.25 * np.sin(2 * np.pi * 0.6 * t + np.linspace(0, 3, 27))
    human = np.tile(skeleton.MEAN_DIR_VEC, (60, 1)) + wave  # (60, 27) TED bone directions
    t0 = 50 * NS_PER_S
    commands = [
        planner.plan_startup(t0),
        planner.plan_gesture(GestureSequence("u", t0, human[:30]), t0),
        planner.plan_gesture(GestureSequence("u", t0, human[30:], first_frame=30), t0 + NS_PER_S),  # streamed
        planner.plan_rest(t0 + 5 * NS_PER_S),
    ]
    for cmd in commands:
        assert np.max(np.abs(cmd.velocities[-1])) <= np.finfo(np.float32).eps


# ------------------------------------------------------------------------------------------------
# URDF for Gazebo
# ------------------------------------------------------------------------------------------------


def test_ros2_control_block_names_every_retargeted_joint_with_its_interfaces(bundled):
    cfg, _, controllers, urdf_file, planner = bundled
    urdf = parse_urdf(resolve_urdf(cfg))
    root = ET.parse(urdf_file).getroot()
    (block,) = root.findall("ros2_control")
    assert block.get("type") == "system"
    assert block.findtext("hardware/plugin") == "gz_ros2_control/GazeboSimSystem"
    joints = block.findall("joint")
    assert [j.get("name") for j in joints] == cfg.joint_names
    rest = planner.rest  # what the retargeter commands at rest
    for joint, expected_rest in zip(joints, rest):
        name, limits = joint.get("name"), urdf.joint(joint.get("name"))
        assert [i.get("name") for i in joint.findall("command_interface")] == ["position"]
        assert [i.get("name") for i in joint.findall("state_interface")] == ["position", "velocity"]
        command = joint.find("command_interface")
        assert float(command.findtext("param[@name='min']")) == limits.lower
        assert float(command.findtext("param[@name='max']")) == limits.upper
        initial = float(joint.findtext("state_interface[@name='position']/param[@name='initial_value']"))
        assert initial == pytest.approx(expected_rest, abs=1e-12)
        assert initial == pytest.approx(cfg.rest_pose.get(name, 0.0))
        assert limits.lower + cfg.limits.margin <= initial <= limits.upper - cfg.limits.margin
    (plugin,) = root.findall(f"gazebo/plugin[@name='{rc.GZ_PLUGIN_NAME}']")
    assert plugin.get("filename") == "gz_ros2_control-system"
    parameters = Path(plugin.findtext("parameters"))
    assert parameters.is_absolute() and parameters == controllers.absolute() and parameters.is_file()
    assert 0 < float(plugin.findtext("position_proportional_gain")) <= 1  # no oscillation


def test_gazebo_urdf_is_the_robot_fixed_to_the_world(bundled):
    cfg, robot, _, urdf_file, _ = bundled
    original, gazebo = parse_urdf(resolve_urdf(cfg)), parse_urdf(urdf_file)
    assert gazebo.root == "world" and set(gazebo.links) == set(original.links) | {"world"}
    assert set(gazebo.joints) == set(original.joints) | {rc.WORLD_JOINT}
    fixed = gazebo.joint(rc.WORLD_JOINT)
    assert (fixed.type, fixed.parent, fixed.child) == ("fixed", "world", original.root)
    np.testing.assert_allclose(fixed.origin_xyz, [0, 0, robot.base_height])
    for name, joint in original.joints.items():
        other = gazebo.joint(name)
        fields = ("type", "parent", "child", "lower", "upper", "velocity", "effort")
        assert [getattr(other, f) for f in fields] == [getattr(joint, f) for f in fields]
        np.testing.assert_array_equal(other.origin_xyz, joint.origin_xyz)
        np.testing.assert_array_equal(other.axis, joint.axis)


def test_mujoco_loads_the_gazebo_urdf_as_the_same_robot_standing_on_the_ground(bundled):
    cfg, robot, _, urdf_file, _ = bundled
    original, gazebo = load_mujoco_model(resolve_urdf(cfg)), load_mujoco_model(urdf_file)
    names = [original.joint(i).name for i in range(original.njnt)]
    assert names == [gazebo.joint(i).name for i in range(gazebo.njnt)]
    np.testing.assert_array_equal(original.jnt_range, gazebo.jnt_range)
    assert gazebo.geom("floor").pos[2] == pytest.approx(0.0, abs=1e-6)  # lowest point on the ground (z = 0)
    rng = np.random.default_rng(0)
    data_o, data_g = mujoco.MjData(original), mujoco.MjData(gazebo)
    for _ in range(5):
        q = rng.uniform(original.jnt_range[:, 0], original.jnt_range[:, 1])
        data_o.qpos[:], data_g.qpos[:] = q, q
        mujoco.mj_kinematics(original, data_o)
        mujoco.mj_kinematics(gazebo, data_g)
        for body in range(1, original.nbody):  # every link but MuJoCo's world body
            link = original.body(body).name
            np.testing.assert_allclose(
                data_g.body(link).xpos, data_o.body(link).xpos + [0, 0, robot.base_height], atol=1e-9
            )


def test_sdformat_reads_the_gazebo_urdf(bundled):
    cfg, robot, controllers, urdf_file, _ = bundled
    converted = sdf("-p", str(urdf_file))  # parsed and converted to SDF as Gazebo does; fails on any error
    assert converted.returncode == 0, f"SDFormat rejects the Gazebo URDF:\n{converted.stderr}"
    (model,) = ET.fromstring(converted.stdout).findall("model")
    joints = {j.get("name"): j for j in model.findall("joint")}
    urdf = parse_urdf(resolve_urdf(cfg))
    movable = {n for n, j in joints.items() if j.get("type") == "revolute"}
    assert movable == set(urdf.joint_names)  # no moving link dropped (e.g. for a missing inertial)
    for name in cfg.joint_names:
        limit = joints[name].find("axis/limit")
        assert float(limit.findtext("lower")) == urdf.joint(name).lower
        assert float(limit.findtext("upper")) == urdf.joint(name).upper
    world = joints[rc.WORLD_JOINT]
    assert (world.get("type"), world.findtext("parent")) == ("fixed", "world")
    assert world.findtext("child") == robot.description.root
    pose = [float(v) for v in world.findtext("pose").split()]
    assert pose == pytest.approx([0, 0, robot.base_height, 0, 0, 0])
    (plugin,) = model.findall("plugin")
    assert (plugin.get("filename"), plugin.get("name")) == (rc.GZ_PLUGIN_FILE, rc.GZ_PLUGIN_NAME)
    assert plugin.findtext("parameters") == str(controllers.absolute())


def test_a_urdf_that_already_has_ros2_control_is_refused(bundled):
    _, robot, controllers, urdf_file, _ = bundled
    again = dataclasses.replace(robot, urdf_path=urdf_file, description=parse_urdf(urdf_file))
    with pytest.raises(RobotDescriptionError, match="already has a <ros2_control> block"):
        rc.gazebo_urdf(again, controllers)


def test_movable_joints_outside_the_chains_are_reported(caplog):
    cfg = load_config(CONFIGS[0])
    smaller = cfg.with_overrides(chains={k: v for k, v in cfg.chains.items() if k != "head"})
    with caplog.at_level(logging.WARNING, logger="gesture_core.ros2_control"):
        robot = rc.controlled_robot(smaller)
    assert "head_yaw" not in robot.joints
    assert "head_yaw" in caplog.text and "head_pitch" in caplog.text


def test_cli_writes_the_gazebo_urdf_pointing_at_its_controllers(tmp_path):
    gazebo = tmp_path / "g.urdf"
    assert rc.main([str(CONFIGS[0]), "--out-dir", str(tmp_path), "--gazebo-urdf", str(gazebo)]) == 0
    plugin = ET.parse(gazebo).getroot().find("gazebo/plugin")
    (controllers,) = tmp_path.glob("controllers_*.yaml")
    assert plugin.findtext("parameters") == str(controllers.absolute())
    with pytest.raises(SystemExit):
        rc.main([*map(str, CONFIGS), "--gazebo-urdf", str(tmp_path / "two.urdf")])


# ------------------------------------------------------------------------------------------------
# the world
# ------------------------------------------------------------------------------------------------


def test_world_file_has_what_a_headless_gazebo_run_needs():
    path = rc.world_path()
    assert path == ROOT / "worlds" / rc.WORLD_FILE
    installed_link = ROOT / "ros2_ws" / "src" / "gesture_bringup" / "worlds" / rc.WORLD_FILE
    assert installed_link.resolve() == path.resolve()  # what gesture_bringup's setup.py installs
    sdf_root = ET.parse(path).getroot()
    assert sdf_root.tag == "sdf" and tuple(map(int, sdf_root.get("version").split("."))) >= (1, 9)
    (world,) = sdf_root.findall("world")
    assert world.get("name") == rc.WORLD_NAME
    plugins = {p.get("name"): p.get("filename") for p in world.findall("plugin")}
    for name, library in GZ_SYSTEMS.items():
        assert plugins.get(name) == library, f"world lacks the {name} system"
    step = float(world.findtext("physics/max_step_size"))
    assert 0 < step <= 0.002
    for config in CONFIGS:  # the controller manager of every robot updates every n-th step
        period = 1.0 / round(read_config(config).controller_rate_hz)
        assert period / step == pytest.approx(round(period / step)) and period >= step
    assert [float(v) for v in world.findtext("gravity").split()] == [0, 0, -9.8]
    assert any(light.get("type") == "directional" for light in world.findall("light"))
    ground = [m for m in world.findall("model") if m.findtext("static") == "true"]
    normals = [m.findtext("link/collision/geometry/plane/normal") for m in ground]
    assert "0 0 1" in normals, "no static ground plane at z = 0"


def _spec_walk(element: ET.Element, spec: ET.Element, path: str) -> list[str]:
    """Elements and attributes of ``element`` that the SDFormat spec ``spec`` does not define."""
    errors = []
    known_attributes = {a.get("name") for a in spec.findall("attribute")}
    errors += [f"{path}: unknown attribute {a!r}" for a in element.attrib if a not in known_attributes]
    errors += [
        f"{path}: missing attribute {a.get('name')!r}"
        for a in spec.findall("attribute")
        if a.get("required") == "1" and a.get("name") not in element.attrib
    ]
    if spec.find("element[@copy_data='true']") is not None:  # a plugin: its content is its own
        return errors
    children = {e.get("name"): e for e in spec.findall("element")}
    for child in element:
        if not isinstance(child.tag, str):
            continue  # a comment
        where = f"{path}/{child.tag}"
        if child.tag not in children:
            errors.append(f"{where}: not an SDFormat element here")
        else:
            errors += _spec_walk(child, children[child.tag], where)
    return errors


def test_world_file_is_valid_sdformat():
    path = rc.world_path()
    checked = sdf("-k", str(path))
    assert checked.returncode == 0 and "Valid" in checked.stdout, f"SDFormat rejects {path}: {checked.stderr}"
    version = ET.parse(path).getroot().get("version")
    described = sdf("-d", version)
    assert described.returncode == 0, described.stderr
    spec = ET.fromstring(described.stdout)
    assert _spec_walk(ET.parse(path).getroot(), spec, "sdf") == []
    # the walk catches what SDFormat itself only warns about: a misspelt element
    bad = ET.fromstring(path.read_text().replace("max_step_size>", "max_stepsize>"))
    assert _spec_walk(bad, spec, "sdf") == ["sdf/world/physics/max_stepsize: not an SDFormat element here"]
