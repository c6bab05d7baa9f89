"""Evaluate gesture generators against real motion: the ``gesture-eval`` command.

    gesture-eval --data DATA_DIR --out OUT_DIR --backend procedural --backend trimodal[:CKPT] \\
                 [--backend diffusion[:CKPT]] [--fgd-model DIR | --no-fgd] [--retarget-config YAML] [--seeds 0 1 2]

For every clip of a dataset (project training format) every backend generates motion from the
clip's speech (through :func:`gesture_core.generation.factory.make_generator`; a learned backend
without ``:CKPT`` uses the shipped checkpoint, :func:`gesture_core.weights.default_checkpoint`),
and the real motion of the clip is scored the same way as a reference row ("ground truth").
With several ``--seeds`` each backend runs once per style seed and the table shows mean ± sd.
Writes ``OUT/metrics.md`` (a table), ``OUT/metrics.json`` and PNG plots.

Columns (human side: TED poses at 15 fps, see :mod:`gesture_core.metrics`):

- ``fgd``: Fréchet Gesture Distance to the real motion (60-frame windows every 30 frames, the
  shared autoencoder of ``--fgd-model``; default ``../shared/models/fgd_autoencoder_ted`` beside the
  repository when it exists; skipped with a note otherwise). Ground truth scores 0 against itself.
- ``beat_align``: BeatAlign of motion beats to speech onsets (sigma 0.3 s).
- ``diversity``: mean distance between 60-frame windows (TED units, ~m).
- ``mean_acceleration``, ``mean_jerk``: of joints 1-9 (TED units/s^2, /s^3).

Robot side (``--retarget-config``, default ``config/retarget_humanoid.yaml``): the poses are
retargeted by :class:`gesture_core.retarget.Retargeter` (the IK, before the safety stage) and the
15 fps joint trajectories are checked against the limits the safety stage enforces (URDF limits
less the margin, URDF velocities x ``velocity_scale``):

- ``joint_limit_violations``: fraction of samples outside the position limits (the IK clamps to
  them, so this is 0 unless the IK misbehaves);
- ``at_joint_limit``: fraction of samples within 1e-3 rad of a limit (how often the motion saturates);
- ``velocity_limit_violations``: fraction of frame-to-frame intervals faster than the velocity
  limit (what the safety stage would have to slow down); ``max_velocity_excess`` (rad/s).

Plots: ``speed_hist.png`` (joint speed distributions), and for the first ``--plot-clips`` clips
``traces_<clip>.png`` (arm bone directions over time) and ``frames_<clip>.png`` (stick figures,
front view, side by side).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import skeleton
from .data import format as fmt
from .errors import ConfigError, GestureError
from .generation.base import SpeechInput, Style
from .generation.factory import LEARNED, make_generator
from .metrics import motion
from .metrics.evaluator import Evaluator
from .weights import default_checkpoint

log = logging.getLogger(__name__)

GROUND_TRUTH = "ground truth"
#: ``../shared/models/fgd_autoencoder_ted`` beside the repository (used when it exists).
DEFAULT_FGD_MODEL = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "fgd_autoencoder_ted"
#: A joint closer than this to a limit (rad) counts as "at the limit".
AT_LIMIT_TOL = 1e-3
#: Columns of the table: (key, heading, format).
COLUMNS = (
    ("fgd", "FGD ↓", "{:.2f}"),
    ("beat_align", "BeatAlign ↑", "{:.3f}"),
    ("diversity", "Diversity", "{:.3f}"),
    ("mean_acceleration", "Acc. (u/s²)", "{:.2f}"),
    ("mean_jerk", "Jerk (u/s³)", "{:.1f}"),
    ("joint_limit_violations", "Joint-limit viol.", "{:.1%}"),
    ("at_joint_limit", "At joint limit", "{:.1%}"),
    ("velocity_limit_violations", "Vel.-limit viol.", "{:.1%}"),
    ("max_velocity_excess", "Max vel. excess (rad/s)", "{:.2f}"),
)
#: Bones drawn in the direction-trace plots.
TRACE_BONES = ("left_upper_arm", "left_forearm", "right_upper_arm", "right_forearm")


@dataclass(frozen=True)
class BackendSpec:
    """One row to evaluate: ``backend`` with its ``checkpoint`` (None: procedural), shown as ``label``."""

    label: str
    backend: str
    checkpoint: Path | None


def parse_backend(spec: str) -> BackendSpec:
    """``procedural`` | ``trimodal`` | ``trimodal:CKPT_DIR`` | ``diffusion[:CKPT_DIR]`` -> :class:`BackendSpec`.

    A learned backend without a directory uses the shipped checkpoint.
    """
    name, _, path = spec.partition(":")
    if name == "procedural":
        if path:
            raise ConfigError(f"--backend {spec!r}: procedural takes no checkpoint")
        return BackendSpec("procedural", name, None)
    if name not in LEARNED:
        raise ConfigError(f"--backend {spec!r}: backend must be procedural or one of {list(LEARNED)}")
    if path:
        ckpt = Path(path)
        return BackendSpec(f"{name} ({ckpt.name})", name, ckpt)
    shipped = default_checkpoint(name)
    if shipped is None:
        raise ConfigError(f"--backend {spec!r}: no shipped {name} checkpoint; give one as {name}:CKPT_DIR")
    return BackendSpec(f"{name} (shipped)", name, shipped)


def fit_length(poses: np.ndarray, n_frames: int) -> np.ndarray:
    """``poses`` (M, 27) cut or padded (repeating the last frame) to (n_frames, 27)."""
    if len(poses) >= n_frames:
        return poses[:n_frames]
    return np.concatenate([poses, np.repeat(poses[-1:], n_frames - len(poses), axis=0)])


# ------------------------------------------------------------------------------ robot limits


class RobotLimitCheck:
    """Retargets TED poses onto the robot of a retarget config and counts limit violations."""

    def __init__(self, config_path: Path):
        from .retarget.config import load_config, safety_limits
        from .retarget.ik import Retargeter

        cfg = load_config(config_path)
        self.retargeter = Retargeter(cfg)
        self.limits = safety_limits(cfg, self.retargeter.robot)
        self.reset()

    def reset(self) -> None:
        self.samples = self.intervals = self.position = self.at_limit = self.velocity = 0
        self.max_velocity_excess = 0.0

    def push(self, poses: np.ndarray) -> None:
        """Add one sequence of TED poses (T, 27) at 15 fps."""
        q = self.retargeter.retarget(poses)  # (T, J) rad, a fresh start at the rest pose
        lim = self.limits
        v = motion.limit_violations(q, np.arange(len(q)) / skeleton.FPS, lim.lower, lim.upper, lim.velocity)
        observed = self.retargeter.observed  # joints held at rest cannot reach a limit by motion
        near = (q[:, observed] <= lim.lower[observed] + AT_LIMIT_TOL) | (
            q[:, observed] >= lim.upper[observed] - AT_LIMIT_TOL
        )
        self.samples += q.size
        self.intervals += (len(q) - 1) * q.shape[1]
        self.position += v.position_count
        self.velocity += v.velocity_count
        self.at_limit += int(near.sum())
        self.max_velocity_excess = max(self.max_velocity_excess, v.max_velocity_excess)

    def compute(self) -> dict[str, float]:
        nan = float("nan")
        return {
            "joint_limit_violations": self.position / self.samples if self.samples else nan,
            "at_joint_limit": self.at_limit / self.samples if self.samples else nan,
            "velocity_limit_violations": self.velocity / self.intervals if self.intervals else nan,
            "max_velocity_excess": self.max_velocity_excess,
        }


# ------------------------------------------------------------------------------ evaluation


@dataclass
class Row:
    """One row of the table: its scores and the motion it scored (one sequence per clip, for the plots)."""

    label: str
    backend: str
    checkpoint: Path | None
    scores: dict[str, float] = field(default_factory=dict)
    #: Standard deviation of each score over the style seeds (empty for ground truth).
    spread: dict[str, float] = field(default_factory=dict)
    motion: list[np.ndarray] = field(default_factory=list, repr=False)


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


def _score(
    poses: list[np.ndarray], clips: list[fmt.Clip], extractor: Any, robot: RobotLimitCheck | None
) -> dict[str, float]:
    """Every metric of one motion set (one sequence per clip) against the clips' real motion."""
    evaluator = Evaluator(fgd=extractor)
    if robot is not None:
        robot.reset()
    for p, clip in zip(poses, clips):
        evaluator.push(p, real=clip.poses, audio=clip.audio)
        if robot is not None:
            robot.push(p)
    scores = evaluator.compute()
    if robot is not None:
        scores.update(robot.compute())
    return scores


