"""Streamed speech from another program (issue #15): the example client ``stream_wav`` publishes a
speech file on the speech topics as a real-time producer would (START with source ``stream``, audio
chunks as they are produced, each stamped with its play time, the words, END), over real DDS."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from synthetic_clips import write_textgrid

from gesture_core import contracts as c

pytestmark = [pytest.mark.ros]
rclpy = pytest.importorskip("rclpy")
from gesture_msgs.msg import AudioChunk, UtteranceEvent, Words  # noqa: E402

TIMEOUT = 30.0
SECONDS = 2.0
#: A chunk may reach a subscriber this late after its audio was produced (s): DDS on a loaded 2-core machine.
DELIVERY_S = 1.0


def test_the_client_streams_an_utterance_in_real_time_with_its_words(ros, tmp_path):
    audio = (0.2 * np.sin(2 * np.pi * 220 * np.arange(int(SECONDS * c.AUDIO_SAMPLE_RATE)) / c.AUDIO_SAMPLE_RATE))
    sf.write(tmp_path / "speech.wav", audio.astype(np.float32), c.AUDIO_SAMPLE_RATE, subtype="FLOAT")
    write_textgrid(tmp_path / "speech.TextGrid", {"words": [(0.2, 0.8, "hello"), (1.0, 1.6, "robot")]})
    events: dict[str, c.UtteranceEvent] = {}
    chunks: list[tuple[int, c.AudioChunk]] = []  # (receive time ns, chunk)
    words: list[c.WordTimings] = []

    def on_event(msg) -> None:
        ev = c.decode_utterance(msg)
        events[ev.event] = ev

    ros.node.create_subscription(UtteranceEvent, c.UTTERANCE.name, on_event, c.UTTERANCE.depth)
    ros.node.create_subscription(
        AudioChunk, c.AUDIO.name,
        lambda m: chunks.append((ros.node.get_clock().now().nanoseconds, c.decode_audio(m))), c.AUDIO.depth,
    )  # fmt: skip
    ros.node.create_subscription(Words, c.WORDS.name, lambda m: words.append(c.decode_words(m)), c.WORDS.depth)
    client = subprocess.Popen(
        [sys.executable, "-m", "gesture_ros.stream_wav", str(tmp_path / "speech.wav"), "--words",
         str(tmp_path / "speech.TextGrid"), "--chunk", "0.1", "--delay", "0.3"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    ros.spin_until(lambda: "end" in events or client.poll() not in (None, 0), TIMEOUT, "the end of the stream")
    n = events["end"].n_samples  # the END event may overtake the last chunk (another topic)
    ros.spin_until(lambda: sum(ch.samples.size for _, ch in chunks) >= n and words, 5.0, "every chunk and the words")
    assert client.wait(10) == 0, client.communicate()[0]  # (after the spinning: receive times stay exact)

    start, end = events["start"], events["end"]
    assert start.source == "stream" and start.words_known and end.n_samples == audio.size
    assert [ch.first_sample for _, ch in chunks] == list(range(0, audio.size, 1600))  # 0.1 s each, in order
    np.testing.assert_allclose(np.concatenate([ch.samples for _, ch in chunks]), audio, atol=1e-6)
    for received, ch in chunks:
        assert ch.stamp_ns == start.start_ns + round(ch.first_sample * c.NS_PER_S / c.AUDIO_SAMPLE_RATE)
        # produced in real time: a chunk exists once its last sample is produced, 0.3 s before it plays
        produced = ch.stamp_ns + round((ch.samples.size / c.AUDIO_SAMPLE_RATE - 0.3) * c.NS_PER_S)
        assert produced - 0.05 * c.NS_PER_S <= received <= produced + DELIVERY_S * c.NS_PER_S, ch.first_sample
    [sent] = words
    assert sent.final and sent.source == "stream" and [(w.word, w.start) for w in sent.words] == [
        ("hello", 0.2), ("robot", 1.0)
    ]  # fmt: skip
