"""Gesture generation speed and memory for 10 s of speech, one row per backend.

Run: ``.venv/bin/python benchmarks/generation.py [--repeats N] [--seconds S]`` (prints a Markdown table).

Each backend runs in its own fresh process (``--worker NAME``), so its peak memory
(``VmHWM``: Python, libraries, model and generation) is its own; backends marked torch-free run with
``import torch`` blocked, proving the path needs no torch. Add a backend with one entry in
:data:`BACKENDS`. Real-time factor = compute seconds / audio seconds (below 1: faster than real time).

The Trimodal rows use a RANDOMLY INITIALISED full-size model (no trained weights exist yet): the
speed and memory are those of the real architecture, the motion is meaningless.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from gesture_core.contracts import AUDIO_SAMPLE_RATE, Word
from gesture_core.generation.base import GestureGenerator, SpeechInput, Style

#: Sizes of the random Trimodal model: the paper's architecture with a TED-sized vocabulary.
N_WORDS, N_SPEAKERS = 30_000, 1_400


def _procedural(ckpt: Path) -> GestureGenerator:
    from gesture_core.models.procedural import ProceduralGenerator

    return ProceduralGenerator()  # weight-free: the checkpoint is not used


def _trimodal_torch(ckpt: Path) -> GestureGenerator:
    from gesture_core.models.trimodal.generator import TrimodalGenerator

    return TrimodalGenerator(ckpt)


def _trimodal_onnx(ckpt: Path) -> GestureGenerator:
    from gesture_core.models.trimodal.runtime import OnnxTrimodalGenerator

    return OnnxTrimodalGenerator(ckpt)


#: name -> (factory from the Trimodal checkpoint dir, torch-free?).
BACKENDS: dict[str, tuple[Callable[[Path], GestureGenerator], bool]] = {
    # Torch-free too (tests/unit/test_generation_factory.py checks it in a fresh process), but scipy's
    # array-API check trips over the sys.modules["torch"] = None block, so it runs unblocked.
    "procedural (audio features included)": (_procedural, False),
    "trimodal torch": (_trimodal_torch, False),
    "trimodal onnxruntime CPU": (_trimodal_onnx, True),
}


@dataclass
class Row:
    """One backend: ``audio_s`` of speech in ``compute_s`` (best of repeats), ``windows`` windows."""

    backend: str
    audio_s: float
    compute_s: float
    windows: int
    window_ms: float  # median latency of one window step (model call only), ms
    peak_mb: float  # peak resident memory of the worker process, MiB

    @property
    def rtf(self) -> float:
        return self.compute_s / self.audio_s


def make_speech(seconds: float) -> SpeechInput:
    """Speech-like audio (voiced 150 Hz tone with syllable-rate envelope and noise) and a word every 0.4 s."""
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * AUDIO_SAMPLE_RATE)) / AUDIO_SAMPLE_RATE
    envelope = np.clip(np.sin(2 * np.pi * 4 * t), 0, None) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.3 * t))
    audio = 0.3 * envelope * np.sin(2 * np.pi * 150 * t) + 0.01 * rng.standard_normal(t.size)
    words = [Word(f"word{i}", s, s + 0.3) for i, s in enumerate(np.arange(0.1, seconds - 0.3, 0.4))]
    return SpeechInput(audio.astype(np.float32), words)


def run_worker(name: str, ckpt: Path, seconds: float, repeats: int) -> Row:
    """Measure one backend in this process (called in a fresh subprocess)."""
    factory, torch_free = BACKENDS[name]
    if torch_free:
        sys.modules["torch"] = None  # type: ignore[assignment]  # any `import torch` now fails
    gen = factory(ckpt)
    speech, style = make_speech(seconds), Style(seed=0)
    gen.generate(speech, style)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        gen.generate(speech, style)
        times.append(time.perf_counter() - start)

    windows, window_ms = 0, float("nan")
    run_window = getattr(gen, "run_window", None)
    if run_window is not None:  # a windowed model: time the bare window step
        windows = gen.spec.n_windows(speech.n_frames)
        cfg = gen.config
        args = (
            np.zeros((1, cfg.n_poses, cfg.pose_dim + 1), np.float32),
            np.zeros((1, cfg.n_poses), np.int64),
            speech.audio[None, : cfg.audio_samples],
            gen.speaker_weights(None)[None],
            np.zeros((1, cfg.z_dim), np.float32),
        )
        steps = []
        for _ in range(20):
            start = time.perf_counter()
            run_window(*args)
            steps.append(time.perf_counter() - start)
        window_ms = 1000 * float(np.median(steps))
    return Row(name, speech.duration, min(times), windows, window_ms, peak_memory_mib())


def peak_memory_mib() -> float:
    """Peak resident memory of this process (MiB).

    Linux ``VmHWM`` is per address space, so it starts afresh at exec; ``ru_maxrss`` would carry the
    parent's peak over into a forked worker and is only the fallback on other systems.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare_trimodal(ckpt: Path) -> tuple[float, float]:
    """Save a random full-size Trimodal checkpoint with its model.onnx; returns (export s, onnx MiB)."""
    import torch

    from gesture_core.models.trimodal.checkpoint import save_checkpoint
    from gesture_core.models.trimodal.config import ONNX_FILE, TrimodalConfig
    from gesture_core.models.trimodal.export import export_checkpoint
    from gesture_core.models.trimodal.model import PoseGenerator
    from gesture_core.vocab import Vocab

    torch.manual_seed(0)
    vocab = Vocab(f"word{i}" for i in range(N_WORDS - 4))
    model = PoseGenerator(TrimodalConfig(n_words=N_WORDS, n_speakers=N_SPEAKERS)).eval()
    save_checkpoint(ckpt, model, vocab, provenance={"note": "random weights for benchmarking"})
    start = time.perf_counter()
    export_checkpoint(ckpt)
    return time.perf_counter() - start, (ckpt / ONNX_FILE).stat().st_size / 2**20


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| backend | audio (s) | compute (s) | real-time factor | windows | window step (ms) | peak memory (MiB) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r.backend} | {r.audio_s:.1f} | {r.compute_s:.3f} | {r.rtf:.4f} | {r.windows} | {r.window_ms:.1f} | {r.peak_mb:.0f} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="generations per backend; the fastest counts")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the speech")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--ckpt", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(asdict(run_worker(args.worker, args.ckpt, args.seconds, args.repeats))))
        return

    with tempfile.TemporaryDirectory() as tmp:
        ckpt = Path(tmp) / "trimodal"
        export_s, onnx_mb = prepare_trimodal(ckpt)
        rows = []
        for name in BACKENDS:
            cmd = [sys.executable, __file__, "--worker", name, "--ckpt", str(ckpt),
                   "--seconds", str(args.seconds), "--repeats", str(args.repeats)]  # fmt: skip
            out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
            rows.append(Row(**json.loads(out.strip().splitlines()[-1])))
    print(markdown_table(rows))
    print(
        f"\nTrimodal: randomly initialised full-size model (no trained weights yet), {N_WORDS} words, "
        f"{N_SPEAKERS} speaker rows; ONNX export took {export_s:.1f} s, model.onnx {onnx_mb:.0f} MiB. "
        "Peak memory: the worker process (Python, libraries, model, one generation)."
    )


if __name__ == "__main__":
    main()
