"""Simulation speed and quality: steps/s, real-time factor, RMS tracking error, render fps.

Run: ``.venv/bin/python benchmarks/sim.py`` (prints a table; MUJOCO_GL defaults to egl).
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("MUJOCO_GL", "egl")  # must be set before mujoco is imported

import numpy as np  # noqa: E402

from gesture_core.robot import VARIANTS, default_urdf_path  # noqa: E402
from gesture_core.sim import Renderer, Simulator, rms_tracking_error, wave_gesture  # noqa: E402


def bench_variant(variant: str, render_sizes: list[tuple[int, int]], frames: int) -> list[str]:
    sim = Simulator(default_urdf_path(variant))
    gesture = wave_gesture(sim.description)
    start = time.perf_counter()
    rms = rms_tracking_error(sim, gesture)  # steps and samples the reference every step
    wall = time.perf_counter() - start
    steps = sim.time / sim.timestep
    row = [variant, f"{steps / wall:,.0f}", f"{sim.time / wall:,.1f}", f"{np.sqrt(np.mean(rms**2)):.4f}",
           f"{rms.max():.4f} ({sim.joint_names[int(rms.argmax())]})"]  # fmt: skip
    for width, height in render_sizes:
        with Renderer(sim.model, width, height) as renderer:
            renderer.render(sim.data)  # warm-up
            start = time.perf_counter()
            for _ in range(frames):
                sim.step(10)
                renderer.render(sim.data)
            row.append(f"{frames / (time.perf_counter() - start):.1f}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=20, help="frames rendered per size")
    args = parser.parse_args()
    sizes = [(320, 240), (640, 480)]
    header = ["robot", "steps/s", "real-time x", "RMS err (rad)", "worst joint RMS (rad)"]
    header += [f"render fps {w}x{h}" for w, h in sizes]
    rows = [bench_variant(v, sizes, args.frames) for v in VARIANTS]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"MuJoCo simulation, timestep 2 ms, wave gesture 4 s + 0.5 s, MUJOCO_GL={os.environ['MUJOCO_GL']}")
    for r in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
