"""Conversion of the authors' checkpoint layout (``multimodal_context_checkpoint_best.bin``).

The fixture builds a checkpoint exactly as the authors' code pickles it: a dict with
``argparse.Namespace`` args, ``model.vocab.Vocab`` objects (a stand-in class registered as
``model.vocab`` in ``sys.modules`` only while the file is written), a full-size generator state dict
with ``weight_g``/``weight_v`` names and the ``net.0``/``net.4`` aliases, and a dummy discriminator;
saved in both the legacy (PyTorch < 1.6, the official file's era) and the zip format.
"""

from __future__ import annotations

import argparse
import decimal
import hashlib
import logging
import os
import sys
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch

from gesture_core import skeleton
from gesture_core.contracts import Word
from gesture_core.errors import ModelError
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.models.trimodal import official
from gesture_core.models.trimodal.checkpoint import load_model, save_checkpoint
from gesture_core.models.trimodal.config import TrimodalConfig
from gesture_core.models.trimodal.generator import TrimodalGenerator
from gesture_core.models.trimodal.model import PoseGenerator
from gesture_core.vocab import Vocab

WORDS = ["so", "we", "can", "help", "millions", "of", "teens"]
VIDEOS = ["vid_a", "vid_b", "vid_c"]
FORMATS = {"legacy": False, "zip": True}


class AuthorsVocab:
    """Behaves like the authors' ``model.vocab.Vocab`` (attributes and id assignment)."""

    def __init__(self, name: str, insert_default_tokens: bool = True):
        self.name = name
        self.trimmed = False
        self.word_embedding_weights = None
        self.word2index: dict[str, int] = {}
        self.word2count: dict[str, int] = {}
        if insert_default_tokens:
            self.index2word = {0: "<PAD>", 1: "<SOS>", 2: "<EOS>", 3: "<UNK>"}
        else:
            self.index2word = {3: "<UNK>"}
        self.n_words = len(self.index2word)

    def index_word(self, word: str) -> None:
        if word not in self.word2index:
            self.word2index[word] = self.n_words
            self.word2count[word] = 1
            self.index2word[self.n_words] = word
            self.n_words += 1


@pytest.fixture
def authors_module(monkeypatch):
    """Register ``AuthorsVocab`` as ``model.vocab.Vocab`` so pickle writes that name."""
    vocab_mod = types.ModuleType("model.vocab")
    cls = type("Vocab", (AuthorsVocab,), {"__module__": "model.vocab"})
    vocab_mod.Vocab = cls
    pkg = types.ModuleType("model")
    pkg.vocab = vocab_mod
    monkeypatch.setitem(sys.modules, "model", pkg)
    monkeypatch.setitem(sys.modules, "model.vocab", vocab_mod)
    return cls


def official_gen_dict(model: PoseGenerator) -> OrderedDict:
    """Our state dict under the authors' names (``torch.nn.utils.weight_norm``: weight_g / weight_v)."""
    renamed = OrderedDict()
    for k, v in model.state_dict().items():
        k = k.replace(".parametrizations.weight.original0", ".weight_g")
        renamed[k.replace(".parametrizations.weight.original1", ".weight_v")] = v
    return renamed


def official_args(**overrides) -> argparse.Namespace:
    args = dict(
        model="multimodal_context", hidden_size=300, n_layers=4, dropout_prob=0.3, z_type="speaker",
        input_context="both", wordembed_dim=300, n_poses=34, n_pre_poses=4, motion_resampling_framerate=15,
        mean_dir_vec=[[float(v)] for v in skeleton.MEAN_DIR_VEC], freeze_wordembed=False, epochs=100,
        loss_regression_weight=500, name="multimodal_context",
    )  # fmt: skip
    args.update(overrides)
    return argparse.Namespace(**args)


def make_official(authors_module, path, zip_format: bool, **arg_overrides):
    """Write an official-layout checkpoint of a random full-size model; return the model."""
    torch.manual_seed(3)
    lang = authors_module("words")
    for w in WORDS:
        lang.index_word(w)
    speakers = authors_module("vid", insert_default_tokens=False)
    for v in VIDEOS:
        speakers.index_word(v)
    model = PoseGenerator(TrimodalConfig(n_words=lang.n_words, n_speakers=speakers.n_words)).eval()
    for name, buf in model.named_buffers():  # trained-looking BatchNorm statistics
        if name.endswith("running_mean") or name.endswith("running_var"):
            buf.copy_(torch.rand_like(buf) + 0.5)
    lang.word_embedding_weights = model.text_encoder.embedding.weight.detach().numpy().copy()
    ckpt = {
        "args": official_args(**arg_overrides),
        "epoch": 99,
        "lang_model": lang,
        "speaker_model": speakers,
        "pose_dim": 27,
        "gen_dict": official_gen_dict(model),
        "dis_dict": OrderedDict(w=torch.randn(4, 4)),
    }
    torch.save(ckpt, path, _use_new_zipfile_serialization=zip_format)
    return model, ckpt


