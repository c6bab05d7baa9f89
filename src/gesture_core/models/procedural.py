"""A deterministic, weight-free gesture generator: the default backend and the baseline to beat.

:class:`ProceduralGenerator` turns speech into TED poses (``(n_frames, 27)`` unit bone directions
at 15 fps, see :mod:`gesture_core.skeleton`) the way people build co-speech gestures:

1. **Timing cues** (:mod:`gesture_core.gestures.cues`): the stressed syllables of the words when
   they are known (the robot's own speech), else the most prominent moment of each word (ASR
   words), else the audio onsets weighted by acoustic prominence (energy, pitch excursion, onset
   strength) and the prominence peaks without an onset (audio only).
2. **Meaning** (:mod:`gesture_core.gestures.layer`): lexicon words and markup requests place
   gestures (a wave on "hello", a point to the listener on "you", ...); no beat goes where one of
   them takes over the arms.
3. **Plan** (:mod:`gesture_core.gestures.planner`): gesture units between real pauses; in each,
   strokes on the strongest cues, hands, shapes and sizes from emphasis and the seeded style.
4. **Render** (here): the plan becomes body angles (:mod:`gesture_core.gestures.body`):

   - *rest*: spine upright, head level, arms relaxed at the sides;
   - *idle*: breathing (torso pitch and shoulder lift at ``breath_hz``) and a slow sway, always;
   - *gesture space*: during a unit the arms it uses rise in front of the body (the other arm a
     little) before its first preparation, at the unit's seeded height and spread, higher with
     louder speech, wandering slowly between strokes (``drift_rad``); after the unit, in the
     pause, they retract to rest;
   - *strokes*: per arm a keyframe curve (minimum-jerk moves between keyframes, so the hand stops
     at each) through the preparation (the stroke's start posture, ``prep_s`` before it), the
     stroke's end -- the apex, a speed minimum -- an optional hold, and a return towards the
     unit's hold posture; when the next stroke on that hand comes soon, the apex leads straight
     into its preparation (strokes chained in the gesture space), and the stroke carries the hand
     to its own place. Each shape moves several joints (``down``: elbow with the shoulder;
     ``open``: twist and abduction, the palm opening; ``push``: elbow extension with shoulder
     flexion); emphatic strokes also lift the shoulders in the preparation and raise and open the
     arms at the apex. Every channel's stroke displacement is capped so the robot can follow it
     (``PlannerConfig.max_accel``), and a preparation is never faster than its stroke. The head
     dips slightly with each stroke.
   - the lexicon gestures are rendered over this by the layer.

A stroke's apex is planned ``LayerConfig.shift`` (``apex_delay_s - robot_lead_s``) after its
target, the stressed vowel's onset; :meth:`generate_with_strokes` reports the targets.

Style: ``amplitude`` scales every offset from the rest pose (0 = the rest pose exactly, also the
lexicon gestures); ``variability`` scales the seeded variations; ``seed`` picks them and the
speaker's handedness (the same seed and input always give the same output); ``speaker`` is ignored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import convolve1d

from .. import skeleton
from ..contracts import GESTURE_FPS, AudioFeatures
from ..errors import ConfigError, ContractError
from ..settings import check_non_negative
from ..features import extract_features
from ..generation.base import SpeechInput, Style
from ..generation.windows import blend_overlap
from ..gestures.body import (  # noqa: F401  (re-exported: the body model used to live here)
    ARM_LIMITS,
    HOLD_ARM,
    REST_ARM,
    SIDES,
    ArmAngles,
    BodyAngles,
    pose_from_angles,
    rest_pose,
)
from ..gestures.layer import GestureLayer, GestureResult, PlacedGesture, merge_strokes, minimum_jerk
from ..gestures.planner import GesturePlan, GesturePlanner, PlannerConfig, Stroke

_log = logging.getLogger(__name__)

#: Stroke channels of an arm: the four arm angles, then the shoulders' lift (shared by both arms).
CHANNELS = ("flex", "abd", "twist", "elbow", "shrug")
#: Offsets (rad, at size 1) of each stroke shape at the preparation's end (``top``) and at the apex.
SHAPE_OFFSETS: dict[str, tuple[dict[str, float], dict[str, float]]] = {
    "down": ({"elbow": 0.6, "flex": 0.16}, {"elbow": -0.5, "flex": -0.12}),
    "open": ({"twist": 0.5, "elbow": 0.3, "abd": -0.1}, {"twist": -0.7, "abd": 0.4, "elbow": -0.2}),
    "push": ({"elbow": 0.6, "flex": -0.1}, {"elbow": -0.7, "flex": 0.3}),
}
#: A preparation moves at most this fraction of its stroke's speed (the stroke is the fast phase;
#: chained beats are up-down oscillations, whose way up may be as fast as the stroke).
PREP_SPEED = 1.0
#: What an emphatic stroke adds: the shoulders lift in the preparation, the arms rise and open at the apex.
EMPHASIS_OFFSETS = ({"shrug": 0.12, "flex": 0.2, "abd": -0.15}, {"abd": 0.5, "flex": 0.35, "shrug": -0.02})


@dataclass(frozen=True)
class ProceduralConfig:
    """Rendering of :class:`ProceduralGenerator` (the plan is the planner's). Times s, angles rad.

    - ``ramp_s``: the hands rise into and sink out of the gesture space over about this time.
    - ``energy_smooth_s``: the gesture space's height follows the energy smoothed over this.
    - ``idle_arm``: how far the arm a unit does not use rises (fraction of the gesture space).
    - ``hold_fraction``: how much of the apex offset a hold keeps (a hold is not frozen).
    - ``nod_rad``: head dip at a stroke of size 1.
    - ``drift_rad``, ``drift_s``: how far (rad, standard deviation) and how slowly (s) the hands
      wander in the gesture space between strokes.
    - ``breath_hz``, ``breath_rad``, ``sway_rad``: idle motion (shoulders lift 2 x ``breath_rad``).
    """

    ramp_s: float = 0.3
    energy_smooth_s: float = 1.5
    idle_arm: float = 0.35
    hold_fraction: float = 0.7
    nod_rad: float = 0.07
    drift_rad: float = 0.12
    drift_s: float = 0.8
    breath_hz: float = 0.25
    breath_rad: float = 0.012
    sway_rad: float = 0.015

    def __post_init__(self) -> None:
        check_non_negative(self, "procedural")
        for name in ("ramp_s", "energy_smooth_s", "drift_s"):
            if getattr(self, name) < 1.0 / GESTURE_FPS:
                raise ConfigError(f"procedural.{name} must be at least one frame (1/{GESTURE_FPS:g} s)")
        for name in ("idle_arm", "hold_fraction"):
            if getattr(self, name) > 1.0:
                raise ConfigError(f"procedural.{name} must be in [0, 1], got {getattr(self, name)}")


def _smooth(x: np.ndarray, width_s: float) -> np.ndarray:
    """Hann-window moving average of a per-frame series (n, ...) over frames, ``width_s`` s wide."""
    n = max(3, round(width_s * GESTURE_FPS) | 1)
    w = np.hanning(n + 2)[1:-1]
    return convolve1d(np.asarray(x, dtype=float), w / w.sum(), axis=0, mode="nearest")


def _curve(times: np.ndarray, knots: list[tuple[float, np.ndarray]], width: int) -> np.ndarray:
    """(len(times), width) offsets through ``knots`` ((time s, (width,) values), increasing times):
    a minimum-jerk move from each knot to the next, so the motion stops at every knot (the apex of a
    stroke is a speed minimum); 0 outside the knots."""
    out = np.zeros((len(times), width))
    if len(knots) < 2:
        return out
    t = np.array([k[0] for k in knots])
    y = np.stack([k[1] for k in knots])
    k = np.searchsorted(t, times, side="right") - 1
    inside = (k >= 0) & (k < len(t) - 1)
    k = k[inside]
    s = minimum_jerk((times[inside] - t[k]) / (t[k + 1] - t[k]))
    out[inside] = y[k] + (y[k + 1] - y[k]) * s[:, None]
    return out


class ProceduralGenerator:
    """Rule-based gestures from timing cues, the gesture lexicon and a planner; see the module docstring.

    ``layer``: the lexicon and markup layer (None: the bundled lexicon); ``planner``: the planner
    (None: default settings).
    """

    name = "procedural"
    #: Audio (s) beyond its newest final frame that streaming gives it by default: the planner
    #: decides from the speech that follows whether a unit goes on or a pause returns the hands to
    #: rest, and places a stroke's preparation before its stressed syllable (``docs/streaming.md``).
    stream_lookahead_s = 0.8
    #: Streaming re-plans the whole utterance so far for every hop, with the gestures placed so far
    #: (``generate_with_strokes(..., gestures=...)``), instead of generating from the hop on.
    stream_replans = True

    def __init__(
        self,
        config: ProceduralConfig | None = None,
        planner: GesturePlanner | PlannerConfig | None = None,
        layer: GestureLayer | None = None,
    ):
        self.config = config or ProceduralConfig()
        self.planner = planner if isinstance(planner, GesturePlanner) else GesturePlanner(planner)
        self.layer = layer if layer is not None else GestureLayer()

    # -- the GestureGenerator interface -----------------------------------------------------------

    def generate(self, speech: SpeechInput, style: Style, seed_poses: np.ndarray | None = None) -> np.ndarray:
        """Poses for ``speech``: (speech.n_frames, 27) unit bone directions, TED axes, 15 fps.

        ``seed_poses``: optional (4, 27) last poses of the previous streaming window; the first
        frames are blended from them so that windows join without a jump.
        """
        return self.generate_with_strokes(speech, style, seed_poses).poses

    def generate_with_strokes(
        self,
        speech: SpeechInput,
        style: Style,
        seed_poses: np.ndarray | None = None,
        gestures: list[PlacedGesture] | None = None,
    ) -> GestureResult:
        """Poses (as :meth:`generate`) and the planned strokes: ``(time, "beat")`` for every beat
        and ``(time, name)`` for every lexicon gesture, times the targets (s from the audio start).

        ``gestures``: lexicon gestures already placed (streaming places each once, as its words
        become known: :class:`~gesture_core.generation.streaming.UtteranceStream`); None: the
        layer places them from ``speech.words``."""
        plan = self.plan(speech, style, gestures)
        n = speech.n_frames
        poses = pose_from_angles(self.render(plan, n, style), n)
        if style.amplitude > 0:
            poses = self.layer.apply(poses, speech.words, plan.gestures)
        if seed_poses is not None:
            poses = _blend_from_seed(poses, seed_poses)
        beats = [(s.time, "beat") for s in plan.strokes]
        return GestureResult(poses, merge_strokes(beats, self.layer.strokes(plan.gestures)), plan.gestures)

    def plan(
        self, speech: SpeechInput, style: Style, gestures: list[PlacedGesture] | None = None
    ) -> GesturePlan:
        """The gesture plan of ``speech``: cues, units with their strokes, lexicon gestures
        (``gestures`` when given, else placed by the layer)."""
        features = speech.features if speech.features is not None else _compute_features(speech)
        if features.n_frames == 0:
            raise ContractError("speech.features has no frames to gesture from")
        if gestures is None:
            gestures = self.layer.place(speech.words, features, style)
        return self.planner.plan(features, speech.n_frames, style, speech.words, gestures, self.layer)

    # -- from the plan to angles --------------------------------------------------------------------

    def render(self, plan: GesturePlan, n: int, style: Style) -> BodyAngles:
        """Body angles (rad), each (n,): rest + amplitude * (idle + gesture space + strokes)."""
        cfg = self.config
        times = np.arange(n) / GESTURE_FPS
        amp = style.amplitude
        rng = np.random.default_rng([style.seed, 2])

        # Idle: breathing, and a sway made of two slow incommensurate sines; seeded phases.
        phase = rng.uniform(0.0, 2 * np.pi, size=3)
        breath = np.sin(2 * np.pi * cfg.breath_hz * times + phase[0])
        sway = 0.6 * np.sin(2 * np.pi * 0.07 * times + phase[1])
        sway += 0.4 * np.sin(2 * np.pi * 0.13 * times + phase[2])

        energy = _smooth(plan.energy, cfg.energy_smooth_s)
        strokes = {side: self._stroke_offsets(times, plan, side) for side in SIDES}
        shrug = 0.5 * (strokes["left"][:, 4] + strokes["right"][:, 4])
        arms, level_sum = {}, np.zeros(n)
        for side in SIDES:
            level, lift, width = self._gesture_space(times, plan, side)
            level_sum += level
            level = level * (0.5 + 0.5 * energy)
            s = strokes[side]
            # the hands are never quite still while talking: a slow seeded drift in the gesture space,
            # paused during the arm's strokes so that each still ends in a stop
            gate = level * (1.0 - self._stroke_envelope(times, plan, side))
            drift = gate[:, None] * cfg.drift_rad * style.variability * self._drift(len(times), rng)
            offsets = {
                "flex": level * (HOLD_ARM.flex - REST_ARM.flex) * lift + s[:, 0] + drift[:, 0],
                "abd": level * (HOLD_ARM.abd - REST_ARM.abd) * width + s[:, 1] + drift[:, 1],
                "twist": level * (HOLD_ARM.twist - REST_ARM.twist) + s[:, 2] + drift[:, 2],
                "elbow": level * (HOLD_ARM.elbow - REST_ARM.elbow) * lift + s[:, 3] + drift[:, 3],
            }
            arms[side] = ArmAngles(
                **{
                    name: np.clip(getattr(REST_ARM, name) + amp * offsets[name], *ARM_LIMITS[name])
                    for name in offsets
                }
            )
        nod = self._nods(times, plan)
        lean = 0.03 * _smooth(level_sum / 2.0, 2 * cfg.ramp_s)  # leaning in a little to talk
        return BodyAngles(
            torso_pitch=amp * (cfg.breath_rad * breath + lean),
            torso_roll=amp * cfg.sway_rad * sway,
            shrug=amp * (2 * cfg.breath_rad * breath + shrug),
            head_pitch=amp * nod,
            left=arms["left"],
            right=arms["right"],
        )

    def _stroke_envelope(self, times: np.ndarray, plan: GesturePlan, side: str) -> np.ndarray:
        """(n,) 1 from each of ``side``'s strokes' start to a little after its apex, 0 elsewhere, smoothed."""
        pcfg, shift = self.planner.config, self.layer.config.shift
        inside = np.zeros(len(times))
        for s in plan.strokes:
            if side in s.arms:
                apex = s.time + shift
                inside[(times >= apex - pcfg.stroke_s - 0.1) & (times <= apex + 0.2)] = 1.0
        return np.minimum(1.0, _smooth(inside, 0.3) * 1.5)

    def _drift(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """(n, 4) smooth seeded noise of unit standard deviation, changing over ``drift_s``."""
        noise = _smooth(rng.standard_normal((n + 1, 4)), self.config.drift_s)[:n] if n else np.zeros((0, 4))
        return noise / max(float(np.std(noise)), 1e-9) if n > 1 else noise

    def _gesture_space(self, times: np.ndarray, plan: GesturePlan, side: str) -> tuple[np.ndarray, ...]:
        """Per frame: how far ``side``'s arm is raised into the gesture space (0 rest .. 1), and the
        space's height and spread factors, each (n,). An arm is up from before its unit's first
        preparation to the end of its speech or its last hold, whichever is later."""
        cfg, pcfg = self.config, self.planner.config
        shift = self.layer.config.shift
        raised = np.zeros(len(times))
        lift = np.ones(len(times))
        width = np.ones(len(times))
        for u in plan.units:
            if not u.strokes:
                continue
            # The rise into the space (a step smoothed over 2 ramp_s) ends before the first
            # preparation where the audio leaves time for it: the first stroke stays the fast phase.
            top = min(s.time for s in u.strokes) + shift - pcfg.stroke_s
            rise = max(min(u.start, top - pcfg.prep_s - cfg.ramp_s), min(cfg.ramp_s, top - cfg.ramp_s))
            last = max(s.time for s in u.strokes) + shift + pcfg.hold_s
            inside = (times >= rise) & (times <= max(last, u.end))
            raised[inside] = np.maximum(raised[inside], 1.0 if side in u.arms else cfg.idle_arm)
            lift[inside], width[inside] = u.lift, u.width
        ramp = 2 * cfg.ramp_s
        return _smooth(raised, ramp), _smooth(lift, ramp), _smooth(width, ramp)

    def _stroke_offsets(self, times: np.ndarray, plan: GesturePlan, side: str) -> np.ndarray:
        """(n, 5) offsets of :data:`CHANNELS` (rad) from ``side``'s strokes (see the module docstring).

        The hand is at its last stroke's place (or at the unit's hold posture after a retraction):
        the preparation lifts it there, and the stroke itself carries it to its own place.
        """
        pcfg = self.planner.config
        shift = self.layer.config.shift
        cap = self.planner.max_displacement()
        knots: list[tuple[float, np.ndarray]] = []
        retract_from = -1  # index of the first knot after the last apex (hold, return): dropped when chaining
        place = np.zeros(len(CHANNELS))
        for stroke in (s for s in plan.strokes if side in s.arms):
            top_shape, apex_shape = self._shape(stroke, cap)
            apex = stroke.time + shift
            top = apex - pcfg.stroke_s
            prep_start = top - pcfg.prep_s
            if (
                knots and knots[-1][0] >= prep_start
            ):  # chained: the last apex (or hold) leads into this stroke
                del knots[retract_from:]
                while knots and knots[-1][0] >= top - 1.0 / GESTURE_FPS:
                    knots.pop()
            else:
                knots.append((prep_start, np.zeros(len(CHANNELS))))
                place = np.zeros(len(CHANNELS))  # retracted to the hold posture
            target = np.zeros(len(CHANNELS))
            target[:3] = stroke.place  # flex, abd, twist: where in the gesture space this stroke ends
            for fraction in np.linspace(1.0, 0.0, 11):  # within the cap: a shorter move to its place
                moved = place + fraction * (target - place)
                if np.max(np.abs(moved + apex_shape - place - top_shape)) <= cap:
                    break
            top_off, apex_off = place + top_shape, moved + apex_shape
            place = moved
            before_t, before = knots[-1]
            top_off = self._prepared(before, top - before_t, top_off, apex_off)
            knots += [(top, top_off), (apex, apex_off)]
            retract_from = len(knots)
            knots += [
                (apex + pcfg.hold_s, self.config.hold_fraction * apex_off),
                (apex + pcfg.hold_s + pcfg.retract_s, np.zeros(len(CHANNELS))),
            ]
        return _curve(times, knots, len(CHANNELS))

    def _prepared(self, before: np.ndarray, prep_t: float, top: np.ndarray, apex: np.ndarray) -> np.ndarray:
        """The stroke's start ``top`` (5,) moved towards ``before`` (the preparation's start, ``prep_t``
        s earlier) as little as needed for the preparation to stay within ``max_accel`` and at most
        :data:`PREP_SPEED` of the stroke's own speed (from the start reached to ``apex``)."""
        stroke_s = self.planner.config.stroke_s
        limit = self.planner.max_displacement(prep_t)
        for fraction in np.linspace(1.0, 0.0, 21):
            start = before + fraction * (top - before)
            prep = np.max(np.abs(start - before))
            stroke = np.max(np.abs(apex - start))
            if prep <= limit and prep / prep_t <= PREP_SPEED * stroke / stroke_s:
                return start
        return before

    def _shape(self, stroke: Stroke, cap: float) -> tuple[np.ndarray, np.ndarray]:
        """Offsets (5,) of ``stroke``'s shape (and emphasis) at its top and at its apex, times its size,
        each channel's top-to-apex displacement at most ``cap`` (rad)."""
        top = np.zeros(len(CHANNELS))
        apex = np.zeros(len(CHANNELS))
        parts = [SHAPE_OFFSETS[stroke.shape]] + ([EMPHASIS_OFFSETS] if stroke.emphatic else [])
        for top_d, apex_d in parts:
            for name, v in top_d.items():
                top[CHANNELS.index(name)] += v
            for name, v in apex_d.items():
                apex[CHANNELS.index(name)] += v
        top, apex = stroke.size * top, stroke.size * apex
        span = np.abs(apex - top)
        scale = np.where(span > cap, cap / np.maximum(span, 1e-12), 1.0)
        return top * scale, apex * scale

    def _nods(self, times: np.ndarray, plan: GesturePlan) -> np.ndarray:
        """Head pitch (rad), (n,): a small dip at every stroke's apex, a bigger one when emphatic."""
        shift = self.layer.config.shift
        knots: list[tuple[float, np.ndarray]] = []
        for s in plan.strokes:
            apex = s.time + shift
            dip = self.config.nod_rad * s.size * (1.5 if s.emphatic else 1.0)
            points = [(apex - 0.25, 0.0), (apex, dip), (apex + 0.25, 0.0)]
            if knots and knots[-1][0] >= points[0][0]:
                knots.pop()
                points = points[1:]
            knots += [(t, np.array([v])) for t, v in points]
        return _curve(times, knots, 1)[:, 0]


def _blend_from_seed(poses: np.ndarray, seed_poses: np.ndarray) -> np.ndarray:
    """Ease ``poses`` (n, 27) out of the last of the (k, 27) seed poses over its first k frames.

    The learned models' window overlap blend (:func:`~gesture_core.generation.windows.blend_overlap`)
    from the held last seed pose into the new frames, then every bone vector is made unit again.
    """
    seed = skeleton.as_directions(seed_poses).reshape(-1, skeleton.POSE_DIM)
    k = min(len(seed), len(poses))
    out = poses.copy()
    out[:k] = blend_overlap(np.tile(seed[-1], (k, 1)), poses[:k])
    return skeleton.normalize_directions(out)


def _compute_features(speech: SpeechInput) -> AudioFeatures:
    """Audio features of ``speech.audio`` (frame 0 at its first sample), 15 fps."""
    return extract_features(speech.audio, utterance_id="procedural")
