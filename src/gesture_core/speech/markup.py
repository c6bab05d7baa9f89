"""Inline gesture markup in the text the robot speaks, in the style of NAOqi's *animated speech*.

Robot users know annotated text from SoftBank's ALAnimatedSpeech (NAO, Pepper), where
``^start(animation)`` starts a gesture at that point of the sentence and ``^mode(disabled)`` turns
the automatic body language off. The same commands work here, with the gesture lexicon's names
(``gesture-lexicon --list``)::

    ^start(wave) Hello! I am ^mode(disabled) just talking here, ^mode(contextual) and ^start(big) this is big.

- ``^start(NAME)`` (or ``^run(NAME)``): gesture NAME at the next word (its stroke on that word's
  stressed syllable). Unlike NAOqi, ``^run`` does not pause speech until the gesture ends.
- ``^mode(disabled)``: no gestures from the next word on (no beats, no lexicon gestures); the
  hands go calm. ``^mode(contextual)`` (or ``^mode(random)``) switches them back on. Modes are a
  state, not a stack: a second ``disabled`` changes nothing, one ``contextual`` ends it.
- An explicit ``^start`` inside a disabled span still fires: the user asked for it.

Markup is never spoken. Nothing is silently dropped: an unknown gesture name, an unknown command
(``^wait``, ``^stop``, ... of NAOqi have no meaning here), a malformed command, a request with no
word after it (placed on the last word instead) or a second request for the same word (the last
one wins) each give a note, and :func:`parse_markup` logs them as warnings; the text is still
spoken and gestured. A ``^`` that is not followed by a command name is plain text.

:func:`parse_markup` returns :class:`MarkedText`: the plain text to speak and, per word of it (the
words of :func:`~gesture_core.speech.word_timing.split_words`, which is how the TTS numbers its
words), the requested gesture and whether gestures are suppressed; :meth:`MarkedText.annotate`
copies them onto the timed words (:class:`~gesture_core.contracts.Word` ``gesture``/``suppress``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, replace

from ..contracts import Word
from ..errors import ContractError
from .word_timing import split_words

_log = logging.getLogger(__name__)

#: Commands that request a gesture at the next word.
GESTURE_COMMANDS = ("start", "run")
#: ``^mode(...)`` arguments: gestures off, and on again.
MODES_OFF = ("disabled",)
MODES_ON = ("contextual", "random")

# A command: ^name(argument), or a malformed ^name without a closed argument list.
_COMMAND = re.compile(r"\^([A-Za-z]+)(?:\(([^()]*)\)|(\([^\s)]*)?)")


@dataclass(frozen=True)
class MarkedText:
    """Parsed text: ``text`` (plain, to speak) and per word index of ``split_words(text)``:
    ``requests`` (index -> gesture name) and ``suppressed`` (indices); ``notes``: what was wrong."""

    text: str
    requests: dict[int, str]
    suppressed: frozenset[int]
    notes: tuple[str, ...] = ()

    @property
    def n_words(self) -> int:
        return len(split_words(self.text))

    def annotate(self, words: list[Word]) -> list[Word]:
        """``words`` (timed words of :attr:`text`, one per :func:`split_words` word, as the TTS
        gives them) with ``gesture`` and ``suppress`` set from the markup."""
        if len(words) != self.n_words:
            raise ContractError(f"markup: {len(words)} timed words for {self.n_words} words of {self.text!r}")
        return [
            replace(w, gesture=self.requests.get(i, ""), suppress=i in self.suppressed)
            for i, w in enumerate(words)
        ]


def parse_markup(text: str, gestures: Collection[str] | None = None, log: bool = True) -> MarkedText:
    """Split NAOqi-style markup (see the module docstring) from ``text``.

    ``gestures``: the valid gesture names (the lexicon's); None accepts any well-formed name.
    Each note is also logged as a warning, unless ``log`` is False (a caller that logs
    :attr:`MarkedText.notes` itself, e.g. through a ROS node's logger).
    """
    pieces: list[str] = []
    length = 0  # characters of plain text so far
    requests: list[tuple[int, str]] = []  # (plain-text offset, name)
    switches: list[tuple[int, bool]] = []  # (plain-text offset, gestures on?)
    notes: list[str] = []
    pos = 0
    last = ""  # the last character of plain text so far
    for m in _COMMAND.finditer(text):
        before = text[pos : m.start()]
        pieces.append(before)
        length += len(before)
        last = before[-1:] or last
        pos = m.end()
        if pos < len(text) and text[pos] in " \t" and (length == 0 or last.isspace()):
            pos += 1  # the command stood between two spaces (or opened the text): drop one
        command, argument = m.group(1).lower(), m.group(2)
        if argument is None:
            notes.append(f"malformed markup {m.group(0)!r}: commands look like ^start(name); removed")
        elif command in GESTURE_COMMANDS:
            name = argument.strip()
            if gestures is not None and name not in gestures:
                notes.append(
                    f"unknown gesture {name!r} in {m.group(0)!r}; valid names: {', '.join(sorted(gestures))}"
                )
            elif not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name):
                notes.append(f"{m.group(0)!r}: {name!r} is not a gesture name; removed")
            else:
                requests.append((length, name))
        elif command == "mode":
            mode = argument.strip().lower()
            if mode in MODES_OFF or mode in MODES_ON:
                switches.append((length, mode in MODES_ON))
            else:
                notes.append(f"{m.group(0)!r}: unknown mode {mode!r} (use {MODES_OFF + MODES_ON}); ignored")
        else:
            notes.append(f"unsupported markup command {m.group(0)!r} (only ^start, ^run, ^mode); removed")
    pieces.append(text[pos:])
    plain = "".join(pieces)
    words = split_words(plain)

    by_word: dict[int, str] = {}
    for offset, name in requests:
        k = next((i for i, w in enumerate(words) if w.end > offset), None)
        if k is None:
            if not words:
                notes.append(f"gesture {name!r}: the text has no word to gesture on; dropped")
                continue
            k = len(words) - 1
            notes.append(
                f"gesture {name!r} at the end of the text: placed on the last word {words[k].text!r}"
            )
        if k in by_word:
            notes.append(f"two gestures for the word {words[k].text!r}: {by_word[k]!r} replaced by {name!r}")
        by_word[k] = name

    suppressed = set()
    for i, w in enumerate(words):
        on = True
        for offset, state in switches:
            if offset <= w.start:
                on = state
        if not on:
            suppressed.add(i)
    for note in notes if log else ():
        _log.warning("%s", note)
    return MarkedText(plain, by_word, frozenset(suppressed), tuple(notes))
