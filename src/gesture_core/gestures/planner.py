"""The gesture planner: which strokes, on which hands, how big, grouped as people group them.

Co-speech gestures come in *gesture units* (Kendon): the hands leave rest, make one or more
gestures, and return to rest only when the speaker pauses. Each gesture has a **preparation** (the
hand moves to where the stroke begins), a **stroke** (the fast, meaningful phase, ending -- its
apex -- on the stressed syllable), an optional **hold** and, at the end of the unit only, a
**retraction**. Consecutive strokes of a unit chain in the gesture space: after one stroke's apex
the hand goes straight into the next stroke's preparation.

:class:`GesturePlanner` turns timing cues (:mod:`.cues`) and speech activity into a
:class:`GesturePlan`:

1. **Units**: runs of speech (RMS above ``silence_db``); pauses shorter than ``pause_s`` are
   bridged, longer ones are real pauses where the hands go back to rest.
2. **Strokes**: cues above ``threshold`` (strength scaled by speech energy), strongest first, at
   least ``min_gap_s`` apart, none where a lexicon gesture takes over the arms (the layer renders
   those) or where markup suppresses gestures.
3. **Hands, size, shape, place** from emphasis and a seeded style: each unit has a leading hand
   (the style's dominant hand, :func:`~gesture_core.gestures.layer.handedness`, most of the time)
   and a stroke shape it repeats (``down``: forearm beat; ``open``: an outward sweep, palm
   opening; ``push``: forward); a unit's strongest strokes are two-handed and *emphatic* (the
   shoulders raise and open the arms); size follows cue strength and energy, jittered by
   ``variability``; each stroke happens at its own place around the unit's hold posture. The
   renderer caps every stroke so it needs no more than ``max_accel``.

Times are seconds from the audio start; a stroke's ``time`` is its target (the stressed vowel's
onset; the apex is rendered ``LayerConfig.shift`` later). The procedural generator
(:mod:`gesture_core.models.procedural`) renders the plan into poses.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, fields

import numpy as np

from ..contracts import GESTURE_FPS, AudioFeatures, Word
from ..errors import ConfigError
from ..generation.base import Style
from .cues import Cue, CueConfig, timing_cues
from .layer import GestureLayer, PlacedGesture, gesture_parts, handedness
from .lexicon import MINIMUM_JERK_PEAK_ACCEL

#: Stroke shapes a unit may use, with the probability that a unit picks each.
SHAPES = {"down": 0.5, "open": 0.3, "push": 0.2}


@dataclass(frozen=True)
class PlannerConfig:
    """Tuning of :class:`GesturePlanner`. Times s, angles rad, levels dBFS, strengths 0..1.

    - ``prep_s``, ``stroke_s``, ``hold_s``, ``retract_s``: phase durations (a hold follows a stroke
      when the next one on that hand is more than ``prep_s + stroke_s + hold_s`` away).
    - ``min_gap_s``: two strokes at least this far apart; ``threshold``: weakest cue that strokes.
    - ``both_hands``: the fraction of a unit's strongest strokes that may be two-handed;
      ``emphasis``: the fraction that is emphatic (the shoulders take part). Fractions, not absolute
      strengths, so that they mean the same for stressed words, ASR words and audio alone.
    - ``max_accel``: angular acceleration (rad/s^2) a stroke (and its preparation) may need per
      joint angle: about what people's forearms reach (BEAT2 at 15 fps: 95th percentile 20, peaks
      30 rad/s^2). The bundled robots allow 15, so their safety stage flattens the biggest strokes a
      little; ``benchmarks/gesture_timing.py`` measures that this does not move their timing.
    - ``place_rad``: how far (rad, shoulder angles) strokes wander around the unit's hold posture.
    - ``silence_db``, ``loud_db``: RMS levels of silence and of full-size gestures; ``pause_s``:
      silences longer than this end a gesture unit.
    """

    prep_s: float = 0.3
    stroke_s: float = 0.3
    hold_s: float = 0.3
    retract_s: float = 0.5
    min_gap_s: float = 0.6
    threshold: float = 0.2
    both_hands: float = 0.25
    emphasis: float = 0.15
    max_accel: float = 30.0
    place_rad: float = 0.35
    silence_db: float = -45.0
    loud_db: float = -15.0
    pause_s: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value):
                raise ConfigError(f"planner.{f.name} must be finite, got {value!r}")
            if f.name not in ("silence_db", "loud_db") and value < 0:
                raise ConfigError(f"planner.{f.name} must be >= 0, got {value!r}")
        for name in ("prep_s", "stroke_s", "retract_s"):
            if getattr(self, name) < 1.0 / GESTURE_FPS:
                raise ConfigError(f"planner.{name} must be at least one frame (1/{GESTURE_FPS:g} s)")
        if self.min_gap_s < self.stroke_s + 1.0 / GESTURE_FPS:
            raise ConfigError("planner.min_gap_s must exceed stroke_s by at least one frame")
        if self.loud_db <= self.silence_db:
            raise ConfigError(
                f"planner.loud_db ({self.loud_db}) must be above silence_db ({self.silence_db})"
            )
        for name in ("threshold", "both_hands", "emphasis"):
            if getattr(self, name) > 1.0:
                raise ConfigError(f"planner.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.max_accel <= 0:
            raise ConfigError("planner.max_accel must be > 0")


@dataclass(frozen=True)
class Stroke:
    """One planned beat stroke: ``time`` (s, its target; the apex follows it), ``size`` (0..1.5), the ``arms``
    that make it, its ``shape`` (a key of :data:`SHAPES`), whether it is ``emphatic`` (shoulders take
    part), the cue ``strength`` it came from, and where in the gesture space it happens: ``place``,
    offsets (rad) of shoulder flexion, abduction and twist from the unit's hold posture."""

    time: float
    size: float
    arms: tuple[str, ...]
    shape: str
    emphatic: bool = False
    strength: float = 0.0
    place: tuple[float, float, float] = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Unit:
    """A gesture unit: the hands leave rest before ``start`` and return after ``end`` (s). ``lead``:
    its leading hand; ``shape``: its stroke shape; ``lift``, ``width``: its gesture space (factors
    of the hold posture's height and spread)."""

    start: float
    end: float
    lead: str
    shape: str
    lift: float = 1.0
    width: float = 1.0
    strokes: tuple[Stroke, ...] = ()

    @property
    def arms(self) -> tuple[str, ...]:
        """The arms any of its strokes use."""
        return tuple(sorted({a for s in self.strokes for a in s.arms}))


