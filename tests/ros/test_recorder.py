"""The MCAP recorder: schemas built from the installed .msg files, and the recorder node over DDS."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core import skeleton
from gesture_core.errors import GestureError
from gesture_core.recording import McapRecorder, MessageDefinitions, read_messages

pytest.importorskip("rclpy")
from rclpy.serialization import serialize_message  # noqa: E402
from gesture_msgs import msg as gm  # noqa: E402
from std_msgs.msg import String  # noqa: E402

SHARE = [Path(sys.prefix) / "share"]


def test_schema_includes_nested_definitions_once():
    schema = MessageDefinitions(SHARE).schema("trajectory_msgs/msg/JointTrajectory")
    assert schema.count("MSG: std_msgs/Header") == 1
    assert schema.count("MSG: builtin_interfaces/Duration") == 1
    assert "MSG: trajectory_msgs/JointTrajectoryPoint" in schema
    with pytest.raises(GestureError, match="no definition"):
        MessageDefinitions(SHARE).schema("nope_msgs/msg/Nothing")


def test_recording_round_trip_of_every_project_message(tmp_path):
    """Each gesture_msgs topic is written with its schema (nested Word, Time included) and its
    recorded messages decode with the contract decoders, as gesture-bringup's outputs read them."""
    n = 5
    sent = {
        c.UTTERANCE: c.UtteranceEvent("u-1", "end", 5 * c.NS_PER_S, "tts", "hi", "en", True, 160),
        c.AUDIO: c.AudioChunk("u-1", 5 * c.NS_PER_S, np.linspace(-0.5, 0.5, 160, dtype=np.float32), 0),
        c.WORDS: c.WordTimings("u-1", [c.Word("hi", 0.0, 0.01, stress=0.005, gesture="wave")], True, "tts"),
        c.FEATURES: c.AudioFeatures("u-1", 15.0, 0.0, np.ones((n, 4)), np.ones(n), np.ones(n), np.zeros(n), [0.1]),
        c.HUMAN_POSE: c.GestureSequence("u-1", 5 * c.NS_PER_S, np.tile(skeleton.MEAN_DIR_VEC, (3, 1)), 0, ((0.1, "beat"),)),
    }  # fmt: skip
    encode = {
        c.UTTERANCE: lambda v: c.encode_utterance(gm.UtteranceEvent(), v),
        c.AUDIO: lambda v: c.encode_audio(gm.AudioChunk(), v),
        c.WORDS: lambda v: c.encode_words(gm.Words(), v, gm.Word),
        c.FEATURES: lambda v: c.encode_features(gm.AudioFeatures(), v),
        c.HUMAN_POSE: lambda v: c.encode_human_pose(gm.GestureSequence(), v),
    }
    decode = {c.UTTERANCE: c.decode_utterance, c.AUDIO: c.decode_audio, c.WORDS: c.decode_words,
              c.FEATURES: c.decode_features, c.HUMAN_POSE: c.decode_human_pose}  # fmt: skip
    with McapRecorder(tmp_path / "r.mcap", MessageDefinitions(SHARE)) as rec:
        for k, (topic, value) in enumerate(sent.items()):
            rec.add_topic("/" + topic.name, topic.msg_type)
            rec.write("/" + topic.name, serialize_message(encode[topic](value)), 10 + k)
    got = {name: msg for name, _, msg in read_messages(tmp_path / "r.mcap")}
    assert set(got) == {"/" + t.name for t in sent}
    for topic, value in sent.items():
        back = decode[topic](got["/" + topic.name])
        if topic is c.AUDIO:
            np.testing.assert_array_equal(back.samples, value.samples)
        elif topic is c.FEATURES:
            np.testing.assert_array_equal(back.log_mel, value.log_mel)
        elif topic is c.HUMAN_POSE:
            np.testing.assert_array_equal(back.poses, value.poses)
            assert back.strokes == value.strokes
        else:
            assert back == value


