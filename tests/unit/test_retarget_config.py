"""Retarget configuration: the bundled files load, and every kind of mistake names its key."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from locations import ROOT

from gesture_core.errors import ConfigError
from gesture_core.retarget.config import (
    default_config_path,
    load_config,
    read_config,
    resolve_urdf,
    safety_limits,
)
from gesture_core.robot import parse_urdf

CONFIGS = ["retarget_humanoid.yaml", "retarget_humanoid_7dof.yaml"]
URDF = ROOT / "urdf" / "gesture_humanoid.urdf"


@pytest.fixture(scope="module")
def base() -> dict:
    return yaml.safe_load((ROOT / "config" / "retarget_humanoid.yaml").read_text())


def write(tmp_path: Path, data: dict) -> Path:
    """Write a config under ``tmp_path/config/`` with the URDF path made absolute."""
    data = copy.deepcopy(data)
    if "urdf" in data:
        data["urdf"] = str(URDF)
    (tmp_path / "config").mkdir(exist_ok=True)
    path = tmp_path / "config" / "retarget.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("name", CONFIGS)
def test_bundled_configs_load_and_give_limits_inside_the_urdf(name):
    cfg = load_config(ROOT / "config" / name)
    robot = parse_urdf(resolve_urdf(cfg))
    limits = safety_limits(cfg, robot)
    lower, upper = robot.limits(cfg.joint_names)
    np.testing.assert_allclose(limits.lower, lower + cfg.limits.margin)
    np.testing.assert_allclose(limits.upper, upper - cfg.limits.margin)
    assert np.all(limits.velocity <= [robot.joint(n).velocity for n in cfg.joint_names])
    assert set(cfg.joint_names) <= set(robot.joint_names)


def test_speed_scale_scales_velocity_and_squared_acceleration():
    cfg = load_config(ROOT / "config" / CONFIGS[0])
    robot = parse_urdf(resolve_urdf(cfg))
    full, half = safety_limits(cfg, robot), safety_limits(cfg.with_overrides(speed_scale=0.5), robot)
    np.testing.assert_allclose(half.velocity, 0.5 * full.velocity)
    np.testing.assert_allclose(half.acceleration, 0.25 * full.acceleration)


def set_path(data: dict, path: str, value) -> dict:
    data = copy.deepcopy(data)
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


DELETE = object()


@pytest.mark.parametrize(
    "path, value, message",
    [
        ("chains.left_arm.joints.2", "l_elbo_roll", "chains.left_arm.joints[2]: unknown joint 'l_elbo_roll'"),
        ("chains.left_arm.joints.1", 3, "chains.left_arm.joints[1]: expected a non-empty string"),
        ("chains.head.joints", DELETE, "chains.head.joints: missing"),
        ("chains.head.bones.neck", "heavy", "chains.head.bones.neck: expected a number"),
        ("chains.head.bones.necks", 1.0, "chains.head.bones.necks: not a TED bone"),
        ("chains.head.bones.spine", 1.0, "chains.head.bones.spine: already matched by chain 'torso'"),
        ("chains.right_arm.joints.0", "l_shoulder_pitch", "chains.right_arm.joints[0]: 'l_shoulder_pitch' is already in chain 'left_arm'"),
        ("chains.torso.colour", "red", "chains.torso.colour: unknown key"),
        ("markers.left_elbow", "elbow_marker", "markers.left_elbow.link: unknown link 'elbow_marker'"),
        ("markers.left_elbow", "ted_left_elbw", "unknown link 'ted_left_elbw' (did you mean 'ted_left_elbow'"),
        ("markers.left_elbow", {"joint": "l_elbow"}, "markers.left_elbow.joint: unknown joint 'l_elbow'"),
        ("markers.left_elbow", {"link": "ted_left_elbow", "joint": "l_elbow_roll"}, "markers.left_elbow: give either link or joint"),
        ("markers.left_elbow", {"link": "ted_left_elbow", "offset": [0, 1]}, "markers.left_elbow: offset: [0.0, 1.0] is not 3 numbers"),
        ("markers.left_elbow", {"joint": "l_elbow_roll", "offset": [0, 0, 0.01]}, None),
        ("markers.left_knee", "ted_spine", "markers.left_knee: not a TED joint"),
        ("markers.left_wrist", DELETE, "chains.left_arm.bones.left_forearm: needs a marker for TED joint 'left_wrist'"),
        ("amplitude_scale", 7.0, "amplitude_scale: 7.0 outside [0, 3]"),
        ("amplitude_scale", "big", "amplitude_scale: expected a number"),
        ("amplitude_scale", True, "amplitude_scale: expected a number"),
        ("smoothing_cutoff_hz", 80.0, "smoothing_cutoff_hz: 80.0 outside"),
        ("controller_rate_hz", DELETE, None),  # has a default: fine
        ("limits.margin", -0.1, "limits.margin: -0.1 outside"),
        ("limits.margin", 0.5, "limits.margin: 0.5 leaves joint"),
        ("limits.velocity_scale", 1.5, "limits.velocity_scale: 1.5 outside"),
        ("limits.acceleration_per_joint.torso_yawn", 5.0, "limits.acceleration_per_joint.torso_yawn: not a joint of any chain"),
        ("limits.jerk", 5.0, "limits.jerk: unknown key"),
        ("ik.iterations", 2.5, "ik.iterations: expected an integer"),
        ("rest_pose.l_elbow_roll", 1.0, "rest_pose.l_elbow_roll: 1.0 outside the joint's limits"),
        ("rest_pose.knee", 0.0, "rest_pose.knee: not a movable joint of the robot"),
        ("limits.position", {"l_elbow_roll": [-3.0, 0.0]}, "limits.position.l_elbow_roll: [-3.0, 0.0] is wider than the URDF's"),
        ("limits.position", {"l_elbow_roll": [-1.0, -1.05]}, "limits.position.l_elbow_roll: lower -1.0 is not below upper -1.05; swap"),
        ("limits.position", {"l_elbow_roll": [-1.0, -0.95]}, "limits.margin: 0.05 leaves joint 'l_elbow_roll' ([-1.0, -0.95]) no range; lower the margin below 0.025"),
        ("limits.position", {"l_elbow_roll": [-1.0, -0.5]}, "rest_pose.l_elbow_roll: -0.3 outside the joint's limits [-1.0, -0.5] less the margin"),
        ("limits.position", {"l_elbow_roll": [-1.5, -0.2]}, None),
        ("urdf", DELETE, "urdf: missing"),
        ("chains", {}, "chains: at least one chain"),
        ("speed_scale", 2.0, "speed_scale: 2.0 outside"),
        ("rest_blend_time", 0.0, "rest_blend_time: 0.0 outside"),
        ("colour", "red", "colour: unknown key"),
    ],
)
def test_errors_name_the_bad_key(tmp_path, base, path, value, message):
    data = set_path(base, path, value)
    if message is None:
        load_config(write(tmp_path, data))
        return
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, data))
    assert message in str(err.value)


def test_file_level_errors(tmp_path):
    with pytest.raises(ConfigError, match="missing.yaml"):
        read_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("chains: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_config(bad)
    bad.write_text("- a list")
    with pytest.raises(ConfigError, match="the top level: expected a mapping"):
        read_config(bad)


def test_urdf_resolves_as_package_relative_to_the_config_or_absolute(tmp_path, base, monkeypatch):
    # the bundled configs name their URDF as a package resource: the source tree in a checkout
    cfg = load_config(ROOT / "config" / CONFIGS[0])
    assert cfg.urdf == "package://gesture_description/urdf/gesture_humanoid.urdf"
    assert resolve_urdf(cfg) == URDF
    # relative to the config file
    (tmp_path / "robots" / "meshes").mkdir(parents=True)
    (tmp_path / "robots" / "my.urdf").write_text(URDF.read_text())
    path = tmp_path / "robots" / "my.yaml"
    path.write_text(yaml.safe_dump({**base, "urdf": "my.urdf"}, sort_keys=False))
    assert resolve_urdf(load_config(path)) == tmp_path / "robots" / "my.urdf"
    # a user's package found through ROS_PACKAGE_PATH (as through the ament index when installed)
    share = tmp_path / "ws"
    (share / "my_description" / "urdf").mkdir(parents=True)
    (share / "my_description" / "urdf" / "r.urdf").write_text(URDF.read_text())
    path.write_text(yaml.safe_dump({**base, "urdf": "package://my_description/urdf/r.urdf"}, sort_keys=False))
    monkeypatch.setenv("ROS_PACKAGE_PATH", str(share))
    assert resolve_urdf(load_config(path)) == share / "my_description" / "urdf" / "r.urdf"
    monkeypatch.delenv("ROS_PACKAGE_PATH")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert f"{path}: urdf: 'package://my_description/urdf/r.urdf' not found" in str(err.value)
    assert "give an absolute path, package://<package>/<path>, or a path relative to the config file" in str(err.value)


def test_with_overrides_validates_again():
    cfg = load_config(ROOT / "config" / CONFIGS[0])
    assert cfg.with_overrides(amplitude_scale=0.5, limits_margin=0.1).limits.margin == 0.1
    with pytest.raises(ConfigError, match="amplitude_scale"):
        cfg.with_overrides(amplitude_scale=-1.0)
    with pytest.raises(ConfigError, match="volume: not a retarget setting"):
        cfg.with_overrides(volume=3)


def test_bundled_configs_are_found_and_a_missing_one_is_named():
    assert default_config_path() == ROOT / "config" / "retarget_humanoid.yaml"
    assert default_config_path(CONFIGS[1]).is_file()
    with pytest.raises(ConfigError, match="config/nope.yaml"):
        default_config_path("nope.yaml")
