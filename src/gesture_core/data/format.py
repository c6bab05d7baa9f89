"""The project's one training format: a directory of per-clip arrays plus a manifest.

Layout of a dataset directory::

    manifest.json              format name and version, fps, sample rate, list of clips
    <clip_id>/poses.npy        (N, 27) float32 unit bone directions, TED axes, 15 fps
    <clip_id>/audio.flac       (or audio.wav) 16 kHz mono speech aligned with frame 0
    <clip_id>/words.json       timed words [{"word", "start", "end"}], seconds from frame 0; [] if unknown
    <clip_id>/phones.json      optional: timed phones [{"phone", "start", "end"}] (ARPAbet with stress
                               digits, e.g. "AY1", from a forced aligner), seconds from frame 0

Every converter (:mod:`.beat2`, :mod:`.zeggs`, :mod:`.ted_expressive`, :mod:`.ted_lmdb`) writes clips
with :class:`DatasetWriter`, and every reader goes through :func:`read_manifest` / :func:`open_clip` /
:func:`load_clip`, which validate what they read and raise :class:`~gesture_core.errors.DataError`
naming the clip and the field. No pickles.

The audio of a clip covers its poses: ``n_frames / 15`` seconds, within :data:`AUDIO_TOLERANCE_FRAMES`.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import soundfile as sf

from .. import skeleton
from ..contracts import AUDIO_SAMPLE_RATE, Word
from ..errors import DataError

log = logging.getLogger(__name__)

FORMAT_NAME = "gesture.clips"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
POSES_FILE = "poses.npy"
WORDS_FILE = "words.json"
PHONES_FILE = "phones.json"
AUDIO_FILES = ("audio.flac", "audio.wav")

FPS = skeleton.FPS
SAMPLE_RATE = AUDIO_SAMPLE_RATE
#: How far the audio length may differ from ``n_frames / FPS`` (in frames).
AUDIO_TOLERANCE_FRAMES = 2.0
#: How far a bone vector's length may differ from 1.
UNIT_TOLERANCE = 1e-3

Timed = TypeVar("Timed", Word, "Phone")

_CLIP_ID = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class ClipInfo:
    """One manifest entry. ``duration`` = ``n_frames / FPS`` seconds; ``source`` says where it came from."""

    clip_id: str
    speaker_id: str
    n_frames: int
    duration: float
    source: str
    audio_file: str


@dataclass(frozen=True)
class Phone:
    """A timed phone: ``phone`` (ARPAbet; vowels end in a stress digit 0/1/2), ``start``, ``end`` (s)."""

    phone: str
    start: float
    end: float


@dataclass
class Clip:
    """A clip in memory: ``poses`` (N, 27) float32, ``audio`` (S,) float32 at 16 kHz, timed ``words``
    and (when the source has them) timed ``phones``."""

    info: ClipInfo
    poses: np.ndarray
    audio: np.ndarray
    words: list[Word]
    phones: list[Phone] = field(default_factory=list)


def validate_clip_id(clip_id: Any) -> str:
    """Return ``clip_id`` if it can name a directory: 1-128 of ``[A-Za-z0-9_.-]``, no leading dot."""
    if not isinstance(clip_id, str) or not _CLIP_ID.match(clip_id):
        raise DataError(
            f"invalid clip id {clip_id!r}: need 1-128 characters of [A-Za-z0-9_.-], not starting with '.'"
        )
    return clip_id


def expected_audio_samples(n_frames: int) -> int:
    """Number of 16 kHz samples that cover ``n_frames`` frames at 15 fps."""
    return int(round(n_frames * SAMPLE_RATE / FPS))


# --------------------------------------------------------------------------------------------
# Validation of arrays and words
# --------------------------------------------------------------------------------------------


def check_poses(
    poses: np.ndarray, clip_id: str, n_frames: int | None = None, first_frame: int = 0
) -> np.ndarray:
    """Check ``poses`` is a finite (N, 27) array of unit bone vectors; returns it as float32.

    ``first_frame``: index in the clip of ``poses[0]`` (for messages about a slice).
    """
    poses = np.asarray(poses)
    if poses.ndim != 2 or poses.shape[1] != skeleton.POSE_DIM:
        raise DataError(
            f"clip {clip_id!r} {POSES_FILE}: shape {poses.shape}, expected (N, {skeleton.POSE_DIM})"
        )
    if n_frames is not None and poses.shape[0] != n_frames:
        raise DataError(
            f"clip {clip_id!r} {POSES_FILE}: {poses.shape[0]} frames, manifest n_frames says {n_frames}"
        )
    if not np.all(np.isfinite(poses)):
        raise DataError(f"clip {clip_id!r} {POSES_FILE}: contains NaN or inf")
    norms = np.linalg.norm(poses.reshape(len(poses), skeleton.N_BONES, 3), axis=-1)
    if norms.size and np.max(np.abs(norms - 1.0)) > UNIT_TOLERANCE:
        frame, bone = np.unravel_index(np.argmax(np.abs(norms - 1.0)), norms.shape)
        raise DataError(
            f"clip {clip_id!r} {POSES_FILE}: bone {skeleton.BONE_NAMES[bone]!r} "
            f"of frame {first_frame + frame} "
            f"has length {norms[frame, bone]:.4f}, expected a unit vector"
        )
    return poses.astype(np.float32, copy=False)


def check_audio_length(n_samples: int, n_frames: int, clip_id: str, audio_file: str) -> None:
    """Check ``n_samples`` covers ``n_frames`` frames within :data:`AUDIO_TOLERANCE_FRAMES`."""
    expected = n_frames * SAMPLE_RATE / FPS
    tolerance = AUDIO_TOLERANCE_FRAMES * SAMPLE_RATE / FPS
    if abs(n_samples - expected) > tolerance:
        raise DataError(
            f"clip {clip_id!r} {audio_file}: {n_samples} samples ({n_samples / SAMPLE_RATE:.3f} s), "
            f"poses need {n_frames / FPS:.3f} s (tolerance {AUDIO_TOLERANCE_FRAMES:g} frames)"
        )


def _parse_timed(
    items: Any, key: str, file: str, clip_id: str, duration: float
) -> list[tuple[str, float, float]]:
    """``(label, start, end)`` from ``[{key, "start", "end"}, ...]``, validated (see parse_words)."""
    if not isinstance(items, list):
        raise DataError(f"clip {clip_id!r} {file}: expected a list, got {type(items).__name__}")
    out: list[tuple[str, float, float]] = []
    for i, item in enumerate(items):
        where = f"clip {clip_id!r} {file}[{i}]"
        if not isinstance(item, dict) or not {key, "start", "end"} <= item.keys():
            raise DataError(f"{where}: expected an object with {key!r}, 'start', 'end'")
        label, start, end = item[key], item["start"], item["end"]
        if not isinstance(label, str) or not label:
            raise DataError(f"{where}.{key}: expected a non-empty string, got {label!r}")
        for name, value in (("start", start), ("end", end)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise DataError(f"{where}.{name}: expected a finite number, got {value!r}")
        if not 0.0 <= start <= end:
            raise DataError(f"{where}: start {start} and end {end} need 0 <= start <= end")
        if start > duration + 1e-6:
            raise DataError(f"{where}.start: {start} s is after the clip's end ({duration:.3f} s)")
        if out and start < out[-1][1] - 1e-9:
            raise DataError(f"{where}.start: {start} s is before the previous {key}'s start {out[-1][1]} s")
        out.append((label, float(start), float(end)))
    return out


def parse_words(items: Any, clip_id: str, duration: float) -> list[Word]:
    """Timed words from JSON-like ``[{"word", "start", "end"}, ...]`` (seconds from frame 0), validated.

    Words must be non-empty strings, ``0 <= start <= end``, in order of start time, starting
    before the end of the clip.
    """
    return [
        Word(word=w, start=s, end=e) for w, s, e in _parse_timed(items, "word", WORDS_FILE, clip_id, duration)
    ]


def parse_phones(items: Any, clip_id: str, duration: float) -> list[Phone]:
    """Timed phones from ``[{"phone", "start", "end"}, ...]``, validated like :func:`parse_words`."""
    return [Phone(p, s, e) for p, s, e in _parse_timed(items, "phone", PHONES_FILE, clip_id, duration)]


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


def _info_from_json(entry: Any, index: int) -> ClipInfo:
    where = f"{MANIFEST} clips[{index}]"
    if not isinstance(entry, dict):
        raise DataError(f"{where}: expected an object")
    kinds = {
        "clip_id": str,
        "speaker_id": str,
        "n_frames": int,
        "duration": (int, float),
        "source": str,
        "audio_file": str,
    }
    for key, kind in kinds.items():
        if key not in entry:
            raise DataError(f"{where}: missing key {key!r}")
        if not isinstance(entry[key], kind) or isinstance(entry[key], bool):
            raise DataError(f"{where}.{key}: has type {type(entry[key]).__name__}")
    info = ClipInfo(**{key: entry[key] for key in kinds})
    validate_clip_id(info.clip_id)
    if info.n_frames < 1:
        raise DataError(f"{where}.n_frames: {info.n_frames}, expected >= 1")
    if abs(info.duration - info.n_frames / FPS) > 1e-3:
        raise DataError(
            f"{where}.duration: {info.duration} s, but n_frames / fps = {info.n_frames / FPS:.4f} s"
        )
    if info.audio_file not in AUDIO_FILES:
        raise DataError(f"{where}.audio_file: {info.audio_file!r}, expected one of {AUDIO_FILES}")
    return info


def read_manifest(root: str | Path) -> list[ClipInfo]:
    """Clips of the dataset at ``root``, in manifest order, after checking the format header."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DataError(f"{path}: no such manifest (is {root} a dataset directory?)")
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise DataError(f"{path}: expected a JSON object")
    expected = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "fps": FPS, "sample_rate": SAMPLE_RATE}
    for key, value in expected.items():
        if obj.get(key) != value:
            raise DataError(f"{path}: {key} is {obj.get(key)!r}, expected {value!r}")
    if not isinstance(obj.get("clips"), list):
        raise DataError(f"{path}: missing key 'clips' (a list)")
    infos = [_info_from_json(entry, i) for i, entry in enumerate(obj["clips"])]
    seen: set[str] = set()
    for info in infos:
        if info.clip_id in seen:
            raise DataError(f"{path}: clip id {info.clip_id!r} appears twice")
        seen.add(info.clip_id)
    return infos


