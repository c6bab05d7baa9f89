"""BVH parsing, forward kinematics and the ZEGGS converter: self-made BVH files with known poses,
and the real ZEGGS clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from gesture_core import skeleton
from gesture_core.data import bvh, rig, zeggs
from gesture_core.data import format as fmt
from gesture_core.errors import DataError

#: A ZEGGS-like skeleton (cm; y up, facing +z, +x the body's left): (name, parent, offset).
JOINTS = [
    ("Hips", None, (0.0, 90.0, 0.0)),
    ("Spine3", "Hips", (0.0, 38.0, -2.0)),
    ("Neck", "Spine3", (0.0, 17.7, 0.0)),
    ("Head", "Neck", (0.0, 10.2, 0.0)),
    ("LeftShoulder", "Spine3", (2.6, 11.2, 0.0)),
    ("LeftArm", "LeftShoulder", (10.8, 0.0, 0.0)),
    ("LeftForeArm", "LeftArm", (29.6, 0.0, 0.0)),
    ("LeftHand", "LeftForeArm", (22.9, 0.0, 0.0)),
    ("RightShoulder", "Spine3", (-2.6, 11.2, 0.0)),
    ("RightArm", "RightShoulder", (-10.4, 0.0, 0.0)),
    ("RightForeArm", "RightArm", (-29.6, 0.0, 0.0)),
    ("RightHand", "RightForeArm", (-22.9, 0.0, 0.0)),
]


def write_bvh(path: Path, frames: list[dict[str, tuple[float, float, float]]], fps: float = 30.0) -> Path:
    """A BVH of :data:`JOINTS` (root: 6 channels, others ``Zrotation Yrotation Xrotation``); each frame
    maps joint names to (z, y, x) rotations in degrees (missing: 0). Each leaf gets an End Site."""
    children = {name: [c for c, p, _ in JOINTS if p == name] for name, _, _ in JOINTS}
    offsets = {name: off for name, _, off in JOINTS}
    lines = ["HIERARCHY"]

    def emit(name: str, depth: int) -> None:
        pad = "\t" * depth
        root = depth == 0
        lines.append(f"{pad}{'ROOT' if root else 'JOINT'} {name}")
        lines.append(pad + "{")
        lines.append(f"{pad}\tOFFSET {' '.join(str(v) for v in offsets[name])}")
        position = "Xposition Yposition Zposition " if root else ""
        lines.append(f"{pad}\tCHANNELS {6 if root else 3} {position}Zrotation Yrotation Xrotation")
        for child in children[name]:
            emit(child, depth + 1)
        if not children[name]:
            lines.extend([f"{pad}\tEnd Site", pad + "\t{", f"{pad}\t\tOFFSET 0.0 5.0 0.0", pad + "\t}"])
        lines.append(pad + "}")

    emit("Hips", 0)
    lines += ["MOTION", f"Frames: {len(frames)}", f"Frame Time: {1 / fps}"]
    for frame in frames:
        values = [0.0, 90.0, 0.0] + list(frame.get("Hips", (0, 0, 0)))
        for name, parent, _ in JOINTS[1:]:
            values += list(frame.get(name, (0, 0, 0)))
        lines.append(" ".join(f"{v:.6f}" for v in values))
    path.write_text("\n".join(lines) + "\n")
    return path


def rest_ted_positions() -> np.ndarray:
    """Rest positions (10, 3) of the TED joints in TED axes, computed here from the offsets."""
    pos = {}
    for name, parent, off in JOINTS:
        pos[name] = np.array(off) + (pos[parent] if parent else 0.0)
    names = zeggs.TED_FROM_ZEGGS
    return np.array([pos[n] if n else np.zeros(3) for n in names]) * [-1.0, -1.0, 1.0]


def rz(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def ry(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def rx(deg: float) -> np.ndarray:
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def test_parse_hierarchy_and_motion(tmp_path):
    b = bvh.read_bvh(write_bvh(tmp_path / "a.bvh", [{}, {"LeftArm": (10, 20, 30)}]))
    assert [j.name for j in b.joints] == [n for n, _, _ in JOINTS]
    assert b.joints[b.index("LeftForeArm")].parent == b.index("LeftArm")
    assert b.fps == pytest.approx(30.0) and b.motion.shape == (2, 6 + 3 * (len(JOINTS) - 1))
    np.testing.assert_allclose(b.motion[1, b.channel_slices()[b.index("LeftArm")]], [10, 20, 30])
    with pytest.raises(DataError, match="no joint 'Tail'"):
        b.index("Tail")


def test_euler_channels_compose_in_the_listed_order(tmp_path):
    """``Zrotation Yrotation Xrotation`` = Rz @ Ry @ Rx (matrices written out here, not scipy's)."""
    z, y, x = 30.0, 40.0, 50.0
    b = bvh.read_bvh(write_bvh(tmp_path / "a.bvh", [{"LeftArm": (z, y, x)}]))
    pos, _ = bvh.forward_kinematics(b, ["LeftForeArm"])
    upper = pos["LeftForeArm"][0] - pos["LeftArm"][0]
    np.testing.assert_allclose(upper, rz(z) @ ry(y) @ rx(x) @ np.array([29.6, 0, 0]), atol=1e-9)


def test_rest_pose_gives_the_offsets_directions(tmp_path):
    write_bvh(tmp_path / "take.bvh", [{}] * 3)
    positions, fps = zeggs.bvh_to_ted_positions(tmp_path / "take.bvh")
    expected = rest_ted_positions()
    body = [0, 1, 4, 5, 6, 7, 8, 9]
    np.testing.assert_allclose(positions[0, body], expected[body], atol=1e-9)
    nose, top = rig.head_rest_points(expected)
    np.testing.assert_allclose(positions[0, 2], nose, atol=1e-9)
    np.testing.assert_allclose(positions[0, 3], top, atol=1e-9)
    assert fps == pytest.approx(30.0)


def test_elbow_rotation_moves_only_the_forearm(tmp_path):
    write_bvh(tmp_path / "take.bvh", [{}, {"LeftForeArm": (0, -60, 0)}])  # bend forward about y
    positions, _ = zeggs.bvh_to_ted_positions(tmp_path / "take.bvh")
    d = skeleton.as_directions(skeleton.directions_from_positions(positions))
    forearm = skeleton.BONE_NAMES.index("left_forearm")
    others = [b for b in range(9) if b != forearm]
    np.testing.assert_allclose(d[1, others], d[0, others], atol=1e-9)
    # BVH: +x (left) turned by -60 deg about y -> (cos 60, 0, sin 60): forward; TED flips x and y
    np.testing.assert_allclose(d[1, forearm], [-0.5, 0.0, np.sqrt(3) / 2], atol=1e-9)


def test_segments_split_the_take(tmp_path):
    write_bvh(tmp_path / "take.bvh", [{}] * 121)  # 4 s at 30 fps -> 61 frames at 15 fps
    sf.write(tmp_path / "take.wav", np.zeros(64000, np.float32), 16000)
    assert (
        zeggs.main([str(tmp_path / "take.bvh"), str(tmp_path / "out"), "--speaker", "z", "--segments", "2"])
        == 0
    )
    infos = fmt.read_manifest(tmp_path / "out")
    assert [i.clip_id for i in infos] == ["take_f0-30", "take_f30-60"]  # motion cut to the speech (60)
    assert all(fmt.load_clip(tmp_path / "out", i).audio.size == fmt.expected_audio_samples(30) for i in infos)


def test_malformed_files_name_the_line(tmp_path):
    path = write_bvh(tmp_path / "a.bvh", [{}])
    text = path.read_text().replace("CHANNELS 3", "CHANNELS 2", 1)
    (tmp_path / "b.bvh").write_text(text)
    with pytest.raises(DataError, match=r"b.bvh:\d+: bad CHANNELS"):
        bvh.read_bvh(tmp_path / "b.bvh")
    (tmp_path / "c.bvh").write_text(path.read_text().replace("Frames: 1", "Frames: 2"))
    with pytest.raises(DataError, match="MOTION says 2 frames, the file has 1"):
        bvh.read_bvh(tmp_path / "c.bvh")
    (tmp_path / "d.bvh").write_text("MOTION\n")
    with pytest.raises(DataError, match="not a BVH file"):
        bvh.read_bvh(tmp_path / "d.bvh")


@pytest.mark.shared
def test_real_zeggs_clip(shared_dir, tmp_path):
    src = shared_dir / "data" / "zeggs_067" / "067_Speech_2_x_1_0.bvh"
    assert zeggs.main([str(src), str(tmp_path / "z"), "--speaker", "zeggs_067", "--segments", "4"]) == 0
    infos = fmt.read_manifest(tmp_path / "z")
    assert len(infos) == 4 and sum(i.n_frames for i in infos) == 1032  # 68.8 s, motion cut to the speech
    poses = np.concatenate([fmt.load_clip(tmp_path / "z", i).poses for i in infos])
    mean = skeleton.as_directions(poses.mean(axis=0))
    ted = skeleton.as_directions(skeleton.MEAN_DIR_VEC)
    cosine = np.sum(mean * ted, axis=1) / np.linalg.norm(mean, axis=1) / np.linalg.norm(ted, axis=1)
    # measured: every bone within 30 deg of TED's mean, spine and collars within 15
    assert np.all(cosine > np.cos(np.radians(30))), np.degrees(np.arccos(cosine))
    assert np.all(cosine[[0, 3, 6]] > np.cos(np.radians(15)))
