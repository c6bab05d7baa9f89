"""Word timings from Praat TextGrid files (forced aligners such as the Montreal Forced Aligner).

:func:`read_textgrid` parses the interval tiers of a TextGrid (the long text format Praat and MFA
write, and the short one); :func:`words_from_textgrid` turns its ``words`` tier into
:class:`~gesture_core.contracts.Word` s, with each word's primary stressed syllable taken from the
``phones`` tier when it carries ARPAbet stress digits (``ER1``: primary stress): the start of the
first phone with a ``1`` inside the word. Empty intervals (pauses) are not words.
"""

from __future__ import annotations

import re
from pathlib import Path

from ..contracts import Word
from ..errors import DataError

# Quoted strings, numbers, flags; ``[3]`` (the long format's item indices) is matched to be skipped.
_TOKEN = re.compile(r'"(?:[^"]|"")*"|\[\d*\]|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|<exists>|<absent>')


def _tokens(text: str) -> list[str | float]:
    """The strings and numbers of a TextGrid, in order (strings unquoted; ``key =`` names dropped)."""
    out: list[str | float] = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok.startswith("["):
            continue
        if tok.startswith('"'):
            out.append(tok[1:-1].replace('""', '"'))
        elif tok.startswith("<"):
            out.append(tok)
        else:
            out.append(float(tok))
    return out


def read_textgrid(path: str | Path) -> dict[str, list[tuple[float, float, str]]]:
    """The interval tiers of a TextGrid: tier name -> ``(start s, end s, text)`` per interval, in order.

    Point tiers are skipped. Raises :class:`DataError` naming the file when it is not a TextGrid.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror})") from None
    text = (
        raw.decode("utf-16")
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff")
        else raw.decode("utf-8", errors="replace")
    )
    tokens = _tokens(text)
    if len(tokens) < 2 or tokens[0] != "ooTextFile" or tokens[1] != "TextGrid":
        raise DataError(f"{path}: not a Praat TextGrid (no 'ooTextFile' / 'TextGrid' header)")
    try:
        # header: xmin xmax <exists> n_tiers, then per tier: class name xmin xmax n (xmin xmax text)*n
        i = 2 + 2
        if tokens[i] == "<exists>":
            i += 1
        n_tiers = int(tokens[i])
        i += 1
        tiers: dict[str, list[tuple[float, float, str]]] = {}
        for _ in range(n_tiers):
            kind, name = str(tokens[i]), str(tokens[i + 1])
            n = int(tokens[i + 4])
            i += 5
            width = 3 if kind == "IntervalTier" else 2
            items = tokens[i : i + width * n]
            i += width * n
            if kind == "IntervalTier":
                tiers[name] = [
                    (float(items[k]), float(items[k + 1]), str(items[k + 2])) for k in range(0, len(items), 3)
                ]
    except (IndexError, ValueError, TypeError) as exc:
        raise DataError(f"{path}: malformed TextGrid ({exc})") from None
    return tiers


def words_from_textgrid(
    path: str | Path, words_tier: str = "words", phones_tier: str = "phones"
) -> list[Word]:
    """The words of a TextGrid's ``words_tier``, stress from ``phones_tier`` if present (module docstring)."""
    tiers = read_textgrid(path)
    if words_tier not in tiers:
        raise DataError(f"{path}: no interval tier {words_tier!r} (tiers: {list(tiers)})")
    phones = [(s, e, t) for s, e, t in tiers.get(phones_tier, []) if t.strip()]
    words = []
    for start, end, text in tiers[words_tier]:
        if not text.strip():
            continue
        stress = next((s for s, _, t in phones if start - 1e-6 <= s < end and t.strip().endswith("1")), None)
        words.append(Word(text.strip(), start, max(start, end), stress=stress))
    return words
