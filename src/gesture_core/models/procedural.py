"""A deterministic, weight-free gesture generator: the default backend and the baseline to beat.

:class:`ProceduralGenerator` turns speech audio into TED poses (``(n_frames, 27)`` unit bone
directions at 15 fps, see :mod:`gesture_core.skeleton`) from a handful of acoustic cues:

- **Rest pose**: spine upright, head up, arms hanging relaxed at the sides and slightly forward.
- **Idle motion**: breathing (torso pitch and shoulder lift at ``breath_hz``, about 0.25 Hz) and a
  slow sideways sway, always on, small.
- **Gesture space**: while the speaker talks (RMS above ``silence_db``, pauses shorter than
  ``pause_s`` bridged) the hands rise in front of the body; how high follows the smoothed speech
  energy. In longer pauses the hands sink back to rest.
- **Beats**: on strong audio onsets and pitch accents the hand(s) make a beat: a preparation (the
  hand lifts), a fast down-stroke of the forearm whose end -- the *apex*, where hand speed has a
  local minimum -- falls on the onset frame, and a retraction. Beat size follows onset strength
  and speech energy; which hand beats is drawn from the style seed.

Everything is computed in joint-angle-like parameters of a simple body model (torso pitch/roll,
shoulder lift, head pitch; per arm shoulder flexion/abduction/twist and elbow flexion, all in
radians) and turned into bone directions with :class:`scipy.spatial.transform.Rotation`, so poses
stay anatomically plausible: angles are clipped to joint ranges, and all envelopes are smooth.

Style: ``amplitude`` scales every offset from the rest pose (0 = the rest pose exactly);
``variability`` scales the seeded per-phrase and per-beat variations; ``seed`` picks them (the same
seed and input always give the same output); ``speaker`` is ignored (no learned styles).
Word timings are not used: beats come from the acoustics, so text-less ASR input works the same.
"""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, fields

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import convolve1d
from scipy.signal import find_peaks
from scipy.spatial.transform import Rotation

from .. import skeleton
from ..contracts import GESTURE_FPS, AudioFeatures
from ..errors import ConfigError, ContractError
from ..features import extract_features
from ..generation.base import SpeechInput, Style
from ..generation.windows import blend_overlap

_log = logging.getLogger(__name__)

# Body axes are TED's: +x the person's right, +y down, +z forward. ``side`` is +1 for the right
# arm, -1 for the left one, so one formula serves both arms.
_DOWN = np.array([0.0, 1.0, 0.0])
_SIDES = {"left": -1.0, "right": 1.0}


@dataclass(frozen=True)
class ArmAngles:
    """Angles of one arm (rad), each a scalar or an (n_frames,) array.

    - ``flex``: shoulder flexion, raises the upper arm forward (towards +z).
    - ``abd``: shoulder abduction, raises it sideways, away from the body.
    - ``twist``: internal rotation of the upper arm, swings a bent forearm towards the midline.
    - ``elbow``: elbow flexion, 0 = straight arm.
    """

    flex: np.ndarray
    abd: np.ndarray
    twist: np.ndarray
    elbow: np.ndarray


@dataclass(frozen=True)
class BodyAngles:
    """The whole parameter set of one pose sequence (rad, scalars or (n_frames,) arrays).

    ``torso_pitch`` leans the upper body forward, ``torso_roll`` sways it sideways (both rotate
    every bone), ``shrug`` lifts both shoulders, ``head_pitch`` tips the head down (a nod).
    """

    torso_pitch: np.ndarray
    torso_roll: np.ndarray
    shrug: np.ndarray
    head_pitch: np.ndarray
    left: ArmAngles
    right: ArmAngles


#: Joint ranges (rad) the arm angles are clipped to: (low, high).
ARM_LIMITS = {"flex": (-0.6, 2.0), "abd": (-0.15, 1.6), "twist": (-0.6, 1.3), "elbow": (0.0, 2.5)}

#: Rest pose: arms relaxed at the sides, slightly forward, elbows a little bent.
REST_ARM = ArmAngles(flex=0.12, abd=0.10, twist=0.30, elbow=0.40)
#: Hands in gesture space at full energy: upper arms a little forward and out, forearms forward.
HOLD_ARM = ArmAngles(flex=0.35, abd=0.30, twist=0.45, elbow=1.45)

