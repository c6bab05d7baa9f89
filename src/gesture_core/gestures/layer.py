"""The lexicon and markup layer: meaningful gestures on top of any backend's motion.

Every backend (procedural, Trimodal, diffusion) makes motion that follows the speech's rhythm.
:class:`GestureLayer` adds what the words mean, the same way for all of them:

1. **Place** (:meth:`GestureLayer.place`): the words of the utterance are matched against the
   lexicon (:class:`~gesture_core.gestures.lexicon.Lexicon`); gestures requested by inline markup
   (:attr:`Word.gesture <gesture_core.contracts.Word.gesture>`) always fire; lexicon matches fire
   by priority, within the rate limit (``selection.min_gap_s`` between strokes, a gesture's
   ``cooldown_s``, ``selection.max_per_minute``), never on words whose markup suppresses
   gestures and never overlapping another gesture that moves the same body parts. A gesture's
   stroke goes on its anchor word's stressed syllable (:func:`~gesture_core.gestures.cues.word_cue_time`).
   A gesture marked ``mirror`` is done with the left hand when the style is left-handed
   (:func:`handedness`, drawn from the style seed).
2. **Render** (:meth:`GestureLayer.apply`): around each placed gesture the parts it moves (arms,
   head, shoulders) are taken over from the backend: blended in over ``blend_in_s`` before its
   first keyframe, following its keyframes (per bone, spherical interpolation with a minimum-jerk
   ease, so the hand stops at every keyframe: the stroke's end is a speed minimum), and blended
   back into the backend's motion over ``blend_out_s``. Words whose markup suppresses gestures
   get calm arms and head: the backend's motion is blended towards the rest pose there.

Timing that survives the robot: the retargeter's smoothing and velocity/acceleration limits and
the controller's tracking delay the robot behind the planned motion. Every stroke's motion is
therefore planned ``robot_lead_s`` earlier than its target; ``GestureSequence.strokes`` keep the
target times (the stressed syllables). The default lead is measured offline with the core
retargeting and the MuJoCo simulation (:mod:`gesture_core.gestures.timing`, ``benchmarks/gesture_timing.py``).

:class:`LayeredGenerator` wraps any backend with the layer; :func:`with_gesture_layer` returns a
generator whose ``generate_with_strokes`` gives the poses and the planned strokes together
(:class:`GestureResult`), while ``generate(speech, style)`` still returns the poses alone.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, fields, replace

import numpy as np

from .. import skeleton
from ..contracts import GESTURE_FPS, AudioFeatures, Word
from ..errors import ConfigError
from ..features import extract_features
from ..generation.base import GestureGenerator, SpeechInput, Style
from .body import mirror_pose, part_mask, rest_pose
from .cues import CueConfig, prominence, word_cue_time
from .lexicon import MINIMUM_JERK_PEAK_ACCEL, Gesture, Lexicon, load_lexicon

_log = logging.getLogger(__name__)

#: Lead (s) by which strokes are planned ahead of their targets so that the robot's motion lands on
#: them: the delay of the robot's joint-speed peaks behind the planned ones, measured with
#: ``benchmarks/gesture_timing.py`` on the bundled humanoid (retargeting, safety stage, MuJoCo).
ROBOT_LEAD_S = 0.0
#: Angular acceleration (rad/s^2) of a bone that planned motion may ask for: a little below the
#: bundled robots' joint acceleration limit (15 rad/s^2), as a bone's angle and its joints' angles differ.
ROBOT_MAX_ACCEL = 12.0
#: Probability that a style seed makes a right-handed speaker.
RIGHT_HANDED = 0.8


@dataclass(frozen=True)
class LayerConfig:
    """Settings of :class:`GestureLayer` and of the timing of the procedural strokes; times in s.

    - ``apex_delay_s``: a stroke ends (its apex) this long after its target, the onset of the
      stressed vowel: inside the stressed syllable, with the stroke's fast phase around the onset.
    - ``robot_lead_s``: strokes are planned this much before their targets (see the module docstring).
    - ``max_accel``: the angular acceleration (rad/s^2) of a bone the layer asks for when blending
      into and out of a gesture (a blend from far away takes longer than the gesture's ``blend_in_s``).
    - ``suppress_blend_s``: how fast the arms go calm where markup suppresses gestures.
    - ``prominent``: acoustic prominence (0..1) a word needs for a ``needs_stress`` gesture when its
      stress is unknown (ASR words).
    """

    apex_delay_s: float = 0.1
    robot_lead_s: float = ROBOT_LEAD_S
    max_accel: float = ROBOT_MAX_ACCEL
    suppress_blend_s: float = 0.3
    prominent: float = 0.45

    @property
    def shift(self) -> float:
        """Where a stroke's apex is planned relative to its target (s): ``apex_delay_s - robot_lead_s``."""
        return self.apex_delay_s - self.robot_lead_s

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value):
                raise ConfigError(f"layer.{f.name} must be finite, got {value!r}")
        for name in ("apex_delay_s", "robot_lead_s"):
            if not -0.5 <= getattr(self, name) <= 0.5:
                raise ConfigError(f"layer.{name} must be in [-0.5, 0.5] s, got {getattr(self, name)}")
        if not 0.5 <= self.max_accel <= 1000.0:
            raise ConfigError(f"layer.max_accel must be in [0.5, 1000] rad/s^2, got {self.max_accel}")
        if not 0.05 <= self.suppress_blend_s <= 2.0:
            raise ConfigError(f"layer.suppress_blend_s must be in [0.05, 2] s, got {self.suppress_blend_s}")
        if not 0.0 <= self.prominent <= 1.0:
            raise ConfigError(f"layer.prominent must be in [0, 1], got {self.prominent}")


