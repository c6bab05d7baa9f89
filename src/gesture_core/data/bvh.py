"""BVH motion capture files: hierarchy, channels and forward kinematics.

A BVH file has a ``HIERARCHY`` (joints with an ``OFFSET`` from their parent in the rest pose and
``CHANNELS``; ``End Site`` leaves have no channels) and a ``MOTION`` block (``Frames``,
``Frame Time``, then one line of channel values per frame). Rotations are in degrees; the
rotation channels of a joint, in the order listed, compose as intrinsic rotations:
``Zrotation Yrotation Xrotation`` means ``R = Rz @ Ry @ Rx`` (the usual BVH convention). Global
transforms: ``R_global[j] = R_global[parent] @ R_local[j]`` and
``p[j] = p[parent] + R_global[parent] @ offset[j]`` (root: its offset plus its position channels).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import DataError

_ROTATIONS = {"Xrotation": "X", "Yrotation": "Y", "Zrotation": "Z"}
_POSITIONS = ("Xposition", "Yposition", "Zposition")


@dataclass(frozen=True)
class BvhJoint:
    """One joint: ``parent`` index (-1: root), rest ``offset`` (3,) from the parent, channel names."""

    name: str
    parent: int
    offset: np.ndarray
    channels: tuple[str, ...]


@dataclass
class Bvh:
    """A parsed BVH file: joints in file order, seconds per frame, and ``motion`` (F, channels)."""

    path: Path
    joints: list[BvhJoint]
    frame_time: float
    motion: np.ndarray

    @property
    def fps(self) -> float:
        return 1.0 / self.frame_time

    def index(self, name: str) -> int:
        """Index of joint ``name``; :class:`DataError` naming the joints when absent."""
        for i, j in enumerate(self.joints):
            if j.name == name:
                return i
        raise DataError(f"{self.path}: no joint {name!r} (joints: {[j.name for j in self.joints]})")

    def channel_slices(self) -> list[slice]:
        """Columns of :attr:`motion` of each joint."""
        out, start = [], 0
        for j in self.joints:
            out.append(slice(start, start + len(j.channels)))
            start += len(j.channels)
        return out


def read_bvh(path: str | Path) -> Bvh:
    """Parse a BVH file; :class:`DataError` with the file and line on malformed input."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise DataError(f"{path}: cannot read: {exc}") from None
    joints: list[BvhJoint] = []
    stack: list[int] = []  # open joints (-1: an End Site)
    pending: tuple[str, int, bool] | None = None  # (name, parent, is End Site) not yet complete
    offset: np.ndarray | None = None
    channels: tuple[str, ...] = ()
    n = 0

    def fail(msg: str) -> DataError:
        return DataError(f"{path}:{n + 1}: {msg}")

    def close_pending() -> None:
        nonlocal pending, offset, channels
        if pending is not None and not pending[2]:  # a joint (End Sites are not kept)
            if offset is None:
                raise fail(f"joint {pending[0]!r} has no OFFSET")
            joints.append(BvhJoint(pending[0], pending[1], offset, channels))
            stack[-1] = len(joints) - 1
        pending, offset, channels = None, None, ()

    if not lines or lines[0].strip() != "HIERARCHY":
        raise DataError(f"{path}: not a BVH file (first line is not HIERARCHY)")
    for n in range(1, len(lines)):
        tokens = lines[n].split()
        if not tokens:
            continue
        key = tokens[0]
        if key in ("ROOT", "JOINT"):
            if len(tokens) < 2:
                raise fail(f"{key} without a name")
            close_pending()
            parent = next((s for s in reversed(stack) if s >= 0), -1)
            if key == "JOINT" and parent < 0:
                raise fail("JOINT outside the ROOT")
            pending = (tokens[1], parent, False)
        elif key == "End":
            close_pending()
            pending = ("End Site", -1, True)
        elif key == "{":
            if pending is None:
                raise fail("'{' without a joint")
            stack.append(-1)
        elif key == "}":
            close_pending()
            if not stack:
                raise fail("unbalanced '}'")
            stack.pop()
        elif key == "OFFSET":
            try:
                offset = np.array([float(v) for v in tokens[1:4]])
            except ValueError:
                raise fail(f"bad OFFSET {tokens[1:]}") from None
            if offset.shape != (3,):
                raise fail(f"OFFSET needs 3 numbers, got {tokens[1:]}")
        elif key == "CHANNELS":
            try:
                count = int(tokens[1])
            except (IndexError, ValueError):
                raise fail("bad CHANNELS line") from None
            channels = tuple(tokens[2:])
            if len(channels) != count or any(c not in _ROTATIONS and c not in _POSITIONS for c in channels):
                raise fail(f"bad CHANNELS {tokens[1:]}")
            if pending is None:
                raise fail("CHANNELS outside a joint")
            close_pending()
        elif key == "MOTION":
            break
        else:
            raise fail(f"unexpected {key!r} in HIERARCHY")
    else:
        raise DataError(f"{path}: no MOTION block")
    if stack or not joints:
        raise DataError(f"{path}: unbalanced braces or no joints in HIERARCHY")
    return _read_motion(path, lines, n, joints)


