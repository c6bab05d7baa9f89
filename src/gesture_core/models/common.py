"""What the learned models (Trimodal, diffusion) share, torch-free: config base, checkpoint files,
the windowed generator base, and onnxruntime sessions.

A checkpoint is a directory (layouts in :mod:`.trimodal.config` and :mod:`.diffusion.config`)::

    config.json        {"format": ..., ["backend": ...,] "config": {...}, "provenance": {...}}
    model.safetensors  the network's state dict (:mod:`.common_torch`, needs torch)
    vocab.json         the word vocabulary (:class:`gesture_core.vocab.Vocab`)
    model.onnx ...     optional ONNX exports for the onnxruntime backends

- :class:`ModelConfig`: base of the config dataclasses (derived sizes, dict round trip).
- :func:`read_checkpoint_files` / :func:`write_checkpoint_files`: ``config.json`` + ``vocab.json``;
  every failure is a :class:`ModelError` naming the file (and the field).
- :class:`WindowedGeneratorBase`: a learned :class:`~gesture_core.generation.GestureGenerator`
  except its network: sample-rate check, speaker mixture, tokens, the sliding-window loop.
- :func:`select_providers`, :func:`open_session`: onnxruntime execution providers and sessions
  checked against the expected signature. onnxruntime is imported by these two functions only, so
  reading a checkpoint's metadata loads no runtime.
"""

from __future__ import annotations

import json
import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import numpy as np

from .. import skeleton
from ..contracts import AUDIO_SAMPLE_RATE, GESTURE_FPS, Word
from ..errors import ConfigError, DataError, GestureError, ModelError
from ..generation.base import SpeechInput, Style
from ..generation.windows import TimedToken, WindowInput, WindowSpec, run_windows
from ..vocab import Vocab

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    import onnxruntime as ort

log = logging.getLogger(__name__)

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
VOCAB_FILE = "vocab.json"
ONNX_FILE = "model.onnx"

#: onnxruntime's CPU execution provider, always available and always the last resort.
CPU = "CPUExecutionProvider"


class ModelConfig:
    """Base of the model configs (:class:`~.trimodal.config.TrimodalConfig`,
    :class:`~.diffusion.config.DiffusionConfig`): dataclasses with at least these fields, validated
    on construction. Adds the derived sizes and the dict round trip of ``config.json``."""

    #: Prefix of the config's keys in error messages (``"trimodal"`` -> ``trimodal.n_words``).
    section: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Any]]  # set by @dataclass on the subclass

    n_words: int
    n_speakers: int
    n_poses: int
    n_pre_poses: int
    fps: float
    sample_rate: int
    mean_dir_vec: list[float]

    @property
    def pose_dim(self) -> int:
        return skeleton.POSE_DIM

    @property
    def audio_samples(self) -> int:
        """Raw audio samples per window: ``int(34 / 15 * 16000) = 36266`` for the defaults."""
        return int(self.n_poses / self.fps * self.sample_rate)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls: type[MC], data: Any) -> MC:
        """Build from :meth:`to_dict` output; unknown or missing keys raise :class:`ConfigError`."""
        return config_from_dict(cls, data, cls.section, required=("n_words", "n_speakers"))


MC = TypeVar("MC", bound=ModelConfig)
C = TypeVar("C", bound=ModelConfig)
D = TypeVar("D", bound="DataclassInstance")


def check_mean_dir_vec(section: str, value: Any) -> list[float]:
    """``value`` as a list of :data:`skeleton.POSE_DIM` finite floats; :class:`ConfigError` naming
    ``<section>.mean_dir_vec`` otherwise."""
    if not isinstance(value, (list, tuple)) or len(value) != skeleton.POSE_DIM:
        raise ConfigError(f"{section}.mean_dir_vec must be a list of {skeleton.POSE_DIM} numbers")
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in value):
        raise ConfigError(f"{section}.mean_dir_vec must contain finite numbers only")
    return [float(v) for v in value]


# ------------------------------------------------------------------------------ checkpoint files


def config_from_dict(cls: type[D], data: Any, section: str, required: Sequence[str]) -> D:
    """The dataclass ``cls`` built from ``data`` (a ``to_dict`` output): :class:`ConfigError` naming
    ``<section>.<key>`` for an unknown key or a missing ``required`` one."""
    if not isinstance(data, dict):
        raise ConfigError(f"{section} config must be an object, got {type(data).__name__}")
    unknown = sorted(set(data) - {f.name for f in fields(cls)})
    if unknown:
        raise ConfigError(f"{section}.{unknown[0]}: unknown key")
    for name in required:
        if name not in data:
            raise ConfigError(f"{section}.{name}: missing key")
    return cls(**data)


