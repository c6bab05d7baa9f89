"""TED-Expressive clips (HA2G's 42-bone pose from video, with speech and word timings) -> the
project's clip format.

Per clip ``<id>``: ``<id>_gt.npz`` (``human_dir_vec`` (T, 126): 42 unit bone vectors at ``fps`` 15),
``<id>.wav`` (16 kHz speech) and ``<id>_with_timing.txt`` (one ``['word', start_s, end_s]`` per
line). Bones (HA2G's ``dir_vec_pairs``): 0 spine->neck, 1/2 neck->left/right shoulder, 3/4 left
shoulder->elbow->wrist, 20/21 the right arm, 37 neck->nose, 38/39 nose->right/left eye, 40/41
eyes->ears; 5-19 and 22-36 are finger bones (not used).

TED bones: spine = 0, neck (thorax->nose) = 37, collars = 1 / 2, arms = 3, 4 / 20, 21. TED's head
bone (nose->head top) has no counterpart; it is built from the eyes (:func:`head_directions`): a
head frame with ``x`` from the left to the right eye and ``y`` the eyes' "up" direction from the
nose, and the head top at the fixed direction :data:`HEAD_TOP_IN_EYE_FRAME` in that frame.

Axes: HA2G's vectors are in camera axes (x image-right = the speaker's left, y down, z away from
the camera, the speaker facing -z); TED's are the speaker's (x right, y down, z forward): a turn by
180 deg about y, ``(x, y, z) -> (-x, y, -z)``. Checked on the 19 clips: after the turn the right
eye lies on the +x side, the left shoulder on -x and the forearms point forward (+z); every clip
must be upright and facing forward (:func:`gesture_core.data.orientation.check_orientation`).

Word timings come from captions (coarse; some start before the clip or end after it): they are
clipped to the clip, words entirely outside it dropped (both logged).

The data is research-only (TED: CC BY-NC-ND): evaluate with it, never train shipped weights on it.

CLI: ``gesture-convert-ted-expressive SRC_DIR OUT_DIR [--clip ID ...]``.
"""

from __future__ import annotations

import argparse
import ast
import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .. import skeleton
from ..contracts import Word
from ..errors import DataError, GestureError
from ..speech.audio_io import load_audio
from . import format as fmt
from .orientation import check_orientation
from .takes import converter_main

log = logging.getLogger(__name__)

N_VECTORS = 42
#: HA2G vector of each TED bone (None: the head bone, from the eyes).
TED_FROM_HA2G = (0, 37, None, 1, 3, 4, 2, 20, 21)
RIGHT_EYE, LEFT_EYE = 38, 39
#: Camera axes -> TED axes: a turn by 180 deg about y.
CAMERA_TO_TED = np.array([-1.0, 1.0, -1.0])
#: Direction of nose -> head top in the eye frame (x: left -> right eye, y: the eyes' up from the
#: nose, z = x cross y): in the head's mid-plane, 10 deg behind the eyes' up direction. With it the
#: mean head bone of the 19 clips of ``../shared/data/ted_expressive`` lies within 6 deg of TED's.
HEAD_TOP_IN_EYE_FRAME = np.array([0.0, np.cos(np.radians(10.0)), -np.sin(np.radians(10.0))])
CONVENTION = "HA2G camera axes: x image-right, y down, the speaker facing the camera (-z)"
_HEAD = skeleton.BONE_NAMES.index("head")


