"""Topic contracts: encode/decode round trips on the real message classes, and validation errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core import skeleton
from gesture_core.errors import ContractError

pytest.importorskip("gesture_msgs.msg")
from gesture_msgs.msg import AudioChunk, AudioFeatures, GestureSequence, UtteranceEvent, Word, Words  # noqa: E402
from std_msgs.msg import String  # noqa: E402
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint  # noqa: E402


def test_every_topic_and_action_names_an_importable_type():
    import importlib

    types = [t.msg_type for t in c.TOPICS.values()] + [a.action_type for a in c.ACTIONS.values()] + [c.WORD_MSG]
    for name in types:
        pkg, kind, cls = name.split("/")
        assert hasattr(importlib.import_module(f"{pkg}.{kind}"), cls), name


def test_utterance_event_codes_are_the_message_constants():
    assert [UtteranceEvent.START, UtteranceEvent.END, UtteranceEvent.CANCEL] == [
        c.UTTERANCE_EVENTS.index(e) for e in ("start", "end", "cancel")
    ]


def test_audio_round_trip():
    start = 7 * c.NS_PER_S
    samples = np.sin(np.linspace(0, 20, 1600)).astype(np.float32) * 0.5
    chunk = c.AudioChunk("tts-1", start + c.NS_PER_S // 10, samples, 1600)
    msg = c.encode_audio(AudioChunk(), chunk)
    assert (msg.sample_rate, msg.channel_layout, msg.first_sample) == (16000, "mono", 1600)
    back = c.decode_audio(msg)
    assert (back.utterance_id, back.stamp_ns, back.first_sample) == ("tts-1", chunk.stamp_ns, 1600)
    np.testing.assert_array_equal(back.samples, samples)


@pytest.mark.parametrize(
    "mutate, reason",
    [
        (lambda m: setattr(m, "sample_rate", 44100), "expected 16000 Hz"),
        (lambda m: setattr(m, "channel_layout", "stereo"), "mono"),
        (lambda m: setattr(m, "samples", [float("nan")] * 10), "NaN"),
        (lambda m: setattr(m, "samples", []), "1..160000"),
        (lambda m: setattr(m, "utterance_id", "bad id!"), "utterance id"),
        (lambda m: setattr(m, "samples", [3.0] * 10), "exceed"),
    ],
)
def test_audio_rejects_malformed(mutate, reason):
    msg = c.encode_audio(AudioChunk(), c.AudioChunk("u", 0, np.zeros(10), 0))
    mutate(msg)
    with pytest.raises(ContractError, match=reason):
        c.decode_audio(msg)


def test_words_round_trip_with_markup_fields_and_rejects_unordered():
    wt = c.WordTimings(
        "asr-3",
        [c.Word("안녕", 0.1, 0.4, 0.75, stress=0.2, gesture="wave"), c.Word("하세요", 0.4, 0.9, 0.5, suppress=True)],
        True,
        "asr",
    )
    msg = c.encode_words(Words(), wt, Word)
    assert math.isnan(c.encode_words(Words(), c.WordTimings("u", [c.Word("a", 0, 1)], True, "tts"), Word).words[0].stress)
    assert c.decode_words(msg) == wt
    with pytest.raises(ContractError, match="before the previous"):
        c.WordTimings("u", [c.Word("a", 1.0, 1.2), c.Word("b", 0.5, 0.6)], True, "asr")
    msg.words[1].start = float("inf")
    with pytest.raises(ContractError, match="finite"):
        c.decode_words(msg)
    msg.words[1].start, msg.source = 0.4, "guess"
    with pytest.raises(ContractError, match="source"):
        c.decode_words(msg)


def test_word_stress_gesture_and_suppress_are_validated():
    with pytest.raises(ContractError, match=r"words\[0\].stress 0.6 outside the word"):
        c.WordTimings("u", [c.Word("a", 0.1, 0.5, stress=0.6)], True, "tts")
    with pytest.raises(ContractError, match="not a gesture name"):
        c.Word("a", 0.1, 0.5, gesture="wave hand")
    with pytest.raises(ContractError, match="suppress must be a bool"):
        c.Word("a", 0.1, 0.5, suppress="yes")  # type: ignore[arg-type]
    with pytest.raises(ContractError, match="stress must be a finite number"):
        c.Word("a", 0.1, 0.5, stress=float("nan"))
    msg = c.encode_words(Words(), c.WordTimings("u", [c.Word("a", 0.1, 0.5, gesture="wave")], True, "tts"), Word)
    msg.words[0].gesture = "wave hand"
    with pytest.raises(ContractError, match="not a gesture name"):
        c.decode_words(msg)


def test_gesture_sequence_strokes_are_validated():
    poses = np.tile(skeleton.MEAN_DIR_VEC, (4, 1))
    seq = c.GestureSequence("g-1", 0, poses, strokes=[[0.2, "beat"], (0.5, "wave")])
    assert seq.strokes == ((0.2, "beat"), (0.5, "wave"))
    for strokes, reason in (
        ([(0.5, "beat"), (0.2, "beat")], "before the previous"),
        ([(-0.1, "beat")], "outside"),
        ([(0.1, "")], "label"),
        ([(float("inf"), "beat")], "finite"),
        ([(0.1,)], "pair"),
    ):
        with pytest.raises(ContractError, match=reason):
            c.GestureSequence("g-1", 0, poses, strokes=strokes)


def test_utterance_round_trip_and_validation():
    for ev in (
        c.UtteranceEvent("tts-2", "end", 123, "tts", text="hello", language="en", words_known=True, n_samples=16000),
        c.UtteranceEvent("tts-2", "start", 123, "tts", text="hello", language="en", words_known=True),
        c.UtteranceEvent("file-1", "cancel", 5, "file"),
    ):
        assert c.decode_utterance(c.encode_utterance(UtteranceEvent(), ev)) == ev
    with pytest.raises(ContractError, match="n_samples"):
        c.UtteranceEvent("tts-2", "end", 123, "tts")
    msg = c.encode_utterance(UtteranceEvent(), c.UtteranceEvent("u", "start", 0, "mic"))
    msg.event = 7
    with pytest.raises(ContractError, match="event code"):
        c.decode_utterance(msg)
    msg.event, msg.sample_rate = 0, 8000
    with pytest.raises(ContractError, match="sample_rate"):
        c.decode_utterance(msg)


def test_play_file_path_is_stripped_and_validated():
    assert c.decode_play_file(String(data="  /tmp/a b.wav\n")) == "/tmp/a b.wav"
    with pytest.raises(ContractError, match="empty"):
        c.decode_play_file(String(data="   "))
    with pytest.raises(ContractError, match="NUL"):
        c.decode_play_file(String(data="/tmp/a\0.wav"))


def test_say_goal_is_validated():
    from gesture_msgs.action import Say

    assert c.decode_say_goal(Say.Goal(text=" hi ", voice="", rate=0)) == c.SayRequest("hi")
    assert c.decode_say_goal(Say.Goal(text="hi", voice="ko", rate=200)) == c.SayRequest("hi", "ko", 200)
    with pytest.raises(ContractError, match="empty"):
        c.decode_say_goal(Say.Goal(text="  "))


def test_features_round_trip_and_shape_check():
    n = 12
    f = c.AudioFeatures(
        "f-1", 15.0, 1 / 30, np.random.default_rng(0).normal(size=(n, 8)), np.ones(n), np.ones(n), np.zeros(n),
        onsets=[0.2, 0.5], beats=[0.5],
    )  # fmt: skip
    back = c.decode_features(c.encode_features(AudioFeatures(), f))
    np.testing.assert_array_equal(back.log_mel, f.log_mel)
    np.testing.assert_allclose(back.onsets, [0.2, 0.5])
    np.testing.assert_allclose(back.frame_times()[:2], [1 / 30, 1 / 30 + 1 / 15])
    with pytest.raises(ContractError, match="rms has shape"):
        c.AudioFeatures("f-1", 15.0, 0.0, np.zeros((n, 8)), np.ones(n), np.ones(n - 1), np.zeros(n))
    msg = c.encode_features(AudioFeatures(), f)
    msg.n_mels = 7
    with pytest.raises(ContractError, match="n_mels"):
        c.decode_features(msg)


def test_human_pose_round_trip_keeps_frame_offset_and_strokes():
    poses = np.tile(skeleton.MEAN_DIR_VEC, (4, 1))
    seq = c.GestureSequence("g-1", 3 * c.NS_PER_S, poses, first_frame=30, strokes=((2.1, "beat"), (2.5, "wave")))
    msg = c.encode_human_pose(GestureSequence(), seq)
    assert (msg.skeleton, msg.values_per_frame, msg.frame_rate) == ("ted", 27, 15.0)
    back = c.decode_human_pose(msg)
    assert back.first_frame == 30 and back.start_ns == seq.start_ns and back.strokes == seq.strokes
    np.testing.assert_allclose(back.poses, poses)


def test_human_pose_rejects_wrong_layout():
    seq = c.GestureSequence("g-1", 0, np.tile(skeleton.MEAN_DIR_VEC, (3, 1)))
    for field, value, reason in [
        ("poses", list(range(26)), "multiple of 27"),
        ("skeleton", "smplx", "skeleton"),
        ("frame_rate", 30.0, "frame_rate"),
        ("stroke_labels", ["beat"], "stroke_labels"),
        ("poses", [float("nan")] * 27, "NaN"),
    ]:
        msg = c.encode_human_pose(GestureSequence(), seq)
        setattr(msg, field, value)
        with pytest.raises(ContractError, match=reason):
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
