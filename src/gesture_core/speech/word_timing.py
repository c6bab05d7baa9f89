"""Timed words from a synthesiser's word events, robust to missing, repeated and stray events.

espeak-ng reports a *word event* (character position in the text, time in the audio) where it
starts speaking a word, but not exactly one per word of the text: it drops some (Korean words,
the second half of ``e-mail``), repeats others (numbers it expands to several words, spelled
letters) and reports symbols it reads aloud (``&``, ``%``). So the words are taken from the
*text* (:func:`split_words`) and the events only give them times (:func:`time_words`):

1. A word's start is the time of the first event that points inside it.
2. A word no event points into gets a start interpolated by character position between the
   surrounding events (any event counts, also one on a symbol between words).
3. Starts are made non-decreasing; a word ends where the next one starts, the last where the
   voiced audio ends, and every end is pulled back over the silence that precedes the next word
   (espeak puts the pause of a comma or full stop before the next word's event).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..contracts import AUDIO_SAMPLE_RATE, Word

#: Frame length (s) of the voiced/silent analysis.
FRAME_S = 0.010
#: A frame is voiced when its RMS is within this many dB of the loudest frame.
VOICED_FLOOR_DB = -40.0
#: Silence at least this long before the next word is a pause, not part of the word (s).
MIN_PAUSE_S = 0.030
#: How much earlier than its word event a word's voice may begin (s).
ONSET_GUARD_S = 0.030

_TOKEN = re.compile(r"\S+")
_WORD_CORE = re.compile(r"\w(?:.*\w)?", re.S)  # first to last word character of a token


@dataclass(frozen=True)
class TextWord:
    """A word of a text: ``text[start:end]``, ``start``/``end`` are character indices."""

    text: str
    start: int
    end: int


def split_words(text: str) -> list[TextWord]:
    """The spoken words of ``text``: whitespace-separated tokens, with the punctuation at their edges
    removed (``"(really),"`` -> ``really``; ``e-mail``, ``it's`` and ``3:30`` stay whole). Tokens
    without any letter or digit (``&``, ``--``) are not words."""
    words = []
    for token in _TOKEN.finditer(text):
        core = _WORD_CORE.search(token.group())
        if core is not None:
            start = token.start() + core.start()
            words.append(TextWord(core.group(), start, start + len(core.group())))
    return words


def voiced_frames(audio: np.ndarray, sample_rate: int = AUDIO_SAMPLE_RATE) -> np.ndarray:
    """(n_frames,) bool: which ``FRAME_S`` frames of ``audio`` ((N,) float) are voiced.

    Voiced = RMS within ``VOICED_FLOOR_DB`` of the loudest frame (all False for digital silence).
    """
    hop = max(1, int(round(FRAME_S * sample_rate)))
    n = int(np.ceil(audio.size / hop))
    padded = np.zeros(n * hop, dtype=np.float64)
    padded[: audio.size] = audio
    rms = np.sqrt(np.mean(padded.reshape(n, hop) ** 2, axis=1))
    peak = float(rms.max()) if n else 0.0
    if peak <= 0.0:
        return np.zeros(n, dtype=bool)
    return rms >= peak * 10.0 ** (VOICED_FLOOR_DB / 20.0)


def time_words(
    text: str, events: list[tuple[int, float]], audio: np.ndarray, sample_rate: int = AUDIO_SAMPLE_RATE
) -> list[Word]:
    """Timed words of ``text`` spoken in ``audio``.

    ``events``: word events in the order the synthesiser emitted them, each (0-based character
    index into ``text``, time in s from the first sample). ``audio``: (N,) waveform at
    ``sample_rate`` Hz. Returns one :class:`~gesture_core.contracts.Word` per :func:`split_words`
    word, starts non-decreasing, ``0 <= start <= end <= len(audio) / sample_rate`` (seconds).
    """
    words = split_words(text)
    if not words:
        return []
    voiced = voiced_frames(audio, sample_rate)
    frame = FRAME_S
    speech_end = (np.flatnonzero(voiced)[-1] + 1) * frame if voiced.any() else audio.size / sample_rate
    speech_end = min(speech_end, audio.size / sample_rate)

    # Anchors: events with increasing character index and non-decreasing time.
    chars: list[int] = []
    times: list[float] = []
    for char, t in events:
        t = float(np.clip(t, 0.0, speech_end))
        if (not chars or char > chars[-1]) and (not times or t >= times[-1]):
            chars.append(char)
            times.append(t)
    # Virtual anchors: the text starts at time 0 and ends where the voiced audio ends.
    if not chars or chars[0] > 0:
        chars.insert(0, 0)
        times.insert(0, 0.0)
    chars.append(max(len(text), chars[-1] + 1))
    times.append(max(speech_end, times[-1]))

    starts = np.empty(len(words))
    for k, w in enumerate(words):
        inside = [t for c, t in zip(chars, times) if w.start <= c < w.end]
        starts[k] = inside[0] if inside else np.interp(w.start, chars, times)
    starts = np.maximum.accumulate(starts)
    ends = np.append(starts[1:], max(speech_end, starts[-1]))
    ends = _trim_trailing_silence(starts, ends, voiced, frame)
    return [Word(w.text, float(s), float(e)) for w, s, e in zip(words, starts, ends)]


def _trim_trailing_silence(
    starts: np.ndarray, ends: np.ndarray, voiced: np.ndarray, frame: float
) -> np.ndarray:
    """Pull each end back over a pause (>= ``MIN_PAUSE_S`` of silence) that precedes it.

    The next word's voice may begin up to ``ONSET_GUARD_S`` before its event; that onset is
    stepped over when looking for the pause.
    """
    guard = int(round(ONSET_GUARD_S / frame))
    min_pause = int(round(MIN_PAUSE_S / frame))
    trimmed = ends.copy()
    for k, (s, e) in enumerate(zip(starts, ends)):
        lo, i = int(np.ceil(s / frame)), min(int(round(e / frame)), voiced.size) - 1
        onset_end = i - guard
        while i >= lo and voiced[i] and i > onset_end:
            i -= 1
        pause_end = i
        while i >= lo and not voiced[i]:
            i -= 1
        if pause_end >= lo and not voiced[pause_end] and pause_end - i >= min_pause:
            trimmed[k] = max(s, (i + 1) * frame)
    return trimmed
