"""The contract decoders against hostile messages: whatever a DDS participant can put in a message
of the topic's type, a decoder returns a valid value or raises ContractError, nothing else; and the
bounds of docs/topics.md ("Bounds") hold before any work proportional to the input is done.

Random messages (hypothesis) start from a valid message and overwrite some of its fields with
values the field's type allows: extreme numbers, NaN, inf, huge indices, long or odd strings,
wrong lengths. What a message type cannot carry at all (a string in a bool field, a float32 beyond
its range) rclpy refuses when the message is formed, as DDS would.
"""

from __future__ import annotations

import math
import types

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gesture_core import contracts as c
from gesture_core import skeleton
from gesture_core.errors import ContractError

pytest.importorskip("gesture_msgs.msg")
from gesture_msgs import msg as gm  # noqa: E402
from trajectory_msgs.msg import JointTrajectory, JointTrajectoryPoint  # noqa: E402

NOW = 1_800_000_000 * c.NS_PER_S  # the receiver's clock (ns), a date in 2027

TEXTS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "tts", "file", "mic", "asr", "ted", "mono", "u-1", "bad id!", "\x00", "x" * 3000]),
)
DOUBLES = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -1.0, 1e308, -1e308, 1e-308, 15.0, 3600.0, 3600.1]),
)
FLOATS = st.floats(width=32, allow_nan=True, allow_infinity=True)
UINTS = {
    "uint8": st.integers(0, 2**8 - 1),
    "uint16": st.integers(0, 2**16 - 1),
    "uint32": st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([0, 1, 27, 16000, 2**32 - 1])),
    "uint64": st.one_of(st.integers(0, 2**64 - 1), st.sampled_from([0, 1, 16000 * 3600, 16000 * 3600 + 1])),
    "int32": st.integers(-(2**31), 2**31 - 1),
}


