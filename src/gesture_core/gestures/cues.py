"""Timing cues: where in an utterance a gesture's stroke should land, and how strongly.

People time their beat gestures to prosody: the stroke ends on the stressed syllable of a
content word, above all on a pitch accent. :func:`timing_cues` gives those times from the best
information the input has:

1. **Words with stress** (the robot's own speech: espeak-ng reports the stressed syllable of every
   word it stresses, :attr:`~gesture_core.contracts.Word.stress`; forced aligners' ARPAbet stress
   digits): one cue per stressed word, at its stressed syllable. When some words have a stress,
   the others are unstressed (espeak's function words): no cue.
2. **Words without stress** (ASR): one cue per word, at the most prominent frame inside the word.
3. **No words** (audio only): every detected onset, as strong as the acoustic prominence around
   it, and the prominence peaks that have no onset (pitch accents on smooth speech).

A word cue's ``strength`` (0..1) is the word's lexical weight (``function_weight`` for English
function words, :data:`FUNCTION_WORDS`, else 1) times the acoustic prominence at the cue (the pitch
accents of the sentence stand out); words whose markup suppresses gestures give none.

**Acoustic prominence** (:func:`prominence`, per frame, 0..1) is the mean of three normalised
measures on the feature frames (:class:`~gesture_core.contracts.AudioFeatures`, librosa): the
energy above its slow local baseline (dB, 6 dB = 1), the pitch excursion above the speaker's median
(semitones on voiced frames, 4 st = 1) and the onset strength (spectral flux relative to the
utterance's strong onsets). A cue time inside a word is moved to the nearest detected onset within
one frame, which the features give at 10 ms resolution. (On BEAT2, strokes on the onsets follow
the stressed syllables better than strokes on the 15 fps prominence peaks.)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import find_peaks

from ..contracts import AudioFeatures, Word
from ..errors import ConfigError
from ..settings import check_non_negative

#: English function words (lower case): words that rarely carry a beat, for word timings without
#: stress (ASR, aligners). The robot's own speech needs no list: espeak-ng leaves them unstressed.
FUNCTION_WORDS = frozenset(
    """a an the and or but nor so yet if then than as of to in on at by for with from into onto
    about over under up out off down is am are was were be been being do does did have has had will
    would shall should can could may might must it its it's i i'm i've i'd i'll me my mine we we're
    us our you you're your yours he him his she her hers they they're them their this that these
    those there here what which who whom whose when where why how not no n't just very also too
    um uh er oh like""".split()
)


@dataclass(frozen=True)
class CueConfig:
    """How cues are found. Strengths are 0..1; times s; levels dB or semitones.

    - ``function_weight``: lexical weight of a function word (content words: 1).
    - ``energy_db``: energy above the local baseline that counts as fully prominent (dB).
    - ``baseline_s``: width of the slow energy baseline (s).
    - ``pitch_semitones``: pitch above the speaker's median that counts as fully prominent.
    - ``onset_floor``: onset strength (spectral flux, dB) that is never "strong".
    - ``peak_distance_s``: audio-only cues are at least this far apart (s).
    - ``peak_prominence``: a prominence peak must stand this far above its surroundings (0..1).
    """

    function_weight: float = 0.35
    energy_db: float = 6.0
    baseline_s: float = 1.0
    pitch_semitones: float = 4.0
    onset_floor: float = 8.0
    peak_distance_s: float = 0.2
    peak_prominence: float = 0.08

    def __post_init__(self) -> None:
        check_non_negative(self, "cues")
        if self.function_weight > 1:
            raise ConfigError(f"cues.function_weight must be in [0, 1], got {self.function_weight}")
        for name in ("energy_db", "baseline_s", "pitch_semitones", "onset_floor"):
            if getattr(self, name) == 0:
                raise ConfigError(f"cues.{name} must be > 0")


@dataclass(frozen=True)
class Cue:
    """A stroke target: ``time`` (s from the audio start), ``strength`` 0..1, the ``word`` it belongs
    to (index into the words, -1 for audio-only cues) and its ``source``: ``stress`` (a stressed
    syllable the synthesiser reported), ``word`` (the prominent frame of a word) or ``prominence``."""

    time: float
    strength: float
    word: int = -1
    source: str = "prominence"


def frame_times(features: AudioFeatures) -> np.ndarray:
    """Centre times (s) of the features' frames, (n_frames,)."""
    return features.frame_times()


