"""The training configuration: one validated dataclass, overridable from the command line.

A run is described by :class:`TrainConfig`. The command line builds one from defaults (or a JSON
file written by an earlier run) plus ``key=value`` overrides; dotted keys reach nested fields::

    backend=trimodal epochs=20 lr=5e-4 model.hidden_size=150 loss.gan=0 seed=3

Values are parsed as JSON where possible (``5e-4``, ``true``, ``[0.9, 0.999]``) and taken as plain
strings otherwise (``backend=diffusion``). Every bad value raises
:class:`~gesture_core.errors.ConfigError` naming the key, e.g. ``train.lr: must be > 0, got -1``.

``model`` holds overrides of the backend's own model config (:class:`TrimodalConfig` or
:class:`DiffusionConfig` fields); ``n_words`` and ``n_speakers`` come from the data and may not be
set here. They are checked when the trainer builds the model.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError

#: Backends the trainer knows.
BACKENDS = ("trimodal", "diffusion")
#: Model config keys the trainer derives from the data (vocabulary and speakers).
DERIVED_MODEL_KEYS = ("n_words", "n_speakers")
#: Fields that may change when a run is resumed (they do not change what is computed).
RESUMABLE_CHANGES = (
    "epochs",
    "max_steps",
    "checkpoint_every",
    "keep_checkpoints",
    "log_every",
    "device",
    "threads",
)


def _check_int(key: str, value: Any, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise ConfigError(f"train.{key}: must be an integer >= {lo}, got {value!r}")


def _check_number(key: str, value: Any, lo: float, lo_open: bool = False, hi: float = math.inf) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or value < lo or (lo_open and value == lo) or value > hi:
        bound = f"> {lo}" if lo_open else f">= {lo}"
        if hi < math.inf:
            bound += f" and <= {hi}"
        raise ConfigError(f"train.{key}: must be a number {bound}, got {value!r}")


@dataclass
class LossWeights:
    """Weights of the Trimodal training losses (the paper's values; see :mod:`.losses`).

    - ``huber``: smooth L1 (beta 0.1) between generated and real poses;
    - ``gan``: non-saturating adversarial loss of the generator, after the warm-up epochs;
    - ``kl``: KL divergence of the speaker style distribution from N(0, I);
    - ``diversity``: the authors' diversity regulariser (pose change relative to style change).

    The diffusion backend has one loss (its own ``training_loss``) and ignores these.
    """

    huber: float = 500.0
    gan: float = 5.0
    kl: float = 0.1
    diversity: float = 0.05

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            _check_number(f"loss.{f.name}", getattr(self, f.name), 0.0)


@dataclass
class TrainConfig:
    """Everything one training run needs. Defaults are the Trimodal paper's settings.

    - ``backend``: ``trimodal`` | ``diffusion``.
    - ``data``: dataset directories in the project training format (:mod:`gesture_core.data.format`).
    - ``out``: output directory; checkpoints go to ``out/checkpoints/step_NNNNNNN/``.
    - ``model``: overrides of the backend's model config (e.g. ``{"hidden_size": 150}``).
    - ``batch_size``: windows per step *per process* (the global batch is ``batch_size x world size``).
    - ``lr``: generator learning rate (Adam); ``adam_betas``: Adam's betas, default per backend
      (Trimodal: the authors' (0.5, 0.999); diffusion: (0.9, 0.999)).
    - ``discriminator_lr_scale``: the discriminator's learning rate is ``lr x`` this (authors: 0.2).
    - ``epochs``: passes over the data; ``max_steps``: stop after this many steps even mid-epoch
      (0: no limit).
    - ``gan_warmup_epochs``: epochs trained without the adversarial loss (authors: 10).
    - ``loss``: :class:`LossWeights`.
    - ``stride``: frames between training window starts (authors: 10).
    - ``vocab_min_count``: words seen fewer times in the training data are left out of the
      vocabulary (they map to UNK).
    - ``seed``: seeds model initialisation, data order, dropout and noise; with the same seed and
      data a run is reproducible, and a resumed run continues exactly.
    - ``device``: ``cpu``, ``cuda`` or ``cuda:N`` (under torchrun each process takes ``cuda:LOCAL_RANK``).
    - ``checkpoint_every``: steps between checkpoints (one is always written at the end);
      ``keep_checkpoints``: how many of the newest checkpoints to keep (0: all).
    - ``log_every``: steps between log lines (every step's losses go to ``out/losses.jsonl``).
    - ``num_workers``: data loader worker processes (0: load in the training process).
    - ``threads``: torch CPU threads (0: torch's default).
    """

    backend: str = "trimodal"
    data: list[str] = field(default_factory=list)
    out: str = ""
    model: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 128
    lr: float = 5e-4
    adam_betas: list[float] | None = None
    discriminator_lr_scale: float = 0.2
    epochs: int = 100
    max_steps: int = 0
    gan_warmup_epochs: int = 10
    loss: LossWeights = field(default_factory=LossWeights)
    stride: int = 10
    vocab_min_count: int = 1
    seed: int = 0
    device: str = "cpu"
    checkpoint_every: int = 500
    keep_checkpoints: int = 0
    log_every: int = 10
    num_workers: int = 0
    threads: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.loss, dict):
            self.loss = _build(LossWeights, self.loss, "loss.")
        if self.backend not in BACKENDS:
            raise ConfigError(f"train.backend: must be one of {list(BACKENDS)}, got {self.backend!r}")
        if not isinstance(self.data, list) or not all(isinstance(d, str) and d for d in self.data):
            raise ConfigError(f"train.data: must be a list of dataset directories, got {self.data!r}")
        if not isinstance(self.out, str):
            raise ConfigError(f"train.out: must be a directory path, got {self.out!r}")
        if not isinstance(self.model, dict):
            raise ConfigError(f"train.model: must be an object of model config overrides, got {self.model!r}")
        for key in DERIVED_MODEL_KEYS:
            if key in self.model:
                raise ConfigError(f"train.model.{key}: is derived from the data and cannot be set")
        for key, lo in (("batch_size", 1), ("epochs", 1), ("max_steps", 0), ("gan_warmup_epochs", 0),
                        ("stride", 1), ("vocab_min_count", 1), ("seed", 0), ("checkpoint_every", 1),
                        ("keep_checkpoints", 0), ("log_every", 1), ("num_workers", 0), ("threads", 0)):  # fmt: skip
            _check_int(key, getattr(self, key), lo)
        _check_number("lr", self.lr, 0.0, lo_open=True, hi=1.0)
        _check_number("discriminator_lr_scale", self.discriminator_lr_scale, 0.0, lo_open=True, hi=100.0)
        if self.adam_betas is not None:
            betas = self.adam_betas
            if not isinstance(betas, (list, tuple)) or len(betas) != 2:
                raise ConfigError(f"train.adam_betas: must be two numbers in [0, 1), got {betas!r}")
            for i, b in enumerate(betas):
                _check_number(f"adam_betas[{i}]", b, 0.0, hi=0.999999)
            self.adam_betas = [float(b) for b in betas]
        if not isinstance(self.device, str) or not (
            self.device == "cpu"
            or self.device == "cuda"
            or (self.device.startswith("cuda:") and self.device[5:].isdigit())
        ):
            raise ConfigError(f"train.device: must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")

    def betas(self) -> tuple[float, float]:
        """Adam's betas: the configured ones, or the backend's default."""
        if self.adam_betas is not None:
            return self.adam_betas[0], self.adam_betas[1]
        return (0.5, 0.999) if self.backend == "trimodal" else (0.9, 0.999)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> TrainConfig:
        """Build from :meth:`to_dict` output (or a JSON file's content); unknown keys raise."""
        return _build(cls, data, "")

    def with_overrides(self, overrides: list[str]) -> TrainConfig:
        """A new config with ``key=value`` overrides applied (see the module docstring)."""
        data = self.to_dict()
        for item in overrides:
            key, sep, text = item.partition("=")
            if not sep or not key:
                raise ConfigError(f"override {item!r}: expected key=value, e.g. lr=5e-4")
            set_dotted(data, key, parse_value(text))
        return TrainConfig.from_dict(data)


def parse_value(text: str) -> Any:
    """A command-line value: JSON if it parses (numbers, booleans, lists, null), else the string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def set_dotted(data: dict[str, Any], key: str, value: Any) -> None:
    """Set ``data[a][b] = value`` for ``key = "a.b"``; unknown top-level or ``loss.`` keys raise.

    Keys under ``model.`` are free (they are checked against the model's config later).
    """
    parts = key.split(".")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    if parts[0] not in known:
        raise ConfigError(f"train.{parts[0]}: unknown key (known: {', '.join(sorted(known))})")
    if parts[0] == "loss" and (
        len(parts) != 2 or parts[1] not in {f.name for f in dataclasses.fields(LossWeights)}
    ):
        raise ConfigError(f"train.{key}: unknown key (loss weights: huber, gan, kl, diversity)")
    if parts[0] not in ("loss", "model") and len(parts) > 1:
        raise ConfigError(f"train.{key}: {parts[0]} has no sub-keys")
    target = data
    for part in parts[:-1]:
        target = target.setdefault(part, {})
    target[parts[-1]] = value


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"train.{prefix or 'config'}: must be an object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"train.{prefix}{unknown[0]}: unknown key")
    try:
        return cls(**data)
    except TypeError as exc:  # a wrong type that __post_init__ could not even compare
        raise ConfigError(f"train.{prefix.rstrip('.') or 'config'}: {exc}") from None


def check_resume_compatible(saved: TrainConfig, new: TrainConfig) -> None:
    """Raise :class:`ConfigError` if ``new`` changes a setting that a resumed run must keep."""
    for f in dataclasses.fields(TrainConfig):
        if f.name in RESUMABLE_CHANGES or f.name == "out":
            continue
        if getattr(saved, f.name) != getattr(new, f.name):
            raise ConfigError(
                f"train.{f.name}: cannot change on --resume (checkpoint has {getattr(saved, f.name)!r}, "
                f"got {getattr(new, f.name)!r}); only {', '.join(RESUMABLE_CHANGES)} may change"
            )
