"""Speech cue times (s from the start of the speech) that gesture strokes may align with.

- :func:`prominent_syllables` (acoustic, any language, any input): onsets of the more prominent half
  of the syllable nuclei. It approximates stressed syllables from audio alone: on the four BEAT2
  "scott" recordings with forced-aligned phones, 51 % of its cues lie within 0.1 s of a
  primary-stressed vowel of a content word and they find 64 % of those vowels; the spectral-flux
  onsets of :func:`gesture_core.metrics.motion.audio_onsets` reach 33 % precision (every consonant
  burst is an onset). ``python -m gesture_core.metrics.cues WAV TEXTGRID ...`` measures it
  (:func:`cue_agreement`).
- :func:`stressed_syllables` (needs a phone alignment with ARPAbet stress digits, e.g. the Montreal
  Forced Aligner's): onsets of the primary-stressed vowels of content words.
- :func:`word_onsets`: word start times (all words, or content words only).

Syllable nuclei (:func:`syllable_nuclei`): the energy of the 300-3000 Hz band (where vowels are
loud; 25 ms frames every 10 ms, ``librosa.stft``) in dB, smoothed over 50 ms; a nucleus is a peak
at least :data:`NUCLEUS_DIP_DB` above the dips on either side, at least 0.1 s from the next, and no
more than :data:`NUCLEUS_RANGE_DB` below the loud end of the speech (its 95th percentile). Its onset
is the steepest rise in the 150 ms before the peak; its prominence the peak's dip depth plus its
level relative to the median nucleus.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import librosa
import numpy as np
from scipy.signal import find_peaks

from ..contracts import AUDIO_SAMPLE_RATE, Word
from ..errors import DataError

SR = AUDIO_SAMPLE_RATE
HOP = 160  # 10 ms
N_FFT, WIN = 512, 400  # 32 ms FFT, 25 ms window
BAND_HZ = (300.0, 3000.0)
SMOOTH_FRAMES = 5  # 50 ms
#: A nucleus rises at least this much (dB) above the dips on either side.
NUCLEUS_DIP_DB = 3.0
#: Nuclei quieter than the speech's 95th-percentile band level by more than this (dB) are noise.
NUCLEUS_RANGE_DB = 25.0
MIN_NUCLEUS_GAP_S = 0.1
ONSET_SEARCH_S = 0.15
#: Fraction of the nuclei (the most prominent) kept by :func:`prominent_syllables`.
PROMINENT_FRACTION = 0.5

#: English function words (closed classes: articles, pronouns, auxiliaries, prepositions,
#: conjunctions, fillers). Every other word counts as a content word.
FUNCTION_WORDS = frozenset(
    """a an the and or but nor if so than then that this these those there here what which who whom
    whose when where why how of to in on at by for with from as into onto about over under after
    before between through during without within up down out off is are was were be been being am
    do does did doing have has had having will would shall should can could may might must i me my
    mine myself you your yours yourself he him his himself she her hers herself it its itself we us
    our ours ourselves they them their theirs themselves not no just very really also too um uh
    er ah oh like yeah okay i'm i've i'll i'd you're you've it's that's there's don't didn't
    doesn't isn't aren't wasn't can't won't let's""".split()
)


def _audio(audio: np.ndarray) -> np.ndarray:
    y = np.asarray(audio, dtype=np.float32).ravel()
    if not np.all(np.isfinite(y)):
        raise DataError("speech audio contains NaN or inf")
    return y


