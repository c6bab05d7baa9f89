"""``gesture-lexicon``: list the gestures of a lexicon and preview them on a robot.

    gesture-lexicon --list [--lexicon FILE]
    gesture-lexicon --sheet OUT_DIR [--gesture NAME ...] [--robot humanoid|humanoid_7dof|CONFIG.yaml]

``--list`` prints every gesture: name, kind, the body parts it moves, priority and its words.
``--sheet`` writes one contact sheet PNG per gesture (``OUT_DIR/<name>.png``): columns from the
blend-in to the end of the gesture (the keyframes, the stroke marked), the simulated robot in the
top row (the TED poses retargeted onto it with the project's IK, rendered by MuJoCo from the
listener's camera) and the TED stick figure below. A lexicon file that does not validate is
reported with the key at fault and exit code 1.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import skeleton
from ..contracts import GESTURE_FPS
from ..errors import GestureError
from .body import rest_pose
from .layer import GestureLayer, LayerConfig, PlacedGesture
from .lexicon import Lexicon, load_lexicon

log = logging.getLogger(__name__)

#: Time (s) shown before a gesture's blend-in and after its blend-out.
MARGIN_S = 0.2


def describe(lexicon: Lexicon) -> str:
    """A plain-text table of the lexicon's gestures."""
    lines = [f"{lexicon.source}: {len(lexicon.gestures)} gestures"]
    for name in lexicon.names:
        g = lexicon.gestures[name]
        words = ", ".join(lexicon.words_of(name)) or "(markup only)"
        flags = "".join((" mirror" if g.mirror else "", " needs-stress" if g.needs_stress else ""))
        lines.append(f"{name:12s} {g.kind:10s} priority {g.priority}  {'+'.join(g.parts)}{flags}")
        lines.append(f"{'':12s} {g.description}")
        lines.append(f"{'':12s} words: {words}")
    return "\n".join(lines)


def gesture_clip(layer: GestureLayer, name: str) -> tuple[np.ndarray, np.ndarray, float]:
    """One gesture over the rest pose: frame times (n,) s, TED poses (n, 27) and the stroke time (s)."""
    g = layer.lexicon.gestures[name]
    start, end = g.span
    stroke = MARGIN_S - start
    n = int(np.ceil((stroke + end + MARGIN_S) * GESTURE_FPS)) + 1
    base = np.tile(rest_pose(), (n, 1))
    poses = layer.apply(base, [], [PlacedGesture(name, stroke, -1)])
    return np.arange(n) / GESTURE_FPS, poses, stroke


def sheet_columns(layer: GestureLayer, name: str, stroke: float, n: int) -> list[tuple[int, str]]:
    """Frames to show (frame index, caption): mid blend-in, every keyframe, the end of the blend-out."""
    g = layer.lexicon.gestures[name]
    times = [stroke + g.times[0] - g.blend_in_s / 2, *(stroke + g.times), stroke + g.span[1]]
    captions = ["blend in", *(("stroke" if t == 0 else f"{t:+.2f} s") for t in g.times), "blend out"]
    frames = np.clip(np.round(np.asarray(times) * GESTURE_FPS).astype(int), 0, n - 1)
    return list(zip(frames.tolist(), captions))


def _robot_config(robot: str) -> Path:
    path = Path(robot)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        return path
    from ..retarget.config import default_config_path

    return default_config_path(f"retarget_{robot}.yaml")


def write_sheets(
    lexicon: Lexicon, names: list[str], out_dir: Path, robot: str, size: tuple[int, int]
) -> list[Path]:
    """One contact sheet PNG per gesture of ``names`` in ``out_dir``; returns the files written."""
    os.environ.setdefault("MUJOCO_GL", "egl")  # headless rendering; before mujoco is imported
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..retarget.config import load_config, resolve_urdf
    from ..retarget.ik import Retargeter
    from ..sim.render import Renderer
    from ..sim.simulator import Simulator

    cfg = load_config(_robot_config(robot))
    retargeter = Retargeter(cfg)
    sim = Simulator(resolve_urdf(cfg))
    columns_of = [sim.joint_names.index(j) for j in retargeter.joint_names]
    layer = GestureLayer(lexicon, LayerConfig(robot_lead_s=0.0))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    with Renderer(sim.model, *size) as renderer:
        for name in tqdm(names, desc="contact sheets", unit="gesture"):
            _, poses, stroke = gesture_clip(layer, name)
            q = retargeter.retarget(poses)
            columns = sheet_columns(layer, name, stroke, len(poses))
            fig, axes = plt.subplots(2, len(columns), figsize=(2.0 * len(columns), 4.4), squeeze=False)
            for c, (frame, caption) in enumerate(columns):
                full = np.zeros(len(sim.joint_names))
                full[columns_of] = q[frame]
                sim.reset(full)
                axes[0, c].imshow(renderer.render(sim.data))
                axes[0, c].set_title(caption, fontsize=9, color="red" if caption == "stroke" else "black")
                _stick_figure(axes[1, c], poses[frame])
                for ax in axes[:, c]:
                    ax.set_xticks([])
                    ax.set_yticks([])
            g = lexicon.gestures[name]
            fig.suptitle(
                f"{name} ({g.kind}): {g.description}  [{cfg.source.stem if cfg.source else robot}]",
                fontsize=10,
            )
            fig.tight_layout()
            path = out_dir / f"{name}.png"
            fig.savefig(path, dpi=80)
            plt.close(fig)
            written.append(path)
    return written


def _stick_figure(ax, pose: np.ndarray) -> None:
    """The TED skeleton of ``pose`` (27,) seen from the front (the listener), x right on the page's left."""
    p = skeleton.joint_positions(pose)
    for parent, child in skeleton.BONES:
        # Seen from the front, the person's right (+x) is on the viewer's left; up is -y.
        ax.plot(
            [-p[parent, 0], -p[child, 0]], [-p[parent, 1], -p[child, 1]], "-o", color="tab:blue", ms=3, lw=2
        )
    ax.set_xlim(-0.8, 0.8)
    ax.set_ylim(-0.7, 0.9)
    ax.set_aspect("equal")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gesture-lexicon",
        description="List the gestures of a gesture lexicon and preview them on a robot.",
    )
    parser.add_argument("--lexicon", type=Path, default=None, help="lexicon YAML (default: the bundled one)")
    parser.add_argument("--list", action="store_true", help="print every gesture with its words")
    parser.add_argument(
        "--sheet", type=Path, metavar="OUT_DIR", help="write a contact sheet PNG per gesture here"
    )
    parser.add_argument(
        "--gesture", action="append", default=None, metavar="NAME", help="only these gestures"
    )
    parser.add_argument(
        "--robot",
        default="humanoid",
        help="bundled robot (humanoid, humanoid_7dof) or a retarget config YAML",
    )
    parser.add_argument(
        "--size", type=int, nargs=2, default=(320, 300), metavar=("W", "H"), help="robot frame size"
    )
    args = parser.parse_args(argv)
    if not args.list and args.sheet is None:
        parser.error("give --list and/or --sheet OUT_DIR")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        lexicon = load_lexicon(args.lexicon)
        names = args.gesture or lexicon.names
        unknown = [n for n in names if n not in lexicon.gestures]
        if unknown:
            parser.exit(1, f"error: unknown gesture(s) {unknown}; valid names: {', '.join(lexicon.names)}\n")
        if args.list:
            print(describe(lexicon))
        if args.sheet is not None:
            for path in write_sheets(lexicon, names, args.sheet, args.robot, tuple(args.size)):
                print(path)
    except GestureError as exc:
        parser.exit(1, f"error: {exc}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
