"""Retargeting speed and fidelity: IK time per 10 s utterance (150 frames), safety stage time, and
how closely the robot's bones follow the human's.

Run: ``.venv/bin/python benchmarks/retarget.py`` (prints a table). Motions: real motion capture
(BEAT2 "scott", converted to TED poses) when ``../shared`` is present, a synthetic human-like
gesture (the TED mean pose with smooth random bone rotations of up to ~30 degrees), and a robot
motion replayed through its own markers (every pose exactly reachable).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from gesture_core import skeleton
from gesture_core.contracts import NS_PER_S, GestureSequence
from gesture_core.retarget.config import default_config_path, load_config
from gesture_core.retarget.motion import MotionPlanner
from gesture_core.retarget.safety import JointState

SHARED = Path(__file__).resolve().parents[2] / "shared"
FRAMES = 150  # a 10 s utterance at 15 fps


def human_like(n: int, seed: int = 0) -> np.ndarray:
    """(n, 27) TED poses: every mean bone turned by a smooth random rotation (3 sines, <~30 deg)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None] / 15.0
    mean = skeleton.normalize_directions(skeleton.MEAN_DIR_VEC).reshape(9, 3)
    bones = []
    for b in range(skeleton.N_BONES):
        rotvec = sum(0.18 * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi, (1, 3))) for f in (0.4, 0.9, 1.7))
        bones.append(Rotation.from_rotvec(rotvec).apply(mean[b]))
    return np.stack(bones, axis=1).reshape(n, 27)


def robot_replay(planner: MotionPlanner, n: int, seed: int = 0) -> np.ndarray:
    """(n, 27) TED poses of a smooth robot motion through most of its joint ranges."""
    r = planner.retargeter
    rng = np.random.default_rng(seed)
    t = np.arange(n)[:, None] / 15.0
    mid, half = 0.5 * (r.lower + r.upper), 0.4 * (r.upper - r.lower)
    q = mid + half * np.sin(2 * np.pi * 0.4 * t + rng.uniform(0, 2 * np.pi, len(mid)))
    return np.array([r.bone_directions(x) for x in q])


def beat2(n: int) -> np.ndarray | None:
    """(n, 27) TED poses of real motion capture, or None without ``../shared``."""
    path = SHARED / "data" / "beat2_scott" / "2_scott_0_1_1.npz"
    if not path.is_file():
        return None
    from gesture_core.data.beat2 import smplx_to_ted_poses

    data = np.load(path)
    return smplx_to_ted_poses(data["poses"], float(data["mocap_frame_rate"]))[:n].astype(np.float64)


def arm_errors_deg(planner: MotionPlanner, q: np.ndarray, poses: np.ndarray) -> np.ndarray:
    """(N, 4) angle (deg) between robot and human upper arms and forearms, per frame."""
    arms = [skeleton.BONE_NAMES.index(b) for b in ("left_upper_arm", "left_forearm", "right_upper_arm", "right_forearm")]
    human = skeleton.normalize_directions(poses).reshape(-1, 9, 3)[:, arms]
    robot = np.array([planner.retargeter.bone_directions(x) for x in q]).reshape(-1, 9, 3)[:, arms]
    return np.degrees(np.arccos(np.clip(np.sum(human * robot, axis=-1), -1.0, 1.0)))


def best_of(repeats: int, fn) -> tuple[float, object]:
    """Fastest wall time (s) of ``repeats`` calls of ``fn()``, and its last result."""
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - began)
    return min(times), result


def bench(planner: MotionPlanner, poses: np.ndarray, repeats: int) -> list[str]:
    ik_s, q = best_of(repeats, lambda: planner.retargeter.retarget(poses))
    frame_times = np.arange(len(poses)) / 15.0
    rest = JointState.at_rest(planner.rest)
    safety_s, traj = best_of(repeats, lambda: planner.safety.plan(frame_times, q, rest))

    def plan() -> object:
        planner.plan_rest(0)  # each run starts from the rest pose
        return planner.plan_gesture(GestureSequence("bench", 100 * NS_PER_S, poses), 100 * NS_PER_S)

    total_s, _ = best_of(repeats, plan)
    err = arm_errors_deg(planner, q, poses)
    return [
        f"{len(poses)}", f"{1000 * ik_s:.0f}", f"{1000 * ik_s / len(poses):.2f}", f"{1000 * safety_s:.0f}",
        f"{1000 * total_s:.0f}", f"{len(traj.times)}", f"{np.median(err):.1f}", f"{np.percentile(err, 95):.1f}",
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs per row; the fastest counts")
    args = parser.parse_args()
    header = ["robot", "motion", "frames", "IK ms", "IK ms/frame", "safety ms", "planner ms", "points",
              "arm err med (deg)", "arm err p95 (deg)"]  # fmt: skip
    rows = []
    for name in ("retarget_humanoid.yaml", "retarget_humanoid_7dof.yaml"):
        planner = MotionPlanner(load_config(default_config_path(name)))
        motions = {"BEAT2 mocap": beat2(FRAMES), "human-like": human_like(FRAMES), "robot replay": robot_replay(planner, FRAMES)}
        for motion, poses in motions.items():
            if poses is None:
                rows.append([planner.robot.name, motion, "-", "(no ../shared)", *[""] * 6])
                continue
            rows.append([planner.robot.name, motion, *bench(planner, poses, args.repeats)])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"Retargeting {FRAMES} frames (10 s at 15 fps); safety stage to {planner.cfg.controller_rate_hz:g} Hz; best of {args.repeats}")
    for r in [header, ["-" * w for w in widths], *rows]:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))


if __name__ == "__main__":
    main()