def read_json(path: Path) -> Any:
    """The JSON document in ``path``; :class:`ModelError` naming the file if missing or unreadable."""
    if not path.is_file():
        raise ModelError(f"{path}: checkpoint file is missing")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelError(f"{path}: not a readable JSON file: {e}") from e


@dataclass(frozen=True)
class CheckpointFiles(Generic[C]):
    """The parts of a checkpoint directory every model has: its config, vocabulary and provenance."""

    path: Path
    config: C
    vocab: Vocab
    provenance: dict[str, Any]


def read_checkpoint_files(
    ckpt_dir: str | Path, header: Mapping[str, str], config_cls: type[C]
) -> CheckpointFiles[C]:
    """Read ``config.json`` and ``vocab.json`` of a checkpoint directory (no weights).

    - header: the identifying entries ``config.json`` must have, e.g. ``{"format": "gesture.trimodal/1"}``.
    - config_cls: the model config class, built from ``config.json``'s ``"config"`` object (a bad
      key is reported as a :class:`ModelError` naming the file and the key).
    """
    ckpt_dir = Path(ckpt_dir)
    if not ckpt_dir.is_dir():
        raise ModelError(f"{ckpt_dir}: checkpoint directory does not exist")
    cfg_path = ckpt_dir / CONFIG_FILE
    raw = read_json(cfg_path)
    if not isinstance(raw, dict) or any(raw.get(k) != v for k, v in header.items()):
        got = {k: raw.get(k) for k in header} if isinstance(raw, dict) else raw
        need = " and ".join(f"{k!r} {v!r}" for k, v in header.items())
        raise ModelError(f"{cfg_path}: need {need}, got {got!r}")
    try:
        config = config_cls.from_dict(raw.get("config"))
    except ConfigError as e:
        raise ModelError(f"{cfg_path}: {e}") from e
    provenance = raw.get("provenance", {})
    if not isinstance(provenance, dict):
        raise ModelError(f"{cfg_path}: 'provenance' must be an object")
    vocab_path = ckpt_dir / VOCAB_FILE
    try:
        vocab = Vocab.from_json(read_json(vocab_path), source=str(vocab_path))
    except DataError as e:
        raise ModelError(str(e)) from e
    if len(vocab) != config.n_words:
        raise ModelError(f"{vocab_path}: {len(vocab)} words, but config.json says n_words={config.n_words}")
    return CheckpointFiles(ckpt_dir, config, vocab, provenance)


def write_checkpoint_files(
    path: Path, header: Mapping[str, str], config: ModelConfig, vocab: Vocab, provenance: dict[str, Any]
) -> None:
    """Write ``config.json`` (``header`` entries, config, provenance) and ``vocab.json`` into ``path``
    (created if needed)."""
    if len(vocab) != config.n_words:
        raise ModelError(f"vocabulary has {len(vocab)} words but config.n_words={config.n_words}")
    path.mkdir(parents=True, exist_ok=True)
    doc = {**header, "config": config.to_dict(), "provenance": provenance}
    (path / CONFIG_FILE).write_text(json.dumps(doc, indent=2), encoding="utf-8")
    vocab.save(path / VOCAB_FILE)


# ------------------------------------------------------------------------------ generators