# Rest directions of the torso and head bones, TED axes (roughly the TED mean pose: the neck bone
# runs from the thorax up and forward to the nose, the head bone from the nose up and back).
_SPINE_REST = _DOWN * -1.0
_NECK_REST = np.array([0.0, -np.cos(0.47), np.sin(0.47)])
_HEAD_REST = np.array([0.0, -np.cos(0.44), -np.sin(0.44)])
_COLLAR_DROP = 0.32  # collar bones slope down from the neck base to the shoulders (rad)


_AXES = {"x": np.array([1.0, 0.0, 0.0]), "y": np.array([0.0, 1.0, 0.0]), "z": np.array([0.0, 0.0, 1.0])}


def _rot(axis: str, angle: np.ndarray | float) -> Rotation:
    """Rotations by ``angle`` (rad, scalar or (n,)) about a body axis (right-hand rule), n of them."""
    return Rotation.from_rotvec(np.atleast_1d(np.asarray(angle, dtype=float))[:, None] * _AXES[axis])


def _arm_directions(arm: ArmAngles, side: float, torso: Rotation) -> tuple[np.ndarray, np.ndarray]:
    """Upper arm and forearm unit directions, each (n, 3), for arm angles in the torso frame."""
    shoulder = (
        torso
        * _rot("z", -side * np.asarray(arm.abd))
        * _rot("x", arm.flex)
        * _rot("y", -side * np.asarray(arm.twist))
    )
    upper = shoulder.apply(_DOWN)
    fore = (shoulder * _rot("x", arm.elbow)).apply(_DOWN)
    return np.atleast_2d(upper), np.atleast_2d(fore)


def pose_from_angles(body: BodyAngles, n_frames: int) -> np.ndarray:
    """TED poses from body angles: (n_frames, 27) unit bone directions, TED axes.

    Every field of ``body`` is a scalar or an (n_frames,) array in radians.
    """

    def full(x: np.ndarray | float) -> np.ndarray:
        return np.broadcast_to(np.asarray(x, dtype=float), (n_frames,))

    torso = _rot("z", full(body.torso_roll)) * _rot("x", -full(body.torso_pitch))
    head = torso * _rot("x", -full(body.head_pitch))
    bones: dict[str, np.ndarray] = {
        "spine": torso.apply(_SPINE_REST),
        "neck": head.apply(_NECK_REST),
        "head": head.apply(_HEAD_REST),
    }
    for name, side in _SIDES.items():
        collar_rest = np.array([side * np.cos(_COLLAR_DROP), np.sin(_COLLAR_DROP), 0.0])
        bones[f"{name}_collar"] = (torso * _rot("z", -side * full(body.shrug))).apply(collar_rest)
        arm = getattr(body, name)
        arm = ArmAngles(*(full(getattr(arm, f.name)) for f in fields(ArmAngles)))
        bones[f"{name}_upper_arm"], bones[f"{name}_forearm"] = _arm_directions(arm, side, torso)
    poses = np.stack([np.broadcast_to(bones[b], (n_frames, 3)) for b in skeleton.BONE_NAMES], axis=1)
    return skeleton.normalize_directions(poses.reshape(n_frames, skeleton.POSE_DIM))


def rest_pose() -> np.ndarray:
    """The procedural rest pose: (27,) unit bone directions, TED axes."""
    return pose_from_angles(BodyAngles(0.0, 0.0, 0.0, 0.0, REST_ARM, REST_ARM), 1)[0]


