"""Generators' synchrony on speech without recorded motion (``gesture-eval-speech``).

``gesture-eval`` scores generators on clips with real motion. The only English speech with a forced
alignment and motion here is 63.5 s of BEAT2 ("scott"), and its 13.5 s held-out part is too short for
even the real motion to pass the 95th percentile of the permutation null. Synchrony needs only the
generated motion and the speech cues, so a generator can also be scored on speech that has no motion:
BEAT2's other recordings of the same speaker (audio and MFA TextGrid).

Rows:

- ``static mean pose``: the reference motion's mean pose, held (no strokes: 50th percentile);
- ``real motion of another recording``: the reference motion (the same speaker, other speech) played
  back and forth to each recording's length (:func:`~gesture_core.evaluation.ping_pong`): real motion
  that does not belong to this speech;
- per backend its motion (mean ± sd over style seeds), and its motion for the speech circularly shifted
  in time (:func:`~gesture_core.evaluation.shift_speech`), scored against the unshifted cues.

Synchrony measures are those of :data:`gesture_core.metrics.suite.MEASURES` (strokes vs prominent
syllables, vs the stressed syllables of content words, vs trigger words), pooled over the recordings
shift by shift (:func:`~gesture_core.metrics.synchrony.pooled_sync`). Distribution distances are to the
reference motion: the speaker's real motion, recorded with other speech.

The generators get the words without stress marks (as from ASR), so the stressed-syllable cues are not
theirs by construction.

Run::

    gesture-eval-speech --speech A.wav[:A.TextGrid] ... --reference DATASET_DIR --out DIR \\
        [--backend NAME[+layer][:CKPT] ...] [--seeds 0 1 2] [--shifts 1000]

writes ``DIR/speech_sync.md`` and ``DIR/speech_sync.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from . import skeleton
from .contracts import Word
from .data import format as fmt
from .data import textgrid
from .errors import ConfigError, DataError, GestureError
from .evaluation import (
    BackendSpec,
    lookup,
    default_backends,
    fit_length,
    generate,
    mean_pose,
    parse_backend,
    ping_pong,
    shift_speech,
)
from .generation.factory import make_generator
from .gestures.layer import with_gesture_layer
from .metrics import suite, synchrony
from .speech.audio_io import load_audio

log = logging.getLogger(__name__)

FPS = skeleton.FPS
SAMPLE_RATE = fmt.SAMPLE_RATE
STATIC = "static mean pose"
OTHER = "real motion of another recording"
#: Synchrony measures reported (keys of :data:`gesture_core.metrics.suite.MEASURES`).
SYNC_KEYS = ("sync", "sync_stressed", "sync_triggers")
DISTANCE_KEYS = ("hand_speed", "hand_height", "elbow_angle", "motion_fraction")


@dataclass(frozen=True)
class Recording:
    """Speech without motion: ``audio`` (S,) 16 kHz mono, ``words`` and ``phones`` of its alignment."""

    name: str
    audio: np.ndarray
    words: list[Word]
    phones: list[fmt.Phone]

    @property
    def n_frames(self) -> int:
        """Frames (15 fps) the speech lasts."""
        return int(self.audio.size * FPS // SAMPLE_RATE)


def load_recording(spec: str) -> Recording:
    """``WAV`` or ``WAV:TEXTGRID`` -> :class:`Recording` (default: the WAV's own ``.TextGrid``, if any)."""
    wav, _, grid = spec.partition(":")
    wav_path = Path(wav)
    if not wav_path.is_file():
        raise DataError(f"--speech {spec!r}: {wav_path} not found")
    grid_path = Path(grid) if grid else wav_path.with_suffix(".TextGrid")
    if grid and not grid_path.is_file():
        raise DataError(f"--speech {spec!r}: {grid_path} not found")
    words, phones = [], []
    if grid_path.is_file():
        words, phones = textgrid.read_words(grid_path), textgrid.read_phones(grid_path)
    recording = Recording(wav_path.stem, load_audio(wav_path), words, phones)
    if recording.n_frames < 2 * FPS:
        seconds = recording.audio.size / SAMPLE_RATE
        raise DataError(f"--speech {spec!r}: {seconds:.2f} s of speech; need >= 2 s")
    seconds = recording.n_frames / FPS
    log.info("%s: %.1f s, %d words, %d phones", recording.name, seconds, len(words), len(phones))
    return recording


def load_reference(root: Path) -> list[np.ndarray]:
    """The real motions (T, 27) of a dataset directory (project clip format), one per clip."""
    infos = fmt.read_manifest(root)
    if not infos:
        raise DataError(f"--reference {root}: no clips")
    return [fmt.load_clip(root, info).poses.astype(np.float64) for info in infos]


@dataclass
class Row:
    """A row of the table: its label and, per seed, the pooled scores (:func:`~.metrics.suite.pool_scores`)
    and the per-recording synchrony percentiles (prominent syllables)."""

    label: str
    pooled: list[dict] = field(default_factory=list)
    per_recording: list[list[float]] = field(default_factory=list)

    def values(self, key: str) -> np.ndarray:
        """The dotted ``key`` (e.g. ``sync.sync.percentile``) of every seed."""
        values = (lookup(p, key) for p in self.pooled)
        return np.array([float(v) if isinstance(v, (int, float)) else np.nan for v in values])


def _score(
    label: str, motions_per_seed: Sequence[Sequence[np.ndarray]], refs: Sequence[suite.ClipReference],
    n_shifts: int, null_seed: int,
) -> Row:  # fmt: skip
    row = Row(label)
    for motions in motions_per_seed:
        scores = [suite.score_clip(m, r, n_shifts, null_seed) for m, r in zip(motions, refs)]
        pooled = suite.pool_scores(refs, motions, scores)
        pooled.pop("sync_results")
        row.pooled.append(pooled)
        row.per_recording.append([s.sync["sync"].percentile if "sync" in s.sync else np.nan for s in scores])
    return row


def evaluate_speech(
    recordings: Sequence[Recording],
    reference: Sequence[np.ndarray],
    specs: Sequence[BackendSpec],
    seeds: Sequence[int] = (0, 1, 2),
    n_shifts: int = synchrony.N_SHIFTS,
    null_seed: int = 0,
) -> list[Row]:
    """Every row (module docstring) over ``recordings``, against the ``reference`` motions (T, 27)."""
    if not recordings:
        raise ConfigError("--speech: give at least one recording")
    if not seeds:
        raise ConfigError("--seeds: give at least one seed")
    if n_shifts < 10:
        raise ConfigError(f"--shifts: need >= 10 shifts for a percentile, got {n_shifts}")
    others = [ping_pong(reference[i % len(reference)], r.n_frames) for i, r in enumerate(recordings)]
    refs = [
        suite.ClipReference(
            i, r.name, "speech", others[i], suite.speech_cues(r.audio, r.words, r.phones), r.words, r.phones
        )
        for i, r in enumerate(recordings)
    ]
    still = mean_pose(list(reference))
    rows = [
        _score(STATIC, [[np.tile(still, (r.n_frames, 1)) for r in recordings]], refs, n_shifts, null_seed),
        _score(OTHER, [others], refs, n_shifts, null_seed),
    ]
    jobs = 2 * len(specs) * len(seeds) * len(recordings)
    with tqdm(total=jobs, desc="motion", unit="recording") as bar:
        for spec in specs:
            generator = make_generator(spec.backend, spec.checkpoint)
            if spec.layered:
                generator = with_gesture_layer(generator)
            for shifted in (False, True):
                per_seed = []
                for seed in seeds:
                    motions = []
                    for r in recordings:
                        audio, words = (r.audio, r.words)
                        if shifted:
                            audio, words = shift_speech(r.audio, r.words, r.n_frames)
                        poses = generate(generator, r.name, r.n_frames, audio, words, seed, False)
                        motions.append(fit_length(poses, r.n_frames))
                        bar.update(1)
                    per_seed.append(motions)
                label = f"{spec.label} on time-shifted speech" if shifted else spec.label
                rows.append(_score(label, per_seed, refs, n_shifts, null_seed))
    return rows


def _cell(row: Row, key: str, digits: int, z_key: str | None = None) -> str:
    v = row.values(key)
    if np.all(np.isnan(v)):
        return "–"
    text = f"{np.nanmean(v):.{digits}f}"
    if len(v) > 1:
        text += f" ± {np.nanstd(v):.{digits}f}"
    if z_key is not None:
        text += f" ({np.nanmean(row.values(z_key)):+.1f})"
    return text


def report(rows: Sequence[Row], recordings: Sequence[Recording], reference_name: str) -> str:
    """The Markdown report of :func:`evaluate_speech`'s rows."""
    seconds = sum(r.n_frames for r in recordings) / FPS
    lines = [
        "# Synchrony on speech without motion",
        "",
        f"{len(recordings)} recordings, {seconds:.1f} s ({', '.join(r.name for r in recordings)}); reference "
        f"motion: {reference_name}. Synchrony: pooled percentile (z) against the permutation null; "
        "generators mean ± sd over style seeds. Distances: 1-Wasserstein to the reference motion.",
        "",
        "| | Sync %ile (z), prominent syll. | stressed syll. | trigger words | Hand speed W1 (u/s) "
        "| Hand height W1 (u) | Elbow W1 (°) | In-motion Δ | Strokes/s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = [_cell(row, f"sync.{k}.percentile", 0, f"sync.{k}.z") for k in SYNC_KEYS]
        cells += [_cell(row, f"distances.{k}", 1 if k == "elbow_angle" else 3) for k in DISTANCE_KEYS]
        cells.append(_cell(row, "strokes_per_s", 2))
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    lines += ["", "Per recording (percentile, strokes vs prominent syllables, first seed):", ""]
    lines.append("| | " + " | ".join(r.name for r in recordings) + " |")
    lines.append("|---|" + "---:|" * len(recordings))
    for row in rows:
        lines.append(f"| {row.label} | " + " | ".join(f"{p:.0f}" for p in row.per_recording[0]) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gesture-eval-speech",
        description="Score gesture generators' synchrony on speech without recorded motion, against a "
        "static pose, real motion of another recording and time-shifted speech.",
    )
    parser.add_argument("--speech", action="append", required=True, metavar="WAV[:TEXTGRID]",
                        help="a recording (reads the .TextGrid beside the WAV if there); repeat")  # fmt: skip
    parser.add_argument("--reference", type=Path, required=True, metavar="DIR",
                        help="the speaker's real motion (project clip format)")  # fmt: skip
    parser.add_argument("--backend", action="append", default=[], metavar="NAME[+layer][:CKPT]",
                        help="as for gesture-eval; repeat (default: every one)")  # fmt: skip
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="style seeds")
    parser.add_argument("--shifts", type=int, default=synchrony.N_SHIFTS, help="permutation null size")
    parser.add_argument("--out", type=Path, required=True, help="output directory")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        specs = [parse_backend(s) for s in (args.backend or default_backends())]
        recordings = [load_recording(s) for s in args.speech]
        rows = evaluate_speech(recordings, load_reference(args.reference), specs, args.seeds, args.shifts)
    except GestureError as exc:
        parser.error(str(exc))
    args.out.mkdir(parents=True, exist_ok=True)
    text = report(rows, recordings, str(args.reference))
    (args.out / "speech_sync.md").write_text(text)
    doc = {
        "recordings": [r.name for r in recordings],
        "reference": str(args.reference),
        "rows": [{"label": r.label, "pooled": r.pooled, "per_recording": r.per_recording} for r in rows],
    }
    (args.out / "speech_sync.json").write_text(json.dumps(doc, indent=1, default=float))
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
