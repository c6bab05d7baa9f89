"""One converted recording ("take": motion + speech + optional alignment) -> clips of a dataset.

Shared by the motion-capture converters (:mod:`.beat2`, :mod:`.zeggs`): they turn their file into
a :class:`Take` (TED poses at 15 fps, 16 kHz speech aligned at frame 0, timed words and phones),
and :func:`write_take` keeps a time range of it, optionally cut into equal consecutive segments,
and writes the clips. :func:`take_cli` is their common command line.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..contracts import Word
from ..errors import DataError, GestureError
from . import format as fmt

log = logging.getLogger(__name__)


@dataclass
class Take:
    """A converted recording: ``poses`` (N, 27) at 15 fps, ``audio`` (S,) 16 kHz from frame 0,
    timed ``words`` and ``phones`` (s from frame 0); ``name`` (file stem) and ``kind`` (source
    format, e.g. ``beat2``) name the clips and their ``source``."""

    name: str
    kind: str
    poses: np.ndarray
    audio: np.ndarray
    words: list[Word] = field(default_factory=list)
    phones: list[fmt.Phone] = field(default_factory=list)


def time_to_frame(t: float, n_frames: int) -> int:
    """Frame index (15 fps) of time ``t`` s, rounded to the nearest frame; negative ``t`` counts back
    from the end of ``n_frames`` frames."""
    if t < 0:
        t += n_frames / fmt.FPS
    return int(np.clip(np.floor(t * fmt.FPS + 0.5), 0, n_frames))


def write_take(
    take: Take,
    out_dir: str | Path,
    speaker_id: str,
    clip_id: str | None = None,
    start: float | None = None,
    end: float | None = None,
    segments: int = 1,
    audio_format: str = "flac",
) -> list[fmt.ClipInfo]:
    """Write frames ``[round(start*15), round(end*15))`` of ``take`` (s, negative: from the end; None:
    the whole take) as ``segments`` equal consecutive clips into the dataset at ``out_dir``.

    Motion longer than the speech is cut to the speech (logged). Clip ids: ``clip_id`` (default: the
    take's name, plus ``_f<first>-<stop>`` frames when cut or segmented).
    """
    poses, name = take.poses, take.name
    n_audio_frames = int(take.audio.size * fmt.FPS / fmt.SAMPLE_RATE)
    if n_audio_frames < len(poses):
        log.warning(
            "%s: speech is %d frames shorter than the motion; motion cut to the speech",
            name,
            len(poses) - n_audio_frames,
        )
        poses = poses[:n_audio_frames]
    first = time_to_frame(start, len(poses)) if start is not None else 0
    stop = time_to_frame(end, len(poses)) if end is not None else len(poses)
    if segments < 1 or stop - first < segments:
        raise DataError(
            f"{name}: time range start={start} end={end} keeps {max(stop - first, 0)} of {len(poses)} "
            "frames, "
            f"too few for {segments} segment(s)"
        )
    bounds = np.linspace(first, stop, segments + 1).round().astype(int)
    infos = []
    with fmt.DatasetWriter(out_dir, audio_format) as writer:
        for a, b in zip(bounds[:-1], bounds[1:]):
            a, b = int(a), int(b)
            if clip_id is None or segments > 1:
                base = clip_id or name
                cid = base if (a, b) == (0, len(poses)) else f"{base}_f{a}-{b}"
            else:
                cid = clip_id
            samples = take.audio[fmt.expected_audio_samples(a) : fmt.expected_audio_samples(b)]
            audio = fmt.fit_audio(samples, b - a, cid)
            t0, duration = a / fmt.FPS, (b - a) / fmt.FPS
            infos.append(
                writer.add(
                    cid,
                    speaker_id,
                    poses[a:b],
                    audio,
                    fmt.cut_timed(take.words, t0, duration),
                    f"{take.kind}:{name}[{a}:{b}]",
                    fmt.cut_timed(take.phones, t0, duration),
                )
            )
    return infos


def take_cli(
    prog: str, description: str, motion: str, read: Callable[[Path, Path | None, Path | None], Take],
    argv: list[str] | None,
) -> int:  # fmt: skip
    """The converters' command line: ``MOTION [WAV] OUT_DIR --speaker ID [options]``.

    ``read(motion_path, wav_path or None, textgrid_path or None)`` makes the :class:`Take`.
    """
    parser = argparse.ArgumentParser(
        prog=prog, usage=f"%(prog)s {motion} [WAV] OUT_DIR --speaker ID [options]", description=description
    )
    parser.add_argument(
        "paths", nargs="+", metavar="PATH", help=f"{motion} motion file, optional WAV speech file, OUT_DIR"
    )
    parser.add_argument("--speaker", required=True, help="speaker id stored in the manifest, e.g. scott")
    parser.add_argument("--clip-id", default=None, help="clip id (default: the motion file name)")
    parser.add_argument(
        "--start", type=float, default=None, help="first second to keep (negative: from the end)"
    )
    parser.add_argument("--end", type=float, default=None, help="second to stop at (negative: from the end)")
    parser.add_argument(
        "--segments", type=int, default=1, help="cut the kept range into this many equal clips (default 1)"
    )
    parser.add_argument("--audio-format", choices=("flac", "wav"), default="flac")
    parser.add_argument(
        "--textgrid", type=Path, default=None,
        help="word/phone alignment (Praat TextGrid; default: <motion stem>.TextGrid if present)",
    )  # fmt: skip
    parser.add_argument(
        "--no-textgrid", action="store_true", help="ignore a .TextGrid beside the motion file (no words)"
    )

    def run(args: argparse.Namespace) -> tuple[list[fmt.ClipInfo], Path]:
        if args.no_textgrid and args.textgrid is not None:
            parser.error("--textgrid and --no-textgrid exclude each other")
        if len(args.paths) not in (2, 3):
            parser.error(f"expected {motion} [WAV] OUT_DIR")
        paths = [Path(p) for p in args.paths]
        src, wav, out = (paths[0], None, paths[1]) if len(paths) == 2 else paths
        take = read(src, wav, args.textgrid)
        if args.no_textgrid:
            take.words, take.phones = [], []
        infos = write_take(
            take, out, args.speaker, args.clip_id, args.start, args.end, args.segments, args.audio_format
        )
        return infos, out

    return converter_main(parser, argv, run)


def converter_main(
    parser: argparse.ArgumentParser,
    argv: list[str] | None,
    run: Callable[[argparse.Namespace], tuple[list[fmt.ClipInfo], Path]],
) -> int:
    """A converter's command line: parse ``argv``, log at INFO, ``run(args)`` -> (clips written, dataset
    directory), print them; a :class:`~gesture_core.errors.GestureError` exits with 1 and its message."""
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        infos, out = run(args)
    except GestureError as exc:
        parser.exit(1, f"error: {exc}\n")
    for i in infos:
        print(f"{i.clip_id}: {i.n_frames} frames ({i.duration:.3f} s)")
    print(f"{len(infos)} clip(s), {sum(i.duration for i in infos):.1f} s -> {out}")
    return 0


def speech_and_alignment(
    motion_path: Path, wav_path: Path | None, textgrid_path: Path | None
) -> tuple[np.ndarray, list[Word], list[fmt.Phone]]:
    """The speech (16 kHz mono) and the alignment (words, phones) of a take.

    ``wav_path`` None: the ``.wav`` beside the motion file. ``textgrid_path`` None: the
    ``.TextGrid`` beside it if it exists, else no words.
    """
    from ..speech.audio_io import load_audio
    from . import textgrid

    wav_path = wav_path if wav_path is not None else motion_path.with_suffix(".wav")
    if not wav_path.is_file():
        raise DataError(f"{wav_path}: speech file not found (give WAV explicitly)")
    if textgrid_path is None and motion_path.with_suffix(".TextGrid").is_file():
        textgrid_path = motion_path.with_suffix(".TextGrid")
    words: list[Word] = []
    phones: list[fmt.Phone] = []
    if textgrid_path is not None:
        words, phones = textgrid.read_words(textgrid_path), textgrid.read_phones(textgrid_path)
        log.info("%s: %d words, %d phones", textgrid_path.name, len(words), len(phones))
    return load_audio(wav_path), words, phones