def evaluate(
    data: Path,
    specs: list[BackendSpec],
    fgd_model: Path | None,
    retarget_config: Path | None,
    seeds: tuple[int, ...] = (0,),
) -> tuple[list[Row], list[fmt.Clip], str]:
    """Score ground truth and every backend of ``specs`` on the clips of ``data``.

    Each backend generates every clip once per style seed of ``seeds``; its scores are the mean
    over the seeds (``Row.spread``: their standard deviation), its ``motion`` that of the first
    seed. Returns the rows (ground truth first), the clips and the FGD note.
    """
    clips = [fmt.load_clip(data, info) for info in fmt.read_manifest(data)]
    if not clips:
        raise ConfigError(f"--data {data}: the dataset has no clips")
    if not seeds:
        raise ConfigError("--seeds: at least one seed is needed")
    extractor, fgd_note = load_fgd(fgd_model)
    robot = RobotLimitCheck(retarget_config) if retarget_config is not None else None
    truth = Row(GROUND_TRUTH, "data", None, motion=[c.poses.astype(np.float64) for c in clips])
    truth.scores = _score(truth.motion, clips, extractor, robot)
    rows = [truth]
    for spec in specs:
        generator = make_generator(spec.backend, spec.checkpoint)
        runs = []
        for seed in seeds:
            poses = [
                fit_length(
                    generator.generate(SpeechInput(c.audio, c.words), Style(seed=seed)), c.info.n_frames
                )
                for c in clips
            ]
            runs.append((poses, _score(poses, clips, extractor, robot)))
        row = Row(spec.label, spec.backend, spec.checkpoint, motion=runs[0][0])
        for key in runs[0][1]:
            values = np.array([scores[key] for _, scores in runs])
            row.scores[key], row.spread[key] = float(np.mean(values)), float(np.std(values))
        rows.append(row)
    for row in rows:
        log.info("%s: %s", row.label, ", ".join(f"{k} {v:.4g}" for k, v in row.scores.items()))
    return rows, clips, fgd_note


