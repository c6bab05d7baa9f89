"""The gesture lexicon: the bundled YAML, word and phrase matching, validation errors that name the key."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from gesture_core import skeleton
from gesture_core.errors import ConfigError
from gesture_core.gestures.lexicon import (
    default_lexicon_path,
    korean_predicate_forms,
    lexicon_from_dict,
    load_lexicon,
    word_forms,
)


@pytest.fixture(scope="module")
def lexicon():
    return load_lexicon()


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(default_lexicon_path().read_text(encoding="utf-8"))


def gestures_of(lexicon, text: str) -> dict[str, str]:
    """Anchor word -> gesture for every match in the whitespace-separated ``text``."""
    words = text.split()
    return {words[m.anchor]: m.gesture for m in lexicon.match(words)}


# -- the bundled lexicon --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I me my we", {"I": "self", "me": "self", "my": "self", "we": "self"}),
        ("you your", {"you": "listener", "your": "listener"}),
        ("this here that there", {"this": "here", "here": "here", "that": "there", "there": "there"}),
        ("hello hi goodbye", {"hello": "wave", "hi": "wave", "goodbye": "wave"}),
        ("yes no not never", {"yes": "nod", "no": "shake", "not": "shake", "never": "shake"}),
        ("maybe", {"maybe": "shrug"}),
        ("big huge all everything", {"big": "big", "huge": "big", "all": "big", "everything": "big"}),
        ("small little bit", {"small": "small", "little": "small", "bit": "small"}),
        ("up rise more grow", {"up": "up", "rise": "up", "more": "up", "grow": "up"}),
        ("down less fall", {"down": "down", "less": "down", "fall": "down"}),
        # Korean: 안녕하세요, 네, 아니요, 저/나, 여러분, 크다, 작다
        ("안녕하세요 네 아니요 저 나 여러분 크다 작다",
         {"안녕하세요": "wave", "네": "nod", "아니요": "shake", "저": "self", "나": "self",
          "여러분": "listener", "크다": "big", "작다": "small"}),
    ],
)  # fmt: skip
def test_the_issue_words_are_in_the_bundled_lexicon(lexicon, text, expected):
    assert gestures_of(lexicon, text) == expected


def test_inflected_forms_particles_and_phrases(lexicon):
    assert gestures_of(lexicon, "Hello, I'm waving: hands grew bigger!") == {
        "Hello,": "wave", "I'm": "self", "grew": "up", "bigger!": "big",
    }  # fmt: skip
    # phrases win over their words, and the stroke goes on the marked word
    assert gestures_of(lexicon, "well I don't know") == {"know": "shrug"}
    words = "on the one hand yes, on the other hand no".split()
    assert [(m.gesture, m.anchor) for m in lexicon.match(words)] == [
        ("one_hand", 3), ("nod", 4), ("other_hand", 8), ("shake", 9),
    ]  # fmt: skip
    assert gestures_of(lexicon, "we can't") == {"we": "self", "can't": "shake"}  # n't is a negation
    # Korean particles and endings; predicate lemmas match their conjugations
    assert gestures_of(lexicon, "저는 여러분께 커요 작은 모르겠어요") == {
        "저는": "self", "여러분께": "listener", "커요": "big", "작은": "small", "모르겠어요": "shrug",
    }  # fmt: skip
    assert "크리스마스" not in gestures_of(lexicon, "크리스마스")  # a word that merely starts like 크다


def test_word_forms_and_korean_conjugations():
    assert {"run", "runn"} <= word_forms("running") and "stop" in word_forms("stopped")
    assert "big" in word_forms("Biggest!") and "we" in word_forms("us")
    assert {"저"} <= word_forms("저는") and "여러분" in word_forms("여러분께")
    assert {"큰", "커요", "크게", "큽니다"} <= korean_predicate_forms("크다")
    assert {"작은", "작아요", "작습니다"} <= korean_predicate_forms("작다")
    assert {"올라가요", "올라간"} <= korean_predicate_forms("올라가다")
    assert korean_predicate_forms("모르겠습니다") == {"모르겠습니다"}  # already conjugated


def test_keyframes_are_ted_poses_with_a_stroke_anchor(lexicon):
    for name, g in lexicon.gestures.items():
        assert 0.0 in g.times and np.all(np.diff(g.times) > 0), name
        np.testing.assert_allclose(np.linalg.norm(skeleton.as_directions(g.poses), axis=-1), 1.0, atol=1e-9)
        assert g.parts, name
        # every bundled gesture is within what the robots can follow (the layer warns otherwise)
        assert g.peak_acceleration() <= 12.6, (name, g.peak_acceleration())
    assert lexicon.gestures["wave"].parts == ("right_arm",) and lexicon.gestures["nod"].parts == ("head",)
    assert set(lexicon.gestures["shrug"].parts) == {"head", "left_arm", "right_arm", "shoulders"}
    wave = skeleton.as_directions(lexicon.gestures["wave"].poses)
    forearm = skeleton.BONE_NAMES.index("right_forearm")
    assert np.all(wave[:, forearm, 1] < -0.4)  # the waving forearm points up (TED: -y)


# -- validation ---------------------------------------------------------------------------------------------


def g(d: dict, name: str = "nod") -> dict:
    return d["gestures"][name]


def kf(d: dict, name: str = "wave", i: int = 1) -> dict:
    return d["gestures"][name]["keyframes"][i]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d.update(gesturez={}),
            r"lexicon.gesturez: unknown key; expected one of version, selection",
        ),
        (lambda d: d["selection"].update(min_gap=1), r"selection.min_gap: unknown key"),
        (lambda d: g(d, "wave").update(keyframs=[]), r"gestures.wave.keyframs: unknown key"),
        (lambda d: kf(d).update(rigth={}), r"gestures.wave.keyframes\[1\].rigth: unknown key"),
        (lambda d: kf(d)["right"].update(elbw=3), r"keyframes\[1\].right.elbw: unknown key"),
        (lambda d: kf(d)["right"].update(elbow=200), r"keyframes\[1\].right.elbow: 200 is outside"),
        (lambda d: kf(d, "nod").update(t=0.5), r"gestures.nod.keyframes\[2\].t: .* is not after"),
        (lambda d: kf(d, "nod").update(t=0.01), r"gestures.nod.keyframes: no keyframe at t: 0"),
        (lambda d: kf(d, "nod", 0).pop("t"), r"gestures.nod.keyframes\[0\].t: missing"),
        (lambda d: g(d).update(kind="emblemm"), r"gestures.nod.kind: 'emblemm' is not one of"),
        (lambda d: g(d).update(priority=11), r"gestures.nod.priority"),
        (
            lambda d: g(d)["words"]["en"].append(True),
            r"gestures.nod.words.en\[\d+\]: got True: YAML reads yes",
        ),
        (lambda d: g(d)["words"].update(english=["ok"]), r"gestures.nod.words.english: not a language code"),
        (
            lambda d: g(d)["words"]["en"].append("hello"),
            r"gestures.nod.words.en: 'hello' is also a word of 'wave'",
        ),
        (lambda d: g(d)["words"]["en"].append("*a* *b*"), r"marks more than one anchor"),
        (lambda d: d["gestures"].update({"bad name": g(d)}), r"gestures.bad name: .*not a gesture name"),
        (lambda d: kf(d, "nod", 0).update(bones={"left_hand": [0, 1, 0]}), r"bones.left_hand: unknown key"),
        (lambda d: kf(d, "nod", 0).update(bones={"neck": [0, 0, 0]}), r"bones.neck: expected a non-zero"),
        (lambda d: d.update(version=2), r"version: 2 is not supported"),
    ],
)
def test_validation_names_the_bad_key(raw, edit, message):
    data = copy.deepcopy(raw)
    edit(data)
    with pytest.raises(ConfigError, match=message):
        lexicon_from_dict(data)


def test_user_file_extends_and_errors_name_the_file(raw, tmp_path: Path):
    data = copy.deepcopy(raw)
    data["gestures"]["thumbs_up"] = {
        "kind": "emblem",
        "words": {"en": ["great", "*well* done"], "de": ["toll"]},
        "keyframes": [
            {"t": -0.4, "right": {"flex": 30, "elbow": 90}},
            {"t": 0.0, "right": {"elbow": 100}, "bones": {"right_forearm": [0.0, -1.0, 0.3]}},
        ],
    }
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    mine = load_lexicon(path)
    assert gestures_of(mine, "well done, great toll") == {
        "well": "thumbs_up",
        "great": "thumbs_up",
        "toll": "thumbs_up",
    }
    g = mine.gestures["thumbs_up"]
    assert g.parts == ("right_arm",) and g.priority == 1
    forearm = skeleton.as_directions(g.poses)[1, skeleton.BONE_NAMES.index("right_forearm")]
    np.testing.assert_allclose(forearm, np.array([0.0, -1.0, 0.3]) / np.hypot(1.0, 0.3))  # raw TED direction
    path.write_text("gestures: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"gesture lexicon {path}: not valid YAML"):
        load_lexicon(path)


def test_cli_lists_the_gestures_and_reports_a_bad_file(tmp_path: Path):
    out = subprocess.run(
        [sys.executable, "-m", "gesture_core.gestures.cli", "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for name in ("wave", "self", "listener", "shrug", "one_hand", "other_hand"):
        assert f"\n{name} " in out
    assert "hello, hi, hey" in out and "안녕하세요" in out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "gestures:\n  wave:\n    kind: emblem\n    keyframes: []\n    wordz: {}\n", encoding="utf-8"
    )
    res = subprocess.run(
        [sys.executable, "-m", "gesture_core.gestures.cli", "--list", "--lexicon", str(bad)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 1 and "gestures.wave.wordz: unknown key" in res.stderr
