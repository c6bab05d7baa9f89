"""The training loop and the ``gesture-train`` command.

    gesture-train --data DATA_DIR [--data DIR2 ...] --out OUT_DIR [--config run.json] [--resume] [key=value ...]

trains the backend of the config (``backend=trimodal`` or ``backend=diffusion``) on the windows of
every clip of the dataset directories (project training format), for ``epochs`` passes or
``max_steps`` steps; ``key=value`` overrides are described in :mod:`.config`. Output::

    OUT/train_config.json                    the full configuration of the run
    OUT/losses.jsonl                         every step's losses (one JSON object per line)
    OUT/checkpoints/step_NNNNNNN/            every ``checkpoint_every`` steps and at the end: the model's own
                                             checkpoint (what the generators load) + the training state

``--resume`` continues from the newest checkpoint in OUT exactly as if the run had not stopped:
the data order of every epoch is a function of ``(seed, epoch)``, and the weights, the optimizer
and discriminator states and every process's RNG state are restored.

Vocabulary and speakers come from the data: every word seen ``vocab_min_count`` times, every
speaker id (embedding rows 1..S, row 0 unused). Data without any words (e.g. BEAT2 converted
without a transcript) trains an audio-only model: the text input is PAD throughout; the
vocabulary then holds the special tokens and one placeholder, :data:`NO_WORDS`, because a model
needs at least one word row beyond them.

Several processes: start with ``torchrun --nproc-per-node N -m gesture_core.train.trainer ...``.
Each process reads ``RANK`` / ``WORLD_SIZE`` / ``LOCAL_RANK``, takes its share of every epoch
(``DistributedSampler``), and the models are wrapped in ``DistributedDataParallel`` (gloo on CPU,
NCCL on GPUs); only rank 0 writes files and logs progress.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import ConcatDataset, DataLoader, DistributedSampler
from tqdm import tqdm

from ..data import format as fmt
from ..data.dataset import GestureWindows, TorchWindows
from ..errors import ConfigError, DataError, GestureError, ModelError
from ..generation.windows import WindowSpec
from ..vocab import Vocab, normalize_word
from . import state as st
from .backends import Task, make_task
from .config import TrainConfig, check_resume_compatible

log = logging.getLogger(__name__)

#: The vocabulary's one word when the training data has none (normalised words never match it).
NO_WORDS = "<no-words>"
LOSSES_FILE = "losses.jsonl"
CONFIG_FILE = "train_config.json"


# ------------------------------------------------------------------------------ processes


@dataclass(frozen=True)
class Processes:
    """This process's place in the group: ``rank`` of ``world_size``, on ``device``."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0


def start_processes(cfg: TrainConfig) -> Processes:
    """Join the torchrun process group if ``WORLD_SIZE`` > 1, and pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    cuda = cfg.device.startswith("cuda")
    if cuda and not torch.cuda.is_available():
        raise ConfigError(f"train.device: {cfg.device!r} but torch sees no GPU")
    if world > 1:
        device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
        if not dist.is_initialized():
            dist.init_process_group("nccl" if cuda else "gloo")
    else:
        device = torch.device(cfg.device)
    if cuda:
        torch.cuda.set_device(device)
    return Processes(rank, world, device)


def end_processes(clean: bool) -> None:
    """Leave the torchrun process group, if this process joined one (a no-op otherwise or when done).

    ``clean``: every process finished training and calls this. The DDP modules still hold the group
    (their reducers keep it alive past ``destroy_process_group``), so they are collected first; then a
    barrier lets every process tear the group down while its peers are still connected. Before
    this, the group died during interpreter exit, after rank 0 had gone, and rank 1 aborted
    ("terminate called without an active exception") in about 1 of 20 runs. After an error only the local teardown runs:
    a barrier could wait for a peer that has already failed.
    """
    if not dist.is_initialized():
        return
    gc.collect()
    if clean:
        dist.barrier()
    dist.destroy_process_group()


def gather_rng_states(procs: Processes) -> list[dict[str, torch.Tensor]]:
    """Every process's RNG states, indexed by rank (all processes must call this)."""
    local = st.rng_state(procs.device)
    if procs.world_size == 1:
        return [local]
    gathered: list[dict[str, torch.Tensor]] = [{} for _ in range(procs.world_size)]
    for kind, value in local.items():
        value = value.to(procs.device)  # NCCL gathers GPU tensors only
        parts = [torch.empty_like(value) for _ in range(procs.world_size)]
        dist.all_gather(parts, value)
        for rank, part in enumerate(parts):
            gathered[rank][kind] = part.cpu()
    return gathered


def mean_over_processes(values: dict[str, float], procs: Processes) -> dict[str, float]:
    """The mean of each loss value over all processes (all must pass the same keys)."""
    if procs.world_size == 1:
        return values
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=procs.device)
    dist.all_reduce(t)
    return {k: float(v) / procs.world_size for k, v in zip(keys, t.tolist())}