def prominence(features: AudioFeatures, config: CueConfig | None = None) -> np.ndarray:
    """Acoustic prominence per feature frame, (n_frames,) in [0, 1] (see the module docstring)."""
    cfg = config or CueConfig()
    n = features.n_frames
    if n == 0:
        return np.zeros(0)
    fps = features.frame_rate
    rms_db = 20.0 * np.log10(np.maximum(features.rms.astype(np.float64), 1e-6))
    speaking = rms_db > rms_db.max() - 40.0
    baseline = uniform_filter1d(rms_db, max(1, round(cfg.baseline_s * fps)), mode="nearest")
    energy = np.clip((rms_db - baseline) / cfg.energy_db, 0.0, 1.0) * speaking

    f0 = features.f0_hz.astype(np.float64)
    voiced = f0 > 0
    pitch = np.zeros(n)
    if voiced.sum() >= 3:
        semitones = 12.0 * np.log2(f0[voiced] / np.median(f0[voiced]))
        pitch[voiced] = np.clip(semitones / cfg.pitch_semitones, 0.0, 1.0)

    flux = features.onset_strength.astype(np.float64)
    ref = max(float(np.percentile(flux[speaking], 95)) if speaking.any() else 0.0, cfg.onset_floor)
    onset = np.clip(maximum_filter1d(flux, 3, mode="nearest") / ref, 0.0, 1.0)
    return (energy + pitch + onset) / 3.0


def _snap_to_onset(t: float, onsets: np.ndarray, tolerance: float, lo: float, hi: float) -> float:
    """The detected onset nearest ``t`` within ``tolerance`` (s) and inside ``[lo, hi]``, else ``t``."""
    near = onsets[(np.abs(onsets - t) <= tolerance) & (onsets >= lo) & (onsets <= hi)]
    return float(near[np.argmin(np.abs(near - t))]) if near.size else t


def is_function_word(word: str) -> bool:
    """True for an English function word (see :data:`FUNCTION_WORDS`), case and edge punctuation ignored."""
    return word.lower().strip(".,;:!?\"'()[]") in FUNCTION_WORDS


def word_cue_time(word: Word, features: AudioFeatures, prom: np.ndarray) -> float:
    """Where a word's stroke should land (s): its stressed syllable when known, else its most
    prominent frame (moved onto a detected onset within one frame), else its start."""
    if word.stress is not None:
        return word.stress
    t = frame_times(features)
    inside = np.flatnonzero((t >= word.start) & (t < max(word.end, word.start + 1e-9)))
    if inside.size == 0:
        return word.start
    best = float(t[inside[np.argmax(prom[inside])]])
    return _snap_to_onset(best, features.onsets, 1.0 / features.frame_rate, word.start, word.end)


def timing_cues(
    features: AudioFeatures, words: list[Word] | None = None, config: CueConfig | None = None
) -> list[Cue]:
    """Stroke targets of an utterance in time order (see the module docstring).

    ``features``: its audio features (times from the audio start); ``words``: its timed words, or
    None / empty for audio-only input. Strengths are in [0, 1].
    """
    cfg = config or CueConfig()
    prom = prominence(features, cfg)
    if features.n_frames == 0:
        return []
    times = frame_times(features)
    words = words or []
    cues: list[Cue] = []
    if words:
        any_stress = any(w.stress is not None for w in words)
        for i, w in enumerate(words):
            if w.suppress or (any_stress and w.stress is None):
                continue  # suppressed, or a word the synthesiser left unstressed
            t = word_cue_time(w, features, prom)
            acoustic = float(np.interp(t, times, prom))
            lexical = cfg.function_weight if is_function_word(w.word) else 1.0
            source = "stress" if w.stress is not None else "word"
            cues.append(Cue(t, float(np.clip(lexical * (0.5 + 0.5 * acoustic), 0.0, 1.0)), i, source))
        return sorted(cues, key=lambda c: c.time)
    # Audio only: every detected onset (10 ms precise), as strong as the prominence around it, and
    # the prominence peaks without an onset (pitch accents on smooth speech).
    frame = 1.0 / features.frame_rate
    peak_prom = maximum_filter1d(prom, 3, mode="nearest")
    for o in features.onsets:
        if times[0] - frame <= o <= times[-1] + frame:
            cues.append(Cue(float(o), float(np.interp(o, times, peak_prom))))
    distance = max(1, round(cfg.peak_distance_s * features.frame_rate))
    peaks, _ = find_peaks(prom, distance=distance, prominence=cfg.peak_prominence)
    for k in peaks:
        if not np.any(np.abs(features.onsets - times[k]) <= frame):
            cues.append(Cue(float(times[k]), float(prom[k])))
    return sorted(cues, key=lambda c: c.time)
