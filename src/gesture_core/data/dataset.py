"""Training windows cut from a dataset directory (see :mod:`.format`), as numpy arrays.

Each item is one window of ``spec.n_poses`` poses (34 for the Trimodal model; the window geometry
and word placement are those of :mod:`gesture_core.generation.windows`, shared with inference) starting
every ``stride`` frames (10) in every clip that is long enough, with

- ``"poses"``: (34, 27) float32 unit bone directions, TED axes, as stored (not mean-centred: the
  trainer subtracts the model's ``mean_dir_vec`` before the losses and ``training_loss``);
- ``"audio"``: (36266,) float32, ``int(34 / 15 * 16000)`` samples of 16 kHz speech from the
  window start (sample ``round(start_frame * 16000 / 15)``), zero-padded past the clip's end;
- ``"text"``: (34,) int64 word ids (:func:`~gesture_core.generation.windows.window_text_ids`):
  each word overlapping the window at frame ``max(0, floor((word.start - window_start) / (1/15 s)))``,
  0 (PAD) elsewhere; all 0 without a vocabulary;
- ``"speaker"``: int64 speaker id (``speakers[clip.speaker_id]``; by default 1..S in sorted order
  of the speaker names, 0 unused, as in the Trimodal speaker vocabulary);
- ``"clip"``, ``"start_frame"``: int64 index of the clip in :attr:`GestureWindows.clips` and of the
  window's first frame (to trace an item back to its source).

:class:`TorchWindows` wraps it for ``torch.utils.data.DataLoader`` (torch is imported only there).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import DataError
from ..generation.windows import TimedToken, WindowSpec, window_text_ids
from . import format as fmt

log = logging.getLogger(__name__)


class WordLookup(Protocol):
    """What the dataset needs of a vocabulary (e.g. :class:`gesture_core.vocab.Vocab`)."""

    def lookup(self, word: str) -> int:
        """Token id of ``word`` (normalised), UNK if unknown."""
        ...


#: Training stride (frames between window starts), as the Trimodal training data.
TRAIN_STRIDE = 10


class GestureWindows:
    """Map-style dataset of windows over every clip of the dataset at ``root``.

    ``vocab``: word -> id lookup for ``"text"`` (None: all PAD). ``speakers``: speaker name -> id
    (None: 1..S by sorted name). ``spec``: window geometry (None: 34 frames at 15 fps).
    ``stride``: frames between window starts. Clip headers are checked on construction; each
    window's values when it is read.
    """

    def __init__(
        self,
        root: str | Path,
        vocab: WordLookup | None = None,
        speakers: Mapping[str, int] | None = None,
        spec: WindowSpec | None = None,
        stride: int = TRAIN_STRIDE,
    ):
        spec = spec or WindowSpec()
        if stride < 1:
            raise DataError(f"window stride must be >= 1, got {stride}")
        if spec.fps != fmt.FPS or spec.sample_rate != fmt.SAMPLE_RATE:
            raise DataError(
                f"window spec: fps {spec.fps} / sample_rate {spec.sample_rate}, "
                f"the data has {fmt.FPS} / {fmt.SAMPLE_RATE}"
            )
        self.root = Path(root)
        self.spec = spec
        self.clips = [fmt.open_clip(self.root, info) for info in fmt.read_manifest(self.root)]
        # words as token ids, looked up once (None without a vocabulary)
        self.tokens = [
            [TimedToken(vocab.lookup(w.word), w.start, w.end) for w in clip.words]
            if vocab is not None
            else None
            for clip in self.clips
        ]
        names = sorted({c.info.speaker_id for c in self.clips})
        self.speakers = (
            dict(speakers) if speakers is not None else {name: i + 1 for i, name in enumerate(names)}
        )
        missing = [name for name in names if name not in self.speakers]
        if missing:
            raise DataError(f"speakers: no id for speaker(s) {missing} of dataset {self.root}")
        n = spec.n_poses
        self.windows = [
            (c, s) for c, clip in enumerate(self.clips) for s in range(0, clip.info.n_frames - n + 1, stride)
        ]
        short = sum(1 for clip in self.clips if clip.info.n_frames < n)
        if short:
            log.info(
                "%d of %d clips are shorter than a window (%d frames) and give no window",
                short,
                len(self.clips),
                n,
            )
        log.info(
            "dataset %s: %d clips, %d speakers, %d windows",
            self.root,
            len(self.clips),
            len(names),
            len(self.windows),
        )

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> dict[str, np.ndarray]:
        if not -len(self) <= index < len(self):
            raise IndexError(f"window {index} out of range 0..{len(self) - 1}")
        clip_index, start = self.windows[index]
        clip = self.clips[clip_index]
        n = self.spec.n_poses
        poses = fmt.check_poses(clip.read_poses(start, start + n), clip.info.clip_id, first_frame=start)
        audio = clip.read_audio(fmt.expected_audio_samples(start), self.spec.audio_samples)
        tokens = self.tokens[clip_index]
        text = (
            np.zeros(n, dtype=np.int64)
            if tokens is None
            else window_text_ids(tokens, start / fmt.FPS, self.spec)
        )
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
