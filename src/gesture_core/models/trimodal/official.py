"""Convert the authors' pretrained Trimodal checkpoint into the project format.

    gesture-convert-trimodal multimodal_context_checkpoint_best.bin OUT_DIR [--onnx]
    python -m gesture_core.models.trimodal.official IN.bin OUT_DIR [--onnx]

The official file is a ``torch.save``-pickled dict (``args``, ``epoch``, ``lang_model``,
``speaker_model``, ``pose_dim``, ``gen_dict``, ``dis_dict``). Unpickling runs code named by the
file, so it is loaded with torch's restricted ``weights_only`` unpickler, which allows only:

- what torch needs to rebuild tensors (storages, ``torch._utils._rebuild_tensor_v2``,
  ``collections.OrderedDict``, ...; torch's own allowlist),
- ``model.vocab.Vocab``, mapped to the attribute-only :class:`OfficialVocab` (never the authors' code),
- ``argparse.Namespace`` (the training arguments),
- float32/float64 numpy arrays (``Vocab.word_embedding_weights``).

Any other class or function in the file raises :class:`ModelError` naming it, before anything of it
runs. The conversion happens once; the project never unpickles at run time.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import pickle
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import ConfigError, GestureError, ModelError
from ...vocab import SPECIAL_TOKENS, Vocab
from ..common import configure_cli_logging
from .checkpoint import save_checkpoint
from .config import CheckpointMeta, TrimodalConfig
from .export import export_checkpoint
from .model import PoseGenerator

log = logging.getLogger(__name__)


class OfficialVocab:
    """Stand-in for the authors' ``model.vocab.Vocab``: the unpickler only sets its attributes.

    Attributes: ``name``, ``trimmed``, ``word2index`` (str -> int), ``word2count``, ``index2word``
    (int -> str), ``n_words``, ``word_embedding_weights`` ((n_words, 300) float32 array or None).
    """

    name: str
    word2index: dict[str, int]
    index2word: dict[int, str]
    n_words: int
    word_embedding_weights: np.ndarray | None = None


def _allowed_globals() -> list[Any]:
    """The classes and functions the official file may name, besides torch's tensor machinery."""
    reconstruct = np.zeros(1).__reduce__()[0]  # numpy's array rebuild function, whatever its module
    allowed: list[Any] = [
        (OfficialVocab, "model.vocab.Vocab"),
        argparse.Namespace,
        (reconstruct, "numpy.core.multiarray._reconstruct"),  # numpy < 2 (the official file)
        (reconstruct, "numpy._core.multiarray._reconstruct"),  # numpy >= 2
        np.ndarray,
        np.dtype,
    ]
    for dt in (np.float32, np.float64):
        dtype_class = type(np.dtype(dt))  # numpy.dtypes.Float32DType: `BUILD` sets a dtype's state
        allowed.append((dtype_class, f"numpy.dtypes.{dtype_class.__name__}"))
    return allowed


def _refused_what(message: str) -> str:
    """The class or function a ``weights_only`` unpickling error names, else its reason."""
    for pattern in (r"GLOBAL (\S+)", r"got <class '([^']+)'>", r"WeightsUnpickler error:\s*([^\n]+)"):
        match = re.search(pattern, message)
        if match:
            return match.group(1)
    return message.splitlines()[0]


