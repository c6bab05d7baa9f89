"""Gesture generator node: speech in, human gesture poses (TED format) out.

Subscribes ``speech/utterance`` + ``speech/audio`` (reassembled per utterance by
:class:`~gesture_ros.utterance_input.UtteranceInput`), ``speech/words`` and ``speech/features``;
publishes ``gesture/human_pose`` (:func:`~gesture_core.contracts.encode_human_pose`): frame_id =
utterance id, stamp = utterance start, frame ``first_frame + k`` plays ``(first_frame + k) / 15`` s
after the start.

Latency choices
---------------
- **Whole utterances** (sources ``tts`` and ``file``, which send their audio ahead of the start
  stamp): one message per utterance, generated as soon as the ``end`` event arrives, when all
  audio is there and the final ``speech/words`` of the utterance too. TTS publishes its exact
  words (``words_known``) before the audio, so they are normally there already; ASR words
  (``words_known`` false) come after the audio: the node waits for them at most ``words_timeout``
  seconds **and at the latest until ``deadline_margin`` s plus the expected generation time before
  the utterance plays**, then generates without text (audio-only gesturing): a late gesture is
  worse than one without words. The generation time is learned from every generation
  (:class:`~gesture_core.timing.PlanningTime`, from a warm run at load time on), so a busy machine
  ends the wait earlier.
  The procedural backend takes about 15 ms per second of speech, audio features included
  (``benchmarks/generation.py``), well inside the lead the sources give.
- **Live input** (source ``mic`` or ``stream``, or parameter ``streaming``): audio arrives in real time, so the
  node generates a window every 2 s (30 frames) of new audio, seeded with the last 4 frames of the
  previous window (:class:`~gesture_core.generation.streaming.GestureStream`), and publishes each
  window with its ``first_frame``; the tail is generated at the ``end`` event. Poses of a window
  are therefore up to 2 s plus generation time late for live speech; the retargeter plays what
  arrives late from where the robot is.
- **Long input**: a whole utterance whose audio is still incomplete ``deadline_margin`` s before
  it plays (checked at every chunk and timer tick; a long file: its source sends it at most ``publish_ahead`` s, and a bounded number of
  chunks, ahead) is generated the live way from then on, in windows as its audio arrives (with
  its words when they are known), instead of waiting for its end.
- Every generator is run once on a second of noise when it is loaded (start-up, backend switch):
  first calls compile kernels (librosa's numba code, onnxruntime sessions) for seconds, which
  must not delay the first utterance.
- Features: the final ``speech/features`` of the utterance are used when they arrived before
  generation (they are computed anyway by the features node); otherwise the generator computes
  them itself rather than wait. Streaming windows always compute their own (with context).

Every backend runs under the lexicon and markup layer (:mod:`gesture_core.gestures.layer`, lexicon
``lexicon_file``, read at start-up): whole utterances are published with their planned strokes
(``GestureSequence.strokes``: beats and lexicon gestures, target times). Streaming windows get the
layer too, but without words until the utterance ends (live speech's ASR words come last).

Parameters (:class:`~gesture_core.node_settings.GeneratorSettings`, live-changeable):
``backend``, ``checkpoint``, ``execution_provider`` reload the generator. The new generator is
built (and warmed up) while the change is validated: a backend that cannot be built (missing,
corrupt or unreadable checkpoint) refuses the change with the reason, and the parameters keep
reading what runs. At start-up such a backend is logged as an error, the node falls back to the
procedural generator and sets ``backend`` to ``procedural``. ``speaker``, ``amplitude``,
``seed``, ``variability`` make the :class:`~gesture_core.generation.base.Style` of the next
generation.

Backends are plug-ins (:mod:`gesture_core.models.registry`); this node imports none of them. Each
backend's own settings are declared as ``<backend>.<name>`` (e.g. ``diffusion.steps``, the DDIM
steps per window) from its description, and a change is applied to the loaded generator with
``configure(**settings)``, without reloading it, from the next window on.
Bad messages (wrong layout, NaN audio, unknown utterance ids, gaps) are logged and dropped; a
generator that fails on an utterance is logged and the procedural generator used for it instead.
Final features that do not fit their utterance's audio (another length) are ignored (logged).
"""

