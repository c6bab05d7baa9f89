"""Streaming costs on this CPU: computation per chunk of streaming generation (every backend, at
several lookaheads) and of streaming retargeting, and how smoothly hops join.

Run: ``.venv/bin/python benchmarks/streaming.py [--seconds 10] [--lookahead 0.2 0.5 1.0]``
(prints a table). Speech: the BEAT2 held-out clip's audio with its words (``../shared``), else a
synthetic speech-like signal. The audio is pushed in 0.1 s chunks, words when their audio is
complete, and every :meth:`~gesture_core.generation.streaming.UtteranceStream.pull` that makes
frames final is timed (one hop each); the end of the utterance is timed apart.

Columns: ``hop ms`` median / p95 / max of the compute per hop (hop 0.4 s: real time needs < 400);
``latency s``: what a hop waits for before it can start (hop + lookahead: the sound onset ->
final frame delay without compute); ``join jump``: the largest change of per-frame pose step at
hop joins, over the 99th percentile of that change elsewhere (1 = joins as smooth as the motion
itself). Retargeting: :class:`~gesture_core.retarget.streaming.StreamingPlanner` per 6-frame chunk
on the bundled humanoid, and its smoothing lookahead.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from gesture_core.contracts import AUDIO_SAMPLE_RATE as SR
from gesture_core.contracts import GESTURE_FPS, NS_PER_S, GestureSequence, Word
from gesture_core.generation.base import Style
from gesture_core.generation.factory import make_generator
from gesture_core.generation.streaming import StreamConfig, UtteranceStream, live_chunks, stream_lookahead
from gesture_core.retarget.config import default_config_path, load_config
from gesture_core.retarget.motion import MotionPlanner
from gesture_core.retarget.streaming import StreamingPlanner

SHARED = Path(__file__).resolve().parents[2] / "shared"


def speech(seconds: float) -> tuple[np.ndarray, list[Word], str]:
    """Audio (N,) at 16 kHz, its words and where they come from."""
    clip = SHARED / "data" / "beat2_scott" / "2_scott_0_1_1"
    if clip.with_suffix(".wav").is_file():
        from gesture_core.data.textgrid import read_words
        from gesture_core.speech.audio_io import load_audio

        whole = load_audio(clip.with_suffix(".wav"))
        # the held-out part of the clip (its last 13.5 s) when that is long enough, else its end
        start = 50.0 if seconds <= whole.size / SR - 50.0 else max(0.0, whole.size / SR - seconds)
        audio = whole[int(start * SR) : int((start + seconds) * SR)]
        words = [
            Word(w.word, w.start - start, w.end - start)
            for w in read_words(clip.with_suffix(".TextGrid"))
            if start <= w.start and w.end <= start + seconds
        ]
        return audio, words, f"BEAT2 audio {start:g}-{start + audio.size / SR:g} s, {len(words)} words"
    t = np.arange(int(seconds * SR)) / SR
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 1.7 * t) ** 2
    audio = (0.05 * envelope * np.sin(2 * np.pi * 140 * t)).astype(np.float32)
    return audio, [], f"synthetic audio {seconds:g} s (no ../shared)"


def stream_once(generator, audio: np.ndarray, words: list[Word], lookahead: float | None):
    """Stream ``audio``; returns per-hop compute (s), the end's compute (s), poses, join frames."""
    stream = UtteranceStream(generator, Style(seed=0), "bench", StreamConfig(lookahead_s=lookahead))
    hops, parts, joins = [], [], []
    for samples, known in live_chunks(audio, words):
        stream.push_audio(samples)
        stream.push_words(known)
        before = stream.frames_final
        began = time.perf_counter()
        chunk = stream.pull()
        took = time.perf_counter() - began
        if chunk is not None:
            hops.append(took / max(1, round((stream.frames_final - before) / stream.config.hop_frames)))
            parts.append(chunk.poses)
            joins.append(chunk.first_frame)
    began = time.perf_counter()
    last = stream.end()
    end_s = time.perf_counter() - began
    if last is not None:
        parts.append(last.poses)
        joins.append(last.first_frame)
    hop_frames = stream.config.hop_frames
    all_joins = [j for j in range(hop_frames, sum(len(p) for p in parts), hop_frames)]
    return np.array(hops), end_s, np.concatenate(parts), all_joins, stream.lookahead_s


def join_ratio(poses: np.ndarray, joins: list[int]) -> float:
    acc = np.abs(np.diff(poses, 2, axis=0)).max(axis=1)
    at = np.array([acc[j - 1] for j in joins if 1 <= j - 1 < len(acc)])
    return float(at.max() / max(np.percentile(acc, 99), 1e-9)) if at.size else float("nan")


def retarget_costs(poses: np.ndarray) -> tuple[np.ndarray, float]:
    planner = StreamingPlanner(MotionPlanner(load_config(default_config_path())))
    t0 = 100 * NS_PER_S
    times = []
    for k in range(0, len(poses), 6):
        now = t0 + round((k / GESTURE_FPS - 0.3) * NS_PER_S)
        began = time.perf_counter()
        planner.push(GestureSequence("bench", t0, poses[k : k + 6], first_frame=k), now)
        times.append(time.perf_counter() - began)
    planner.finish(t0 + round((len(poses) / GESTURE_FPS - 0.3) * NS_PER_S))
    return np.array(times[1:]), planner.lag_s  # the first chunk warms caches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the streamed speech")
    parser.add_argument("--lookahead", type=float, nargs="*", default=[0.2, 1.0],
                        help="lookaheads (s) besides each backend's default")  # fmt: skip
    parser.add_argument("--backend", nargs="*", default=["procedural", "trimodal", "diffusion"])
    args = parser.parse_args()
    audio, words, source = speech(args.seconds)
    print(f"Streaming on this CPU: {source}, pushed in 0.1 s chunks, hop 0.4 s\n")
    print("| backend | lookahead s | latency s | hop ms median | p95 | max | end ms | join jump |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    procedural_poses = None
    for name in args.backend:
        generator = make_generator(name)
        stream_once(generator, audio[: 2 * SR], [], None)  # warm-up (librosa kernels, sessions)
        default = stream_lookahead(generator)
        for lookahead in sorted({default, *args.lookahead}):
            hops, end_s, poses, joins, look = stream_once(generator, audio, words, lookahead)
            if name == "procedural" and lookahead == default:
                procedural_poses = poses
            ms = 1e3 * hops
            mark = " (default)" if lookahead == default else ""
            print(
                f"| {name} | {look:.2f}{mark} | {look + 0.4:.2f} | {np.median(ms):.0f} | "
                f"{np.percentile(ms, 95):.0f} | {ms.max():.0f} | {1e3 * end_s:.0f} | "
                f"{join_ratio(poses, joins):.2f} |"
            )
    if procedural_poses is not None:
        times, lag = retarget_costs(procedural_poses)
        ms = 1e3 * times
        print(
            f"\nStreaming retargeting (humanoid, 6-frame chunks): {np.median(ms):.0f} ms median, "
            f"{np.percentile(ms, 95):.0f} ms p95, {ms.max():.0f} ms max per chunk; smoothing lookahead "
            f"{lag:.2f} s + 1 frame"
        )


if __name__ == "__main__":
    main()
