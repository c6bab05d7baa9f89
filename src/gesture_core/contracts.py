"""Every topic contract of the project: names, message types, layouts, units, timing fields.

This module is the single place where the project's topics (and the ``say`` action) are defined;
``docs/topics.md`` is its prose twin and ``ros2_ws/src/gesture_msgs`` holds the project's message
definitions. Nodes encode and decode messages only through the functions here, and every decoder
validates what it receives, raising :class:`~gesture_core.errors.ContractError` with a reason (the
node logs it, drops the message and stays alive).

The core library never imports ROS: encoders fill a message *instance* that the node passes in
(``encode_audio(AudioChunk(), chunk)``) and decoders read the fields of the message they are given
(an rclpy message, or the same fields decoded from a recording).

Timing, the same on every topic
-------------------------------
Every utterance has an **utterance id** (:func:`validate_utterance_id`) and a **start time**:
the ROS time, in integer nanoseconds, at which its audio starts playing. The project's messages
carry both (``utterance_id``, ``start_time``); standard messages that have no field for the id
(the robot's ``JointTrajectory``) carry it in ``header.frame_id``:

==============================  ====================================================  =================
topic                           message type                                          time fields
==============================  ====================================================  =================
``speech/say``                  ``std_msgs/msg/String`` (plain UTF-8 text)            --
``speech/play_file``            ``std_msgs/msg/String`` (path of a WAV/FLAC file)     --
``speech/utterance``            ``gesture_msgs/msg/UtteranceEvent``                   start_time
``speech/audio``                ``gesture_msgs/msg/AudioChunk``                       stamp (first sample)
``speech/words``                ``gesture_msgs/msg/Words``                            s from the start
``speech/features``             ``gesture_msgs/msg/AudioFeatures``                    s from the start
``gesture/human_pose``          ``gesture_msgs/msg/GestureSequence``                  start_time
``joint_trajectory``            ``trajectory_msgs/msg/JointTrajectory`` (robot joints) first point
``joint_states``                ``sensor_msgs/msg/JointState``                        sample time
``/clock``                      ``rosgraph_msgs/msg/Clock``                           --
``sim/image``                   ``sensor_msgs/msg/Image`` (``rgb8`` frames)            sim time of frame
==============================  ====================================================  =================

Times inside messages (word times, feature frames, gesture frames, ``time_from_start``) are
seconds relative to the utterance start (``joint_trajectory``: to its ``header.stamp``). Units are
SI (seconds, radians, metres, Hz); audio is mono float32 in [-1, 1] at 16 kHz.
"""

from __future__ import annotations

import array
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import skeleton
from .errors import ContractError

# --------------------------------------------------------------------------------------------
# Constants shared by every node
# --------------------------------------------------------------------------------------------

#: Sample rate of every audio stream on the ROS graph (Hz). Sources resample to it.
AUDIO_SAMPLE_RATE = 16_000
#: Gesture frame rate (Hz).
GESTURE_FPS = skeleton.FPS
#: ``channel_layout`` of the audio chunks: one channel.
AUDIO_LAYOUT = "mono"
#: ``skeleton`` of the human gesture sequences: the TED format of :mod:`gesture_core.skeleton`.
SKELETON = "ted"

NS_PER_S = 1_000_000_000
#: ``header.frame_id`` of the ``joint_trajectory`` commands that return the robot to rest.
REST_ID = "rest"
#: Most points a ``joint_trajectory`` may have: 1000 s at 100 Hz, longer than the longest
#: utterance. Larger ones are refused before they are decoded.
MAX_TRAJECTORY_POINTS = 100_000
#: Liveliness lease (s) that the graph's publishers of the topics with ``lease_s`` offer: a
#: consumer learns within about this time that such a publisher's process died or froze. 0.25 s
#: expired now and then under load on 2 shared cores (13 false alarms in a 7-minute soak).
LIVELINESS_LEASE_S = 0.5
#: A node whose publishers offer the lease and whose callback has run this long (s) is taken for
#: stuck and ends its process (``gesture_ros.ros_io.GestureNode``): its consumers learn of it within
#: STALL_S + LIVELINESS_LEASE_S. Well above any callback's real work: the longest measured was
#: 1.21 s (the retargeter planning a 65-frame gesture, three graphs on 2 loaded cores; its pieces
#: have up to 150 frames); a limit of the lease itself made each such plan a false alarm.
STALL_S = 5.0

# Bounds of every input, checked by the decoders before any work proportional to the input: a
# message beyond them is refused with a reason (docs/topics.md, "Bounds").

#: Longest utterance any message may describe (s); nodes keep at most their ``max_utterance_s``.
MAX_UTTERANCE_S = 3600.0
#: Samples of the longest utterance.
MAX_UTTERANCE_SAMPLES = int(MAX_UTTERANCE_S * AUDIO_SAMPLE_RATE)
#: A ROS time in a message (utterance start, chunk stamp, trajectory stamp) may lie at most this far
#: ahead of the receiver's clock (s) ...
MAX_AHEAD_S = 600.0
#: ... and at most this far behind it (s): the start of the longest utterance, a minute ago.
MAX_BEHIND_S = MAX_UTTERANCE_S + 60.0


@dataclass(frozen=True)
class Topic:
    """One topic contract: relative name, message type (``pkg/msg/Name``), depth and meaning.

    QoS (``gesture_ros.ros_io.publisher_qos``): reliable, history depth ``depth``; publishers of a
    ``durable`` topic keep their last ``depth`` messages for subscribers that join later
    (transient local; subscribers that ask for volatile get them live only, as on every other
    topic); publishers of a topic with ``lease_s`` assert their liveliness with that lease, so
    that consumers notice a dead publisher (``gesture_ros.ros_io.watch_publishers``).
    Subscribers ask for reliable and volatile, which every publisher satisfies.
    """

    name: str
    msg_type: str
    description: str
    depth: int = 10
    durable: bool = False
    lease_s: float | None = None