@pytest.mark.parametrize("fmt", FORMATS)
def test_conversion_preserves_every_tensor_and_the_output(authors_module, tmp_path, fmt, caplog):
    src = tmp_path / "multimodal_context_checkpoint_best.bin"
    model, ckpt = make_official(authors_module, src, FORMATS[fmt])
    out = tmp_path / "converted"
    with caplog.at_level(logging.INFO, logger=official.__name__):
        assert official.main([str(src), str(out)]) == 0
    assert "word_embedding_weights equal" in caplog.text

    converted, meta = load_model(out)
    state = converted.state_dict()
    for key, value in ckpt["gen_dict"].items():
        ours = official._project_key(key)
        assert torch.equal(state[ours], value), key
    assert len(ckpt["gen_dict"]) == len(state)

    cfg = meta.config
    assert (cfg.n_words, cfg.n_speakers, cfg.hidden_size, cfg.n_layers) == (len(WORDS) + 4, 4, 300, 4)
    np.testing.assert_allclose(cfg.mean_dir_vec, skeleton.MEAN_DIR_VEC)
    assert meta.vocab.words[4:] == WORDS
    assert meta.speakers == [None, *VIDEOS]
    assert meta.provenance["sha256"] == hashlib.sha256(src.read_bytes()).hexdigest()
    assert meta.provenance["epoch"] == 99

    # Same numbers out of one window step and out of the whole generator.
    g = torch.Generator().manual_seed(0)
    inputs = (
        torch.zeros(2, 34, 28),
        torch.randint(0, cfg.n_words, (2, 34), generator=g),
        0.1 * torch.randn(2, 36266, generator=g),
        torch.eye(4)[[1, 3]],
        torch.randn(2, 16, generator=g),
    )
    with torch.inference_mode():
        assert torch.equal(converted(*inputs), model(*inputs))
    reference = tmp_path / "reference"
    save_checkpoint(reference, model, Vocab(WORDS))
    sp = SpeechInput(
        0.1 * np.random.default_rng(0).standard_normal(3 * 16000).astype(np.float32),
        [Word("So", 0.1, 0.3), Word("we", 0.4, 0.5), Word("help", 1.2, 1.5)],
    )
    np.testing.assert_array_equal(
        TrimodalGenerator(out).generate(sp, Style(speaker=2, seed=5)),
        TrimodalGenerator(reference).generate(sp, Style(speaker=2, seed=5)),
    )


class RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class WritesFile:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    "payload, refused",
    [
        (lambda m: RunsShell(m), r"(posix|os)\.system"),
        (lambda m: WritesFile(m), r"exec"),
        (lambda m: decimal.Decimal("1.5"), r"decimal\.Decimal"),  # harmless, but not listed
        (lambda m: np.array([m], dtype=object), r"numpy\.dtypes\.ObjectDType"),  # object arrays are not plain data
    ],
)
def test_other_classes_are_refused_without_running(authors_module, tmp_path, fmt, payload, refused):
    marker = tmp_path / "executed"
    path = tmp_path / "evil.bin"
    _, ckpt = make_official(authors_module, tmp_path / "good.bin", FORMATS[fmt])
    ckpt["args"].extra = payload(marker)
    torch.save(ckpt, path, _use_new_zipfile_serialization=FORMATS[fmt])
    with pytest.raises(ModelError, match=f"evil.bin: refused to unpickle {refused}"):
        official.convert(path, tmp_path / "out")
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


def test_unsupported_or_broken_files_are_reported(authors_module, tmp_path):
    path = tmp_path / "random_z.bin"
    make_official(authors_module, path, True, z_type="random")
    with pytest.raises(ModelError, match="args.z_type"):
        official.convert(path, tmp_path / "o1")

    path = tmp_path / "truncated.bin"
    make_official(authors_module, path, True)
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(ModelError, match="truncated.bin: not a readable torch checkpoint"):
        official.convert(path, tmp_path / "o2")
    assert official.main([str(path), str(tmp_path / "o2")]) == 1

    with pytest.raises(ModelError, match="does not exist"):
        official.convert(tmp_path / "missing.bin", tmp_path / "o3")


def test_inconsistent_state_dicts_are_reported(authors_module, tmp_path):
    path = tmp_path / "c.bin"
    _, ckpt = make_official(authors_module, path, True)

    alias = "text_encoder.tcn.network.1.net.4.weight_v"
    ckpt["gen_dict"][alias] = ckpt["gen_dict"][alias].clone() + 1.0
    torch.save(ckpt, path)
    with pytest.raises(ModelError, match=r"network\.1\.(net\.4|conv2)\.weight_v.* differs from its alias"):
        official.convert(path, tmp_path / "o1")

    del ckpt["gen_dict"]["out.2.bias"]
    torch.save(ckpt, path)
    with pytest.raises(ModelError, match=r"missing \['out\.2\.bias'\]"):
        official.convert(path, tmp_path / "o2")
