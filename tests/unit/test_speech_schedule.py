"""The speech source's timeline: utterances back to back, contiguous stamped chunks, pacing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gesture_core.contracts import NS_PER_S, AudioChunk, UtteranceEvent, Word, WordTimings
from gesture_core.errors import ConfigError, ContractError
from gesture_core.speech.assembly import UtteranceAssembler
from gesture_core.speech.schedule import Pacing, PlayCue, SpeechSchedule, Utterance, new_utterance_id

MS = NS_PER_S // 1000


def utterance(i: int, n_samples: int, words: bool = False) -> Utterance:
    audio = np.linspace(-0.5, 0.5, n_samples, dtype=np.float32)
    return Utterance(
        f"tts-{i}", "tts", audio, text="hi", language="en", words=[Word("hi", 0.0, 0.1)] if words else None
    )


def run(
    schedule: SpeechSchedule, pacing: Pacing, until_ns: int, tick_ns: int = 20 * MS
) -> list[tuple[int, object]]:
    """Step the schedule every ``tick_ns`` from t=0; returns (time, message) pairs."""
    out = []
    for now in range(0, until_ns, tick_ns):
        out += [(now, m) for m in schedule.step(now, pacing)]
    return out


def test_one_utterance_in_contract_order_with_contiguous_stamps():
    sched = SpeechSchedule()
    sched.push(utterance(1, 5000, words=True))
    msgs = [m for _, m in run(sched, Pacing(lead_time=0.3, chunk_ms=100), 2 * NS_PER_S)]
    start, words, *chunks, end, cue = msgs
    assert isinstance(start, UtteranceEvent) and start.event == "start" and start.words_known
    assert start.start_ns == 300 * MS
    assert isinstance(words, WordTimings) and words.final and words.source == "tts"
    assert all(isinstance(c, AudioChunk) for c in chunks) and [c.samples.size for c in chunks] == [
        1600
    ] * 3 + [200]
    assert [c.first_sample for c in chunks] == [0, 1600, 3200, 4800]
    assert [c.stamp_ns - start.start_ns for c in chunks] == [0, 100 * MS, 200 * MS, 300 * MS]
    assert isinstance(end, UtteranceEvent) and end.event == "end" and end.n_samples == 5000
    assert isinstance(cue, PlayCue)


def test_queued_utterance_starts_when_the_previous_has_played():
    sched = SpeechSchedule()
    sched.push(utterance(1, 16_000))  # 1 s
    assert sched.push(utterance(2, 8_000)) == 1
    timed = run(sched, Pacing(lead_time=0.3), 3 * NS_PER_S)
    starts = [(t, m) for t, m in timed if isinstance(m, UtteranceEvent) and m.event == "start"]
    (t1, first), (t2, second) = starts
    assert first.start_ns == 300 * MS and second.start_ns == first.start_ns + NS_PER_S
    assert t2 >= second.start_ns - 300 * MS  # published lead_time before it plays, not earlier
    cues = [(t, m.utterance_id) for t, m in timed if isinstance(m, PlayCue)]
    assert [uid for _, uid in cues] == ["tts-1", "tts-2"]
    assert cues[0][0] >= first.start_ns and cues[1][0] >= second.start_ns
    assert sched.idle(3 * NS_PER_S) and sched.timeline_end_ns == second.start_ns + NS_PER_S // 2


def test_cancel_stops_the_chunks_and_the_cue_and_frees_the_timeline():
    sched = SpeechSchedule()
    sched.push(utterance(1, 32_000))  # 2 s
    sched.push(utterance(2, 8_000))
    pacing = Pacing(lead_time=0.1, chunk_ms=100, publish_ahead=0.2)
    before = run(sched, pacing, 500 * MS)  # start at 0.1 s; chunks up to ~0.7 s published
    (cancel,) = sched.cancel("tts-1", 500 * MS)
    assert cancel.event == "cancel" and cancel.start_ns == 100 * MS
    assert sched.cancel("tts-1", 500 * MS) == []  # once only
    after = [m for t in range(500 * MS, 2 * NS_PER_S, 20 * MS) for m in sched.step(t, pacing)]
    assert not [m for m in after if getattr(m, "utterance_id", "") == "tts-1"]  # no chunk, no end, no cue
    assert [m for _, m in before if isinstance(m, PlayCue)]  # it was playing
    (start2,) = [m for m in after if isinstance(m, UtteranceEvent) and m.event == "start"]
    assert start2.utterance_id == "tts-2" and start2.start_ns < NS_PER_S  # not after tts-1's 2.1 s end
    assert sched.cancel("tts-9", 0) == []


def test_cancel_of_a_queued_utterance_forgets_it_silently():
    sched = SpeechSchedule()
    sched.push(utterance(1, 16_000))
    sched.push(utterance(2, 16_000))
    assert sched.cancel("tts-2", 0) == []
    msgs = [m for _, m in run(sched, Pacing(lead_time=0.1), 3 * NS_PER_S)]
    assert {m.utterance_id for m in msgs} == {"tts-1"}


def test_publish_ahead_paces_chunks():
    sched = SpeechSchedule()
    sched.push(utterance(1, 32_000))  # 2 s
    for now, m in run(sched, Pacing(lead_time=0.1, chunk_ms=100, publish_ahead=0.2), 3 * NS_PER_S):
        if isinstance(m, AudioChunk):
            assert m.stamp_ns - 200 * MS <= now < m.stamp_ns  # never more than 0.2 s early, never late


def test_not_real_time_publishes_everything_at_once():
    sched = SpeechSchedule()
    for i in range(3):
        sched.push(utterance(i, 48_000))  # 3 s each
    pacing = Pacing(lead_time=0.3, real_time=False, max_chunks_per_step=1000)
    msgs = [m for _, m in run(sched, pacing, 200 * MS)]  # 10 steps: 2 per utterance (chunks, end)
    ends = [m for m in msgs if isinstance(m, UtteranceEvent) and m.event == "end"]
    assert len(ends) == 3 and not any(isinstance(m, PlayCue) for m in msgs)
    assert ends[1].start_ns == ends[0].start_ns + 3 * NS_PER_S  # still laid end to end


@settings(max_examples=60, deadline=None)
@given(
    lengths=st.lists(st.integers(1, 40_000), min_size=1, max_size=4),
    chunk_ms=st.integers(10, 1000),
    ahead=st.floats(0.0, 5.0),
    real_time=st.booleans(),
)
def test_any_schedule_reassembles_exactly(lengths, chunk_ms, ahead, real_time):
    """Whatever the pacing, a consumer (the shared UtteranceAssembler) gets every utterance back
    sample for sample, with no gaps and no overlap between utterances."""
    sched = SpeechSchedule()
    sent = [utterance(i, n) for i, n in enumerate(lengths)]
    for u in sent:
        sched.push(u)
    notes: list[str] = []
    assembler = UtteranceAssembler(on_note=notes.append)
    done = []
    pacing = Pacing(lead_time=0.05, chunk_ms=chunk_ms, publish_ahead=ahead, real_time=real_time)
    until_ms = sum(lengths) // 16 + 150 * len(lengths) + 500
    for _, m in run(sched, pacing, until_ms * MS, tick_ns=50 * MS):
        if isinstance(m, UtteranceEvent):
            utt = assembler.event(m)
            if m.event == "end":
                done.append((m.start_ns, m.start_ns + len(utt.audio) * NS_PER_S // 16_000, utt.audio.copy()))
        elif isinstance(m, AudioChunk):
            assembler.add(m)
    assert not notes and len(done) == len(sent)
    for (_, _, audio), u in zip(done, sent):
        np.testing.assert_array_equal(audio, u.audio)
    for (_, prev_end, _), (next_start, _, _) in zip(done, done[1:]):
        assert next_start >= prev_end


def test_bad_inputs_raise():
    with pytest.raises(ConfigError, match="chunk_ms"):
        Pacing(chunk_ms=0)
    with pytest.raises(ConfigError, match="lead_time"):
        Pacing(lead_time=-1)
    with pytest.raises(ContractError, match="source"):
        Utterance("x-1", "radio", np.zeros(3))
    with pytest.raises(ContractError, match="shape"):
        Utterance("x-1", "file", np.zeros((3, 2)))
    ids = {new_utterance_id("file", 7) for _ in range(20)}
    assert all(i.startswith("file-7-") for i in ids) and len(ids) > 1  # a random suffix
