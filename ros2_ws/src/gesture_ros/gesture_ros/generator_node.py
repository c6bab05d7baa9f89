"""Gesture generator node: speech in, human gesture poses (TED format) out.

Subscribes ``speech/utterance`` + ``speech/audio`` (reassembled per utterance by
:class:`~gesture_ros.utterance_input.UtteranceInput`), ``speech/words`` and ``speech/features``;
publishes ``gesture/human_pose`` (:func:`~gesture_core.contracts.encode_human_pose`): frame_id =
utterance id, stamp = utterance start, frame ``first_frame + k`` plays ``(first_frame + k) / 15`` s
after the start.

Latency choices
---------------
- **Whole utterances** (sources ``tts`` and ``file``, which send all their audio at once, ahead of
  the start stamp): one message per utterance, generated as soon as the ``end`` event arrives,
  when all audio is there and the final ``speech/words`` of the utterance too. TTS publishes its
  exact words (``words_known``) before the audio, so they are normally there already; ASR words
  (``words_known`` false) come after the audio: the node waits for them at most ``words_timeout``
  seconds, then generates without text (audio-only gesturing): a late gesture is worse than one
  without words. The procedural backend takes about 15 ms per second of speech, audio features
  included (``benchmarks/generation.py``), well inside the lead the sources give.
- **Live input** (source ``mic``, or parameter ``streaming``): audio arrives in real time, so the
  node generates a window every 2 s (30 frames) of new audio, seeded with the last 4 frames of the
  previous window (:class:`~gesture_core.generation.streaming.GestureStream`), and publishes each
  window with its ``first_frame``; the tail is generated at the ``end`` event. Poses of a window
  are therefore up to 2 s plus generation time late for live speech; the retargeter plays what
  arrives late from where the robot is.
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
``backend``, ``checkpoint``, ``execution_provider`` reload the generator; a backend that cannot be
built (missing or corrupt checkpoint) is logged as an error and the node falls back to the
procedural generator. ``speaker``, ``amplitude``, ``seed``, ``variability`` make the
:class:`~gesture_core.generation.base.Style` of the next generation.

Backends are plug-ins (:mod:`gesture_core.models.registry`); this node imports none of them. Each
backend's own settings are declared as ``<backend>.<name>`` (e.g. ``diffusion.steps``, the DDIM
steps per window) from its description, and a change is applied to the loaded generator with
``configure(**settings)``, without reloading it, from the next window on.
Bad messages (wrong layout, NaN audio, unknown utterance ids, gaps) are logged and dropped; a
generator that fails on an utterance is logged and the procedural generator used for it instead.
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from rclpy.node import Node

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

from .ros_io import NodeSettings, guarded, msg_class, run_node
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
    """A complete utterance waiting for its ASR words until ``deadline`` (service-time s)."""

    utt: UtteranceAudio
    deadline: float


class GeneratorNode(Node):
    def __init__(self) -> None:
        super().__init__("gesture_generator")
        self._s = NodeSettings(self, GeneratorSettings, check=_backend_problem, on_change=self._on_settings)
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
        _warm_up(self._procedural)  # the fallback must be ready as well
        self._generator: GestureGenerator = self._procedural
        self._loaded = DEFAULT_BACKEND  # the backend of self._generator
        self._load_generator()
        self._words: OrderedDict[str, list[c.Word]] = OrderedDict()
        self._features: OrderedDict[str, c.AudioFeatures] = OrderedDict()
        self._waiting: dict[str, _Waiting] = {}
        self._done: deque[str] = deque(maxlen=256)

        self._Sequence = msg_class(c.HUMAN_POSE)
        self._pub = self.create_publisher(self._Sequence, c.HUMAN_POSE.name, c.HUMAN_POSE.depth)
        self._input = UtteranceInput(
            self, self._on_start, self._on_audio, self._on_end, self._on_cancel,
            max_open=self._s.value.max_open_utterances, max_seconds=self._s.value.max_utterance_s,
        )  # fmt: skip
        self.create_subscription(
            msg_class(c.WORDS), c.WORDS.name, guarded(self, c.WORDS.name)(self._on_words), c.WORDS.depth
        )
        self.create_subscription(
            msg_class(c.FEATURES),
            c.FEATURES.name,
            guarded(self, c.FEATURES.name)(self._on_features),
            c.FEATURES.depth,
        )
        self._service_s = 0.0  # service time (s): one TICK_S per timer call, see _check_deadlines
        self.create_timer(TICK_S, self._check_deadlines)
        self.get_logger().info(f"gesture generator ready: backend {self._generator.name}")

    # -- parameters ---------------------------------------------------------------------------------

    def _on_settings(self, _settings: GeneratorSettings, changes: set[str]) -> None:
        if RELOAD & changes:
            self._load_generator()

    def _backend_changed(self, name: str) -> Callable[[Settings, set[str]], None]:
        def apply(settings: Settings, _changes: set[str]) -> None:
            if self._loaded == name:  # else it applies when that backend is loaded
                self._generator.configure(**settings.as_dict())
                self.get_logger().info(f"{name} settings: {settings.as_dict()}")

        return apply

    def _backend_values(self, name: str) -> dict:
        own = self._backend_settings.get(name)
        return own.value.as_dict() if own is not None else {}

    def _load_generator(self) -> None:
        """Build the configured backend; on failure log why and use the procedural generator."""
        s = self._s.value
        try:
            settings = self._backend_values(s.backend)
            providers = providers_for(s.execution_provider)
            backend = make_generator(s.backend, s.checkpoint or None, providers, **settings)
            generator = with_gesture_layer(backend, self._layer)
            took = _warm_up(generator)
            self._generator, self._loaded = generator, s.backend
            learned = backends()[s.backend].needs_checkpoint
            source = (s.checkpoint or "its shipped weights") if learned else "no weights"
            extra = "".join(f", {k}={v}" for k, v in settings.items())
            self.get_logger().info(f"generator backend: {s.backend} ({source}{extra}), warmed up in {took:.2f} s")
        except GestureError as exc:
            self._generator, self._loaded = self._procedural, DEFAULT_BACKEND
            self.get_logger().error(
                f"cannot use backend {s.backend!r}: {exc}; falling back to the procedural generator"
            )

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

    def _on_start(self, utt: UtteranceAudio) -> GestureStream | None:
        """Live input gets a windowed stream; whole utterances wait for their end (None)."""
        if utt.start.source == "mic" or self._s.value.streaming:
            return GestureStream(self._generator, self._style(), utt.utterance_id)
        return None

    def _on_audio(self, res: ChunkResult, stream: GestureStream | None) -> None:
        utt = res.utterance
        if stream is None:
            return
        stream.style = self._style()  # style changes apply from the next window
        while stream.pending(utt.n_samples):
            window = self._stream_step(utt.utterance_id, stream, lambda: stream.next_window(utt.audio))
            self._publish(utt, window.poses, window.first_frame)

    def _on_end(self, utt: UtteranceAudio, stream: GestureStream | None) -> None:
        uid = utt.utterance_id
        if stream is not None:
            words = self._words.get(uid)
            self._finished(uid)
            window = self._stream_step(uid, stream, lambda: stream.finish(utt.audio, words))
            if window is not None:
                self._publish(utt, window.poses, window.first_frame)
        elif uid in self._words or self._s.value.words_timeout <= 0:
            self._generate_utterance(utt)
        else:  # ASR words come after the audio; TTS words are published first but may be overtaken
            self._waiting[uid] = _Waiting(utt, self._service_s + self._s.value.words_timeout)

    def _on_cancel(self, ev: c.UtteranceEvent, stream: GestureStream | None) -> None:
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
        for uid, waiting in list(self._waiting.items()):
            if self._service_s >= waiting.deadline:
                del self._waiting[uid]
                self.get_logger().info(
                    f"{uid}: no final words within {self._s.value.words_timeout:g} s; gesturing from audio alone"
                )
                try:
                    self._generate_utterance(waiting.utt)
                except GestureError as exc:  # a timer callback must not take the node down
                    self.get_logger().error(f"{uid}: generation failed: {exc}")

    # -- generation ---------------------------------------------------------------------------------

    def _generate_utterance(self, utt: UtteranceAudio) -> None:
        uid = utt.utterance_id
        speech = SpeechInput(utt.audio, self._words.get(uid, []), self._features.get(uid))
        self._finished(uid)
        if utt.n_samples == 0:
            self.get_logger().warning(f"{uid}: utterance has no audio; no gestures")
            return
        style = self._style()
        generator = self._generator
        try:
            result = generate_with_strokes(generator, speech, style)
        except GestureError as exc:
            if generator is self._procedural:
                raise
            self._fallback_note(uid, generator, exc)
            generator = self._procedural
            result = generate_with_strokes(generator, speech, style)
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


def _backend_problem(settings: GeneratorSettings) -> str | None:
    """Why ``settings.backend`` cannot be used: not an installed backend plug-in."""
    if settings.backend not in backends():
        return f"backend={settings.backend!r} is not one of the installed backends {list(backends())}"
    return None


def _warm_up(generator: GestureGenerator) -> float:
    """Run ``generator`` once on 1 s of quiet noise; returns the seconds it took.

    The first call of a generator compiles what it compiles (librosa's numba kernels, an
    onnxruntime session's first run), several seconds on a small CPU: done at load time, not on
    the first utterance, whose gestures would otherwise arrive late.
    """
    audio = (0.05 * np.random.default_rng(0).standard_normal(c.AUDIO_SAMPLE_RATE)).astype(np.float32)
    t0 = time.perf_counter()
    generator.generate(SpeechInput(np.clip(audio, -1, 1)), Style())
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
