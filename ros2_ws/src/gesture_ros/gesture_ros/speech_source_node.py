"""Speech source node: the robot's voice (espeak-ng), audio files, or a live microphone.

One node, three modes (parameter ``mode``, read at start-up):

- ``tts``: speaks every text on ``speech/say`` and every goal of the ``say`` action
  (:mod:`gesture_ros.say_action`: word feedback, a result once the robot is back at rest, cancel)
  with espeak-ng and publishes it as an utterance whose words are known (``speech/words``, final,
  source ``tts``), so ASR skips it. Inline gesture markup (``^start(wave) Hello``,
  :mod:`gesture_core.speech.markup`, names from the lexicon ``lexicon_file``) is removed before
  speaking and put on the words (``gesture``, ``suppress``; ``stress`` comes from espeak-ng);
  an unknown name is logged with the valid ones. When a gesture of the first words (markup or
  lexicon, e.g. a wave on "Hello") needs more preparation than the speech gives it, the audio
  starts with that much silence (:meth:`~gesture_core.gestures.layer.GestureLayer.preroll`), so
  the stroke lands on its word instead of late.
- ``file``: publishes ``file_path`` (if set) once something subscribes to ``speech/audio`` (at
  most ``startup_wait`` s after start-up), and every file named on ``speech/play_file``; words
  are not known, so ASR runs.
- ``mic``: streams the default microphone as one long utterance until shutdown, in real time.

Publishes ``speech/utterance`` (start, then end with ``n_samples``), ``speech/words`` and
``speech/audio`` (chunks of ``chunk_ms``). An utterance starts playing ``lead_time`` after its
start event; the next one waits until the previous has finished playing (texts and files that
arrive meanwhile are queued, never dropped). Audio chunks go out up to ``publish_ahead`` s before
they play -- by default all of an utterance at once, because gesture generation wants the whole
audio early; the playback itself keeps real time. ``real_time:=false`` publishes everything as
fast as possible (stamps still lay the utterances end to end). The audio is played on the
loudspeaker when sounddevice and a device exist (``play_audio``); otherwise timing is kept as if
it were played. The :class:`~gesture_core.speech.schedule.SpeechSchedule` does the timing; this
node decodes, calls the core and publishes.
"""

from __future__ import annotations

import queue
import sys
import time

import numpy as np

from gesture_core import contracts as c
from gesture_core.errors import ConfigError, SpeechError
from gesture_core.gestures.layer import GestureLayer
from gesture_core.gestures.lexicon import load_lexicon
from gesture_core.speech.audio_io import load_audio
from gesture_core.speech.markup import parse_markup
from gesture_core.speech.playback import AudioPlayer, Microphone
from gesture_core.speech.schedule import (
    Pacing,
    PlayCue,
    SpeechSchedule,
    Utterance,
    new_utterance_id,
    samples_to_ns,
)
from gesture_core.node_settings import SpeechSourceSettings
from gesture_core.speech.tts import EspeakTTS

from .ros_io import GestureNode, NodeSettings, guarded, msg_class, publisher_qos, run_node
from .say_action import SayActionServer

#: Period of the timer that publishes what is due (s).
TICK_S = 0.02


