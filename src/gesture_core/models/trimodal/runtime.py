"""The Trimodal generator on onnxruntime: no torch needed (imports numpy and onnxruntime only).

Loads ``model.onnx`` (written by ``python -m gesture_core.models.trimodal.export CKPT_DIR``) plus
the checkpoint's JSON metadata. Execution providers are chosen by name, in order of preference;
a provider this onnxruntime build lacks (e.g. ``CUDAExecutionProvider`` without a GPU build) is
skipped with a warning, and ``CPUExecutionProvider`` is always the last resort.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort

from ...errors import ConfigError, ModelError
from .config import ONNX_FILE, ONNX_INPUTS, ONNX_OUTPUT, read_meta
from .inference import TrimodalGeneratorBase

log = logging.getLogger(__name__)

CPU = "CPUExecutionProvider"


def select_providers(requested: Sequence[str]) -> list[str]:
    """Providers to pass to onnxruntime: the available ones of ``requested`` (in order), then CPU.

    A name onnxruntime does not know at all raises :class:`ConfigError`; a known provider missing
    from this build logs a warning and is skipped.
    """
    known, available = set(ort.get_all_providers()), set(ort.get_available_providers())
    chosen: list[str] = []
    for name in requested:
        if name not in known:
            raise ConfigError(f"providers: unknown onnxruntime execution provider {name!r}")
        if name not in available:
            log.warning("execution provider %s is not available in this onnxruntime build; falling back", name)
        elif name not in chosen:
            chosen.append(name)
    if CPU not in chosen:
        chosen.append(CPU)
    return chosen


class OnnxTrimodalGenerator(TrimodalGeneratorBase):
    """Gesture generator running a checkpoint's ``model.onnx`` with onnxruntime.

    - ckpt_dir: a project-format checkpoint directory containing ``model.onnx``.
    - providers: onnxruntime execution provider names in order of preference.
    - threads: intra-op threads (0: onnxruntime's default).

    Raises :class:`ModelError` for a missing or corrupt checkpoint or ONNX file.
    """

    def __init__(self, ckpt_dir: str | Path, providers: Sequence[str] = (CPU,), threads: int = 0):
        meta = read_meta(ckpt_dir)
        super().__init__(meta)
        path = meta.path / ONNX_FILE
        if not path.is_file():
            raise ModelError(f"{path}: missing; run `python -m gesture_core.models.trimodal.export {meta.path}`")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=select_providers(providers))
        except Exception as e:  # onnxruntime raises its own exception types for unreadable models
            raise ModelError(f"{path}: onnxruntime cannot load it: {type(e).__name__}: {e}") from e
        self._check_signature(path)
        log.info("trimodal onnx: %s on %s", path, self.session.get_providers())

    @property
    def providers(self) -> list[str]:
        """Providers the session actually uses."""
        return self.session.get_providers()

    def _check_signature(self, path: Path) -> None:
        cfg = self.config
        want = {
            "pre_seq": [cfg.n_poses, cfg.pose_dim + 1],
            "text_ids": [cfg.n_poses],
            "audio": [cfg.audio_samples],
            "speaker_weights": [cfg.n_speakers],
            "eps": [cfg.z_dim],
        }
        got = {i.name: i.shape[1:] for i in self.session.get_inputs()}
        if set(got) != set(ONNX_INPUTS):
            raise ModelError(f"{path}: inputs {sorted(got)}, expected {sorted(ONNX_INPUTS)}")
        for name, shape in want.items():
            if got[name] != shape:
                raise ModelError(f"{path}: input {name!r} has shape {got[name]} after the batch, config.json says {shape}")
        if [o.name for o in self.session.get_outputs()] != [ONNX_OUTPUT]:
            raise ModelError(f"{path}: expected one output {ONNX_OUTPUT!r}")

    def run_window(
        self, pre_seq: np.ndarray, text_ids: np.ndarray, audio: np.ndarray, speaker_weights: np.ndarray, eps: np.ndarray
    ) -> np.ndarray:
        feeds = {
            "pre_seq": np.asarray(pre_seq, dtype=np.float32),
            "text_ids": np.asarray(text_ids, dtype=np.int64),
            "audio": np.asarray(audio, dtype=np.float32),
            "speaker_weights": np.asarray(speaker_weights, dtype=np.float32),
            "eps": np.asarray(eps, dtype=np.float32),
        }
        return self.session.run([ONNX_OUTPUT], feeds)[0]
