"""The gesture lexicon: words and phrases that carry a gesture, and the gestures themselves.

A YAML file (the bundled one is ``config/gesture_lexicon.yaml``; users copy and extend it) maps
words and phrases, in English and Korean (any language code works), to gestures defined
robot-independently as keyframes in the TED pose space, so every robot gets them through
retargeting. :func:`load_lexicon` reads and validates it; every error names the key
(``gestures.wave.keyframes[1].rigth: unknown key; expected one of ...``).

File layout (all keys; defaults in brackets)::

    version: 1
    selection:                  # which matches fire (rate limit)
      min_gap_s: 1.2            # [1.2] no two lexicon strokes closer than this (s)
      max_per_minute: 20        # [20] at most this many lexicon gestures per minute of speech
    gestures:
      wave:                     # the gesture's name (markup: ^start(wave)): [A-Za-z0-9_.-]
        kind: emblem            # deictic | emblem | iconic | metaphoric | beat
        description: a friendly wave of the right hand
        priority: 5             # [1] 0-10: the higher wins when matches compete
        cooldown_s: 4           # [3.0] the same gesture not again within this (s)
        mirror: false           # [false] may be done with the other hand (the style's handedness)
        needs_stress: false     # [false] fires only on a stressed / prominent word
        blend_in_s: 0.3         # [0.3] from the backend's motion into the first keyframe (s)
        blend_out_s: 0.4        # [0.4] from the last keyframe back into the backend's motion (s)
        words:                  # per language: lemmas (inflected forms match), phrases
          en: [hello, hi, goodbye]
          ko: [안녕하세요]
        keyframes:              # t: s relative to the stroke (0: its end, on the stressed syllable)
          - {t: -0.4, right: {flex: 40, abd: 30, twist: 0, elbow: 120}}
          - {t: 0.0, right: {flex: 45, abd: 35, twist: -25, elbow: 115}}
          - {t: 0.3, right: {flex: 45, abd: 35, twist: 15, elbow: 115}}

**Keyframes** give, in degrees, the angles of the parts the gesture moves (the body model of
:mod:`gesture_core.gestures.body`): ``right`` / ``left`` arm ``{flex, abd, twist, elbow}``,
``head`` ``{pitch, yaw}``, ``shrug`` (both shoulders), ``torso`` ``{pitch, roll}``; and/or raw TED
bone directions, ``bones: {right_forearm: [x, y, z], ...}`` (TED axes: x right, y down, z forward).
The gesture takes over exactly the parts its keyframes name (an arm, the head, the shoulders, the
torso) and leaves the rest of the body to the backend's motion. An angle a keyframe leaves out
keeps its value from the previous keyframe (the first keyframe: the rest posture). One keyframe
must be at ``t: 0``: the stroke anchor.

**Words** are matched on lower-cased words without edge punctuation. English entries are lemmas:
inflected forms (``hands``, ``grew``, ``bigger``, ``I'm``) match too. Korean entries match the word
itself and the word with a particle or ending after it (``저는`` matches ``저``); a predicate lemma
ending in ``다`` (``크다``) also matches its common conjugated forms (``큰``, ``커요``, ``크게``).
An entry with spaces is a phrase (``"i don't know"``); ``*...*`` marks the word whose stressed
syllable takes the stroke (``"on the other *hand*"``; default: the last word).
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .. import skeleton
from ..bundled import bundled_file
from ..contracts import validate_gesture_name
from ..errors import ConfigError, ContractError
from .body import ARM_LIMITS, BODY_LIMITS, REST_ARM, ArmAngles, BodyAngles, pose_from_angles

_log = logging.getLogger(__name__)

DEFAULT_FILE = "gesture_lexicon.yaml"
KINDS = ("deictic", "emblem", "iconic", "metaphoric", "beat")
VERSION = 1
#: Peak acceleration of a minimum-jerk move of 1 rad in 1 s (rad/s^2): ``10 / sqrt(3)``.
MINIMUM_JERK_PEAK_ACCEL = 10.0 / math.sqrt(3.0)
_LANGUAGE = re.compile(r"^[a-z]{2,3}$")

_TOP_KEYS = ("version", "selection", "gestures")
_SELECTION_KEYS = ("min_gap_s", "max_per_minute")
_GESTURE_KEYS = (
    "kind", "description", "priority", "cooldown_s", "mirror", "needs_stress", "blend_in_s", "blend_out_s",
    "words", "keyframes",
)  # fmt: skip
_KEYFRAME_KEYS = ("t", "right", "left", "head", "shrug", "torso", "bones")
_ARM_KEYS = ("flex", "abd", "twist", "elbow")
_HEAD_KEYS = ("pitch", "yaw")
_TORSO_KEYS = ("pitch", "roll")
#: Keyframe key -> the body part it moves.
_KEY_PART = {"right": "right_arm", "left": "left_arm", "head": "head", "shrug": "shoulders", "torso": "torso"}
#: TED bone -> the body part it belongs to.
_BONE_PART = {
    "spine": "torso", "neck": "head", "head": "head", "left_collar": "shoulders", "right_collar": "shoulders",
    "left_upper_arm": "left_arm", "left_forearm": "left_arm", "right_upper_arm": "right_arm",
    "right_forearm": "right_arm",
}  # fmt: skip


# ------------------------------------------------------------------------------------------ model


@dataclass(frozen=True)
class Selection:
    """Rate limit of lexicon gestures: ``min_gap_s`` between two strokes (s), ``max_per_minute``."""

    min_gap_s: float = 1.2
    max_per_minute: float = 20.0


@dataclass(frozen=True)
class Gesture:
    """One gesture of the lexicon.

    ``times``: (K,) keyframe times, s relative to the stroke (one is 0), increasing; ``poses``:
    (K, 27) the keyframes as TED poses (unit bone directions); ``parts``: the body parts it takes
    over (names of :data:`gesture_core.gestures.body.PART_BONES`).
    """

    name: str
    kind: str
    times: np.ndarray
    poses: np.ndarray
    parts: tuple[str, ...]
    description: str = ""
    priority: int = 1
    cooldown_s: float = 3.0
    mirror: bool = False
    needs_stress: bool = False
    blend_in_s: float = 0.3
    blend_out_s: float = 0.4

    @property
    def span(self) -> tuple[float, float]:
        """(start, end) s relative to the stroke, blends included."""
        return float(self.times[0]) - self.blend_in_s, float(self.times[-1]) + self.blend_out_s

    def peak_acceleration(self) -> float:
        """The largest angular acceleration (rad/s^2) of any bone between two keyframes, with the
        minimum-jerk ease the layer uses (peak ``10 / sqrt(3) * angle / duration^2``)."""
        d = skeleton.as_directions(self.poses)
        angle = np.arccos(np.clip(np.sum(d[1:] * d[:-1], axis=-1), -1.0, 1.0))  # (K-1, 9)
        return float(np.max(MINIMUM_JERK_PEAK_ACCEL * angle / np.diff(self.times)[:, None] ** 2))


@dataclass(frozen=True)
class Entry:
    """A word or phrase of the lexicon: its normalised ``tokens``, the ``anchor`` token (index)
    whose stressed syllable takes the stroke, its ``language`` and ``gesture`` name, and the entry
    as ``written`` in the file (a Korean predicate lemma gives one entry per conjugated form)."""

    tokens: tuple[str, ...]
    anchor: int
    language: str
    gesture: str
    written: str = ""


@dataclass(frozen=True)
class Match:
    """A lexicon entry found in the words: ``gesture``, the ``anchor`` word index and the
    ``first``..``last`` word indices of the phrase; ``requested`` when inline markup asked for it."""

    gesture: str
    anchor: int
    first: int
    last: int
    requested: bool = False


@dataclass
class Lexicon:
    """Gestures by name, the word/phrase entries that trigger them and the rate limit."""

    gestures: dict[str, Gesture]
    entries: list[Entry]
    selection: Selection = field(default_factory=Selection)
    source: str = "<dict>"

    @property
    def names(self) -> list[str]:
        """The gesture names, sorted."""
        return sorted(self.gestures)

    def words_of(self, name: str) -> list[str]:
        """The words and phrases, as written in the file, that trigger gesture ``name``."""
        return list(dict.fromkeys(e.written for e in self.entries if e.gesture == name))

    def match(self, words: Iterable[str]) -> list[Match]:
        """Every entry found in ``words`` (the words of an utterance, in order), longest phrases
        first at each position; a word belongs to at most one match."""
        forms = [word_forms(w) for w in words]
        by_length = sorted(self.entries, key=lambda e: -len(e.tokens))
        matches: list[Match] = []
        taken = [False] * len(forms)
        for i in range(len(forms)):
            for e in by_length:
                n = len(e.tokens)
                if i + n > len(forms) or any(taken[i : i + n]):
                    continue
                if all(e.tokens[j] in forms[i + j] for j in range(n)):
                    matches.append(Match(e.gesture, i + e.anchor, i, i + n - 1))
                    taken[i : i + n] = [True] * n
                    break
        return matches


# ------------------------------------------------------------------------------------------ words

_CONTRACTIONS = ("'m", "'s", "'re", "'ll", "'ve", "'d")
_IRREGULAR = {
    "grew": "grow", "grown": "grow", "rose": "rise", "risen": "rise", "fell": "fall", "fallen": "fall",
    "went": "go", "gone": "go", "saw": "see", "seen": "see", "knew": "know", "known": "know",
    "least": "little", "us": "we", "better": "good", "best": "good", "worse": "bad", "worst": "bad",
}  # fmt: skip
#: English inflection endings and what replaces them in the lemma candidate.
_SUFFIXES = (
    ("ies", "y"), ("ied", "y"), ("ier", "y"), ("iest", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"),
    ("ing", ""), ("ing", "e"), ("er", ""), ("er", "e"), ("est", ""), ("est", "e"),
)  # fmt: skip
_KOREAN_TAILS = tuple(
    sorted(
        """은 는 이 가 을 를 도 의 에 에게 에서 께 께서 한테 로 으로 와 과 만 요 야 이야 이요
        들 들은 들이 들을 들도
        들에게 입니다 이에요 예요 이다 께요 분 분들 이라고 라고 처럼 보다 까지 부터 조차 마저""".split(),
        key=len,
        reverse=True,
    )
)
_HANGUL_BASE, _HANGUL_LAST = 0xAC00, 0xD7A3
_FINAL_N, _FINAL_L, _FINAL_B = 4, 8, 17  # jongseong indices of ㄴ, ㄹ, ㅂ
# jungseong indices of the vowels that matter for 아/어 endings
_MEDIAL_A, _MEDIAL_EO, _MEDIAL_O, _MEDIAL_U, _MEDIAL_EU, _MEDIAL_I = 0, 4, 8, 13, 18, 20
#: An open stem's vowel merged with 아/어: ㅗ -> ㅘ, ㅜ -> ㅝ, ㅣ -> ㅕ; ㅏ ㅐ ㅓ ㅔ ㅕ absorb it.
_CONTRACTED = {_MEDIAL_O: 9, _MEDIAL_U: 14, _MEDIAL_I: 6, _MEDIAL_A: 0, 1: 1, _MEDIAL_EO: 4, 5: 5, 6: 6}


def normalize_word(word: str) -> str:
    """Lower case, NFC, typographic apostrophes made plain, punctuation at the edges removed."""
    w = unicodedata.normalize("NFC", word).lower().replace("\u2019", "'").replace("\u2018", "'")
    return w.strip(".,;:!?\"()[]{}<>«»“”…-–—'")


def _is_hangul(text: str) -> bool:
    return any(_HANGUL_BASE <= ord(ch) <= _HANGUL_LAST for ch in text)


def word_forms(word: str) -> set[str]:
    """Forms under which ``word`` can match a lexicon entry: itself, plus English lemma candidates
    (contractions, plural/tense/comparative endings, irregulars) or, for Korean, the word without a
    trailing particle or ending."""
    w = normalize_word(word)
    forms = {w}
    if not w:
        return forms
    if _is_hangul(w):
        forms.update(w[: -len(t)] for t in _KOREAN_TAILS if w.endswith(t) and len(w) > len(t))
        return forms
    for c in _CONTRACTIONS:
        if w.endswith(c):
            forms.add(w[: -len(c)])
    if w.endswith("n't"):
        forms.add("not")
    if w in _IRREGULAR:
        forms.add(_IRREGULAR[w])
    for suffix, repl in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 2:
            stem = w[: -len(suffix)] + repl
            forms.add(stem)
            if not repl and len(stem) >= 3 and stem[-1] == stem[-2]:
                forms.add(stem[:-1])  # bigger -> bigg -> big, stopped -> stopp -> stop
    return forms


def _syllable(initial: int, medial: int, final: int) -> str:
    return chr(_HANGUL_BASE + (initial * 21 + medial) * 28 + final)


def _jamo(ch: str) -> tuple[int, int, int]:
    code = ord(ch) - _HANGUL_BASE
    return code // (21 * 28), (code // 28) % 21, code % 28


def korean_predicate_forms(lemma: str) -> set[str]:
    """Common conjugated forms of a Korean predicate lemma ending in 다 (a heuristic: regular
    stems, ㅡ-contraction, 하다): 크다 -> 크다 크고 크게 크지 큰 클 큽니다 커 커요 커서 ...;
    users list irregular forms explicitly."""
    if not lemma.endswith("다") or lemma.endswith("니다") or len(lemma) < 2 or not _is_hangul(lemma[-2]):
        return {lemma}  # not a lemma (already conjugated, or not Korean)
    stem = lemma[:-1]
    head, last = stem[:-1], stem[-1]
    initial, medial, final = _jamo(last)
    forms = {stem + e for e in ("다", "고", "게", "지", "지만", "네요", "기", "던", "는")}
    if final == 0:  # open syllable: 크 -> 큰, 클, 큽니다
        forms |= {head + _syllable(initial, medial, f) for f in (_FINAL_N, _FINAL_L)}
        forms.add(head + _syllable(initial, medial, _FINAL_B) + "니다")
        if last == "하":
            linked = [head + "해"]
        elif medial == _MEDIAL_EU:  # ㅡ drops before 어/아: 크 -> 커, 아프 -> 아파
            bright = bool(head) and _is_hangul(head[-1]) and _jamo(head[-1])[1] in (_MEDIAL_A, _MEDIAL_O)
            linked = [head + _syllable(initial, _MEDIAL_A if bright else _MEDIAL_EO, 0)]
        elif medial in _CONTRACTED:  # 가 -> 가, 오 -> 와, 주 -> 줘, 지 -> 져
            linked = [head + _syllable(initial, _CONTRACTED[medial], 0)]
        else:
            linked = [stem + ("아" if medial in (_MEDIAL_A, _MEDIAL_O) else "어")]
    else:  # closed syllable: 작 -> 작은, 작습니다, 작아
        forms |= {stem + "은", stem + "을", stem + "습니다"}
        linked = [stem + ("아" if medial in (_MEDIAL_A, _MEDIAL_O) else "어")]
    for base in linked:
        forms |= {base, base + "요", base + "서", base + "도", base + "졌다", base + "졌어요"}
    return forms


# ------------------------------------------------------------------------------------------ loading


def default_lexicon_path() -> Path:
    """The bundled lexicon, ``config/gesture_lexicon.yaml``."""
    return bundled_file("config", DEFAULT_FILE, "gesture_bringup", ConfigError)


def load_lexicon(path: str | Path | None = None) -> Lexicon:
    """Read and validate a lexicon YAML file (None: the bundled one). Raises :class:`ConfigError`
    naming the file and the key on any problem."""
    path = Path(path) if path is not None else default_lexicon_path()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"gesture lexicon {path}: cannot read it ({exc})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"gesture lexicon {path}: not valid YAML: {exc}") from None
    try:
        lexicon = lexicon_from_dict(data, str(path))
    except ConfigError as exc:
        raise ConfigError(f"gesture lexicon {path}: {exc}") from None
    _log.info(
        "gesture lexicon %s: %d gestures, %d words and phrases",
        path,
        len(lexicon.gestures),
        len(lexicon.entries),
    )
    return lexicon


def _check_keys(obj: Any, allowed: tuple[str, ...], where: str) -> dict:
    if not isinstance(obj, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(obj).__name__}")
    for key in obj:
        if key not in allowed:
            raise ConfigError(f"{where}.{key}: unknown key; expected one of {', '.join(allowed)}")
    return obj


def _number(value: Any, where: str, lo: float = -math.inf, hi: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if not lo <= value <= hi:
        raise ConfigError(f"{where}: {value} is outside [{lo:g}, {hi:g}]")
    return float(value)


def _flag(value: Any, where: str) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    return value


def lexicon_from_dict(data: Any, source: str = "<dict>") -> Lexicon:
    """A validated :class:`Lexicon` from the parsed YAML document ``data`` (see the module docstring)."""
    top = _check_keys(data, _TOP_KEYS, "lexicon")
    version = top.get("version", VERSION)
    if version != VERSION:
        raise ConfigError(f"version: {version!r} is not supported (expected {VERSION})")
    sel = _check_keys(top.get("selection", {}) or {}, _SELECTION_KEYS, "selection")
    selection = Selection(
        min_gap_s=_number(sel.get("min_gap_s", Selection.min_gap_s), "selection.min_gap_s", 0.0, 60.0),
        max_per_minute=_number(
            sel.get("max_per_minute", Selection.max_per_minute), "selection.max_per_minute", 0.0, 600.0
        ),
    )
    gestures_data = top.get("gestures")
    if not isinstance(gestures_data, dict) or not gestures_data:
        raise ConfigError("gestures: expected a mapping of gesture names to gestures (at least one)")
    gestures, entries = {}, []
    for name, spec in gestures_data.items():
        where = f"gestures.{name}"
        try:
            validate_gesture_name(name)
        except ContractError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        gesture, words = _gesture(str(name), spec, where)
        gestures[gesture.name] = gesture
        entries += words
    seen: dict[tuple[str, tuple[str, ...]], str] = {}
    for e in entries:
        other = seen.setdefault((e.language, e.tokens), e.gesture)
        if other != e.gesture:
            raise ConfigError(
                f"gestures.{e.gesture}.words.{e.language}: {' '.join(e.tokens)!r} is also a word of {other!r}"
            )
    return Lexicon(gestures, entries, selection, source)


def _gesture(name: str, spec: Any, where: str) -> tuple[Gesture, list[Entry]]:
    spec = _check_keys(spec, _GESTURE_KEYS, where)
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ConfigError(f"{where}.kind: {kind!r} is not one of {', '.join(KINDS)}")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"{where}.description: expected text")
    priority = spec.get("priority", 1)
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 10:
        raise ConfigError(f"{where}.priority: expected an integer 0-10, got {priority!r}")
    times, poses, parts = _keyframes(spec.get("keyframes"), f"{where}.keyframes")
    gesture = Gesture(
        name=name,
        kind=kind,
        times=times,
        poses=poses,
        parts=parts,
        description=description,
        priority=priority,
        cooldown_s=_number(spec.get("cooldown_s", Gesture.cooldown_s), f"{where}.cooldown_s", 0.0, 600.0),
        mirror=_flag(spec.get("mirror", False), f"{where}.mirror"),
        needs_stress=_flag(spec.get("needs_stress", False), f"{where}.needs_stress"),
        blend_in_s=_number(spec.get("blend_in_s", Gesture.blend_in_s), f"{where}.blend_in_s", 0.05, 5.0),
        blend_out_s=_number(spec.get("blend_out_s", Gesture.blend_out_s), f"{where}.blend_out_s", 0.05, 5.0),
    )
    return gesture, _entries(name, spec.get("words", {}), f"{where}.words")


def _entries(name: str, words: Any, where: str) -> list[Entry]:
    if not isinstance(words, dict):
        raise ConfigError(f"{where}: expected a mapping of language codes to lists of words")
    entries = []
    for language, items in words.items():
        if not isinstance(language, str) or not _LANGUAGE.match(language):
            raise ConfigError(f"{where}.{language}: not a language code (2-3 lower-case letters: en, ko)")
        if not isinstance(items, list):
            raise ConfigError(f"{where}.{language}: expected a list of words and phrases")
        for k, item in enumerate(items):
            if isinstance(item, bool):
                raise ConfigError(
                    f"{where}.{language}[{k}]: got {item!r}: YAML reads yes/no/on/off as booleans, quote it"
                )
            if not isinstance(item, str) or not item.strip():
                raise ConfigError(f"{where}.{language}[{k}]: expected a word or phrase, got {item!r}")
            raw = item.split()
            marked = [i for i, t in enumerate(raw) if len(t) > 2 and t.startswith("*") and t.endswith("*")]
            if len(marked) > 1:
                raise ConfigError(f"{where}.{language}[{k}]: {item!r} marks more than one anchor word")
            tokens = tuple(normalize_word(t.strip("*")) for t in raw)
            if not all(tokens):
                raise ConfigError(f"{where}.{language}[{k}]: {item!r} has a word without letters")
            anchor = marked[0] if marked else len(tokens) - 1
            forms = korean_predicate_forms(tokens[0]) if len(tokens) == 1 else {tokens[0]}
            entries += [Entry((form,) + tokens[1:], anchor, language, name, item) for form in sorted(forms)]
    return entries


def _keyframes(frames: Any, where: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Keyframe times (K,), TED poses (K, 27) and the parts they move, from the YAML list."""
    if not isinstance(frames, list) or len(frames) < 2:
        raise ConfigError(f"{where}: expected a list of at least 2 keyframes")
    state: dict[str, Any] = {
        "right": {k: math.degrees(getattr(REST_ARM, k)) for k in _ARM_KEYS},
        "left": {k: math.degrees(getattr(REST_ARM, k)) for k in _ARM_KEYS},
        "head": {"pitch": 0.0, "yaw": 0.0},
        "torso": {"pitch": 0.0, "roll": 0.0},
        "shrug": 0.0,
        "bones": {},
    }
    parts: set[str] = set()
    times, poses = [], []
    for i, frame in enumerate(frames):
        at = f"{where}[{i}]"
        frame = _check_keys(frame, _KEYFRAME_KEYS, at)
        if "t" not in frame:
            raise ConfigError(f"{at}.t: missing (s relative to the stroke)")
        t = _number(frame["t"], f"{at}.t", -10.0, 10.0)
        if times and t <= times[-1]:
            raise ConfigError(f"{at}.t: {t} is not after the previous keyframe's {times[-1]}")
        for side in ("right", "left"):
            if side in frame:
                arm = _check_keys(frame[side], _ARM_KEYS, f"{at}.{side}")
                for k, v in arm.items():
                    lo, hi = (math.degrees(x) for x in ARM_LIMITS[k])
                    state[side][k] = _number(v, f"{at}.{side}.{k}", round(lo, 1), round(hi, 1))
        for key, keys, prefix in (("head", _HEAD_KEYS, "head_"), ("torso", _TORSO_KEYS, "torso_")):
            if key in frame:
                for k, v in _check_keys(frame[key], keys, f"{at}.{key}").items():
                    lo, hi = (math.degrees(x) for x in BODY_LIMITS[prefix + k])
                    state[key][k] = _number(v, f"{at}.{key}.{k}", round(lo, 1), round(hi, 1))
        if "shrug" in frame:
            lo, hi = (math.degrees(x) for x in BODY_LIMITS["shrug"])
            state["shrug"] = _number(frame["shrug"], f"{at}.shrug", round(lo, 1), round(hi, 1))
        if "bones" in frame:
            for bone, vec in _check_keys(frame["bones"], skeleton.BONE_NAMES, f"{at}.bones").items():
                v = np.asarray(vec, dtype=float) if isinstance(vec, list) and len(vec) == 3 else None
                if v is None or not np.all(np.isfinite(v)) or np.linalg.norm(v) < 1e-6:
                    raise ConfigError(
                        f"{at}.bones.{bone}: expected a non-zero [x, y, z] direction (TED axes)"
                    )
                state["bones"][bone] = v / np.linalg.norm(v)
                parts.add(_BONE_PART[bone])
        parts |= {_KEY_PART[k] for k in frame if k in _KEY_PART}
        times.append(t)
        poses.append(_pose(state))
    if 0.0 not in times:
        raise ConfigError(f"{where}: no keyframe at t: 0 (the stroke anchor, on the stressed syllable)")
    if not parts:
        raise ConfigError(
            f"{where}: the keyframes move nothing (give right, left, head, shrug, torso or bones)"
        )
    return np.asarray(times), np.stack(poses), tuple(sorted(parts))


def _pose(state: dict[str, Any]) -> np.ndarray:
    """The TED pose (27,) of a keyframe state (angles in degrees, raw bone overrides)."""
    rad = math.radians
    arms = {side: ArmAngles(*(rad(state[side][k]) for k in _ARM_KEYS)) for side in ("left", "right")}
    body = BodyAngles(
        torso_pitch=rad(state["torso"]["pitch"]),
        torso_roll=rad(state["torso"]["roll"]),
        shrug=rad(state["shrug"]),
        head_pitch=rad(state["head"]["pitch"]),
        left=arms["left"],
        right=arms["right"],
        head_yaw=rad(state["head"]["yaw"]),
    )
    pose = skeleton.as_directions(pose_from_angles(body, 1)[0]).copy()
    for bone, v in state["bones"].items():
        pose[skeleton.BONE_NAMES.index(bone)] = v
    return pose.reshape(skeleton.POSE_DIM)
