"""Every metric of one motion set against the real clips it belongs to: per clip and pooled.

The building block of ``gesture-eval`` (:mod:`gesture_core.evaluation`), usable on its own::

    refs = [clip_reference(i, clip.info.clip_id, "beat2", clip.poses, clip.audio, clip.words, clip.phones)
            for i, clip in enumerate(clips)]
    per_clip = [score_clip(poses, ref) for poses, ref in zip(motions, refs)]
    pooled = pool_scores(refs, motions, per_clip)

Synchrony measures (:data:`MEASURES`, see :mod:`.synchrony`): ``sync`` -- strokes against
prominent syllables (acoustic, every clip; the headline); ``sync_triggers`` -- strokes against the
words that should carry a gesture (semantic timing, clips with words); ``sync_stressed`` -- strokes
against the primary-stressed vowels of content words (clips with a phone alignment); ``beat_align`` -- the
classic BeatAlign (speed minima against spectral-flux onsets, sigma 0.3 s), kept for comparison.
Each clip's null uses the seed ``(null_seed, clip index)``, the same for every motion set, so rows
are compared on the same shifts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..contracts import Word
from ..errors import DataError
from . import cues as cue_mod
from . import distribution, kinematics, motion, synchrony, timing

FPS = kinematics.FPS


@dataclass(frozen=True)
class SyncMeasure:
    """A synchrony measure: speech ``cue`` times against motion ``events`` with tolerance ``sigma`` (s)."""

    key: str
    cue: str
    events: str
    sigma: float
    description: str


MEASURES = (
    SyncMeasure("sync", "prominent", "strokes", synchrony.SYNC_SIGMA,
                "strokes (hand-speed peaks) vs prominent syllables (acoustic)"),
    SyncMeasure("sync_triggers", "triggers", "strokes", synchrony.SYNC_SIGMA,
                "strokes vs trigger words (timing.DEFAULT_TRIGGERS; anchor: stressed vowel or word start)"),
    SyncMeasure("sync_stressed", "stressed", "strokes", synchrony.SYNC_SIGMA,
                "strokes vs stressed syllables of content words (forced alignment)"),
    SyncMeasure("beat_align", "onsets", "speed_minima", motion.BEAT_SIGMA,
                "BeatAlign: joint-speed minima vs spectral-flux onsets (sigma 0.3 s)"),
)  # fmt: skip
EVENTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "strokes": lambda poses: kinematics.strokes(poses),
    "speed_minima": lambda poses: motion.motion_beats(poses),
}


@dataclass
class ClipReference:
    """A real clip as the metrics see it: ``index`` (seeds its null), id, set, real poses (T, 27),
    speech cue times (s) by name, words and phones (for semantic timing)."""

    index: int
    clip_id: str
    set_name: str
    real: np.ndarray
    cues: dict[str, np.ndarray]
    words: list[Word] = field(default_factory=list)
    phones: list = field(default_factory=list)

    @property
    def duration(self) -> float:
        return len(self.real) / FPS

    @property
    def key(self) -> str:
        """``set/clip``: unique across sets (clip ids are unique within a dataset only)."""
        return f"{self.set_name}/{self.clip_id}"


def speech_cues(audio: np.ndarray, words: Sequence[Word], phones: Sequence) -> dict[str, np.ndarray]:
    """Cue times (s) of one clip's speech: ``prominent``, ``onsets``; with words ``triggers`` (the
    anchors of :data:`~.timing.DEFAULT_TRIGGERS` words, :func:`~.timing.word_anchor`); with phones
    ``stressed``."""
    out = {"prominent": cue_mod.prominent_syllables(audio), "onsets": motion.audio_onsets(audio)}
    anchors = [timing.word_anchor(w, phones) for w in words if timing.is_trigger(w.word)]
    if anchors:
        out["triggers"] = np.sort(anchors)
    if phones:
        out["stressed"] = cue_mod.stressed_syllables(phones, words)
    return out


def clip_reference(
    index: int, clip_id: str, set_name: str, real: np.ndarray, audio: np.ndarray,
    words: Sequence[Word] = (), phones: Sequence = (),
) -> ClipReference:  # fmt: skip
    """A :class:`ClipReference` with the cues of its speech (:func:`speech_cues`)."""
    real = kinematics.check_poses(real, 2)
    return ClipReference(
        index, clip_id, set_name, real, speech_cues(audio, words, phones), list(words), list(phones)
    )


@dataclass
class ClipScores:
    """Scores of one motion on one clip: synchrony by measure, distribution distances to the clip's
    real motion, trigger words with their strokes, jerk sum and count (for pooling), stroke count."""

    sync: dict[str, synchrony.SyncResult]
    distances: dict[str, float]
    timing: list[timing.WordStroke]
    jerk_sum: float
    jerk_n: int
    n_strokes: int
    duration: float

    def summary(self) -> dict[str, object]:
        """JSON-ready values."""
        return {
            "sync": {k: v.to_dict() for k, v in self.sync.items()},
            "distances": self.distances,
            "mean_jerk": self.jerk_sum / self.jerk_n if self.jerk_n else float("nan"),
            "strokes_per_s": self.n_strokes / self.duration,
            "timing": timing.summarize_offsets(self.timing),
        }


def score_clip(
    poses: np.ndarray, ref: ClipReference, n_shifts: int = synchrony.N_SHIFTS, null_seed: int = 0
) -> ClipScores:
    """Every per-clip metric of ``poses`` (T, 27) (the clip's length) against ``ref``."""
    poses = kinematics.check_poses(poses, 2)
    if len(poses) != len(ref.real):
        raise DataError(f"clip {ref.clip_id!r}: motion of {len(poses)} frames, the clip has {len(ref.real)}")
    events = {name: fn(poses) for name, fn in EVENTS.items()}
    sync = {}
    for m in MEASURES:
        if m.cue in ref.cues:
            c = ref.cues[m.cue]
            c = c[(c >= 0) & (c < ref.duration)]
            sync[m.key] = synchrony.sync_test(
                c, events[m.events], ref.duration, n_shifts, (null_seed, ref.index), m.sigma
            )
    jerk_n = max(len(poses) - 3, 0)
    jerk = motion.pose_smoothness(poses)[1] * jerk_n if jerk_n else 0.0
    return ClipScores(
        sync,
        distribution.distribution_distances([ref.real], [poses]),
        timing.word_stroke_offsets(poses, ref.words, phones=ref.phones) if ref.words else [],
        jerk,
        jerk_n,
        len(events["strokes"]),
        ref.duration,
    )


def pool_scores(
    refs: Sequence[ClipReference], motions: Sequence[np.ndarray], scores: Sequence[ClipScores]
) -> dict[str, object]:
    """Clips pooled: synchrony (:func:`~.synchrony.pooled_sync`) by measure, distribution distances of
    the pooled frames, jerk, strokes per second, semantic timing summary. JSON-ready except the
    ``SyncResult`` values under ``sync_results``."""
    if not refs:
        raise DataError("pool_scores: no clips")
    sync = {
        m.key: synchrony.pooled_sync([s.sync[m.key] for s in scores if m.key in s.sync])
        for m in MEASURES
        if any(m.key in s.sync for s in scores)
    }
    seconds = sum(r.duration for r in refs)
    jerk_n = sum(s.jerk_n for s in scores)
    return {
        "sync_results": sync,
        "sync": {k: v.to_dict() for k, v in sync.items()},
        "distances": distribution.distribution_distances([r.real for r in refs], list(motions)),
        "mean_jerk": sum(s.jerk_sum for s in scores) / jerk_n if jerk_n else float("nan"),
        "strokes_per_s": sum(s.n_strokes for s in scores) / seconds,
        "timing": timing.summarize_offsets([w for s in scores for w in s.timing]),
        "n_clips": len(refs),
        "seconds": seconds,
    }
