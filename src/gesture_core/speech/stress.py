"""When each word's stressed syllable is spoken, from a synthesiser's phonemes and its stress marks.

espeak-ng tells two things that together give the time of every word's primary stressed
syllable, the place where a speaker's beat gesture lands:

- during synthesis, a **phoneme event** per phoneme: its name (espeak's ASCII mnemonic, ``oU``),
  the time it starts in the audio and the character position of the word it belongs to -- but no
  stress;
- ``espeak_TextToPhonemes``: the same phonemes of the same text, with **stress marks** (``'``
  primary, ``,`` secondary before the stressed vowel: ``h|@|l|'oU``) -- but no times.

:func:`stress_times` aligns the two phoneme sequences by name (``difflib.SequenceMatcher``; they
come from the same translator, so they normally agree except for pauses), which gives every
primary-stressed vowel its time and its word. A word's stress time is the onset of its first
primary-stressed vowel, clipped into the word's ``[start, end]``; words espeak does not stress
(function words such as *a*, *and*, *you*) get None.
"""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass

import numpy as np

from ..contracts import Word
from .word_timing import TextWord

_log = logging.getLogger(__name__)

#: Stress marks of espeak's phoneme strings, by level (1 primary, 2 secondary, 3 unstressed).
_STRESS_MARKS = {"'": 1, ",": 2, "%": 3, "=": 3}
#: Below this fraction of matched phonemes the alignment is not trusted (no stress times).
MIN_MATCH = 0.6


@dataclass(frozen=True)
class PhonemeEvent:
    """A phoneme as the synthesiser spoke it: ``name`` (espeak mnemonic), ``time`` (s from the first
    sample), ``char`` (0-based character index into the text of the word it belongs to)."""

    char: int
    time: float
    name: str


@dataclass(frozen=True)
class StressedPhoneme:
    """A phoneme of ``espeak_TextToPhonemes``'s output: ``name`` and stress ``level`` (0: none marked,
    1 primary, 2 secondary, 3 unstressed)."""

    name: str
    level: int


def parse_phonemes(text: str, separator: str = "|") -> list[StressedPhoneme]:
    """Phonemes of an espeak phoneme string (words separated by spaces, phonemes by ``separator``,
    stress marks before a phoneme's name): ``"h|@|l|'oU aI"`` -> h, @, l, oU (primary), aI."""
    out = []
    for word in text.split():
        for token in word.split(separator):
            level = 0
            while token and token[0] in _STRESS_MARKS:
                level = min(level or 9, _STRESS_MARKS[token[0]])
                token = token[1:]
            if token:
                out.append(StressedPhoneme(token, level))
    return out


def stress_times(
    text_words: list[TextWord], words: list[Word], events: list[PhonemeEvent], phonemes: list[StressedPhoneme]
) -> list[float | None]:
    """The primary stress time (s) of each word, or None.

    ``text_words``: the words of the text (character spans), one per timed word of ``words``
    (:func:`~gesture_core.speech.word_timing.time_words`); ``events``: the synthesiser's phoneme
    events in order; ``phonemes``: its stress-marked phonemes of the same text in order. A stress
    time is clipped into its word's ``[start, end]``.
    """
    if len(text_words) != len(words):
        raise ValueError(f"{len(text_words)} text words for {len(words)} timed words")
    result: list[float | None] = [None] * len(words)
    if not events or not phonemes or not words:
        return result
    matcher = difflib.SequenceMatcher(
        None, [e.name for e in events], [p.name for p in phonemes], autojunk=False
    )
    pairs = [(a + k, b + k) for a, b, n in matcher.get_matching_blocks() for k in range(n)]
    if len(pairs) < MIN_MATCH * min(len(events), len(phonemes)):
        _log.warning(
            "stress: only %d of %d phoneme events match espeak's phoneme string; no stress times",
            len(pairs), len(events),
        )  # fmt: skip
        return result
    starts = np.array([w.start for w in text_words])
    for i_event, i_phoneme in pairs:
        if phonemes[i_phoneme].level != 1:
            continue
        event = events[i_event]
        k = int(np.searchsorted(starts, event.char, side="right")) - 1  # the word at or before the char
        if k < 0 or event.char >= text_words[k].end or result[k] is not None:
            continue  # a symbol between words, or the word's stress is known already
        w = words[k]
        result[k] = float(np.clip(event.time, w.start, w.end))
    return result
