"""ZEGGS (BVH motion capture) + speech -> the project's clip format (TED poses at 15 fps).

Steps:

1. :func:`gesture_core.data.bvh.read_bvh` and forward kinematics of the ZEGGS skeleton (75 joints;
   rotation channels Z Y X in degrees; the root translation is ignored: bone directions do not
   depend on it).
2. TED joints: ``Spine3`` (chest, like SMPL-X's spine3 for BEAT2), ``Neck`` (thorax), ``LeftArm`` /
   ``LeftForeArm`` / ``LeftHand`` (shoulder, elbow, wrist) and the right side; nose and head top are
   points rigid with the ``Head`` joint (:func:`gesture_core.data.rig.head_rest_points` of the BVH
   rest pose, as for BEAT2).
3. Axes: ZEGGS is y up, the body facing +z, +x the body's left (its ``LeftArm`` offsets are +x) ->
   TED by ``(x, y, z) -> (-x, -y, z)``; the clip must then be upright and facing forward
   (:func:`gesture_core.data.orientation.check_orientation`), or it is refused with what was found.
4. 30 -> 15 fps (linear resampling of the joint positions), unit bone directions.
5. Speech: the ``.wav`` beside the ``.bvh`` (16 kHz mono after
   :func:`~gesture_core.speech.audio_io.load_audio`), aligned at frame 0. ZEGGS has no word timings;
   a ``.TextGrid`` beside it is used if present.

ZEGGS is CC BY-NC-ND 4.0: convert it to evaluate, never to train weights the project ships.

CLI: ``gesture-convert-zeggs BVH [WAV] OUT_DIR --speaker ID [--start S] [--end S] [--segments N]``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from . import format as fmt
from . import rig, takes
from .bvh import forward_kinematics, read_bvh, rest_positions
from .orientation import check_orientation

log = logging.getLogger(__name__)

#: ZEGGS joint of each TED joint 0..9 (None: nose and head top, points rigid with :data:`HEAD`).
TED_FROM_ZEGGS = (
    "Spine3", "Neck", None, None, "LeftArm", "LeftForeArm", "LeftHand",
    "RightArm", "RightForeArm", "RightHand",
)  # fmt: skip
HEAD = "Head"
#: ZEGGS axes (x left, y up, z forward) -> TED axes (x right, y down, z forward).
ZEGGS_TO_TED = np.array([-1.0, -1.0, 1.0])
CONVENTION = "ZEGGS BVH axes: y up, the body facing +z, +x its left"


def bvh_to_ted_positions(path: Path) -> tuple[np.ndarray, float]:
    """TED joint positions (N, 10, 3) in TED axes (BVH units) of the BVH file ``path``, and its fps."""
    bvh = read_bvh(path)
    body = [j for j in TED_FROM_ZEGGS if j is not None]
    positions, rotations = forward_kinematics(bvh, [*body, HEAD])
    rest = rest_positions(bvh, [*body, HEAD])
    rest_ted = np.array([rest[j] if j is not None else np.zeros(3) for j in TED_FROM_ZEGGS]) * ZEGGS_TO_TED
    head = {  # TED joint -> positions of the points rigid with the head joint (BVH axes)
        ted: positions[HEAD] + rotations[HEAD].apply(point * ZEGGS_TO_TED - rest[HEAD])
        for ted, point in zip((2, 3), rig.head_rest_points(rest_ted))
    }
    joints = [head[i] if j is None else positions[j] for i, j in enumerate(TED_FROM_ZEGGS)]
    return np.stack(joints, axis=1) * ZEGGS_TO_TED, bvh.fps


def read_take(bvh_path: Path, wav_path: Path | None = None, textgrid_path: Path | None = None) -> takes.Take:
    """A ZEGGS ``.bvh`` with its speech (``wav_path`` None: the ``.wav`` beside it) as a :class:`.Take`.

    Raises :class:`~gesture_core.errors.DataError` when the motion is not upright and facing forward.
    """
    bvh_path = Path(bvh_path)
    audio, words, phones = takes.speech_and_alignment(bvh_path, wav_path, textgrid_path)
    positions, fps = bvh_to_ted_positions(bvh_path)
    poses = rig.positions_to_poses(positions, fps)
    check_orientation(poses, str(bvh_path), CONVENTION)
    log.info(
        "%s: %d frames at %g fps -> %d at 15 fps (%.3f s); speech %.3f s",
        bvh_path.name, len(positions), fps, len(poses), len(poses) / fmt.FPS, audio.size / fmt.SAMPLE_RATE,
    )  # fmt: skip
    return takes.Take(bvh_path.stem, "zeggs", poses, audio, words, phones)


def main(argv: list[str] | None = None) -> int:
    return takes.take_cli(
        "gesture-convert-zeggs",
        "Convert a ZEGGS .bvh (+ speech .wav) into the gesture clip format (evaluation only: CC BY-NC-ND).",
        "BVH",
        read_take,
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