@dataclass
class GesturePlan:
    """What the planner decided for one utterance: ``cues``, the per-frame speech ``energy`` (0..1)
    and ``active`` mask at 15 fps, the gesture ``units`` (with their strokes) and the lexicon
    ``gestures`` placed by the layer (their spans hold no beats)."""

    cues: list[Cue]
    energy: np.ndarray
    active: np.ndarray
    units: list[Unit] = field(default_factory=list)
    gestures: list[PlacedGesture] = field(default_factory=list)

    @property
    def strokes(self) -> list[Stroke]:
        """Every beat stroke, in time order."""
        return sorted((s for u in self.units for s in u.strokes), key=lambda s: s.time)


def _fill_short_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """``mask`` (n,) bool with runs of False of at most ``max_gap`` frames between Trues set True."""
    out = mask.copy()
    on = np.flatnonzero(mask)
    for a, b in itertools.pairwise(on):
        if 1 < b - a <= max_gap + 1:
            out[a:b] = True
    return out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) frame index pairs of the True runs of ``mask``."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(int), 0]))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


class GesturePlanner:
    """Plans gesture units and beat strokes for an utterance (see the module docstring)."""

    def __init__(self, config: PlannerConfig | None = None, cues: CueConfig | None = None):
        self.config = config or PlannerConfig()
        self.cue_config = cues or CueConfig()

    def speech_activity(self, features: AudioFeatures, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame speech energy in [0, 1] at ``times`` (s) and the speaking mask (pauses shorter
        than ``pause_s`` bridged)."""
        cfg = self.config
        rms = np.interp(times, features.frame_times(), features.rms)
        rms_db = 20.0 * np.log10(np.maximum(rms, 1e-6))
        energy = np.clip((rms_db - cfg.silence_db) / (cfg.loud_db - cfg.silence_db), 0.0, 1.0)
        active = _fill_short_gaps(energy > 0.0, round(cfg.pause_s * GESTURE_FPS))
        return energy, active

    def max_displacement(self, duration: float | None = None) -> float:
        """The largest joint displacement (rad) a move of ``duration`` s (default ``stroke_s``) may make
        within ``max_accel``: a minimum-jerk move of D over T peaks at ``10 / sqrt(3) D / T^2``."""
        duration = self.config.stroke_s if duration is None else duration
        return self.config.max_accel * duration**2 / MINIMUM_JERK_PEAK_ACCEL

    def plan(
        self,
        features: AudioFeatures,
        n_frames: int,
        style: Style,
        words: list[Word] | None = None,
        gestures: list[PlacedGesture] | None = None,
        layer: GestureLayer | None = None,
    ) -> GesturePlan:
        """The plan for an utterance of ``n_frames`` 15 fps frames with ``features`` (and ``words``).

        ``gestures``: lexicon gestures already placed by ``layer``: no beat lands on an arm one of
        them moves.
        """
        cfg = self.config
        times = np.arange(n_frames) / GESTURE_FPS
        energy, active = self.speech_activity(features, times)
        cues = timing_cues(features, words, self.cue_config)
        gestures = gestures or []
        busy = self._busy_arms(gestures, layer)
        rng = np.random.default_rng([style.seed, 1])
        var = style.variability

        def frame(t: float) -> int:
            return int(np.clip(round(t * GESTURE_FPS), 0, n_frames - 1))

        def free_arms(t: float) -> tuple[str, ...]:
            taken = {arm for lo, hi, arms in busy if lo <= t <= hi for arm in arms}
            return tuple(a for a in ("left", "right") if a not in taken)

        # Candidate strokes: strength scaled by the energy at the cue, in speech, an arm free.
        scored = []
        for c in cues:
            k = frame(c.time)
            if not 0.0 <= c.time < n_frames / GESTURE_FPS or not active[k] or not free_arms(c.time):
                continue
            scored.append((c, c.strength * (0.6 + 0.4 * energy[k])))
        chosen: list[tuple[Cue, float]] = []
        for c, s in sorted(scored, key=lambda x: (-x[1], x[0].time)):
            if s >= cfg.threshold and all(abs(c.time - o.time) >= cfg.min_gap_s for o, _ in chosen):
                chosen.append((c, s))
        chosen.sort(key=lambda x: x[0].time)

        dominant = handedness(style)
        other = "left" if dominant == "right" else "right"
        units = []
        for a, b in _runs(active):
            start, end = a / GESTURE_FPS, b / GESTURE_FPS
            inside = [(c, s) for c, s in chosen if start <= c.time < end]
            lead = dominant if rng.random() < 0.75 else other
            shape = str(rng.choice(list(SHAPES), p=list(SHAPES.values())))
            lift = float(np.clip(1.0 + 0.2 * var * rng.standard_normal(), 0.6, 1.5))
            width = float(np.clip(1.0 + 0.3 * var * rng.standard_normal(), 0.4, 2.0))
            ranked = np.sort([s for _, s in inside])
            strokes = []
            for c, s in inside:
                rank = np.searchsorted(ranked, s, side="right") / len(ranked)  # 1: the unit's strongest
                u, jitter = rng.random(), rng.standard_normal()
                if rank > 1.0 - cfg.both_hands and u < 0.6:
                    arms: tuple[str, ...] = ("left", "right")
                else:
                    arms = (lead,) if u < 0.9 else (other if lead == dominant else dominant,)
                free = free_arms(c.time)
                arms = tuple(a for a in arms if a in free) or free[:1]  # a lexicon gesture has the other arm
                stroke_shape = shape if rng.random() < 0.8 else str(rng.choice(list(SHAPES)))
                size = s * (0.5 + 0.5 * energy[frame(c.time)]) * (1.0 + 0.15 * var * jitter)
                emphatic = bool(rank > 1.0 - cfg.emphasis or rank == 1.0)
                place = np.clip(
                    0.5 * cfg.place_rad * var * rng.standard_normal(3), -cfg.place_rad, cfg.place_rad
                )
                strokes.append(
                    Stroke(c.time, float(np.clip(size, 0.0, 1.5)), arms, stroke_shape, emphatic, c.strength,
                           tuple(float(x) for x in place))
                )  # fmt: skip
            units.append(Unit(start, end, lead, shape, lift, width, tuple(strokes)))
        return GesturePlan(cues, energy, active, units, list(gestures))

    def _busy_arms(
        self, gestures: list[PlacedGesture], layer: GestureLayer | None
    ) -> list[tuple[float, float, tuple[str, ...]]]:
        """(start, end, arms): when placed lexicon gestures take over which arms (no beat on them)."""
        if layer is None:
            return []
        spans = []
        for p in gestures:
            parts = gesture_parts(layer.lexicon.gestures[p.name], p.mirrored)
            arms = tuple(a for a in ("left", "right") if f"{a}_arm" in parts)
            if arms:
                lo, hi = layer.span(p.name)
                spans.append((p.time + lo, p.time + hi, arms))
        return spans
