"""Every topic contract of the project: names, message types, layouts, units, timing fields.

This module is the single place where the project's topics are defined; ``docs/topics.md`` is
its prose twin. Nodes encode and decode messages only through the functions here, and every
decoder validates what it receives, raising :class:`~gesture_core.errors.ContractError` with a
reason (the node logs it, drops the message and stays alive).

The core library never imports ROS: encoders fill a message *instance* that the node passes in
(``encode_audio(Image(), chunk)``) and decoders read the fields of the message they are given.

Timing, the same on every topic
-------------------------------
Every utterance has an **utterance id** (:func:`validate_utterance_id`) and a **start time**:
the ROS time, in integer nanoseconds, at which its audio starts playing. Stamped messages put the
utterance id in ``header.frame_id`` (audio, words and gestures have no coordinate frame, and
standard messages have no other string field for it) and a time in ``header.stamp``:

==============================  ====================================================  =================
topic                           message type                                          header.stamp
==============================  ====================================================  =================
``speech/say``                  ``std_msgs/msg/String`` (plain UTF-8 text)            --
``speech/play_file``            ``std_msgs/msg/String`` (path of a WAV/FLAC file)     --
``speech/utterance``            ``std_msgs/msg/String`` (JSON, ``gesture.utterance/1``) in the payload
``speech/audio``                ``sensor_msgs/msg/Image`` (1 x N, ``32FC1``)           first sample
``speech/words``                ``std_msgs/msg/String`` (JSON, ``gesture.words/1``)   in the payload
``speech/features``             ``std_msgs/msg/String`` (JSON, ``gesture.features/1``) in the payload
``gesture/human_pose``          ``trajectory_msgs/msg/JointTrajectory`` (27 TED values) utterance start
``joint_trajectory``            ``trajectory_msgs/msg/JointTrajectory`` (robot joints) first point
``joint_states``                ``sensor_msgs/msg/JointState``                        sample time
``/clock``                      ``rosgraph_msgs/msg/Clock``                           --
``sim/image``                   ``sensor_msgs/msg/Image`` (``rgb8`` frames)            sim time of frame
==============================  ====================================================  =================

Times inside JSON payloads and ``time_from_start`` are seconds relative to the utterance start.
Units are SI (seconds, radians, metres, Hz); audio is mono float32 in [-1, 1] at 16 kHz.
"""

from __future__ import annotations

import json
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
#: ``sensor_msgs/Image`` encoding of audio chunks: one row of float32 samples.
AUDIO_ENCODING = "32FC1"

NS_PER_S = 1_000_000_000


@dataclass(frozen=True)
class Topic:
    """One topic contract: relative name, message type (``pkg/msg/Name``), depth and meaning."""

    name: str
    msg_type: str
    description: str
    depth: int = 10