from __future__ import annotations

import math
import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from gesture_core import contracts as c
from gesture_core.errors import GestureError
from gesture_core.generation.base import GestureGenerator, SpeechInput, Style
from gesture_core.generation.factory import make_generator, providers_for
from gesture_core.generation.streaming import GestureStream
from gesture_core.gestures.layer import GestureLayer, generate_with_strokes, with_gesture_layer
from gesture_core.gestures.lexicon import load_lexicon
from gesture_core.models.registry import backends
from gesture_core.node_settings import DEFAULT_BACKEND, GeneratorSettings
from gesture_core.settings import Settings, specs
from gesture_core.speech.assembly import ChunkResult, UtteranceAudio
from gesture_core.timing import PlanningTime

from rclpy.parameter import Parameter

from .ros_io import GestureNode, NodeSettings, error_log, guard, guarded, msg_class, publisher_qos, run_node
from .utterance_input import UtteranceInput

T = TypeVar("T")

#: Parameters whose change rebuilds the generator.
RELOAD = {"backend", "checkpoint", "execution_provider"}
#: How many utterances' final words / features are remembered.
KEEP = 16


#: Period of the timer that checks word deadlines (s); also the step of the service clock.
TICK_S = 0.05


@dataclass
class _Waiting:
    """A complete utterance waiting for its ASR words until ``deadline`` (service-time s), and at
    the latest until ROS time ``due_ns``."""

    utt: UtteranceAudio
    deadline: float
    due_ns: int


@dataclass
class _Utterance:
    """The node's state of one open utterance: its windowed stream, once it is generated live."""

    stream: GestureStream | None = None