@dataclass(frozen=True)
class PlacedGesture:
    """A lexicon gesture placed in an utterance: its stroke ``time`` (s, the target: the anchor word's
    stressed syllable, or later when the gesture could not be prepared before the audio starts), the
    anchor ``word`` index, whether it is ``mirrored`` (other hand) and whether markup ``requested`` it."""

    name: str
    time: float
    word: int
    mirrored: bool = False
    requested: bool = False


@dataclass
class GestureResult:
    """Poses and planned strokes of one utterance (or window).

    ``poses``: (n_frames, 27) unit bone directions, TED axes, 15 fps; ``strokes``: ``(time, label)``
    in time order, time in s from the audio start (the stroke's target: where it ends), label
    ``"beat"`` or a lexicon gesture name; ``gestures``: the placed lexicon gestures.
    """

    poses: np.ndarray
    strokes: tuple[tuple[float, str], ...] = ()
    gestures: list[PlacedGesture] = field(default_factory=list)


def handedness(style: Style) -> str:
    """``"right"`` or ``"left"``: the dominant hand of a style, drawn from its seed (80 % right)."""
    return "right" if np.random.default_rng([style.seed, 7]).random() < RIGHT_HANDED else "left"


def minimum_jerk(s: np.ndarray) -> np.ndarray:
    """The minimum-jerk ease ``10 s^3 - 15 s^4 + 6 s^5`` of ``s`` clipped to [0, 1]."""
    s = np.clip(s, 0.0, 1.0)
    return s**3 * (10.0 - 15.0 * s + 6.0 * s * s)


def slerp(a: np.ndarray, b: np.ndarray, w: np.ndarray | float) -> np.ndarray:
    """Spherical interpolation of unit vectors ``a``, ``b`` (..., 3) by ``w`` (broadcast to (...,))."""
    w = np.asarray(w, dtype=float)[..., None]
    cos = np.clip(np.sum(a * b, axis=-1, keepdims=True), -1.0, 1.0)
    angle = np.arccos(cos)
    sin = np.sin(angle)
    safe = sin > 1e-6
    wa = np.where(safe, np.sin((1.0 - w) * angle) / np.where(safe, sin, 1.0), 1.0 - w)
    wb = np.where(safe, np.sin(w * angle) / np.where(safe, sin, 1.0), w)
    out = wa * a + wb * b
    norm = np.linalg.norm(out, axis=-1, keepdims=True)
    return np.where(norm > 1e-9, out / np.maximum(norm, 1e-12), b)