def value(data: st.DataObject, kind: str, depth: int = 0):
    """A random value of ROS field type ``kind`` (nested messages filled field by field)."""
    if kind == "string":
        return data.draw(TEXTS)
    if kind == "boolean":
        return data.draw(st.booleans())
    if kind == "double":
        return data.draw(DOUBLES)
    if kind == "float":
        return data.draw(FLOATS)
    if kind in UINTS:
        return data.draw(UINTS[kind])
    if kind.startswith("sequence<"):
        inner = kind[len("sequence<") : -1]
        n = data.draw(st.integers(0, 4 if "/" in inner else 60))
        return [value(data, inner, depth + 1) for _ in range(n)]
    if kind in ("builtin_interfaces/Time", "builtin_interfaces/Duration"):
        sec = data.draw(st.one_of(st.integers(-(2**31), 2**31 - 1), st.just(NOW // c.NS_PER_S)))
        return type_of(kind)(sec=sec, nanosec=data.draw(UINTS["uint32"]))
    msg = type_of(kind)()
    mutate(data, msg, depth + 1, fraction=1.0)
    return msg


def type_of(kind: str) -> type:
    pkg, name = kind.split("/")
    return getattr(__import__(f"{pkg}.msg", fromlist=[name]), name)


def mutate(data: st.DataObject, msg, depth: int = 0, fraction: float | None = None) -> None:
    """Overwrite some fields of ``msg`` (all with ``fraction`` 1) with random values of their types."""
    fields = msg.get_fields_and_field_types()
    chosen = list(fields) if fraction == 1.0 else data.draw(st.lists(st.sampled_from(list(fields)), max_size=4, unique=True))
    for name in chosen:
        try:
            setattr(msg, name, value(data, fields[name], depth))
        except (AssertionError, TypeError, ValueError):
            pass  # the type cannot carry this value: no DDS message would hold it


def valid_messages():
    """One valid message of every decoded topic, made with the encoders, and its decoder."""
    start = NOW + c.NS_PER_S
    audio = np.linspace(-0.5, 0.5, 1600, dtype=np.float32)
    words = c.WordTimings("u-1", [c.Word("hello", 0.1, 0.4), c.Word("robot", 0.5, 0.9, 0.8, stress=0.6)], True, "asr")
    from gesture_core.features import extract_features

    features = extract_features(np.tile(audio, 4), "u-1")
    poses = np.tile(skeleton.MEAN_DIR_VEC, (5, 1))
    cmd = c.JointCommand("u-1", start, ["a", "b"], np.array([0.0, 0.1]), np.zeros((2, 2)), np.zeros((2, 2)))
    return {
        "utterance": (
            lambda: c.encode_utterance(gm.UtteranceEvent(), c.UtteranceEvent("u-1", "end", start, "file", "hi", "en", False, 1600)),
            lambda m: c.decode_utterance(m, NOW),
        ),
        "audio": (lambda: c.encode_audio(gm.AudioChunk(), c.AudioChunk("u-1", start, audio, 0)), lambda m: c.decode_audio(m, NOW)),
        "words": (lambda: c.encode_words(gm.Words(), words, gm.Word), c.decode_words),
        "features": (lambda: c.encode_features(gm.AudioFeatures(), features), c.decode_features),
        "human_pose": (
            lambda: c.encode_human_pose(gm.GestureSequence(), c.GestureSequence("u-1", start, poses, 3, ((0.2, "beat"),))),
            lambda m: c.decode_human_pose(m, NOW),
        ),
        "joint_trajectory": (
            lambda: c.encode_joint_trajectory(JointTrajectory(), cmd, JointTrajectoryPoint),
            lambda m: c.decode_joint_trajectory(m, NOW),
        ),
    }


MESSAGES = valid_messages()


@pytest.mark.parametrize("topic", list(MESSAGES))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_hostile_message_decodes_to_a_valid_value_or_a_contract_error(topic, data):
    make, decode = MESSAGES[topic]
    msg = make()
    decode(msg)  # the unmodified message is valid
    mutate(data, msg)
    try:
        out = decode(msg)
    except ContractError as exc:
        assert str(exc)  # a reason
        return
    # what decodes is within the bounds
    if topic == "utterance":
        assert out.n_samples is None or out.n_samples <= c.MAX_UTTERANCE_SAMPLES
        assert len(out.text or "") <= c.MAX_TEXT_CHARS
        assert -c.MAX_BEHIND_S <= (out.start_ns - NOW) / c.NS_PER_S <= c.MAX_AHEAD_S
    elif topic == "audio":
        assert 0 < out.samples.size <= c.MAX_AUDIO_CHUNK and np.all(np.abs(out.samples) <= 1 + 1e-6)
        assert out.first_sample + out.samples.size <= c.MAX_UTTERANCE_SAMPLES
    elif topic == "words":
        assert all(0 <= w.start <= w.end <= c.MAX_UTTERANCE_S for w in out.words)
    elif topic == "features":
        assert 0 < out.frame_rate <= c.MAX_FEATURE_RATE and out.n_frames <= c.MAX_FEATURE_FRAMES
        assert all(np.all(np.abs(getattr(out, k)) <= c.MAX_UTTERANCE_S) for k in ("onsets", "beats"))
    elif topic == "human_pose":
        assert np.all(np.abs(out.poses) <= c.MAX_POSE_VALUE) and out.first_frame <= c.MAX_UTTERANCE_S * 15
    else:
        assert np.all(np.isfinite(out.positions)) and out.times[-1] <= c.MAX_UTTERANCE_S


# -- the cases of the issue, one by one ---------------------------------------------------------------


def utterance_msg(**fields) -> gm.UtteranceEvent:
    msg = c.encode_utterance(gm.UtteranceEvent(), c.UtteranceEvent("u-1", "start", NOW, "file"))
    for k, v in fields.items():
        setattr(msg, k, v)
    return msg


def test_an_end_event_announcing_more_than_an_hour_is_refused():
    msg = utterance_msg(event=gm.UtteranceEvent.END, n_samples=c.MAX_UTTERANCE_SAMPLES + 1)
    with pytest.raises(ContractError, match="announces 3600 s of audio .* limit 3600 s"):
        c.decode_utterance(msg)
    msg.n_samples = 601 * c.AUDIO_SAMPLE_RATE  # 601 s is within the contract; a node keeps its max_utterance_s
    assert c.decode_utterance(msg).n_samples == 601 * c.AUDIO_SAMPLE_RATE


def test_start_times_far_from_the_receivers_clock_are_refused():
    in_2037 = utterance_msg()
    c.ns_to_stamp(2_145_916_800 * c.NS_PER_S, in_2037.start_time)
    with pytest.raises(ContractError, match="in the future .* a wrong clock"):
        c.decode_utterance(in_2037, NOW)
    assert c.decode_utterance(in_2037).start_ns  # no clock given (a recording): not checked
    long_ago = utterance_msg()
    c.ns_to_stamp(NOW - 2 * 3600 * c.NS_PER_S, long_ago.start_time)
    with pytest.raises(ContractError, match="in the past"):
        c.decode_utterance(long_ago, NOW)
    c.ns_to_stamp(NOW + 30 * c.NS_PER_S, in_2037.start_time)
    assert c.decode_utterance(in_2037, NOW).start_ns == NOW + 30 * c.NS_PER_S
    assert c.decode_utterance(in_2037, 0).start_ns  # a clock that has not started (sim time before /clock)


def test_texts_words_and_flags_are_bounded():
    with pytest.raises(ContractError, match="utterance text has 10001 characters, limit 10000"):
        c.decode_utterance(utterance_msg(text="x" * (c.MAX_TEXT_CHARS + 1)))
    recorded = types.SimpleNamespace(**{k: getattr(utterance_msg(), k) for k in gm.UtteranceEvent.get_fields_and_field_types()})
    recorded.words_known = "no"  # a value a decoded recording or a dynamic message could hold
    with pytest.raises(ContractError, match="words_known must be a bool, got 'no'"):
        c.decode_utterance(recorded)
    many = gm.Words(utterance_id="u-1", final=True, source="asr")
    many.words = [gm.Word(text="w", start=0.0, end=0.1, confidence=1.0)] * (c.MAX_WORDS + 1)
    with pytest.raises(ContractError, match=f"words has {c.MAX_WORDS + 1} entries, limit {c.MAX_WORDS}"):
        c.decode_words(many)
    late = gm.Words(utterance_id="u-1", final=True, source="asr", words=[gm.Word(text="w", start=0.0, end=5000.0)])
    with pytest.raises(ContractError, match="after the longest utterance"):
        c.decode_words(late)


def features_msg(n: int = 3, **fields) -> gm.AudioFeatures:
    f = c.AudioFeatures("u-1", 15.0, 0.0, np.zeros((n, 2)), np.zeros(n), np.zeros(n), np.zeros(n))
    msg = c.encode_features(gm.AudioFeatures(), f)
    for k, v in fields.items():
        setattr(msg, k, v)
    return msg


def test_features_bound_their_times_and_sizes():
    with pytest.raises(ContractError, match="onsets has a time of 1e\\+308 s, beyond the longest utterance"):
        c.decode_features(features_msg(onsets=[1e308]))  # killed the generator on its words-timeout path
    with pytest.raises(ContractError, match="frame_rate must be in"):
        c.decode_features(features_msg(frame_rate=1e9))
    with pytest.raises(ContractError, match="t0 = 1e\\+20 s is outside"):
        c.decode_features(features_msg(t0=1e20))
    n = c.MAX_FEATURE_FRAMES + 1
    with pytest.raises(ContractError, match=f"features rms has {n} entries, limit {c.MAX_FEATURE_FRAMES}"):
        c.decode_features(features_msg(rms=np.zeros(n, np.float32).tolist()))
    with pytest.raises(ContractError, match="n_mels 100000 outside"):
        c.decode_features(features_msg(n_mels=100_000))


def test_audio_chunks_far_beyond_any_utterance_are_refused():
    msg = c.encode_audio(gm.AudioChunk(), c.AudioChunk("u-1", NOW, np.zeros(1, np.float32), 0))
    msg.first_sample = c.MAX_UTTERANCE_SAMPLES
    with pytest.raises(ContractError, match="beyond the longest utterance"):
        c.decode_audio(msg)
    msg.first_sample = 500 * c.AUDIO_SAMPLE_RATE  # within the contract: the assembler refuses the gap
    assert c.decode_audio(msg, NOW).first_sample == 500 * c.AUDIO_SAMPLE_RATE
    msg.channel_layout = "interleaved-be"
    with pytest.raises(ContractError, match="channel_layout is 'interleaved-be', expected 'mono'"):
        c.decode_audio(msg)


def test_pose_magnitudes_and_trajectory_sizes_are_bounded():
    poses = np.tile(skeleton.MEAN_DIR_VEC, (3, 1))
    poses[1, 4] = 1e300
    msg = c.encode_human_pose(gm.GestureSequence(), c.GestureSequence("u-1", NOW, np.zeros((3, 27))))
    msg.poses = poses.ravel().tolist()
    with pytest.raises(ContractError, match="a value of 1e\\+300; bone directions are unit vectors"):
        c.decode_human_pose(msg)
    msg.poses = [0.1] * (27 * (c.MAX_GESTURE_FRAMES + 1))
    with pytest.raises(ContractError, match="gesture poses has"):
        c.decode_human_pose(msg)
    point = JointTrajectoryPoint(positions=[0.0])
    traj = JointTrajectory(joint_names=["a"], points=[point] * (c.MAX_TRAJECTORY_POINTS + 1))
    with pytest.raises(ContractError, match=f"points has {c.MAX_TRAJECTORY_POINTS + 1} entries"):
        c.decode_joint_trajectory(traj)
    assert math.isfinite(c.MAX_AHEAD_S)
