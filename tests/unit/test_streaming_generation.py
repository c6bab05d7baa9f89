"""Streaming generation (:class:`~gesture_core.generation.streaming.UtteranceStream`): final frames
depend only on the audio up to their lookahead and not on how it was chunked, hops join without a
jump in pose or velocity for every backend, and lexicon gestures are placed once, on time, whether
their words come before or with the audio."""

from __future__ import annotations

import numpy as np
import pytest

from gesture_core.contracts import AUDIO_SAMPLE_RATE as SR
from gesture_core.contracts import GESTURE_FPS as FPS
from gesture_core.contracts import Word
from gesture_core.errors import ConfigError, ContractError
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.generation.factory import make_generator
from gesture_core.generation.streaming import FrameChunk, StreamConfig, UtteranceStream, stream_lookahead
from gesture_core.gestures.body import part_mask
from gesture_core.gestures.layer import gesture_parts, with_gesture_layer

WORDS = [
    Word("so", 0.5, 0.8, stress=0.6),
    Word("hello", 1.5, 2.0, stress=1.7),
    Word("everyone", 2.1, 2.7, stress=2.2),
    Word("really", 3.1, 3.5, stress=3.2),
]


@pytest.fixture(scope="module")
def audio(speech_with_clicks) -> np.ndarray:
    return speech_with_clicks(4.0, speech=(0.3, 3.8), clicks=(0.6, 1.1, 1.7, 2.2, 2.7, 3.2))


@pytest.fixture(scope="module")
def procedural():
    return make_generator("procedural")


def streamed(generator, audio, chunk_s=0.1, words=(), words_ahead=False, config=None, end=True):
    """Push ``audio`` in chunks of ``chunk_s`` (words as their audio arrives, or all up front)."""
    stream = UtteranceStream(generator, Style(seed=3), "test", config)
    pending = list(words)
    if words_ahead:
        stream.push_words(pending)
        pending = []
    chunks: list[FrameChunk] = []
    step = round(chunk_s * SR)
    for i in range(0, audio.size, step):
        stream.push_audio(audio[i : i + step])
        known = [w for w in pending if w.end <= (i + step) / SR]
        if known:
            stream.push_words(known)
            pending = pending[len(known) :]
        chunk = stream.pull()
        if chunk is not None:
            chunks.append(chunk)
    if end:
        last = stream.end()
        if last is not None:
            chunks.append(last)
    return stream, chunks


def joined(chunks: list[FrameChunk]) -> np.ndarray:
    for a, b in zip(chunks[:-1], chunks[1:]):
        assert b.first_frame == a.stop_frame  # consecutive, nothing dropped or repeated
    return np.concatenate([c.poses for c in chunks])


def test_config_is_validated():
    with pytest.raises(ConfigError, match="hop_s"):
        StreamConfig(hop_s=0.0)
    with pytest.raises(ConfigError, match="lookahead_s"):
        StreamConfig(lookahead_s=-1.0)
    assert StreamConfig(hop_s=0.4).hop_frames == 6


def test_final_frames_do_not_depend_on_chunking_or_later_audio(procedural, audio):
    _, whole = streamed(procedural, audio, chunk_s=0.1)
    poses = joined(whole)
    assert poses.shape == (60, 27) and np.all(np.isfinite(poses))
    _, other = streamed(procedural, audio, chunk_s=0.37)
    np.testing.assert_array_equal(joined(other), poses)  # chunking does not matter
    # truncation: what is final after 2.5 s of audio is exactly what the whole utterance gives there
    stream, early = streamed(procedural, audio[: int(2.5 * SR)], chunk_s=0.1, end=False)
    part = joined(early)
    lookahead = stream_lookahead(procedural)
    assert len(part) >= (2.5 - lookahead - 0.4) * FPS  # final up to the lookahead, in whole hops
    np.testing.assert_array_equal(part, poses[: len(part)])
    # and audio after that point changes nothing already final
    changed = audio.copy()
    changed[int(2.5 * SR) :] = audio[int(0.3 * SR) : int(0.3 * SR) + changed.size - int(2.5 * SR)][::-1]
    _, other = streamed(procedural, changed, chunk_s=0.1)
    np.testing.assert_array_equal(joined(other)[: len(part)], part)


def join_jumps(poses: np.ndarray, joins: list[int]) -> tuple[float, float]:
    """Largest change of velocity (per-frame step) at the ``joins`` and elsewhere."""
    acc = np.abs(np.diff(poses, 2, axis=0)).max(axis=1)  # acc[k] is at frame k + 1
    at = acc[[j - 1 for j in joins if 1 <= j - 1 < len(acc)]]
    return float(at.max()), float(np.percentile(acc, 99))


