"""Training state for exact resumption, as safetensors + JSON (no pickles), and the checkpoint folders.

A checkpoint directory ``OUT/checkpoints/step_NNNNNNN/`` holds the model in its own checkpoint
format (``config.json``, ``model.safetensors``, ``vocab.json``: what the generators load) plus::

    training_state.safetensors   every tensor of the state:
                                   optim.<name>.state.<param index>.<key>   optimizer state (Adam moments, step)
                                   module.<name>.<key>                      extra modules (the discriminator)
                                   rng.cpu.rank<r>, rng.cuda.rank<r>        each process's torch RNG state
    training_state.json          {"format": "gesture.training_state/1", "step", "epoch", "batch_in_epoch",
                                  "world_size", "train_config": {...}, "optimizers": {<name>: {"param_groups",
                                  "state": non-tensor values}}}

The learning rate is constant (as in the authors' training), so there is no scheduler state beyond
the step. The data order is a pure function of ``(seed, epoch)`` (see ``trainer.epoch_batches``),
so ``epoch`` and ``batch_in_epoch`` say where to continue.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from ..errors import ModelError

log = logging.getLogger(__name__)

STATE_FORMAT = "gesture.training_state/1"
STATE_TENSORS = "training_state.safetensors"
STATE_JSON = "training_state.json"
CHECKPOINTS = "checkpoints"
_STEP_DIR = re.compile(r"^step_(\d+)$")


@dataclass
class TrainingState:
    """Where a run is: ``step`` optimizer steps done, in ``epoch`` (0-based) after
    ``batch_in_epoch`` of its batches; ``world_size`` processes; ``train_config`` as a dict."""

    step: int
    epoch: int
    batch_in_epoch: int
    world_size: int
    train_config: dict[str, Any]
    #: Everything else read back from the files (tensors by name, optimizer JSON), filled by :func:`load_state`.
    tensors: dict[str, torch.Tensor] = field(default_factory=dict, repr=False)
    optimizers: dict[str, Any] = field(default_factory=dict, repr=False)


# ------------------------------------------------------------------------------ flattening


def flatten_optimizer(
    optimizer: torch.optim.Optimizer, name: str
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state as tensors ``optim.<name>.state.<i>.<key>`` plus JSON (param groups and
    any non-tensor state values)."""
    sd = optimizer.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, dict[str, Any]] = {}
    for index, entries in sd["state"].items():
        for key, value in entries.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{name}.state.{index}.{key}"] = value.detach().cpu().contiguous()
            else:
                plain.setdefault(str(index), {})[key] = value
    return tensors, {"param_groups": sd["param_groups"], "state": plain}


def restore_optimizer(
    optimizer: torch.optim.Optimizer, name: str, tensors: dict[str, torch.Tensor], meta: dict[str, Any]
) -> None:
    """Load what :func:`flatten_optimizer` wrote into ``optimizer`` (same parameters, same order)."""
    state: dict[int, dict[str, Any]] = {}
    prefix = f"optim.{name}.state."
    for key, value in tensors.items():
        if key.startswith(prefix):
            index, _, entry = key[len(prefix) :].partition(".")
            state.setdefault(int(index), {})[entry] = value
    for index, entries in meta.get("state", {}).items():
        state.setdefault(int(index), {}).update(entries)
    groups = meta["param_groups"]
    for group in groups:  # JSON turned tuples into lists
        if "betas" in group:
            group["betas"] = tuple(group["betas"])
    try:
        optimizer.load_state_dict({"state": state, "param_groups": groups})
    except (ValueError, KeyError, RuntimeError) as exc:
        raise ModelError(f"{STATE_JSON}: optimizer {name!r} does not match the model: {exc}") from exc


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """This process's torch RNG states: ``cpu`` and, on a GPU device, ``cuda`` (uint8 tensors)."""
    states = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        states["cuda"] = torch.cuda.get_rng_state(device)
    return states


def set_rng_state(states: dict[str, torch.Tensor], device: torch.device) -> None:
    """Restore what :func:`rng_state` returned."""
    torch.set_rng_state(states["cpu"])
    if device.type == "cuda" and "cuda" in states:
        torch.cuda.set_rng_state(states["cuda"], device)


# ------------------------------------------------------------------------------ files