def syllable_nuclei(audio: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Syllable nuclei of 16 kHz mono ``audio``: (onset times (s), prominences (dB)), in time order.

    See the module docstring. Silence or audio shorter than a frame gives no nucleus.
    """
    y = _audio(audio)
    if y.size < WIN or not np.any(y):
        return np.zeros(0), np.zeros(0)
    power = np.abs(librosa.stft(y, n_fft=N_FFT, hop_length=HOP, win_length=WIN, center=True)) ** 2
    freqs = librosa.fft_frequencies(sr=SR, n_fft=N_FFT)
    band = power[(freqs >= BAND_HZ[0]) & (freqs <= BAND_HZ[1])].sum(axis=0)
    level = 10.0 * np.log10(band + 1e-10)
    level = np.convolve(level, np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES, mode="same")
    peaks, props = find_peaks(
        level, prominence=NUCLEUS_DIP_DB, distance=max(1, round(MIN_NUCLEUS_GAP_S * SR / HOP))
    )
    loud = level[peaks] >= np.percentile(level, 95) - NUCLEUS_RANGE_DB
    peaks, dips = peaks[loud], props["prominences"][loud]
    if not len(peaks):
        return np.zeros(0), np.zeros(0)
    rise = np.diff(level, prepend=level[0])
    back = round(ONSET_SEARCH_S * SR / HOP)
    onsets = np.array([max(0, p - back) + int(np.argmax(rise[max(0, p - back) : p + 1])) for p in peaks])
    prominence = dips + (level[peaks] - np.median(level[peaks]))
    return onsets * HOP / SR, prominence


def prominent_syllables(audio: np.ndarray, fraction: float = PROMINENT_FRACTION) -> np.ndarray:
    """Onset times (s) of the most prominent ``fraction`` of the :func:`syllable_nuclei` of ``audio``."""
    if not 0.0 < fraction <= 1.0:
        raise DataError(f"prominent_syllables fraction must be in (0, 1], got {fraction}")
    onsets, prominence = syllable_nuclei(audio)
    if not onsets.size:
        return onsets
    return onsets[prominence >= np.quantile(prominence, 1.0 - fraction)]


def is_content_word(word: str) -> bool:
    """True unless ``word`` (any case, surrounding punctuation ignored) is in :data:`FUNCTION_WORDS`."""
    w = word.strip().strip('.,;:!?"()[]').lower()
    return bool(w) and w not in FUNCTION_WORDS


def word_onsets(words: Iterable[Word], content_only: bool = False) -> np.ndarray:
    """Start times (s) of ``words`` (only content words when ``content_only``), sorted."""
    return np.sort([w.start for w in words if not content_only or is_content_word(w.word)])


def stressed_syllables(phones: Iterable, words: Iterable[Word], content_only: bool = True) -> np.ndarray:
    """Onset times (s) of primary-stressed vowels (ARPAbet label ending in ``1``, e.g. ``AY1``) that
    start within a word of ``words`` (a content word when ``content_only``), sorted.

    ``phones``: objects with ``phone``, ``start``, ``end`` (e.g. :class:`gesture_core.data.format.Phone`).
    """
    spans = np.array(
        [(w.start, w.end) for w in words if not content_only or is_content_word(w.word)], dtype=np.float64
    ).reshape(-1, 2)
    out = []
    for p in phones:
        if p.phone.endswith("1") and np.any((spans[:, 0] - 1e-6 <= p.start) & (p.start < spans[:, 1])):
            out.append(p.start)
    return np.sort(np.asarray(out, dtype=np.float64))


def cue_agreement(detected: np.ndarray, reference: np.ndarray, tolerance: float = 0.1) -> tuple[float, float]:
    """(precision, recall) of ``detected`` cue times against ``reference`` times (s): the fraction of
    detected cues within ``tolerance`` s of a reference one, and of reference cues within it of a
    detected one. NaN where a set is empty."""
    detected, reference = np.asarray(detected, float).ravel(), np.asarray(reference, float).ravel()
    if not detected.size or not reference.size:
        return float("nan"), float("nan")
    close = np.abs(detected[:, None] - reference[None, :]) <= tolerance  # (D, R)
    return float(close.any(axis=1).mean()), float(close.any(axis=0).mean())


def main(argv: list[str] | None = None) -> int:
    """``python -m gesture_core.metrics.cues WAV TEXTGRID [WAV TEXTGRID ...]``: how well the acoustic
    cues find the stressed syllables of content words of forced-aligned recordings (a Markdown table)."""
    import argparse

    from ..data.textgrid import read_phones, read_words
    from ..speech.audio_io import load_audio

    parser = argparse.ArgumentParser(prog="python -m gesture_core.metrics.cues", description=main.__doc__)
    parser.add_argument("pairs", nargs="+", help="WAV TEXTGRID pairs (TextGrid tiers 'words' and 'phones')")
    parser.add_argument("--tolerance", type=float, default=0.1, help="s (default 0.1)")
    args = parser.parse_args(argv)
    if len(args.pairs) % 2:
        parser.error("expected WAV TEXTGRID pairs")
    from . import motion

    rows = []
    for wav, grid in zip(args.pairs[::2], args.pairs[1::2]):
        audio = load_audio(wav)
        reference = stressed_syllables(read_phones(grid), read_words(grid))
        for name, found in (
            ("prominent syllables", prominent_syllables(audio)),
            ("all syllable nuclei", syllable_nuclei(audio)[0]),
            ("spectral-flux onsets", motion.audio_onsets(audio)),
        ):
            p, r = cue_agreement(found, reference, args.tolerance)
            rows.append((name, wav, p, r, len(found) / (audio.size / SR), len(reference) / (audio.size / SR)))
    print(f"Acoustic cues vs stressed vowels of content words (within {args.tolerance} s):\n")
    print("| cues | precision | recall | cues/s | stressed/s |\n|---|---:|---:|---:|---:|")
    for name in dict.fromkeys(r[0] for r in rows):
        sel = [r for r in rows if r[0] == name]
        p, r, rate, ref = (float(np.mean([x[k] for x in sel])) for k in (2, 3, 4, 5))
        print(f"| {name} | {p:.2f} | {r:.2f} | {rate:.2f} | {ref:.2f} |")
    print(f"\nMean over {len(rows) // 3} recording(s): {', '.join(Path(w).name for w in args.pairs[::2])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
