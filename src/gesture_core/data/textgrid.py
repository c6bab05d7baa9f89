"""Praat TextGrid word/phone alignments (e.g. the Montreal Forced Aligner's) -> timed words and phones.

Reads the long ("ooTextFile") text format, UTF-8 or UTF-16: interval tiers ``words`` and ``phones``
(MFA's names). Empty intervals (silences) are dropped; times stay in the file's seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..contracts import Word
from ..errors import DataError
from .format import Phone

_NUMBER = r"([-+0-9.eE]+)"
_INTERVAL = re.compile(
    r"intervals\s*\[\d+\]\s*:?\s*xmin\s*=\s*" + _NUMBER + r"\s*xmax\s*=\s*" + _NUMBER
    + r'\s*text\s*=\s*"((?:[^"]|"")*)"'
)  # fmt: skip
_ITEM = re.compile(r"item\s*\[\d+\]\s*:")
_NAME = re.compile(r'name\s*=\s*"((?:[^"]|"")*)"')


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read the TextGrid: {exc}") from None
    encoding = "utf-16" if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: not a UTF-8/UTF-16 TextGrid: {exc}") from None


def read_tier(path: str | Path, tier: str, required: bool = True) -> list[tuple[str, float, float]]:
    """Non-empty intervals ``(text, start s, end s)`` of interval tier ``tier``, in time order.

    A missing tier raises :class:`DataError` naming the tiers present, or gives ``[]`` when not ``required``.
    """
    path = Path(path)
    text = _read_text(path)
    if "ooTextFile" not in text[:200]:
        raise DataError(f"{path}: not a Praat TextGrid in the long text format (no 'ooTextFile' header)")
    names = []
    for block in _ITEM.split(text)[1:]:
        name = _NAME.search(block)
        names.append(name.group(1) if name else "?")
        if name is None or name.group(1) != tier:
            continue
        intervals = []
        for m in _INTERVAL.finditer(block):
            label = m.group(3).replace('""', '"').strip()
            start, end = float(m.group(1)), float(m.group(2))
            if end < start:
                raise DataError(f"{path} tier {tier!r}: interval {label!r} ends ({end}) before it starts")
            if label:
                intervals.append((label, start, end))
        return sorted(intervals, key=lambda x: x[1])
    if not required:
        return []
    raise DataError(f"{path}: no tier {tier!r} (tiers: {names})")


def read_words(path: str | Path, tier: str = "words") -> list[Word]:
    """Timed words of tier ``tier``."""
    return [Word(word=w, start=s, end=e) for w, s, e in read_tier(path, tier)]


def read_phones(path: str | Path, tier: str = "phones") -> list[Phone]:
    """Timed phones of tier ``tier`` (MFA: ARPAbet, vowels with a stress digit); [] without that tier."""
    return [Phone(p, s, e) for p, s, e in read_tier(path, tier, required=False)]
