"""Audio features node: log-mel, onset strength, RMS, pitch, onsets and beats of every utterance.

Subscribes ``speech/utterance`` and ``speech/audio`` (reassembled per utterance, see
:mod:`gesture_ros.utterance_input`) and publishes ``speech/features``
(:func:`gesture_core.features.extract_features`):

- one message per streaming window while the audio comes in (``final: false``): window ``j``
  covers samples ``[j, j + 1) * window_s`` of the utterance and is published as soon as its audio
  is complete (``window_s`` 0: no windows);
- one whole-utterance message at its ``end`` event (``final: true``).

Every message of an utterance uses the utterance's frame grid: frame ``k`` is centred at
``k / frame_rate`` s after the utterance start, and a message carries frames ``t0 * frame_rate``
onwards. The feature parameters can be changed live; a change applies from the next utterance.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import numpy as np
from gesture_core import contracts as c
from gesture_core.errors import ConfigError
from gesture_core.features import MIN_F0_HZ, FeatureConfig, extract_features
from gesture_core.speech.assembly import ChunkResult, UtteranceAudio
from rcl_interfaces.msg import SetParametersResult
from rclpy.node import Node

from .ros_io import Param, declare_params, msg_class, run_node
from .utterance_input import INPUT_PARAMS, UtteranceInput

#: Node parameters that are fields of :class:`FeatureConfig`.
FEATURE_PARAMS = [
    Param("frame_rate", float(c.GESTURE_FPS), "feature frames per second (Hz)", range=(1.0, 40.0)),
    Param("n_mels", 64, "mel bands of the log-mel spectrogram", range=(1, 256)),
    Param("f0_min_hz", 60.0, "lowest pitch searched (Hz)", range=(MIN_F0_HZ, 1000.0)),
    Param("f0_max_hz", 500.0, "highest pitch searched (Hz)", range=(40.0, c.AUDIO_SAMPLE_RATE / 4)),
    Param("voicing_threshold", 0.5, "minimum periodicity (autocorrelation at the pitch period) of a voiced frame",
          range=(0.0, 1.0)),
    Param("silence_db", -50.0, "RMS level (dB re full scale) below which a frame is unvoiced", range=(-99.0, -1.0)),
]  # fmt: skip
PARAMS = [
    *FEATURE_PARAMS,
    Param("window_s", 2.0, "streaming window length, s (0: whole utterances only)", range=(0.0, 60.0)),
    *INPUT_PARAMS,
]


@dataclass
class _Windows:
    """Per utterance: the settings it started with and the index of its next streaming window."""

    config: FeatureConfig
    window: int  # samples per window, 0: none
    next: int = 0


class AudioFeaturesNode(Node):
    def __init__(self) -> None:
        super().__init__("audio_features")
        self._p = declare_params(self, PARAMS, on_change=self._on_params)
        self._config = self._feature_config(self._p)
        self.add_on_set_parameters_callback(self._check_config)
        self._Features = msg_class(c.FEATURES)
        self._pub = self.create_publisher(self._Features, c.FEATURES.name, c.FEATURES.depth)
        # librosa compiles its numba kernels on first use (seconds): do it now, not on the first utterance.
        extract_features(np.zeros(c.AUDIO_SAMPLE_RATE, np.float32), "warm-up", self._config)
        self._input = UtteranceInput(
            self, self._on_start, self._on_audio, self._on_end,
            max_open=self._p["max_open_utterances"], max_seconds=self._p["max_utterance_s"],
        )  # fmt: skip
        self.get_logger().info(f"audio features ready: {self._config}, window_s={self._p['window_s']}")

    # -- parameters -------------------------------------------------------------------------------

    @staticmethod
    def _feature_config(values: dict) -> FeatureConfig:
        return FeatureConfig(**{p.name: values[p.name] for p in FEATURE_PARAMS})

    def _check_config(self, changes: list) -> SetParametersResult:
        """Refuse changes that make an invalid combination (e.g. f0_min_hz >= f0_max_hz)."""
        try:
            self._feature_config({**self._p, **{ch.name: ch.value for ch in changes}})
        except (ConfigError, TypeError) as exc:
            return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _on_params(self, changes: dict) -> None:
        self._p.update(changes)
        self._config = self._feature_config(self._p)

    # -- utterances -------------------------------------------------------------------------------

    def _on_start(self, utt: UtteranceAudio) -> _Windows:
        return _Windows(self._config, int(round(self._p["window_s"] * c.AUDIO_SAMPLE_RATE)))

    def _on_audio(self, res: ChunkResult, state: _Windows) -> None:
        utt = res.utterance
        while state.window and utt.n_samples >= (state.next + 1) * state.window:
            a = state.next * state.window
            f = extract_features(utt.audio[a : a + state.window], utt.utterance_id, state.config, a, final=False)
            self._pub.publish(c.encode_features(self._Features(), f))
            state.next += 1

    def _on_end(self, utt: UtteranceAudio, state: _Windows) -> None:
        if utt.n_samples < state.config.hop:
            self.get_logger().warning(f"{utt.utterance_id}: only {utt.n_samples} samples of audio, no features")
            return
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
