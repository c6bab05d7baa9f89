"""Generate gestures while the speech is still coming in.

Two APIs:

- :class:`UtteranceStream` (streaming generation, issue #15): a node pushes the audio (and timed
  words, as they become known) of one utterance chunk by chunk and pulls the frames that are
  *final*: frames that never change again. Frames are made final in hops of ``hop_s`` on the
  utterance's frame grid; a hop is generated once the audio reaches ``lookahead_s`` beyond it, from
  exactly that audio (never more), so the output depends only on the audio and words, not on how
  they were chunked, and a final frame never depends on audio more than ``lookahead_s`` after it.
  Each hop's frames are cross-faded (minimum-jerk weights over ``crossfade_s``) from the frames the
  previous hop generated beyond its own (or, where there are none, a damped continuation of the
  last final frames' motion): consecutive hops join without a jump in pose or velocity. Lexicon and
  markup gestures are placed once each on the utterance's absolute timeline, as their words become
  known (:meth:`~gesture_core.gestures.layer.GestureLayer.place_known`), and rendered slice by slice.
  A backend generates a hop either itself (``stream_replans``: the procedural generator re-plans
  the utterance so far -- at most ``history_s`` of it -- with the placed gestures) or through its
  ordinary ``generate`` on the audio from the hop on, seeded with the last 4 final frames (the
  learned backends). A backend says the lookahead it needs by default in ``stream_lookahead_s``
  (``docs/streaming.md``).
- :class:`GestureStream` (the generator node's windowed path for live speech): the utterance in
  2 s windows, each generated once its audio is complete, seeded with the previous window's last
  frames.

In detail, :class:`GestureStream` cuts the utterance into windows of ``window_frames`` frames (30 =
2 s at 15 fps) on the utterance's frame grid and generates each as soon as its audio is complete, passing
the last 4 frames of the previous window as ``seed_poses`` so consecutive windows join smoothly.
Window ``i`` covers frames ``[30 i, 30 i + 30)``, i.e. audio samples ``[32000 i, 32000 (i + 1))``;
the last window covers whatever audio remains when the utterance ends. Concatenated, the windows
have exactly the frames a whole-utterance generation would have (``ceil(duration * 15)``).

Each window's features are computed here with ``context_s`` of audio before the window (then
cropped to the window), so an onset detector does not mistake the window's first sample for an
onset. Words (times from the utterance start) are shifted to the window's time axis.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from collections.abc import Iterator
from typing import TYPE_CHECKING

import numpy as np

from .. import skeleton
from ..contracts import AUDIO_SAMPLE_RATE, GESTURE_FPS, AudioFeatures, Word
from ..errors import ConfigError, ContractError
from ..features import FeatureConfig, extract_features, join_features
from .base import GestureGenerator, SpeechInput, Style

if TYPE_CHECKING:
    from ..gestures.layer import GestureLayer, PlacedGesture

log = logging.getLogger(__name__)

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


# ------------------------------------------------------------------------ streaming generation

#: Lookahead (s) of a backend that does not say what it needs (``stream_lookahead_s``).
DEFAULT_LOOKAHEAD_S = 1.0
#: Per-frame damping of the velocity with which the last final frames are continued where no
#: generated frames are there to cross-fade from (0.7: the motion comes to a stop within ~0.3 s).
CONTINUATION_DAMPING = 0.7


@dataclass(frozen=True)
class StreamConfig:
    """Settings of :class:`UtteranceStream`. Times in seconds, rounded to whole frames (1/15 s).

    - ``hop_s``: frames made final per step (the output's granularity; at least one frame);
    - ``lookahead_s``: audio beyond a hop it waits for (None: the backend's ``stream_lookahead_s``);
    - ``crossfade_s``: how long a hop's frames take to blend in from what came before;
    - ``context_s``: audio before each new segment used for its features (onsets need some);
    - ``max_late_s``: a lexicon gesture whose words come too late to prepare it is played up to
      this much later than planned, else dropped;
    - ``history_s``: a re-planning generator (procedural) plans from at most about this much
      speech before the hop (a window that starts on multiples of half of it), so a hop's cost
      does not grow with the utterance.
    """

    hop_s: float = 0.4
    lookahead_s: float | None = None
    crossfade_s: float = 0.4
    context_s: float = 0.5
    max_late_s: float = 0.5
    history_s: float = 10.0

    def __post_init__(self) -> None:
        if not 1.0 / GESTURE_FPS - 1e-9 <= self.hop_s <= 5.0:
            raise ConfigError(f"stream.hop_s must be in [1/{GESTURE_FPS:g}, 5] s, got {self.hop_s}")
        if self.lookahead_s is not None and not 0.0 <= self.lookahead_s <= 10.0:
            raise ConfigError(f"stream.lookahead_s must be in [0, 10] s or None, got {self.lookahead_s}")
        for name in ("crossfade_s", "context_s", "max_late_s"):
            if not 0.0 <= getattr(self, name) <= 10.0:
                raise ConfigError(f"stream.{name} must be in [0, 10] s, got {getattr(self, name)}")
        if not 2.0 <= self.history_s <= 600.0:
            raise ConfigError(f"stream.history_s must be in [2, 600] s, got {self.history_s}")

    @property
    def hop_frames(self) -> int:
        return max(1, round(self.hop_s * GESTURE_FPS))


@dataclass(frozen=True)
class FrameChunk:
    """Final frames of an utterance: frame ``first_frame + k`` is ``poses[k]`` ((n, 27) unit bone
    directions, TED axes, 15 fps); ``strokes``: ``(time s, label)`` of the planned strokes whose
    target lies in these frames (``"beat"`` or a lexicon gesture's name), in time order."""

    first_frame: int
    poses: np.ndarray
    strokes: tuple[tuple[float, str], ...] = ()

    @property
    def stop_frame(self) -> int:
        return self.first_frame + len(self.poses)


def stream_lookahead(generator: GestureGenerator) -> float:
    """The lookahead (s) ``generator`` needs when streamed: its ``stream_lookahead_s``, else
    :data:`DEFAULT_LOOKAHEAD_S`."""
    value = getattr(generator, "stream_lookahead_s", DEFAULT_LOOKAHEAD_S)
    return float(value) if isinstance(value, (int, float)) else DEFAULT_LOOKAHEAD_S


def frame_sample(frame: int) -> int:
    """First audio sample of ``frame`` (16 kHz, 15 fps)."""
    return round(frame * AUDIO_SAMPLE_RATE / GESTURE_FPS)


def segment_features(audio: np.ndarray, a: int, b: int, utterance_id: str, context_s: float) -> AudioFeatures:
    """Features of samples ``[a, b)`` of ``audio`` on the utterance's time axis, computed with
    ``context_s`` of audio before ``a``: the frames centred in ``[a, b)``, the onsets and beats
    that round into them (see :func:`~gesture_core.features.join_features` to join segments)."""
    ctx = max(0, a - int(context_s * AUDIO_SAMPLE_RATE))
    f = extract_features(audio[ctx:b], utterance_id, offset_samples=ctx, final=False)
    t_a, t_b = a / AUDIO_SAMPLE_RATE, b / AUDIO_SAMPLE_RATE
    times = f.frame_times()
    keep = np.flatnonzero((times >= t_a - 1e-9) & (times < t_b - 1e-9))
    i0, i1 = (int(keep[0]), int(keep[-1]) + 1) if keep.size else (0, 0)
    half = 0.5 / f.frame_rate

    def events(t: np.ndarray) -> np.ndarray:
        return t[(t >= t_a - half) & (t < t_b - half)]

    return AudioFeatures(
        utterance_id=f.utterance_id,
        frame_rate=f.frame_rate,
        t0=float(times[i0]) if keep.size else t_a,
        log_mel=f.log_mel[i0:i1],
        onset_strength=f.onset_strength[i0:i1],
        rms=f.rms[i0:i1],
        f0_hz=f.f0_hz[i0:i1],
        onsets=events(f.onsets),
        beats=events(f.beats),
        final=False,
    )


def live_chunks(
    audio: np.ndarray, words: list[Word], chunk_s: float = 0.1
) -> Iterator[tuple[np.ndarray, list[Word]]]:
    """``audio`` (N,) at 16 kHz as it would arrive live, in chunks of ``chunk_s``, each with the
    ``words`` whose audio it completes (as ASR words come; the words that end beyond the audio come
    with the last chunk): what an :class:`UtteranceStream` is fed by an offline caller."""
    step = max(1, round(chunk_s * AUDIO_SAMPLE_RATE))
    pending = sorted(words, key=lambda w: w.start)
    for i in range(0, audio.size, step):
        last = i + step >= audio.size
        known = [w for w in pending if last or w.end * AUDIO_SAMPLE_RATE <= i + step]
        pending = pending[len(known) :]
        yield audio[i : i + step], known


class UtteranceStream:
    """Streaming generation of one utterance (see the module docstring).

    ``generator``: any backend, with or without the gesture layer (a
    :class:`~gesture_core.gestures.layer.LayeredGenerator` or a generator with its own ``layer``:
    its gestures are placed here, once each); ``style``; ``utterance_id`` names the features;
    ``config``: :class:`StreamConfig`.

    Per audio chunk: :meth:`push_audio` (and :meth:`push_words` for words that became known),
    then :meth:`pull` for the frames that became final; at the end of the utterance :meth:`end`
    returns the rest. Frame ``k`` is at ``k / 15`` s after the utterance's first audio sample.
    """

    def __init__(
        self,
        generator: GestureGenerator,
        style: Style,
        utterance_id: str = "stream",
        config: StreamConfig | None = None,
    ):
        self.config = config or StreamConfig()
        self.style = style
        self.utterance_id = utterance_id
        self.layer: GestureLayer | None = getattr(generator, "layer", None)
        # the layer is applied here on the absolute timeline, not per call by a wrapper
        self.generator: GestureGenerator = getattr(generator, "backend", generator)
        lookahead = self.config.lookahead_s
        if lookahead is None:
            lookahead = stream_lookahead(generator)
        self.lookahead_frames = round(lookahead * GESTURE_FPS)
        self._audio = np.zeros(0, dtype=np.float32)
        self._words: list[Word] = []
        self._features: list[AudioFeatures] = []
        self._feature_frame = 0  # features cover frames [0, _feature_frame)
        self._done = 0  # frames final
        self._tentative = np.zeros((0, skeleton.POSE_DIM))  # generated beyond the final frames
        self._final: list[np.ndarray] = []  # final frames not pulled yet
        self._pulled = 0
        self._strokes: list[tuple[float, str]] = []
        self._placed: list[PlacedGesture] = []
        self._decided = 0
        self._tail = np.zeros((0, skeleton.POSE_DIM))  # the last final frames (velocity, seeds)
        self.ended = False

    @property
    def lookahead_s(self) -> float:
        return self.lookahead_frames / GESTURE_FPS

    @property
    def frames_final(self) -> int:
        """Frames made final so far (pulled or not)."""
        return self._done

    @property
    def placed_gestures(self) -> list[PlacedGesture]:
        """The lexicon gestures placed so far (absolute times)."""
        return list(self._placed)

    # -- input ------------------------------------------------------------------------------------

    def push_audio(self, samples: np.ndarray) -> None:
        """Append the next chunk of the utterance's audio: (N,) float waveform at 16 kHz."""
        if self.ended:
            raise ContractError(f"utterance {self.utterance_id!r} has ended: no more audio")
        chunk = np.asarray(samples, dtype=np.float32).ravel()
        if not np.all(np.isfinite(chunk)):
            raise ContractError("streamed audio contains NaN or inf")
        self._audio = np.concatenate([self._audio, chunk])

    def push_words(self, words: list[Word]) -> None:
        """Append words that became known (times s from the utterance's first sample, after the
        words pushed before; markup fields as :class:`~gesture_core.contracts.Word` has them)."""
        if self.ended:
            raise ContractError(f"utterance {self.utterance_id!r} has ended: no more words")
        for w in words:
            if self._words and w.start < self._words[-1].start - 1e-9:
                raise ContractError(
                    f"word {w.word!r} at {w.start:.3f} s comes before the word pushed before it "
                    f"({self._words[-1].word!r} at {self._words[-1].start:.3f} s): push words in time order"
                )
            self._words.append(w)

    # -- output -----------------------------------------------------------------------------------

    def pull(self) -> FrameChunk | None:
        """The frames that became final since the last pull (None: none yet)."""
        hop = self.config.hop_frames
        while not self.ended and self._audio.size >= frame_sample(self._done + hop + self.lookahead_frames):
            self._step(self._done + hop, self._done + hop + self.lookahead_frames)
        return self._take()

    def end(self) -> FrameChunk | None:
        """The utterance is complete: generate and return every frame not returned yet (the whole
        audio is known now, so the last hop uses all of it). None when nothing is left."""
        if not self.ended:
            hop = self.config.hop_frames
            while self._audio.size >= frame_sample(self._done + hop + self.lookahead_frames):
                self._step(self._done + hop, self._done + hop + self.lookahead_frames)
            self.ended = True
            n_total = max(1, int(np.ceil(self._audio.size * GESTURE_FPS / AUDIO_SAMPLE_RATE)))
            if self._done < n_total and self._audio.size:
                self._step(n_total, n_total)
        return self._take()

    def _take(self) -> FrameChunk | None:
        if not self._final:
            return None
        poses = np.concatenate(self._final)
        first = self._pulled
        self._final, self._pulled = [], first + len(poses)
        strokes, self._strokes = tuple(sorted(self._strokes)), []
        return FrameChunk(first, poses, strokes)

    # -- one hop ----------------------------------------------------------------------------------

    def _step(self, stop: int, frontier: int) -> None:
        """Make frames ``[done, stop)`` final from the audio up to frame ``frontier``."""
        end_sample = min(frame_sample(frontier), self._audio.size)
        audio = self._audio[:end_sample]
        features = self._features_until(audio, frontier) if self._needs_features() else None
        t_done, t_known = self._done / GESTURE_FPS, end_sample / AUDIO_SAMPLE_RATE
        if self.layer is not None and self._words:
            new, self._decided = self.layer.place_known(
                self._words, features, self.style, self._placed, self._decided,
                t_known, t_done, self.config.max_late_s,
            )  # fmt: skip
            self._placed = sorted(self._placed + new, key=lambda p: p.time)
        words = [w for w in self._words if w.start < t_known]
        poses, strokes = self._generate(audio, words, features, frontier)
        out = self._spliced(poses)
        n_final = stop - self._done
        final, self._tentative = out[:n_final], out[n_final:]
        self._final.append(final)
        self._tail = np.concatenate([self._tail, final])[-N_SEED:]
        t_stop = float("inf") if self.ended else stop / GESTURE_FPS
        self._strokes += [(t, lab) for t, lab in strokes if t_done - 1e-9 <= t < t_stop]
        self._done = stop

    def _needs_features(self) -> bool:
        """Features are computed for a generator that plans from them (procedural) and for the
        layer when a word has no stressed syllable to anchor its gesture (ASR words); a learned
        backend computes its own from the audio."""
        if getattr(self.generator, "stream_replans", False):
            return True
        return self.layer is not None and any(w.stress is None for w in self._words[self._decided :])

    def _features_until(self, audio: np.ndarray, frontier: int) -> AudioFeatures | None:
        """Features of frames ``[0, frontier)``: the segments not analysed yet, each with
        ``context_s`` of audio before it, joined to those before (None: too little audio yet)."""
        a, end_sample = frame_sample(self._feature_frame), audio.size
        if end_sample - max(0, a - int(self.config.context_s * AUDIO_SAMPLE_RATE)) >= FeatureConfig().hop:
            part = segment_features(audio, a, end_sample, self.utterance_id, self.config.context_s)
            self._features.append(part)
            self._feature_frame = frontier
        parts = [f for f in self._features if f.n_frames]
        return join_features(parts, final=self.ended) if parts else None

    def _generate(
        self, audio: np.ndarray, words: list[Word], features: AudioFeatures | None, frontier: int
    ) -> tuple[np.ndarray, list[tuple[float, str]]]:
        """Poses (frontier - done, 27) for frames ``[done, frontier)`` and planned strokes (absolute s)."""
        done = self._done
        if getattr(self.generator, "stream_replans", False):
            # a generator that plans with the gestures itself (procedural): the utterance so far,
            # from the start of the history window on
            half = max(1, round(self.config.history_s * GESTURE_FPS / 2))
            w0 = max(0, (done - half) // half * half)
            t0 = w0 / GESTURE_FPS
            speech = SpeechInput(
                audio[frame_sample(w0) :],
                [_shift_word(w, t0) for w in words if w.end > t0],
                _cropped_features(features, t0) if features is not None and w0 else features,
            )
            gestures = [replace(p, time=p.time - t0) for p in self._placed]
            result = self.generator.generate_with_strokes(speech, self.style, None, gestures=gestures)
            poses = np.asarray(result.poses)[done - w0 : frontier - w0]
            return _padded(poses, frontier - done), [(t + t0, label) for t, label in result.strokes]
        t0 = done / GESTURE_FPS
        seg = audio[frame_sample(done) :]
        if seg.size == 0:
            seg = np.zeros(1, dtype=np.float32)
        shifted = [_shift_word(w, t0) for w in words if w.end > t0]
        seed = self._tail if len(self._tail) == N_SEED else None
        poses = np.asarray(self.generator.generate(SpeechInput(seg, shifted), self.style, seed))
        poses = _padded(poses[: frontier - done], frontier - done)
        strokes: list[tuple[float, str]] = []
        if self.layer is not None and (self._placed or any(w.suppress for w in shifted)):
            local = [replace(p, time=p.time - t0) for p in self._placed]
            poses = self.layer.apply(poses, shifted, local)
            strokes = [(p.time, p.name) for p in self._placed]
        return poses, strokes

    def _spliced(self, new: np.ndarray) -> np.ndarray:
        """``new`` (n, 27) frames from ``done`` on, cross-faded in from what continues the final
        frames: the previous hop's frames beyond them, then their damped motion."""
        n = len(new)
        if not len(self._tail):
            return skeleton.normalize_directions(new)
        from ..gestures.layer import minimum_jerk  # gestures.layer imports this package

        from ..gestures.layer import minimum_jerk  # gestures.layer imports this package

        prev = self._continuation(n)
        m = min(n, max(1, round(self.config.crossfade_s * GESTURE_FPS)))
        w = np.ones(n)
        from ..gestures.layer import minimum_jerk

        w[:m] = minimum_jerk((np.arange(m) + 1.0) / (m + 1.0))
        return skeleton.normalize_directions(prev * (1.0 - w)[:, None] + new * w[:, None])

    def _continuation(self, n: int) -> np.ndarray:
        """(n, 27): the previous hop's frames beyond the final ones, continued by their damped motion."""
        have = np.concatenate([self._tail, self._tentative[:n]])
        k = len(self._tentative[:n])
        if k >= n:
            return self._tentative[:n]
        last = have[-1]
        vel = have[-1] - have[-2] if len(have) > 1 else np.zeros_like(last)
        gains = np.cumsum(CONTINUATION_DAMPING ** np.arange(1, n - k + 1))
        extra = skeleton.normalize_directions(last + gains[:, None] * vel)
        return np.concatenate([self._tentative[:n], extra])


def _cropped_features(f: AudioFeatures, t0: float) -> AudioFeatures:
    """``f`` from ``t0`` s on, on a time axis starting there (frames, onsets and beats)."""
    times = f.frame_times()
    i0 = int(np.searchsorted(times, t0 - 1e-9))
    return replace(
        f,
        t0=float(times[i0] - t0) if i0 < f.n_frames else 0.0,
        log_mel=f.log_mel[i0:],
        onset_strength=f.onset_strength[i0:],
        rms=f.rms[i0:],
        f0_hz=f.f0_hz[i0:],
        onsets=f.onsets[f.onsets >= t0] - t0,
        beats=f.beats[f.beats >= t0] - t0,
    )


def _padded(poses: np.ndarray, n: int) -> np.ndarray:
    """``poses`` (m, 27) cut or padded (last frame held) to n frames."""
    poses = np.asarray(poses, dtype=np.float64)[:n]
    if len(poses) < n:
        poses = np.concatenate([poses, np.repeat(poses[-1:], n - len(poses), axis=0)])
    return poses