def load_official(path: str | Path) -> dict[str, Any]:
    """Unpickle the official checkpoint with the restricted unpickler (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: official checkpoint file does not exist")
    try:
        with torch.serialization.safe_globals(_allowed_globals()):
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ModelError(
            f"{path}: refused to unpickle {_refused_what(str(e))}: only tensors, model.vocab.Vocab, "
            "argparse.Namespace and float numpy arrays are allowed in the official checkpoint"
        ) from None
    except Exception as e:  # truncated zip, bad magic number, ...
        raise ModelError(f"{path}: not a readable torch checkpoint: {type(e).__name__}: {e}") from e
    if not isinstance(ckpt, dict):
        raise ModelError(f"{path}: expected a dict, got {type(ckpt).__name__}")
    for key, kind in (("args", argparse.Namespace), ("gen_dict", dict), ("lang_model", OfficialVocab),
                      ("speaker_model", OfficialVocab)):  # fmt: skip
        if not isinstance(ckpt.get(key), kind):
            raise ModelError(f"{path}: '{key}' must be a {kind.__name__}, got {type(ckpt.get(key)).__name__}")
    return ckpt


def _config_from_args(args: argparse.Namespace, gen_dict: dict[str, Any], path: Path) -> TrimodalConfig:
    a = vars(args)
    for key, want in (("z_type", "speaker"), ("input_context", "both")):
        if a.get(key) != want:
            raise ModelError(f"{path}: args.{key} = {a.get(key)!r}; only {want!r} models are supported")
    for key in ("hidden_size", "n_layers", "dropout_prob", "n_poses", "n_pre_poses", "wordembed_dim", "mean_dir_vec"):
        if key not in a:
            raise ModelError(f"{path}: args.{key} is missing")
    for key in ("text_encoder.embedding.weight", "speaker_embedding.0.weight"):
        if not isinstance(gen_dict.get(key), torch.Tensor) or gen_dict[key].ndim != 2:
            raise ModelError(f"{path}: gen_dict[{key!r}] is missing or not a matrix")
    try:
        mean = np.asarray(a["mean_dir_vec"], dtype=np.float64).reshape(-1)  # stored as [[v0], [v1], ...]
        return TrimodalConfig(
            n_words=int(gen_dict["text_encoder.embedding.weight"].shape[0]),
            n_speakers=int(gen_dict["speaker_embedding.0.weight"].shape[0]),
            hidden_size=a["hidden_size"],
            n_layers=a["n_layers"],
            dropout=float(a["dropout_prob"]),
            n_poses=a["n_poses"],
            n_pre_poses=a["n_pre_poses"],
            wordembed_dim=a["wordembed_dim"],
            fps=float(a.get("motion_resampling_framerate", 15)),
            mean_dir_vec=mean.tolist(),
        )
    except (ConfigError, TypeError, ValueError) as e:
        raise ModelError(f"{path}: args: {e}") from e


def _word_vocab(lang: OfficialVocab, path: Path) -> Vocab:
    words = [lang.index2word.get(i) for i in range(lang.n_words)]
    for i, w in enumerate(words):
        if not isinstance(w, str) or not w:
            raise ModelError(f"{path}: lang_model.index2word[{i}] is missing or not a string")
    if tuple(words[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
        raise ModelError(f"{path}: lang_model ids 0-3 are {words[:4]}, expected {list(SPECIAL_TOKENS)}")
    vocab = Vocab(words[len(SPECIAL_TOKENS) :], name=str(getattr(lang, "name", "words")))
    if len(vocab) != lang.n_words:
        raise ModelError(f"{path}: lang_model.index2word has duplicate words")
    return vocab


def _speaker_names(speakers: OfficialVocab, n_rows: int, path: Path) -> list[str | None]:
    names: list[str | None] = [None] * n_rows  # row 0 (and any unlisted row) has no speaker
    for vid, idx in speakers.word2index.items():
        if not isinstance(idx, int) or not 0 <= idx < n_rows:
            raise ModelError(f"{path}: speaker_model.word2index[{vid!r}] = {idx!r} outside 0..{n_rows - 1}")
        names[idx] = str(vid)
    return names


def _project_key(official_key: str) -> str:
    """Official (``torch.nn.utils.weight_norm``) name -> ours (``parametrizations.weight_norm``)."""
    if official_key.endswith(".weight_g"):
        return official_key[: -len("weight_g")] + "parametrizations.weight.original0"
    if official_key.endswith(".weight_v"):
        return official_key[: -len("weight_v")] + "parametrizations.weight.original1"
    return official_key


def _load_gen_dict(model: PoseGenerator, gen_dict: dict[str, Any], path: Path) -> None:
    """Load the official generator state dict into ``model``, checking every name, shape and alias."""
    state: dict[str, torch.Tensor] = {}
    origin: dict[str, str] = {}
    for key, value in gen_dict.items():
        if not isinstance(value, torch.Tensor):
            raise ModelError(f"{path}: gen_dict[{key!r}] is a {type(value).__name__}, not a tensor")
        state[_project_key(key)] = value
        origin[_project_key(key)] = key
    expected = model.state_dict()
    missing = sorted(k for k in set(expected) - set(state) if not k.endswith("num_batches_tracked"))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ModelError(f"{path}: gen_dict does not fit the model: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise ModelError(
                f"{path}: gen_dict[{origin[key]!r}] has shape {tuple(value.shape)}, expected {tuple(expected[key].shape)}"
            )
    # The TCN stores each conv under two names (conv1 = net.0); both must hold the same values.
    aliases: dict[int, list[str]] = defaultdict(list)
    for key, value in expected.items():
        aliases[value.data_ptr()].append(key)
    for names in aliases.values():
        present = [n for n in names if n in state]
        for n in present[1:]:
            if not torch.equal(state[n], state[present[0]]):
                raise ModelError(f"{path}: gen_dict[{origin[n]!r}] differs from its alias {origin[present[0]]!r}")
    for key in set(expected) - set(state):
        state[key] = expected[key]  # num_batches_tracked of checkpoints saved before PyTorch 0.4.1
    model.load_state_dict(state, strict=True)


def convert(in_path: str | Path, out_dir: str | Path) -> CheckpointMeta:
    """Convert the official checkpoint ``in_path`` into a project checkpoint directory ``out_dir``."""
    in_path = Path(in_path)
    ckpt = load_official(in_path)
    gen_dict = ckpt["gen_dict"]
    cfg = _config_from_args(ckpt["args"], gen_dict, in_path)
    vocab = _word_vocab(ckpt["lang_model"], in_path)
    if len(vocab) != cfg.n_words:
        raise ModelError(f"{in_path}: lang_model has {len(vocab)} words, the embedding {cfg.n_words} rows")
    speakers = _speaker_names(ckpt["speaker_model"], cfg.n_speakers, in_path)

    model = PoseGenerator(cfg)
    _load_gen_dict(model, gen_dict, in_path)

    emb = getattr(ckpt["lang_model"], "word_embedding_weights", None)
    if emb is not None:
        same = np.shape(emb) == tuple(model.text_encoder.embedding.weight.shape) and np.array_equal(
            np.asarray(emb, dtype=np.float32), model.text_encoder.embedding.weight.detach().numpy()
        )
        log.info("lang_model.word_embedding_weights %s the generator's word embedding (which is used)",
                 "equal" if same else "differ from")  # fmt: skip

    sha = hashlib.sha256(in_path.read_bytes()).hexdigest()
    epoch = ckpt.get("epoch")
    provenance = {
        "source": "official Trimodal checkpoint (Yoon et al. 2020, ai4r/Gesture-Generation-from-Trimodal-Context)",
        "file": in_path.name,
        "sha256": sha,
        "epoch": epoch if isinstance(epoch, int) else None,
        "converted_by": __name__,
    }
    return save_checkpoint(out_dir, model.eval(), vocab, speakers, provenance)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Convert the official Trimodal checkpoint (multimodal_context_checkpoint_best.bin) "
        "into a project checkpoint directory."
    )
    parser.add_argument("in_path", type=Path, help="the official .bin file")
    parser.add_argument("out_dir", type=Path, help="directory to write (config.json, model.safetensors, ...)")
    parser.add_argument("--onnx", action="store_true", help="also export OUT_DIR/model.onnx")
    args = parser.parse_args(argv)
    configure_cli_logging()
    try:
        meta = convert(args.in_path, args.out_dir)
        if args.onnx:
            export_checkpoint(meta.path)
    except GestureError as e:
        log.error("%s", e)
        return 1
    print(meta.path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
