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

Parameters (live-changeable): ``backend``, ``checkpoint``, ``execution_provider`` reload the
generator; a backend that cannot be built (missing or corrupt checkpoint) is logged as an error
and the node falls back to the procedural generator. ``speaker``, ``amplitude``, ``seed``,
``variability`` make the :class:`~gesture_core.generation.base.Style` of the next generation.
``diffusion_steps``, ``guidance_scale``, ``diffusion_eta`` are the DDIM sampler settings of the
diffusion backend (:class:`~gesture_core.models.diffusion.sampler.SamplerConfig`): a change is
applied to the loaded model without reloading it, from the next window on; fewer steps are
faster (each window costs one network call per step, two with guidance), more steps smoother.
Bad messages (malformed JSON, NaN audio, unknown utterance ids, gaps) are logged and dropped; a
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
from gesture_core.generation.factory import BACKENDS, EXECUTION_PROVIDERS, make_generator, providers_for
from gesture_core.generation.streaming import GestureStream
from gesture_core.models.diffusion.inference import DiffusionGeneratorBase
from gesture_core.models.diffusion.sampler import SamplerConfig
from gesture_core.models.procedural import ProceduralGenerator
from gesture_core.speech.assembly import ChunkResult, UtteranceAudio

from .ros_io import Param, declare_params, guarded, msg_class, run_node
from .utterance_input import INPUT_PARAMS, UtteranceInput

PARAMS = [
    Param("backend", "procedural", "gesture generator backend", choices=BACKENDS),
    Param("checkpoint", "", "checkpoint directory of a learned backend; empty: its shipped weights (gesture_core.weights)"),
    Param("execution_provider", "cpu", "onnxruntime execution provider of learned backends",
          choices=tuple(EXECUTION_PROVIDERS)),
    Param("speaker", -1, "speaker id of a learned model (-1: its average speaker)", range=(-1, 100_000)),
    Param("amplitude", 1.0, "scale of the motion around the mean pose (0: rest pose)", range=(0.0, 3.0)),
    Param("seed", 0, "random seed: the same seed and speech give the same motion", range=(0, 2**31 - 1)),
    Param("variability", 1.0, "scale of the generator's randomness", range=(0.0, 3.0)),
    Param("streaming", False, "generate every utterance in 2 s windows as audio arrives (always on for mic)"),
    Param("words_timeout", 2.0, "longest wait (s) for ASR words after an utterance ends", range=(0.0, 30.0)),
    Param("diffusion_steps", 8, "diffusion backend: DDIM denoising steps per window (4-10 is real-time)",
          range=(1, 50)),
    Param("guidance_scale", 1.0, "diffusion backend: classifier-free guidance scale (1: conditional "
          "model only, one network call per step; otherwise two)", range=(0.0, 10.0)),
    Param("diffusion_eta", 0.0, "diffusion backend: DDIM stochasticity (0: deterministic given the seed, "
          "1: ancestral sampling)", range=(0.0, 1.0)),
    *INPUT_PARAMS,
]  # fmt: skip

T = TypeVar("T")

#: Parameters whose change rebuilds the generator.
RELOAD = {"backend", "checkpoint", "execution_provider"}
#: Parameters of the diffusion sampler, applied to the loaded generator.
SAMPLER = {"diffusion_steps", "guidance_scale", "diffusion_eta"}
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
        self._p = declare_params(self, PARAMS, on_change=self._on_params)
        self._procedural = ProceduralGenerator()
        _warm_up(self._procedural)  # the fallback must be ready as well
        self._generator: GestureGenerator = self._procedural
        self._load_generator()
        self._words: OrderedDict[str, list[c.Word]] = OrderedDict()
        self._features: OrderedDict[str, c.AudioFeatures] = OrderedDict()
        self._waiting: dict[str, _Waiting] = {}
        self._done: deque[str] = deque(maxlen=256)

        self._Sequence = msg_class(c.HUMAN_POSE)
        self._pub = self.create_publisher(self._Sequence, c.HUMAN_POSE.name, c.HUMAN_POSE.depth)
        self._input = UtteranceInput(
            self, self._on_start, self._on_audio, self._on_end, self._on_cancel,
            max_open=self._p["max_open_utterances"], max_seconds=self._p["max_utterance_s"],
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

    def _on_params(self, changes: dict) -> None:
        self._p.update(changes)
        if RELOAD & set(changes):
            self._load_generator()
        elif SAMPLER & set(changes) and isinstance(self._generator, DiffusionGeneratorBase):
            self._generator.sampler = self._sampler()
            self.get_logger().info(f"diffusion sampler: {self._generator.describe()}")

    def _sampler(self) -> SamplerConfig:
        p = self._p
        return SamplerConfig(steps=p["diffusion_steps"], eta=p["diffusion_eta"], guidance=p["guidance_scale"])

    def _load_generator(self) -> None:
        """Build the configured backend; on failure log why and use the procedural generator."""
        backend = self._p["backend"]
        try:
            generator = make_generator(
                backend,
                self._p["checkpoint"] or None,
                providers_for(self._p["execution_provider"]),
                sampler=self._sampler(),
            )
            took = _warm_up(generator)
            self._generator = generator
            settings = f", {generator.describe()}" if isinstance(generator, DiffusionGeneratorBase) else ""
            source = self._p["checkpoint"] or ("shipped weights" if backend != "procedural" else "no weights")
            self.get_logger().info(
                f"generator backend: {backend} ({source}{settings}), "
                f"warmed up in {took:.2f} s"
            )
        except GestureError as exc:
            self._generator = self._procedural
            self.get_logger().error(
                f"cannot use backend {backend!r}: {exc}; falling back to the procedural generator"
            )

    def _style(self) -> Style:
        p = self._p
        speaker = None if p["speaker"] < 0 else p["speaker"]
        return Style(speaker=speaker, seed=p["seed"], amplitude=p["amplitude"], variability=p["variability"])

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
        if utt.start.source == "mic" or self._p["streaming"]:
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
        elif uid in self._words or self._p["words_timeout"] <= 0:
            self._generate_utterance(utt)
        else:  # ASR words come after the audio; TTS words are published first but may be overtaken
            self._waiting[uid] = _Waiting(utt, self._service_s + self._p["words_timeout"])

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
                    f"{uid}: no final words within {self._p['words_timeout']:g} s; gesturing from audio alone"
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
            poses = generator.generate(speech, style)
        except GestureError as exc:
            if generator is self._procedural:
                raise
            self._fallback_note(uid, generator, exc)
            generator = self._procedural
            poses = generator.generate(speech, style)
        self._publish(utt, poses, 0)
        self.get_logger().info(
            f"{uid}: {len(poses)} frames ({utt.duration:.2f} s, {len(speech.words)} words, "
            f"{'given' if speech.features is not None else 'computed'} features) by {generator.name}"
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

    def _publish(self, utt: UtteranceAudio, poses: np.ndarray, first_frame: int) -> None:
        if not np.all(np.isfinite(poses)):
            self.get_logger().error(f"{utt.utterance_id}: generator returned NaN/inf poses; dropped")
            return
        seq = c.GestureSequence(utt.utterance_id, utt.start.start_ns, poses, first_frame)
        self._pub.publish(c.encode_human_pose(self._Sequence(), seq))

    def _finished(self, uid: str) -> None:
        self._done.append(uid)
        self._words.pop(uid, None)
        self._features.pop(uid, None)


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