@pytest.mark.parametrize("backend", ["procedural", "trimodal", "diffusion"])
def test_hops_join_without_jumps(backend, audio, procedural):
    generator = procedural if backend == "procedural" else make_generator(backend)
    config = StreamConfig(hop_s=0.4, lookahead_s=0.4)
    _, chunks = streamed(generator, audio, chunk_s=0.2, config=config)
    poses = joined(chunks)
    assert poses.shape == (60, 27)
    joins = list(range(6, 60, 6))
    # the pose continues (no step larger than the motion's own) and so does the velocity
    steps = np.abs(np.diff(poses, axis=0)).max(axis=1)
    whole = generator.generate(SpeechInput(audio), Style(seed=3))
    assert steps.max() <= 1.2 * np.abs(np.diff(whole, axis=0)).max() + 0.02
    at_joins, elsewhere = join_jumps(poses, joins)
    assert at_joins <= max(1.5 * elsewhere, 0.05), (at_joins, elsewhere)


def test_a_bounded_history_joins_smoothly_and_stays_causal(procedural, audio):
    config = StreamConfig(history_s=2.0)  # the re-planning window moves every second
    _, chunks = streamed(procedural, audio, config=config)
    poses = joined(chunks)
    at_joins, elsewhere = join_jumps(poses, list(range(6, 60, 6)))
    assert at_joins <= max(1.5 * elsewhere, 0.05), (at_joins, elsewhere)
    _, other = streamed(procedural, audio, chunk_s=0.37, config=config)
    np.testing.assert_array_equal(joined(other), poses)
    with pytest.raises(ConfigError, match="history_s"):
        StreamConfig(history_s=1.0)


def test_without_lookahead_the_motion_continues_from_the_final_frames(procedural, audio):
    _, chunks = streamed(procedural, audio, config=StreamConfig(hop_s=0.2, lookahead_s=0.0))
    poses = joined(chunks)
    at_joins, elsewhere = join_jumps(poses, list(range(3, 60, 3)))
    assert at_joins <= max(1.5 * elsewhere, 0.05), (at_joins, elsewhere)


@pytest.mark.parametrize("words_ahead", [True, False])
def test_gestures_are_placed_once_on_the_utterance_timeline(procedural, audio, words_ahead, caplog):
    layered = with_gesture_layer(procedural)
    batch = procedural.generate_with_strokes(SpeechInput(audio, WORDS), Style(seed=3))
    assert [t for t, label in batch.strokes if label == "wave"] == [1.7]
    if words_ahead:  # the robot's own speech: its words (with their stress) come before the audio
        stream, chunks = streamed(layered, audio, words=WORDS, words_ahead=True)
    else:  # ASR words, each when its audio is complete: a lookahead long enough to prepare the wave
        stream, chunks = streamed(layered, audio, words=WORDS, config=StreamConfig(lookahead_s=1.6))
    strokes = [s for c in chunks for s in c.strokes]
    assert [p.name for p in stream.placed_gestures].count("wave") == 1
    assert [t for t, label in strokes if label == "wave"] == [1.7]  # exactly where the batch has it
    poses = joined(chunks)
    (placed,) = [p for p in stream.placed_gestures if p.name == "wave"]
    arm = np.repeat(part_mask(gesture_parts(procedural.layer.lexicon.gestures["wave"], placed.mirrored)), 3)
    lo, hi = (round((1.7 + x) * FPS) for x in procedural.layer.active_span("wave"))
    # the waving arm follows the gesture's keyframes over its whole active span, never cut at a hop
    np.testing.assert_allclose(poses[lo : hi + 1, arm], batch.poses[lo : hi + 1, arm], atol=0.02)
    if not words_ahead:  # with less lookahead the same words come late: the wave is played later, said so
        caplog.set_level("INFO", logger="gesture_core.gestures.layer")
        stream, _ = streamed(layered, audio, words=WORDS, config=StreamConfig(lookahead_s=1.4))
        (late,) = [p for p in stream.placed_gestures if p.name == "wave"]
        assert 1.7 < late.time <= 1.7 + StreamConfig().max_late_s
        assert "'wave' on the word 'hello'" in caplog.text and "s late" in caplog.text
        # with a short lookahead they come too late: dropped, and said so
        short = StreamConfig(lookahead_s=0.2, max_late_s=0.2)
        stream, _ = streamed(layered, audio, words=WORDS, config=short)
        assert "wave" not in [p.name for p in stream.placed_gestures]
        assert "'wave' on the word 'hello' dropped" in caplog.text


def test_a_learned_backend_streams_with_the_layer(audio):
    layered = with_gesture_layer(make_generator("trimodal"))
    config = StreamConfig(lookahead_s=0.4)
    stream, chunks = streamed(layered, audio, words=WORDS, words_ahead=True, config=config)
    assert stream.lookahead_s == pytest.approx(0.4)
    assert ("wave" in [label for c in chunks for _, label in c.strokes])
    assert joined(chunks).shape == (60, 27)


def test_bad_input_is_refused(procedural, audio):
    stream = UtteranceStream(procedural, Style())
    stream.push_words([Word("b", 1.0, 1.2)])
    with pytest.raises(ContractError, match="time order"):
        stream.push_words([Word("a", 0.5, 0.7)])
    with pytest.raises(ContractError, match="NaN"):
        stream.push_audio(np.array([np.nan], dtype=np.float32))
    stream.push_audio(audio[:8000])
    assert stream.end() is not None and stream.end() is None
    with pytest.raises(ContractError, match="ended"):
        stream.push_audio(audio[:10])
