"""Stream a speech file into the gesture graph in real time, as another program's speech arrives.

    stream_wav FILE [--words FILE.TextGrid] [--chunk 0.1] [--delay 0.3] [--language en]

The example client of the streamed-speech input (``docs/topics.md``, "Streamed speech from another
program"). A dialogue system or voice agent that synthesises speech and plays it itself does what
this client does, with the project's message contracts (``gesture_core.contracts``) and QoS
(``gesture_ros.ros_io.publisher_qos``):

1. ``speech/utterance`` START: a new utterance id, source ``stream``, ``start_time`` = the ROS time
   its first sample plays (here: now + ``--delay``);
2. ``speech/audio``: the audio as it is produced, 16 kHz mono float32, each chunk stamped with the
   play time of its first sample and carrying its sample index (here: ``--chunk`` s at a time, each
   published as its audio would be produced, in real time);
3. optionally ``speech/words`` (source ``stream``, ``words_known`` in the START event so that the ASR
   node skips the utterance): the timed words, once all are known (here: read from a TextGrid, sent
   with the last chunk);
4. ``speech/utterance`` END with the number of samples sent.

Without words the graph's ASR node recognises the audio (Vosk; the bundled model is Korean). The
robot gestures with the speech window by window as it arrives (``gesture_generator``: live input).
The client exits when the utterance is sent; status 1 with one line on a bad file.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import rclpy
from rclpy.node import Node

from gesture_core import contracts as c
from gesture_core.data.textgrid import read_words
from gesture_core.errors import GestureError
from gesture_core.speech.audio_io import load_audio

from .ros_io import msg_class, publisher_qos

#: How long the client waits for the graph's audio consumers to appear (s).
DISCOVERY_TIMEOUT_S = 30.0
#: How long it keeps its node after the END event, so that the last messages are delivered (s).
LINGER_S = 1.0


class WavStreamer(Node):
    """Publishes one utterance of ``audio`` (S,) 16 kHz mono on the speech topics in real time."""

    def __init__(self, audio: np.ndarray, words: list[c.Word], language: str | None):
        super().__init__(f"stream_wav_{uuid.uuid4().hex[:8]}")
        self.audio, self.words, self.language = audio, words, language
        self._Event, self._Chunk = msg_class(c.UTTERANCE), msg_class(c.AUDIO)
        self._Words, self._Word = msg_class(c.WORDS), msg_class(c.WORD_MSG)
        self._events = self.create_publisher(self._Event, c.UTTERANCE.name, publisher_qos(c.UTTERANCE))
        self._chunks = self.create_publisher(self._Chunk, c.AUDIO.name, publisher_qos(c.AUDIO))
        self._words = self.create_publisher(self._Words, c.WORDS.name, publisher_qos(c.WORDS))

    def wait_for_consumers(self, n: int, timeout_s: float) -> bool:
        """True once ``n`` subscribers of ``speech/audio`` are matched (False after ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while self._chunks.get_subscription_count() < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self._chunks.get_subscription_count() >= n

    def stream(self, chunk_s: float, delay_s: float) -> str:
        """Send the utterance: START, the chunks in real time (each once its audio would be produced
        by a real-time synthesiser that started now; its first sample plays ``delay_s`` after that),
        the words after the last chunk, END. Returns its id."""
        uid = f"stream-{uuid.uuid4().hex[:8]}"
        start_ns = self.get_clock().now().nanoseconds + round(delay_s * c.NS_PER_S)
        start = c.UtteranceEvent(uid, "start", start_ns, "stream", language=self.language,
                                 words_known=bool(self.words))  # fmt: skip
        self._events.publish(c.encode_utterance(self._Event(), start))
        self.get_logger().info(f"{uid}: streaming {self.audio.size / c.AUDIO_SAMPLE_RATE:.2f} s of speech")
        step = max(1, round(chunk_s * c.AUDIO_SAMPLE_RATE))
        began = time.monotonic()
        for first in range(0, self.audio.size, step):
            block = self.audio[first : first + step]
            produced_s = (first + block.size) / c.AUDIO_SAMPLE_RATE  # the chunk exists once it is produced
            time.sleep(max(0.0, began + produced_s - time.monotonic()))
            stamp = start_ns + round(first * c.NS_PER_S / c.AUDIO_SAMPLE_RATE)
            self._chunks.publish(c.encode_audio(self._Chunk(), c.AudioChunk(uid, stamp, block, first)))
        if self.words:
            words = c.WordTimings(uid, self.words, True, "stream")
            self._words.publish(c.encode_words(self._Words(), words, self._Word))
        end = c.UtteranceEvent(uid, "end", start_ns, "stream", language=self.language,
                               words_known=bool(self.words), n_samples=int(self.audio.size))  # fmt: skip
        self._events.publish(c.encode_utterance(self._Event(), end))
        self.get_logger().info(f"{uid}: sent ({self.audio.size} samples)")
        return uid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="stream_wav", description=__doc__.split("\n\n")[0])
    parser.add_argument("file", type=Path, help="speech file (WAV/FLAC, any rate: resampled to 16 kHz mono)")
    parser.add_argument("--words", type=Path, help="TextGrid with a 'words' tier: the timed words to send")
    parser.add_argument("--chunk", type=float, default=0.1, help="seconds of audio per chunk (default 0.1)")
    parser.add_argument("--delay", type=float, default=0.3,
                        help="seconds between producing a sample and playing it (default 0.3)")  # fmt: skip
    parser.add_argument("--language", default=None, help='language code of the speech ("en", "ko")')
    parser.add_argument("--consumers", type=int, default=1, help="audio subscribers to wait for (default 1)")
    args, ros_args = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if not 0.01 <= args.chunk <= 1.0 or not 0.0 <= args.delay <= 5.0:
        parser.error("--chunk must be in [0.01, 1] s and --delay in [0, 5] s")
    try:
        audio = load_audio(args.file)
        words = read_words(args.words) if args.words else []
    except GestureError as exc:
        print(f"stream_wav: {exc}", file=sys.stderr)
        return 1
    rclpy.init(args=[sys.argv[0], *ros_args])
    node = WavStreamer(audio, words, args.language)
    try:
        if not node.wait_for_consumers(args.consumers, DISCOVERY_TIMEOUT_S):
            node.get_logger().warning(f"fewer than {args.consumers} audio consumers after {DISCOVERY_TIMEOUT_S:.0f} s")
        node.stream(args.chunk, args.delay)
        time.sleep(LINGER_S)
    except KeyboardInterrupt:
        return 130
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