def write_manifest(root: str | Path, clips: list[ClipInfo]) -> None:
    """Write ``manifest.json`` listing ``clips`` (atomically: a temporary file, then a rename)."""
    root = Path(root)
    obj = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "fps": FPS,
        "sample_rate": SAMPLE_RATE,
        "pose_dim": skeleton.POSE_DIM,
        "clips": [asdict(info) for info in clips],
    }
    tmp = root / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(root / MANIFEST)


# --------------------------------------------------------------------------------------------
# Writing and reading clips
# --------------------------------------------------------------------------------------------


class DatasetWriter:
    """Adds clips to the dataset at ``root``; the manifest is written on :meth:`close` (or ``with`` exit).

    Clips already in the manifest stay; a clip added with an existing id replaces it.
    """

    def __init__(self, root: str | Path, audio_format: str = "flac"):
        if audio_format not in ("flac", "wav"):
            raise DataError(f"audio_format: {audio_format!r}, expected 'flac' or 'wav'")
        self.root = Path(root)
        self.audio_format = audio_format
        self.root.mkdir(parents=True, exist_ok=True)
        existing = read_manifest(self.root) if (self.root / MANIFEST).exists() else []
        self._clips: dict[str, ClipInfo] = {c.clip_id: c for c in existing}

    def __enter__(self) -> DatasetWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write the manifest listing every clip."""
        write_manifest(self.root, list(self._clips.values()))

    def add(
        self,
        clip_id: str,
        speaker_id: str,
        poses: np.ndarray,
        audio: np.ndarray,
        words: list[Word],
        source: str,
        phones: list[Phone] | None = None,
    ) -> ClipInfo:
        """Validate a clip and write its files under ``root/clip_id``; returns its manifest entry.

        - ``poses``: (N, 27) unit bone directions, TED axes, 15 fps.
        - ``audio``: (S,) float mono in [-1, 1] at 16 kHz covering the N frames (see :func:`fit_audio`).
        - ``words``: timed words, seconds from frame 0.
        - ``phones``: optional timed phones, seconds from frame 0 (None or []: no ``phones.json``).
        """
        validate_clip_id(clip_id)
        if not isinstance(speaker_id, str) or not speaker_id:
            raise DataError(f"clip {clip_id!r} speaker_id: expected a non-empty string, got {speaker_id!r}")
        poses = check_poses(poses, clip_id)
        n_frames = len(poses)
        if n_frames == 0:
            raise DataError(f"clip {clip_id!r} {POSES_FILE}: no frames")
        audio_file = f"audio.{self.audio_format}"
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1 or not np.all(np.isfinite(audio)):
            raise DataError(
                f"clip {clip_id!r} {audio_file}: expected finite mono samples, got shape {audio.shape}"
            )
        check_audio_length(audio.size, n_frames, clip_id, audio_file)
        duration = n_frames / FPS
        words_json = [{"word": w.word, "start": w.start, "end": w.end} for w in words]
        parse_words(words_json, clip_id, duration)
        phones_json = [{"phone": p.phone, "start": p.start, "end": p.end} for p in phones or []]
        parse_phones(phones_json, clip_id, duration)

        clip_dir = self.root / clip_id
        clip_dir.mkdir(exist_ok=True)
        for stale in AUDIO_FILES:
            (clip_dir / stale).unlink(missing_ok=True)
        np.save(clip_dir / POSES_FILE, poses, allow_pickle=False)
        clipped = np.clip(audio, -1.0, 1.0)
        if not np.array_equal(clipped, audio):
            log.warning(
                "clip %r: %d audio samples outside [-1, 1] clipped", clip_id, int(np.sum(clipped != audio))
            )
        # FLAC: 16-bit (lossless for 16-bit sources, ~3x smaller); WAV: float32.
        subtype = "PCM_16" if self.audio_format == "flac" else "FLOAT"
        sf.write(clip_dir / audio_file, clipped, SAMPLE_RATE, subtype=subtype)
        (clip_dir / WORDS_FILE).write_text(
            json.dumps(words_json, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        (clip_dir / PHONES_FILE).unlink(missing_ok=True)
        if phones_json:
            (clip_dir / PHONES_FILE).write_text(json.dumps(phones_json) + "\n", encoding="utf-8")

        info = ClipInfo(clip_id, speaker_id, n_frames, round(duration, 6), source, audio_file)
        self._clips.pop(clip_id, None)
        self._clips[clip_id] = info
        log.debug("wrote clip %r: %d frames (%.2f s), %d words", clip_id, n_frames, duration, len(words))
        return info


@dataclass
class ClipHandle:
    """A clip whose files and headers were checked by :func:`open_clip`; arrays are read on demand.

    Reading slices keeps memory flat for large datasets (no clip stays in memory or mapped).
    Values are checked by :func:`check_poses` in :func:`load_clip` and for each dataset window.
    """

    info: ClipInfo
    poses_path: Path
    audio_path: Path
    n_audio_samples: int
    words: list[Word]
    phones: list[Phone] = field(default_factory=list)

    def read_poses(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Frames ``[start, stop)`` of the poses, (n, 27) float32."""
        return np.array(np.load(self.poses_path, mmap_mode="r", allow_pickle=False)[start:stop])

    def read_audio(self, start: int, n: int) -> np.ndarray:
        """``n`` samples from sample ``start`` as float32; zeros past the end of the file."""
        out = np.zeros(n, dtype=np.float32)
        stop = min(start + n, self.n_audio_samples)
        if stop > start:
            data, _ = sf.read(self.audio_path, start=start, stop=stop, dtype="float32", always_2d=False)
            out[: len(data)] = data
        return out


