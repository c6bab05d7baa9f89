"""A word vocabulary: words <-> integer token ids, saved as JSON.

The special tokens come first, as in the Trimodal model's vocabulary: ``PAD`` 0 (no word at this
frame), ``SOS`` 1, ``EOS`` 2, ``UNK`` 3 (a word the vocabulary does not know). Words are looked up
after :func:`normalize_word` (lowercase, letters and digits only), so a vocabulary built from
normalised words matches ASR or TTS output written with capitals and punctuation.

File format (``gesture.vocab/1``)::

    {"schema": "gesture.vocab/1", "name": "words", "words": ["<PAD>", "<SOS>", "<EOS>", "<UNK>", "the", ...]}

where ``words[i]`` is the word of token id ``i``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from .errors import DataError

SCHEMA = "gesture.vocab/1"

PAD = 0
SOS = 1
EOS = 2
UNK = 3
#: The special tokens, in id order.
SPECIAL_TOKENS = ("<PAD>", "<SOS>", "<EOS>", "<UNK>")


def normalize_word(word: str) -> str:
    """Lowercase ``word`` and keep only its letters and digits (``"Don't,"`` -> ``"dont"``)."""
    return "".join(ch for ch in word.lower() if ch.isalnum())


class Vocab:
    """An ordered word list; a word's id is its position. Ids 0-3 are the special tokens."""

    def __init__(self, words: Iterable[str] = (), name: str = "words"):
        """Build a vocabulary of the special tokens followed by ``words`` (duplicates ignored)."""
        self.name = name
        self._words: list[str] = list(SPECIAL_TOKENS)
        self._index: dict[str, int] = {w: i for i, w in enumerate(self._words)}
        for w in words:
            self.add(w)

    def add(self, word: str) -> int:
        """Add ``word`` if it is new; return its id."""
        if not isinstance(word, str) or not word:
            raise DataError(f"vocabulary {self.name!r}: words must be non-empty strings, got {word!r}")
        if word not in self._index:
            self._index[word] = len(self._words)
            self._words.append(word)
        return self._index[word]

    def __len__(self) -> int:
        return len(self._words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vocab) and self.name == other.name and self._words == other._words

    def index(self, word: str) -> int:
        """Id of ``word`` as given (no normalisation), ``UNK`` if unknown."""
        return self._index.get(word, UNK)

    def lookup(self, word: str) -> int:
        """Id of ``normalize_word(word)``, ``UNK`` if unknown or empty after normalisation."""
        return self.index(normalize_word(word))

    def word(self, token_id: int) -> str:
        """The word of ``token_id``."""
        if not 0 <= token_id < len(self._words):
            raise DataError(f"vocabulary {self.name!r}: token id {token_id} outside 0..{len(self._words) - 1}")
        return self._words[token_id]

    @property
    def words(self) -> list[str]:
        """All words in id order, special tokens included (a copy)."""
        return list(self._words)

    # ---------------------------------------------------------------------------------- JSON

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "name": self.name, "words": list(self._words)}

    @classmethod
    def from_json(cls, data: object, source: str = "vocabulary") -> Vocab:
        """Parse :meth:`to_json` output; ``source`` names the file in error messages."""
        if not isinstance(data, dict):
            raise DataError(f"{source}: expected a JSON object, got {type(data).__name__}")
        if data.get("schema") != SCHEMA:
            raise DataError(f"{source}: schema must be {SCHEMA!r}, got {data.get('schema')!r}")
        words = data.get("words")
        if not isinstance(words, list) or tuple(words[: len(SPECIAL_TOKENS)]) != SPECIAL_TOKENS:
            raise DataError(f"{source}: 'words' must be a list starting with {list(SPECIAL_TOKENS)}")
        name = data.get("name", "words")
        if not isinstance(name, str):
            raise DataError(f"{source}: 'name' must be a string, got {name!r}")
        vocab = cls(name=name)
        for i, w in enumerate(words[len(SPECIAL_TOKENS) :], start=len(SPECIAL_TOKENS)):
            if not isinstance(w, str) or not w or w in vocab:
                raise DataError(f"{source}: words[{i}] = {w!r} is empty, not a string or a duplicate")
            vocab.add(w)
        return vocab

    def save(self, path: str | Path) -> None:
        """Write the vocabulary as JSON (UTF-8)."""
        Path(path).write_text(json.dumps(self.to_json(), ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Vocab:
        """Read a vocabulary JSON file; raises :class:`DataError` naming the file if it is bad."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise DataError(f"{path}: cannot read vocabulary: {e}") from e
        return cls.from_json(data, source=str(path))
