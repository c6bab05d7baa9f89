"""BEAT2 (SMPL-X) motion + speech -> the project's training format (TED poses at 15 fps).

Steps (numbers from ``../shared/docs/facts.md``):

1. Forward kinematics of the SMPL-X upper body from its rest joint positions: each joint's
   axis-angle (``poses[:, 3*i:3*i+3]``) is a rotation relative to its parent, joint 0's is the
   global orientation; ``pos[j] = pos[parent] + R_parent_global @ (rest[j] - rest[parent])``.
   The root translation is ignored (bone directions do not depend on it).
2. TED joints: spine3, neck, nose, head top, left shoulder/elbow/wrist, right shoulder/elbow/wrist.
   SMPL-X has no nose or head-top body joint (its ``head`` joint sits at the top of the neck,
   inside the skull). Both are points rigid with the head: ``head + R_head @ (rest_point -
   rest_head)``, so nods and turns show, with rest points (:func:`head_rest_points`) that give
   TED's head geometry in the SMPL-X rest pose: TED's mean thorax->nose and nose->head-top
   directions (``skeleton.MEAN_DIR_VEC``), turned by the rotation that takes TED's mean spine
   onto the SMPL-X rest spine (spine3->neck), i.e. the head's neutral pose relative to the
   torso; lengths are TED's bone lengths times the SMPL-X/TED size ratio of the arm bones.
   Why not facts.md's recipe (head top on the straight extension of neck->head, the SMPL-X head
   joint as TED's joint 2): that head bone points up and *forward*, TED's (Human3.6M's nose ->
   head top) up and *back*. On BEAT2 "scott" the mean head bone was 49 deg off TED's mean; now
   10 deg, and thorax->nose 13 deg (was 9 deg, by chance). What remains is the speaker's
   posture, not the geometry: his head is pitched ~15 deg forward on average.
3. Axes: SMPL-X (x body's left, y up, z forward) -> TED by ``(x, y, z) -> (-x, -y, z)``.
4. Unit bone directions, then resampling to 15 fps by linear interpolation of the joint
   positions at ``t = k / 15`` s (for 30 fps mocap this is exactly every other frame) and
   re-normalisation.
5. Speech: any sample rate / channel count -> 16 kHz mono (:func:`gesture_core.speech.audio_io.load_audio`),
   cut or zero-padded to the motion.
6. Words and phones: from the word alignment ``<stem>.TextGrid`` beside the ``.npz`` when it exists
   (or ``textgrid=``), tiers ``words`` and ``phones`` (Montreal Forced Aligner, ARPAbet phones with
   stress digits); cut and shifted with the motion.
7. Orientation: the converted clip must be upright and facing forward
   (:func:`gesture_core.data.orientation.check_orientation`); SMPL-X input that is not y-up and
   facing +z (a y-down export, a body turned away) is refused with what was found.

CLI: ``python -m gesture_core.data.beat2 NPZ [WAV] OUT_DIR --speaker ID [--start S] [--end S]``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from ..errors import DataError
from . import format as fmt
from . import rig, takes
from .orientation import check_orientation

log = logging.getLogger(__name__)

#: SMPL-X parents of body joints 0..21 (-1: root).
SMPLX_PARENTS = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)

#: SMPL-X rest positions (m; +x body's left, +y up, +z forward) of the upper-body chain.
SMPLX_REST = {
    0: (0.0031, -0.3514, 0.0120),  # pelvis
    3: (0.0004, -0.2415, -0.0156),  # spine1
    6: (0.0098, -0.1097, -0.0215),  # spine2
    9: (-0.0015, -0.0574, 0.0069),  # spine3
    12: (-0.0137, 0.1077, -0.0247),  # neck
    13: (0.0448, 0.0275, -0.0003),  # left_collar
    14: (-0.0492, 0.0269, -0.0065),  # right_collar
    15: (0.0111, 0.2682, -0.0040),  # head
    16: (0.1641, 0.0852, -0.0158),  # left_shoulder
    17: (-0.1518, 0.0804, -0.0191),  # right_shoulder
    18: (0.4182, 0.0131, -0.0582),  # left_elbow
    19: (-0.4229, 0.0439, -0.0456),  # right_elbow
    20: (0.6702, 0.0363, -0.0607),  # left_wrist
    21: (-0.6722, 0.0394, -0.0609),  # right_wrist
}

SMPLX_NECK, SMPLX_HEAD = 12, 15
#: SMPL-X joint of each TED joint 0..9 (None: nose and head top, points rigid with the head joint).
TED_FROM_SMPLX = (9, 12, None, None, 16, 18, 20, 17, 19, 21)
#: The TED joints built from the SMPL-X head joint: nose, head top.
TED_HEAD_JOINTS = (2, 3)
#: SMPL-X axes -> TED axes: (x, y, z) -> (-x, -y, z).
SMPLX_TO_TED = np.array([-1.0, -1.0, 1.0])
N_SMPLX_JOINTS = 55  # body 22 + jaw + 2 eyes + 30 hand joints: 165 axis-angle values


def upper_body_positions(axis_angles: np.ndarray) -> tuple[dict[int, np.ndarray], dict[int, Rotation]]:
    """Forward kinematics of the SMPL-X upper body.

    ``axis_angles``: (N, 165) or (N, 55, 3) axis-angle per joint (rad). Returns global joint
    positions ``{joint: (N, 3)}`` (m, SMPL-X axes, pelvis rest position as origin) and global
    rotations ``{joint: Rotation of N}`` for the joints of :data:`SMPLX_REST`.
    """
    aa = np.asarray(axis_angles, dtype=np.float64)
    if aa.ndim == 2 and aa.shape[1] == 3 * N_SMPLX_JOINTS:
        aa = aa.reshape(len(aa), N_SMPLX_JOINTS, 3)
    if aa.ndim != 3 or aa.shape[1:] != (N_SMPLX_JOINTS, 3):
        raise DataError(f"SMPL-X poses: shape {np.shape(axis_angles)}, expected (N, {3 * N_SMPLX_JOINTS})")
    if not np.all(np.isfinite(aa)):
        raise DataError("SMPL-X poses: contains NaN or inf")
    rest = {j: np.array(p) for j, p in SMPLX_REST.items()}
    positions: dict[int, np.ndarray] = {}
    rotations: dict[int, Rotation] = {}
    for j in sorted(SMPLX_REST):  # parents have lower indices than their children
        local = Rotation.from_rotvec(aa[:, j])
        parent = SMPLX_PARENTS[j]
        if parent < 0:
            rotations[j] = local
            positions[j] = np.broadcast_to(rest[j], (len(aa), 3)).copy()
        else:
            rotations[j] = rotations[parent] * local
            positions[j] = positions[parent] + rotations[parent].apply(rest[j] - rest[parent])
    return positions, rotations


def head_rest_points() -> tuple[np.ndarray, np.ndarray]:
    """Rest positions (3,) of the TED nose and head top (m, SMPL-X axes), rigid with the head joint.

    :func:`gesture_core.data.rig.head_rest_points` of the SMPL-X rest pose: thorax (SMPL-X neck)
    -> nose -> head top follow TED's mean bone directions turned by the rotation taking TED's mean
    spine onto the SMPL-X rest spine, with TED's bone lengths (0.18 m, 0.14 m) scaled by the mean
    SMPL-X/TED length ratio of the arm bones (shoulders, upper arms, forearms: ~0.75).
    """
    rest = np.array([SMPLX_REST[j] if j is not None else (0.0, 0.0, 0.0) for j in TED_FROM_SMPLX])
    nose, head_top = rig.head_rest_points(rest * SMPLX_TO_TED)  # the axis flip is its own inverse
    return nose * SMPLX_TO_TED, head_top * SMPLX_TO_TED


def smplx_to_ted_positions(axis_angles: np.ndarray) -> np.ndarray:
    """TED joint positions (N, 10, 3), TED axes, metres, from SMPL-X axis-angles (N, 165)."""
    positions, rotations = upper_body_positions(axis_angles)
    rest_head = np.array(SMPLX_REST[SMPLX_HEAD])
    head = {  # TED joint -> positions of the points rigid with the SMPL-X head joint
        ted: positions[SMPLX_HEAD] + rotations[SMPLX_HEAD].apply(point - rest_head)
        for ted, point in zip(TED_HEAD_JOINTS, head_rest_points())
    }
    joints = [head[i] if j is None else positions[j] for i, j in enumerate(TED_FROM_SMPLX)]
    return np.stack(joints, axis=1) * SMPLX_TO_TED


def smplx_to_ted_poses(axis_angles: np.ndarray, src_fps: float) -> np.ndarray:
    """TED poses (M, 27) float32 at 15 fps from SMPL-X axis-angles (N, 165) at ``src_fps``.

    ``M = floor((N - 1) * 15 / src_fps) + 1``: every output time ``k / 15`` lies within the input.
    """
    return rig.positions_to_poses(smplx_to_ted_positions(axis_angles), src_fps)


def read_take(npz_path: Path, wav_path: Path | None = None, textgrid_path: Path | None = None) -> takes.Take:
    """A BEAT2 ``.npz`` with its speech (``wav_path`` None: the ``.wav`` beside it) and alignment
    (``textgrid_path`` None: the ``.TextGrid`` beside it if present) as a :class:`~.takes.Take`.

    Raises :class:`DataError` when the motion is not upright and facing forward.
    """
    npz_path = Path(npz_path)
    audio, words, phones = takes.speech_and_alignment(npz_path, wav_path, textgrid_path)
    with np.load(npz_path, allow_pickle=False) as npz:
        for key in ("poses", "mocap_frame_rate"):
            if key not in npz.files:
                raise DataError(f"{npz_path}: missing key {key!r} (keys: {npz.files})")
        axis_angles, src_fps = npz["poses"], float(npz["mocap_frame_rate"])
    if not src_fps > 0:
        raise DataError(f"{npz_path}: mocap_frame_rate is {src_fps}")
    poses = smplx_to_ted_poses(axis_angles, src_fps)
    check_orientation(poses, str(npz_path), "SMPL-X axes: y up, the body facing +z")
    log.info(
        "%s: %d frames at %g fps -> %d at 15 fps (%.3f s); speech %.3f s",
        npz_path.name, len(axis_angles), src_fps, len(poses),
        len(poses) / fmt.FPS, audio.size / fmt.SAMPLE_RATE,
    )  # fmt: skip
    return takes.Take(npz_path.stem, "beat2", poses, audio, words, phones)


def convert(
    npz_path: str | Path,
    wav_path: str | Path | None,
    out_dir: str | Path,
    speaker_id: str,
    clip_id: str | None = None,
    start: float | None = None,
    end: float | None = None,
    audio_format: str = "flac",
    textgrid_path: str | Path | None = None,
) -> fmt.ClipInfo:
    """Convert one BEAT2 ``.npz`` (+ its speech) into a clip of the dataset at ``out_dir``.

    ``wav_path`` None: the ``.wav`` beside the ``.npz``. ``start``/``end`` (s, negative: from the
    end) keep frames ``[round(start*15), round(end*15))`` of the 15 fps motion and the matching
    audio, e.g. ``start=-13.5`` for a held-out last 13.5 s and ``end=-13.5`` for the rest.
    ``clip_id`` defaults to the file stem, plus ``_f<first>-<stop>`` frames when cut.
    ``textgrid_path`` None: ``<stem>.TextGrid`` beside the ``.npz`` if it exists (words and phones),
    else the clip has no words.
    Raises :class:`DataError` when the motion is not upright and facing forward.
    """
    take = read_take(
        Path(npz_path),
        Path(wav_path) if wav_path is not None else None,
        Path(textgrid_path) if textgrid_path is not None else None,
    )
    (info,) = takes.write_take(take, out_dir, speaker_id, clip_id, start, end, 1, audio_format)
    return info


def main(argv: list[str] | None = None) -> int:
    return takes.take_cli(
        "gesture-convert-beat2",
        "Convert a BEAT2 SMPL-X .npz (+ speech .wav, + word alignment .TextGrid) into the gesture "
        "training format.",
        "NPZ",
        read_take,
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