def head_directions(right_eye: np.ndarray, left_eye: np.ndarray, where: str) -> np.ndarray:
    """Unit nose -> head-top directions (T, 3) from the nose -> eye unit vectors (T, 3) each (TED axes).

    Frames whose two eye vectors (nearly) coincide have no head frame; they take the previous
    frame's head direction (the first such frames TED's mean head bone), logged.
    """
    lateral = right_eye - left_eye
    ok = np.linalg.norm(lateral, axis=1) > 1e-3
    x = lateral / np.where(ok, np.linalg.norm(lateral, axis=1), 1.0)[:, None]
    up = (right_eye + left_eye) / 2
    y = up - np.sum(up * x, axis=1, keepdims=True) * x
    ok &= np.linalg.norm(y, axis=1) > 1e-3
    y /= np.where(ok, np.linalg.norm(y, axis=1), 1.0)[:, None]
    z = np.cross(x, y)
    head = HEAD_TOP_IN_EYE_FRAME @ np.stack([x, y, z], axis=1)  # (T, 3): c_x x + c_y y + c_z z
    if not ok.all():
        log.warning("%s: %d frame(s) without a head frame (eye vectors coincide): previous head kept",
                    where, int((~ok).sum()))  # fmt: skip
        mean = skeleton.as_directions(skeleton.MEAN_DIR_VEC)[_HEAD]
        last = mean / np.linalg.norm(mean)
        for t in range(len(head)):
            head[t] = head[t] if ok[t] else last
            last = head[t]
    return head


def ha2g_to_ted_poses(dir_vec: np.ndarray, where: str) -> np.ndarray:
    """TED poses (T, 27) float32 from HA2G direction vectors (T, 126) or (T, 42, 3) in camera axes."""
    v = np.asarray(dir_vec, dtype=np.float64)
    if v.ndim == 2 and v.shape[1] == 3 * N_VECTORS:
        v = v.reshape(len(v), N_VECTORS, 3)
    if v.ndim != 3 or v.shape[1:] != (N_VECTORS, 3) or len(v) == 0:
        raise DataError(
            f"{where}: human_dir_vec of shape {np.shape(dir_vec)}, expected (T >= 1, {3 * N_VECTORS})"
        )
    if not np.all(np.isfinite(v)):
        raise DataError(f"{where}: human_dir_vec contains NaN or inf")
    v = v * CAMERA_TO_TED
    bones = [
        head_directions(v[:, RIGHT_EYE], v[:, LEFT_EYE], where) if i is None else v[:, i]
        for i in TED_FROM_HA2G
    ]
    try:
        return skeleton.normalize_directions(np.stack(bones, axis=1).reshape(len(v), -1)).astype(np.float32)
    except GestureError as exc:  # a zero-length bone
        raise DataError(f"{where}: {exc}") from None


def read_timing(path: Path, duration: float) -> list[Word]:
    """Words of a ``*_with_timing.txt`` (lines ``['word', start, end]``), clipped to ``[0, duration]`` s.

    Words ending before 0 or starting after ``duration`` are dropped; starts before 0 and ends after
    ``duration`` are clipped (counts logged).
    """
    words: list[Word] = []
    dropped = clipped = 0
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = ast.literal_eval(line.strip())
            word, start, end = str(item[0]).strip(), float(item[1]), float(item[2])
        except (ValueError, SyntaxError, IndexError, TypeError):
            raise DataError(f"{path}:{n}: expected ['word', start, end], got {line.strip()[:80]!r}") from None
        if not word or not np.isfinite(start) or not np.isfinite(end) or end < start:
            raise DataError(f"{path}:{n}: empty word or bad times in {line.strip()[:80]!r}")
        if end <= 0 or start >= duration:
            dropped += 1
            continue
        if start < 0 or end > duration:
            clipped += 1
        words.append(Word(word=word, start=max(start, 0.0), end=min(end, duration)))
    if dropped or clipped:
        log.info("%s: %d word(s) outside the clip dropped, %d clipped to it", path.name, dropped, clipped)
    words.sort(key=lambda w: w.start)
    return words


def clip_ids(src_dir: Path) -> list[str]:
    """Ids of the clips in ``src_dir`` (every ``<id>_gt.npz``), sorted."""
    return sorted(p.name[: -len("_gt.npz")] for p in src_dir.glob("*_gt.npz"))


def speaker_of(clip_id: str) -> str:
    """Speaker id of a clip: its talk's YouTube id (the first 11 characters of the clip id)."""
    return clip_id[:11]