class WindowedGeneratorBase(ABC, Generic[C]):
    """What a learned windowed generator does without its network (torch-free).

    - path, config, vocab: the checkpoint directory, its model config and vocabulary.

    Raises :class:`ModelError` if the model's audio rate or frame rate is not the project's.
    Sets ``config``, ``vocab``, ``spec`` (the window geometry of
    :func:`gesture_core.generation.windows.run_windows`) and ``mean_pose`` ((27,) float64).
    """

    #: The backend name (``"trimodal"``, ``"diffusion"``).
    name: str
    #: Audio (s) beyond its newest final frame that streaming gives it by default: each hop is one
    #: window seeded with the last 4 frames sent, its audio zero beyond the lookahead (the model
    #: sees up to 2 s ahead when it is there; what less costs: ``docs/streaming.md``).
    stream_lookahead_s = 0.5

    def __init__(self, path: Path, config: C, vocab: Vocab):
        if config.sample_rate != AUDIO_SAMPLE_RATE or config.fps != GESTURE_FPS:
            raise ModelError(
                f"{path}: model runs at {config.sample_rate} Hz audio / {config.fps} fps, "
                f"the project at {AUDIO_SAMPLE_RATE} Hz / {GESTURE_FPS} fps"
            )
        self.config = config
        self.vocab = vocab
        self.spec = WindowSpec(config.n_poses, config.n_pre_poses, config.fps, config.sample_rate)
        self.mean_pose = np.asarray(config.mean_dir_vec, dtype=np.float64)

    @abstractmethod
    def window_function(self, style: Style) -> Callable[[WindowInput], np.ndarray]:
        """The model-specific step of :meth:`generate`: one window's inputs -> (n_poses, 27) poses
        minus the mean pose. Called once per :meth:`generate` call, so it may hold that call's
        random generator."""

    def describe(self) -> str:
        """A few words on the generation settings, for the debug log."""
        return "default settings"

    def generate(self, speech: SpeechInput, style: Style, seed_poses: np.ndarray | None = None) -> np.ndarray:
        """(speech.n_frames, 27) unit bone directions, TED axes, over the sliding windows of
        :func:`gesture_core.generation.windows.run_windows`; ``seed_poses``: optional
        (n_pre_poses, 27) poses played just before (streaming). ``style``: see the model's module."""
        poses = run_windows(
            self.window_function(style),
            speech.audio,
            self.tokens(speech.words),
            speech.n_frames,
            self.mean_pose,
            self.spec,
            seed_poses=seed_poses,
            amplitude=style.amplitude,
        )
        log.debug(
            "%s: %d frames from %.2f s of audio and %d words (%s)",
            self.name, len(poses), speech.duration, len(speech.words), self.describe(),
        )  # fmt: skip
        return poses

    def speaker_weights(self, speaker: int | None) -> np.ndarray:
        """(n_speakers,) float32 mixture over speaker rows: one-hot, or the average speaker for None
        (the mean of rows 1..n_speakers-1: row 0 is unused in official Trimodal checkpoints)."""
        n = self.config.n_speakers
        w = np.zeros(n, dtype=np.float32)
        if speaker is None:
            rows = np.arange(1, n) if n > 1 else np.arange(1)
            w[rows] = 1.0 / rows.size
        elif 0 <= speaker < n:
            w[speaker] = 1.0
        else:
            raise ConfigError(f"style.speaker: {speaker} is not a speaker of this model (0..{n - 1})")
        return w

    def tokens(self, words: list[Word]) -> list[TimedToken]:
        """Timed token ids of ``words`` (normalised, lowercase; unknown words -> UNK)."""
        return [TimedToken(self.vocab.lookup(w.word), w.start, w.end) for w in words]


# ------------------------------------------------------------------------------ onnxruntime


def select_providers(requested: Sequence[str]) -> list[str]:
    """Providers to pass to onnxruntime: the available ones of ``requested`` (in order), then CPU.

    A name onnxruntime does not know at all raises :class:`ConfigError`; a known provider missing
    from this build (e.g. ``CUDAExecutionProvider`` without a GPU build) logs a warning and is skipped.
    """
    import onnxruntime as ort

    known, available = set(ort.get_all_providers()), set(ort.get_available_providers())
    chosen: list[str] = []
    for name in requested:
        if name not in known:
            raise ConfigError(f"providers: unknown onnxruntime execution provider {name!r}")
        if name not in available:
            log.warning(
                "execution provider %s is not available in this onnxruntime build; falling back", name
            )
        elif name not in chosen:
            chosen.append(name)
    if CPU not in chosen:
        chosen.append(CPU)
    return chosen


