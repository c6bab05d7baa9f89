"""``gesture-robot check``: validate a robot config and draw where its skeleton points sit.

:func:`check_robot` loads the config as every node does (all keys, the URDF, its meshes), then

- retargets the TED mean pose (the pose every generator moves around) and reports how closely
  each matched bone follows it (degrees);
- checks left and right: a person raising the left arm sideways must raise the robot's left arm
  (its left wrist point goes up, on the robot's left, +y), the right arm staying down;
- renders the robot offscreen at rest and in the mean pose, from the front (the listener's view:
  the robot's left on the image's right) and from its left side, with the ten skeleton points and
  the bones between them drawn over it, into one PNG.

Problems found (a warning while loading, such as meshes drawn as primitives; a bone that misses
the mean pose by more than :data:`BONE_TOLERANCE_DEG`; a failed left/right check) are listed in
the report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import mujoco
import numpy as np

from . import skeleton
from .retarget.config import SITE_PREFIX, RetargetConfig, load_config
from .retarget.ik import Retargeter
from .robot import camera_distance, framing, model_extent
from .sim.simulator import Simulator

log = logging.getLogger(__name__)

#: A bone that misses the TED mean pose by more than this (degrees) is reported.
BONE_TOLERANCE_DEG = 20.0
#: Size of each of the four views (pixels).
VIEW_W, VIEW_H = 480, 480
LEFT_COLOUR, RIGHT_COLOUR, CENTRE_COLOUR = "#1f77b4", "#d62728", "#2ca02c"


@dataclass
class CheckReport:
    """What :func:`check_robot` found."""

    config: Path
    robot: str
    urdf: Path
    png: Path
    joints: int
    chains: dict[str, list[str]]
    bone_errors_deg: dict[str, float]
    left_right_ok: bool
    left_right: str
    warnings: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        bad = [f"bone {b} misses the TED mean pose by {e:.0f} deg" for b, e in self.bone_errors_deg.items() if e > BONE_TOLERANCE_DEG]
        if not self.left_right_ok:
            bad.append(f"left/right check failed: {self.left_right}")
        return bad

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        lines = [
            f"robot {self.robot!r} from {self.urdf} ({self.joints} movable joints), config {self.config}",
            *(f"  chain {name}: {', '.join(joints)}" for name, joints in self.chains.items()),
            "  TED mean pose, bone direction errors (deg): "
            + ", ".join(f"{b} {e:.1f}" for b, e in self.bone_errors_deg.items()),
            f"  left/right: {self.left_right}",
            *(f"  warning: {w}" for w in self.warnings),
            *(f"  PROBLEM: {p}" for p in self.problems),
            f"picture: {self.png}",
            "ok" if self.ok else "NOT OK: fix the config (markers, chains, rest_pose, limits) and check again",
        ]
        return "\n".join(lines)


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def raised_left_arm() -> np.ndarray:
    """(27,) TED pose: the mean pose with the person's left arm stretched out sideways (TED -x)."""
    pose = skeleton.as_directions(skeleton.MEAN_DIR_VEC).copy()
    for bone in ("left_upper_arm", "left_forearm"):
        pose[skeleton.BONE_NAMES.index(bone)] = [-1.0, 0.0, 0.0]
    return pose.ravel()


def left_right_check(r: Retargeter) -> tuple[bool, str]:
    """Does the person's raised left arm raise the robot's left arm (left wrist up, on +y, well
    above the right wrist)? Returns the verdict and what was measured (m, REP-103)."""
    q_mean = r.retarget(skeleton.MEAN_DIR_VEC[None, :])[0]  # each from rest: no continuity bound between them
    q_up = r.retarget(raised_left_arm()[None, :])[0]
    mean, up = r.marker_positions(q_mean), r.marker_positions(q_up)
    rise = up["left_wrist"][2] - mean["left_wrist"][2]
    side = up["left_wrist"][1] - up["thorax"][1]
    other = up["right_wrist"][2] - mean["right_wrist"][2]
    scale = np.linalg.norm(mean["left_elbow"] - mean["left_shoulder"])
    ok = bool(rise > 0.3 * scale and side > 0.5 * scale and abs(other) < 0.25 * scale)
    return ok, f"left wrist up {rise:+.3f} m, out to the robot's left {side:+.3f} m; right wrist moved {other:+.3f} m"


def _posture(sim: Simulator, r: Retargeter, q: np.ndarray | None) -> mujoco.MjData:
    data = mujoco.MjData(sim.model)
    data.qpos[[sim.model.joint(n).qposadr[0] for n in sim.joint_names]] = sim.rest
    if q is not None:
        data.qpos[[sim.model.joint(n).qposadr[0] for n in r.joint_names]] = q
    mujoco.mj_forward(sim.model, data)
    return data


