"""Text to speech: real espeak-ng (its C library), English and Korean, and the word-timing rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core.contracts import AUDIO_SAMPLE_RATE, WordTimings
from gesture_core.errors import ConfigError, SpeechError
from gesture_core.speech.stress import PhonemeEvent, parse_phonemes, stress_times
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


def test_stressed_syllables_of_the_robots_own_speech(tts):
    """espeak's stress marks give each stressed word the onset of its stressed vowel; function
    words stay unstressed. The times are checked against the audio: a stressed vowel is voiced."""
    speech = tts.synthesize("Hello, I am a robot and you are wonderful. 안녕하세요")
    voiced = voiced_frames(speech.audio)
    by_word = {w.word: w for w in speech.words}
    for name in ("Hello", "robot", "wonderful"):
        w = by_word[name]
        assert w.stress is not None and w.start <= w.stress <= w.end, w
        assert voiced[int(w.stress / 0.01) : int(w.stress / 0.01) + 5].mean() > 0.5, w  # a vowel follows
    assert all(by_word[name].stress is None for name in ("I", "a", "and", "are"))
    # English stress falls on the second syllable of hello, on the first of robot and wonderful.
    w = by_word["Hello"]
    assert w.stress - w.start > 0.3 * (w.end - w.start), w
    for name in ("robot", "wonderful"):
        w = by_word[name]
        assert w.stress - w.start < 0.3 * (w.end - w.start), w
    korean = tts.synthesize("안녕하세요, 저는 로봇입니다.")
    assert all(w.stress is not None for w in korean.words)  # espeak stresses every Korean word
    WordTimings("tts-1", speech.words, final=True, source="tts")  # the contract: stress inside its word


def test_stress_alignment_of_phoneme_events_to_the_stress_marked_string():
    """Pure alignment: events (no stress) matched by name to espeak's stress-marked phoneme string;
    a pause only in the events, a symbol read aloud, an unstressed word."""
    text = "hello robot & I"
    text_words = split_words(text)
    words = time_words(text, [(0, 0.0), (6, 0.5), (15, 1.1)], np.ones(16000 * 2, dtype=np.float32) * 0.1)
    events = [
        PhonemeEvent(0, 0.00, "h"), PhonemeEvent(0, 0.05, "@"), PhonemeEvent(0, 0.10, "l"),
        PhonemeEvent(0, 0.20, "oU"), PhonemeEvent(0, 0.40, "_:"), PhonemeEvent(6, 0.50, "r"),
        PhonemeEvent(6, 0.55, "oU"), PhonemeEvent(6, 0.65, "b"), PhonemeEvent(6, 0.70, "0"),
        PhonemeEvent(6, 0.85, "t"), PhonemeEvent(12, 0.95, "a"), PhonemeEvent(15, 1.10, "aI"),
    ]  # fmt: skip
    marks = parse_phonemes("h|@|l|'oU r|'oU|b|,0|t 'a|n|d aI")
    assert [(m.name, m.level) for m in marks][:4] == [("h", 0), ("@", 0), ("l", 0), ("oU", 1)]
    stress = stress_times(text_words, words, events, marks)
    assert stress[0] == pytest.approx(0.20) and stress[1] == pytest.approx(0.55)
    assert stress[2] is None  # "I": unstressed; the stressed "and" belongs to the symbol "&"
    assert stress_times(text_words, words, events[:2], parse_phonemes("x|y|z|w")) == [None, None, None]


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