def gesture_poses(gesture: Gesture, t: np.ndarray) -> np.ndarray:
    """The gesture's poses at times ``t`` (s relative to its stroke), (len(t), 27): the keyframes,
    per bone spherically interpolated with a minimum-jerk ease (held before the first and after the
    last keyframe)."""
    times, key = gesture.times, skeleton.as_directions(gesture.poses)
    k = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2)
    s = minimum_jerk((t - times[k]) / (times[k + 1] - times[k]))
    out = slerp(key[k], key[k + 1], np.broadcast_to(s[:, None], (len(t), skeleton.N_BONES)))
    return out.reshape(len(t), skeleton.POSE_DIM)


def ramp_weights(t: np.ndarray, start: float, first: float, last: float, end: float) -> np.ndarray:
    """(len(t),) weights: 0 before ``start``, minimum-jerk up to 1 at ``first``, 1 until ``last``,
    down to 0 at ``end``."""
    up = minimum_jerk((t - start) / max(first - start, 1e-9))
    down = minimum_jerk((end - t) / max(end - last, 1e-9))
    return np.minimum(up, down)


class GestureLayer:
    """Places lexicon and markup gestures in an utterance and renders them over a backend's poses.

    ``lexicon``: the gestures and their words (None: the bundled ``config/gesture_lexicon.yaml``).
    """

    def __init__(
        self, lexicon: Lexicon | None = None, config: LayerConfig | None = None, cues: CueConfig | None = None
    ):
        self.lexicon = lexicon if lexicon is not None else load_lexicon()
        self.config = config or LayerConfig()
        self.cues = cues or CueConfig()
        self._blends = {name: self._blend_times(g) for name, g in self.lexicon.gestures.items()}
        for name, g in self.lexicon.gestures.items():
            if g.peak_acceleration() > 1.05 * self.config.max_accel:
                _log.warning(
                    "gesture %r of %s needs %.0f rad/s^2 between its keyframes, more than %.0f: the robot's "
                    "limits will flatten and delay it (spread its keyframes further apart)",
                    name, self.lexicon.source, g.peak_acceleration(), self.config.max_accel,
                )  # fmt: skip

    def _blend_times(self, g: Gesture) -> tuple[float, float]:
        """(blend in, blend out) s of gesture ``g``: its own, or longer when the move between the rest
        pose and its first / last keyframe needs it within ``max_accel``."""
        rest = skeleton.as_directions(rest_pose())
        mask = part_mask(g.parts)
        key = skeleton.as_directions(g.poses)
        out = []
        for pose, own in ((key[0], g.blend_in_s), (key[-1], g.blend_out_s)):
            angle = float(np.max(np.arccos(np.clip(np.sum(pose[mask] * rest[mask], axis=-1), -1.0, 1.0))))
            out.append(max(own, float(np.sqrt(MINIMUM_JERK_PEAK_ACCEL * angle / self.config.max_accel))))
        return out[0], out[1]

    def span(self, name: str) -> tuple[float, float]:
        """(start, end) s of gesture ``name`` relative to its target, blends and timing shift included."""
        g = self.lexicon.gestures[name]
        blend_in, blend_out = self._blends[name]
        shift = self.config.shift
        return shift + float(g.times[0]) - blend_in, shift + float(g.times[-1]) + blend_out

    def active_span(self, name: str) -> tuple[float, float]:
        """(first, last) keyframe times (s) of gesture ``name`` relative to its target (no blends)."""
        g = self.lexicon.gestures[name]
        return self.config.shift + float(g.times[0]), self.config.shift + float(g.times[-1])

    # -- placing ------------------------------------------------------------------------------------

    def place(self, words: list[Word], features: AudioFeatures | None, style: Style) -> list[PlacedGesture]:
        """The gestures of an utterance with ``words`` (times from the audio start), in time order.

        ``features``: its audio features (for the stress of words without one; None: word starts).
        """
        if not words:
            return []
        prom = prominence(features, self.cues) if features is not None else None

        def anchor_time(i: int) -> float:
            w = words[i]
            if features is None or prom is None:
                return w.stress if w.stress is not None else w.start
            return word_cue_time(w, features, prom)

        def is_prominent(i: int) -> bool:
            if words[i].stress is not None:
                return True
            if features is None or prom is None or not prom.size:
                return False
            return float(np.interp(anchor_time(i), features.frame_times(), prom)) >= self.config.prominent

        left_handed = handedness(style) == "left"
        placed: list[PlacedGesture] = []
        for i, w in enumerate(words):
            if not w.gesture:
                continue
            if w.gesture not in self.lexicon.gestures:
                _log.warning(
                    "gesture %r requested at the word %r is not in the lexicon %s; valid names: %s",
                    w.gesture, w.word, self.lexicon.source, ", ".join(self.lexicon.names),
                )  # fmt: skip
                continue
            mirrored = self.lexicon.gestures[w.gesture].mirror and left_handed
            placed.append(
                self._in_time(PlacedGesture(w.gesture, anchor_time(i), i, mirrored, requested=True))
            )

        candidates = []
        for m in self.lexicon.match([w.word for w in words]):
            g = self.lexicon.gestures[m.gesture]
            if any(words[j].suppress or words[j].gesture for j in range(m.first, m.last + 1)):
                continue
            if g.needs_stress and not is_prominent(m.anchor):
                continue
            candidates.append(
                self._in_time(
                    PlacedGesture(m.gesture, anchor_time(m.anchor), m.anchor, g.mirror and left_handed)
                )
            )
        candidates.sort(key=lambda p: (-self.lexicon.gestures[p.name].priority, p.time))
        for c in candidates:
            flipped = replace(c, mirrored=not c.mirrored)
            if self._fits(c, placed):
                placed.append(c)
            elif self.lexicon.gestures[c.name].mirror and self._fits(flipped, placed):
                placed.append(flipped)  # the other hand is free
        return sorted(placed, key=lambda p: p.time)

    def place_known(
        self,
        words: list[Word],
        features: AudioFeatures | None,
        style: Style,
        placed: list[PlacedGesture],
        decided: int,
        known_until: float,
        earliest: float,
        max_late_s: float,
    ) -> tuple[list[PlacedGesture], int]:
        """Streaming: place the gestures of the words that become known, each once, on the
        utterance's timeline; ``placed`` (the gestures placed before) stays as it is.

        ``words[:decided]`` were decided before; the words after them that carry their stressed
        syllable (the robot's own speech knows its words ahead of the audio) or whose end is before
        ``known_until`` (s; their audio is there, to find where the stroke lands) are decided now:
        the gestures :meth:`place` puts on them that fit with ``placed``. A gesture whose blend-in
        would start before ``earliest`` (s; frames already final) is moved that much later when
        that is at most ``max_late_s``, else dropped (either logged: its words came too late to
        prepare it). Returns the new gestures in time order and the number of words decided now.
        """
        now = decided
        while now < len(words) and (words[now].stress is not None or words[now].end <= known_until + 1e-9):
            now += 1
        if now == decided:
            return [], decided
        new: list[PlacedGesture] = []
        for c in self.place(words[:now], features, style):
            if c.word < decided:
                continue
            start = c.time + self.span(c.name)[0]
            if start < earliest - 1e-9:
                late = earliest - start
                if late > max_late_s:
                    _log.info(
                        "gesture %r on the word %r dropped: its words came %.2f s too late to prepare it",
                        c.name, words[c.word].word, late,
                    )  # fmt: skip
                    continue
                _log.info(
                    "gesture %r on the word %r %.2f s late: its words came too late to prepare it on time",
                    c.name, words[c.word].word, late,
                )  # fmt: skip
                c = replace(c, time=c.time + late)
            if self._fits(c, placed + new):
                new.append(c)
        return sorted(new, key=lambda p: p.time), now

    def preroll(self, words: list[Word]) -> float:
        """Seconds of silence to put before speech with ``words`` (times from its first sample) so
        that every gesture the layer may place there (requested by markup, or a lexicon match on a
        stressed word) can be prepared before its stroke lands on its word; 0 when all fit.

        The speech source delays such speech by this much: a wave on a first "Hello" is then
        neither dropped nor late (otherwise :meth:`place` moves its stroke later). Words without
        ``stress`` are taken at their start, the earliest a stroke can be asked for there. The
        result is rounded up to whole milliseconds, at least 1 ms above the exact need, so that
        the delayed gesture's blend-in starts at or after the audio's first sample.
        """
        need = 0.0
        for i, w in enumerate(words):
            if w.gesture in self.lexicon.gestures and not w.suppress:
                t = w.stress if w.stress is not None else w.start
                need = max(need, -(t + self.span(w.gesture)[0]))
        for m in self.lexicon.match([w.word for w in words]):
            w = words[m.anchor]
            if any(words[j].suppress or words[j].gesture for j in range(m.first, m.last + 1)):
                continue
            if self.lexicon.gestures[m.gesture].needs_stress and w.stress is None:
                continue
            t = w.stress if w.stress is not None else w.start
            need = max(need, -(t + self.span(m.gesture)[0]))
        return math.ceil(need * 1000.0 + 1.0) / 1000.0 if need > 0.0 else 0.0

    def _in_time(self, p: PlacedGesture) -> PlacedGesture:
        """``p``, moved later (logged) if its blend-in would have to start before the audio does."""
        start = p.time + self.span(p.name)[0]
        if start >= 0.0:
            return p
        _log.info(
            "gesture %r on word %d: no time to prepare it before the audio starts; stroke %.2f s later",
            p.name, p.word, -start,
        )  # fmt: skip
        return replace(p, time=p.time - start)

    def _fits(self, c: PlacedGesture, placed: list[PlacedGesture]) -> bool:
        """Whether candidate ``c`` keeps the rate limit and overlaps no gesture on its body parts
        (their keyframes; blends may overlap)."""
        sel, gestures = self.lexicon.selection, self.lexicon.gestures
        g = gestures[c.name]
        lo, hi = (c.time + t for t in self.active_span(c.name))
        before = sum(1 for p in placed if c.time - 60.0 < p.time <= c.time)
        after = sum(1 for p in placed if c.time <= p.time < c.time + 60.0)
        if max(before, after) + 1 > sel.max_per_minute:
            return False
        for p in placed:
            other = gestures[p.name]
            if abs(p.time - c.time) < sel.min_gap_s:
                return False
            if p.name == c.name and abs(p.time - c.time) < g.cooldown_s:
                return False
            shared = set(gesture_parts(g, c.mirrored)) & set(gesture_parts(other, p.mirrored))
            p_lo, p_hi = (p.time + t for t in self.active_span(p.name))
            if shared and lo < p_hi and p_lo < hi:
                return False
        return True

    # -- rendering ----------------------------------------------------------------------------------

    def apply(self, poses: np.ndarray, words: list[Word], placed: list[PlacedGesture]) -> np.ndarray:
        """``poses`` (n, 27; frame k at k / 15 s) with markup suppression and the ``placed``
        gestures rendered over them (see the module docstring); returns (n, 27) unit directions."""
        out = skeleton.as_directions(poses).copy()
        n = len(out)
        t = np.arange(n) / GESTURE_FPS
        calm = self._suppression(t, words)
        if calm.any():
            rest = skeleton.as_directions(rest_pose())
            moving = part_mask(("head", "shoulders", "left_arm", "right_arm"))
            out[:, moving] = slerp(
                out[:, moving], np.broadcast_to(rest[moving], out[:, moving].shape), calm[:, None]
            )
        for p in placed:
            g = self.lexicon.gestures[p.name]
            first, last = (p.time + x for x in self.active_span(p.name))
            start, end = (p.time + x for x in self.span(p.name))
            k = np.flatnonzero((t > start) & (t < end))
            if k.size == 0:
                continue
            target = gesture_poses(g, t[k] - (p.time + self.config.shift))
            if p.mirrored:
                target = mirror_pose(target)
            w = ramp_weights(t[k], start, first, last, end)
            mask = part_mask(gesture_parts(g, p.mirrored))
            tgt = skeleton.as_directions(target)[:, mask]
            out[k[:, None], np.flatnonzero(mask)[None, :]] = slerp(out[k][:, mask], tgt, w[:, None])
        return skeleton.normalize_directions(out.reshape(n, skeleton.POSE_DIM))

    def _suppression(self, t: np.ndarray, words: list[Word]) -> np.ndarray:
        """(len(t),) weights towards the calm pose: 1 inside suppressed words (runs of them joined),
        ramped over ``suppress_blend_s`` at the edges."""
        calm = np.zeros(len(t))
        spans: list[list[float]] = []
        for w in words:
            if w.suppress:
                if spans and w.start - spans[-1][1] < 0.5:
                    spans[-1][1] = max(spans[-1][1], w.end)
                else:
                    spans.append([w.start, w.end])
        ramp = self.config.suppress_blend_s
        for a, b in spans:
            calm = np.maximum(calm, ramp_weights(t, a - ramp, a, b, b + ramp))
        return calm

    def strokes(self, placed: list[PlacedGesture]) -> list[tuple[float, str]]:
        """``(time, name)`` of the placed gestures' strokes (targets, s)."""
        return [(p.time, p.name) for p in placed]

    def features_for(self, speech: SpeechInput) -> AudioFeatures | None:
        """The speech's features when the layer needs them (words without stress), else None."""
        if speech.features is not None:
            return speech.features
        if not speech.words or all(w.stress is not None for w in speech.words):
            return None
        if speech.audio.size < 160:
            return None
        return extract_features(speech.audio, "gesture-layer")