@dataclass(frozen=True)
class Action:
    """One action contract: relative name, action type (``pkg/action/Name``) and meaning."""

    name: str
    action_type: str
    description: str


SAY = Topic("speech/say", "std_msgs/msg/String", "Text for the robot to speak (plain UTF-8).")
PLAY_FILE = Topic(
    "speech/play_file",
    "std_msgs/msg/String",
    "Path of an audio file (WAV/FLAC) for the speech source in file mode to publish as one utterance.",
)
UTTERANCE = Topic(
    "speech/utterance",
    "gesture_msgs/msg/UtteranceEvent",
    "Utterance start/end/cancel events: id, start time, source, text, length.",
    depth=50,
    durable=True,
    lease_s=LIVELINESS_LEASE_S,
)
AUDIO = Topic(
    "speech/audio",
    "gesture_msgs/msg/AudioChunk",
    "Audio chunks of an utterance: float32 mono samples at 16 kHz, index of the first sample, "
    "stamp = play time of the first sample.",
    depth=500,  # sources keep at most half of it published ahead of play (speech.schedule.Pacing)
)
WORDS = Topic(
    "speech/words",
    "gesture_msgs/msg/Words",
    "Timed words of an utterance, partial and final, from TTS or ASR.",
    depth=50,
    lease_s=LIVELINESS_LEASE_S,
)
FEATURES = Topic(
    "speech/features",
    "gesture_msgs/msg/AudioFeatures",
    "Frame-wise audio features per utterance or streaming window.",
    depth=50,
    lease_s=LIVELINESS_LEASE_S,
)
HUMAN_POSE = Topic(
    "gesture/human_pose",
    "gesture_msgs/msg/GestureSequence",
    "Human gesture poses, TED skeleton: 27 values per frame (9 unit bone directions), 15 fps, "
    "and the planned strokes.",
    depth=20,
    lease_s=LIVELINESS_LEASE_S,
)
JOINT_TRAJECTORY = Topic(
    "joint_trajectory",
    "trajectory_msgs/msg/JointTrajectory",
    "Robot joint trajectory (ros2_control joint_trajectory_controller topic interface); "
    "frame_id = utterance id, stamp = time of time_from_start 0.",
    depth=10,
    lease_s=LIVELINESS_LEASE_S,
)
JOINT_STATES = Topic("joint_states", "sensor_msgs/msg/JointState", "Measured robot joint states.")
CLOCK = Topic("/clock", "rosgraph_msgs/msg/Clock", "Simulation time.", depth=1)
SIM_IMAGE = Topic(
    "sim/image",
    "sensor_msgs/msg/Image",
    "Rendered frames of the simulated robot from the front (listener's) camera: rgb8, "
    "frame_id = camera name, stamp = sim time of the frame (as on /clock).",
    depth=2,
)
ROBOT_DESCRIPTION = Topic(
    "robot_description",
    "std_msgs/msg/String",
    "The robot's URDF (XML text), published once with transient-local durability: late joiners "
    "(RViz, Foxglove, Gazebo's spawner, the controller manager, the recorder) get it too.",
    depth=1,
    durable=True,
)

#: Every topic of the project, by its relative name.
TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        SAY, PLAY_FILE, UTTERANCE, AUDIO, WORDS, FEATURES, HUMAN_POSE, JOINT_TRAJECTORY, JOINT_STATES, CLOCK,
        SIM_IMAGE, ROBOT_DESCRIPTION,
    )
}

SAY_ACTION = Action(
    "say",
    "gesture_msgs/action/Say",
    "Say a text with gestures: feedback per word, the result once the robot is back at rest; "
    "cancel stops the speech and returns the robot to rest.",
)
#: Every action of the project, by its relative name.
ACTIONS: dict[str, Action] = {a.name: a for a in (SAY_ACTION,)}

# --------------------------------------------------------------------------------------------
# Shared validation helpers
# --------------------------------------------------------------------------------------------

_UTTERANCE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")


def validate_utterance_id(uid: Any) -> str:
    """Return ``uid`` if it is a valid utterance id (1-64 chars of ``[A-Za-z0-9_.:-]``)."""
    if not isinstance(uid, str) or not _UTTERANCE_ID.match(uid):
        raise ContractError(f"invalid utterance id {uid!r}: need 1-64 characters of [A-Za-z0-9_.:-]")
    return uid


def stamp_to_ns(stamp: Any) -> int:
    """``builtin_interfaces/Time``-like object (``sec``, ``nanosec``) -> integer nanoseconds."""
    sec, nsec = int(stamp.sec), int(stamp.nanosec)
    if sec < 0 or not 0 <= nsec < NS_PER_S:
        raise ContractError(f"invalid stamp sec={sec} nanosec={nsec}")
    return sec * NS_PER_S + nsec


def ns_to_stamp(ns: int, stamp: Any) -> Any:
    """Fill a ``Time``/``Duration``-like object from integer nanoseconds; returns it."""
    if ns < 0:
        raise ContractError(f"negative time {ns} ns")
    stamp.sec, stamp.nanosec = divmod(int(ns), NS_PER_S)
    return stamp


