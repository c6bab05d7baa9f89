"""Word timings from Praat TextGrids (forced alignment), with stress from ARPAbet phones."""

from __future__ import annotations

from pathlib import Path

import pytest

from gesture_core.errors import DataError
from gesture_core.speech.textgrid import read_textgrid, words_from_textgrid

LONG = """File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0
xmax = 1.5
tiers? <exists>
size = 2
item []:
    item [1]:
        class = "IntervalTier"
        name = "words"
        xmin = 0
        xmax = 1.5
        intervals: size = 4
        intervals [1]:
            xmin = 0
            xmax = 0.2
            text = ""
        intervals [2]:
            xmin = 0.2
            xmax = 0.6
            text = "hello"
        intervals [3]:
            xmin = 0.6
            xmax = 1.2
            text = "robot ""two"" ok"
        intervals [4]:
            xmin = 1.2
            xmax = 1.5
            text = "a"
    item [2]:
        class = "IntervalTier"
        name = "phones"
        xmin = 0
        xmax = 1.5
        intervals: size = 6
        intervals [1]:
            xmin = 0.2
            xmax = 0.3
            text = "HH"
        intervals [2]:
            xmin = 0.3
            xmax = 0.4
            text = "AH0"
        intervals [3]:
            xmin = 0.4
            xmax = 0.6
            text = "OW1"
        intervals [4]:
            xmin = 0.6
            xmax = 0.9
            text = "R"
        intervals [5]:
            xmin = 0.9
            xmax = 1.2
            text = "OW1"
        intervals [6]:
            xmin = 1.2
            xmax = 1.5
            text = "AH0"
"""

SHORT = """File type = "ooTextFile"
Object class = "TextGrid"

0
1
<exists>
1
"IntervalTier"
"words"
0
1
2
0
0.5
"yes"
0.5
1
"no"
"""


def test_long_format_words_with_stress(tmp_path: Path):
    path = tmp_path / "a.TextGrid"
    path.write_text(LONG)
    tiers = read_textgrid(path)
    assert set(tiers) == {"words", "phones"} and len(tiers["phones"]) == 6
    words = words_from_textgrid(path)
    assert [(w.word, w.start, w.end, w.stress) for w in words] == [
        ("hello", 0.2, 0.6, 0.4), ('robot "two" ok', 0.6, 1.2, 0.9), ("a", 1.2, 1.5, None),
    ]  # fmt: skip


def test_short_format_and_errors(tmp_path: Path):
    short = tmp_path / "b.TextGrid"
    short.write_text(SHORT)
    assert [(w.word, w.stress) for w in words_from_textgrid(short)] == [("yes", None), ("no", None)]
    with pytest.raises(DataError, match="no interval tier 'phones'"):
        words_from_textgrid(short, words_tier="phones")
    bad = tmp_path / "c.TextGrid"
    bad.write_text("hello")
    with pytest.raises(DataError, match="not a Praat TextGrid"):
        read_textgrid(bad)
    with pytest.raises(DataError, match="cannot read"):
        read_textgrid(tmp_path / "missing.TextGrid")
    truncated = tmp_path / "d.TextGrid"
    truncated.write_text(SHORT[:-20])
    with pytest.raises(DataError, match="malformed"):
        read_textgrid(truncated)


def test_beat2_alignment(shared_dir: Path):
    words = words_from_textgrid(shared_dir / "data" / "beat2_scott" / "2_scott_0_1_1.TextGrid")
    assert len(words) > 150 and words[0].start > 1.0
    stressed = [w for w in words if w.stress is not None]
    assert len(stressed) > 0.6 * len(words) and all(w.start <= w.stress < w.end for w in stressed)
