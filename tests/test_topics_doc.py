"""docs/topics.md stays consistent with contracts.py: every topic documented, every JSON example valid."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from gesture_core import contracts as c

std_msgs = pytest.importorskip("std_msgs.msg")

DOC = Path(__file__).resolve().parents[1] / "docs" / "topics.md"
DECODERS = {
    c.UTTERANCE_SCHEMA: c.decode_utterance,
    c.WORDS_SCHEMA: c.decode_words,
    c.FEATURES_SCHEMA: c.decode_features,
}


def sections() -> dict[str, str]:
    """Topic name -> text of its ``## `name` `` section."""
    parts = re.split(r"^## `([^`]+)`\s*$", DOC.read_text(), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def test_every_topic_has_a_section_naming_its_type():
    docs = sections()
    assert set(docs) == set(c.TOPICS), "sections differ from contracts.TOPICS"
    for name, topic in c.TOPICS.items():
        assert f"`{topic.msg_type}`" in docs[name], f"{name}: type {topic.msg_type} not named"
    rows = {line.split("|")[1].strip(): line for line in DOC.read_text().splitlines() if line.startswith("| `")}
    for topic in c.TOPICS.values():
        row = rows.get(f"`{topic.name}`", "")
        assert f"| {topic.depth} |" in row, f"{topic.name}: no summary-table row with depth {topic.depth}"


def test_every_json_example_decodes_with_its_contract():
    blocks = re.findall(r"```json\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    schemas = set()
    for block in blocks:
        schema = json.loads(block)["schema"]
        DECODERS[schema](std_msgs.String(data=block))  # raises ContractError if the example is invalid
        schemas.add(schema)
    assert schemas == set(DECODERS), "every JSON schema needs an example"
