"""The speech front end end to end, three node processes over DDS: speech_source -> asr, audio_features.

A sentence goes in (``speech/say`` or ``speech/play_file``); the utterance events, its audio, its
words and its features must come out for the same utterance id, on one timeline.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest
import soundfile as sf

from gesture_core import contracts as c
from gesture_core.speech.tts import EspeakTTS

pytestmark = pytest.mark.ros
String = pytest.importorskip("std_msgs.msg").String
msgs = pytest.importorskip("gesture_msgs.msg")

SOURCE, ASR, FEATURES = "gesture_ros.speech_source_node", "gesture_ros.asr_node", "gesture_ros.audio_features_node"
SENTENCE = "안녕하세요 오늘 날씨가 정말 좋네요"
WINDOW_S = 1.0


class Downstream:
    """Everything the front end publishes, decoded and grouped by utterance id."""

    def __init__(self, ros):
        self.ros = ros
        self.events: dict[str, dict[str, c.UtteranceEvent]] = defaultdict(dict)
        self.samples: dict[str, int] = defaultdict(int)
        self.first_stamp: dict[str, int] = {}
        self.words: dict[str, list[c.WordTimings]] = defaultdict(list)
        self.features: dict[str, list[c.AudioFeatures]] = defaultdict(list)
        node = ros.node
        node.create_subscription(msgs.UtteranceEvent, c.UTTERANCE.name, self._event, 50)
        node.create_subscription(msgs.AudioChunk, c.AUDIO.name, self._audio, 500)
        node.create_subscription(msgs.Words, c.WORDS.name, lambda m: self._add(self.words, c.decode_words(m)), 50)
        node.create_subscription(msgs.AudioFeatures, c.FEATURES.name, lambda m: self._add(self.features, c.decode_features(m)), 50)

    def _event(self, msg) -> None:
        ev = c.decode_utterance(msg)
        self.events[ev.utterance_id][ev.event] = ev

    def _audio(self, msg) -> None:
        chunk = c.decode_audio(msg)
        self.samples[chunk.utterance_id] += chunk.samples.size
        self.first_stamp.setdefault(chunk.utterance_id, chunk.stamp_ns)

    @staticmethod
    def _add(store: dict, item) -> None:
        store[item.utterance_id].append(item)

    def finished(self, source: str) -> str | None:
        """Id of an utterance whose end event, audio, final words and final features all arrived."""
        for uid, evs in self.events.items():
            if (
                "end" in evs
                and self.samples[uid] == evs["end"].n_samples
                and any(w.final and w.source == source for w in self.words[uid])
                and any(f.final for f in self.features[uid])
            ):
                return uid
        return None

    def check_timeline(self, uid: str) -> tuple[c.WordTimings, c.AudioFeatures]:
        """Audio, final words and final features of ``uid`` agree on one timeline; returns the last two."""
        start, end = self.events[uid]["start"], self.events[uid]["end"]
        assert start.start_ns == end.start_ns == self.first_stamp[uid], "first chunk must play at the start time"
        duration = end.n_samples / c.AUDIO_SAMPLE_RATE
        (words,) = [w for w in self.words[uid] if w.final]
        assert words.words and all(0 <= w.start <= w.end <= duration + 0.05 for w in words.words)
        (whole,) = [f for f in self.features[uid] if f.final]
        assert whole.t0 == 0 and whole.n_frames == math.ceil(duration * c.GESTURE_FPS)
        windows = [f for f in self.features[uid] if not f.final]
        assert len(windows) == int(duration // WINDOW_S)
        for j, win in enumerate(windows):
            assert win.t0 == pytest.approx(math.ceil(j * WINDOW_S * c.GESTURE_FPS - 1e-9) / c.GESTURE_FPS)
        # the words cover the loud part of the audio, as the features see it
        loud = whole.frame_times()[whole.rms > 0.1 * whole.rms.max()]
        assert words.words[0].start < loud[0] + 0.3 and words.words[-1].end > loud[-1] - 0.5
        return words, whole


def start_consumers(ros) -> list:
    return [ros.start(ASR), ros.start(FEATURES, {"window_s": WINDOW_S})]


def test_said_sentence_gives_audio_tts_words_and_features_for_one_utterance(ros):
    out = Downstream(ros)
    procs = [ros.start(SOURCE, {"mode": "tts", "play_audio": False}), *start_consumers(ros)]
    say = ros.node.create_publisher(String, c.SAY.name, 10)
    ros.wait_for_subscribers(say)
    for topic in (c.UTTERANCE.name, c.AUDIO.name):
        ros.spin_until(lambda t=topic: ros.node.count_subscribers(t) >= 3, 90, f"asr and features on {topic}")
    ros.wait_for_publishers(c.FEATURES.name)
    say.publish(String(data=SENTENCE))
    ros.spin_until(lambda: out.finished("tts") is not None, 60, "the utterance's audio, words and features")

    uid = out.finished("tts")
    assert out.events[uid]["start"].words_known and out.events[uid]["start"].source == "tts"
    words, _ = out.check_timeline(uid)
    assert [w.word for w in words.words] == SENTENCE.split()
    ros.spin_for(1.0)
    assert all(w.source == "tts" for w in out.words[uid]), "ASR must not recognise the robot's own speech"
    assert all(p.alive() for p in procs)


def test_played_file_gives_asr_words_and_features_for_one_utterance(ros, tmp_path):
    wav = tmp_path / "korean.wav"
    sf.write(wav, EspeakTTS().synthesize(SENTENCE, voice="ko").audio, c.AUDIO_SAMPLE_RATE)
    out = Downstream(ros)
    procs = [ros.start(SOURCE, {"mode": "file", "play_audio": False, "language": "ko"}), *start_consumers(ros)]
    play = ros.node.create_publisher(String, c.PLAY_FILE.name, 10)
    ros.wait_for_subscribers(play)
    for topic in (c.UTTERANCE.name, c.AUDIO.name):
        ros.spin_until(lambda t=topic: ros.node.count_subscribers(t) >= 3, 90, f"asr and features on {topic}")
    ros.wait_for_publishers(c.WORDS.name)
    ros.wait_for_publishers(c.FEATURES.name)
    play.publish(String(data=str(wav)))
    ros.spin_until(lambda: out.finished("asr") is not None, 60, "the utterance's audio, words and features")

    uid = out.finished("asr")
    assert out.events[uid]["start"].source == "file" and not out.events[uid]["start"].words_known
    out.check_timeline(uid)
    partials = [w for w in out.words[uid] if not w.final]
    assert partials and all(w.source == "asr" for w in partials)
    assert all(p.alive() for p in procs)
    assert np.isfinite(out.features[uid][-1].log_mel).all()