@dataclass(frozen=True)
class ProceduralConfig:
    """Tuning of :class:`ProceduralGenerator`. Times in seconds, angles in radians, levels in dBFS.

    Beat timing: the preparation lifts the hand during ``prep_s`` before the stroke, the stroke
    lasts ``stroke_s`` and ends (apex) on the onset, the retraction takes ``retract_s``. Beats
    closer than ``min_beat_gap_s`` are thinned (the weaker one goes); candidates weaker than
    ``beat_threshold`` are ignored. An onset's strength is its onset-envelope peak relative to
    the utterance's 95th percentile, or to ``onset_floor`` when that is higher.
    """

    prep_s: float = 0.2
    stroke_s: float = 0.2
    retract_s: float = 0.2
    min_beat_gap_s: float = 0.4
    beat_threshold: float = 0.35
    beat_lift: float = 0.3  # elbow lift of the preparation at full beat size (rad)
    beat_drop: float = 0.5  # how far below the hold the stroke ends (rad)
    onset_floor: float = 8.0  # onset strength (features' spectral flux, dB) that is never "strong"
    pitch_accent_semitones: float = 2.0  # f0 peak prominence that counts as a pitch accent
    silence_db: float = -45.0  # RMS level at or below which audio counts as silence
    loud_db: float = -15.0  # RMS level that gives full-size gestures
    energy_smooth_s: float = 0.6  # the hands' height follows the energy smoothed over this
    pause_s: float = 0.5  # silences longer than this send the hands back to rest
    ramp_s: float = 0.3  # hands rise/sink into gesture space over about this time
    breath_hz: float = 0.25
    breath_rad: float = 0.012  # torso pitch amplitude of breathing; shoulders lift 2x this
    sway_rad: float = 0.015  # sideways sway amplitude

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not np.isfinite(value):
                raise ConfigError(f"procedural.{f.name} must be finite, got {value!r}")
            if f.name not in ("silence_db", "loud_db") and value < 0:
                raise ConfigError(f"procedural.{f.name} must be >= 0, got {value!r}")
        for name in ("prep_s", "stroke_s", "retract_s", "ramp_s", "energy_smooth_s"):
            if getattr(self, name) < 1.0 / GESTURE_FPS:
                raise ConfigError(f"procedural.{name} must be at least one frame (1/{GESTURE_FPS:g} s)")
        if self.min_beat_gap_s < self.stroke_s + 1.0 / GESTURE_FPS:
            raise ConfigError("procedural.min_beat_gap_s must exceed stroke_s by at least one frame")
        if self.loud_db <= self.silence_db:
            raise ConfigError(
                f"procedural.loud_db ({self.loud_db}) must be above silence_db ({self.silence_db})"
            )
        if self.beat_threshold > 1.0:
            raise ConfigError(f"procedural.beat_threshold must be in [0, 1], got {self.beat_threshold}")


@dataclass(frozen=True)
class Beat:
    """One planned beat: apex time (s), size (0..1) and the arms that make it."""

    time: float
    size: float
    arms: tuple[str, ...]


def _smooth(x: np.ndarray, width_s: float) -> np.ndarray:
    """Hann-window moving average of a per-frame series, ``width_s`` seconds wide (edges held)."""
    n = max(3, round(width_s * GESTURE_FPS) | 1)
    w = np.hanning(n + 2)[1:-1]
    return convolve1d(np.asarray(x, dtype=float), w / w.sum(), mode="nearest")


def _fill_short_gaps(mask: np.ndarray, max_gap: int) -> np.ndarray:
    """``mask`` (n,) bool with runs of False of at most ``max_gap`` frames between Trues set True."""
    out = mask.copy()
    on = np.flatnonzero(mask)
    for a, b in itertools.pairwise(on):
        if 1 < b - a <= max_gap + 1:
            out[a:b] = True
    return out


def _resample(features: AudioFeatures, name: str, times: np.ndarray) -> np.ndarray:
    """Feature series ``name`` (n_feature_frames,) linearly resampled at ``times`` (s)."""
    return np.interp(times, features.frame_times(), getattr(features, name))


