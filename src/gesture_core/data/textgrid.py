"""Praat TextGrid word/phone alignments (e.g. the Montreal Forced Aligner's) -> timed words and phones.

The file is parsed by :func:`gesture_core.speech.textgrid.read_textgrid` (long and short text
formats, UTF-8 or UTF-16); this module reads the interval tiers ``words`` and ``phones`` (MFA's
names) for datasets. Empty intervals (silences) are dropped; times stay in the file's seconds.
"""

from __future__ import annotations

from pathlib import Path

from ..contracts import Word
from ..errors import DataError
from ..speech.textgrid import read_textgrid
from .format import Phone


def read_tier(path: str | Path, tier: str, required: bool = True) -> list[tuple[str, float, float]]:
    """Non-empty intervals ``(text, start s, end s)`` of interval tier ``tier``, in time order.

    A missing tier raises :class:`DataError` naming the tiers present, or gives ``[]`` when not ``required``.
    """
    tiers = read_textgrid(path)
    if tier not in tiers:
        if not required:
            return []
        raise DataError(f"{path}: no tier {tier!r} (tiers: {list(tiers)})")
    intervals = []
    for start, end, text in tiers[tier]:
        label = text.strip()
        if end < start:
            raise DataError(f"{path} tier {tier!r}: interval {label!r} ends ({end}) before it starts")
        if label:
            intervals.append((label, start, end))
    return sorted(intervals, key=lambda x: x[1])


def read_words(path: str | Path, tier: str = "words") -> list[Word]:
    """Timed words of tier ``tier``."""
    return [Word(word=w, start=s, end=e) for w, s, e in read_tier(path, tier)]


def read_phones(path: str | Path, tier: str = "phones") -> list[Phone]:
    """Timed phones of tier ``tier`` (MFA: ARPAbet, vowels with a stress digit); [] without that tier."""
    return [Phone(p, s, e) for p, s, e in read_tier(path, tier, required=False)]
