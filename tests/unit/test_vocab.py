"""The word vocabulary: special tokens, lookup with normalisation, JSON round trip and validation."""

from __future__ import annotations

import json

import pytest

from gesture_core.errors import DataError
from gesture_core.vocab import EOS, PAD, SOS, UNK, Vocab, normalize_word


def test_special_tokens_come_first_and_words_follow_in_order():
    v = Vocab(["hello", "world", "hello"])
    assert (PAD, SOS, EOS, UNK) == (0, 1, 2, 3)
    assert v.words == ["<PAD>", "<SOS>", "<EOS>", "<UNK>", "hello", "world"]
    assert v.index("world") == 5 and v.word(5) == "world"
    assert v.index("nope") == UNK


def test_lookup_normalises_case_and_punctuation():
    v = Vocab(["dont", "robot", "세계"])
    assert normalize_word("Don't,") == "dont"
    assert v.lookup("ROBOT!") == v.index("robot")
    assert v.lookup("Don't") == v.index("dont")
    assert v.lookup("세계.") == v.index("세계")  # not only ASCII
    assert v.lookup("...") == UNK


def test_json_round_trip(tmp_path):
    v = Vocab(["a", "b", "ç"], name="ted")
    v.save(tmp_path / "v.json")
    back = Vocab.load(tmp_path / "v.json")
    assert back == v and back.name == "ted"


@pytest.mark.parametrize(
    "doc, match",
    [
        ({"schema": "other", "words": []}, "schema"),
        ({"schema": "gesture.vocab/1", "words": ["<PAD>", "x"]}, "words"),
        ({"schema": "gesture.vocab/1", "words": ["<PAD>", "<SOS>", "<EOS>", "<UNK>", "a", "a"]}, r"words\[5\]"),
        ({"schema": "gesture.vocab/1", "words": ["<PAD>", "<SOS>", "<EOS>", "<UNK>", 7]}, r"words\[4\]"),
    ],
)
def test_bad_files_name_the_problem(tmp_path, doc, match):
    path = tmp_path / "v.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=match):
        Vocab.load(path)


def test_unreadable_file_names_the_path(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(DataError, match="broken.json"):
        Vocab.load(path)
    with pytest.raises(DataError, match="token id 9"):
        Vocab().word(9)
