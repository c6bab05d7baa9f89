"""Diffusion gesture model speed: per-window latency and real-time factor, next to the Trimodal model.

Run: ``.venv/bin/python benchmarks/diffusion.py [--device cpu|cuda] [--repeats N] [--steps 1 4 10 50]``
(prints Markdown tables). Both models are full size with RANDOM weights (speed does not depend on
the values): each is saved as a checkpoint directory in a temporary folder, exported to ONNX with
its export module, and run through its ``GestureGenerator`` (the window engine included) on a
synthetic utterance of ``--windows`` windows.

A window brings 30 new frames = 2 s of motion at 15 fps, so real-time factor = window latency / 2 s
(below 1: faster than real time). ``--device cuda`` runs PyTorch on the GPU and asks onnxruntime
for ``CUDAExecutionProvider`` (falling back to CPU, as the table then says).
"""

from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from _timing import best_time  # benchmarks/_timing.py, beside this script
from gesture_core.contracts import Word
from gesture_core.generation.base import GestureGenerator, SpeechInput, Style
from gesture_core.models.diffusion import export as diffusion_export
from gesture_core.models.diffusion.checkpoint import save_checkpoint as save_diffusion
from gesture_core.models.diffusion.config import DiffusionConfig
from gesture_core.models.diffusion.generator import DiffusionGenerator
from gesture_core.models.diffusion.model import GestureDenoiser, n_parameters
from gesture_core.models.diffusion.runtime import OnnxDiffusionGenerator
from gesture_core.models.diffusion.sampler import SamplerConfig
from gesture_core.vocab import Vocab

log = logging.getLogger("benchmarks.diffusion")

WINDOW_S = 30 / 15  # new motion per window (s)
N_WORDS, N_SPEAKERS = 2000, 10


@dataclass
class Row:
    """One configuration: ``latency_s`` per window (best of the repeats)."""

    model: str
    backend: str
    providers: str
    steps: str
    latency_s: float

    @property
    def rtf(self) -> float:
        return self.latency_s / WINDOW_S


