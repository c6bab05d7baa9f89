"""Geometry shared by the motion-capture converters (BEAT2/SMPL-X, ZEGGS/BVH): TED head points
rigid with a source head joint, and joint positions -> 15 fps TED poses.

Motion-capture skeletons have no nose or head-top joint (their head joint sits at the top of the
neck, inside the skull). Both become points rigid with the head joint, so nods and turns show,
placed by :func:`head_rest_points` so that the rest pose has TED's head geometry relative to the
torso: TED's mean thorax -> nose and nose -> head-top directions (``skeleton.MEAN_DIR_VEC``),
turned by the rotation that takes TED's mean spine onto the source's rest spine, with TED's bone
lengths scaled by the source/TED length ratio of the arm bones.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from .. import skeleton
from . import format as fmt


def head_rest_points(rest: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rest positions (3,) of the TED nose and head top, from a source skeleton's rest pose.

    ``rest``: (10, 3) rest positions of the TED joints in TED axes (any length unit; rows 2 and 3,
    nose and head top, are ignored). Returns (nose, head top) in the same axes and unit.
    """
    rest = np.asarray(rest, dtype=np.float64)
    ted_mean = skeleton.as_directions(skeleton.MEAN_DIR_VEC)
    ted_mean = ted_mean / np.linalg.norm(ted_mean, axis=1, keepdims=True)
    spine = rest[1] - rest[0]
    torso, _ = Rotation.align_vectors([spine / np.linalg.norm(spine)], [ted_mean[0]])
    ratios = []  # source / TED length of the arm bones (collars, upper arms, forearms)
    for b in range(skeleton.BONE_NAMES.index("left_collar"), skeleton.N_BONES):
        p, c = skeleton.BONES[b]
        ratios.append(np.linalg.norm(rest[c] - rest[p]) / skeleton.BONE_LENGTHS[b])
    scale = float(np.mean(ratios))
    nose = rest[1] + scale * skeleton.BONE_LENGTHS[1] * torso.apply(ted_mean[1])
    head_top = nose + scale * skeleton.BONE_LENGTHS[2] * torso.apply(ted_mean[2])
    return nose, head_top


def positions_to_poses(positions: np.ndarray, src_fps: float) -> np.ndarray:
    """TED poses (M, 27) float32 at 15 fps from joint positions (N, 10, 3), TED axes, at ``src_fps``.

    Positions are resampled linearly (output frame ``k`` at ``k / 15`` s; for 30 fps input exactly
    every other frame), then turned into unit bone directions.
    ``M = floor((N - 1) * 15 / src_fps) + 1``: every output time lies within the input.
    """
    n_out = int(np.floor((len(positions) - 1) * fmt.FPS / src_fps + 1e-9)) + 1
    resampled = fmt.resample_frames(positions, src_fps, n_out)
    return skeleton.directions_from_positions(resampled).astype(np.float32)
