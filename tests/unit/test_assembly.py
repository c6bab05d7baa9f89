"""UtteranceAssembler: per-utterance waveforms from start/end events and stamped audio chunks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core.contracts import AUDIO_SAMPLE_RATE, NS_PER_S, AudioChunk, UtteranceEvent
from gesture_core.errors import ConfigError, ContractError
from gesture_core.speech.assembly import UtteranceAssembler

START_NS = 5 * NS_PER_S
NS_PER_SAMPLE = NS_PER_S // AUDIO_SAMPLE_RATE  # 62500, exact


def start(uid: str = "u1", start_ns: int = START_NS) -> UtteranceEvent:
    return UtteranceEvent(uid, "start", start_ns, "mic")


def end(n_samples: int, uid: str = "u1", start_ns: int = START_NS) -> UtteranceEvent:
    return UtteranceEvent(uid, "end", start_ns, "mic", n_samples=n_samples)


def chunk(offset: int, samples: np.ndarray, uid: str = "u1", start_ns: int = START_NS) -> AudioChunk:
    return AudioChunk(uid, start_ns + offset * NS_PER_SAMPLE, samples.astype(np.float32), offset)


def make_assembler(notes: list[str], **kw) -> UtteranceAssembler:
    return UtteranceAssembler(on_note=notes.append, **kw)


@settings(max_examples=50, deadline=None)
@given(
    n=st.integers(1, 5000),
    cuts=st.lists(st.integers(1, 4999), max_size=12),
    dropped=st.sets(st.integers(0, 12), max_size=4),
)
def test_chunks_reassemble_exactly_and_gaps_become_silence(n, cuts, dropped):
    """Any split of a waveform reassembles to it; dropped chunks become zeros of the same length."""
    wave = np.random.default_rng(n).uniform(-1, 1, n).astype(np.float32)
    bounds = sorted({0, n, *(c for c in cuts if c < n)})
    pieces = list(zip(bounds[:-1], bounds[1:]))
    kept = [p for i, p in enumerate(pieces) if i not in dropped or i == 0]
    notes: list[str] = []
    asm = make_assembler(notes)
    asm.start(start())
    for a, b in kept:
        res = asm.add(chunk(a, wave[a:b]))
        assert res.stop == b and res.start <= a
    utt = asm.end(end(n), now=0.0) or asm.expire(now=asm.end_timeout)[0]
    expected = np.zeros(n, np.float32)
    for a, b in kept:
        expected[a:b] = wave[a:b]
    np.testing.assert_array_equal(utt.audio, expected)
    assert utt.complete and utt.n_samples == n
    n_missing_runs = len(pieces) - len(kept)
    assert len(notes) <= n_missing_runs and (len(notes) > 0) == (n_missing_runs > 0)


def test_gap_is_filled_reported_and_counted():
    notes: list[str] = []
    asm = make_assembler(notes)
    asm.start(start())
    asm.add(chunk(0, np.full(100, 0.5)))
    res = asm.add(chunk(300, np.full(50, 0.25)))
    assert (res.start, res.stop, res.gap) == (100, 350, 200)
    np.testing.assert_array_equal(res.utterance.audio[100:300], 0.0)
    assert len(notes) == 1 and "gap of 200 samples" in notes[0] and "'u1'" in notes[0]
    assert res.utterance.notes == notes


def test_one_sample_offset_error_counts_as_contiguous():
    notes: list[str] = []
    asm = make_assembler(notes)
    asm.start(start())
    asm.add(chunk(0, np.ones(100)))
    res = asm.add(AudioChunk("u1", START_NS + 101 * NS_PER_SAMPLE, np.ones(10, np.float32), 101))
    assert (res.start, res.gap, notes) == (100, 0, [])


def test_cancel_forgets_an_open_utterance_and_rejects_its_later_audio():
    asm = make_assembler([])
    asm.start(start())
    asm.add(chunk(0, np.ones(100)))
    cancel = UtteranceEvent("u1", "cancel", START_NS, "mic")
    dropped = asm.cancel(cancel)
    assert dropped is not None and dropped.n_samples == 100 and asm.open_ids == []
    with pytest.raises(ContractError, match="already ended"):
        asm.add(chunk(100, np.ones(10)))
    assert asm.event(cancel) is None  # a second cancel (or one after completion): nothing to drop


def test_overlap_unknown_and_late_chunks_are_rejected():
    asm = make_assembler([])
    with pytest.raises(ContractError, match="unknown utterance 'u1'"):
        asm.add(chunk(0, np.ones(10)))
    asm.start(start())
    asm.add(chunk(0, np.ones(100)))
    with pytest.raises(ContractError, match="overlaps"):
        asm.add(chunk(50, np.ones(100)))
    with pytest.raises(ContractError, match="overlaps"):
        asm.add(chunk(-20, np.ones(10)))
    asm.end(end(100))
    with pytest.raises(ContractError, match="already ended"):
        asm.add(chunk(100, np.ones(10)))
    with pytest.raises(ContractError, match="already started"):
        asm.start(start())
    with pytest.raises(ContractError, match="unknown utterance 'zz'"):
        asm.end(end(0, uid="zz"))


def test_end_before_the_last_chunks_completes_with_the_last_chunk():
    """Events and audio are separate topics: an end event may overtake the last chunks."""
    notes: list[str] = []
    asm = make_assembler(notes)
    asm.start(start())
    asm.add(chunk(0, np.ones(100)))
    assert asm.end(end(300), now=0.0) is None and asm.open_ids == ["u1"]
    assert not asm.add(chunk(100, np.ones(100))).completed
    res = asm.add(chunk(200, np.ones(100)))
    assert res.completed and res.utterance.complete and res.utterance.n_samples == 300
    assert asm.open_ids == [] and notes == []
    assert asm.expire(now=100.0) == []


def test_missing_tail_is_awaited_then_padded_and_extra_audio_reported():
    notes: list[str] = []
    asm = make_assembler(notes, end_timeout=2.0)
    asm.start(start("a"))
    asm.add(chunk(0, np.ones(100), uid="a"))
    assert asm.end(end(160, uid="a"), now=10.0) is None
    assert asm.expire(now=11.9) == [] and notes == []
    asm.add(chunk(100, np.ones(20), uid="a"), now=11.5)  # audio still coming: keep waiting
    assert asm.expire(now=13.4) == [] and notes == []
    (utt,) = asm.expire(now=13.5)
    assert utt.complete and utt.n_samples == 160 and np.all(utt.audio[120:] == 0)
    assert "40 samples missing" in notes[-1]
    asm.start(start("b"))
    asm.add(chunk(0, np.ones(100), uid="b"))
    assert asm.end(end(80, uid="b")).n_samples == 100
    assert "20 samples more" in notes[-1]
    asm.start(start("c"))
    with pytest.raises(ContractError, match="start_ns"):
        asm.end(end(0, uid="c", start_ns=START_NS + 1))
    asm.add(chunk(0, np.ones(10), uid="c"))
    asm.end(end(20, uid="c"))
    with pytest.raises(ContractError, match="already has an end event"):
        asm.end(end(20, uid="c"))


def test_memory_is_bounded_oldest_open_utterance_is_forgotten():
    notes: list[str] = []
    asm = make_assembler(notes, max_open=2, max_seconds=0.01)
    for uid in ("a", "b", "c"):
        asm.start(start(uid))
    assert asm.open_ids == ["b", "c"] and "forgot utterance 'a'" in notes[-1]
    with pytest.raises(ContractError, match="already ended"):
        asm.add(chunk(0, np.ones(10), uid="a"))
    res = asm.add(chunk(0, np.ones(161), uid="b"))  # one sample more than 0.01 s
    assert res.completed and res.utterance.truncated and res.utterance.n_samples == 160
    assert "reached 0.01 s" in notes[-1] and asm.open_ids == ["c"]
    with pytest.raises(ContractError, match="already ended"):
        asm.end(end(161, uid="b"))


def test_an_utterance_longer_than_max_seconds_is_truncated_and_completed_at_once():
    """An 11-minute utterance (a real WAV) with 600 s kept: the first 600 s, complete as they
    arrive; its end event (announcing 660 s) and later chunks are those of an ended utterance."""
    notes: list[str] = []
    asm = make_assembler(notes, max_seconds=600.0)
    asm.start(start())
    second = AUDIO_SAMPLE_RATE
    block = np.full(10 * second, 0.1, np.float32)
    results = [asm.add(chunk(k * block.size, block)) for k in range(60)]
    assert not any(r.completed for r in results[:-1]) and results[-1].completed
    utt = results[-1].utterance
    assert utt.complete and utt.truncated and utt.duration == 600.0
    assert sum("truncated" in n for n in notes) == 1
    with pytest.raises(ContractError, match="already ended"):
        asm.add(chunk(600 * second, block))
    with pytest.raises(ContractError, match="already ended"):
        asm.end(end(660 * second))


def test_an_end_event_announcing_more_than_max_seconds_keeps_max_seconds():
    notes: list[str] = []
    asm = make_assembler(notes, max_seconds=2.0)
    asm.start(start())
    asm.add(chunk(0, np.full(AUDIO_SAMPLE_RATE, 0.1)))
    assert asm.end(end(700 * AUDIO_SAMPLE_RATE), now=0.0) is None  # 1 s more is still to come
    assert "only the first 2 s are kept" in notes[-1]
    res = asm.add(chunk(AUDIO_SAMPLE_RATE, np.full(2 * AUDIO_SAMPLE_RATE, 0.1)), now=0.1)
    assert res.completed and res.utterance.n_samples == 2 * AUDIO_SAMPLE_RATE


def test_a_chunk_far_beyond_the_audio_so_far_is_refused_not_filled():
    """A 1-sample chunk 500 s after the start would otherwise make 500 s of silence to process."""
    notes: list[str] = []
    asm = make_assembler(notes, max_gap_s=5.0)
    asm.start(start())
    asm.add(chunk(0, np.full(1600, 0.1)))
    with pytest.raises(ContractError, match="gap of 499.90 s"):
        asm.add(chunk(500 * AUDIO_SAMPLE_RATE, np.ones(1)))
    assert asm.get("u1").n_samples == 1600 and not notes
    res = asm.add(chunk(1600 + 4 * AUDIO_SAMPLE_RATE, np.ones(1)))  # a 4 s gap is filled
    assert res.gap == 4 * AUDIO_SAMPLE_RATE and "filled with silence" in notes[-1]


def test_a_missing_tail_longer_than_max_gap_is_not_filled():
    """An end event announcing 500 s after 0.1 s arrived: completed after end_timeout with the 0.1 s."""
    notes: list[str] = []
    asm = make_assembler(notes, max_gap_s=5.0)
    asm.start(start())
    asm.add(chunk(0, np.full(1600, 0.1)), now=0.0)
    assert asm.end(end(500 * AUDIO_SAMPLE_RATE), now=0.0) is None
    (utt,) = asm.expire(now=asm.end_timeout)
    assert utt.complete and utt.n_samples == 1600 and "more than the 5 s filled" in notes[-1]


def test_interleaved_utterances_stay_separate():
    asm = make_assembler([])
    asm.start(start("a", 0))
    asm.start(start("b", NS_PER_S))
    asm.add(chunk(0, np.full(10, 0.1), uid="a", start_ns=0))
    asm.add(chunk(0, np.full(10, 0.2), uid="b", start_ns=NS_PER_S))
    asm.add(chunk(10, np.full(10, 0.3), uid="a", start_ns=0))
    np.testing.assert_allclose(asm.end(end(20, "a", 0)).audio, [0.1] * 10 + [0.3] * 10)
    np.testing.assert_allclose(asm.end(end(10, "b", NS_PER_S)).audio, [0.2] * 10)


@pytest.mark.parametrize(
    "kw, key",
    [({"max_open": 0}, "max_open"), ({"max_seconds": 0}, "max_seconds"), ({"tolerance": -1}, "tolerance"),
     ({"end_timeout": -1.0}, "end_timeout"), ({"max_gap_s": -1.0}, "max_gap_s")],
)
def test_bad_config_names_the_key(kw, key):
    with pytest.raises(ConfigError, match=key):
        UtteranceAssembler(**kw)
