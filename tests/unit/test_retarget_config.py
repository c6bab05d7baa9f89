"""Retarget configuration: the bundled files load, and every kind of mistake names its key."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml
from locations import ROOT

from gesture_core.errors import ConfigError
from gesture_core.retarget.config import default_config_path, load_config, read_config, safety_limits
from gesture_core.robot import parse_urdf

CONFIGS = ["retarget_humanoid.yaml", "retarget_humanoid_7dof.yaml"]


@pytest.fixture(scope="module")
def base() -> dict:
    return yaml.safe_load((ROOT / "config" / "retarget_humanoid.yaml").read_text())


def write(tmp_path: Path, data: dict) -> Path:
    """Write a config under ``tmp_path/config/`` with the URDF path made absolute."""
    data = copy.deepcopy(data)
    if "urdf" in data:
        data["urdf"] = str(ROOT / data["urdf"])
    (tmp_path / "config").mkdir(exist_ok=True)
    path = tmp_path / "config" / "retarget.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.mark.parametrize("name", CONFIGS)
def test_bundled_configs_load_and_give_limits_inside_the_urdf(name):
    cfg = load_config(ROOT / "config" / name)
    robot = parse_urdf(ROOT / cfg.urdf)
    limits = safety_limits(cfg, robot)
    lower, upper = robot.limits(cfg.joint_names)
    np.testing.assert_allclose(limits.lower, lower + cfg.limits.margin)
    np.testing.assert_allclose(limits.upper, upper - cfg.limits.margin)
    assert np.all(limits.velocity <= [robot.joint(n).velocity for n in cfg.joint_names])
    assert set(cfg.joint_names) <= set(robot.joint_names)


def test_speed_scale_scales_velocity_and_squared_acceleration():
    cfg = load_config(ROOT / "config" / CONFIGS[0])
    robot = parse_urdf(ROOT / cfg.urdf)
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
        ("markers.left_elbow", "elbow_marker", "markers.left_elbow: unknown link 'elbow_marker'"),
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
        ("rest_pose.knee", 0.0, "rest_pose.knee: not a joint of any chain"),
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


def test_urdf_resolves_relative_to_the_repository_and_to_an_installed_share(tmp_path, base):
    # repository layout: <root>/config/x.yaml + <root>/urdf/...
    assert load_config(ROOT / "config" / CONFIGS[0]).urdf == "urdf/gesture_humanoid.urdf"
    # installed layout: share/gesture_bringup/config/x.yaml + share/gesture_description/urdf/...
    share = tmp_path / "share"
    (share / "gesture_bringup" / "config").mkdir(parents=True)
    (share / "gesture_description" / "urdf").mkdir(parents=True)
    (share / "gesture_description" / "urdf" / "gesture_humanoid.urdf").write_text((ROOT / base["urdf"]).read_text())
    path = share / "gesture_bringup" / "config" / "retarget.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False))
    load_config(path)
    (share / "gesture_description" / "urdf" / "gesture_humanoid.urdf").unlink()
    with pytest.raises(ConfigError, match="urdf: 'urdf/gesture_humanoid.urdf' not found"):
        load_config(path)


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