SAY = Topic("speech/say", "std_msgs/msg/String", "Text for the robot to speak (plain UTF-8).")
PLAY_FILE = Topic(
    "speech/play_file",
    "std_msgs/msg/String",
    "Path of an audio file (WAV/FLAC) for the speech source in file mode to publish as one utterance.",
)
UTTERANCE = Topic(
    "speech/utterance",
    "std_msgs/msg/String",
    "Utterance start/end events (JSON gesture.utterance/1): id, start time, source, text.",
    depth=50,
)
AUDIO = Topic(
    "speech/audio",
    "sensor_msgs/msg/Image",
    "Audio chunks: 1 x N float32 (32FC1) samples at 16 kHz; frame_id = utterance id, "
    "stamp = play time of the first sample.",
    depth=200,
)
WORDS = Topic(
    "speech/words",
    "std_msgs/msg/String",
    "Timed words (JSON gesture.words/1), partial and final, from TTS or ASR.",
    depth=50,
)
FEATURES = Topic(
    "speech/features",
    "std_msgs/msg/String",
    "Audio features (JSON gesture.features/1) per utterance or streaming window.",
    depth=50,
)
HUMAN_POSE = Topic(
    "gesture/human_pose",
    "trajectory_msgs/msg/JointTrajectory",
    "Human gesture poses, TED format: 27 values per point (9 unit bone directions), 15 fps; "
    "frame_id = utterance id, stamp = utterance start.",
    depth=20,
)
JOINT_TRAJECTORY = Topic(
    "joint_trajectory",
    "trajectory_msgs/msg/JointTrajectory",
    "Robot joint trajectory (ros2_control joint_trajectory_controller topic interface); "
    "frame_id = utterance id, stamp = time of time_from_start 0.",
    depth=10,
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

#: Every topic of the project, by its relative name.
TOPICS: dict[str, Topic] = {
    t.name: t
    for t in (
        SAY, PLAY_FILE, UTTERANCE, AUDIO, WORDS, FEATURES, HUMAN_POSE, JOINT_TRAJECTORY, JOINT_STATES, CLOCK,
        SIM_IMAGE,
    )
}

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


def _load_json(text: str, schema: str) -> dict:
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, TypeError) as exc:
        raise ContractError(f"payload is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ContractError("payload must be a JSON object")
    if obj.get("schema") != schema:
        raise ContractError(f"payload schema is {obj.get('schema')!r}, expected {schema!r}")
    return obj


def _require(obj: dict, key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in obj:
        raise ContractError(f"payload lacks key {key!r}")
    value = obj[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ContractError(f"payload key {key!r} has type {type(value).__name__}")
    return value


# --------------------------------------------------------------------------------------------
# speech/say
# --------------------------------------------------------------------------------------------

MAX_SAY_CHARS = 2000


def decode_say(msg: Any) -> str:
    """Text of a ``speech/say`` message: non-empty after stripping, at most 2000 characters."""
    text = str(msg.data).strip()
    if not text:
        raise ContractError("speech/say text is empty")
    if len(text) > MAX_SAY_CHARS:
        raise ContractError(f"speech/say text has {len(text)} characters, limit {MAX_SAY_CHARS}")
    return text


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

UTTERANCE_SCHEMA = "gesture.utterance/1"
UTTERANCE_SOURCES = ("tts", "file", "mic")


@dataclass
class UtteranceEvent:
    """Start or end of an utterance.

    ``start_ns`` is the ROS time (ns) its audio starts playing. ``words_known`` tells the ASR node
    to skip recognition (the TTS source publishes exact words itself). ``n_samples`` is the total
    audio length, set on ``end`` events so consumers can check that no chunk went missing.
    """

    utterance_id: str
    event: str  # "start" | "end"
    start_ns: int
    source: str
    text: str | None = None
    language: str | None = None
    words_known: bool = False
    n_samples: int | None = None

    def __post_init__(self) -> None:
        validate_utterance_id(self.utterance_id)
        if self.event not in ("start", "end"):
            raise ContractError(f"utterance event must be 'start' or 'end', got {self.event!r}")
        if self.source not in UTTERANCE_SOURCES:
            raise ContractError(f"utterance source must be one of {UTTERANCE_SOURCES}, got {self.source!r}")
        if isinstance(self.start_ns, bool) or not isinstance(self.start_ns, int) or self.start_ns < 0:
            raise ContractError(f"utterance start_ns must be a non-negative int, got {self.start_ns!r}")
        if self.event == "end" and (not isinstance(self.n_samples, int) or self.n_samples < 0):
            raise ContractError("an utterance 'end' event needs n_samples >= 0")


def encode_utterance(msg: Any, ev: UtteranceEvent) -> Any:
    msg.data = json.dumps(
        {
            "schema": UTTERANCE_SCHEMA,
            "utterance_id": ev.utterance_id,
            "event": ev.event,
            "start_ns": ev.start_ns,
            "source": ev.source,
            "text": ev.text,
            "language": ev.language,
            "words_known": ev.words_known,
            "sample_rate": AUDIO_SAMPLE_RATE,
            "n_samples": ev.n_samples,
        },
        ensure_ascii=False,
    )
    return msg


def decode_utterance(msg: Any) -> UtteranceEvent:
    obj = _load_json(msg.data, UTTERANCE_SCHEMA)
    if obj.get("sample_rate") != AUDIO_SAMPLE_RATE:
        raise ContractError(f"utterance sample_rate {obj.get('sample_rate')!r} != {AUDIO_SAMPLE_RATE}")
    text = obj.get("text")
    if text is not None and not isinstance(text, str):
        raise ContractError("utterance text must be a string or null")
    return UtteranceEvent(
        utterance_id=_require(obj, "utterance_id", str),
        event=_require(obj, "event", str),
        start_ns=_require(obj, "start_ns", int),
        source=_require(obj, "source", str),
        text=text,
        language=obj.get("language"),
        words_known=bool(obj.get("words_known", False)),
        n_samples=obj.get("n_samples"),
    )


# --------------------------------------------------------------------------------------------
# speech/audio
# --------------------------------------------------------------------------------------------

MAX_AUDIO_CHUNK = AUDIO_SAMPLE_RATE * 10  # 10 s


@dataclass
class AudioChunk:
    """A run of audio samples of one utterance.

    ``samples``: (N,) float32 in [-1, 1], 16 kHz mono. ``stamp_ns``: ROS time at which the first
    sample plays; its offset in the utterance is ``round((stamp_ns - start_ns) * 16000 / 1e9)``.
    """

    utterance_id: str
    stamp_ns: int
    samples: np.ndarray

    def offset_samples(self, start_ns: int) -> int:
        """Index of this chunk's first sample in its utterance that started at ``start_ns``."""
        return int(round((self.stamp_ns - start_ns) * AUDIO_SAMPLE_RATE / NS_PER_S))


def encode_audio(msg: Any, chunk: AudioChunk) -> Any:
    samples = np.ascontiguousarray(chunk.samples, dtype="<f4").ravel()
    validate_utterance_id(chunk.utterance_id)
    if samples.size == 0 or samples.size > MAX_AUDIO_CHUNK:
        raise ContractError(f"audio chunk must hold 1..{MAX_AUDIO_CHUNK} samples, got {samples.size}")
    msg.header.frame_id = chunk.utterance_id
    ns_to_stamp(chunk.stamp_ns, msg.header.stamp)
    msg.height, msg.width = 1, samples.size
    msg.encoding = AUDIO_ENCODING
    msg.is_bigendian = 0
    msg.step = 4 * samples.size
    msg.data = samples.tobytes()
    return msg


def decode_audio(msg: Any) -> AudioChunk:
    """Validate and decode an audio chunk: 1 row of finite float32 samples within [-1, 1]."""
    uid = validate_utterance_id(msg.header.frame_id)
    if msg.encoding != AUDIO_ENCODING:
        raise ContractError(f"audio encoding {msg.encoding!r}, expected {AUDIO_ENCODING!r} (float32 mono)")
    if msg.height != 1 or msg.is_bigendian:
        raise ContractError(f"audio must be one little-endian row, got height={msg.height}")
    n = int(msg.width)
    if not 0 < n <= MAX_AUDIO_CHUNK or msg.step != 4 * n or len(msg.data) != 4 * n:
        raise ContractError(f"audio chunk width={n} step={msg.step} bytes={len(msg.data)} are inconsistent")
    samples = np.frombuffer(bytes(msg.data), dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(samples)):
        raise ContractError("audio chunk contains NaN or inf samples")
    if np.max(np.abs(samples)) > 1.0 + 1e-6:
        raise ContractError("audio samples exceed [-1, 1]")
    return AudioChunk(uid, stamp_to_ns(msg.header.stamp), samples)


# --------------------------------------------------------------------------------------------
# speech/words
# --------------------------------------------------------------------------------------------

WORDS_SCHEMA = "gesture.words/1"


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
        if self.source not in ("tts", "asr"):
            raise ContractError(f"words source must be 'tts' or 'asr', got {self.source!r}")
        prev = 0.0
        for i, w in enumerate(self.words):
            if not isinstance(w.word, str) or not w.word:
                raise ContractError(f"words[{i}] is empty")
            for name in ("start", "end", "conf"):
                _finite_float(getattr(w, name), f"words[{i}].{name}")
            if not 0.0 <= w.start <= w.end:
                raise ContractError(f"words[{i}] has start {w.start} > end {w.end} or negative start")
            if w.start < prev - 1e-6:
                raise ContractError(f"words[{i}] starts at {w.start}, before the previous word's start {prev}")
            if not 0.0 <= w.conf <= 1.0:
                raise ContractError(f"words[{i}].conf {w.conf} outside [0, 1]")
            if w.stress is not None and not w.start - 1e-6 <= w.stress <= w.end + 1e-6:
                raise ContractError(f"words[{i}].stress {w.stress} outside the word [{w.start}, {w.end}]")
            prev = w.start


def encode_words(msg: Any, wt: WordTimings) -> Any:
    msg.data = json.dumps(
        {
            "schema": WORDS_SCHEMA,
            "utterance_id": wt.utterance_id,
            "final": wt.final,
            "source": wt.source,
            "words": [_word_json(w) for w in wt.words],
        },
        ensure_ascii=False,
    )
    return msg


def _word_json(w: Word) -> dict[str, Any]:
    """One word of a ``gesture.words/1`` payload; the optional keys only when they say something."""
    obj: dict[str, Any] = {"word": w.word, "start": w.start, "end": w.end, "conf": w.conf}
    if w.stress is not None:
        obj["stress"] = w.stress
    if w.gesture:
        obj["gesture"] = w.gesture
    if w.suppress:
        obj["suppress"] = True
    return obj


def decode_words(msg: Any) -> WordTimings:
    obj = _load_json(msg.data, WORDS_SCHEMA)
    words = []
    for i, w in enumerate(_require(obj, "words", list)):
        if not isinstance(w, dict):
            raise ContractError(f"words[{i}] is not an object")
        stress = w.get("stress")
        gesture, suppress = w.get("gesture", ""), w.get("suppress", False)
        if not isinstance(gesture, str) or not isinstance(suppress, bool):
            raise ContractError(f"words[{i}]: gesture must be a string and suppress a bool")
        words.append(
            Word(
                word=_require(w, "word", str),
                start=_finite_float(w.get("start"), f"words[{i}].start"),
                end=_finite_float(w.get("end"), f"words[{i}].end"),
                conf=_finite_float(w.get("conf", 1.0), f"words[{i}].conf"),
                stress=None if stress is None else _finite_float(stress, f"words[{i}].stress"),
                gesture=gesture,
                suppress=suppress,
            )
        )
    return WordTimings(
        utterance_id=_require(obj, "utterance_id", str),
        words=words,
        final=_require(obj, "final", bool),
        source=_require(obj, "source", str),
    )


# --------------------------------------------------------------------------------------------
# speech/features
# --------------------------------------------------------------------------------------------

FEATURES_SCHEMA = "gesture.features/1"
#: Per-frame feature series carried by ``speech/features`` (each of length ``n_frames``).
FEATURE_SERIES = ("onset_strength", "rms", "f0_hz")


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
        _finite_float(self.t0, "t0")
        if self.frame_rate <= 0:
            raise ContractError(f"frame_rate must be > 0, got {self.frame_rate}")
        self.log_mel = np.asarray(self.log_mel, dtype=np.float32)
        if self.log_mel.ndim != 2:
            raise ContractError(f"log_mel must be (n_frames, n_mels), got shape {self.log_mel.shape}")
        n = self.log_mel.shape[0]
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

    @property
    def n_frames(self) -> int:
        return int(self.log_mel.shape[0])

    def frame_times(self) -> np.ndarray:
        """Centre time (s, from the utterance start) of every frame, (n_frames,)."""
        return self.t0 + np.arange(self.n_frames) / self.frame_rate


def encode_features(msg: Any, f: AudioFeatures) -> Any:
    msg.data = json.dumps(
        {
            "schema": FEATURES_SCHEMA,
            "utterance_id": f.utterance_id,
            "final": f.final,
            "frame_rate": f.frame_rate,
            "t0": f.t0,
            "n_frames": f.n_frames,
            "n_mels": int(f.log_mel.shape[1]),
            "log_mel": np.round(f.log_mel, 3).tolist(),
            **{name: np.round(getattr(f, name), 6).tolist() for name in FEATURE_SERIES},
            "onsets": np.round(f.onsets, 6).tolist(),
            "beats": np.round(f.beats, 6).tolist(),
        }
    )
    return msg


def decode_features(msg: Any) -> AudioFeatures:
    obj = _load_json(msg.data, FEATURES_SCHEMA)
    n, n_mels = _require(obj, "n_frames", int), _require(obj, "n_mels", int)
    try:
        log_mel = np.asarray(_require(obj, "log_mel", list), dtype=np.float32).reshape(n, n_mels)
        series = {name: np.asarray(_require(obj, name, list), dtype=np.float32) for name in FEATURE_SERIES}
        onsets = np.asarray(_require(obj, "onsets", list), dtype=np.float64)
        beats = np.asarray(_require(obj, "beats", list), dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise ContractError(f"features arrays are malformed: {exc}") from None
    return AudioFeatures(
        utterance_id=_require(obj, "utterance_id", str),
        frame_rate=_finite_float(obj.get("frame_rate"), "frame_rate"),
        t0=_finite_float(obj.get("t0"), "t0"),
        log_mel=log_mel,
        onsets=onsets,
        beats=beats,
        final=_require(obj, "final", bool),
        **series,
    )


# --------------------------------------------------------------------------------------------
# gesture/human_pose
# --------------------------------------------------------------------------------------------

#: ``joint_names`` of a human pose trajectory: one per value, ``ted/<bone>/<axis>``.
HUMAN_POSE_NAMES = tuple(f"ted/{bone}/{axis}" for bone in skeleton.BONE_NAMES for axis in "xyz")
MAX_GESTURE_FRAMES = int(GESTURE_FPS * 600)  # 10 minutes


@dataclass
class GestureSequence:
    """Human gesture poses of one utterance (or one streaming window of it).

    ``poses``: (N, 27) unit bone directions, TED axes. Frame ``k`` of the message is frame
    ``first_frame + k`` of the utterance and plays at ``start_ns + (first_frame + k) / 15 s``.
    ``strokes``: the planned strokes, ``(time, label)`` in time order: ``time`` in s from the
    utterance start (where the stroke ends: the apex, on the stressed syllable), ``label``
    ``"beat"`` or the lexicon gesture's name. The ``gesture/human_pose`` JointTrajectory has no
    field for them: it carries the poses only (``decode_human_pose`` gives ``strokes=()``).
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
        if self.first_frame < 0:
            raise ContractError(f"first_frame must be >= 0, got {self.first_frame}")
        strokes = []
        for i, stroke in enumerate(self.strokes):
            if not isinstance(stroke, (tuple, list)) or len(stroke) != 2:
                raise ContractError(f"strokes[{i}] must be a (time, label) pair, got {stroke!r}")
            t = _finite_float(stroke[0], f"strokes[{i}] time")
            if t < 0 or (strokes and t < strokes[-1][0]):
                raise ContractError(f"strokes[{i}] time {t} is negative or before the previous stroke")
            if not isinstance(stroke[1], str) or not stroke[1]:
                raise ContractError(f"strokes[{i}] label must be a non-empty string, got {stroke[1]!r}")
            strokes.append((t, stroke[1]))
        self.strokes = tuple(strokes)

    def times(self) -> np.ndarray:
        """Time of every frame (s, from the utterance start), (N,)."""
        return (self.first_frame + np.arange(len(self.poses))) / GESTURE_FPS


def encode_human_pose(msg: Any, seq: GestureSequence, point_factory: Any) -> Any:
    """Fill a ``JointTrajectory``; ``point_factory`` makes a ``JointTrajectoryPoint``."""
    msg.header.frame_id = seq.utterance_id
    ns_to_stamp(seq.start_ns, msg.header.stamp)
    msg.joint_names = list(HUMAN_POSE_NAMES)
    points = []
    for t, pose in zip(seq.times(), seq.poses):
        p = point_factory()
        p.positions = [float(v) for v in pose]
        ns_to_stamp(round(t * NS_PER_S), p.time_from_start)
        points.append(p)
    msg.points = points
    return msg


def decode_human_pose(msg: Any) -> GestureSequence:
    """Validate structure and timing of a human pose trajectory.

    Checks names, 27 finite values per point, and frame times on the 15 fps grid, strictly
    increasing. Values are returned as sent: repairing bad bone vectors (zero length, far from
    unit) is the retargeter's job, which logs what it repaired.
    """
    uid = validate_utterance_id(msg.header.frame_id)
    if tuple(msg.joint_names) != HUMAN_POSE_NAMES:
        raise ContractError(f"human pose joint_names must be the 27 {HUMAN_POSE_NAMES[0]}... names")
    if not msg.points:
        raise ContractError("human pose trajectory has no points")
    frames, poses = [], []
    for i, p in enumerate(msg.points):
        if len(p.positions) != skeleton.POSE_DIM:
            raise ContractError(f"points[{i}] has {len(p.positions)} positions, expected {skeleton.POSE_DIM}")
        t = stamp_to_ns(p.time_from_start) / NS_PER_S
        frame = t * GESTURE_FPS
        if abs(frame - round(frame)) > 1e-3:
            raise ContractError(f"points[{i}] time {t:.6f} s is not on the {GESTURE_FPS:g} fps grid")
        frames.append(int(round(frame)))
        poses.append(np.asarray(p.positions, dtype=np.float64))
    if np.any(np.diff(frames) != 1):
        raise ContractError("human pose points must be consecutive frames")
    poses_arr = np.stack(poses)
    if not np.all(np.isfinite(poses_arr)):
        raise ContractError("human pose contains NaN or inf")
    return GestureSequence(uid, stamp_to_ns(msg.header.stamp), poses_arr, first_frame=frames[0])


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


def decode_joint_trajectory(msg: Any) -> JointCommand:
    uid = msg.header.frame_id or "unnamed"
    names = list(msg.joint_names)
    if not msg.points:
        raise ContractError("joint trajectory has no points")
    times, pos, vel = [], [], []
    for i, p in enumerate(msg.points):
        if len(p.positions) != len(names):
            raise ContractError(f"points[{i}] has {len(p.positions)} positions for {len(names)} joints")
        times.append(stamp_to_ns(p.time_from_start) / NS_PER_S)
        pos.append(list(p.positions))
        vel.append(list(p.velocities) if len(p.velocities) == len(names) else None)
    velocities = np.asarray(vel, dtype=np.float64) if all(v is not None for v in vel) else None
    return JointCommand(uid, stamp_to_ns(msg.header.stamp), names, np.asarray(times), np.asarray(pos), velocities)
