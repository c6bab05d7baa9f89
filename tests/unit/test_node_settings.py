"""Settings defined once (gesture_core.settings) and their ROS side (gesture_ros.ros_io.NodeSettings):
validation names the field, parameter changes are validated as a whole and swapped atomically."""

from __future__ import annotations

import pytest

from gesture_core import node_settings as ns
from gesture_core.errors import ConfigError
from gesture_core.models.diffusion.backend import DiffusionSettings

rclpy = pytest.importorskip("rclpy")
from rclpy.exceptions import ParameterException  # noqa: E402
from rclpy.parameter import Parameter  # noqa: E402

from gesture_ros.ros_io import NodeSettings  # noqa: E402


def test_settings_validate_types_ranges_choices_and_cross_field_rules():
    s = ns.SpeechSourceSettings()
    assert (s.rate, s.lead_time, s.mode) == (160, 1.0, "tts")
    assert s.replace(lead_time=2).lead_time == 2.0 and isinstance(s.replace(lead_time=2).lead_time, float)
    for bad, reason in [
        ({"rate": 500}, "rate=500 is outside"),
        ({"mode": "radio"}, "not one of"),
        ({"rate": "fast"}, "must be a int"),
        ({"real_time": 1}, "must be a bool"),
        ({"lead_time": float("nan")}, "finite"),
        ({"volume": 3}, "unknown setting"),
    ]:
        with pytest.raises(ConfigError, match=reason):
            s.replace(**bad)
    with pytest.raises(ConfigError, match="f0_min_hz=600 must be below f0_max_hz=500"):
        ns.AudioFeaturesSettings(f0_min_hz=600.0)
    with pytest.raises(ConfigError, match="Nyquist"):
        ns.RetargetSettings(smoothing_cutoff_hz=60.0, controller_rate=100.0)


@pytest.fixture
def node():
    context = rclpy.Context()
    rclpy.init(context=context)
    n = rclpy.create_node("settings_test", context=context)
    yield n
    n.destroy_node()
    rclpy.shutdown(context=context)


def test_node_settings_declare_validate_and_swap_atomically(node):
    seen = []
    settings = NodeSettings(node, ns.SpeechSourceSettings, on_change=lambda v, names: seen.append((v, names)))
    first = settings.value
    assert node.get_parameter("rate").value == 160
    assert node.describe_parameter("rate").integer_range[0].to_value == 450

    ok = node.set_parameters_atomically([Parameter("rate", value=200), Parameter("lead_time", value=0.5)])
    assert ok.successful and settings.value.rate == 200 and settings.value.lead_time == 0.5
    assert first.rate == 160 and seen == [(settings.value, {"rate", "lead_time"})]  # a new instance

    bad = node.set_parameters_atomically([Parameter("rate", value=220), Parameter("chunk_ms", value=5000)])
    assert not bad.successful and "chunk_ms" in bad.reason
    assert settings.value.rate == 200 and len(seen) == 1  # all of a change or none of it

    (static,) = node.set_parameters([Parameter("mode", value="mic")])
    assert not static.successful and "start-up only" in static.reason
    (same,) = node.set_parameters([Parameter("mode", value="tts")])
    assert same.successful


def test_a_backends_settings_are_prefixed_parameters(node):
    settings = NodeSettings(node, DiffusionSettings, prefix="diffusion.")
    assert node.get_parameter("diffusion.steps").value == 8
    (ok,) = node.set_parameters([Parameter("diffusion.steps", value=3)])
    assert ok.successful and settings.value.steps == 3
    (bad,) = node.set_parameters([Parameter("diffusion.eta", value=2.0)])
    assert not bad.successful and "diffusion.eta" in bad.reason


@pytest.mark.parametrize(
    ("arg", "error", "reason"),
    [
        ("mode:=radio", ConfigError, "bad start-up parameter: mode='radio' is not one of"),  # choices: ours
        ("chunk_ms:=5000", ParameterException, "chunk_ms"),  # numeric ranges: rclpy enforces the descriptor
    ],
)
def test_a_bad_start_up_value_is_one_clear_error(arg, error, reason):
    """run_node turns both into one fatal log line and exit status 1."""
    context = rclpy.Context()
    rclpy.init(context=context, args=["--ros-args", "-p", arg])
    n = rclpy.create_node("settings_bad", context=context)
    try:
        with pytest.raises(error, match=reason):
            NodeSettings(n, ns.SpeechSourceSettings)
    finally:
        n.destroy_node()
        rclpy.shutdown(context=context)