def _read_motion(path: Path, lines: list[str], n: int, joints: list[BvhJoint]) -> Bvh:
    try:
        frames = int(lines[n + 1].split(":")[1])
        frame_time = float(lines[n + 2].split(":")[1])
    except (IndexError, ValueError):
        raise DataError(f"{path}:{n + 2}: expected 'Frames: N' and 'Frame Time: T' after MOTION") from None
    if frames < 1 or not frame_time > 0:
        raise DataError(f"{path}: {frames} frames with frame time {frame_time}")
    n_channels = sum(len(j.channels) for j in joints)
    rows = [line for line in lines[n + 3 :] if line.strip()]
    if len(rows) != frames:
        raise DataError(f"{path}: MOTION says {frames} frames, the file has {len(rows)} lines of values")
    try:
        motion = np.array([[float(v) for v in row.split()] for row in rows])
    except ValueError:
        raise DataError(
            f"{path}: MOTION has a value that is not a number, or rows of unequal length"
        ) from None
    if motion.shape != (frames, n_channels):
        raise DataError(
            f"{path}: MOTION values of shape {motion.shape}, the hierarchy has {n_channels} channels"
        )
    if not np.all(np.isfinite(motion)):
        raise DataError(f"{path}: MOTION contains NaN or inf")
    return Bvh(path, joints, frame_time, motion)


def forward_kinematics(bvh: Bvh, names: list[str]) -> tuple[dict[str, np.ndarray], dict[str, Rotation]]:
    """Global positions ``{name: (F, 3)}`` (file units and axes, root translation ignored: the root
    stays at its offset) and global rotations ``{name: Rotation of F}`` of the joints ``names`` and
    their ancestors."""
    wanted: set[int] = set()
    for name in names:
        j = bvh.index(name)
        while j >= 0 and j not in wanted:
            wanted.add(j)
            j = bvh.joints[j].parent
    slices = bvh.channel_slices()
    n_frames = len(bvh.motion)
    pos: dict[int, np.ndarray] = {}
    rot: dict[int, Rotation] = {}
    for j in sorted(wanted):  # parents come before their children in file order
        joint = bvh.joints[j]
        values = bvh.motion[:, slices[j]]
        axes = "".join(_ROTATIONS[c] for c in joint.channels if c in _ROTATIONS)
        cols = [i for i, c in enumerate(joint.channels) if c in _ROTATIONS]
        local = (
            Rotation.from_euler(axes, values[:, cols], degrees=True) if axes else Rotation.identity(n_frames)
        )
        if joint.parent < 0:
            rot[j], pos[j] = local, np.broadcast_to(joint.offset, (n_frames, 3)).copy()
        else:
            rot[j] = rot[joint.parent] * local
            pos[j] = pos[joint.parent] + rot[joint.parent].apply(joint.offset)
    return (
        {bvh.joints[j].name: pos[j] for j in wanted},
        {bvh.joints[j].name: rot[j] for j in wanted},
    )


def rest_positions(bvh: Bvh, names: list[str]) -> dict[str, np.ndarray]:
    """Rest-pose positions (3,) of ``names`` (every channel 0: the offsets summed along the chain)."""
    out = {}
    for name in names:
        j, p = bvh.index(name), np.zeros(3)
        while j >= 0:
            p = p + bvh.joints[j].offset
            j = bvh.joints[j].parent
        out[name] = p
    return out