def _project(scene_cam: mujoco.MjvGLCamera, points: np.ndarray, width: int, height: int) -> np.ndarray:
    """Pixel coordinates (N, 2) (x right, y down) of world points (N, 3) in the rendered view."""
    pos, forward, up = np.array(scene_cam.pos), np.array(scene_cam.forward), np.array(scene_cam.up)
    right = np.cross(forward, up)
    v = points - pos
    depth = v @ forward
    near, top, bottom = scene_cam.frustum_near, scene_cam.frustum_top, scene_cam.frustum_bottom
    half_w = 0.5 * (top - bottom) * width / height
    x = (v @ right) * near / depth
    y = (v @ up) * near / depth
    return np.stack([(x - scene_cam.frustum_center + half_w) / (2 * half_w) * width, (top - y) / (top - bottom) * height], axis=1)


def _views(sim: Simulator, data_list: list[mujoco.MjData]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Front and side images of each posture, with the pixel positions of the skeleton points."""
    ted = list(skeleton.JOINTS)
    site_ids = [mujoco.mj_name2id(sim.model, mujoco.mjtObj.mjOBJ_SITE, SITE_PREFIX + j) for j in ted]
    lower, upper, sites = model_extent(sim.model)
    centre, half = framing(lower, upper, sites)
    sim.model.vis.global_.offwidth = max(sim.model.vis.global_.offwidth, VIEW_W)
    sim.model.vis.global_.offheight = max(sim.model.vis.global_.offheight, VIEW_H)
    out = []
    with mujoco.Renderer(sim.model, VIEW_H, VIEW_W) as renderer:
        for data in data_list:
            for azimuth, across in ((180.0, 1), (-90.0, 0)):  # from +x (front), from +y (the robot's left)
                cam = mujoco.MjvCamera()
                cam.type = mujoco.mjtCamera.mjCAMERA_FREE
                cam.lookat[:] = centre
                cam.azimuth, cam.elevation = azimuth, 0.0
                cam.distance = camera_distance(half, across, sim.model.vis.global_.fovy, VIEW_W / VIEW_H) + half[1 - across]
                renderer.update_scene(data, camera=cam)
                image = renderer.render().copy()
                points = np.array([data.site_xpos[i] if i >= 0 else [np.nan] * 3 for i in site_ids])
                out.append((image, _project(renderer.scene.camera[0], points, VIEW_W, VIEW_H)))
    return out


def _draw(views: list[tuple[np.ndarray, np.ndarray]], title: str, png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(9, 9.6))
    names = ["rest pose, front", "rest pose, left side", "TED mean pose, front", "TED mean pose, left side"]
    for ax, (image, px), name in zip(axes.ravel(), views, names):
        ax.imshow(image)
        for parent, child in skeleton.BONES:
            joint = skeleton.JOINTS[child]
            colour = LEFT_COLOUR if joint.startswith("left") else RIGHT_COLOUR if joint.startswith("right") else CENTRE_COLOUR
            ax.plot(*px[[parent, child]].T, "-", color=colour, lw=2.5, alpha=0.9)
        for j, (x, y) in zip(skeleton.JOINTS, px):
            colour = LEFT_COLOUR if j.startswith("left") else RIGHT_COLOUR if j.startswith("right") else CENTRE_COLOUR
            ax.plot(x, y, "o", ms=7, mfc=colour, mec="white", mew=1.2)
        ax.set_title(name, fontsize=10)
        ax.set_axis_off()
    handles = [plt.Line2D([], [], color=c, lw=3, label=label) for c, label in
               ((LEFT_COLOUR, "robot's left"), (RIGHT_COLOUR, "robot's right"), (CENTRE_COLOUR, "spine, neck, head"))]  # fmt: skip
    fig.legend(handles=handles, loc="lower center", ncol=3, frameon=False)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    png.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png, dpi=80)
    plt.close(fig)


def check_robot(config: Path, png: Path) -> CheckReport:
    """Validate the robot config at ``config``, write the picture to ``png`` and report (see the
    module docstring). Raises :class:`~gesture_core.errors.GestureError` when it does not load."""
    warnings = _Warnings()
    core = logging.getLogger("gesture_core")
    core.addHandler(warnings)
    try:
        cfg: RetargetConfig = load_config(config)
        sim = Simulator(config=cfg)
        r = Retargeter(cfg)
    finally:
        core.removeHandler(warnings)
    q_mean = r.retarget(skeleton.MEAN_DIR_VEC[None, :])[0]
    target = skeleton.as_directions(skeleton.MEAN_DIR_VEC)
    got = r.bone_directions(q_mean).reshape(-1, 3)
    errors = {}
    for bone in r.bones:
        b = skeleton.BONE_NAMES.index(bone)
        cos = np.dot(got[b], target[b]) / np.linalg.norm(target[b])
        errors[bone] = float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))
    ok, measured = left_right_check(r)
    views = _views(sim, [_posture(sim, r, None), _posture(sim, r, q_mean)])
    _draw(views, f"{sim.description.name} ({config.name}): skeleton points at rest and in the TED mean pose", png)
    return CheckReport(
        config=config, robot=sim.description.name, urdf=sim.urdf_path, png=png, joints=len(sim.joint_names),
        chains={name: list(c.joints) for name, c in cfg.chains.items()}, bone_errors_deg=errors,
        left_right_ok=ok, left_right=measured, warnings=warnings.messages,
    )  # fmt: skip