class ProceduralGenerator:
    """Rule-based gestures from audio onsets, pitch accents and energy; see the module docstring."""

    name = "procedural"

    def __init__(self, config: ProceduralConfig | None = None):
        self.config = config or ProceduralConfig()

    # -- the GestureGenerator interface -----------------------------------------------------------

    def generate(self, speech: SpeechInput, style: Style, seed_poses: np.ndarray | None = None) -> np.ndarray:
        """Poses for ``speech``: (speech.n_frames, 27) unit bone directions, TED axes, 15 fps.

        ``seed_poses``: optional (4, 27) last poses of the previous streaming window; the first
        frames are blended from them so that windows join without a jump.
        """
        n = speech.n_frames
        times = np.arange(n) / GESTURE_FPS
        features = speech.features if speech.features is not None else _compute_features(speech)
        if features.n_frames == 0:
            raise ContractError("speech.features has no frames to gesture from")
        rng = np.random.default_rng(style.seed)

        energy, active = self.speech_activity(features, times)
        beats = self.plan_beats(features, times, energy, active, rng, style.variability)
        body = self._angles(times, energy, active, beats, rng, style)
        poses = pose_from_angles(body, n)
        if seed_poses is not None:
            poses = _blend_from_seed(poses, seed_poses)
        return poses

    # -- the cues -----------------------------------------------------------------------------------

    def speech_activity(self, features: AudioFeatures, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame speech energy in [0, 1] and the speaking mask (pauses < ``pause_s`` bridged)."""
        cfg = self.config
        rms_db = 20.0 * np.log10(np.maximum(_resample(features, "rms", times), 1e-6))
        energy = np.clip((rms_db - cfg.silence_db) / (cfg.loud_db - cfg.silence_db), 0.0, 1.0)
        active = _fill_short_gaps(energy > 0.0, round(cfg.pause_s * GESTURE_FPS))
        return energy, active

    def plan_beats(
        self,
        features: AudioFeatures,
        times: np.ndarray,
        energy: np.ndarray,
        active: np.ndarray,
        rng: np.random.Generator,
        variability: float = 1.0,
    ) -> list[Beat]:
        """Choose beat apex times from onsets and pitch accents; sizes in [0, 1]; arms from ``rng``.

        ``times``: (n,) frame times (s); ``energy``, ``active``: per-frame speech energy and mask.
        Apex times are snapped to frames so that the stroke ends exactly on the onset frame.
        """
        cfg = self.config
        n = len(times)
        strength = _resample(features, "onset_strength", times)
        # Onset strength relative to the utterance's strong onsets, but never to a quiet floor:
        # steady sounds have tiny flux everywhere, which must not become "strong" beats.
        ref = max(np.percentile(strength[active], 95) if active.any() else 0.0, cfg.onset_floor)
        candidates: dict[int, float] = {}
        for t in features.onsets:
            k = round(t * GESTURE_FPS)
            if 0 <= k < n and active[k]:  # the strength peak may sit in a neighbouring frame
                peak = strength[max(k - 1, 0) : k + 2].max()
                candidates[k] = max(candidates.get(k, 0.0), min(1.0, peak / ref))
        for k, accent in self._pitch_accents(features, times, active):
            near = [j for j in candidates if abs(j - k) <= 1]
            if near:  # an accent on an onset makes that beat stronger
                j = near[0]
                candidates[j] = min(1.0, candidates[j] + 0.5 * accent)
            else:
                candidates[k] = max(candidates.get(k, 0.0), accent)

        # Strongest first; drop candidates too close to a stronger beat.
        min_gap = cfg.min_beat_gap_s * GESTURE_FPS
        chosen: list[int] = []
        for k in sorted(candidates, key=lambda j: (-candidates[j], j)):
            if candidates[k] >= cfg.beat_threshold and all(abs(k - j) >= min_gap for j in chosen):
                chosen.append(k)

        dominant, other = ("right", "left") if rng.random() < 0.5 else ("left", "right")
        beats = []
        for k in sorted(chosen):
            u, jitter = rng.random(), rng.standard_normal()
            if candidates[k] > 0.7 and u < 0.4:
                arms: tuple[str, ...] = ("left", "right")
            else:
                arms = (dominant,) if u < 0.85 else (other,)
            size = candidates[k] * (0.4 + 0.6 * energy[k]) * (1.0 + 0.15 * variability * jitter)
            beats.append(Beat(time=k / GESTURE_FPS, size=float(np.clip(size, 0.0, 1.5)), arms=arms))
        return beats

    def _pitch_accents(
        self, features: AudioFeatures, times: np.ndarray, active: np.ndarray
    ) -> list[tuple[int, float]]:
        """Frames of prominent f0 peaks and their strength (0..1), from the voiced frames only."""
        f0 = _resample(features, "f0_hz", times)
        # Linear interpolation smears unvoiced (0 Hz) frames into their neighbours: keep frames
        # whose nearest feature frame is voiced too.
        voiced = (f0 > 0) & (
            np.interp(times, features.frame_times(), (features.f0_hz > 0).astype(float)) > 0.99
        )
        if voiced.sum() < 3:
            return []
        semitones = np.full(len(times), np.nan)
        semitones[voiced] = 12.0 * np.log2(f0[voiced] / np.median(f0[voiced]))
        filled = np.where(voiced, semitones, np.nanmin(semitones[voiced]))  # unvoiced = valleys
        peaks, props = find_peaks(filled, prominence=self.config.pitch_accent_semitones)
        return [
            (int(k), float(min(1.0, p / (3 * self.config.pitch_accent_semitones))))
            for k, p in zip(peaks, props["prominences"])
            if voiced[k] and active[k]
        ]

    # -- from cues to angles ------------------------------------------------------------------------

    def _angles(
        self,
        times: np.ndarray,
        energy: np.ndarray,
        active: np.ndarray,
        beats: list[Beat],
        rng: np.random.Generator,
        style: Style,
    ) -> BodyAngles:
        """Body angles (rad), each (n,): rest + amplitude * (idle + gesture space + beats)."""
        cfg = self.config
        amp, var = style.amplitude, style.variability
        # 0 = rest .. 1 = gesture space. The hands rise ahead of speech (the smoothing looks ahead)
        # but only start sinking once it has ended (the mask is held for ramp_s first), so that the
        # sinking never overlaps the last beat's retraction.
        held = active.copy()
        for shift in range(1, round(cfg.ramp_s * GESTURE_FPS) + 1):
            held[shift:] |= active[:-shift]
        space = _smooth(held.astype(float), 2 * cfg.ramp_s)
        level = space * (0.5 + 0.5 * _smooth(energy, cfg.energy_smooth_s))  # how far the hands rise

        # Idle: breathing, and a sway made of two slow incommensurate sines; seeded phases.
        phase = rng.uniform(0.0, 2 * np.pi, size=3)
        breath = np.sin(2 * np.pi * cfg.breath_hz * times + phase[0])
        sway = 0.6 * np.sin(2 * np.pi * 0.07 * times + phase[1])
        sway += 0.4 * np.sin(2 * np.pi * 0.13 * times + phase[2])

        # Per-phrase variation of the hold pose: which hand leads, how high, how wide.
        hold_var = {side: self._phrase_variation(active, rng, var) for side in _SIDES}
        beat_curve = {side: self._beat_curve(times, [b for b in beats if side in b.arms]) for side in _SIDES}

        arms = {}
        for side in _SIDES:
            lift, width = hold_var[side]
            b = beat_curve[side]
            offsets = {  # the shoulder joins a beat's elbow motion a little
                "flex": level * (HOLD_ARM.flex - REST_ARM.flex) * lift + 0.25 * b,
                "abd": level * (HOLD_ARM.abd - REST_ARM.abd) * width,
                "twist": level * (HOLD_ARM.twist - REST_ARM.twist),
                "elbow": level * (HOLD_ARM.elbow - REST_ARM.elbow) * lift + b,
            }
            arms[side] = ArmAngles(
                **{
                    name: np.clip(getattr(REST_ARM, name) + amp * offsets[name], *ARM_LIMITS[name])
                    for name in offsets
                }
            )
        nod = 0.15 * 0.5 * (beat_curve["left"] + beat_curve["right"])  # the head dips with the strokes
        return BodyAngles(
            torso_pitch=amp * (cfg.breath_rad * breath + 0.03 * level),  # leaning in a little to talk
            torso_roll=amp * cfg.sway_rad * sway,
            shrug=amp * 2 * cfg.breath_rad * breath,
            head_pitch=amp * -nod,
            left=arms["left"],
            right=arms["right"],
        )

    def _phrase_variation(
        self, active: np.ndarray, rng: np.random.Generator, variability: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per-frame (lift, width) factors of one arm's hold, constant per phrase, smoothly joined."""
        lift = np.ones(len(active))
        width = np.ones(len(active))
        edges = np.flatnonzero(np.diff(active.astype(int)) == 1) + 1
        for start, stop in zip(np.r_[0, edges], np.r_[edges, len(active)]):
            lift[start:stop] = 1.0 + 0.2 * variability * rng.standard_normal()
            width[start:stop] = 1.0 + 0.3 * variability * rng.standard_normal()
        ramp = 2 * self.config.ramp_s
        return _smooth(np.clip(lift, 0.5, 1.5), ramp), _smooth(np.clip(width, 0.3, 2.0), ramp)

    def _beat_curve(self, times: np.ndarray, beats: list[Beat]) -> np.ndarray:
        """Elbow-flexion offset (rad), (n,), of one arm's beats: lift, fast drop to the apex, back.

        A monotone piecewise-cubic (PCHIP) through keyframes per beat: 0 at the preparation start,
        ``+beat_lift`` at the stroke start, ``-beat_drop`` at the apex (on the onset; PCHIP has zero
        slope at this local minimum, so hand speed has a local minimum there), 0 after the
        retraction. When the next beat's preparation would start before this retraction ends, the
        curve goes from this apex straight to the next stroke start.
        """
        cfg = self.config
        if not beats:
            return np.zeros(len(times))
        knots: list[tuple[float, float]] = []  # (time s, elbow offset rad)
        for beat in beats:
            top = beat.time - cfg.stroke_s
            prep_start = top - cfg.prep_s
            if knots and knots[-1][0] >= prep_start:
                knots.pop()  # previous retraction overlaps this preparation: apex -> top directly
            else:
                knots.append((prep_start, 0.0))
            knots += [(top, beat.size * cfg.beat_lift), (beat.time, -beat.size * cfg.beat_drop)]
            knots.append((beat.time + cfg.retract_s, 0.0))
        t, y = np.array(knots).T
        curve = PchipInterpolator(t, y, extrapolate=False)(times)
        return np.nan_to_num(curve, nan=0.0)


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
