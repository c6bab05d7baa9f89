"""docs/topics.md stays consistent with contracts.py and the gesture_msgs definitions: every topic
and action documented with its type (and depth), every field of every project message named."""

from __future__ import annotations

import re
from pathlib import Path

from locations import ROOT

from gesture_core import contracts as c

DOC = ROOT / "docs" / "topics.md"
MSGS = ROOT / "ros2_ws" / "src" / "gesture_msgs"


def sections() -> dict[str, str]:
    """Topic or action name -> text of its ``## `name` `` section."""
    parts = re.split(r"^## `([^`]+)`\s*$", DOC.read_text(), flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2]))


def fields(path: Path) -> list[str]:
    """Field names of a .msg / .action file (constants, comments and separators skipped)."""
    names = []
    for line in path.read_text().splitlines():
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2 and "=" not in line.split("#", 1)[0]:
            names.append(parts[1])
    return names


def documented(section: str) -> set[str]:
    """Names in backticks in the first cells of the section's table rows."""
    names = set()
    for row in section.splitlines():
        if row.startswith("|"):
            names |= set(re.findall(r"`([a-z_0-9]+)`", "|".join(row.split("|")[1:3])))
    return names


def test_every_topic_and_action_has_a_section_naming_its_type():
    docs = sections()
    assert set(docs) == set(c.TOPICS) | set(c.ACTIONS), "sections differ from contracts.TOPICS + ACTIONS"
    for name, topic in c.TOPICS.items():
        assert f"`{topic.msg_type}`" in docs[name], f"{name}: type {topic.msg_type} not named"
    for name, action in c.ACTIONS.items():
        assert f"`{action.action_type}`" in docs[name], f"{name}: type {action.action_type} not named"
    rows = {
        line.split("|")[1].strip(): line for line in DOC.read_text().splitlines() if line.startswith("| `")
    }
    for topic in c.TOPICS.values():
        row = rows.get(f"`{topic.name}`", "")
        assert f"`{topic.msg_type}`" in row and f"| {topic.depth} |" in row, (
            f"{topic.name}: summary-table row"
        )


def test_every_field_of_every_project_message_is_documented():
    docs = sections()
    words_section = docs[c.WORDS.name]
    for topic in c.TOPICS.values():
        if not topic.msg_type.startswith("gesture_msgs/"):
            continue
        name = topic.msg_type.split("/")[-1]
        missing = set(fields(MSGS / "msg" / f"{name}.msg")) - documented(docs[topic.name])
        assert not missing, f"{topic.name}: fields {sorted(missing)} of {name}.msg are not in its table"
    missing = set(fields(MSGS / "msg" / "Word.msg")) - documented(words_section)
    assert not missing, f"Word.msg fields {sorted(missing)} are not documented under speech/words"
    for action in c.ACTIONS.values():
        name = action.action_type.split("/")[-1]
        missing = set(fields(MSGS / "action" / f"{name}.action")) - documented(docs[action.name])
        assert not missing, f"{action.name}: fields {sorted(missing)} of {name}.action are not in its table"


def test_utterance_event_codes_are_documented_as_defined():
    text = (MSGS / "msg" / "UtteranceEvent.msg").read_text()
    for code, event in enumerate(c.UTTERANCE_EVENTS):
        assert re.search(rf"uint8 {event.upper()} = {code}\b", text), event
        assert f"`{event.upper()}` ({code})" in sections()[c.UTTERANCE.name]
