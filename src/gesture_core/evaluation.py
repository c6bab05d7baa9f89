"""Evaluate gesture generators against real motion with baselines: the ``gesture-eval`` command.

    gesture-eval --data DIR [--data DIR ...] [--seen-data DIR ...] --out OUT_DIR \\
                 [--backend NAME[+layer][:CKPT] ...] [--seeds 0 1 2] [--streamed] [--live 0.2 0.6 ...] \\
                 [--shifts 1000] [--bootstrap 500] [--fgd-model DIR | --no-fgd] \\
                 [--retarget-config YAML | --no-robot]

Every ``--data`` directory (project clip format) is one evaluation *set*, named after the
directory; the pooled rows are over all of them. ``--seen-data`` sets are scored and reported the
same way but never pooled: use them for data a learned backend was trained on (e.g. the first 50 s
of the BEAT2 clip behind the shipped weights).

Rows, all scored by the same code against the clips' real motion and speech:

- ``real motion``: the motion recorded with the speech (ground truth);
- ``static mean pose``: the mean pose of the set's real motion, held still (the baseline for
  stillness; a generator's rest pose can know the population's posture, not each clip's);
- ``mismatched real motion``: real motion of *another* clip (the same speaker's when there is
  one, :func:`mismatch_partners`) played against this clip's speech (the baseline for fit);
- every ``--backend`` (any name :func:`gesture_core.generation.factory.make_generator` accepts; a
  learned backend without ``:CKPT`` uses its shipped weights; default: every backend), once per
  style seed; with ``--streamed`` also generated window by window
  (:class:`~gesture_core.generation.streaming.GestureStream`); with ``--live S ...`` also streamed
  live (:class:`~gesture_core.generation.streaming.UtteranceStream`) with each lookahead ``S`` s:
  the audio pushed in 0.1 s chunks, each word when its audio is complete (as ASR words come);
- each backend **on time-shifted speech**: the speech circularly shifted by half the clip before
  generation, the motion scored against the real speech (the baseline a generator that follows its
  speech must beat).

Metrics (:mod:`gesture_core.metrics`; TED poses at 15 fps):

- synchrony percentile and z-score against the permutation null, per clip and pooled
  (:mod:`~gesture_core.metrics.suite` ``MEASURES``): strokes vs prominent syllables (every clip),
  strokes vs stressed syllables (clips with a phone alignment), and BeatAlign for comparison;
- FGD on 60-frame windows at every ``--fgd-stride`` frames, with a paired block-bootstrap 95 %
  interval (the shared autoencoder of ``--fgd-model``; default ``../shared/models/fgd_autoencoder_ted``
  beside the repository when it exists);
- distribution distances (:mod:`~gesture_core.metrics.distribution`): hand speed, hand height,
  elbow angle (1-Wasserstein), fraction of time in motion; strokes per second; jerk;
- semantic timing (:mod:`~gesture_core.metrics.timing`) on clips with words;
- robot side (``--retarget-config``, default ``config/retarget_humanoid.yaml``): the poses retargeted
  by :class:`gesture_core.retarget.Retargeter` (IK before the safety stage) and checked against the
  limits the safety stage enforces: velocity-limit violations, samples at a joint limit.

A cell where a baseline (static, mismatched) does as well as real motion is flagged (⚠), and so is
a static pose that beats mismatched real motion on a distribution distance.

Writes ``OUT/metrics.md`` (tables), ``OUT/metrics.json`` (everything, per clip too) and PNG plots
(``sync_null.png``, ``sync_clips.png``, ``distributions.png``, ``fgd.png`` and, for the first
``--plot-clips`` clips, ``strokes_<clip>.png``, ``traces_<clip>.png``, ``frames_<clip>.png``).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from . import skeleton
from .contracts import Word
from .data import format as fmt
from .errors import ConfigError, GestureError
from .generation.base import SpeechInput, Style
from .generation.factory import BACKENDS, LEARNED, make_generator
from .gestures.layer import with_gesture_layer
from .metrics import distribution, kinematics, motion, suite
from .weights import default_checkpoint

log = logging.getLogger(__name__)

#: ``../shared/models/fgd_autoencoder_ted`` beside the repository (used when it exists).
DEFAULT_FGD_MODEL = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "fgd_autoencoder_ted"
#: A joint closer than this to a limit (rad) counts as "at the limit".
AT_LIMIT_TOL = 1e-3
GROUND_TRUTH = "real motion"
STATIC = "static mean pose"
MISMATCHED = "mismatched real motion"
POOLED = "pooled"
ALL = "all sets"
#: Bones drawn in the direction-trace plots.
TRACE_BONES = ("left_upper_arm", "left_forearm", "right_upper_arm", "right_forearm")


# ------------------------------------------------------------------------------ rows and settings


@dataclass(frozen=True)
class BackendSpec:
    """A generator: ``backend`` with its ``checkpoint`` (None: weight-free), shown as ``label``."""

    label: str
    backend: str
    checkpoint: Path | None
    layered: bool = False


LAYER_SUFFIX = "+layer"


def parse_backend(spec: str) -> BackendSpec:
    """``NAME[+layer][:CKPT_DIR]`` -> :class:`BackendSpec`; NAME any of
    :data:`gesture_core.generation.factory.BACKENDS`.

    A learned backend without a directory uses its shipped checkpoint; a weight-free one takes none.
    ``+layer`` wraps a learned backend in the lexicon and markup layer, as the generator node runs it
    (:func:`gesture_core.gestures.layer.with_gesture_layer`); the weight-free procedural generator
    applies the layer itself.
    """
    name, _, path = spec.partition(":")
    layered = name.endswith(LAYER_SUFFIX)
    name = name.removesuffix(LAYER_SUFFIX)
    if name not in BACKENDS:
        raise ConfigError(f"--backend {spec!r}: backend must be one of {list(BACKENDS)}")
    if name not in LEARNED:
        if path or layered:
            raise ConfigError(f"--backend {spec!r}: {name} takes no checkpoint and applies the layer itself")
        return BackendSpec(name, name, None)
    suffix = " + lexicon layer" if layered else ""
    if path:
        ckpt = Path(path)
        return BackendSpec(f"{name} ({ckpt.name}){suffix}", name, ckpt, layered)
    shipped = default_checkpoint(name)
    if shipped is None:
        raise ConfigError(f"--backend {spec!r}: no shipped {name} checkpoint; give one as {name}:CKPT_DIR")
    return BackendSpec(f"{name} (shipped){suffix}", name, shipped, layered)


def default_backends() -> list[str]:
    """Every backend that can run without arguments: the weight-free ones and those with shipped weights."""
    return [b for b in BACKENDS if b not in LEARNED or default_checkpoint(b) is not None]


@dataclass(frozen=True)
class RowSpec:
    """A row: ``kind`` is ``truth`` | ``static`` | ``mismatched`` | ``generated`` | ``shifted`` |
    ``streamed`` | ``live``; ``backend`` for the generated kinds, ``lookahead`` (s) for ``live``."""

    label: str
    kind: str
    backend: BackendSpec | None = None
    lookahead: float | None = None

    @property
    def is_baseline(self) -> bool:
        return self.kind in ("static", "mismatched")


@dataclass(frozen=True)
class EvalSettings:
    """Settings of an evaluation run, validated on construction (``ConfigError`` names the option).

    - ``seeds``: style seeds; each generator runs once per seed (pooled numbers: mean ± sd).
    - ``n_shifts``, ``null_seed``: permutation null of the synchrony tests.
    - ``n_boot``: bootstrap resamples of the FGD interval; ``fgd_stride``: frames between FGD windows.
    - ``streamed``: also generate every backend window by window.
    - ``live``: lookaheads (s) with which every backend is also streamed live.
    """

    seeds: tuple[int, ...] = (0,)
    n_shifts: int = 1000
    null_seed: int = 0
    n_boot: int = 500
    fgd_stride: int = 1
    streamed: bool = False
    live: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        for value in self.live:
            if not 0.0 <= value <= 10.0:
                raise ConfigError(f"--live: lookaheads must be in [0, 10] s, got {value}")
        if not self.seeds:
            raise ConfigError("--seeds: at least one seed is needed")
        if self.n_shifts < 10:
            raise ConfigError(f"--shifts: need >= 10 shifts for a percentile, got {self.n_shifts}")
        if self.n_boot < 10:
            raise ConfigError(f"--bootstrap: need >= 10 resamples, got {self.n_boot}")
        if not 1 <= self.fgd_stride <= 60:
            raise ConfigError(f"--fgd-stride: must be in [1, 60] frames, got {self.fgd_stride}")


@dataclass
class EvalSet:
    """The clips of one dataset directory; ``seen``: a learned backend was trained on it (not pooled)."""

    name: str
    root: Path
    clips: list[fmt.Clip]
    seen: bool = False


def load_sets(data: Sequence[Path], seen: Sequence[Path] = ()) -> list[EvalSet]:
    """Every clip of the dataset directories ``data`` (held out) and ``seen`` (not pooled)."""
    sets = []
    for root, is_seen in [(Path(d), False) for d in data] + [(Path(d), True) for d in seen]:
        clips = [fmt.load_clip(root, info) for info in fmt.read_manifest(root)]
        if not clips:
            raise ConfigError(f"--data {root}: the dataset has no clips")
        sets.append(EvalSet(root.name, root, clips, is_seen))
    names = [s.name for s in sets]
    if len(set(names)) != len(names):
        raise ConfigError(f"--data: two datasets share a directory name ({names}); set names must differ")
    if not any(not s.seen for s in sets):
        raise ConfigError("--data: at least one held-out dataset is needed")
    return sets


# ------------------------------------------------------------------------------ baselines


def fit_length(poses: np.ndarray, n_frames: int) -> np.ndarray:
    """``poses`` (M, 27) cut or padded (repeating the last frame) to (n_frames, 27)."""
    if len(poses) >= n_frames:
        return poses[:n_frames]
    return np.concatenate([poses, np.repeat(poses[-1:], n_frames - len(poses), axis=0)])


def ping_pong(poses: np.ndarray, n_frames: int) -> np.ndarray:
    """``poses`` (M, 27) cut to ``n_frames``, or extended by playing it backwards and forwards again
    (real motion throughout, no jump), M >= 2."""
    out = [poses]
    total, forward = len(poses), False
    while total < n_frames:
        part = (poses if forward else poses[::-1])[1:]
        out.append(part)
        total += len(part)
        forward = not forward
    return np.concatenate(out)[:n_frames]


def mean_pose(sequences: Sequence[np.ndarray]) -> np.ndarray:
    """The mean pose (27,) of every frame of ``sequences`` (bone vectors averaged, re-normalised)."""
    frames = np.concatenate([np.asarray(p, dtype=np.float64) for p in sequences])
    return skeleton.normalize_directions(frames.mean(axis=0))


def mismatch_partners(speakers: Sequence[str], sets: Sequence[str], lengths: Sequence[int]) -> list[int]:
    """For each clip, another clip whose real motion plays against its speech.

    Candidates: the other clips of the same speaker; if none, the other clips of the same set; if
    none, every other clip. Among them the longer-or-equal ones when there are any (less
    ping-pong); then the first one after the clip in order, wrapping around. Needs >= 2 clips.
    """
    n = len(speakers)
    if n < 2:
        raise ConfigError("the mismatched baseline needs at least 2 clips")
    partners = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        pool = (
            [j for j in others if speakers[j] == speakers[i]]
            or [j for j in others if sets[j] == sets[i]]
            or others
        )
        longer = [j for j in pool if lengths[j] >= lengths[i]] or pool
        partners.append(min(longer, key=lambda j: (j - i) % n))
    return partners


def shift_speech(audio: np.ndarray, words: Sequence[Word], n_frames: int) -> tuple[np.ndarray, list[Word]]:
    """The speech of a clip of ``n_frames`` circularly shifted by half the clip (whole frames): audio
    rolled, word times moved with it (mod the clip's duration, cut at its end)."""
    shift_frames = n_frames // 2
    duration = n_frames / fmt.FPS
    dt = shift_frames / fmt.FPS
    rolled = np.roll(audio, fmt.expected_audio_samples(shift_frames))
    moved = []
    for w in words:
        start = (w.start + dt) % duration
        moved.append(Word(w.word, start, min(start + (w.end - w.start), duration), w.conf))
    return rolled, sorted(moved, key=lambda w: w.start)


def generate(
    generator: Any, clip_id: str, n_frames: int, audio: np.ndarray, words: list[Word], seed: int,
    streamed: bool,
) -> np.ndarray:  # fmt: skip
    """Poses (n_frames, 27) of ``generator`` for ``audio``/``words`` (whole, or window by window)."""
    style = Style(seed=seed)
    if not streamed:
        poses = generator.generate(SpeechInput(audio, words), style)
    else:
        from .generation.streaming import GestureStream

        stream = GestureStream(generator, style, f"eval-{clip_id}")
        parts = []
        while stream.pending(audio.size):
            parts.append(stream.next_window(audio, words).poses)
        last = stream.finish(audio, words)
        if last is not None:
            parts.append(last.poses)
        poses = np.concatenate(parts)
    return fit_length(np.asarray(poses, dtype=np.float64), n_frames)


def generate_live(
    generator: Any, clip_id: str, n_frames: int, audio: np.ndarray, words: list[Word], seed: int,
    lookahead: float | None,
) -> np.ndarray:  # fmt: skip
    """Poses (n_frames, 27) of ``generator`` streamed live with ``lookahead`` s: the audio in 0.1 s
    chunks, each word pushed once its audio is complete, the final frames pulled after every chunk."""
    from .generation.streaming import StreamConfig, UtteranceStream, live_chunks

    config = StreamConfig(lookahead_s=lookahead)
    stream = UtteranceStream(generator, Style(seed=seed), f"live-{clip_id}", config)
    parts = []
    for samples, known in live_chunks(audio, words):
        stream.push_audio(samples)
        stream.push_words(known)
        chunk = stream.pull()
        if chunk is not None:
            parts.append(chunk.poses)
    last = stream.end()
    if last is not None:
        parts.append(last.poses)
    return fit_length(np.concatenate(parts).astype(np.float64), n_frames)


# ------------------------------------------------------------------------------ robot limits


class RobotLimitCheck:
    """Retargets TED poses onto the robot of a retarget config and counts limit violations."""

    def __init__(self, config_path: Path):
        from .retarget.config import load_config, safety_limits
        from .retarget.ik import Retargeter

        cfg = load_config(config_path)
        self.retargeter = Retargeter(cfg)
        self.limits = safety_limits(cfg, self.retargeter.robot)

    def counts(self, poses: np.ndarray) -> dict[str, float]:
        """Counts for one sequence of TED poses (T, 27) at 15 fps (a fresh start at the rest pose)."""
        q = self.retargeter.retarget(poses)  # (T, J) rad
        lim = self.limits
        v = motion.limit_violations(q, np.arange(len(q)) / skeleton.FPS, lim.lower, lim.upper, lim.velocity)
        observed = self.retargeter.observed  # joints held at rest cannot reach a limit by motion
        near = (q[:, observed] <= lim.lower[observed] + AT_LIMIT_TOL) | (
            q[:, observed] >= lim.upper[observed] - AT_LIMIT_TOL
        )
        return {
            "samples": q.size, "intervals": (len(q) - 1) * q.shape[1], "position": v.position_count,
            "velocity": v.velocity_count, "at_limit": int(near.sum()), "max_excess": v.max_velocity_excess,
        }  # fmt: skip

    @staticmethod
    def summarize(counts: Sequence[dict[str, float]]) -> dict[str, float]:
        """Fractions over the sequences of ``counts``."""
        total = {
            k: sum(c[k] for c in counts) for k in ("samples", "intervals", "position", "velocity", "at_limit")
        }
        nan = float("nan")
        return {
            "joint_limit_violations": total["position"] / total["samples"] if total["samples"] else nan,
            "at_joint_limit": total["at_limit"] / total["samples"] if total["samples"] else nan,
            "velocity_limit_violations": total["velocity"] / total["intervals"]
            if total["intervals"]
            else nan,
            "max_velocity_excess": max((c["max_excess"] for c in counts), default=nan),
        }


def load_fgd(path: Path | None) -> tuple[Any, str]:
    """The FGD feature extractor of ``path`` (None: skip) and a note for the report."""
    if path is None:
        return None, "FGD skipped: no autoencoder given (--fgd-model DIR)"
    if not path.is_dir():
        return None, f"FGD skipped: autoencoder directory {path} not found"
    try:
        from .metrics.fgd import load_fgd_extractor
    except ImportError as exc:  # FGD needs torch
        return None, f"FGD skipped: {exc}"
    return load_fgd_extractor(path), f"FGD autoencoder: {path}"


# ------------------------------------------------------------------------------ evaluation


@dataclass
class RowResult:
    """A row's motion and scores: ``motions[s][c]`` (T_c, 27) and ``clip_scores[s][c]`` for style
    seed ``s`` and clip ``c`` (one entry for baselines); ``groups[g][s]``: summary of group ``g``
    (``pooled`` or a set name) for seed ``s``."""

    spec: RowSpec
    motions: list[list[np.ndarray]] = field(default_factory=list, repr=False)
    clip_scores: list[list[suite.ClipScores]] = field(default_factory=list, repr=False)
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def value(self, group: str, key: str) -> tuple[float, float]:
        """Mean and sd over seeds of the dotted ``key`` (e.g. ``sync.sync.percentile``) of ``group``."""
        values = [lookup(g, key) for g in self.groups.get(group, [])]
        values = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
        if not values:
            return float("nan"), float("nan")
        return float(np.mean(values)), float(np.std(values))


def lookup(d: Any, key: str) -> Any:
    """The value at the dotted ``key`` (e.g. ``sync.sync.percentile``) of nested dicts ``d``; None if absent."""
    for part in key.split("."):
        if not isinstance(d, dict) or part not in d:
            return None
        d = d[part]
    return d


@dataclass
class Evaluation:
    """Everything ``gesture-eval`` computed: the sets, their clip references, the rows, notes."""

    sets: list[EvalSet]
    refs: list[suite.ClipReference]
    rows: list[RowResult]
    settings: EvalSettings
    notes: list[str]

    @property
    def groups(self) -> list[str]:
        """``pooled`` (the held-out sets), every set, and ``all sets`` when some set was seen in training."""
        extra = [ALL] if any(s.seen for s in self.sets) else []
        return [POOLED] + [s.name for s in self.sets] + extra

    def group_clips(self, group: str) -> list[int]:
        """Indices (into :attr:`refs`) of the clips of ``group``."""
        if group == POOLED:
            names = {s.name for s in self.sets if not s.seen}
        elif group == ALL:
            names = {s.name for s in self.sets}
        else:
            names = {group}
        return [i for i, r in enumerate(self.refs) if r.set_name in names]


def evaluate(
    sets: list[EvalSet],
    specs: list[BackendSpec],
    settings: EvalSettings,
    fgd_model: Path | None = None,
    retarget_config: Path | None = None,
) -> Evaluation:
    """Generate and score every row (see the module docstring) on the clips of ``sets``."""
    clips = [c for s in sets for c in s.clips]
    set_of = [s.name for s in sets for _ in s.clips]
    refs = [
        suite.clip_reference(i, c.info.clip_id, set_of[i], c.poses, c.audio, c.words, c.phones)
        for i, c in enumerate(tqdm(clips, desc="speech cues", unit="clip"))
    ]
    extractor, fgd_note = load_fgd(fgd_model)
    robot = RobotLimitCheck(retarget_config) if retarget_config is not None else None
    notes = [fgd_note, f"robot: {retarget_config}" if robot else "robot limit columns skipped"]
    short = [c.info.clip_id for c in clips if c.info.n_frames < 60]
    if short and extractor is not None:
        log.warning("%d clip(s) shorter than 60 frames add no FGD window: %s", len(short), short)
        notes.append(f"{len(short)} clip(s) shorter than 4 s give no FGD window: {', '.join(short)}")
    partners = mismatch_partners([c.info.speaker_id for c in clips], set_of, [c.info.n_frames for c in clips])
    set_mean = {x.name: mean_pose([c.poses for c in x.clips]) for x in sets}
    notes.append(
        "mismatched partners: " + ", ".join(f"{refs[i].key} <- {refs[j].key}" for i, j in enumerate(partners))
    )

    row_specs = [RowSpec(GROUND_TRUTH, "truth"), RowSpec(STATIC, "static"), RowSpec(MISMATCHED, "mismatched")]
    for spec in specs:
        row_specs.append(RowSpec(spec.label, "generated", spec))
        if settings.streamed:
            row_specs.append(RowSpec(f"{spec.label}, streamed", "streamed", spec))
        for lookahead in settings.live:
            row_specs.append(RowSpec(f"{spec.label}, live {lookahead:g} s", "live", spec, lookahead))
        row_specs.append(RowSpec(f"{spec.label} on time-shifted speech", "shifted", spec))
    rows = [RowResult(s) for s in row_specs]

    generators: dict[str, Any] = {}
    jobs = sum(len(clips) * (len(settings.seeds) if r.spec.backend else 1) for r in rows)
    with tqdm(total=jobs, desc="motion", unit="clip") as bar:
        for row in rows:
            spec = row.spec
            if spec.backend is None:
                fixed = {
                    "truth": lambda i: clips[i].poses.astype(np.float64),
                    "static": lambda i: np.tile(set_mean[set_of[i]], (clips[i].info.n_frames, 1)),
                    "mismatched": lambda i: ping_pong(
                        clips[partners[i]].poses.astype(np.float64), clips[i].info.n_frames
                    ),
                }[spec.kind]
                row.motions = [[fixed(i) for i in range(len(clips))]]
                bar.update(len(clips))
                continue
            key = f"{spec.backend.backend}:{spec.backend.checkpoint}:{spec.backend.layered}"
            if key not in generators:
                generator = make_generator(spec.backend.backend, spec.backend.checkpoint)
                generators[key] = with_gesture_layer(generator) if spec.backend.layered else generator
            for seed in settings.seeds:
                motions = []
                for c in clips:
                    audio, words = (c.audio, c.words)
                    if spec.kind == "shifted":
                        audio, words = shift_speech(c.audio, c.words, c.info.n_frames)
                    gen, info = generators[key], c.info
                    if spec.kind == "live":
                        live = generate_live(gen, info.clip_id, info.n_frames, audio, words, seed, spec.lookahead)
                        motions.append(live)
                    else:
                        streamed = spec.kind == "streamed"
                        motions.append(generate(gen, info.clip_id, info.n_frames, audio, words, seed, streamed))
                    bar.update(1)
                row.motions.append(motions)

    ev = Evaluation(sets, refs, rows, settings, notes)
    real_features = clip_features(extractor, [r.real for r in refs], settings.fgd_stride)
    runs = sum(len(r.motions) for r in rows)
    with tqdm(total=runs, desc="metrics", unit="run") as bar:
        for row in rows:
            for motions in row.motions:
                _score_run(ev, row, motions, extractor, real_features, robot)
                bar.update(1)
    for row in rows:
        log.info(
            "%s: sync %.0f (pooled percentile), FGD %.2f", row.spec.label,
            row.value(POOLED, "sync.sync.percentile")[0], row.value(POOLED, "fgd.fgd")[0],
        )  # fmt: skip
    return ev


def clip_features(
    extractor: Any, sequences: Sequence[np.ndarray], stride: int
) -> list[tuple[np.ndarray, np.ndarray]] | None:
    """FGD features (W_i, 32) and block ids (W_i,) of each sequence's windows (None without an
    extractor); block ids are unique across the sequences, so any subset pools for the bootstrap."""
    if extractor is None:
        return None
    from .metrics.fgd import fgd_windows

    out = []
    for i, poses in enumerate(sequences):
        windows, blocks = fgd_windows([poses], stride)
        feats = extractor.features(windows) if len(windows) else np.zeros((0, 32))
        out.append((feats, blocks + 1_000_000 * i))
    return out


def _score_run(
    ev: Evaluation, row: RowResult, motions: list[np.ndarray], extractor: Any,
    real_features: list[tuple[np.ndarray, np.ndarray]] | None, robot: RobotLimitCheck | None,
) -> None:  # fmt: skip
    """Score one run (one seed) of ``row``: per clip, then every group."""
    s = ev.settings
    scores = [suite.score_clip(m, r, s.n_shifts, s.null_seed) for m, r in zip(motions, ev.refs)]
    robot_counts = [robot.counts(m) for m in motions] if robot is not None else None
    generated_features = clip_features(extractor, motions, s.fgd_stride)
    row.clip_scores.append(scores)
    for g in ev.groups:
        idx = ev.group_clips(g)
        if not idx:
            continue
        summary = suite.pool_scores(
            [ev.refs[i] for i in idx], [motions[i] for i in idx], [scores[i] for i in idx]
        )
        if robot_counts is not None:
            summary["robot"] = RobotLimitCheck.summarize([robot_counts[i] for i in idx])
        if real_features is not None and generated_features is not None:
            real = np.concatenate([real_features[i][0] for i in idx])
            if len(real) >= 2:
                from .metrics.fgd import fgd_bootstrap

                generated = np.concatenate([generated_features[i][0] for i in idx])
                blocks = np.concatenate([real_features[i][1] for i in idx])
                res = fgd_bootstrap(real, generated, blocks, s.n_boot, s.null_seed)
                summary["fgd"] = {"fgd": res.fgd, "low": res.low, "high": res.high,
                                  "n_windows": res.n_windows, "n_blocks": res.n_blocks}  # fmt: skip
        row.groups.setdefault(g, []).append(summary)


# ------------------------------------------------------------------------------ flags and tables


@dataclass(frozen=True)
class Column:
    """A table column: dotted ``key`` into a group summary, ``heading``, format, and which way is better
    (``higher`` | ``lower`` | None: no ranking)."""

    key: str
    heading: str
    form: str
    better: str | None


COLUMNS = (
    Column("sync.sync.percentile", "Sync %ile ↑ (prominent syll.)", "{:.0f}", "higher"),
    Column("sync.sync.z", "z", "{:+.1f}", None),
    Column("sync.sync_stressed.percentile", "Sync %ile ↑ (stressed syll.)", "{:.0f}", "higher"),
    Column("fgd.fgd", "FGD ↓ [95% CI]", "{:.1f}", "lower"),
    Column("distances.hand_speed", "Hand speed W1 ↓ (u/s)", "{:.3f}", "lower"),
    Column("distances.hand_height", "Hand height W1 ↓ (u)", "{:.3f}", "lower"),
    Column("distances.elbow_angle", "Elbow angle W1 ↓ (°)", "{:.1f}", "lower"),
    Column("distances.motion_fraction", "In-motion Δ ↓", "{:.2f}", "lower"),
    Column("strokes_per_s", "Strokes/s", "{:.2f}", None),
    Column("mean_jerk", "Jerk (u/s³)", "{:.0f}", None),
    Column("robot.velocity_limit_violations", "Vel.-limit viol.", "{:.1%}", None),
)
#: Columns that measure fit to the speech (where the mismatched baseline must lose).
FIT_KEYS = ("sync.sync.percentile", "sync.sync_triggers.percentile", "sync.sync_stressed.percentile")


def _beats(a: float, b: float, better: str) -> bool:
    """``a`` at least as good as ``b`` (both finite)."""
    return a >= b - 1e-9 if better == "higher" else a <= b + 1e-9


def flags(ev: Evaluation) -> dict[str, list[dict[str, str]]]:
    """Per group, the cells where a baseline does as well as real motion: ``{"row", "column", "why"}``.

    - synchrony (fit to the speech): the static or the mismatched baseline at or above real motion;
    - distances and FGD (how the motion moves; real motion is 0 against itself by construction, and
      mismatched real motion of the same speaker is real motion too): the static pose at or below
      mismatched real motion.
    """
    by_kind = {r.spec.kind: r for r in ev.rows}
    out: dict[str, list[dict[str, str]]] = {}
    for g in ev.groups:
        found = []
        for col in (c for c in COLUMNS if c.better):
            truth = by_kind["truth"].value(g, col.key)[0]
            for kind in ("static", "mismatched") if col.key in FIT_KEYS else ("static",):
                v = by_kind[kind].value(g, col.key)[0]
                if math.isnan(v) or math.isnan(truth):
                    continue
                if _beats(v, truth, col.better):
                    why = f"{col.form.format(v)} vs real motion {col.form.format(truth)}"
                    found.append({"row": by_kind[kind].spec.label, "column": col.heading, "why": why})
            if col.better == "lower":
                v, ref = by_kind["static"].value(g, col.key)[0], by_kind["mismatched"].value(g, col.key)[0]
                if not math.isnan(v) and not math.isnan(ref) and _beats(v, ref, col.better):
                    why = f"{col.form.format(v)} vs mismatched real motion {col.form.format(ref)}"
                    found.append({"row": STATIC, "column": col.heading, "why": why})
        out[g] = found
    return out


def _cell(row: RowResult, group: str, col: Column, n_seeds: int) -> str:
    mean, sd = row.value(group, col.key)
    if math.isnan(mean):
        return "n/a"
    text = col.form.format(mean)
    if col.key == "fgd.fgd":
        low, high = row.value(group, "fgd.low")[0], row.value(group, "fgd.high")[0]
        text += f" [{col.form.format(low)}, {col.form.format(high)}]"
    if n_seeds > 1 and row.spec.backend is not None and sd > 0:
        text += f" ± {col.form.format(sd)}"
    return text


def _group_table(ev: Evaluation, group: str, flagged: list[dict[str, str]]) -> list[str]:
    columns = [c for c in COLUMNS if any(not math.isnan(r.value(group, c.key)[0]) for r in ev.rows)]
    marks = {(f["row"], f["column"]) for f in flagged}
    lines = ["| | " + " | ".join(c.heading for c in columns) + " |", "|---|" + "---:|" * len(columns)]
    for r in ev.rows:
        cells = []
        for c in columns:
            cell = _cell(r, group, c, len(r.motions))
            cells.append(f"⚠ {cell}" if (r.spec.label, c.heading) in marks else cell)
        lines.append(f"| {r.spec.label} | " + " | ".join(cells) + " |")
    if flagged:
        lines += ["", "Flagged (a baseline does as well as real motion):"]
        lines += [f"- {f['row']}, {f['column']}: {f['why']}" for f in flagged]
    shifted = _shift_notes(ev, group)
    if shifted:
        lines += ["", *shifted]
    return lines


def _shift_notes(ev: Evaluation, group: str) -> list[str]:
    """Generators whose synchrony on time-shifted speech is not below their own."""
    by_label = {r.spec.label: r for r in ev.rows}
    out = []
    for r in ev.rows:
        if r.spec.kind != "shifted":
            continue
        own = by_label[r.spec.backend.label].value(group, "sync.sync.percentile")[0]
        moved = r.value(group, "sync.sync.percentile")[0]
        if not math.isnan(own) and not math.isnan(moved) and moved >= own:
            out.append(f"- {r.spec.backend.label}: synchrony on time-shifted speech ({moved:.0f}) is not "
                       "below "
                       f"its own ({own:.0f}): no evidence that its timing follows the speech.")  # fmt: skip
    return out


def _clip_table(ev: Evaluation) -> list[str]:
    lines = ["| clip | set | s | " + " | ".join(r.spec.label for r in ev.rows) + " |",
             "|---|---|---:|" + "---:|" * len(ev.rows)]  # fmt: skip
    for c, ref in enumerate(ev.refs):
        cells = []
        for r in ev.rows:
            vals = [s[c].sync["sync"].percentile for s in r.clip_scores if "sync" in s[c].sync]
            vals = [v for v in vals if not math.isnan(v)]
            cells.append(f"{np.mean(vals):.0f}" if vals else "n/a")
        lines.append(f"| {ref.clip_id} | {ref.set_name} | {ref.duration:.1f} | " + " | ".join(cells) + " |")
    return lines


def _timing_table(ev: Evaluation) -> list[str]:
    groups = [g for g in ev.groups if any(ev.refs[i].words for i in ev.group_clips(g))]
    lines = ["| | set | trigger words | with a stroke ≤ 1 s | median offset (s) | on the word (±0.25 s) "
             "| %ile vs null |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for g in groups:
        for r in ev.rows:
            n = r.value(g, "timing.n_words")[0]
            if math.isnan(n) or n == 0:
                continue
            med, pct = r.value(g, "timing.median_offset")[0], r.value(g, "sync.sync_triggers.percentile")[0]
            lines.append(
                f"| {r.spec.label} | {g} | {n:.0f} | {r.value(g, 'timing.n_with_stroke')[0]:.0f} | "
                + ("n/a" if math.isnan(med) else f"{med:+.2f}")
                + f" | {r.value(g, 'timing.on_word_fraction')[0]:.0%} | "
                + ("n/a" if math.isnan(pct) else f"{pct:.0f}")
                + " |"
            )
    return lines if len(lines) > 2 else []


def _beat_align_table(ev: Evaluation) -> list[str]:
    lines = [
        "| | " + " | ".join(f"{g}: score / %ile" for g in ev.groups) + " |",
        "|---|" + "---:|" * len(ev.groups),
    ]
    for r in ev.rows:
        cells = []
        for g in ev.groups:
            s, p = r.value(g, "sync.beat_align.score")[0], r.value(g, "sync.beat_align.percentile")[0]
            cells.append("n/a" if math.isnan(s) else f"{s:.3f} / {p:.0f}")
        lines.append(f"| {r.spec.label} | " + " | ".join(cells) + " |")
    return lines


def markdown(ev: Evaluation) -> str:
    """The report: pooled and per-set tables with flags, per-clip synchrony, semantic timing, BeatAlign."""
    s = ev.settings
    flagged = flags(ev)
    held = [x for x in ev.sets if not x.seen]
    seconds = {x.name: sum(c.info.duration for c in x.clips) for x in ev.sets}
    held_text = ", ".join(f"{x.name} ({len(x.clips)} clips, {seconds[x.name]:.1f} s)" for x in held)
    seen_text = ", ".join(f"{x.name} ({seconds[x.name]:.1f} s)" for x in ev.sets if x.seen)
    out = [
        "# gesture-eval",
        "",
        f"Held-out sets (pooled): {held_text}."
        + (f" Seen in training, not pooled: {seen_text}." if seen_text else ""),
        f"Generators: style seeds {list(s.seeds)} (mean ± sd over seeds where > 1). Synchrony: percentile "
        f"of the score among {s.n_shifts} circular shifts of the speech cues (seed {s.null_seed}); "
        f"50 = chance. FGD: 60-frame windows every {s.fgd_stride} frame(s), 95% paired block-bootstrap "
        f"interval ({s.n_boot} resamples).",
        "",
    ]
    for g in ev.groups:
        seen = " (seen in training: learned rows are not held out)"
        title = {POOLED: "Pooled over the held-out sets", ALL: "All sets, held-out and seen" + seen}.get(
            g, f"Set {g}" + (seen if any(x.name == g and x.seen for x in ev.sets) else "")
        )
        out += [f"## {title}", "", *_group_table(ev, g, flagged[g]), ""]
    out += ["## Synchrony per clip (percentile, strokes vs prominent syllables)", "", *_clip_table(ev), ""]
    timing_lines = _timing_table(ev)
    if timing_lines:
        out += [
            "## Semantic timing (trigger words: gesture_core.metrics.timing.DEFAULT_TRIGGERS)",
            "",
            *timing_lines,
            "",
        ]
    out += [
        "## BeatAlign (joint-speed minima vs spectral-flux onsets), for comparison only",
        "",
        *_beat_align_table(ev),
        "",
    ]
    out += ["## Notes", "", *(f"- {n}" for n in ev.notes)]
    return "\n".join(out) + "\n"


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k != "sync_results"}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value


def to_json(ev: Evaluation, settings: dict[str, Any]) -> dict[str, Any]:
    """Everything: settings, sets, per-row groups (per seed) and per-clip scores, flags, notes."""
    return _clean({
        **settings,
        "sets": [{"name": s.name, "seen": s.seen, "clips": [c.info.clip_id for c in s.clips],
                  "seconds": round(sum(c.info.duration for c in s.clips), 3)} for s in ev.sets],
        "rows": [
            {
                "label": r.spec.label, "kind": r.spec.kind,
                "backend": r.spec.backend.backend if r.spec.backend else None,
                "checkpoint": str(r.spec.backend.checkpoint or "") or None if r.spec.backend else None,
                "groups": {g: {"mean": {c.key: r.value(g, c.key)[0] for c in COLUMNS}, "per_seed": runs}
                           for g, runs in r.groups.items()},
                "clips": {ref.key: [s[i].summary() for s in r.clip_scores] for i, ref in enumerate(ev.refs)},
            }
            for r in ev.rows
        ],
        "flags": flags(ev),
        "notes": ev.notes,
    })  # fmt: skip


def write_reports(out: Path, ev: Evaluation, settings: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``metrics.md``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "metrics.json", out / "metrics.md"
    json_path.write_text(
        json.dumps(to_json(ev, settings), indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    md_path.write_text(markdown(ev), encoding="utf-8")
    return json_path, md_path


# ------------------------------------------------------------------------------ plots


def plot_all(out: Path, ev: Evaluation, n_clips: int) -> list[Path]:
    """Write the PNG plots (see the module docstring); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    paths = [_sync_null(plt, out, ev), _sync_clips(plt, out, ev), _distributions(plt, out, ev)]
    if any(not math.isnan(r.value(POOLED, "fgd.fgd")[0]) for r in ev.rows):
        paths.append(_fgd_bars(plt, out, ev))
    for i, ref in enumerate(ev.refs[:n_clips]):
        paths += [
            _strokes(plt, out, ev, i),
            _direction_traces(plt, out, ev, i),
            _stick_figures(plt, out, ev, i),
        ]
    return paths


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _style(row: RowResult) -> dict[str, Any]:
    if row.spec.kind == "truth":
        return {"color": "black", "linewidth": 2.2}
    if row.spec.kind == "static":
        return {"color": "0.4", "linewidth": 1.2, "linestyle": ":"}
    if row.spec.kind == "mismatched":
        return {"color": "0.6", "linewidth": 1.4, "linestyle": "-."}
    return {"linewidth": 1.2, "linestyle": "--" if row.spec.kind == "shifted" else "-"}


def _sync_null(plt: Any, out: Path, ev: Evaluation) -> Path:
    n = len(ev.rows)
    cols = min(4, n)
    fig, axes = plt.subplots(
        (n + cols - 1) // cols, cols, figsize=(3.2 * cols, 2.4 * ((n + cols - 1) // cols)), squeeze=False
    )
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    for ax, r in zip(axes.ravel(), ev.rows):
        res = r.groups[POOLED][0]["sync_results"].get("sync")
        if res is None or math.isnan(res.score):
            ax.set_title(f"{r.spec.label}: n/a", fontsize=8)
            continue
        ax.hist(res.null, bins=40, color="0.75")
        ax.axvline(res.score, color="C3", linewidth=2)
        ax.set_title(f"{r.spec.label}\n{res.percentile:.0f}th percentile, z {res.z:+.1f}", fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(
        "Pooled synchrony (strokes vs prominent syllables): null of shifted cues (grey), real timing (red)",
        fontsize=9,
    )
    return _save(plt, fig, out / "sync_null.png")


def _sync_clips(plt: Any, out: Path, ev: Evaluation) -> Path:
    grid = np.full((len(ev.refs), len(ev.rows)), np.nan)
    for j, r in enumerate(ev.rows):
        for i in range(len(ev.refs)):
            vals = [s[i].sync["sync"].percentile for s in r.clip_scores if "sync" in s[i].sync]
            grid[i, j] = np.nanmean(vals) if vals and not np.all(np.isnan(vals)) else np.nan
    fig, ax = plt.subplots(figsize=(1.0 + 0.7 * len(ev.rows), 1.0 + 0.28 * len(ev.refs)))
    im = ax.imshow(grid, cmap="RdBu_r", vmin=0, vmax=100, aspect="auto")
    ax.set_xticks(range(len(ev.rows)), [r.spec.label for r in ev.rows], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(ev.refs)), [f"{r.set_name}: {r.clip_id}" for r in ev.refs], fontsize=6)
    fig.colorbar(im, ax=ax, label="synchrony percentile (50 = chance)")
    ax.set_title("Synchrony per clip", fontsize=9)
    return _save(plt, fig, out / "sync_clips.png")


def _distributions(plt: Any, out: Path, ev: Evaluation) -> Path:
    idx = ev.group_clips(POOLED)
    quantities = (("hand_speed", "wrist speed (TED units/s)"),
                  ("hand_height", "wrist height above mid-spine (u)"),
                  ("elbow_angle", "inner elbow angle (deg)"))  # fmt: skip
    fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    samples = {r.spec.label: distribution.pooled_samples([r.motions[0][i] for i in idx]) for r in ev.rows}
    for ax, (key, name) in zip(axes, quantities):
        real = samples[GROUND_TRUTH][key]
        lo, hi = np.percentile(real, [0.5, 99.5])
        span = hi - lo
        bins = np.linspace(lo - 0.2 * span, hi + 0.2 * span, 50)
        for r in ev.rows:
            if r.spec.kind == "static" and key == "hand_speed":
                continue  # all zeros
            hist, edges = np.histogram(
                np.clip(samples[r.spec.label][key], bins[0], bins[-1]), bins=bins, density=True
            )
            ax.plot((edges[:-1] + edges[1:]) / 2, hist, label=r.spec.label, **_style(r))
        ax.set_xlabel(name)
        ax.set_ylabel("density")
    axes[0].legend(fontsize=6)
    fig.suptitle("Distributions pooled over the held-out sets (first style seed)", fontsize=9)
    return _save(plt, fig, out / "distributions.png")


def _fgd_bars(plt: Any, out: Path, ev: Evaluation) -> Path:
    fig, ax = plt.subplots(figsize=(7, 0.6 + 0.35 * len(ev.rows)))
    for k, r in enumerate(ev.rows):
        v, lo, hi = (r.value(POOLED, f"fgd.{x}")[0] for x in ("fgd", "low", "high"))
        if math.isnan(v):
            continue
        color = "black" if r.spec.kind == "truth" else "C0"
        ax.plot([lo, hi], [k, k], color=color, linewidth=2, alpha=0.5)
        ax.plot(v, k, "o", color=color)
    ax.set_yticks(range(len(ev.rows)), [r.spec.label for r in ev.rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("FGD (dot) and 95% block-bootstrap interval (bar), pooled over the held-out sets")
    return _save(plt, fig, out / "fgd.png")


def _strokes(plt: Any, out: Path, ev: Evaluation, clip: int) -> Path:
    ref = ev.refs[clip]
    rows = [r for r in ev.rows if r.spec.kind in ("truth", "generated", "streamed", "live")]
    fig, axes = plt.subplots(len(rows), 1, figsize=(12, 1.5 * len(rows)), sharex=True, squeeze=False)
    cues = ref.cues["prominent"]
    for ax, r in zip(axes[:, 0], rows):
        poses = r.motions[0][clip]
        t = np.arange(len(poses)) / skeleton.FPS
        ax.plot(
            t, kinematics.stroke_speed(poses), color="black" if r.spec.kind == "truth" else "C0", linewidth=1
        )
        for s in kinematics.strokes(poses):
            ax.axvline(s, color="C3", linewidth=0.8, alpha=0.7)
        ax.plot(cues, np.zeros_like(cues), "v", color="C2", markersize=5)
        ax.set_ylabel(r.spec.label, fontsize=7, rotation=0, ha="right")
    axes[-1, 0].set_xlabel(
        "time (s); green: prominent syllables, red: strokes, line: both hands' speed (u/s)"
    )
    fig.suptitle(f"Strokes and speech cues: {ref.set_name} / {ref.clip_id}", fontsize=9)
    return _save(plt, fig, out / f"strokes_{ref.set_name}_{ref.clip_id}.png")


def _direction_traces(plt: Any, out: Path, ev: Evaluation, clip: int) -> Path:
    ref = ev.refs[clip]
    rows = [r for r in ev.rows if r.spec.kind in ("truth", "generated", "streamed", "live")]
    fig, axes = plt.subplots(
        len(TRACE_BONES), 3, figsize=(12, 2.2 * len(TRACE_BONES)), sharex=True, sharey=True
    )
    for b, bone in enumerate(TRACE_BONES):
        k = skeleton.BONE_NAMES.index(bone)
        for axis, name in enumerate(("x (right)", "y (down)", "z (forward)")):
            ax = axes[b, axis]
            for r in rows:
                poses = r.motions[0][clip]
                ax.plot(
                    np.arange(len(poses)) / skeleton.FPS,
                    poses[:, 3 * k + axis],
                    label=r.spec.label,
                    **_style(r),
                )
            ax.set_title(f"{bone} {name}", fontsize=9)
            ax.set_ylim(-1.05, 1.05)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    axes[0, 0].legend(fontsize=7)
    fig.suptitle(f"Bone directions (unit vectors, TED axes): {ref.clip_id}")
    return _save(plt, fig, out / f"traces_{ref.set_name}_{ref.clip_id}.png")


def _stick_figures(plt: Any, out: Path, ev: Evaluation, clip: int, n_frames: int = 6) -> Path:
    ref = ev.refs[clip]
    rows = ev.rows
    frames = np.linspace(0, len(ref.real) - 1, n_frames).round().astype(int)
    fig, axes = plt.subplots(len(rows), n_frames, figsize=(1.8 * n_frames, 2.0 * len(rows)), squeeze=False)
    for i, r in enumerate(rows):
        joints = skeleton.joint_positions(r.motions[0][clip][frames])  # (F, 10, 3), TED axes
        for j, frame in enumerate(frames):
            ax = axes[i, j]
            for parent, child in skeleton.BONES:
                # front view, as the listener sees the speaker: their left (-x) on the right, up is -y
                ax.plot(
                    -joints[j, [parent, child], 0], -joints[j, [parent, child], 1], color="C0", linewidth=2
                )
            ax.set_xlim(-0.75, 0.75)
            ax.set_ylim(-0.6, 0.75)
            ax.set_aspect("equal")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"{frame / skeleton.FPS:.1f} s", fontsize=9)
            if j == 0:
                ax.set_ylabel(r.spec.label, fontsize=7)
    fig.suptitle(f"Front view: {ref.clip_id}")
    return _save(plt, fig, out / f"frames_{ref.set_name}_{ref.clip_id}.png")


# ------------------------------------------------------------------------------ command line


def default_retarget_config() -> Path | None:
    """``config/retarget_humanoid.yaml`` (source tree or installed share), or None if not found."""
    from .retarget.config import default_config_path

    try:
        return default_config_path()
    except ConfigError as exc:
        log.warning("robot limits skipped: %s", exc)
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gesture-eval",
        description="Score gesture generators and baselines against the real motion of datasets "
        "(synchrony against a permutation null, FGD with a bootstrap interval, distribution distances; "
        "Markdown and JSON tables, plots).",
    )
    parser.add_argument("--data", type=Path, action="append", required=True, metavar="DIR",
                        help="held-out dataset directory (project clip format); repeat; pooled")  # fmt: skip
    parser.add_argument("--seen-data", type=Path, action="append", default=[], metavar="DIR",
                        help="dataset a learned backend was trained on: reported, never pooled")  # fmt: skip
    parser.add_argument(
        "--out", type=Path, required=True, help="output directory for metrics.md/json and plots"
    )
    parser.add_argument(
        "--backend", action="append", default=[], metavar="NAME[+layer][:CKPT]",
        help=f"any of {list(BACKENDS)}, with a checkpoint directory for a learned one (default: its shipped "
        "weights); repeat; default: every backend that runs without arguments",
    )  # fmt: skip
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="style seeds (each generator runs once per seed)"
    )
    parser.add_argument("--streamed", action="store_true", help="also generate every backend in 2 s windows")
    parser.add_argument("--live", type=float, nargs="+", default=[], metavar="S",
                        help="also stream every backend live with each lookahead S (s)")  # fmt: skip
    parser.add_argument("--shifts", type=int, default=1000, help="circular shifts of the synchrony null")
    parser.add_argument("--null-seed", type=int, default=0, help="seed of the null shifts and the bootstrap")
    parser.add_argument("--bootstrap", type=int, default=500, help="bootstrap resamples of the FGD interval")
    parser.add_argument("--fgd-stride", type=int, default=1, help="frames between FGD windows")
    fgd = parser.add_mutually_exclusive_group()
    fgd.add_argument("--fgd-model", type=Path, default=None,
                     help=f"FGD autoencoder directory (default: {DEFAULT_FGD_MODEL} if present)")  # fmt: skip
    fgd.add_argument("--no-fgd", action="store_true", help="skip FGD")
    parser.add_argument("--retarget-config", type=Path, default=None,
                        help="retarget YAML (default: config/retarget_humanoid.yaml)")  # fmt: skip
    parser.add_argument(
        "--no-robot", action="store_true", help="skip the retargeting and the robot limit columns"
    )
    parser.add_argument(
        "--plot-clips", type=int, default=1, help="clips with stroke, trace and stick-figure plots"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    fgd_model = None if args.no_fgd else (args.fgd_model or DEFAULT_FGD_MODEL)
    retarget = None if args.no_robot else (args.retarget_config or default_retarget_config())
    try:
        if args.fgd_model is not None and not args.fgd_model.is_dir():
            raise ConfigError(f"--fgd-model {args.fgd_model}: not a directory")
        settings = EvalSettings(
            tuple(args.seeds), args.shifts, args.null_seed, args.bootstrap, args.fgd_stride, args.streamed,
            tuple(args.live),
        )
        specs = [parse_backend(s) for s in (args.backend or default_backends())]
        sets = load_sets(args.data, args.seen_data)
        ev = evaluate(sets, specs, settings, fgd_model, retarget)
        meta = {
            "data": [str(d) for d in args.data], "seen_data": [str(d) for d in args.seen_data],
            "seeds": list(settings.seeds), "n_shifts": settings.n_shifts, "null_seed": settings.null_seed,
            "n_boot": settings.n_boot, "fgd_stride": settings.fgd_stride, "streamed": settings.streamed,
            "live": list(settings.live),
            "fgd_model": str(fgd_model) if fgd_model else None,
            "retarget_config": str(retarget) if retarget else None,
        }  # fmt: skip
        _, md_path = write_reports(args.out, ev, meta)
        plot_all(args.out, ev, args.plot_clips)
    except GestureError as exc:
        log.error("%s", exc)
        return 1
    print(md_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