# ------------------------------------------------------------------------------ data


@dataclass
class TrainingData:
    """The windows of every dataset directory plus what the model derives from them."""

    dataset: ConcatDataset
    vocab: Vocab
    #: Speaker names by embedding row; row 0 unused (None).
    speakers: list[str | None]
    #: Token ids that occur in the data (PAD always).
    seen_tokens: set[int]
    #: Per directory: path, clips, windows, seconds (for the checkpoint's provenance).
    sources: list[dict[str, Any]]
    has_words: bool


def build_vocab(word_lists: list[list[str]], min_count: int) -> Vocab:
    """Vocabulary of the normalised words seen at least ``min_count`` times, most frequent first
    (ties alphabetically); :data:`NO_WORDS` alone when there are none."""
    counts = Counter(w for words in word_lists for w in map(normalize_word, words) if w)
    kept = sorted((w for w, n in counts.items() if n >= min_count), key=lambda w: (-counts[w], w))
    return Vocab(kept or [NO_WORDS])


def load_training_data(cfg: TrainConfig, spec: WindowSpec) -> TrainingData:
    """Open every dataset directory of ``cfg.data`` and cut its windows (``spec``, ``cfg.stride``)."""
    if not cfg.data:
        raise ConfigError("train.data: no dataset directory given (--data DIR)")
    clips = {d: [fmt.open_clip(d, info) for info in fmt.read_manifest(d)] for d in cfg.data}
    names = sorted({c.info.speaker_id for handles in clips.values() for c in handles})
    speaker_ids = {name: i + 1 for i, name in enumerate(names)}
    word_lists = [[w.word for w in c.words] for handles in clips.values() for c in handles]
    has_words = any(word_lists)
    vocab = build_vocab(word_lists, cfg.vocab_min_count)
    parts, sources, seen = [], [], {0}
    for d in cfg.data:
        windows = GestureWindows(d, vocab, speaker_ids, spec, cfg.stride)
        seen.update(tok.id for tokens in windows.tokens if tokens for tok in tokens)
        parts.append(TorchWindows(windows))
        sources.append({
            "dir": d,
            "clips": len(windows.clips),
            "windows": len(windows),
            "seconds": round(sum(c.info.duration for c in windows.clips), 3),
        })  # fmt: skip
    dataset = ConcatDataset(parts)
    if len(dataset) == 0:
        raise DataError(f"train.data: no clip of {cfg.data} is as long as one window ({spec.n_poses} frames)")
    if not has_words:
        log.warning(
            "the training data has no words: training an audio-only model (text input is PAD throughout)"
        )
    return TrainingData(dataset, vocab, [None, *names], seen, sources, has_words)


def epoch_batches(n_items: int, cfg: TrainConfig, epoch: int, procs: Processes) -> list[list[int]]:
    """This process's batches of window indices for ``epoch``: a shuffle seeded by ``(seed, epoch)``
    (``DistributedSampler``: every process gets an equal, disjoint share), cut into ``batch_size``."""
    sampler = DistributedSampler(
        range(n_items), num_replicas=procs.world_size, rank=procs.rank, shuffle=True, seed=cfg.seed
    )
    sampler.set_epoch(epoch)
    indices = list(sampler)
    return [indices[i : i + cfg.batch_size] for i in range(0, len(indices), cfg.batch_size)]


def iterate_batches(
    dataset: ConcatDataset, batches: list[list[int]], cfg: TrainConfig, device: torch.device
) -> Iterator[dict[str, torch.Tensor]]:
    """Load ``batches`` in order and move them to ``device``. The loader gets its own generator,
    so creating it draws nothing from the global RNG (a resumed run must see the same draws)."""
    loader = DataLoader(
        dataset,
        batch_sampler=batches,
        num_workers=cfg.num_workers,
        generator=torch.Generator().manual_seed(cfg.seed),
    )
    for batch in loader:
        yield {k: batch[k].to(device) for k in ("poses", "audio", "text", "speaker")}


# ------------------------------------------------------------------------------ the run