def open_clip(root: str | Path, info: ClipInfo) -> ClipHandle:
    """Open a clip listed in the manifest, checking file presence, shapes, audio format and words."""
    clip_dir = Path(root) / info.clip_id
    poses_path, audio_path = clip_dir / POSES_FILE, clip_dir / info.audio_file
    for path in (poses_path, audio_path, clip_dir / WORDS_FILE):
        if not path.is_file():
            raise DataError(f"clip {info.clip_id!r} {path.name}: file missing ({path})")
    try:
        poses = np.load(poses_path, mmap_mode="r", allow_pickle=False)
    except ValueError as exc:
        raise DataError(f"clip {info.clip_id!r} {POSES_FILE}: not a plain .npy array: {exc}") from None
    if poses.dtype != np.float32:
        raise DataError(f"clip {info.clip_id!r} {POSES_FILE}: dtype {poses.dtype}, expected float32")
    if poses.shape != (info.n_frames, skeleton.POSE_DIM):
        raise DataError(
            f"clip {info.clip_id!r} {POSES_FILE}: shape {poses.shape}, "
            f"manifest needs ({info.n_frames}, {skeleton.POSE_DIM})"
        )
    del poses
    try:
        audio_info = sf.info(str(audio_path))
    except sf.LibsndfileError as exc:
        raise DataError(f"clip {info.clip_id!r} {info.audio_file}: unreadable: {exc}") from None
    if audio_info.samplerate != SAMPLE_RATE or audio_info.channels != 1:
        raise DataError(
            f"clip {info.clip_id!r} {info.audio_file}: "
            f"{audio_info.samplerate} Hz, {audio_info.channels} channels; "
            f"expected {SAMPLE_RATE} Hz mono"
        )
    check_audio_length(audio_info.frames, info.n_frames, info.clip_id, info.audio_file)
    words = parse_words(_read_json(clip_dir / WORDS_FILE, info.clip_id), info.clip_id, info.duration)
    phones_path = clip_dir / PHONES_FILE
    phones = (
        parse_phones(_read_json(phones_path, info.clip_id), info.clip_id, info.duration)
        if phones_path.is_file()
        else []
    )
    return ClipHandle(info, poses_path, audio_path, int(audio_info.frames), words, phones)


