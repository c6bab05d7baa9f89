"""TED Gesture dataset (the Trimodal authors' clip lmdb) -> the project's training format.

The lmdb (``lmdb_train`` / ``lmdb_val`` / ``lmdb_test``) holds one value per video: a dict
``{'vid': str, 'clips': [clip, ...]}``; each clip a dict with

- ``'skeletons_3d'``: (n, 10, 3) (or (n, 30)) 3D joint positions, TED joint order and axes,
  sampled uniformly over the clip;
- ``'audio_raw'``: (S,) float waveform of the clip at 16 kHz;
- ``'words'``: ``[[word, start_s, end_s], ...]`` in video time;
- ``'start_time'``, ``'end_time'``: the clip's span in video time (s);
- other keys (``'audio_feat'``, frame numbers) are not used.

(Layout read from ai4r/Gesture-Generation-from-Trimodal-Context, ``scripts/data_loader/``.)
The authors' original files serialise each value with the long-removed ``pyarrow.serialize``;
this converter reads values re-dumped with :mod:`pickle` (as later forks of that code distribute
them). Values are untrusted pickles, so they go through :class:`RestrictedUnpickler`, which can
rebuild numpy arrays and plain containers and nothing else: any other class is refused before
anything is called.

Every clip must be upright and facing forward in TED axes
(:func:`gesture_core.data.orientation.check_orientation`); one that is not is skipped with a
warning that says what was found.

Clip ``i`` of video ``vid`` becomes clip id ``<vid>_<i:03d>`` with speaker id ``vid``; positions
are resampled to 15 fps (linear, output frame ``k`` at ``k / 15`` s, input frame ``j`` at
``j * duration / n``, as the authors' ``resample_pose_seq``), turned into unit bone directions,
and words are made relative to the clip start.

CLI: ``python -m gesture_core.data.ted_lmdb LMDB_DIR OUT_DIR [--limit N]``.
"""

from __future__ import annotations

import argparse
import importlib
import io
import itertools
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .. import skeleton
from ..contracts import Word
from ..errors import ContractError, DataError
from . import format as fmt
from .orientation import check_orientation
from .takes import converter_main

log = logging.getLogger(__name__)

CONVENTION = "TED Gesture axes: x the person's right, y down, the person facing +z"