def save_state(
    directory: Path,
    state: TrainingState,
    modules: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    rng_states: list[dict[str, torch.Tensor]],
) -> None:
    """Write ``training_state.safetensors`` + ``.json`` into ``directory``.

    ``modules``: extra modules to store whole (the discriminator); ``rng_states``: one
    :func:`rng_state` dict per process, indexed by rank.
    """
    tensors: dict[str, torch.Tensor] = {}
    optim_meta: dict[str, Any] = {}
    for name, optimizer in optimizers.items():
        flat, meta = flatten_optimizer(optimizer, name)
        tensors.update(flat)
        optim_meta[name] = meta
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"module.{name}.{key}"] = value.detach().cpu().contiguous()
    for rank, states in enumerate(rng_states):
        for kind, value in states.items():
            tensors[f"rng.{kind}.rank{rank}"] = value.cpu().contiguous()
    save_file(tensors, str(directory / STATE_TENSORS), metadata={"format": STATE_FORMAT})
    doc = {
        "format": STATE_FORMAT,
        "step": state.step,
        "epoch": state.epoch,
        "batch_in_epoch": state.batch_in_epoch,
        "world_size": state.world_size,
        "train_config": state.train_config,
        "optimizers": optim_meta,
    }
    (directory / STATE_JSON).write_text(json.dumps(doc, indent=1), encoding="utf-8")


def load_state(directory: Path) -> TrainingState:
    """Read the training state files of a checkpoint directory; :class:`ModelError` names a bad file."""
    json_path, tensor_path = directory / STATE_JSON, directory / STATE_TENSORS
    for path in (json_path, tensor_path):
        if not path.is_file():
            raise ModelError(f"{path}: training state file is missing")
    try:
        doc = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{json_path}: not a readable JSON file: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != STATE_FORMAT:
        raise ModelError(f"{json_path}: 'format' must be {STATE_FORMAT!r}")
    try:
        tensors = load_file(str(tensor_path))
    except (SafetensorError, OSError) as exc:
        raise ModelError(f"{tensor_path}: unreadable: {exc}") from exc
    try:
        return TrainingState(
            step=int(doc["step"]),
            epoch=int(doc["epoch"]),
            batch_in_epoch=int(doc["batch_in_epoch"]),
            world_size=int(doc["world_size"]),
            train_config=dict(doc["train_config"]),
            tensors=tensors,
            optimizers=dict(doc["optimizers"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{json_path}: missing or malformed field: {exc!r}") from exc


def restore_module(module: nn.Module, name: str, state: TrainingState) -> None:
    """Load ``module.<name>.*`` tensors of ``state`` into ``module`` (strictly)."""
    prefix = f"module.{name}."
    sd = {k[len(prefix) :]: v for k, v in state.tensors.items() if k.startswith(prefix)}
    try:
        module.load_state_dict(sd, strict=True)
    except RuntimeError as exc:
        raise ModelError(f"{STATE_TENSORS}: module {name!r} does not match: {exc}") from exc


def rank_rng_state(state: TrainingState, rank: int) -> dict[str, torch.Tensor]:
    """The RNG states process ``rank`` saved."""
    states = {
        kind: state.tensors[f"rng.{kind}.rank{rank}"]
        for kind in ("cpu", "cuda")
        if f"rng.{kind}.rank{rank}" in state.tensors
    }
    if "cpu" not in states:
        raise ModelError(f"{STATE_TENSORS}: no RNG state for rank {rank}")
    return states


# ------------------------------------------------------------------------------ checkpoint folders


def step_dir(out: Path, step: int) -> Path:
    """``out/checkpoints/step_NNNNNNN``."""
    return Path(out) / CHECKPOINTS / f"step_{step:07d}"


def checkpoints(out: Path) -> list[tuple[int, Path]]:
    """Complete checkpoints under ``out`` (those with a training state), oldest first."""
    root = Path(out) / CHECKPOINTS
    found = []
    if root.is_dir():
        for path in root.iterdir():
            match = _STEP_DIR.match(path.name)
            if match and (path / STATE_JSON).is_file():
                found.append((int(match.group(1)), path))
    return sorted(found)


def latest_checkpoint(out: Path) -> Path | None:
    """The newest complete checkpoint under ``out``, or None."""
    found = checkpoints(out)
    return found[-1][1] if found else None


def prune_checkpoints(out: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest checkpoints (``keep`` 0: keep all)."""
    if keep <= 0:
        return
    for _, path in checkpoints(out)[:-keep]:
        shutil.rmtree(path)
        log.info("removed old checkpoint %s", path)