KILLED_WRITER = """
import os, signal, sys
from pathlib import Path
from rclpy.serialization import serialize_message
from std_msgs.msg import String
from gesture_core.recording import McapRecorder, MessageDefinitions

rec = McapRecorder(Path(sys.argv[1]), MessageDefinitions([Path(sys.prefix) / "share"]), chunk_size=1 << 30)
rec.add_topic("/speech/say", "std_msgs/msg/String")
for i in range(int(sys.argv[2])):
    rec.write("/speech/say", serialize_message(String(data=f"flushed {i}")), i)
rec.flush()
for i in range(5):
    rec.write("/speech/say", serialize_message(String(data=f"in the open chunk {i}")), 1000 + i)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_writer_leaves_a_recording_readable_up_to_its_last_flush(tmp_path, caplog):
    """SIGKILL after a flush: no summary, no footer, an unfinished chunk; read_messages recovers
    every flushed message (as a stream, logged) and nothing else."""
    import subprocess

    path = tmp_path / "killed.mcap"
    proc = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path), "300"], capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    got = [(topic, t, m.data) for topic, t, m in read_messages(path)]
    assert got == [("/speech/say", i, f"flushed {i}") for i in range(300)]
    assert "has no complete summary" in caplog.text


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


@pytest.mark.ros
def test_a_killed_recorder_keeps_the_utterance_start_published_before_it_subscribed(ros, tmp_path):
    """The start event and the robot description are published (by durable publishers, as the
    speech source's and robot_state_publisher's) before the recorder exists; the recorder gets them
    anyway, and after a SIGKILL its file still holds them."""
    import signal

    from gesture_ros.ros_io import publisher_qos

    events = ros.node.create_publisher(gm.UtteranceEvent, c.UTTERANCE.name, publisher_qos(c.UTTERANCE))
    start = c.UtteranceEvent("u-before", "start", 7 * c.NS_PER_S, "tts", "hello")
    events.publish(c.encode_utterance(gm.UtteranceEvent(), start))
    topic = c.ROBOT_DESCRIPTION
    description = ros.node.create_publisher(String, topic.name, publisher_qos(topic))
    description.publish(String(data="<robot name='r'/>"))
    rec = ros.start("gesture_ros.recorder_node", {"output_dir": str(tmp_path)})
    ros.spin_until(lambda: "recording /robot_description" in rec.log(), 30.0, "the recorder's subscriptions")
    ros.wait_for_subscribers(events, timeout=30)
    ros.wait_for_subscribers(description, timeout=30)
    ros.spin_for(2.5)  # two flushes
    rec.proc.send_signal(signal.SIGKILL)
    rec.proc.wait()
    got = [c.decode_utterance(m) for topic, _, m in read_messages(tmp_path / "recording.mcap") if topic == "/speech/utterance"]
    assert got == [start]
    recorded = read_messages(tmp_path / "recording.mcap")
    urdf = [m.data for name, _, m in recorded if name == "/robot_description"]
    assert urdf == ["<robot name='r'/>"]


def test_outputs_skip_an_absurd_start_time_and_stream_the_frames(tmp_path, caplog):
    """A start event with start_ns=0 (recorded at t=10^4 s) is skipped with a warning instead of
    stretching the outputs over 10^4 s (56 years on a real clock); the video covers the real
    utterance with one frame per video frame, streamed from the recording."""
    from imageio_ffmpeg import count_frames_and_secs
    from sensor_msgs.msg import Image

    from gesture_core.outputs import load_timeline, outputs_from_recording

    t0 = 10_000 * c.NS_PER_S
    with McapRecorder(tmp_path / "r.mcap", MessageDefinitions(SHARE)) as rec:
        for topic in (c.UTTERANCE, c.AUDIO, c.SIM_IMAGE):
            rec.add_topic("/" + topic.name, topic.msg_type)
        for ev in (c.UtteranceEvent("absurd", "start", 0, "tts"), c.UtteranceEvent("real", "start", t0, "tts")):
            rec.write("/speech/utterance", serialize_message(c.encode_utterance(gm.UtteranceEvent(), ev)), t0)
        audio = (0.1 * np.sin(np.arange(c.AUDIO_SAMPLE_RATE) / 10)).astype(np.float32)
        chunk = c.AudioChunk("real", t0, audio, 0)
        rec.write("/speech/audio", serialize_message(c.encode_audio(gm.AudioChunk(), chunk)), t0)
        for k in range(10):  # 5 fps over 2 s
            img = Image(height=48, width=64, encoding="rgb8", step=3 * 64, data=bytes([20 * k]) * (48 * 64 * 3))
            img.header.stamp.sec, img.header.stamp.nanosec = divmod(t0 + k * c.NS_PER_S // 5, c.NS_PER_S)
            rec.write("/sim/image", serialize_message(img), t0 + k * c.NS_PER_S // 5)
    tl = load_timeline(tmp_path / "r.mcap")
    assert list(tl.utterances) == ["real"] and "skipping utterance absurd" in caplog.text
    assert len(tl.frame_stamps) == 10  # stamps only: the images stay in the file
    out = outputs_from_recording(tmp_path / "r.mcap", tmp_path, fps=10.0)
    frames, secs = count_frames_and_secs(str(out["video"]))
    assert frames == 14 and out["timeline"].stat().st_size > 0  # 1 s of speech + 0.4 s tail at 10 fps


def test_the_contact_sheet_shows_each_lexicon_gesture_at_its_stroke(tmp_path):
    """The contact sheet picks the latest rendered frame at the speech start, at each planned lexicon
    gesture stroke (captioned with its name and word; beats are left out) and at the end."""
    from sensor_msgs.msg import Image

    from gesture_core.outputs import load_timeline, sheet_frames, sheet_moments, write_contact_sheet

    t0 = 10_000 * c.NS_PER_S
    with McapRecorder(tmp_path / "r.mcap", MessageDefinitions(SHARE)) as rec:
        for topic in (c.UTTERANCE, c.AUDIO, c.WORDS, c.HUMAN_POSE, c.SIM_IMAGE):
            rec.add_topic("/" + topic.name, topic.msg_type)
        ev = c.UtteranceEvent("u1", "start", t0, "tts")
        rec.write("/speech/utterance", serialize_message(c.encode_utterance(gm.UtteranceEvent(), ev)), t0)
        chunk = c.AudioChunk("u1", t0, np.zeros(2 * c.AUDIO_SAMPLE_RATE, np.float32), 0)
        rec.write("/speech/audio", serialize_message(c.encode_audio(gm.AudioChunk(), chunk)), t0)
        words = c.WordTimings("u1", [c.Word("hello", 0.3, 0.7), c.Word("you", 1.4, 1.6)], True, "tts")
        rec.write("/speech/words", serialize_message(c.encode_words(gm.Words(), words, gm.Word)), t0)
        poses = np.tile(skeleton.MEAN_DIR_VEC, (30, 1))
        seq = c.GestureSequence("u1", t0, poses, strokes=((0.5, "wave"), (1.0, "beat"), (1.5, "listener")))
        rec.write("/gesture/human_pose", serialize_message(c.encode_human_pose(gm.GestureSequence(), seq)), t0)
        for k in range(25):  # 10 fps over 2.4 s, frame k filled with the value k
            img = Image(height=48, width=64, encoding="rgb8", step=3 * 64, data=bytes([k]) * (48 * 64 * 3))
            img.header.stamp.sec, img.header.stamp.nanosec = divmod(t0 + k * c.NS_PER_S // 10, c.NS_PER_S)
            rec.write("/sim/image", serialize_message(img), t0 + k * c.NS_PER_S // 10)
    tl = load_timeline(tmp_path / "r.mcap")
    moments = sheet_moments(tl)
    assert [caption for _, caption in moments] == [
        "0.00 s: speech starts", '0.50 s: wave on "hello"', '1.50 s: listener on "you"', "2.40 s: end"
    ]  # fmt: skip
    assert [int(img[0, 0, 0]) for _, img in sheet_frames(tl, moments)] == [0, 5, 15, 24]
    assert write_contact_sheet(tl, tmp_path / "sheet.png") == 4 and (tmp_path / "sheet.png").stat().st_size > 5000


def test_the_audio_track_is_written_chunk_by_chunk_with_every_chunk_at_its_time(tmp_path):
    """The outputs' audio track (streamed to a WAV, never whole in memory) holds every chunk of the
    recording at its stamp, overlapping utterances summed, whatever the recording order; the
    picture's waveform is its min/max per stretch."""
    import soundfile as sf

    from gesture_core.outputs import audio_envelope, load_timeline, write_audio_track

    rate, t0, rng = c.AUDIO_SAMPLE_RATE, 10_000 * c.NS_PER_S, np.random.default_rng(0)
    expected = np.zeros(2 * rate, dtype=np.float32)
    # (utterance, stamp, first sample): recorded out of time order; b overlaps a
    chunks = [("a", t0 + c.NS_PER_S // 10, 1600), ("a", t0, 0), ("b", t0 + c.NS_PER_S // 20, 0)]
    with McapRecorder(tmp_path / "r.mcap", MessageDefinitions(SHARE)) as rec:
        for topic in (c.UTTERANCE, c.AUDIO):
            rec.add_topic("/" + topic.name, topic.msg_type)
        for uid, start in (("a", t0), ("b", t0 + c.NS_PER_S // 20)):
            ev = c.UtteranceEvent(uid, "start", start, "tts")
            rec.write("/speech/utterance", serialize_message(c.encode_utterance(gm.UtteranceEvent(), ev)), t0)
        for uid, stamp, index in chunks:
            samples = rng.uniform(-0.6, 0.6, 1600).astype(np.float32)  # two overlapping may clip
            chunk = c.AudioChunk(uid, stamp, samples, index)
            rec.write("/speech/audio", serialize_message(c.encode_audio(gm.AudioChunk(), chunk)), t0)
            i = round((stamp - t0) * rate / c.NS_PER_S)
            expected[i : i + samples.size] += samples
    expected = np.clip(expected, -1.0, 1.0)
    tl = load_timeline(tmp_path / "r.mcap")
    tenth, twentieth = c.NS_PER_S // 10, c.NS_PER_S // 20
    assert tl.audio == {"a": [(t0 + tenth, 1600), (t0, 1600)], "b": [(t0 + twentieth, 1600)]}
    assert write_audio_track(tl, tmp_path / "track.wav", t0, 2.0) == 2 * rate
    track, got_rate = sf.read(tmp_path / "track.wav", dtype="float32")
    assert got_rate == rate and track.shape == (2 * rate,)
    np.testing.assert_allclose(track, expected, atol=1e-6)
    times, low, high = audio_envelope(tmp_path / "track.wav", points=100)
    stretches = expected.reshape(100, -1)
    np.testing.assert_allclose(times, np.arange(100) * 0.02)
    np.testing.assert_allclose(low, stretches.min(axis=1), atol=1e-6)
    np.testing.assert_allclose(high, stretches.max(axis=1), atol=1e-6)