#: The only globals a TED lmdb value may reference: numpy array/scalar reconstruction
#: (old ``numpy.core`` and numpy 2 ``numpy._core`` paths), the bytes helper of protocol 2 and
#: sets (Python 2 names included: overriding ``find_class`` skips pickle's own name fixes).
ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"): ("numpy._core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"): ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"): ("numpy._core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"): ("numpy._core.numeric", "_frombuffer"),
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
    ("_codecs", "encode"): ("_codecs", "encode"),
    ("builtins", "set"): ("builtins", "set"),
    ("builtins", "frozenset"): ("builtins", "frozenset"),
    ("__builtin__", "set"): ("builtins", "set"),
    ("__builtin__", "frozenset"): ("builtins", "frozenset"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for untrusted data: numpy arrays, numpy scalars and builtin containers only.

    ``find_class`` resolves only :data:`ALLOWED_GLOBALS` (to the running numpy's objects, so
    pickles made with numpy 1.x load under numpy 2); any other global raises
    :class:`~gesture_core.errors.DataError` before it is imported or called.
    """

    def find_class(self, module: str, name: str) -> Any:
        target = ALLOWED_GLOBALS.get((module, name))
        if target is None:
            raise DataError(
                f"pickled data references {module}.{name}, which is not allowed (only numpy arrays)"
            )
        target_module, target_name = target
        if target_module.startswith("numpy._core") and not _has_module(target_module):
            target_module = target_module.replace("numpy._core", "numpy.core")  # numpy < 2
        return getattr(importlib.import_module(target_module), target_name)


def _has_module(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def restricted_loads(data: bytes) -> Any:
    """Unpickle ``data`` with :class:`RestrictedUnpickler` (``latin1`` for Python 2 numpy pickles)."""
    if not data[:1] == b"\x80":
        raise DataError(
            "lmdb value is not a pickle (protocol >= 2); the authors' original lmdb uses pyarrow.serialize: "
            "re-dump its values with pickle first"
        )
    try:
        return RestrictedUnpickler(io.BytesIO(data), encoding="latin1").load()
    except (
        pickle.UnpicklingError,
        EOFError,
        ValueError,
        TypeError,
        AttributeError,
        IndexError,
        KeyError,
    ) as exc:
        raise DataError(f"lmdb value is not a valid pickle: {exc}") from None


def _field(clip: Any, key: str, where: str) -> Any:
    if not isinstance(clip, dict) or key not in clip:
        raise DataError(f"{where}: missing key {key!r}")
    return clip[key]


def clip_to_poses(skeletons_3d: Any, duration: float, where: str) -> np.ndarray:
    """(n, 10, 3) or (n, 30) TED joint positions spanning ``duration`` s -> (round(duration*15), 27) poses."""
    pos = np.asarray(skeletons_3d, dtype=np.float64)
    if pos.ndim == 2 and pos.shape[1] == 3 * len(skeleton.JOINTS):
        pos = pos.reshape(len(pos), len(skeleton.JOINTS), 3)
    if pos.ndim != 3 or pos.shape[1:] != (len(skeleton.JOINTS), 3) or len(pos) < 2:
        raise DataError(f"{where}.skeletons_3d: shape {np.shape(skeletons_3d)}, expected (n >= 2, 10, 3)")
    if not np.all(np.isfinite(pos)):
        raise DataError(f"{where}.skeletons_3d: contains NaN or inf")
    n_out = int(round(duration * fmt.FPS))
    resampled = fmt.resample_frames(pos, len(pos) / duration, n_out)
    try:
        poses = skeleton.directions_from_positions(resampled).astype(np.float32)
    except ContractError as exc:  # a zero-length bone
        raise DataError(f"{where}.skeletons_3d: {exc}") from None
    check_orientation(poses, f"{where}.skeletons_3d", CONVENTION)
    return poses


def clip_words(items: Any, start_time: float, duration: float, where: str) -> list[Word]:
    """``[[word, start, end], ...]`` in video time -> words relative to the clip start, within the clip."""
    words: list[Word] = []
    for i, item in enumerate(items or []):
        if not isinstance(item, (list, tuple)) or len(item) < 3 or not isinstance(item[0], str):
            raise DataError(f"{where}.words[{i}]: expected [word, start, end], got {item!r}")
        start, end = float(item[1]) - start_time, float(item[2]) - start_time
        if not item[0] or end < start or start >= duration or end <= 0:
            log.debug(
                "%s: word %r (%.2f-%.2f s) is empty, inverted or outside the clip; skipped",
                where,
                item[0],
                start,
                end,
            )
            continue
        words.append(Word(item[0], max(0.0, start), min(max(end, 0.0), duration)))
    words.sort(key=lambda w: w.start)
    return words


def iter_videos(lmdb_dir: str | Path) -> Iterator[tuple[bytes, dict]]:
    """(key, video dict) of every entry of the lmdb at ``lmdb_dir``, unpickled safely."""
    import lmdb  # optional dependency: pip install 'gesture-core[data]'

    env = lmdb.open(str(lmdb_dir), readonly=True, lock=False, subdir=True)
    try:
        with env.begin(write=False) as txn:
            for key, value in txn.cursor():
                video = restricted_loads(bytes(value))
                if not isinstance(video, dict):
                    raise DataError(f"lmdb entry {key!r}: expected a dict, got {type(video).__name__}")
                yield key, video
    finally:
        env.close()


def convert(
    lmdb_dir: str | Path, out_dir: str | Path, limit: int | None = None, audio_format: str = "flac"
) -> list[fmt.ClipInfo]:
    """Convert every clip of the TED lmdb at ``lmdb_dir`` (at most ``limit`` videos) into ``out_dir``.

    Clips whose data is unusable (bad skeleton, fewer than 2 frames) are skipped with a warning.
    Returns the manifest entries written.
    """
    if not Path(lmdb_dir).is_dir():
        raise DataError(f"{lmdb_dir}: not an lmdb directory")
    written: list[fmt.ClipInfo] = []
    n_skipped = 0
    videos = itertools.islice(iter_videos(lmdb_dir), limit)
    with fmt.DatasetWriter(out_dir, audio_format) as writer:
        for key, video in tqdm(videos, desc="videos", unit="video", total=limit):
            vid = _field(video, "vid", f"lmdb entry {key!r}")
            clips = _field(video, "clips", f"video {vid!r}")
            if not isinstance(vid, str) or not isinstance(clips, list):
                raise DataError(f"lmdb entry {key!r}: 'vid' must be a string and 'clips' a list")
            for i, clip in enumerate(clips):
                clip_id = fmt.validate_clip_id(f"{vid}_{i:03d}")
                try:
                    start_time = float(_field(clip, "start_time", clip_id))
                    duration = float(_field(clip, "end_time", clip_id)) - start_time
                    if not duration > 0:
                        raise DataError(f"{clip_id}: end_time is not after start_time")
                    poses = clip_to_poses(_field(clip, "skeletons_3d", clip_id), duration, clip_id)
                    audio = np.asarray(_field(clip, "audio_raw", clip_id), dtype=np.float32).ravel()
                    words = clip_words(
                        _field(clip, "words", clip_id), start_time, len(poses) / fmt.FPS, clip_id
                    )
                except DataError as exc:
                    log.warning("skipping clip: %s", exc)
                    n_skipped += 1
                    continue
                audio = fmt.fit_audio(audio, len(poses), clip_id)
                written.append(writer.add(clip_id, vid, poses, audio, words, f"ted:{vid}/{i}"))
    log.info("converted %d clips, skipped %d", len(written), n_skipped)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gesture-convert-ted",
        description="Convert a TED Gesture clip lmdb (pickled values) into the gesture training format.",
    )
    parser.add_argument("lmdb_dir", help="lmdb directory, e.g. .../lmdb_train")
    parser.add_argument("out_dir", help="dataset directory to write (clips are added to its manifest)")
    parser.add_argument("--limit", type=int, default=None, help="convert at most this many videos")
    parser.add_argument("--audio-format", choices=("flac", "wav"), default="flac")
    return converter_main(
        parser, argv, lambda a: (convert(a.lmdb_dir, a.out_dir, a.limit, a.audio_format), a.out_dir)
    )


if __name__ == "__main__":
    raise SystemExit(main())
