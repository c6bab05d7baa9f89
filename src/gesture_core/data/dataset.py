"""Training windows cut from a dataset directory (see :mod:`.format`), as numpy arrays.

Each item is one window of ``n_frames`` poses (34 for the Trimodal model) starting every
``stride`` frames (10) in every clip that is long enough, with

- ``"poses"``: (34, 27) float32 unit bone directions (the model subtracts its own mean);
- ``"audio"``: (36266,) float32, ``int(34 / 15 * 16000)`` samples of 16 kHz speech from the
  window start (sample ``round(start_frame * 16000 / 15)``), zero-padded past the clip's end;
- ``"text"``: (34,) int64 word ids: each word overlapping the window at frame
  ``max(0, floor((word.start - window_start) / (window_duration / 34)))``, 0 (PAD) elsewhere;
  all 0 without a vocabulary;
- ``"speaker"``: int64 speaker id (``speakers[clip.speaker_id]``; by default 1..S in sorted order
  of the speaker names, 0 unused, as in the Trimodal speaker vocabulary);
- ``"clip"``, ``"start_frame"``: int64 index of the clip in :attr:`GestureWindows.clips` and of the
  window's first frame (to trace an item back to its source).

:class:`TorchWindows` wraps it for ``torch.utils.data.DataLoader`` (torch is imported only there).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..contracts import Word
from ..errors import DataError
from . import format as fmt

log = logging.getLogger(__name__)


class WordLookup(Protocol):
    """What the dataset needs of a vocabulary (e.g. :class:`gesture_core.vocab.Vocab`)."""

    def lookup(self, word: str) -> int:
        """Token id of ``word`` (normalised), UNK if unknown."""
        ...


@dataclass(frozen=True)
class WindowSpec:
    """Window length and stride in 15 fps frames."""

    n_frames: int = 34
    stride: int = 10

    def __post_init__(self) -> None:
        if self.n_frames < 1:
            raise DataError(f"window n_frames must be >= 1, got {self.n_frames}")
        if self.stride < 1:
            raise DataError(f"window stride must be >= 1, got {self.stride}")

    @property
    def duration(self) -> float:
        """Window length in seconds."""
        return self.n_frames / fmt.FPS

    @property
    def audio_samples(self) -> int:
        """Audio samples per window: ``int(n_frames / 15 * 16000)`` (36266 for 34 frames)."""
        return int(self.n_frames / fmt.FPS * fmt.SAMPLE_RATE)

    def starts(self, clip_frames: int) -> range:
        """First frames of the windows of a clip of ``clip_frames`` frames (none if it is too short)."""
        return range(0, clip_frames - self.n_frames + 1, self.stride)


def place_words(words: list[Word], window_start: float, n_frames: int, duration: float, lookup: WordLookup) -> np.ndarray:
    """Word ids per frame of a window starting at ``window_start`` s and lasting ``duration`` s.

    Returns (n_frames,) int64: a word overlapping the window (``start < window end`` and
    ``end > window_start``) goes to frame ``max(0, floor((start - window_start) / (duration / n_frames)))``;
    a later word at the same frame overwrites an earlier one; frames without a word are 0 (PAD).
    """
    ids = np.zeros(n_frames, dtype=np.int64)
    frame_duration = duration / n_frames
    for w in words:
        if w.start >= window_start + duration or w.end <= window_start:
            continue
        frame = max(0, int(np.floor((w.start - window_start) / frame_duration)))
        if frame < n_frames:
            ids[frame] = lookup.lookup(w.word)
    return ids


class GestureWindows:
    """Map-style dataset of windows over every clip of the dataset at ``root``.

    ``vocab``: word -> id lookup for ``"text"`` (None: all PAD). ``speakers``: speaker name -> id
    (None: 1..S by sorted name). Clip headers are checked on construction; each window's values
    when it is read.
    """

    def __init__(
        self,
        root: str | Path,
        vocab: WordLookup | None = None,
        speakers: Mapping[str, int] | None = None,
        spec: WindowSpec = WindowSpec(),
    ):
        self.root = Path(root)
        self.spec = spec
        self.vocab = vocab
        self.clips = [fmt.open_clip(self.root, info) for info in fmt.read_manifest(self.root)]
        names = sorted({c.info.speaker_id for c in self.clips})
        self.speakers = dict(speakers) if speakers is not None else {name: i + 1 for i, name in enumerate(names)}
        missing = [name for name in names if name not in self.speakers]
        if missing:
            raise DataError(f"speakers: no id for speaker(s) {missing} of dataset {self.root}")
        self.windows = [(c, s) for c, clip in enumerate(self.clips) for s in spec.starts(clip.info.n_frames)]
        short = sum(1 for clip in self.clips if clip.info.n_frames < spec.n_frames)
        if short:
            log.info("%d of %d clips are shorter than a window (%d frames) and give no window", short, len(self.clips), spec.n_frames)
        log.info("dataset %s: %d clips, %d speakers, %d windows", self.root, len(self.clips), len(names), len(self.windows))

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"window {index} out of range 0..{len(self) - 1}")
        clip_index, start = self.windows[index]
        clip = self.clips[clip_index]
        n = self.spec.n_frames
        poses = fmt.check_poses(clip.read_poses(start, start + n), clip.info.clip_id, first_frame=start)
        audio = clip.read_audio(fmt.expected_audio_samples(start), self.spec.audio_samples)
        if self.vocab is None:
            text = np.zeros(n, dtype=np.int64)
        else:
            text = place_words(clip.words, start / fmt.FPS, n, self.spec.duration, self.vocab)
        return {
            "poses": poses,
            "audio": audio,
            "text": text,
            "speaker": np.int64(self.speakers[clip.info.speaker_id]),
            "clip": np.int64(clip_index),
            "start_frame": np.int64(start),
        }


class TorchWindows:
    """:class:`GestureWindows` items as torch tensors, for ``torch.utils.data.DataLoader``.

    Imports torch on construction only, so the data package works without it.
    """

    def __init__(self, windows: GestureWindows):
        import torch

        self._torch = torch
        self.windows = windows

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {key: self._torch.as_tensor(value) for key, value in self.windows[index].items()}
