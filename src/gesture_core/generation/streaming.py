"""Generate an utterance window by window while its audio is still coming in (live speech).

:class:`GestureStream` cuts the utterance into windows of ``window_frames`` frames (30 = 2 s at
15 fps) on the utterance's frame grid and generates each as soon as its audio is complete, passing
the last 4 frames of the previous window as ``seed_poses`` so consecutive windows join smoothly.
Window ``i`` covers frames ``[30 i, 30 i + 30)``, i.e. audio samples ``[32000 i, 32000 (i + 1))``;
the last window covers whatever audio remains when the utterance ends. Concatenated, the windows
have exactly the frames a whole-utterance generation would have (``ceil(duration * 15)``).

Each window's features are computed here with ``context_s`` of audio before the window (then
cropped to the window), so an onset detector does not mistake the window's first sample for an
onset. Words (times from the utterance start) are shifted to the window's time axis.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..contracts import AUDIO_SAMPLE_RATE, GESTURE_FPS, AudioFeatures, Word
from ..errors import ConfigError
from ..features import extract_features
from .base import GestureGenerator, SpeechInput, Style

#: Seed frames carried from one window into the next (as the Trimodal model uses).
N_SEED = 4


@dataclass
class Window:
    """Poses of one window: frame ``first_frame + k`` of the utterance is ``poses[k]`` (n, 27)."""

    first_frame: int
    poses: np.ndarray


@dataclass
class GestureStream:
    """Windowed generation of one utterance; see the module docstring.

    ``generator``, ``style``: what generates; ``utterance_id`` names the features;
    ``window_frames``: frames per window (a multiple of 15 frames keeps windows on whole samples);
    ``context_s``: audio before a window used for its features (s).
    """

    generator: GestureGenerator
    style: Style
    utterance_id: str
    window_frames: int = 30
    context_s: float = 0.5
    frames_done: int = field(default=0, init=False)
    _seed: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        samples = self.window_frames * AUDIO_SAMPLE_RATE / GESTURE_FPS
        if self.window_frames < N_SEED or samples != int(samples):
            raise ConfigError(
                f"window_frames={self.window_frames} must be >= {N_SEED} and span whole audio samples"
            )
        if not 0.0 <= self.context_s <= 10.0:
            raise ConfigError(f"context_s must be in [0, 10] s, got {self.context_s}")

    @staticmethod
    def frame_sample(frame: int) -> int:
        """First audio sample of ``frame`` (frames start on whole samples at window boundaries)."""
        return round(frame * AUDIO_SAMPLE_RATE / GESTURE_FPS)

    def pending(self, n_samples: int) -> bool:
        """True when ``n_samples`` of audio complete the next window."""
        return n_samples >= self.frame_sample(self.frames_done + self.window_frames)

    def next_window(self, audio: np.ndarray, words: list[Word] | None = None) -> Window:
        """Generate the next full window from ``audio``, the utterance so far ((N,) at 16 kHz).

        Call it while :meth:`pending` is true. If the generator raises, nothing changes: the same
        window can be generated again (e.g. by another generator).
        """
        if not self.pending(audio.size):
            raise ConfigError(
                f"window at frame {self.frames_done} needs more audio than {audio.size} samples"
            )
        return self._generate(audio, self.frames_done + self.window_frames, words or [])

    def finish(self, audio: np.ndarray, words: list[Word] | None = None) -> Window | None:
        """Generate the last, partial window once the utterance has ended; None if nothing is left."""
        start = self.frame_sample(self.frames_done)
        if audio.size <= start:
            return None
        n_total = max(1, int(np.ceil(audio.size * GESTURE_FPS / AUDIO_SAMPLE_RATE)))
        return self._generate(audio, n_total, words or [])

    def _generate(self, audio: np.ndarray, stop_frame: int, words: list[Word]) -> Window:
        first = self.frames_done
        a, b = self.frame_sample(first), min(self.frame_sample(stop_frame), audio.size)
        t0 = a / AUDIO_SAMPLE_RATE
        shifted = [_shift_word(w, t0) for w in words if w.end > t0 and w.start < b / AUDIO_SAMPLE_RATE]
        features = self._window_features(audio, a, b)
        poses = self.generator.generate(SpeechInput(audio[a:b], shifted, features), self.style, self._seed)
        poses = poses[: stop_frame - first]
        self._seed = poses[-N_SEED:] if len(poses) >= N_SEED else None
        self.frames_done = first + len(poses)
        return Window(first, poses)

    def _window_features(self, audio: np.ndarray, a: int, b: int) -> AudioFeatures:
        """Features of samples ``[a, b)`` computed with context before ``a``, on the window's time axis."""
        ctx = max(0, a - int(self.context_s * AUDIO_SAMPLE_RATE))
        f = extract_features(audio[ctx:b], self.utterance_id, offset_samples=ctx, final=False)
        t_start, t_stop = a / AUDIO_SAMPLE_RATE, b / AUDIO_SAMPLE_RATE
        keep = f.frame_times() >= t_start - 1e-9
        i0 = int(np.argmax(keep)) if keep.any() else f.n_frames
        # Event times belong to the window whose frames they round to; the audio's cut at ``b``
        # looks like an onset to the detector and is dropped with the rest of the next window's.
        half_frame = 0.5 / f.frame_rate

        def events(times: np.ndarray) -> np.ndarray:
            return times[(times >= t_start - half_frame) & (times < t_stop - half_frame)] - t_start

        return AudioFeatures(
            utterance_id=f.utterance_id,
            frame_rate=f.frame_rate,
            t0=float(f.frame_times()[i0] - t_start) if i0 < f.n_frames else 0.0,
            log_mel=f.log_mel[i0:],
            onset_strength=f.onset_strength[i0:],
            rms=f.rms[i0:],
            f0_hz=f.f0_hz[i0:],
            onsets=events(f.onsets),
            beats=events(f.beats),
            final=False,
        )


def _shift_word(w: Word, t0: float) -> Word:
    """``w`` on a window's time axis starting at ``t0`` (s); a stressed syllable before the window
    is not this window's (stress None), markup fields are kept."""
    stress = None if w.stress is None or w.stress < t0 else w.stress - t0
    return replace(w, start=max(0.0, w.start - t0), end=w.end - t0, stress=stress)
