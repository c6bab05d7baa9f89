"""Topic contracts: encode/decode round trips on the real message classes, and validation errors."""

from __future__ import annotations

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core import skeleton
from gesture_core.errors import ContractError

msgs = pytest.importorskip("sensor_msgs.msg")
from sensor_msgs.msg import Image  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint  # noqa: E402


def test_every_topic_names_an_importable_message_type():
    import importlib

    for topic in c.TOPICS.values():
        pkg, kind, name = topic.msg_type.split("/")
        assert hasattr(importlib.import_module(f"{pkg}.{kind}"), name), topic


def test_audio_round_trip_and_offset():
    start = 7 * c.NS_PER_S
    samples = np.sin(np.linspace(0, 20, 1600)).astype(np.float32) * 0.5
    chunk = c.AudioChunk("tts-1", start + c.NS_PER_S // 10, samples)
    back = c.decode_audio(c.encode_audio(Image(), chunk))
    assert back.utterance_id == "tts-1"
    np.testing.assert_array_equal(back.samples, samples)
    assert back.offset_samples(start) == 1600


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda m: setattr(m, "encoding", "16SC1"), "encoding"),
        (lambda m: setattr(m, "data", bytes(m.data)[:-4]), "inconsistent"),
        (lambda m: setattr(m, "data", np.full(m.width, np.nan, "<f4").tobytes()), "NaN"),
        (lambda m: setattr(m.header, "frame_id", "bad id!"), "utterance id"),
        (lambda m: setattr(m, "data", np.full(m.width, 3.0, "<f4").tobytes()), "exceed"),
    ],
)
def test_audio_rejects_malformed(mutate, reason):
    msg = c.encode_audio(Image(), c.AudioChunk("u", 0, np.zeros(10)))
    mutate(msg)
    with pytest.raises(ContractError, match=reason):
        c.decode_audio(msg)


def test_words_round_trip_and_rejects_unordered():
    wt = c.WordTimings("asr-3", [c.Word("안녕", 0.1, 0.4, 0.9), c.Word("하세요", 0.4, 0.9, 0.8)], True, "asr")
    assert c.decode_words(c.encode_words(String(), wt)) == wt
    with pytest.raises(ContractError, match="before the previous"):
        c.WordTimings("u", [c.Word("a", 1.0, 1.2), c.Word("b", 0.5, 0.6)], True, "asr")
    with pytest.raises(ContractError, match="JSON"):
        c.decode_words(String(data="{not json"))
    with pytest.raises(ContractError, match="schema"):
        c.decode_words(String(data='{"schema": "other"}'))


def test_word_stress_gesture_and_suppress_round_trip_and_validation():
    words = [
        c.Word("Hello", 0.0, 0.44, 1.0, stress=0.22, gesture="wave"),
        c.Word("there", 0.5, 0.9),
        c.Word("quietly", 0.9, 1.4, stress=1.0, suppress=True),
    ]
    wt = c.WordTimings("tts-1", words, True, "tts")
    msg = c.encode_words(String(), wt)
    assert c.decode_words(msg) == wt
    assert '"stress"' in msg.data and '"gesture": "wave"' in msg.data and '"suppress": true' in msg.data
    assert msg.data.count("stress") == 2  # absent where unknown: old payloads stay valid
    with pytest.raises(ContractError, match=r"words\[0\].stress 0.6 outside the word"):
        c.WordTimings("u", [c.Word("a", 0.1, 0.5, stress=0.6)], True, "tts")
    with pytest.raises(ContractError, match="not a gesture name"):
        c.Word("a", 0.1, 0.5, gesture="wave hand")
    with pytest.raises(ContractError, match="suppress must be a bool"):
        c.Word("a", 0.1, 0.5, suppress="yes")  # type: ignore[arg-type]
    with pytest.raises(ContractError, match="stress must be a finite number"):
        c.Word("a", 0.1, 0.5, stress=float("nan"))
    bad = msg.data.replace('"suppress": true', '"suppress": "true"')
    with pytest.raises(ContractError, match="suppress a bool"):
        c.decode_words(String(data=bad))