class Trainer:
    """One training run (see the module docstring). ``resume``: a checkpoint directory to continue from."""

    def __init__(self, cfg: TrainConfig, resume: Path | None = None):
        self.cfg = cfg
        self.out = Path(cfg.out)
        self.procs = start_processes(cfg)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        torch.manual_seed(cfg.seed)  # model initialisation: identical on every process
        spec = WindowSpec(
            cfg.model.get("n_poses", 34), cfg.model.get("n_pre_poses", 4)
        )  # the models' defaults
        self.data = load_training_data(cfg, spec)
        model_config = {**cfg.model, "n_words": len(self.data.vocab), "n_speakers": len(self.data.speakers)}
        self.task: Task = make_task(cfg, self.procs.device, model_config, self.data.speakers)
        torch.manual_seed(cfg.seed + 1 + self.procs.rank)  # dropout, noise: different on every process
        self.step = self.epoch = self.batch_in_epoch = 0
        if resume is not None:
            self._restore(resume)
        if self.procs.world_size > 1:
            ids = [self.procs.device.index] if self.procs.device.type == "cuda" else None
            self.task.wrap(lambda m: DistributedDataParallel(m, device_ids=ids))
        self.batches_per_epoch = len(epoch_batches(len(self.data.dataset), cfg, 0, self.procs))
        limit = cfg.epochs * self.batches_per_epoch
        self.total_steps = min(limit, cfg.max_steps) if cfg.max_steps else limit

    def _restore(self, ckpt: Path) -> None:
        state = st.load_state(ckpt)
        if state.world_size != self.procs.world_size:
            raise ConfigError(
                f"{ckpt}: saved by {state.world_size} processes, resumed with {self.procs.world_size}; "
                "use the same number"
            )
        saved_vocab = Vocab.load(ckpt / "vocab.json")
        if saved_vocab != self.data.vocab:
            raise DataError(
                f"{ckpt}/vocab.json: the data now gives a different vocabulary; resume with the same data"
            )
        self.task.load_model_weights(ckpt)
        for name, module in self.task.extra_modules.items():
            st.restore_module(module, name, state)
        for name, optimizer in self.task.optimizers.items():
            if name not in state.optimizers:
                raise ModelError(f"{ckpt}: no state for optimizer {name!r}")
            st.restore_optimizer(optimizer, name, state.tensors, state.optimizers[name])
        st.set_rng_state(st.rank_rng_state(state, self.procs.rank), self.procs.device)
        self.step, self.epoch, self.batch_in_epoch = state.step, state.epoch, state.batch_in_epoch
        log.info(
            "resumed from %s: step %d, epoch %d, batch %d", ckpt, self.step, self.epoch, self.batch_in_epoch
        )

    # -- outputs -------------------------------------------------------------------------------

    def _start_outputs(self) -> None:
        """Write the config and keep the loss log up to the resumed step (rank 0 only)."""
        if not self.procs.main:
            return
        self.out.mkdir(parents=True, exist_ok=True)
        (self.out / CONFIG_FILE).write_text(json.dumps(self.cfg.to_dict(), indent=1), encoding="utf-8")
        path = self.out / LOSSES_FILE
        kept = []
        if path.is_file():
            kept = [
                line
                for line in path.read_text().splitlines()
                if line and json.loads(line)["step"] <= self.step
            ]
        path.write_text("".join(line + "\n" for line in kept))

    def _provenance(self, recent: dict[str, float]) -> dict[str, Any]:
        return {
            "trainer": "gesture_core.train",
            "backend": self.cfg.backend,
            "data": self.data.sources,
            "text": "words" if self.data.has_words else "audio-only: the training data had no words",
            "step": self.step,
            "epoch": self.epoch,
            "losses": recent,
            "world_size": self.procs.world_size,
            "torch": torch.__version__,
            "train_config": self.cfg.to_dict(),
        }

    def save_checkpoint(self, recent: dict[str, float]) -> Path:
        """Write ``OUT/checkpoints/step_NNNNNNN`` (rank 0; every process must call this)."""
        rng_states = gather_rng_states(self.procs)
        final = st.step_dir(self.out, self.step)
        if self.procs.main:
            tmp = final.with_name(final.name + ".tmp")
            shutil.rmtree(tmp, ignore_errors=True)
            self.task.save_model(tmp, self.data.vocab, self.data.seen_tokens, self._provenance(recent))
            state = st.TrainingState(
                self.step, self.epoch, self.batch_in_epoch, self.procs.world_size, self.cfg.to_dict()
            )
            st.save_state(tmp, state, self.task.extra_modules, self.task.optimizers, rng_states)
            shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)
            st.prune_checkpoints(self.out, self.cfg.keep_checkpoints)
            log.info("checkpoint %s", final)
        if self.procs.world_size > 1:
            dist.barrier()
        return final

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> Path:
        """Train until ``epochs`` or ``max_steps``; returns the final checkpoint directory."""
        cfg, procs = self.cfg, self.procs
        self._start_outputs()
        self.task.train()
        if self.step >= self.total_steps:
            log.info("nothing to do: step %d of %d", self.step, self.total_steps)
        bar = tqdm(
            total=self.total_steps, initial=self.step, disable=not procs.main, desc=f"train {cfg.backend}"
        )
        window: list[dict[str, float]] = []  # losses since the last log line
        recent: dict[str, float] = {}
        saved_at = -1
        while self.step < self.total_steps:
            batches = epoch_batches(len(self.data.dataset), cfg, self.epoch, procs)
            todo = batches[self.batch_in_epoch :]
            for batch in iterate_batches(self.data.dataset, todo, cfg, procs.device):
                epoch = self.epoch
                losses = mean_over_processes(self.task.step(batch, epoch), procs)
                self.step += 1
                self.batch_in_epoch += 1
                if self.batch_in_epoch == len(batches):
                    self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                window.append(losses)
                if procs.main:
                    with (self.out / LOSSES_FILE).open("a") as f:
                        f.write(json.dumps({"step": self.step, "epoch": epoch, **losses}) + "\n")
                    bar.update(1)
                    bar.set_postfix(loss=f"{losses['loss']:.4g}")
                if self.step % cfg.log_every == 0 or self.step == self.total_steps:
                    recent = {k: sum(w.get(k, 0.0) for w in window) / len(window) for k in window[-1]}
                    if procs.main:
                        log.info("step %d epoch %d: %s", self.step, self.epoch,
                                 ", ".join(f"{k} {v:.4g}" for k, v in recent.items()))  # fmt: skip
                    window = []
                if self.step % cfg.checkpoint_every == 0 or self.step == self.total_steps:
                    self.save_checkpoint(recent)
                    saved_at = self.step
                if self.step >= self.total_steps:
                    break
        bar.close()
        if saved_at != self.step:  # resumed at the end, or nothing ran: make sure a final checkpoint exists
            return st.latest_checkpoint(self.out) or self.save_checkpoint(recent)
        return st.step_dir(self.out, self.step)


