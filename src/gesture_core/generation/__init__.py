"""Gesture generation: speech (audio, timed words, features) in, TED pose sequences out."""

from .base import GestureGenerator, SpeechInput, Style

__all__ = ["GestureGenerator", "SpeechInput", "Style"]
