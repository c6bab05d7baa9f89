"""Text to speech: real espeak-ng (its C library), English and Korean, and the word-timing rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core.contracts import AUDIO_SAMPLE_RATE, WordTimings
from gesture_core.errors import ConfigError, SpeechError
from gesture_core.speech.tts import EspeakTTS, pick_voice
from gesture_core.speech.word_timing import split_words, time_words, voiced_frames


@pytest.fixture(scope="module")
def tts() -> EspeakTTS:
    return EspeakTTS()


def check_speech(speech, text: str) -> None:
    """Audio is 16 kHz float32 in [-1, 1] and not silent; one timed word per word of the text,
    monotonic and inside the audio; valid as a words message."""
    audio = speech.audio
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert np.all(np.abs(audio) <= 1.0) and np.sqrt(np.mean(audio**2)) > 0.01
    assert [w.word for w in speech.words] == [w.strip('.,!?"') for w in text.split()]
    starts = np.array([w.start for w in speech.words])
    ends = np.array([w.end for w in speech.words])
    assert np.all(np.diff(starts) > 0), "every word starts after the previous one"
    assert np.all(starts < ends) and np.all(ends[:-1] <= starts[1:] + 1e-9)
    assert starts[0] >= 0 and ends[-1] <= speech.duration
    WordTimings("tts-1", speech.words, final=True, source="tts")  # the topic contract accepts them


def test_english_sentence(tts):
    text = "The robot waves its hand, then points at the big red door."
    speech = tts.synthesize(text)
    assert (speech.voice, speech.language) == ("en-us", "en")
    assert 1.5 < speech.duration < 8.0
    check_speech(speech, text)


def test_korean_sentence_picks_the_korean_voice(tts):
    text = "안녕하세요. 오늘 날씨가 정말 좋네요!"  # espeak reports no word event for 날씨가
    speech = tts.synthesize(text)
    assert (speech.voice, speech.language) == ("ko", "ko")
    check_speech(speech, text)


def test_word_times_follow_the_audio(tts):
    """Each word's interval holds voiced audio, and the comma pause lies between two words."""
    speech = tts.synthesize("Hello, world.")
    voiced = voiced_frames(speech.audio)
    for w in speech.words:
        assert voiced[int(w.start / 0.01) : int(np.ceil(w.end / 0.01))].mean() > 0.5, w
    hello, world = speech.words
    gap = voiced[int(hello.end / 0.01) + 1 : int(world.start / 0.01) - 1]
    assert world.start - hello.end > 0.05 and not gap.any()


def test_rate_changes_duration(tts):
    text = "Speaking faster makes the sentence shorter."
    slow, fast = tts.synthesize(text, rate=120), tts.synthesize(text, rate=300)
    assert fast.duration < 0.7 * slow.duration
    assert fast.words[-1].start < slow.words[-1].start


def test_missing_voice_library_and_bad_options_raise(tts):
    with pytest.raises(SpeechError, match="no-such-voice"):
        tts.synthesize("hello", voice="no-such-voice")
    with pytest.raises(SpeechError, match="empty"):
        tts.synthesize("   ")
    with pytest.raises(ConfigError, match="rate"):
        tts.synthesize("hello", rate=10)
    with pytest.raises(SpeechError, match="libespeak-missing"):
        EspeakTTS(library="libespeak-missing.so.9")
    with pytest.raises(SpeechError, match="default_voice"):
        EspeakTTS(default_voice="no-such-voice")
    assert tts.synthesize("still works").words[-1].word == "works"


def test_pick_voice():
    assert pick_voice("hello") == "en-us"
    assert pick_voice("로봇 hello") == "ko"
    assert pick_voice("로봇", voice="en-gb") == "en-gb"


def test_split_words_keeps_inner_punctuation():
    words = split_words('He said "yes" (really) -- e-mail me at 3:30, ok?')
    assert [w.text for w in words] == ["He", "said", "yes", "really", "e-mail", "me", "at", "3:30", "ok"]
    text = 'He said "yes"'
    assert [text[w.start : w.end] for w in split_words(text)] == ["He", "said", "yes"]


def test_time_words_interpolates_missing_and_ignores_stray_events():
    text = "one two three four"
    audio = np.full(2 * AUDIO_SAMPLE_RATE, 0.5, np.float32)  # 2 s, voiced throughout
    # events for "one" (char 0) and "four" (char 14); a stray repeat of char 4 after "four"
    words = time_words(text, [(0, 0.0), (14, 1.4), (4, 1.6)], audio)
    assert [w.word for w in words] == ["one", "two", "three", "four"]
    assert words[0].start == 0.0 and words[3].start == pytest.approx(1.4)
    assert words[1].start == pytest.approx(0.4) and words[2].start == pytest.approx(0.8)  # by characters
    assert words[3].end == pytest.approx(2.0)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from("ab 가나,.-'"), max_size=40),
    events=st.lists(st.tuples(st.integers(-2, 45), st.floats(-1.0, 5.0)), max_size=12),
    n_samples=st.integers(0, 3 * AUDIO_SAMPLE_RATE),
    silence_from=st.floats(0.0, 1.0),
)
def test_time_words_always_valid(text, events, n_samples, silence_from):
    """Whatever events a synthesiser reports, the words are those of the text, monotonic, inside
    the audio and accepted by the words contract."""
    audio = np.full(n_samples, 0.3, np.float32)
    audio[int(silence_from * n_samples) :] = 0.0
    words = time_words(text, events, audio)
    assert [w.word for w in words] == [w.text for w in split_words(text)]
    duration = n_samples / AUDIO_SAMPLE_RATE
    for w in words:
        assert 0.0 <= w.start <= w.end <= duration + 1e-9
    if words:
        WordTimings("tts-1", words, final=True, source="tts")