def _read_json(path: Path, clip_id: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"clip {clip_id!r} {path.name}: not valid JSON: {exc}") from None


def load_clip(root: str | Path, info: ClipInfo) -> Clip:
    """Read a whole clip into memory, validating every value (unit vectors, finite, lengths)."""
    handle = open_clip(root, info)
    poses = check_poses(handle.read_poses(), info.clip_id, info.n_frames)
    audio = handle.read_audio(0, handle.n_audio_samples)
    return Clip(info, poses, audio, handle.words, handle.phones)


# --------------------------------------------------------------------------------------------
# Helpers shared by the converters
# --------------------------------------------------------------------------------------------


def resample_frames(frames: np.ndarray, src_fps: float, n_out: int, dst_fps: float = FPS) -> np.ndarray:
    """Linearly resample a sequence ``(N, ...)`` sampled at ``src_fps`` to ``n_out`` frames at ``dst_fps``.

    Output frame ``k`` is at time ``k / dst_fps``; input frame ``i`` at ``i / src_fps``. Times past the
    last input frame repeat it. For 30 -> 15 fps this picks every other frame exactly.
    """
    frames = np.asarray(frames, dtype=np.float64)
    src_t = np.arange(len(frames)) / src_fps
    dst_t = np.arange(n_out) / dst_fps
    flat = frames.reshape(len(frames), -1)
    out = np.stack([np.interp(dst_t, src_t, flat[:, c]) for c in range(flat.shape[1])], axis=1)
    return out.reshape((n_out,) + frames.shape[1:])


def cut_timed(items: list[Timed], start: float, duration: float) -> list[Timed]:
    """Timed items (:class:`Word` or :class:`Phone`) that start within ``[start, start + duration)`` s,
    shifted so that ``start`` becomes 0, their ends clipped to ``duration``."""
    return [
        replace(x, start=x.start - start, end=min(x.end - start, duration))
        for x in items
        if start <= x.start < start + duration
    ]


def fit_audio(samples: np.ndarray, n_frames: int, what: str) -> np.ndarray:
    """Cut or zero-pad 16 kHz ``samples`` to exactly cover ``n_frames`` frames; logs what changed."""
    n = expected_audio_samples(n_frames)
    if samples.size != n:
        change = "cut" if samples.size > n else "zero-padded"
        log.info(
            "%s: audio %s from %.3f s to %.3f s to match the poses",
            what,
            change,
            samples.size / SAMPLE_RATE,
            n / SAMPLE_RATE,
        )
    out = np.zeros(n, dtype=np.float32)
    out[: min(n, samples.size)] = samples[:n]
    return out