def _finite_float(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ContractError(f"{what} must be a finite number, got {value!r}")
    return float(value)


def _text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ContractError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise ContractError(f"{what} has {len(value)} characters, limit {limit}")
    return value


def _flag(value: Any, what: str) -> bool:
    """A message's ``bool`` field: True or False only (no strings such as ``"no"``, no numbers)."""
    if not isinstance(value, (bool, np.bool_)):
        raise ContractError(f"{what} must be a bool, got {value!r}")
    return bool(value)


def _count(values: Any, what: str, limit: int) -> int:
    """``len(values)`` if it is at most ``limit``: checked before the values are converted or looped over."""
    n = len(values)
    if n > limit:
        raise ContractError(f"{what} has {n} entries, limit {limit}")
    return n


def _seconds(value: float, what: str, lo: float = 0.0, hi: float = MAX_UTTERANCE_S) -> float:
    """A finite time ``value`` (s) within [lo, hi]."""
    value = _finite_float(value, what)
    if not lo <= value <= hi:
        raise ContractError(f"{what} = {value:g} s is outside [{lo:g}, {hi:g}] s")
    return value


def check_time_near(ns: int, now_ns: int | None, what: str) -> int:
    """Return ROS time ``ns`` if it lies within [now - MAX_BEHIND_S, now + MAX_AHEAD_S] of the
    receiver's clock ``now_ns`` (None or 0, a clock not started yet: not checked)."""
    if now_ns:
        ahead = (ns - now_ns) / NS_PER_S
        if ahead > MAX_AHEAD_S:
            raise ContractError(f"{what} lies {ahead:.0f} s in the future (limit {MAX_AHEAD_S:g} s): a wrong clock?")
        if -ahead > MAX_BEHIND_S:
            raise ContractError(f"{what} lies {-ahead:.0f} s in the past (limit {MAX_BEHIND_S:g} s): a wrong clock?")
    return ns


def to_array(values: Any, dtype: type = np.float64) -> array.array:
    """(N,) numbers -> ``array.array`` of float32 (``np.float32``) or float64: what a message's
    ``float32[]`` / ``float64[]`` field takes without checking every element in Python."""
    out = array.array("f" if np.dtype(dtype) == np.float32 else "d")
    out.frombytes(np.ascontiguousarray(np.ravel(values), dtype=dtype).tobytes())
    return out


def from_array(values: Any, dtype: type = np.float64) -> np.ndarray:
    """A message's number sequence (``array.array`` from rclpy, a list from a recording) -> (N,) array."""
    if isinstance(values, array.array):
        return np.frombuffer(values, dtype=np.float32 if values.typecode == "f" else np.float64).astype(dtype)
    try:
        return np.asarray(values, dtype=dtype).ravel()
    except (TypeError, ValueError) as exc:
        raise ContractError(f"malformed number array: {exc}") from None


# --------------------------------------------------------------------------------------------
# speech/say (and the say action's goal)
# --------------------------------------------------------------------------------------------

MAX_SAY_CHARS = 2000


def validate_say_text(text: Any) -> str:
    """Text for the robot to speak, stripped: non-empty, at most 2000 characters."""
    text = str(text).strip()
    if not text:
        raise ContractError("the text to say is empty")
    if len(text) > MAX_SAY_CHARS:
        raise ContractError(f"the text to say has {len(text)} characters, limit {MAX_SAY_CHARS}")
    return text


def decode_say(msg: Any) -> str:
    """Text of a ``speech/say`` message: non-empty after stripping, at most 2000 characters."""
    return validate_say_text(msg.data)


@dataclass(frozen=True)
class SayRequest:
    """A goal of the ``say`` action: ``text`` (may hold inline gesture markup), ``voice`` (espeak-ng
    voice, None: the speech source's), ``rate`` (words per minute, None: the speech source's)."""

    text: str
    voice: str | None = None
    rate: int | None = None


def decode_say_goal(goal: Any) -> SayRequest:
    """Validate a ``gesture_msgs/action/Say`` goal: text as on ``speech/say``; voice <= 64 characters."""
    voice = _text(goal.voice, "voice", 64).strip()
    rate = int(goal.rate)
    return SayRequest(validate_say_text(goal.text), voice or None, rate or None)


# --------------------------------------------------------------------------------------------
# speech/play_file
# --------------------------------------------------------------------------------------------

MAX_PATH_CHARS = 4096


def decode_play_file(msg: Any) -> str:
    """Path of a ``speech/play_file`` message: non-empty after stripping, at most 4096
    characters, no NUL. Whether the file exists is checked by whoever opens it."""
    path = str(msg.data).strip()
    if not path:
        raise ContractError("speech/play_file path is empty")
    if len(path) > MAX_PATH_CHARS or "\0" in path:
        raise ContractError(f"speech/play_file path is longer than {MAX_PATH_CHARS} characters or contains NUL")
    return path


# --------------------------------------------------------------------------------------------
# speech/utterance
# --------------------------------------------------------------------------------------------

UTTERANCE_SOURCES = ("tts", "file", "mic", "stream")
#: Sources whose audio arrives as it is produced (a microphone; ``stream``: speech another program
#: synthesises and streams, e.g. ``gesture_ros.stream_wav``): gestured window by window as it comes.
LIVE_SOURCES = ("mic", "stream")
#: ``UtteranceEvent.event`` codes of ``gesture_msgs/msg/UtteranceEvent`` (START, END, CANCEL).
UTTERANCE_EVENTS = ("start", "end", "cancel")
#: Longest ``text`` of an utterance event (five times the longest text to say).
MAX_TEXT_CHARS = 5 * MAX_SAY_CHARS
MAX_LANGUAGE_CHARS = 16


@dataclass
class UtteranceEvent:
    """Start, end or cancellation of an utterance.

    ``start_ns`` is the ROS time (ns) its audio starts playing. ``words_known`` tells the ASR node
    to skip recognition (the TTS source publishes exact words itself). ``n_samples`` is the total
    audio length, set on ``end`` events so consumers can check that no chunk went missing. A
    ``cancel`` event stops the utterance early: consumers drop it, the robot returns to rest.
    """

    utterance_id: str
    event: str  # "start" | "end" | "cancel"
    start_ns: int
    source: str
    text: str | None = None
    language: str | None = None
    words_known: bool = False
    n_samples: int | None = None

    def __post_init__(self) -> None:
        validate_utterance_id(self.utterance_id)
        if self.event not in UTTERANCE_EVENTS:
            raise ContractError(f"utterance event must be one of {UTTERANCE_EVENTS}, got {self.event!r}")
        if self.source not in UTTERANCE_SOURCES:
            raise ContractError(f"utterance source must be one of {UTTERANCE_SOURCES}, got {self.source!r}")
        if isinstance(self.start_ns, bool) or not isinstance(self.start_ns, int) or self.start_ns < 0:
            raise ContractError(f"utterance start_ns must be a non-negative int, got {self.start_ns!r}")
        if self.event == "end" and (not isinstance(self.n_samples, int) or self.n_samples < 0):
            raise ContractError("an utterance 'end' event needs n_samples >= 0")
        if self.event == "end" and self.n_samples > MAX_UTTERANCE_SAMPLES:  # type: ignore[operator]
            raise ContractError(
                f"utterance end event announces {self.n_samples / AUDIO_SAMPLE_RATE:.0f} s of audio "  # type: ignore[operator]
                f"(n_samples {self.n_samples}), limit {MAX_UTTERANCE_S:g} s"
            )


def encode_utterance(msg: Any, ev: UtteranceEvent) -> Any:
    """Fill a ``gesture_msgs/msg/UtteranceEvent``."""
    msg.utterance_id = ev.utterance_id
    msg.event = UTTERANCE_EVENTS.index(ev.event)
    ns_to_stamp(ev.start_ns, msg.start_time)
    msg.source = ev.source
    msg.text = ev.text or ""
    msg.language = ev.language or ""
    msg.words_known = bool(ev.words_known)
    msg.sample_rate = AUDIO_SAMPLE_RATE
    msg.n_samples = ev.n_samples if ev.event == "end" and ev.n_samples is not None else 0
    return msg


def decode_utterance(msg: Any, now_ns: int | None = None) -> UtteranceEvent:
    """Validate an utterance event: id, event code, source, 16 kHz, text and language sizes, a bool
    ``words_known``, ``n_samples`` of at most ``MAX_UTTERANCE_S``, and (given the receiver's clock
    ``now_ns``) a start time near it (:func:`check_time_near`)."""
    if msg.sample_rate != AUDIO_SAMPLE_RATE:
        raise ContractError(f"utterance sample_rate {msg.sample_rate} != {AUDIO_SAMPLE_RATE}")
    if not 0 <= msg.event < len(UTTERANCE_EVENTS):
        raise ContractError(f"utterance event code {msg.event} is not one of 0 (start), 1 (end), 2 (cancel)")
    event = UTTERANCE_EVENTS[msg.event]
    return UtteranceEvent(
        utterance_id=msg.utterance_id,
        event=event,
        start_ns=check_time_near(stamp_to_ns(msg.start_time), now_ns, "utterance start_time"),
        source=msg.source,
        text=_text(msg.text, "utterance text", MAX_TEXT_CHARS) or None,
        language=_text(msg.language, "utterance language", MAX_LANGUAGE_CHARS) or None,
        words_known=_flag(msg.words_known, "utterance words_known"),
        n_samples=int(msg.n_samples) if event == "end" else None,
    )


# --------------------------------------------------------------------------------------------
# speech/audio
# --------------------------------------------------------------------------------------------

MAX_AUDIO_CHUNK = AUDIO_SAMPLE_RATE * 10  # 10 s


@dataclass
class AudioChunk:
    """A run of audio samples of one utterance.

    ``samples``: (N,) float32 in [-1, 1], 16 kHz mono. ``stamp_ns``: ROS time at which the first
    sample plays: ``start_ns + first_sample * 62500`` ns for an utterance that starts at
    ``start_ns``. ``first_sample``: index of the first sample in its
    utterance.
    """

    utterance_id: str
    stamp_ns: int
    samples: np.ndarray
    first_sample: int


def encode_audio(msg: Any, chunk: AudioChunk) -> Any:
    """Fill a ``gesture_msgs/msg/AudioChunk``."""
    samples = np.ascontiguousarray(chunk.samples, dtype=np.float32).ravel()
    validate_utterance_id(chunk.utterance_id)
    if samples.size == 0 or samples.size > MAX_AUDIO_CHUNK:
        raise ContractError(f"audio chunk must hold 1..{MAX_AUDIO_CHUNK} samples, got {samples.size}")
    first = chunk.first_sample
    if first < 0:
        raise ContractError(f"audio chunk first_sample {first} < 0")
    msg.utterance_id = chunk.utterance_id
    ns_to_stamp(chunk.stamp_ns, msg.stamp)
    msg.sample_rate = AUDIO_SAMPLE_RATE
    msg.channel_layout = AUDIO_LAYOUT
    msg.first_sample = int(first)
    msg.samples = to_array(samples, np.float32)
    return msg


def decode_audio(msg: Any, now_ns: int | None = None) -> AudioChunk:
    """Validate and decode an audio chunk: 16 kHz mono, 1..160000 finite samples within [-1, 1],
    ``first_sample`` within the longest utterance, and (given the receiver's clock ``now_ns``) a
    stamp near it."""
    uid = validate_utterance_id(msg.utterance_id)
    if msg.sample_rate != AUDIO_SAMPLE_RATE:
        raise ContractError(f"audio sample_rate is {msg.sample_rate} Hz, expected {AUDIO_SAMPLE_RATE} Hz")
    if msg.channel_layout != AUDIO_LAYOUT:
        raise ContractError(
            f"audio channel_layout is {_text(msg.channel_layout, 'channel_layout', 64)!r}, expected {AUDIO_LAYOUT!r}"
        )
    if not 0 < len(msg.samples) <= MAX_AUDIO_CHUNK:
        raise ContractError(f"audio chunk must hold 1..{MAX_AUDIO_CHUNK} samples, got {len(msg.samples)}")
    first = int(msg.first_sample)
    if first + len(msg.samples) > MAX_UTTERANCE_SAMPLES:
        raise ContractError(
            f"audio chunk at first_sample {first} ({first / AUDIO_SAMPLE_RATE:.0f} s) lies beyond the longest "
            f"utterance ({MAX_UTTERANCE_S:g} s)"
        )
    stamp = check_time_near(stamp_to_ns(msg.stamp), now_ns, "audio chunk stamp")
    samples = from_array(msg.samples, np.float32)
    if not np.all(np.isfinite(samples)):
        raise ContractError("audio chunk contains NaN or inf samples")
    if np.max(np.abs(samples)) > 1.0 + 1e-6:
        raise ContractError("audio samples exceed [-1, 1]")
    return AudioChunk(uid, stamp, samples, first)


# --------------------------------------------------------------------------------------------
# speech/words
# --------------------------------------------------------------------------------------------

WORDS_SOURCES = ("tts", "asr", "stream")
#: Message type of one word inside ``speech/words`` (the encoder's ``word_factory``).
WORD_MSG = "gesture_msgs/msg/Word"
#: Most words in one message (5 words per second over the longest utterance).
MAX_WORDS = int(5 * MAX_UTTERANCE_S)
MAX_WORD_CHARS = 200
MAX_GESTURE_NAME_CHARS = 64


#: A gesture name (lexicon entry, markup request): 1-64 characters of ``[A-Za-z0-9_.-]``.
_GESTURE_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def validate_gesture_name(name: Any, what: str = "gesture") -> str:
    """Return ``name`` if it is a valid gesture name (1-64 characters of ``[A-Za-z0-9_.-]``)."""
    if not isinstance(name, str) or not _GESTURE_NAME.match(name):
        raise ContractError(f"{what} {name!r} is not a gesture name: need 1-64 characters of [A-Za-z0-9_.-]")
    return name


@dataclass
class Word:
    """A word with start/end time (s, relative to the utterance start) and confidence in [0, 1].

    - ``stress``: s from the utterance start of the word's primary stressed syllable (the onset of
      its stressed vowel; known exactly for the robot's own speech); None when unknown or when
      the word carries no stress (espeak-ng's unstressed function words).
    - ``gesture``: a gesture requested at this word by inline markup (a lexicon name); "" none.
    - ``suppress``: inline markup suppresses gestures over this word.

    The types of these three are checked here; that ``stress`` lies within ``[start, end]`` is
    checked with the rest of the timing by :class:`WordTimings`.
    """

    word: str
    start: float
    end: float
    conf: float = 1.0
    stress: float | None = None
    gesture: str = ""
    suppress: bool = False

    def __post_init__(self) -> None:
        if self.stress is not None:
            self.stress = _finite_float(self.stress, f"word {self.word!r} stress")
        if self.gesture:
            validate_gesture_name(self.gesture, f"word {self.word!r} gesture")
        elif not isinstance(self.gesture, str):
            raise ContractError(f"word {self.word!r} gesture must be a string, got {self.gesture!r}")
        if not isinstance(self.suppress, bool):
            raise ContractError(f"word {self.word!r} suppress must be a bool, got {self.suppress!r}")


@dataclass
class WordTimings:
    """Words of an utterance. ``final`` is False for partial ASR results, which may still change."""

    utterance_id: str
    words: list[Word]
    final: bool
    source: str  # "tts" | "asr"

    def __post_init__(self) -> None:
        validate_utterance_id(self.utterance_id)
        if self.source not in WORDS_SOURCES:
            raise ContractError(f"words source must be one of {WORDS_SOURCES}, got {self.source!r}")
        if len(self.words) > MAX_WORDS:
            raise ContractError(f"{len(self.words)} words, limit {MAX_WORDS}")
        prev = 0.0
        for i, w in enumerate(self.words):
            if not isinstance(w.word, str) or not w.word:
                raise ContractError(f"words[{i}] is empty")
            for name in ("start", "end", "conf"):
                _finite_float(getattr(w, name), f"words[{i}].{name}")
            if w.stress is not None:
                _seconds(w.stress, f"words[{i}].stress", -MAX_UTTERANCE_S, MAX_UTTERANCE_S)
            if w.end > MAX_UTTERANCE_S:
                raise ContractError(f"words[{i}] ends at {w.end:g} s, after the longest utterance ({MAX_UTTERANCE_S:g} s)")
            if not 0.0 <= w.start <= w.end:
                raise ContractError(f"words[{i}] has start {w.start} > end {w.end} or negative start")
            if w.start < prev - 1e-6:
                raise ContractError(f"words[{i}] starts at {w.start}, before the previous word's start {prev}")
            if not 0.0 <= w.conf <= 1.0:
                raise ContractError(f"words[{i}].conf {w.conf} outside [0, 1]")
            if w.stress is not None and not w.start - 1e-6 <= w.stress <= w.end + 1e-6:
                raise ContractError(f"words[{i}].stress {w.stress} outside the word [{w.start}, {w.end}]")
            prev = w.start


def encode_words(msg: Any, wt: WordTimings, word_factory: Any) -> Any:
    """Fill a ``gesture_msgs/msg/Words``; ``word_factory`` makes a ``gesture_msgs/msg/Word``."""
    msg.utterance_id = wt.utterance_id
    msg.final = bool(wt.final)
    msg.source = wt.source
    words = []
    for w in wt.words:
        m = word_factory()
        m.text, m.start, m.end, m.confidence = w.word, float(w.start), float(w.end), float(w.conf)
        m.stress = math.nan if w.stress is None else float(w.stress)
        m.gesture, m.suppress = w.gesture, bool(w.suppress)
        words.append(m)
    msg.words = words
    return msg


def decode_words(msg: Any) -> WordTimings:
    """Validate timed words: at most ``MAX_WORDS`` non-empty texts, finite times with
    0 <= start <= end <= ``MAX_UTTERANCE_S``, starts non-decreasing, confidence in [0, 1], stress
    finite or NaN (unknown)."""
    validate_utterance_id(msg.utterance_id)
    _count(msg.words, "words", MAX_WORDS)
    words = []
    for i, w in enumerate(msg.words):
        stress = float(w.stress)
        words.append(
            Word(
                word=_text(w.text, f"words[{i}].text", MAX_WORD_CHARS),
                start=_finite_float(float(w.start), f"words[{i}].start"),
                end=_finite_float(float(w.end), f"words[{i}].end"),
                conf=_finite_float(float(w.confidence), f"words[{i}].confidence"),
                stress=None if math.isnan(stress) else _finite_float(stress, f"words[{i}].stress"),
                gesture=_text(w.gesture, f"words[{i}].gesture", MAX_GESTURE_NAME_CHARS),
                suppress=_flag(w.suppress, f"words[{i}].suppress"),
            )
        )
    return WordTimings(utterance_id=msg.utterance_id, words=words, final=_flag(msg.final, "words final"), source=msg.source)


# --------------------------------------------------------------------------------------------
# speech/features
# --------------------------------------------------------------------------------------------

#: Per-frame feature series carried by ``speech/features`` (each of length ``n_frames``).
FEATURE_SERIES = ("onset_strength", "rms", "f0_hz")
#: Highest feature ``frame_rate`` (Hz), most mel bands, most frames and most onsets or beats of a message.
MAX_FEATURE_RATE = 200.0
MAX_MELS = 256
MAX_FEATURE_FRAMES = int(15 * MAX_UTTERANCE_S)
MAX_FEATURE_EVENTS = int(10 * MAX_UTTERANCE_S)


@dataclass
class AudioFeatures:
    """Frame-wise audio features of an utterance (or of a streaming window of it).

    Frame ``i`` is centred at ``t0 + i / frame_rate`` seconds after the utterance start.

    - ``log_mel``: (n_frames, n_mels) log-mel power spectrogram, dB (``librosa.power_to_db``).
    - ``onset_strength``: (n_frames,) spectral-flux onset envelope, >= 0, arbitrary units.
    - ``rms``: (n_frames,) RMS energy of the waveform, linear amplitude.
    - ``f0_hz``: (n_frames,) fundamental frequency in Hz, 0 where unvoiced.
    - ``onsets``, ``beats``: detected onset and beat times (s, relative to the utterance start).
    - ``final``: True for the whole-utterance message, False for a streaming window.
    """

    utterance_id: str
    frame_rate: float
    t0: float
    log_mel: np.ndarray
    onset_strength: np.ndarray
    rms: np.ndarray
    f0_hz: np.ndarray
    onsets: np.ndarray = field(default_factory=lambda: np.zeros(0))
    beats: np.ndarray = field(default_factory=lambda: np.zeros(0))
    final: bool = True

    def __post_init__(self) -> None:
        validate_utterance_id(self.utterance_id)
        _finite_float(self.frame_rate, "frame_rate")
        if not 0 < self.frame_rate <= MAX_FEATURE_RATE:
            raise ContractError(f"frame_rate must be in (0, {MAX_FEATURE_RATE:g}] Hz, got {self.frame_rate}")
        _seconds(self.t0, "t0", -MAX_UTTERANCE_S)
        self.log_mel = np.asarray(self.log_mel, dtype=np.float32)
        if self.log_mel.ndim != 2:
            raise ContractError(f"log_mel must be (n_frames, n_mels), got shape {self.log_mel.shape}")
        n = self.log_mel.shape[0]
        if n > MAX_FEATURE_FRAMES or self.log_mel.shape[1] > MAX_MELS:
            raise ContractError(
                f"log_mel has {n} frames x {self.log_mel.shape[1]} mels, limits {MAX_FEATURE_FRAMES} x {MAX_MELS}"
            )
        for name in FEATURE_SERIES:
            arr = np.asarray(getattr(self, name), dtype=np.float32)
            if arr.shape != (n,):
                raise ContractError(f"{name} has shape {arr.shape}, expected ({n},) like log_mel")
            setattr(self, name, arr)
        for name in ("onsets", "beats"):
            setattr(self, name, np.asarray(getattr(self, name), dtype=np.float64).ravel())
        for name in ("log_mel", *FEATURE_SERIES, "onsets", "beats"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise ContractError(f"features {name} contains NaN or inf")
        for name in ("onsets", "beats"):
            times = getattr(self, name)
            if times.size > MAX_FEATURE_EVENTS:
                raise ContractError(f"features {name} has {times.size} times, limit {MAX_FEATURE_EVENTS}")
            if times.size and np.max(np.abs(times)) > MAX_UTTERANCE_S:
                raise ContractError(
                    f"features {name} has a time of {np.max(np.abs(times)):g} s, beyond the longest "
                    f"utterance ({MAX_UTTERANCE_S:g} s)"
                )

    @property
    def n_frames(self) -> int:
        return int(self.log_mel.shape[0])

    def frame_times(self) -> np.ndarray:
        """Centre time (s, from the utterance start) of every frame, (n_frames,)."""
        return self.t0 + np.arange(self.n_frames) / self.frame_rate


def encode_features(msg: Any, f: AudioFeatures) -> Any:
    """Fill a ``gesture_msgs/msg/AudioFeatures`` (``log_mel`` row-major)."""
    msg.utterance_id = f.utterance_id
    msg.final = bool(f.final)
    msg.frame_rate = float(f.frame_rate)
    msg.t0 = float(f.t0)
    msg.n_mels = int(f.log_mel.shape[1])
    msg.log_mel = to_array(f.log_mel, np.float32)
    for name in FEATURE_SERIES:
        setattr(msg, name, to_array(getattr(f, name), np.float32))
    msg.onsets = to_array(f.onsets)
    msg.beats = to_array(f.beats)
    return msg


def decode_features(msg: Any) -> AudioFeatures:
    """Validate features: ``log_mel`` reshapes to (n_frames, n_mels) with n_frames = len(rms),
    every series has n_frames values, everything finite, ``frame_rate`` in (0, 200] Hz, sizes and
    times within the bounds (``MAX_FEATURE_FRAMES``, ``MAX_MELS``, ``MAX_FEATURE_EVENTS``,
    ``MAX_UTTERANCE_S``); sizes are checked before any array is converted."""
    validate_utterance_id(msg.utterance_id)
    n = _count(msg.rms, "features rms", MAX_FEATURE_FRAMES)
    n_mels = int(msg.n_mels)
    if not 1 <= n_mels <= MAX_MELS:
        raise ContractError(f"features n_mels {n_mels} outside [1, {MAX_MELS}]")
    if len(msg.log_mel) != n * n_mels:
        raise ContractError(f"log_mel has {len(msg.log_mel)} values, expected n_frames {n} x n_mels {n_mels}")
    for name in (*FEATURE_SERIES, "onsets", "beats"):
        _count(getattr(msg, name), f"features {name}", n if name in FEATURE_SERIES else MAX_FEATURE_EVENTS)
    log_mel = from_array(msg.log_mel, np.float32)
    return AudioFeatures(
        utterance_id=msg.utterance_id,
        frame_rate=_finite_float(float(msg.frame_rate), "frame_rate"),
        t0=_finite_float(float(msg.t0), "t0"),
        log_mel=log_mel.reshape(n, n_mels),
        onsets=from_array(msg.onsets),
        beats=from_array(msg.beats),
        final=_flag(msg.final, "features final"),
        **{name: from_array(getattr(msg, name), np.float32) for name in FEATURE_SERIES},
    )


# --------------------------------------------------------------------------------------------
# gesture/human_pose
# --------------------------------------------------------------------------------------------

#: Most frames of one gesture message (10 minutes; longer utterances come in streaming windows).
MAX_GESTURE_FRAMES = int(GESTURE_FPS * 600)
MAX_STROKES = 10_000
MAX_STROKE_LABEL_CHARS = 64
#: Largest absolute pose value: bone vectors are unit directions; the retargeter repairs (and logs)
#: vectors far from unit length, and a message with values beyond this is refused.
MAX_POSE_VALUE = 10.0


@dataclass
class GestureSequence:
    """Human gesture poses of one utterance (or one streaming window of it).

    ``poses``: (N, 27) unit bone directions, TED axes. Frame ``k`` of the message is frame
    ``first_frame + k`` of the utterance and plays at ``start_ns + (first_frame + k) / 15 s``.
    ``strokes``: the planned strokes, ``(time, label)`` in time order: ``time`` in s from the
    utterance start (where the stroke ends: the apex, on the stressed syllable), ``label``
    ``"beat"`` or the lexicon gesture's name. The ``gesture/human_pose`` message carries them
    (``stroke_times``, ``stroke_labels``).
    """

    utterance_id: str
    start_ns: int
    poses: np.ndarray
    first_frame: int = 0
    strokes: tuple[tuple[float, str], ...] = ()

    def __post_init__(self) -> None:
        validate_utterance_id(self.utterance_id)
        self.poses = np.asarray(self.poses, dtype=np.float64)
        if self.poses.ndim != 2 or self.poses.shape[1] != skeleton.POSE_DIM or self.poses.shape[0] == 0:
            raise ContractError(f"gesture poses must be (N>0, 27), got shape {self.poses.shape}")
        if self.poses.shape[0] > MAX_GESTURE_FRAMES:
            raise ContractError(f"gesture sequence has {self.poses.shape[0]} frames, limit {MAX_GESTURE_FRAMES}")
        if not 0 <= self.first_frame <= MAX_UTTERANCE_S * GESTURE_FPS:
            raise ContractError(
                f"first_frame must be in [0, {MAX_UTTERANCE_S * GESTURE_FPS:.0f}] (the longest utterance), "
                f"got {self.first_frame}"
            )
        if len(self.strokes) > MAX_STROKES:
            raise ContractError(f"{len(self.strokes)} strokes, limit {MAX_STROKES}")
        strokes = []
        for i, stroke in enumerate(self.strokes):
            if not isinstance(stroke, (tuple, list)) or len(stroke) != 2:
                raise ContractError(f"strokes[{i}] must be a (time, label) pair, got {stroke!r}")
            t = _seconds(stroke[0], f"strokes[{i}] time")
            if strokes and t < strokes[-1][0]:  # (_seconds refused negative times)
                raise ContractError(f"strokes[{i}] time {t} is before the previous stroke")
            if not isinstance(stroke[1], str) or not stroke[1]:
                raise ContractError(f"strokes[{i}] label must be a non-empty string, got {stroke[1]!r}")
            strokes.append((t, _text(stroke[1], f"strokes[{i}] label", MAX_STROKE_LABEL_CHARS)))
        self.strokes = tuple(strokes)

    def times(self) -> np.ndarray:
        """Time of every frame (s, from the utterance start), (N,)."""
        return (self.first_frame + np.arange(len(self.poses))) / GESTURE_FPS


def encode_human_pose(msg: Any, seq: GestureSequence) -> Any:
    """Fill a ``gesture_msgs/msg/GestureSequence`` (``poses`` row-major, 27 values per frame)."""
    msg.utterance_id = seq.utterance_id
    ns_to_stamp(seq.start_ns, msg.start_time)
    msg.skeleton = SKELETON
    msg.values_per_frame = skeleton.POSE_DIM
    msg.frame_rate = float(GESTURE_FPS)
    msg.first_frame = int(seq.first_frame)
    msg.poses = to_array(seq.poses)
    msg.stroke_times = to_array([t for t, _ in seq.strokes])
    msg.stroke_labels = [label for _, label in seq.strokes]
    return msg


def decode_human_pose(msg: Any, now_ns: int | None = None) -> GestureSequence:
    """Validate a human gesture sequence: TED skeleton, 27 values per frame at 15 fps, at most
    ``MAX_GESTURE_FRAMES`` frames of finite values within +-``MAX_POSE_VALUE``, one label per stroke,
    and (given the receiver's clock ``now_ns``) a start time near it. Sizes are checked before any
    array is converted. Values are returned as sent: repairing bad bone vectors (zero length, far
    from unit) is the retargeter's job, which logs what it repaired."""
    uid = validate_utterance_id(msg.utterance_id)
    if msg.skeleton != SKELETON or msg.values_per_frame != skeleton.POSE_DIM:
        raise ContractError(
            f"gesture skeleton {msg.skeleton!r} with {msg.values_per_frame} values per frame; "
            f"expected {SKELETON!r} with {skeleton.POSE_DIM}"
        )
    if abs(float(msg.frame_rate) - GESTURE_FPS) > 1e-9:
        raise ContractError(f"gesture frame_rate {msg.frame_rate}, expected {GESTURE_FPS:g}")
    _count(msg.poses, "gesture poses", MAX_GESTURE_FRAMES * skeleton.POSE_DIM)
    n_strokes = _count(msg.stroke_times, "gesture stroke_times", MAX_STROKES)
    if len(msg.stroke_labels) != n_strokes:
        raise ContractError(f"{n_strokes} stroke_times but {len(msg.stroke_labels)} stroke_labels")
    start_ns = check_time_near(stamp_to_ns(msg.start_time), now_ns, "gesture start_time")
    poses = from_array(msg.poses)
    if poses.size == 0 or poses.size % skeleton.POSE_DIM:
        raise ContractError(f"gesture poses hold {poses.size} values, not a positive multiple of {skeleton.POSE_DIM}")
    if not np.all(np.isfinite(poses)):
        raise ContractError("gesture poses contain NaN or inf")
    if np.max(np.abs(poses)) > MAX_POSE_VALUE:
        raise ContractError(
            f"gesture poses hold a value of {np.max(np.abs(poses)):.3g}; bone directions are unit vectors "
            f"(limit +-{MAX_POSE_VALUE:g})"
        )
    times, labels = from_array(msg.stroke_times), list(msg.stroke_labels)
    return GestureSequence(
        uid,
        start_ns,
        poses.reshape(-1, skeleton.POSE_DIM),
        first_frame=int(msg.first_frame),
        strokes=tuple(zip(times.tolist(), labels)),
    )


# --------------------------------------------------------------------------------------------
# joint_trajectory (robot)
# --------------------------------------------------------------------------------------------


@dataclass
class JointCommand:
    """Robot joint positions on a timeline.

    ``positions``: (N, J) radians (or metres for prismatic joints); ``times``: (N,) seconds after
    ``stamp_ns``, strictly increasing; ``velocities``: optional (N, J) rad/s.
    """

    utterance_id: str
    stamp_ns: int
    joint_names: list[str]
    times: np.ndarray
    positions: np.ndarray
    velocities: np.ndarray | None = None

    def __post_init__(self) -> None:
        validate_utterance_id(self.utterance_id)
        self.times = np.asarray(self.times, dtype=np.float64)
        self.positions = np.asarray(self.positions, dtype=np.float64)
        n, j = len(self.times), len(self.joint_names)
        if n == 0 or self.positions.shape != (n, j):
            raise ContractError(f"joint command positions shape {self.positions.shape}, expected ({n}, {j})")
        if len(set(self.joint_names)) != j:
            raise ContractError("joint command has duplicate joint names")
        if self.velocities is not None:
            self.velocities = np.asarray(self.velocities, dtype=np.float64)
            if self.velocities.shape != (n, j):
                raise ContractError(f"velocities shape {self.velocities.shape}, expected ({n}, {j})")
        values = [self.times, self.positions] + ([self.velocities] if self.velocities is not None else [])
        if not all(np.all(np.isfinite(v)) for v in values):
            raise ContractError("joint command contains NaN or inf")
        if self.times[0] < 0 or np.any(np.diff(self.times) <= 0):
            raise ContractError("joint command times must be >= 0 and strictly increasing")


def encode_joint_trajectory(msg: Any, cmd: JointCommand, point_factory: Any) -> Any:
    msg.header.frame_id = cmd.utterance_id
    ns_to_stamp(cmd.stamp_ns, msg.header.stamp)
    msg.joint_names = list(cmd.joint_names)
    points = []
    for k, t in enumerate(cmd.times):
        p = point_factory()
        p.positions = [float(v) for v in cmd.positions[k]]
        if cmd.velocities is not None:
            p.velocities = [float(v) for v in cmd.velocities[k]]
        ns_to_stamp(round(t * NS_PER_S), p.time_from_start)
        points.append(p)
    msg.points = points
    return msg


#: Most points of one ``joint_trajectory`` message (1000 s at 100 Hz), most joints, longest joint name.
MAX_TRAJECTORY_POINTS = 100_000
MAX_JOINTS = 256
MAX_JOINT_NAME_CHARS = 256


def decode_joint_trajectory(msg: Any, now_ns: int | None = None) -> JointCommand:
    """Validate a robot joint trajectory: at most ``MAX_TRAJECTORY_POINTS`` points (checked before
    the points are read) of ``MAX_JOINTS`` uniquely named joints, position and velocity counts
    matching the joints, everything finite, times increasing and within ``MAX_UTTERANCE_S``, and
    (given the receiver's clock ``now_ns``) a stamp near it."""
    uid = msg.header.frame_id or "unnamed"
    names = list(msg.joint_names)
    _count(names, "joint trajectory joint_names", MAX_JOINTS)
    for name in names:
        _text(name, "joint name", MAX_JOINT_NAME_CHARS)
    if not msg.points:
        raise ContractError("joint trajectory has no points")
    _count(msg.points, "joint trajectory points", MAX_TRAJECTORY_POINTS)
    stamp = check_time_near(stamp_to_ns(msg.header.stamp), now_ns, "joint trajectory stamp")
    times, pos, vel = [], [], []
    for i, p in enumerate(msg.points):
        if len(p.positions) != len(names):
            raise ContractError(f"points[{i}] has {len(p.positions)} positions for {len(names)} joints")
        times.append(stamp_to_ns(p.time_from_start) / NS_PER_S)
        pos.append(list(p.positions))
        vel.append(list(p.velocities) if len(p.velocities) == len(names) else None)
    if times[-1] > MAX_UTTERANCE_S:
        raise ContractError(f"joint trajectory lasts {times[-1]:.0f} s, limit {MAX_UTTERANCE_S:g} s")
    velocities = np.asarray(vel, dtype=np.float64) if all(v is not None for v in vel) else None
    return JointCommand(uid, stamp, names, np.asarray(times), np.asarray(pos), velocities)