class GeneratorNode(GestureNode):
    def __init__(self) -> None:
        super().__init__("gesture_generator")
        self._candidate: tuple[tuple, GestureGenerator] | None = None  # built while a change is validated
        self._s = NodeSettings(self, GeneratorSettings, check=self._check_settings, on_change=self._on_settings)
        #: each backend's own settings, as parameters <backend>.<name>
        self._backend_settings: dict[str, NodeSettings[Settings]] = {
            name: NodeSettings(self, b.settings, prefix=f"{name}.", on_change=self._backend_changed(name))
            for name, b in backends().items()
            if specs(b.settings)
        }
        #: the lexicon and markup layer over every backend (lexicon_file is read once, at start-up)
        self._layer = GestureLayer(load_lexicon(self._s.value.lexicon_file or None))
        lexicon = self._layer.lexicon
        self.get_logger().info(f"gesture lexicon {lexicon.source}: {len(lexicon.gestures)} gestures")
        self.get_logger().info("warming up the generators (numba and onnxruntime kernels)")
        self._procedural = with_gesture_layer(make_generator(DEFAULT_BACKEND), self._layer)
        #: how long generating takes, learned from every generation: the wait for words ends early enough
        self._timing = PlanningTime()
        self._timing.update(c.GESTURE_FPS, _warm_up(self._procedural))  # the fallback must be ready as well
        self._generator: GestureGenerator = self._procedural
        self._loaded = DEFAULT_BACKEND  # the backend of self._generator
        self._loaded_key: tuple = _load_key(self._s.value.replace(backend=DEFAULT_BACKEND))
        self._load_at_startup()
        self._words: OrderedDict[str, list[c.Word]] = OrderedDict()
        self._features: OrderedDict[str, c.AudioFeatures] = OrderedDict()
        self._waiting: dict[str, _Waiting] = {}
        self._done: deque[str] = deque(maxlen=256)

        self._Sequence = msg_class(c.HUMAN_POSE)
        self._pub = self.create_publisher(self._Sequence, c.HUMAN_POSE.name, publisher_qos(c.HUMAN_POSE))
        self._input = UtteranceInput(
            self, self._on_start, self._on_audio, self._on_end, self._on_cancel,
            max_open=self._s.value.max_open_utterances, max_seconds=self._s.value.max_utterance_s,
        )  # fmt: skip
        self.create_subscription(msg_class(c.WORDS), c.WORDS.name, self._on_words, c.WORDS.depth)
        self.create_subscription(msg_class(c.FEATURES), c.FEATURES.name, self._on_features, c.FEATURES.depth)
        self._service_s = 0.0  # service time (s): one TICK_S per timer call, see _check_deadlines
        self.create_timer(TICK_S, self._check_deadlines)
        self.get_logger().info(f"gesture generator ready: backend {self._generator.name}")

    # -- parameters ---------------------------------------------------------------------------------

    def _check_settings(self, candidate: GeneratorSettings) -> str | None:
        """Why ``candidate`` cannot be used, or None. A change of backend, checkpoint or execution
        provider builds the new generator here, before the change is accepted (kept for
        :meth:`_on_settings`), so that a generator that cannot be built refuses the change."""
        if (problem := _backend_problem(candidate)) is not None:
            return problem
        if getattr(self, "_s", None) is None or _load_key(candidate) == self._loaded_key:
            return None  # start-up (loaded after the parameters are declared), or nothing to reload
        try:
            self._candidate = (_load_key(candidate), self._build(candidate))
        except Exception as exc:  # GestureError, and anything a loader raises (OSError: a name too long, ...)
            self._candidate = None
            what = f"backend={candidate.backend!r}"
            if backends()[candidate.backend].needs_checkpoint:
                what += f" with checkpoint={candidate.checkpoint or '(its shipped weights)'!r}"
            return f"{what} cannot be used: {_one_line(exc)}"
        return None

    def _on_settings(self, settings: GeneratorSettings, changes: set[str]) -> None:
        if not RELOAD & changes:
            return
        key = _load_key(settings)
        if key == self._loaded_key:
            return
        candidate, self._candidate = self._candidate, None
        if candidate is None or candidate[0] != key:  # not built by the check (cannot happen): build now
            candidate = (key, self._build(settings))
        self._use(settings, candidate[1])

    def _backend_changed(self, name: str) -> Callable[[Settings, set[str]], None]:
        def apply(settings: Settings, _changes: set[str]) -> None:
            if self._loaded == name:  # else it applies when that backend is loaded
                self._generator.configure(**settings.as_dict())
                self.get_logger().info(f"{name} settings: {settings.as_dict()}")

        return apply

    def _backend_values(self, name: str) -> dict:
        own = self._backend_settings.get(name)
        return own.value.as_dict() if own is not None else {}

    def _build(self, s: GeneratorSettings) -> GestureGenerator:
        """The generator of settings ``s``, built and warmed up; raises what its loader raises."""
        backend = make_generator(
            s.backend, s.checkpoint or None, providers_for(s.execution_provider), **self._backend_values(s.backend)
        )
        generator = with_gesture_layer(backend, self._layer)
        _warm_up(generator)
        return generator

    def _use(self, s: GeneratorSettings, generator: GestureGenerator) -> None:
        if generator is not getattr(self, "_generator", generator):
            self._timing = PlanningTime()  # another generator: learned afresh (a slower one at once)
        self._generator, self._loaded, self._loaded_key = generator, s.backend, _load_key(s)
        learned = backends()[s.backend].needs_checkpoint
        source = (s.checkpoint or "its shipped weights") if learned else "no weights"
        extra = "".join(f", {k}={v}" for k, v in self._backend_values(s.backend).items())
        self.get_logger().info(f"generator backend: {s.backend} ({source}{extra}), warmed up")

    def _load_at_startup(self) -> None:
        """Build the start-up backend; on failure log why, use the procedural generator and set
        ``backend`` to ``procedural``, so the parameter reads what runs."""
        s = self._s.value
        if s.backend == DEFAULT_BACKEND:
            self._use(s, self._procedural)
            return
        try:
            self._use(s, self._build(s))
        except Exception as exc:  # GestureError, or whatever a loader raises
            self.get_logger().error(
                f"cannot use backend {s.backend!r}: {_one_line(exc)}; falling back to the procedural generator "
                f"(parameter backend set to {DEFAULT_BACKEND!r})"
            )
            (result,) = self.set_parameters([Parameter("backend", value=DEFAULT_BACKEND)])
            if not result.successful:  # the procedural generator always builds; say so if it did not
                self.get_logger().error(f"could not set backend={DEFAULT_BACKEND!r}: {result.reason}")

    def _style(self) -> Style:
        p = self._s.value
        speaker = None if p.speaker < 0 else p.speaker
        return Style(speaker=speaker, seed=p.seed, amplitude=p.amplitude, variability=p.variability)

    # -- inputs -------------------------------------------------------------------------------------

    def _on_words(self, msg: object) -> None:
        words = c.decode_words(msg)
        if not words.final:
            return  # partial ASR results may still change
        uid = words.utterance_id
        if uid in self._done:
            self.get_logger().warning(
                f"final words for {uid!r} arrived after its gestures were generated; dropped"
            )
            return
        _remember(self._words, uid, words.words)
        waiting = self._waiting.pop(uid, None)
        if waiting is not None:
            self._generate_utterance(waiting.utt)

    def _on_features(self, msg: object) -> None:
        features = c.decode_features(msg)
        if features.final and features.utterance_id not in self._done:
            _remember(self._features, features.utterance_id, features)
        elif features.final:
            self.get_logger().debug(
                f"features for {features.utterance_id!r} arrived after its gestures; unused"
            )

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _due_ns(self, utt: UtteranceAudio) -> int:
        """ROS time by which the generation of the utterance's audio so far must start for its
        gestures to be published ``deadline_margin`` s before it plays (the expected generation
        time of that audio, :attr:`_timing`, ahead of that)."""
        frames = math.ceil(utt.duration * c.GESTURE_FPS)
        lead = self._s.value.deadline_margin + self._timing.estimate(frames)
        return utt.start.start_ns - round(lead * c.NS_PER_S)

    def _on_start(self, utt: UtteranceAudio) -> _Utterance:
        """Live input gets a windowed stream; whole utterances wait for their end (or their deadline)."""
        if utt.start.source in c.LIVE_SOURCES or self._s.value.streaming:
            return _Utterance(GestureStream(self._generator, self._style(), utt.utterance_id))
        return _Utterance()

    def _on_audio(self, res: ChunkResult, state: _Utterance) -> None:
        if state.stream is None and not res.completed:
            self._stream_if_due(res.utterance, state)
        self._stream_windows(res.utterance, state)

    def _stream_if_due(self, utt: UtteranceAudio, state: _Utterance) -> bool:
        """Generate a whole utterance in windows from now on if its audio is still incomplete
        ``deadline_margin`` s before it plays (checked at every chunk and every tick: a
        flow-controlled source sends the next chunks only as the first ones play). True if it
        started streaming."""
        now = self._now_ns()
        if now < utt.start.start_ns - round(self._s.value.deadline_margin * c.NS_PER_S):
            return False
        self.get_logger().info(
            f"{utt.utterance_id}: {utt.duration:.2f} s of audio so far and it plays in "
            f"{(utt.start.start_ns - now) / c.NS_PER_S:.2f} s: generating it in windows as its audio arrives"
        )
        state.stream = GestureStream(self._generator, self._style(), utt.utterance_id)
        return True

    def _stream_windows(self, utt: UtteranceAudio, state: _Utterance) -> None:
        """Generate and publish every window of a streamed utterance that its audio now covers."""
        stream = state.stream
        if stream is None:
            return
        stream.style = self._style()  # style changes apply from the next window
        words = self._words.get(utt.utterance_id)  # known words (TTS) go with the windows
        while stream.pending(utt.n_samples):
            began = time.perf_counter()
            window = self._stream_step(utt.utterance_id, stream, lambda: stream.next_window(utt.audio, words))
            self._timing.update(len(window.poses), time.perf_counter() - began)
            self._publish(utt, window.poses, window.first_frame)

    def _on_end(self, utt: UtteranceAudio, state: _Utterance) -> None:
        uid = utt.utterance_id
        stream = state.stream
        if stream is not None:
            words = self._words.get(uid)
            self._finished(uid)
            window = self._stream_step(uid, stream, lambda: stream.finish(utt.audio, words))
            if window is not None:
                self._publish(utt, window.poses, window.first_frame)
        elif uid in self._words or self._s.value.words_timeout <= 0:
            self._generate_utterance(utt)
        elif self._now_ns() >= self._due_ns(utt):
            self._give_up_words(utt, "no time is left to wait for its words")
        else:  # ASR words come after the audio; TTS words are published first but may be overtaken
            self._waiting[uid] = _Waiting(utt, self._service_s + self._s.value.words_timeout, self._due_ns(utt))

    def _on_cancel(self, ev: c.UtteranceEvent, state: _Utterance | None) -> None:
        """A canceled utterance gets no (more) gestures; the retargeter takes the robot to rest."""
        self._waiting.pop(ev.utterance_id, None)
        self._finished(ev.utterance_id)

    def _check_deadlines(self) -> None:
        """Generate, without words, the utterances whose words are overdue.

        The wait is measured in *service time*, which advances one tick per timer call: rclpy
        serves a due timer before waiting messages, so after a long callback a wall-clock deadline
        would give up on words that are merely queued.
        """
        self._service_s += TICK_S
        for utt, state in self._input.open_utterances():
            if state.stream is None and not utt.complete and utt.n_samples and self._stream_if_due(utt, state):
                guard(self, self._stream_windows, f"the windows of {utt.utterance_id}")(utt, state)
        now = self._now_ns()
        for uid, waiting in list(self._waiting.items()):
            if self._service_s >= waiting.deadline:
                why = f"no final words within {self._s.value.words_timeout:g} s"
            elif now >= waiting.due_ns:
                ahead = (waiting.utt.start.start_ns - now) / c.NS_PER_S
                why = f"no final words {ahead:.2f} s before it plays (time left to generate it in time)"
            else:
                continue
            del self._waiting[uid]
            guard(self, self._give_up_words, f"the generation of {uid}")(waiting.utt, why)

    def _give_up_words(self, utt: UtteranceAudio, why: str) -> None:
        self.get_logger().info(f"{utt.utterance_id}: {why}; gesturing from audio alone")
        self._generate_utterance(utt)

    # -- generation ---------------------------------------------------------------------------------

    def _generate_utterance(self, utt: UtteranceAudio) -> None:
        uid = utt.utterance_id
        features = self._features.get(uid)
        if features is not None and not _fits(features, utt.duration):
            error_log(self).warning(
                f"{uid}: its features ({features.n_frames} frames at {features.frame_rate:g} Hz from "
                f"{features.t0:g} s) do not fit its {utt.duration:.2f} s of audio; computing them here"
            )
            features = None
        speech = SpeechInput(utt.audio, self._words.get(uid, []), features)
        self._finished(uid)
        if utt.n_samples == 0:
            self.get_logger().warning(f"{uid}: utterance has no audio; no gestures")
            return
        style = self._style()
        generator = self._generator
        began = time.perf_counter()
        try:
            result = generate_with_strokes(generator, speech, style)
        except GestureError as exc:
            if generator is self._procedural:
                raise
            self._fallback_note(uid, generator, exc)
            generator = self._procedural
            result = generate_with_strokes(generator, speech, style)
        else:
            self._timing.update(len(result.poses), time.perf_counter() - began)
        self._publish(utt, result.poses, 0, result.strokes)
        gestures = ", ".join(f"{p.name}@{p.time:.2f}s" for p in result.gestures)
        self.get_logger().info(
            f"{uid}: {len(result.poses)} frames ({utt.duration:.2f} s, {len(speech.words)} words, "
            f"{'given' if speech.features is not None else 'computed'} features) by {generator.name}, "
            f"{len(result.strokes)} strokes" + (f", gestures {gestures}" if gestures else "")
        )

    def _stream_step(self, uid: str, stream: GestureStream, step: Callable[[], T]) -> T:
        """``step()`` of a stream; if its generator fails, switch the stream to procedural and redo it."""
        try:
            return step()
        except GestureError as exc:
            if stream.generator is self._procedural:
                raise
            self._fallback_note(uid, stream.generator, exc)
            stream.generator = self._procedural
            return step()

    def _fallback_note(self, uid: str, generator: GestureGenerator, exc: Exception) -> None:
        self.get_logger().error(
            f"{uid}: generator {generator.name} failed ({exc}); using the procedural generator"
        )

    def _publish(
        self,
        utt: UtteranceAudio,
        poses: np.ndarray,
        first_frame: int,
        strokes: tuple[tuple[float, str], ...] = (),
    ) -> None:
        if not np.all(np.isfinite(poses)):
            self.get_logger().error(f"{utt.utterance_id}: generator returned NaN/inf poses; dropped")
            return
        seq = c.GestureSequence(utt.utterance_id, utt.start.start_ns, poses, first_frame, strokes)
        self._pub.publish(c.encode_human_pose(self._Sequence(), seq))

    def _finished(self, uid: str) -> None:
        self._done.append(uid)
        self._words.pop(uid, None)
        self._features.pop(uid, None)