def read_clip(src_dir: Path, clip_id: str) -> tuple[np.ndarray, np.ndarray, list[Word]]:
    """(poses (T, 27) at 15 fps, audio (S,) 16 kHz fitted to the poses, words) of clip ``clip_id``.

    Raises :class:`DataError` naming the file when something is missing or malformed, or when the
    clip is not upright and facing forward.
    """
    npz_path = src_dir / f"{clip_id}_gt.npz"
    wav_path, timing_path = src_dir / f"{clip_id}.wav", src_dir / f"{clip_id}_with_timing.txt"
    for path in (npz_path, wav_path):
        if not path.is_file():
            raise DataError(f"{path}: file missing")
    with np.load(npz_path, allow_pickle=False) as npz:
        if "human_dir_vec" not in npz.files:
            raise DataError(f"{npz_path}: missing key 'human_dir_vec' (keys: {npz.files})")
        dir_vec = npz["human_dir_vec"]
        fps = float(npz["fps"]) if "fps" in npz.files else fmt.FPS
    poses = ha2g_to_ted_poses(dir_vec, str(npz_path))
    if abs(fps - fmt.FPS) > 1e-6:
        log.info("%s: %g fps resampled to 15 fps", npz_path.name, fps)
        n_out = int(np.floor((len(poses) - 1) * fmt.FPS / fps + 1e-9)) + 1
        poses = skeleton.normalize_directions(fmt.resample_frames(poses, fps, n_out)).astype(np.float32)
    check_orientation(poses, str(npz_path), CONVENTION)
    audio = fmt.fit_audio(load_audio(wav_path), len(poses), clip_id)
    words = read_timing(timing_path, len(poses) / fmt.FPS) if timing_path.is_file() else []
    return poses, audio, words


def convert(
    src_dir: str | Path, out_dir: str | Path, only: list[str] | None = None, audio_format: str = "flac"
) -> list[fmt.ClipInfo]:
    """Convert every clip of ``src_dir`` (or the ids in ``only``) into the dataset at ``out_dir``.

    A clip that cannot be read or is not upright and facing forward is skipped with a warning that
    says why; if no clip converts, :class:`DataError` carries the first reason.
    """
    src_dir = Path(src_dir)
    ids = only or clip_ids(src_dir)
    if not ids:
        raise DataError(f"{src_dir}: no TED-Expressive clips (*_gt.npz)")
    written: list[fmt.ClipInfo] = []
    errors: list[str] = []
    with fmt.DatasetWriter(out_dir, audio_format) as writer:
        for clip_id in tqdm(ids, desc="TED-Expressive clips", unit="clip"):
            try:
                poses, audio, words = read_clip(src_dir, clip_id)
            except DataError as exc:
                log.warning("skipping clip %s: %s", clip_id, exc)
                errors.append(str(exc))
                continue
            written.append(
                writer.add(clip_id, speaker_of(clip_id), poses, audio, words, f"ted_expressive:{clip_id}")
            )
    if not written:
        raise DataError(f"{src_dir}: no clip converted; first error: {errors[0]}")
    log.info("converted %d clips, skipped %d", len(written), len(errors))
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gesture-convert-ted-expressive",
        description="Convert TED-Expressive clips (<id>_gt.npz, <id>.wav, <id>_with_timing.txt) into the "
        "gesture clip format (evaluation only: research licence).",
    )
    parser.add_argument("src_dir", type=Path, help="directory of the clips")
    parser.add_argument(
        "out_dir", type=Path, help="dataset directory to write (clips are added to its manifest)"
    )
    parser.add_argument(
        "--clip", action="append", default=None, metavar="ID", help="convert only this clip (repeat)"
    )
    parser.add_argument("--audio-format", choices=("flac", "wav"), default="flac")
    return converter_main(
        parser, argv, lambda a: (convert(a.src_dir, a.out_dir, a.clip, a.audio_format), a.out_dir)
    )


if __name__ == "__main__":
    raise SystemExit(main())
