"""The MCAP recorder: schemas built from the installed .msg files, and the recorder node over DDS."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core.errors import GestureError
from gesture_core.recording import McapRecorder, MessageDefinitions, read_messages

pytest.importorskip("rclpy")
from rclpy.serialization import serialize_message  # noqa: E402
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import String  # noqa: E402

SHARE = [Path(sys.prefix) / "share"]


def test_schema_includes_nested_definitions_once():
    schema = MessageDefinitions(SHARE).schema("trajectory_msgs/msg/JointTrajectory")
    assert schema.count("MSG: std_msgs/Header") == 1
    assert schema.count("MSG: builtin_interfaces/Duration") == 1
    assert "MSG: trajectory_msgs/JointTrajectoryPoint" in schema
    with pytest.raises(GestureError, match="no definition"):
        MessageDefinitions(SHARE).schema("nope_msgs/msg/Nothing")


def test_recording_round_trip(tmp_path):
    chunk = c.AudioChunk("u-1", 5 * c.NS_PER_S, np.linspace(-0.5, 0.5, 160))
    with McapRecorder(tmp_path / "r.mcap", MessageDefinitions(SHARE)) as rec:
        rec.add_topic("/speech/audio", "sensor_msgs/msg/Image")
        rec.write("/speech/audio", serialize_message(c.encode_audio(Image(), chunk)), 10)
    [(topic, t, msg)] = list(read_messages(tmp_path / "r.mcap"))
    assert (topic, t) == ("/speech/audio", 10)
    back = c.decode_audio(msg)
    np.testing.assert_allclose(back.samples, chunk.samples, atol=1e-7)


@pytest.mark.ros
def test_recorder_node_records_every_topic_and_closes_on_sigint(ros, tmp_path):
    rec = ros.start("gesture_ros.recorder_node", {"output_dir": str(tmp_path)})
    pub = ros.node.create_publisher(String, "speech/say", 10)
    ros.wait_for_subscribers(pub, timeout=30)
    for i in range(5):
        pub.publish(String(data=f"sentence {i}"))
        ros.spin_for(0.05)
    ros.spin_for(0.5)
    assert rec.stop() == 0, rec.log()
    said = [m.data for topic, _, m in read_messages(tmp_path / "recording.mcap") if topic == "/speech/say"]
    assert said == [f"sentence {i}" for i in range(5)]