def test_gesture_sequence_strokes_are_validated():
    poses = np.tile(skeleton.MEAN_DIR_VEC, (4, 1))
    seq = c.GestureSequence("g-1", 0, poses, strokes=[[0.2, "beat"], (0.5, "wave")])
    assert seq.strokes == ((0.2, "beat"), (0.5, "wave"))
    for strokes, reason in (
        ([(0.5, "beat"), (0.2, "beat")], "before the previous"),
        ([(-0.1, "beat")], "negative"),
        ([(0.1, "")], "label"),
        ([(float("inf"), "beat")], "finite"),
        ([(0.1,)], "pair"),
    ):
        with pytest.raises(ContractError, match=reason):
            c.GestureSequence("g-1", 0, poses, strokes=strokes)


def test_utterance_round_trip():
    ev = c.UtteranceEvent("tts-2", "end", 123, "tts", text="hello", language="en", words_known=True, n_samples=16000)
    assert c.decode_utterance(c.encode_utterance(String(), ev)) == ev
    with pytest.raises(ContractError, match="n_samples"):
        c.UtteranceEvent("tts-2", "end", 123, "tts")


def test_play_file_path_is_stripped_and_validated():
    assert c.decode_play_file(String(data="  /tmp/a b.wav\n")) == "/tmp/a b.wav"
    with pytest.raises(ContractError, match="empty"):
        c.decode_play_file(String(data="   "))
    with pytest.raises(ContractError, match="NUL"):
        c.decode_play_file(String(data="/tmp/a\0.wav"))


def test_features_round_trip_and_shape_check():
    n = 12
    f = c.AudioFeatures(
        "f-1", 15.0, 1 / 30, np.random.default_rng(0).normal(size=(n, 8)), np.ones(n), np.ones(n), np.zeros(n),
        onsets=[0.2, 0.5], beats=[0.5],
    )
    back = c.decode_features(c.encode_features(String(), f))
    np.testing.assert_allclose(back.log_mel, f.log_mel, atol=1e-3)
    np.testing.assert_allclose(back.frame_times()[:2], [1 / 30, 1 / 30 + 1 / 15])
    with pytest.raises(ContractError, match="rms has shape"):
        c.AudioFeatures("f-1", 15.0, 0.0, np.zeros((n, 8)), np.ones(n), np.ones(n - 1), np.zeros(n))


def test_human_pose_round_trip_keeps_frame_offset():
    poses = np.tile(skeleton.MEAN_DIR_VEC, (4, 1))
    seq = c.GestureSequence("g-1", 3 * c.NS_PER_S, poses, first_frame=30)
    back = c.decode_human_pose(c.encode_human_pose(JointTrajectory(), seq, JointTrajectoryPoint))
    assert back.first_frame == 30 and back.start_ns == seq.start_ns
    np.testing.assert_allclose(back.poses, poses)


def test_human_pose_rejects_wrong_layout():
    seq = c.GestureSequence("g-1", 0, np.tile(skeleton.MEAN_DIR_VEC, (3, 1)))
    msg = c.encode_human_pose(JointTrajectory(), seq, JointTrajectoryPoint)
    msg.points[1].positions = msg.points[1].positions[:26]
    with pytest.raises(ContractError, match="26 positions"):
        c.decode_human_pose(msg)
    msg = c.encode_human_pose(JointTrajectory(), seq, JointTrajectoryPoint)
    msg.points[2].time_from_start.nanosec += 10_000_000
    with pytest.raises(ContractError, match="grid"):
        c.decode_human_pose(msg)
    msg = c.encode_human_pose(JointTrajectory(), seq, JointTrajectoryPoint)
    msg.joint_names = msg.joint_names[::-1]
    with pytest.raises(ContractError, match="joint_names"):
        c.decode_human_pose(msg)


def test_joint_trajectory_round_trip_and_nan():
    cmd = c.JointCommand("u", 10, ["a", "b"], [0.0, 0.1], [[0.1, 0.2], [0.3, 0.4]], [[0, 0], [1, 1]])
    back = c.decode_joint_trajectory(c.encode_joint_trajectory(JointTrajectory(), cmd, JointTrajectoryPoint))
    np.testing.assert_allclose(back.positions, cmd.positions)
    np.testing.assert_allclose(back.velocities, cmd.velocities)
    with pytest.raises(ContractError, match="NaN"):
        c.JointCommand("u", 10, ["a"], [0.0], [[np.nan]])
    with pytest.raises(ContractError, match="increasing"):
        c.JointCommand("u", 10, ["a"], [0.1, 0.1], [[0.0], [0.0]])
