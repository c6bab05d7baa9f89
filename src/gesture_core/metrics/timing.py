"""Semantic timing: for words that should trigger a gesture, the offset from the word to the stroke.

A gesture that carries a word's meaning (a wave on "hello", a point on "you", arms spread on
"everything") should have its stroke on or just before the word (McNeill 1992: the stroke
precedes or coincides with its co-expressive word, rarely follows it). For every trigger word of an
utterance, :func:`word_stroke_offsets` finds the stroke (:func:`~.kinematics.strokes`) nearest to
the word's anchor -- its primary-stressed vowel when a phone alignment is given, else its start --
within ``max_offset`` seconds, and reports ``stroke time - anchor`` (negative: the stroke leads).
:func:`summarize_offsets` gives the numbers a report shows.

Which words trigger gestures is the caller's choice: a gesture lexicon's entries, or
:data:`DEFAULT_TRIGGERS` (deictic, emblematic and iconic English words). Stroke detection knows
nothing of the gesture's form, so this measures timing only: any visible stroke near the word counts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..contracts import Word
from . import kinematics
from .cues import is_content_word

#: Words that commonly carry a gesture: deictic (self, listener, here/there), emblems (greeting,
#: yes/no, uncertainty), iconic/metaphoric (size, quantity, direction).
DEFAULT_TRIGGERS = frozenset(
    """i me my myself we us our you your yourself this these here that those there hello hi hey goodbye
    bye welcome yes no not never nothing maybe perhaps big huge large enormous giant all everything
    everyone whole small little tiny bit few up rise raise more grow higher increase down fall less
    lower decrease drop together apart between around first second one two three hand other""".split()
)
#: Largest |offset| (s) at which a stroke still belongs to a word.
MAX_OFFSET = 1.0
#: |offset| (s) counted as "on the word" by :func:`summarize_offsets`.
ON_WORD = 0.25


@dataclass(frozen=True)
class WordStroke:
    """A trigger word, its anchor time (s), the nearest stroke (s, None if none within the limit)
    and ``offset = stroke - anchor`` (s, None without a stroke)."""

    word: str
    anchor: float
    stroke: float | None
    offset: float | None


def _normalise(word: str) -> str:
    return word.strip().strip('.,;:!?"()[]').lower()


def is_trigger(word: str, triggers: Iterable[str] | None = None) -> bool:
    """``word`` (any case, punctuation stripped) is one of ``triggers`` (None: :data:`DEFAULT_TRIGGERS`)."""
    trig = DEFAULT_TRIGGERS if triggers is None else {_normalise(t) for t in triggers}
    return _normalise(word) in trig


def word_anchor(word: Word, phones: Sequence | None) -> float:
    """The word's primary-stressed vowel onset (first ARPAbet phone ending in ``1`` that starts
    within the word) when ``phones`` are given and have one, else the word's start (s)."""
    for p in phones or ():
        if word.start - 1e-6 <= p.start < word.end and p.phone.endswith("1"):
            return float(p.start)
    return float(word.start)


def word_stroke_offsets(
    poses: np.ndarray,
    words: Iterable[Word],
    triggers: Iterable[str] | None = None,
    phones: Sequence | None = None,
    fps: float = kinematics.FPS,
    max_offset: float = MAX_OFFSET,
    min_prominence: float = kinematics.STROKE_PROMINENCE,
) -> list[WordStroke]:
    """For each word of ``words`` (times s from frame 0 of ``poses`` (T, 27)) in ``triggers``
    (lower-case words; None: :data:`DEFAULT_TRIGGERS`; an empty set: every content word), the
    nearest stroke within ``max_offset`` s of its anchor (:func:`word_anchor`)."""
    trig = DEFAULT_TRIGGERS if triggers is None else frozenset(_normalise(t) for t in triggers)
    strokes = kinematics.strokes(poses, fps, min_prominence)
    out = []
    for w in words:
        name = _normalise(w.word)
        if not (name in trig if trig else is_content_word(name)):
            continue
        anchor = word_anchor(w, phones)
        if strokes.size:
            nearest = float(strokes[np.argmin(np.abs(strokes - anchor))])
            if abs(nearest - anchor) <= max_offset:
                out.append(WordStroke(w.word, anchor, nearest, nearest - anchor))
                continue
        out.append(WordStroke(w.word, anchor, None, None))
    return out


def summarize_offsets(items: Sequence[WordStroke], on_word: float = ON_WORD) -> dict[str, float]:
    """``n_words``; ``n_with_stroke`` (a stroke within the limit); ``median_offset`` and
    ``mean_abs_offset`` (s) of those; ``on_word_fraction``: words whose stroke is within ``on_word``
    s, over all trigger words. NaN where there is nothing to summarise."""
    offsets = np.array([i.offset for i in items if i.offset is not None], dtype=np.float64)
    nan = float("nan")
    return {
        "n_words": float(len(items)),
        "n_with_stroke": float(offsets.size),
        "median_offset": float(np.median(offsets)) if offsets.size else nan,
        "mean_abs_offset": float(np.mean(np.abs(offsets))) if offsets.size else nan,
        "on_word_fraction": float(np.sum(np.abs(offsets) <= on_word) / len(items)) if items else nan,
    }