def _load_key(s: GeneratorSettings) -> tuple:
    """What decides which generator runs: backend, checkpoint (for a learned backend), provider."""
    learned = backends()[s.backend].needs_checkpoint if s.backend in backends() else False
    return (s.backend, s.checkpoint if learned else "", s.execution_provider if learned else "")


def _one_line(exc: BaseException, limit: int = 300) -> str:
    """``exc`` as one readable line: its message (its type if it has none), at most ``limit`` characters."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if not isinstance(exc, GestureError):
        text = f"{type(exc).__name__}: {text}"
    return text if len(text) <= limit else text[:limit] + "..."


def _fits(features: c.AudioFeatures, duration: float) -> bool:
    """True when whole-utterance ``features`` cover ``duration`` s of audio from its start (within a frame)."""
    frame = 1.0 / features.frame_rate
    return abs(features.t0) <= frame and abs(features.n_frames * frame - duration) <= 2 * frame


def _backend_problem(settings: GeneratorSettings) -> str | None:
    """Why ``settings.backend`` cannot be used: not an installed backend plug-in."""
    if settings.backend not in backends():
        return f"backend={settings.backend!r} is not one of the installed backends {list(backends())}"
    return None


def _warm_up(generator: GestureGenerator) -> float:
    """Run ``generator`` twice on 1 s of quiet noise; returns the seconds the second, warm run took.

    The first call of a generator compiles what it compiles (librosa's numba kernels, an
    onnxruntime session's first run), several seconds on a small CPU: done at load time, not on
    the first utterance, whose gestures would otherwise arrive late.
    """
    audio = (0.05 * np.random.default_rng(0).standard_normal(c.AUDIO_SAMPLE_RATE)).astype(np.float32)
    speech = SpeechInput(np.clip(audio, -1, 1))
    generator.generate(speech, Style())
    t0 = time.perf_counter()
    generator.generate(speech, Style())
    return time.perf_counter() - t0


def _remember(store: OrderedDict, key: str, value: object) -> None:
    """Put ``value`` under ``key``, forgetting the oldest entries beyond :data:`KEEP`."""
    store[key] = value
    store.move_to_end(key)
    while len(store) > KEEP:
        store.popitem(last=False)


def main(args: list[str] | None = None) -> int:
    return run_node(GeneratorNode, args)


if __name__ == "__main__":
    sys.exit(main())
