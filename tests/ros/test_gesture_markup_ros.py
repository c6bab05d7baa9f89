"""Gesture markup and the gesture layer through the nodes: speech_source (espeak-ng) -> gesture_generator.

One graph, two real node processes over DDS. A ``speech/say`` text and a ``say`` action goal carry
NAOqi-style markup; the markup must never be spoken (utterance text, words), must land on the
words (``gesture``, ``suppress``; ``stress`` from espeak-ng), an unknown gesture name must be
logged with the valid names, and the generator must publish the planned strokes with its poses:
the lexicon wave on the first word "Hello" exactly on its stressed syllable (the speech source
delays the audio so that the wave is prepared in time), the markup nod on its word.
"""

from __future__ import annotations

from collections import defaultdict

import pytest

from gesture_core import contracts as c
from gesture_core.gestures.layer import GestureLayer
from gesture_core.speech.word_timing import split_words

pytestmark = pytest.mark.ros
String = pytest.importorskip("std_msgs.msg").String
msgs = pytest.importorskip("gesture_msgs.msg")
Say = pytest.importorskip("gesture_msgs.action").Say

TEXT = "Hello! I will ^start(nod) show you ^start(salute) something, ^mode(disabled) very calm ^mode(contextual) now."
PLAIN = "Hello! I will show you something, very calm now."
GOAL = "^run(big) Thank you."
TIMEOUT = 90.0


def test_markup_is_parsed_spoken_plain_and_gestured_with_strokes(ros) -> None:
    events: dict[str, c.UtteranceEvent] = {}
    words: dict[str, list[c.Word]] = {}
    poses: dict[str, list[c.GestureSequence]] = defaultdict(list)
    node = ros.node
    node.create_subscription(
        msgs.UtteranceEvent, c.UTTERANCE.name,
        lambda m: events.setdefault((ev := c.decode_utterance(m)).text, ev), 50,
    )  # fmt: skip
    node.create_subscription(
        msgs.Words, c.WORDS.name, lambda m: words.setdefault((w := c.decode_words(m)).utterance_id, w.words), 50
    )
    node.create_subscription(
        msgs.GestureSequence, c.HUMAN_POSE.name,
        lambda m: poses[(s := c.decode_human_pose(m)).utterance_id].append(s), 50,
    )  # fmt: skip
    source = ros.start("gesture_ros.speech_source_node", {"mode": "tts", "play_audio": False})
    ros.start("gesture_ros.generator_node")
    say = node.create_publisher(String, c.SAY.name, 10)
    ros.wait_for_subscribers(say, timeout=TIMEOUT)
    ros.wait_for_subscribers(ros.publisher(c.WORDS), timeout=TIMEOUT)  # the generator is up
    ros.spin_until(lambda: node.count_subscribers(c.AUDIO.name) >= 1, TIMEOUT, "the generator on speech/audio")

    say.publish(String(data=TEXT))
    ros.spin_until(lambda: PLAIN in events and poses.get(events[PLAIN].utterance_id), TIMEOUT, "the gestures")
    uid = events[PLAIN].utterance_id
    said = words[uid]
    assert [w.word for w in said] == [w.text for w in split_words(PLAIN)], "markup must never be spoken"
    by_word = {w.word.strip(",.!"): w for w in said}
    assert [w.word for w in said if w.gesture] == ["show"] and by_word["show"].gesture == "nod"
    assert [w.word.strip(",.!") for w in said if w.suppress] == ["very", "calm"]
    assert by_word["Hello"].stress is not None and by_word["show"].stress is not None
    log = source.log()
    warned = [line for line in log.splitlines() if "[WARN]" in line and "'salute'" in line]
    assert len(warned) == 1 and "valid names: big, down, here" in warned[0] and "wave" in warned[0], log

    # The first word's wave: prepared before its stroke (the audio starts later), not moved late.
    (seq,) = poses[uid]
    strokes = dict((label, t) for t, label in seq.strokes if label != "beat")
    assert strokes["wave"] == pytest.approx(by_word["Hello"].stress, abs=1e-6)
    assert strokes["wave"] + GestureLayer().span("wave")[0] >= -1e-6
    assert by_word["Hello"].start > 0.3, "the speech must be delayed by the wave's preparation"
    assert strokes["nod"] == pytest.approx(by_word["show"].stress, abs=1e-6)
    assert any(label == "beat" for _, label in seq.strokes)
    assert seq.first_frame == 0 and len(seq.poses) >= int(by_word["now"].end * c.GESTURE_FPS)

    # A say goal's markup too (the result needs the retargeter; the words are enough here).
    from rclpy.action import ActionClient

    client = ActionClient(node, Say, c.SAY_ACTION.name)
    ros.spin_until(client.server_is_ready, TIMEOUT, "the say action server")
    sent = client.send_goal_async(Say.Goal(text=GOAL))
    ros.spin_until(lambda: sent.done() and "Thank you." in events, TIMEOUT, "the goal's utterance")
    assert sent.result().accepted
    goal_uid = events["Thank you."].utterance_id
    ros.spin_until(lambda: goal_uid in words and poses.get(goal_uid), TIMEOUT, "the goal's words and gestures")
    assert [(w.word, w.gesture) for w in words[goal_uid]] == [("Thank", "big"), ("you", "")]
    (goal_seq,) = poses[goal_uid]
    assert "big" in [label for _, label in goal_seq.strokes]