# ------------------------------------------------------------------------------ command line


def config_from_args(args: argparse.Namespace) -> tuple[TrainConfig, Path | None]:
    """The run's config (and the checkpoint to resume from) from parsed command-line arguments."""
    overrides = list(args.overrides)
    if args.data:
        overrides.append("data=" + json.dumps([str(d) for d in args.data]))
    if args.out:
        overrides.append("out=" + json.dumps(str(args.out)))
    if args.resume:
        if not args.out:
            raise ConfigError("train.out: --resume needs --out (the directory of the run to continue)")
        ckpt = st.latest_checkpoint(Path(args.out))
        if ckpt is None:
            raise ConfigError(f"train.out: --resume found no checkpoint under {args.out}/{st.CHECKPOINTS}")
        saved = TrainConfig.from_dict(st.load_state(ckpt).train_config)
        cfg = saved.with_overrides(overrides)
        check_resume_compatible(saved, cfg)
        return cfg, ckpt
    base = TrainConfig()
    if args.config:
        try:
            base = TrainConfig.from_dict(json.loads(Path(args.config).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise ConfigError(f"--config {args.config}: cannot read: {exc}") from exc
    cfg = base.with_overrides(overrides)
    if not cfg.out:
        raise ConfigError("train.out: no output directory given (--out DIR)")
    if not args.resume and st.latest_checkpoint(Path(cfg.out)) is not None:
        raise ConfigError(f"train.out: {cfg.out} already holds checkpoints; use --resume or another --out")
    return cfg, None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="gesture-train",
        description="Train a gesture model (Trimodal GAN or diffusion) on datasets in the project training format.",
        epilog=(
            "Overrides (key=value, JSON values): backend=trimodal|diffusion, epochs=100, max_steps=0, batch_size=128, "
            "lr=5e-4, adam_betas=[0.5,0.999], discriminator_lr_scale=0.2, gan_warmup_epochs=10, loss.huber=500, "
            "loss.gan=5, loss.kl=0.1, loss.diversity=0.05, stride=10, vocab_min_count=1, seed=0, device=cpu|cuda, "
            "checkpoint_every=500, keep_checkpoints=0, log_every=10, num_workers=0, threads=0, "
            "model.<field>=... (the backend's model config, e.g. model.hidden_size=150 model.n_layers=2). "
            "Several GPUs or processes: torchrun --nproc-per-node N -m gesture_core.train.trainer ..."
        ),
    )
    parser.add_argument("--data", action="append", type=Path, help="dataset directory (repeat for several)")
    parser.add_argument("--out", type=Path, help="output directory of the run")
    parser.add_argument("--config", type=Path, help="JSON file with a full or partial TrainConfig")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="config overrides, see below")
    args = parser.parse_intermixed_args(argv)  # overrides may come before and after the options
    main_process = os.environ.get("RANK", "0") == "0"  # under torchrun only rank 0 logs progress
    logging.basicConfig(
        level=logging.INFO if main_process else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        cfg, resume = config_from_args(args)
        final = Trainer(cfg, resume).run()
        end_processes(clean=True)
    except GestureError as exc:
        log.error("%s", exc)
        return 1
    finally:
        end_processes(clean=False)
    if main_process:
        print(final)
    return 0


if __name__ == "__main__":
    sys.exit(main())