# ------------------------------------------------------------------------------ reports


def _clean(value: float) -> float | None:
    return None if isinstance(value, float) and math.isnan(value) else value


def write_reports(
    out: Path, rows: list[Row], clips: list[fmt.Clip], notes: list[str], settings: dict[str, Any]
) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``metrics.md``; returns their paths."""
    out.mkdir(parents=True, exist_ok=True)
    seconds = sum(c.info.duration for c in clips)
    doc = {
        **settings,
        "clips": [c.info.clip_id for c in clips],
        "seconds": round(seconds, 3),
        "notes": notes,
        "rows": [
            {
                "label": r.label,
                "backend": r.backend,
                "checkpoint": str(r.checkpoint) if r.checkpoint else None,
                "scores": {k: _clean(v) for k, v in r.scores.items()},
                "seed_sd": {k: _clean(v) for k, v in r.spread.items()},
            }
            for r in rows
        ],
    }
    json_path = out / "metrics.json"
    json_path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    columns = [c for c in COLUMNS if any(not math.isnan(r.scores.get(c[0], float("nan"))) for r in rows)]
    lines = [
        f"Evaluation on {len(clips)} clip(s), {seconds:.1f} s of `{settings['data']}` "
        f"({int(rows[0].scores.get('n_windows', 0))} FGD windows of 60 frames per clip set); generators: "
        + (
            f"mean ± sd over style seeds {settings['seeds']}."
            if len(settings["seeds"]) > 1
            else f"style seed {settings['seeds'][0]}."
        ),
        "",
        "| | " + " | ".join(c[1] for c in columns) + " |",
        "|---|" + "---:|" * len(columns),
    ]
    for r in rows:
        cells = []
        for key, _, form in columns:
            value, sd = r.scores.get(key, float("nan")), r.spread.get(key, 0.0)
            cell = "n/a" if math.isnan(value) else form.format(value)
            cells.append(
                cell
                + (
                    f" ± {form.format(sd)}"
                    if len(settings["seeds"]) > 1 and r.spread and not math.isnan(sd)
                    else ""
                )
            )
        lines.append(f"| {r.label} | " + " | ".join(cells) + " |")
    lines += ["", *(f"- {n}" for n in notes)]
    md_path = out / "metrics.md"
    md_path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return json_path, md_path


def plot_all(out: Path, rows: list[Row], clips: list[fmt.Clip], n_clips: int) -> list[Path]:
    """Write the PNG plots (see the module docstring); returns their paths."""
    import matplotlib

    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    paths = [_speed_histogram(plt, out, rows)]
    for i, clip in enumerate(clips[:n_clips]):
        paths.append(_direction_traces(plt, out, rows, i, clip.info.clip_id))
        paths.append(_stick_figures(plt, out, rows, i, clip.info.clip_id))
    return paths


def _save(plt: Any, fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _speed_histogram(plt: Any, out: Path, rows: list[Row]) -> Path:
    fig, ax = plt.subplots(figsize=(7, 4))
    speeds = {r.label: np.concatenate([motion.joint_speed(p) for p in r.motion]) for r in rows}
    top = max(np.percentile(s, 99) for s in speeds.values())
    bins = np.linspace(0.0, max(top, 1e-3), 40)
    for label, s in speeds.items():
        truth = label == GROUND_TRUTH
        ax.hist(
            np.clip(s, 0, bins[-1]),
            bins=bins,
            histtype="step",
            density=True,
            linewidth=2 if truth else 1.2,
            color="black" if truth else None,
            label=label,
        )
    ax.set_xlabel("mean speed of joints 1-9 (TED units/s)")
    ax.set_ylabel("density")
    ax.set_title("Joint speed distribution")
    ax.legend()
    return _save(plt, fig, out / "speed_hist.png")


def _direction_traces(plt: Any, out: Path, rows: list[Row], clip: int, clip_id: str) -> Path:
    fig, axes = plt.subplots(
        len(TRACE_BONES), 3, figsize=(12, 2.2 * len(TRACE_BONES)), sharex=True, sharey=True
    )
    for b, bone in enumerate(TRACE_BONES):
        k = skeleton.BONE_NAMES.index(bone)
        for axis, name in enumerate(("x (right)", "y (down)", "z (forward)")):
            ax = axes[b, axis]
            for r in rows:
                poses = r.motion[clip]
                t = np.arange(len(poses)) / skeleton.FPS
                gt = r.label == GROUND_TRUTH
                ax.plot(
                    t,
                    poses[:, 3 * k + axis],
                    color="black" if gt else None,
                    linewidth=2 if gt else 1,
                    label=r.label,
                )
            ax.set_title(f"{bone} {name}", fontsize=9)
            ax.set_ylim(-1.05, 1.05)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"Bone directions (unit vectors, TED axes): {clip_id}")
    return _save(plt, fig, out / f"traces_{clip_id}.png")


def _stick_figures(plt: Any, out: Path, rows: list[Row], clip: int, clip_id: str, n_frames: int = 6) -> Path:
    length = min(len(r.motion[clip]) for r in rows)
    frames = np.linspace(0, length - 1, n_frames).round().astype(int)
    fig, axes = plt.subplots(len(rows), n_frames, figsize=(1.8 * n_frames, 2.2 * len(rows)), squeeze=False)
    for i, r in enumerate(rows):
        joints = skeleton.joint_positions(r.motion[clip][frames])  # (F, 10, 3), TED axes
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
                ax.set_ylabel(r.label, fontsize=9)
    fig.suptitle(f"Front view: {clip_id}")
    return _save(plt, fig, out / f"frames_{clip_id}.png")


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
        description="Score gesture generators against the real motion of a dataset (table, JSON, plots).",
    )
    parser.add_argument(
        "--data", type=Path, required=True, help="dataset directory (project training format)"
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="output directory for metrics.md/json and plots"
    )
    parser.add_argument(
        "--backend", action="append", default=[], metavar="SPEC",
        help="procedural | trimodal[:CKPT_DIR] | diffusion[:CKPT_DIR] (repeat; default: procedural); "
        "without a directory a learned backend uses the shipped checkpoint",
    )  # fmt: skip
    fgd = parser.add_mutually_exclusive_group()
    fgd.add_argument(
        "--fgd-model",
        type=Path,
        default=None,
        help=f"FGD autoencoder directory (default: {DEFAULT_FGD_MODEL} if present)",
    )
    fgd.add_argument("--no-fgd", action="store_true", help="skip FGD")
    parser.add_argument(
        "--retarget-config",
        type=Path,
        default=None,
        help="retarget YAML (default: config/retarget_humanoid.yaml)",
    )
    parser.add_argument(
        "--no-robot", action="store_true", help="skip the retargeting and the robot limit columns"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        nargs="+",
        default=[0],
        help="style seeds: every backend runs once per seed (mean ± sd)",
    )
    parser.add_argument("--plot-clips", type=int, default=1, help="clips with trace and stick-figure plots")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    fgd_model = None if args.no_fgd else (args.fgd_model or DEFAULT_FGD_MODEL)
    retarget = None if args.no_robot else (args.retarget_config or default_retarget_config())
    try:
        if args.fgd_model is not None and not args.fgd_model.is_dir():
            raise ConfigError(f"--fgd-model {args.fgd_model}: not a directory")
        specs = [parse_backend(s) for s in (args.backend or ["procedural"])]
        rows, clips, fgd_note = evaluate(args.data, specs, fgd_model, retarget, tuple(args.seeds))
        notes = [fgd_note]
        notes.append(f"robot: {retarget}" if retarget else "robot limit columns skipped")
        settings = {"data": str(args.data), "seeds": args.seeds, "fgd_model": str(fgd_model) if fgd_model else None,
                    "retarget_config": str(retarget) if retarget else None}  # fmt: skip
        _, md_path = write_reports(args.out, rows, clips, notes, settings)
        plot_all(args.out, rows, clips, args.plot_clips)
    except GestureError as exc:
        log.error("%s", exc)
        return 1
    print(md_path.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
