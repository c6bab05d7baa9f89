"""The speech source node as its own process over real DDS: espeak-ng speech, files, microphone."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import soundfile as sf

from gesture_core import contracts as c
from gesture_core.speech.assembly import UtteranceAssembler
from gesture_core.speech.audio_io import load_audio
from gesture_core.speech.word_timing import split_words

pytestmark = pytest.mark.ros
String = pytest.importorskip("std_msgs.msg").String
msgs = pytest.importorskip("gesture_msgs.msg")

NODE = "gesture_ros.speech_source_node"


class Listener:
    """Collects the speech source's outputs and checks each finished utterance.

    Messages on different topics are not ordered, so an utterance counts as finished once its
    end event *and* all the samples it announces have arrived.
    """

    def __init__(self, ros):
        self.events: list[c.UtteranceEvent] = []
        self.words: list[c.WordTimings] = []
        self.chunks: list[c.AudioChunk] = []
        self.audio: dict[str, np.ndarray] = {}
        ros.node.create_subscription(
            msgs.UtteranceEvent, c.UTTERANCE.name, lambda m: self.events.append(c.decode_utterance(m)), 100
        )
        ros.node.create_subscription(
            msgs.Words, c.WORDS.name, lambda m: self.words.append(c.decode_words(m)), 100
        )
        ros.node.create_subscription(
            msgs.AudioChunk, c.AUDIO.name, lambda m: self.chunks.append(c.decode_audio(m)), 2000
        )

    def finished(self) -> list[c.UtteranceEvent]:
        """End events of the utterances whose audio has fully arrived, in order."""
        received: dict[str, int] = {}
        for ch in self.chunks:
            received[ch.utterance_id] = received.get(ch.utterance_id, 0) + ch.samples.size
        return [e for e in self.events if e.event == "end" and received.get(e.utterance_id, 0) == e.n_samples]

    def check(self, end: c.UtteranceEvent) -> c.UtteranceEvent:
        """Rebuild the utterance with the shared UtteranceAssembler, which fails on any gap or
        overlap; check every stamp is start + offset. Returns the start event."""
        uid = end.utterance_id
        (start,) = [e for e in self.events if e.utterance_id == uid and e.event == "start"]
        assert self.events.index(start) < self.events.index(end)
        assembler = UtteranceAssembler(on_note=lambda note: pytest.fail(f"{uid}: {note}"))
        assembler.start(start)
        offset = 0
        for ch in (ch for ch in self.chunks if ch.utterance_id == uid):
            assert ch.stamp_ns == start.start_ns + offset * c.NS_PER_S // c.AUDIO_SAMPLE_RATE
            assembler.add(ch)
            offset += ch.samples.size
        self.audio[uid] = assembler.end(end).audio.copy()
        assert self.audio[uid].size == end.n_samples > 0
        return start


def ros_now(ros) -> int:
    return ros.node.get_clock().now().nanoseconds


def test_say_speaks_queues_and_survives_bad_text(ros):
    listener = Listener(ros)
    say = ros.node.create_publisher(String, c.SAY.name, 10)
    node = ros.start(NODE, {"mode": "tts", "lead_time": 0.3, "chunk_ms": 100})
    ros.wait_for_subscribers(say)
    ros.wait_for_publishers("/" + c.AUDIO.name)
    ros.spin_for(0.5)  # let the node match our subscriptions too

    text = "Hello robot, please wave your hand."
    sent_ns = ros_now(ros)
    say.publish(String(data=text))
    ros.spin_until(lambda: len(listener.finished()) == 1, 30, "the end of the first utterance")
    start = listener.check(listener.finished()[0])
    assert (start.source, start.text, start.language, start.words_known) == ("tts", text, "en", True)
    assert start.start_ns > sent_ns
    (words,) = listener.words
    assert words.utterance_id == start.utterance_id and words.final and words.source == "tts"
    assert [w.word for w in words.words] == [w.text for w in split_words(text)]
    assert words.words[-1].end <= listener.audio[start.utterance_id].size / c.AUDIO_SAMPLE_RATE
    assert float(np.sqrt(np.mean(listener.audio[start.utterance_id] ** 2))) > 0.01

    # Malformed texts are dropped; two texts sent at once are spoken one after the other.
    say.publish(String(data="   "))
    say.publish(String(data="x" * (c.MAX_SAY_CHARS + 1)))
    say.publish(String(data="One more sentence."))
    say.publish(String(data="안녕하세요 로봇입니다"))
    ros.spin_until(lambda: len(listener.finished()) == 3, 40, "two more utterances")
    assert node.alive()
    first, second = (listener.check(end) for end in listener.finished()[1:])
    assert second.language == "ko" and [w.word for w in listener.words[-1].words] == [
        "안녕하세요",
        "로봇입니다",
    ]
    first_end_ns = first.start_ns + listener.finished()[1].n_samples * c.NS_PER_S // c.AUDIO_SAMPLE_RATE
    assert second.start_ns >= first_end_ns
    log = node.log()
    assert "text to say is empty" in log and "limit 2000" in log and "queued" in log


def test_file_mode_publishes_start_up_file_and_play_file_requests(ros, tmp_path):
    rate = 22_050
    t = np.arange(int(0.8 * rate)) / rate
    stereo = np.stack([0.4 * np.sin(2 * np.pi * 300 * t), 0.2 * np.sin(2 * np.pi * 500 * t)], axis=1)
    wav = tmp_path / "hello.wav"
    sf.write(wav, stereo, rate, subtype="PCM_16")
    flac = tmp_path / "second.flac"
    sf.write(flac, 0.3 * np.sin(2 * np.pi * 200 * np.arange(4000) / 8000), 8000)

    listener = Listener(ros)
    play = ros.node.create_publisher(String, c.PLAY_FILE.name, 10)
    node = ros.start(NODE, {"mode": "file", "file_path": str(wav), "real_time": False, "language": "en"})
    ros.spin_until(lambda: len(listener.finished()) == 1, 30, "the start-up file")
    start = listener.check(listener.finished()[0])
    assert (start.source, start.words_known, start.language) == ("file", False, "en")
    np.testing.assert_array_equal(listener.audio[start.utterance_id], load_audio(wav))
    assert not listener.words

    ros.wait_for_subscribers(play)
    play.publish(String(data=str(tmp_path / "missing.wav")))
    play.publish(String(data=str(flac)))
    ros.spin_until(lambda: len(listener.finished()) == 2, 30, "the play_file request")
    second = listener.check(listener.finished()[1])
    assert listener.audio[second.utterance_id].size == 8000  # 0.5 s at 16 kHz
    assert (
        second.start_ns
        >= start.start_ns + listener.finished()[0].n_samples * c.NS_PER_S // c.AUDIO_SAMPLE_RATE
    )
    assert node.alive() and "missing.wav" in node.log()


@pytest.mark.skipif(importlib.util.find_spec("sounddevice") is not None, reason="sounddevice is installed")
def test_mic_mode_without_sounddevice_stays_up_and_says_what_to_install(ros):
    node = ros.start(NODE, {"mode": "mic"})
    ros.wait_for_publishers("/" + c.AUDIO.name)
    ros.spin_for(1.0)
    assert node.alive()
    assert "gesture-core[audio]" in node.log()
