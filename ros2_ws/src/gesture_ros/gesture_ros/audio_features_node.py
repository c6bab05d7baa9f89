"""Audio features node: log-mel, onset strength, RMS, pitch, onsets and beats of every utterance.

Subscribes ``speech/utterance`` and ``speech/audio`` (reassembled per utterance, see
:mod:`gesture_ros.utterance_input`) and publishes ``speech/features``
(:func:`gesture_core.features.extract_features`):

- one message per streaming window while the audio comes in (``final: false``): window ``j``
  covers samples ``[j, j + 1) * window_s`` of the utterance and is published as soon as its audio
  is complete (``window_s`` 0: no windows);
- one whole-utterance message at its ``end`` event (``final: true``). For an utterance longer
  than :data:`WHOLE_MAX_S` it joins the windows' features and the rest's
  (:func:`gesture_core.features.join_features`) instead of analysing the whole audio again, so the
  work at its end stays that of one window (the frames differ from a whole analysis only at the
  joins; onsets and beats are the windows').

Every message of an utterance uses the utterance's frame grid: frame ``k`` is centred at
``k / frame_rate`` s after the utterance start, and a message carries frames ``t0 * frame_rate``
onwards. The feature parameters can be changed live; a change applies from the next utterance.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field

import numpy as np
from gesture_core import contracts as c
from gesture_core.features import FeatureConfig, extract_features, join_features
from gesture_core.node_settings import AudioFeaturesSettings
from gesture_core.speech.assembly import ChunkResult, UtteranceAudio

from .ros_io import GestureNode, NodeSettings, msg_class, publisher_qos, run_node
from .utterance_input import UtteranceInput

#: Utterances longer than this (s) get their final features joined from their windows.
WHOLE_MAX_S = 60.0


@dataclass
class _Windows:
    """Per utterance: the settings it started with, the index of its next streaming window and the
    windows' features so far."""

    config: FeatureConfig
    window: int  # samples per window, 0: none
    next: int = 0
    parts: list[c.AudioFeatures] = field(default_factory=list)


class AudioFeaturesNode(GestureNode):
    def __init__(self) -> None:
        super().__init__("audio_features")
        # the settings are a FeatureConfig (plus window_s and the input limits), validated as a whole
        self._s = NodeSettings(self, AudioFeaturesSettings)
        self._Features = msg_class(c.FEATURES)
        self._pub = self.create_publisher(self._Features, c.FEATURES.name, publisher_qos(c.FEATURES))
        # librosa compiles its numba kernels on first use (seconds): do it now, not on the first utterance.
        self.get_logger().info("warming up: librosa's numba kernels (compiled once per install, then cached)")
        extract_features(np.zeros(c.AUDIO_SAMPLE_RATE, np.float32), "warm-up", self._s.value)
        self._input = UtteranceInput(
            self, self._on_start, self._on_audio, self._on_end,
            max_open=self._s.value.max_open_utterances, max_seconds=self._s.value.max_utterance_s,
        )  # fmt: skip
        self.get_logger().info(f"audio features ready: {self._s.value}")

    # -- utterances -------------------------------------------------------------------------------

    def _on_start(self, utt: UtteranceAudio) -> _Windows:
        s = self._s.value  # changes apply from the next utterance
        return _Windows(s, int(round(s.window_s * c.AUDIO_SAMPLE_RATE)))

    def _on_audio(self, res: ChunkResult, state: _Windows) -> None:
        utt = res.utterance
        while state.window and utt.n_samples >= (state.next + 1) * state.window:
            a = state.next * state.window
            f = extract_features(utt.audio[a : a + state.window], utt.utterance_id, state.config, a, final=False)
            self._pub.publish(c.encode_features(self._Features(), f))
            state.parts.append(f)
            state.next += 1

    def _on_end(self, utt: UtteranceAudio, state: _Windows) -> None:
        if utt.n_samples < state.config.hop:
            self.get_logger().warning(f"{utt.utterance_id}: only {utt.n_samples} samples of audio, no features")
            return
        done = state.next * state.window  # samples covered by the windows
        if utt.duration > WHOLE_MAX_S and state.parts:
            rest = utt.audio[done:]
            parts = list(state.parts)
            if rest.size >= state.config.hop:
                parts.append(extract_features(rest, utt.utterance_id, state.config, done, final=False))
            f = join_features(parts)
        else:
            f = extract_features(utt.audio, utt.utterance_id, state.config, final=True)
        self._pub.publish(c.encode_features(self._Features(), f))
        self.get_logger().info(
            f"{utt.utterance_id}: {utt.duration:.2f} s, {f.n_frames} frames, {len(f.onsets)} onsets, "
            f"{int((f.f0_hz > 0).sum())} voiced frames"
        )


def main(args: list[str] | None = None) -> int:
    return run_node(AudioFeaturesNode, args)


if __name__ == "__main__":
    sys.exit(main())