def gesture_parts(g: Gesture, mirrored: bool) -> tuple[str, ...]:
    """The body parts gesture ``g`` moves, left and right swapped when ``mirrored``."""
    if not mirrored:
        return g.parts
    swap = {"left_arm": "right_arm", "right_arm": "left_arm"}
    return tuple(sorted(swap.get(p, p) for p in g.parts))


def merge_strokes(*groups: list[tuple[float, str]]) -> tuple[tuple[float, str], ...]:
    """Stroke lists merged in time order (negative times dropped: a window's past)."""
    return tuple(sorted((float(t), label) for g in groups for t, label in g if t >= 0))


class LayeredGenerator:
    """A backend with the lexicon and markup layer over its motion (see the module docstring).

    ``backend``: any :class:`~gesture_core.generation.base.GestureGenerator`; ``layer``: the layer
    (None: the bundled lexicon). ``generate`` returns poses; ``generate_with_strokes`` poses and
    the placed gestures' strokes (a learned backend plans no beats of its own).
    """

    def __init__(self, backend: GestureGenerator, layer: GestureLayer | None = None):
        self.backend = backend
        self.layer = layer if layer is not None else GestureLayer()
        self.name = backend.name

    def generate(self, speech: SpeechInput, style: Style, seed_poses: np.ndarray | None = None) -> np.ndarray:
        """Poses for ``speech``: (speech.n_frames, 27) unit bone directions, TED axes."""
        return self.generate_with_strokes(speech, style, seed_poses).poses

    def generate_with_strokes(
        self, speech: SpeechInput, style: Style, seed_poses: np.ndarray | None = None
    ) -> GestureResult:
        """The backend's poses with the layer applied, and the placed gestures' strokes."""
        poses = self.backend.generate(speech, style, seed_poses)
        placed = self.layer.place(speech.words, self.layer.features_for(speech), style)
        out = self.layer.apply(poses, speech.words, placed)
        return GestureResult(out, merge_strokes(self.layer.strokes(placed)), placed)

    def __getattr__(self, name: str):  # the backend's own settings (e.g. a diffusion sampler) stay reachable
        if name == "backend":
            raise AttributeError(name)
        return getattr(self.backend, name)


def with_gesture_layer(generator: GestureGenerator, layer: GestureLayer | None = None) -> GestureGenerator:
    """``generator`` with the lexicon and markup layer: a :class:`LayeredGenerator`, or ``generator``
    itself if it applies the layer itself (it has ``generate_with_strokes`` and a ``layer``, like the
    procedural generator; ``layer``, when given, replaces its own)."""
    if hasattr(generator, "generate_with_strokes"):
        if layer is not None and hasattr(generator, "layer"):
            generator.layer = layer
        return generator
    return LayeredGenerator(generator, layer)


def generate_with_strokes(
    generator: GestureGenerator, speech: SpeechInput, style: Style, seed_poses: np.ndarray | None = None
) -> GestureResult:
    """Poses and planned strokes from any generator (one without ``generate_with_strokes`` plans none)."""
    method = getattr(generator, "generate_with_strokes", None)
    if method is not None:
        return method(speech, style, seed_poses)
    return GestureResult(generator.generate(speech, style, seed_poses))