class SpeechSourceNode(GestureNode):
    """Publishes utterances from espeak-ng, audio files or the microphone (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__("speech_source")
        self._tts: EspeakTTS | None = None
        self._s = NodeSettings(self, SpeechSourceSettings, check=lambda s: self._voice_problem(s.voice),
                               on_change=lambda _s, _changed: self._set_pacing())  # fmt: skip
        self._set_pacing()
        self._schedule = SpeechSchedule()
        self._counter = 0
        self._Event, self._Chunk, self._Words = msg_class(c.UTTERANCE), msg_class(c.AUDIO), msg_class(c.WORDS)
        self._Word = msg_class(c.WORD_MSG)
        self._utterance_pub = self.create_publisher(self._Event, c.UTTERANCE.name, publisher_qos(c.UTTERANCE))
        self._words_pub = self.create_publisher(self._Words, c.WORDS.name, publisher_qos(c.WORDS))
        self._audio_pub = self.create_publisher(self._Chunk, c.AUDIO.name, c.AUDIO.depth)
        self._player = AudioPlayer(
            enabled=self._s.value.play_audio and self._s.value.mode != "mic", logger=self.get_logger()
        )
        self._startup: tuple[Utterance, float] | None = None  # start-up file and its deadline (monotonic s)
        self._mic: Microphone | None = None
        self._mic_blocks: queue.SimpleQueue[np.ndarray] = queue.SimpleQueue()
        self._mic_start: c.UtteranceEvent | None = None
        self._mic_samples = 0
        self._say: SayActionServer | None = None
        self._layer: GestureLayer | None = None  # tts mode: markup names and the first gesture's preparation

        mode = self._s.value.mode
        if mode == "tts":
            self._tts = EspeakTTS()
            self._layer = GestureLayer(load_lexicon(self._s.value.lexicon_file or None))
            lexicon = self._layer.lexicon
            self.get_logger().info(f"gesture lexicon {lexicon.source}: {', '.join(lexicon.names)}")
            problem = self._voice_problem(self._s.value.voice)
            if problem:
                raise ConfigError(problem)
            self.create_subscription(msg_class(c.SAY), c.SAY.name, self._on_say, c.SAY.depth)
            self._say = SayActionServer(self, self._speak, self._cancel, self._now_ns)
        elif mode == "file":
            topic = c.PLAY_FILE
            self.create_subscription(msg_class(topic), topic.name, self._on_play_file, topic.depth)
            if self._s.value.file_path:
                self._load_startup_file(self._s.value.file_path)
        else:
            self._open_microphone()
        self.create_timer(TICK_S, self._tick)
        self.get_logger().info(f"speech source ready, mode {mode}")

    # -- parameters -------------------------------------------------------------------------------

    def _voice_problem(self, voice: str) -> str | None:
        if voice and self._tts is not None and not self._tts.has_voice(voice):
            return f"voice={voice!r} is not an installed espeak-ng voice (see espeak-ng --voices)"
        return None

    def _set_pacing(self) -> None:
        s = self._s.value
        self._pacing = Pacing(s.lead_time, float(s.chunk_ms), s.publish_ahead, s.real_time)

    # -- inputs ------------------------------------------------------------------------------------

    def _on_say(self, msg: object) -> None:
        self._speak(c.SayRequest(c.decode_say(msg)))

    def _speak(self, req: c.SayRequest) -> Utterance:
        """Synthesize ``req`` (its voice and rate, else the parameters') and queue it."""
        assert self._tts is not None
        voice = req.voice or self._s.value.voice
        if (problem := self._voice_problem(voice)) is not None:
            raise ConfigError(problem)  # synthesize() refuses a rate outside RATE_RANGE
        assert self._layer is not None
        marked = parse_markup(req.text, self._layer.lexicon.names, log=False)
        for note in marked.notes:
            self.get_logger().warning(f"markup in {req.text!r}: {note}")
        rate = req.rate or self._s.value.rate
        speech = self._tts.synthesize(marked.text, voice or None, rate, self._s.value.pitch)
        speech.words = marked.annotate(speech.words)
        delay = self._layer.preroll(speech.words)  # e.g. a wave on the first word needs its preparation
        speech = speech.delayed(delay)
        uid = self._new_id("tts")
        utt = Utterance(uid, "tts", speech.audio, marked.text, speech.language, speech.words)
        gestures = ", ".join(f"{w.gesture}@{w.word!r}" for w in speech.words if w.gesture)
        what = f"{len(speech.words)} words, voice {speech.voice}"
        if gestures:
            what += f", markup gestures {gestures}"
        if delay > 0:
            what += f", speech delayed {delay:.2f} s to prepare its first gesture"
        self._enqueue(utt, what)
        return utt

    def _cancel(self, utterance_id: str) -> None:
        """Stop ``utterance_id``: unpublished chunks dropped, the loudspeaker stopped, ``cancel`` published."""
        events = self._schedule.cancel(utterance_id, self._now_ns())
        for m in events:
            self._player.stop()
            self._publish(m)
        self.get_logger().info(f"{utterance_id}: canceled" + ("" if events else " before it started"))

    def _on_play_file(self, msg: object) -> None:
        path = c.decode_play_file(msg)
        self._enqueue(self._file_utterance(path), path)

    def _file_utterance(self, path: str) -> Utterance:
        return Utterance(self._new_id("file"), "file", load_audio(path), language=self._s.value.language or None)

    def _load_startup_file(self, path: str) -> None:
        try:
            utt = self._file_utterance(path)
        except SpeechError as exc:
            self.get_logger().error(f"file_path: {exc}; waiting for speech/play_file")
            return
        self._startup = (utt, time.monotonic() + self._s.value.startup_wait)

    def _enqueue(self, utt: Utterance, what: str) -> None:
        now = self._now_ns()
        busy = not self._schedule.idle(now)
        ahead = self._schedule.push(utt)
        seconds = utt.audio.size / c.AUDIO_SAMPLE_RATE
        if busy:
            wait = max(0, self._schedule.timeline_end_ns - now) / c.NS_PER_S
            self.get_logger().info(
                f"{utt.utterance_id} ({what}, {seconds:.2f} s) queued: speech in progress for "
                f"{wait:.2f} s more, {ahead} utterance(s) ahead"
            )
        else:
            self.get_logger().info(f"{utt.utterance_id} ({what}, {seconds:.2f} s)")
        self._tick()

    def _new_id(self, prefix: str) -> str:
        self._counter += 1
        return new_utterance_id(prefix, self._counter)

    # -- output ------------------------------------------------------------------------------------

    def _now_ns(self) -> int:
        return self.get_clock().now().nanoseconds

    def _tick(self) -> None:
        if self._startup is not None:
            utt, deadline = self._startup
            if self._audio_pub.get_subscription_count() > 0 or time.monotonic() >= deadline:
                self._startup = None
                self._enqueue(utt, self._s.value.file_path)
                return  # _enqueue ticked already
        for m in self._schedule.step(self._now_ns(), self._pacing):
            self._publish(m)
        self._drain_microphone()
        if self._say is not None:
            self._say.tick()

    def _publish(self, m: c.UtteranceEvent | c.WordTimings | c.AudioChunk | PlayCue) -> None:
        if isinstance(m, c.UtteranceEvent):
            self._utterance_pub.publish(c.encode_utterance(self._Event(), m))
            if m.event == "start" and self._say is not None:
                self._say.started(m)
        elif isinstance(m, c.WordTimings):
            self._words_pub.publish(c.encode_words(self._Words(), m, self._Word))
        elif isinstance(m, c.AudioChunk):
            self._audio_pub.publish(c.encode_audio(self._Chunk(), m))
        else:
            self._player.play(m.audio)

    # -- microphone --------------------------------------------------------------------------------

    def _open_microphone(self) -> None:
        try:
            self._mic = Microphone(self._pacing.chunk_samples, self._mic_blocks.put, logger=self.get_logger())
            self._mic.start()
        except SpeechError as exc:
            self._mic = None
            self.get_logger().error(f"mode mic: {exc}. The node stays up but publishes no audio.")

    def _drain_microphone(self) -> None:
        """Publish the captured blocks as chunks of one utterance; it starts with the first block."""
        while not self._mic_blocks.empty():
            block = np.clip(self._mic_blocks.get_nowait(), -1.0, 1.0)
            if self._mic_start is None:  # the first block ends about now
                start_ns = max(0, self._now_ns() - samples_to_ns(block.size))
                uid = self._new_id("mic")
                self._mic_start = c.UtteranceEvent(
                    uid, "start", start_ns, "mic", language=self._s.value.language or None
                )
                self._publish(self._mic_start)
                self.get_logger().info(f"{uid}: streaming the microphone")
            stamp = self._mic_start.start_ns + samples_to_ns(self._mic_samples)
            self._publish(c.AudioChunk(self._mic_start.utterance_id, stamp, block, self._mic_samples))
            self._mic_samples += block.size

    def destroy_node(self) -> None:
        self._player.stop()
        if self._mic is not None:
            self._mic.close()
            s = self._mic_start
            if s is not None:
                end = c.UtteranceEvent(s.utterance_id, "end", s.start_ns, "mic", language=s.language,
                                       n_samples=self._mic_samples)  # fmt: skip
                try:  # the context may already be shut down (Ctrl-C): the end event is best effort
                    self._publish(end)
                except Exception as exc:
                    self.get_logger().warning(f"could not publish the end of {s.utterance_id}: {exc}")
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    return run_node(SpeechSourceNode, args)


if __name__ == "__main__":
    sys.exit(main())