def device_name(device: str) -> str:
    """CPU model (from /proc/cpuinfo) and core count, plus the CUDA device torch sees, if any."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    name = f"{cpu}, {os.cpu_count()} cores ({torch.get_num_threads()} torch threads)"
    if torch.cuda.is_available():
        name += f"; CUDA: {torch.cuda.get_device_name(0)}"
    return (
        name
        + f"; onnxruntime {ort.__version__} providers available: {', '.join(ort.get_available_providers())}"
    )


def utterance(n_windows: int) -> SpeechInput:
    """Synthetic speech covering exactly ``n_windows`` windows: a modulated tone and a word every 0.4 s."""
    n_frames = 34 + (n_windows - 1) * 30
    t = np.arange(int(n_frames / 15 * 16000)) / 16000
    audio = (0.3 * np.sin(2 * np.pi * 160 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 2 * t))).astype(np.float32)
    words = [Word(f"word{i % 50}", s, s + 0.3, 1.0) for i, s in enumerate(np.arange(0.0, t[-1] - 0.3, 0.4))]
    return SpeechInput(audio, words)


def per_window(gen: GestureGenerator, speech: SpeechInput, n_windows: int, repeats: int) -> float:
    """Best time of ``gen.generate(speech)`` per window (s)."""
    return best_time(lambda: gen.generate(speech, Style(seed=0)), repeats) / n_windows


def bench_diffusion(
    root: Path, args: argparse.Namespace, providers: list[str]
) -> tuple[list[Row], list[str]]:
    vocab = Vocab(f"word{i}" for i in range(N_WORDS - 4))
    model = GestureDenoiser(DiffusionConfig(n_words=len(vocab), n_speakers=N_SPEAKERS))
    ckpt = root / "diffusion"
    save_diffusion(ckpt, model, vocab, provenance={"weights": "random (benchmark)"})
    diffusion_export.export_checkpoint(ckpt)
    speech = utterance(args.windows)
    rows = []
    onnx = OnnxDiffusionGenerator(ckpt, providers=providers, threads=args.threads)
    torch_gen = DiffusionGenerator(ckpt, device=args.device)
    settings = [(steps, 1.0) for steps in args.steps] + [(10, 2.0)]
    for steps, guidance in settings:
        label = f"{steps}" + (f", guidance {guidance:g}" if guidance != 1.0 else "")
        for backend, gen in (("onnxruntime", onnx), (f"torch {args.device}", torch_gen)):
            gen.sampler = SamplerConfig(steps=steps, guidance=guidance)
            lat = per_window(gen, speech, args.windows, args.repeats)
            provs = (
                ", ".join(p.replace("ExecutionProvider", "") for p in onnx.providers) if gen is onnx else "-"
            )
            rows.append(Row("diffusion", backend, provs, label, lat))
            log.info("diffusion %s steps %s: %.1f ms/window", backend, label, 1e3 * lat)

    # cost split of the onnxruntime backend: once per window vs once per step
    rng = np.random.default_rng(0)
    cfg = model.cfg
    audio = (0.1 * rng.standard_normal((1, cfg.audio_samples))).astype(np.float32)
    text = rng.integers(0, cfg.n_words, (1, cfg.n_poses))
    weights = onnx.speaker_weights(None)[None]
    cond, _ = onnx.encode(audio, text, weights)
    x = rng.standard_normal((1, cfg.n_poses, cfg.pose_dim)).astype(np.float32)
    pre = np.zeros((1, cfg.n_poses, cfg.pose_dim + 1), np.float32)
    t = np.full(1, 500.0, np.float32)
    notes = [
        (
            f"diffusion model: {n_parameters(model, include_embedding=False) / 1e6:.2f} M parameters without the "
            f"{N_WORDS} x {cfg.word_dim} word table; onnxruntime condition encoder "
            f"{1e3 * best_time(lambda: onnx.encode(audio, text, weights), 5 * args.repeats):.2f} ms per window, "
            f"one denoising step {1e3 * best_time(lambda: onnx.denoise(x, t, cond, pre), 5 * args.repeats):.2f} ms"
        )
    ]
    return rows, notes


def bench_trimodal(root: Path, args: argparse.Namespace, providers: list[str]) -> tuple[list[Row], list[str]]:
    """The Trimodal model at its official size (random weights), both backends."""
    try:
        from gesture_core.models.trimodal import export as trimodal_export
        from gesture_core.models.trimodal.checkpoint import save_checkpoint as save_trimodal
        from gesture_core.models.trimodal.config import TrimodalConfig
        from gesture_core.models.trimodal.generator import TrimodalGenerator
        from gesture_core.models.trimodal.model import PoseGenerator
        from gesture_core.models.trimodal.runtime import OnnxTrimodalGenerator
    except ImportError as e:
        return [], [f"Trimodal model not benchmarked: {e}"]
    vocab = Vocab(f"word{i}" for i in range(N_WORDS - 4))
    ckpt = root / "trimodal"
    save_trimodal(ckpt, PoseGenerator(TrimodalConfig(n_words=len(vocab), n_speakers=N_SPEAKERS)), vocab,
                  provenance={"weights": "random (benchmark)"})  # fmt: skip
    trimodal_export.export_checkpoint(ckpt)
    speech = utterance(args.windows)
    onnx = OnnxTrimodalGenerator(ckpt, providers=providers, threads=args.threads)
    rows = []
    for backend, gen in (
        ("onnxruntime", onnx),
        (f"torch {args.device}", TrimodalGenerator(ckpt, device=args.device)),
    ):
        provs = ", ".join(p.replace("ExecutionProvider", "") for p in onnx.providers) if gen is onnx else "-"
        rows.append(Row("trimodal", backend, provs, "-", per_window(gen, speech, args.windows, args.repeats)))
    return rows, []


def markdown_table(rows: list[Row]) -> str:
    lines = [
        "| model | backend | providers | DDIM steps | latency per window (ms) | real-time factor |",
        "| --- | --- | --- | --- | ---: | ---: |",
    ]
    lines += [
        f"| {r.model} | {r.backend} | {r.providers} | {r.steps} | {1e3 * r.latency_s:.1f} | {r.rtf:.4f} |"
        for r in rows
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), default="cpu", help="torch device / onnxruntime provider"
    )
    parser.add_argument("--repeats", type=int, default=5, help="runs per configuration; the fastest counts")
    parser.add_argument("--windows", type=int, default=5, help="windows per generated utterance")
    parser.add_argument(
        "--threads", type=int, default=0, help="torch and onnxruntime CPU threads (0: their defaults)"
    )
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 4, 10, 50], help="DDIM step counts")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: torch sees no CUDA device")
    providers = (
        ["CUDAExecutionProvider", "CPUExecutionProvider"]
        if args.device == "cuda"
        else ["CPUExecutionProvider"]
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows, notes = bench_diffusion(Path(tmp), args, providers)
        trimodal_rows, trimodal_notes = bench_trimodal(Path(tmp), args, providers)
    print(f"Device: {device_name(args.device)}\n")
    print("Random weights (speed only). Window = 34 frames, 30 of them new = 2 s of motion; "
          f"real-time factor = latency / 2 s; best of {args.repeats} runs of a {args.windows}-window utterance.\n")  # fmt: skip
    print(markdown_table(rows + trimodal_rows))
    for note in notes + trimodal_notes:
        print(f"\n{note}")


if __name__ == "__main__":
    main()