def open_session(
    path: Path,
    inputs: Mapping[str, list[int]],
    outputs: Sequence[str],
    providers: list[str],
    threads: int,
    export_module: str,
) -> ort.InferenceSession:
    """An onnxruntime session of ``path``, checked against the expected input shapes (after the
    batch dimension) and output names.

    - providers: execution providers as chosen by :func:`select_providers`.
    - threads: intra-op threads (0: onnxruntime's default).
    - export_module: the module whose CLI writes the file, named in the error when it is missing.

    Raises :class:`ModelError` naming the file when it is missing, unreadable or has another signature.
    """
    import onnxruntime as ort

    if not path.is_file():
        raise ModelError(f"{path}: missing; run `python -m {export_module} {path.parent}`")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), sess_options=opts, providers=providers)
    except Exception as e:  # onnxruntime raises its own exception types for unreadable models
        raise ModelError(f"{path}: onnxruntime cannot load it: {type(e).__name__}: {e}") from e
    got = {i.name: i.shape[1:] for i in session.get_inputs()}
    if set(got) != set(inputs):
        raise ModelError(f"{path}: inputs {sorted(got)}, expected {sorted(inputs)}")
    for name, shape in inputs.items():
        if got[name] != shape:
            raise ModelError(
                f"{path}: input {name!r} has shape {got[name]} after the batch, config.json says {shape}"
            )
    got_outputs = [o.name for o in session.get_outputs()]
    if got_outputs != list(outputs):
        raise ModelError(f"{path}: outputs {got_outputs}, expected {list(outputs)}")
    return session


def configure_cli_logging() -> None:
    """INFO logging for the command-line tools, without the ONNX optimiser's per-pass chatter."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("onnx_ir").setLevel(logging.WARNING)


# --------------------------------------------------------------------------------------------
# Building a learned generator from a checkpoint directory (the learned backends' plug-ins)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointRuntimes:
    """Where a learned backend's two generators live: the ONNX files of a checkpoint directory, the
    onnxruntime class and the PyTorch class (``module:Class``, imported only when used), and the
    module that exports a checkpoint to ONNX. Both classes take the checkpoint directory first; the
    onnxruntime one a ``providers`` list, the PyTorch one a ``device``."""

    onnx_files: tuple[str, ...]
    onnx_class: str
    torch_class: str
    export_module: str


def load_checkpoint_generator(
    backend: str, runtimes: CheckpointRuntimes, checkpoint: Path | None, providers: Sequence[str]
) -> Any:
    """The generator of ``checkpoint`` (None: the backend's shipped weights): on onnxruntime when the
    directory holds the ONNX files, else on PyTorch if installed. Every failure -- missing or
    corrupt checkpoint, missing runtime -- raises :class:`ModelError` saying what to fix."""
    import importlib
    import importlib.util

    from ..weights import default_checkpoint

    checkpoint = checkpoint or default_checkpoint(backend)
    if not checkpoint:
        raise ModelError(f"backend {backend!r} needs a checkpoint directory (config.json, model.safetensors, ...)")
    ckpt = Path(checkpoint).expanduser()
    if not ckpt.is_dir():
        raise ModelError(f"{backend} checkpoint directory {ckpt} does not exist")

    def load(path: str, *args: Any, **kwargs: Any) -> Any:
        module, name = path.split(":")
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    try:
        if all((ckpt / f).is_file() for f in runtimes.onnx_files):
            return load(runtimes.onnx_class, ckpt, providers=list(providers or [CPU]))
        if importlib.util.find_spec("torch") is None:
            raise ModelError(
                f"{backend} checkpoint {ckpt} lacks {' + '.join(runtimes.onnx_files)} and torch is not installed: "
                f"export it with `python -m {runtimes.export_module} {ckpt}` or install the 'torch' extra"
            )
        import torch

        gpu = any(p != CPU for p in providers) and torch.cuda.is_available()
        log.info("%s: no ONNX export in %s, running on PyTorch (%s)", backend, ckpt, "cuda" if gpu else "cpu")
        return load(runtimes.torch_class, ckpt, device="cuda" if gpu else "cpu")
    except GestureError:
        raise
    except Exception as exc:  # a corrupt file can make any loader raise its own exception type
        raise ModelError(f"{backend} checkpoint {ckpt} could not be loaded: {type(exc).__name__}: {exc}") from exc


def learned_backend(
    name: str, description: str, runtimes: CheckpointRuntimes, settings: type | None = None
) -> Any:
    """The plug-in :class:`~gesture_core.models.registry.Backend` of a learned model: it builds the
    generator of a checkpoint directory with :func:`load_checkpoint_generator`."""
    from .registry import Backend, BuildOptions, NoSettings

    def build(options: BuildOptions) -> Any:
        return load_checkpoint_generator(name, runtimes, options.checkpoint, options.providers)

    return Backend(name, description, build, settings=settings or NoSettings, needs_checkpoint=True)
