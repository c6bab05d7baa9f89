"""Inline gesture markup (NAOqi animated-speech style) in the text the robot speaks.

The parser is pure; the last test runs the real espeak-ng TTS on the plain text and puts the
markup onto its timed words, as the speech source does.
"""

from __future__ import annotations

import logging

import pytest

from gesture_core.contracts import Word, WordTimings
from gesture_core.errors import ContractError
from gesture_core.speech.markup import parse_markup
from gesture_core.speech.tts import EspeakTTS
from gesture_core.speech.word_timing import split_words

NAMES = ["wave", "nod", "big", "shake"]


def words_of(marked) -> list[str]:
    return [w.text for w in split_words(marked.text)]


def test_plain_text_is_unchanged():
    m = parse_markup("Hello there, robot!", NAMES)
    assert (m.text, m.requests, m.suppressed, m.notes) == ("Hello there, robot!", {}, frozenset(), ())


def test_requests_and_suppressed_spans_are_removed_and_mapped_to_words():
    m = parse_markup(
        "^start(wave) Hello! I am ^mode(disabled) just talking, ^mode(contextual) and ^run(big) this is big.",
        NAMES,
    )
    assert m.text == "Hello! I am just talking, and this is big."
    words = words_of(m)
    assert {words[i]: name for i, name in m.requests.items()} == {"Hello": "wave", "this": "big"}
    assert [words[i] for i in sorted(m.suppressed)] == ["just", "talking"]
    assert "^" not in m.text and "(" not in m.text  # the markup is never spoken


def test_nested_markup():
    """A request inside a suppressed span still fires; modes are a state (a second disabled changes
    nothing, one contextual ends it); a command inside a word applies to that word."""
    m = parse_markup(
        "^mode(disabled) one ^mode(disabled) two ^start(nod) three ^mode(contextual) four fi^start(shake)ve",
        NAMES,
    )
    words = words_of(m)
    assert words == ["one", "two", "three", "four", "five"]
    assert [words[i] for i in sorted(m.suppressed)] == ["one", "two", "three"]
    assert {words[i]: n for i, n in m.requests.items()} == {"three": "nod", "five": "shake"}


def test_unknown_gesture_is_logged_with_the_valid_names_and_the_text_still_spoken(caplog):
    with caplog.at_level(logging.WARNING, logger="gesture_core.speech.markup"):
        m = parse_markup("^start(wavve) Hello ^wait(wave) there ^start(nod", NAMES)
    assert m.text == "Hello there "
    assert m.requests == {}
    assert "unknown gesture 'wavve'" in caplog.text and "valid names: big, nod, shake, wave" in caplog.text
    assert "^wait(wave)" in caplog.text and "malformed" in caplog.text
    assert len(m.notes) == 3


def test_markup_at_the_end_of_the_text_goes_on_the_last_word():
    m = parse_markup("Goodbye everyone ^start(wave)", NAMES)
    assert m.text.strip() == "Goodbye everyone"
    assert m.requests == {1: "wave"} and "last word 'everyone'" in m.notes[0]
    assert parse_markup("^start(wave)", NAMES).requests == {}  # no word at all: dropped, noted
    two = parse_markup("^start(nod) ^start(wave) yes", NAMES)
    assert two.requests == {0: "wave"} and "replaced" in two.notes[0]


def test_korean_markup():
    m = parse_markup(
        "^start(wave) 안녕하세요! ^mode(disabled) 저는 로봇입니다. ^mode(random) ^start(nod) 네", NAMES
    )
    assert m.text == "안녕하세요! 저는 로봇입니다. 네"
    words = words_of(m)
    assert {words[i]: n for i, n in m.requests.items()} == {"안녕하세요": "wave", "네": "nod"}
    assert [words[i] for i in sorted(m.suppressed)] == ["저는", "로봇입니다"]


def test_any_name_is_accepted_without_a_lexicon_but_must_be_a_name():
    assert parse_markup("^start(my_gesture) hi").requests == {0: "my_gesture"}
    assert parse_markup("^start(two words) hi").requests == {}
    assert parse_markup("x^2 costs 3^ more").text == "x^2 costs 3^ more"  # not commands: plain text


def test_annotated_tts_words():
    """The real TTS speaks the plain text; the markup lands on its timed words."""
    m = parse_markup("^start(wave) Hello! ^mode(disabled) I am quiet ^mode(contextual) now.", NAMES)
    speech = EspeakTTS().synthesize(m.text)
    words = m.annotate(speech.words)
    assert [(w.word, w.gesture, w.suppress) for w in words] == [
        ("Hello", "wave", False), ("I", "", True), ("am", "", True), ("quiet", "", True), ("now", "", False),
    ]  # fmt: skip
    WordTimings("tts-1", words, final=True, source="tts")  # a valid speech/words message
    with pytest.raises(ContractError, match="timed words"):
        m.annotate([Word("Hello", 0.0, 0.5)])
