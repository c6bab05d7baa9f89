"""The parameters of every node of the graph, defined once (see :mod:`gesture_core.settings`).

One frozen dataclass per node; each field is a setting with its default, description and range or
choices. The nodes declare their ROS parameters from these classes and keep one validated instance
that a parameter change replaces as a whole; ``config/gesture.yaml``, the launch arguments and
``gesture-bringup`` options (``gesture_bringup.graph``) and the README's parameter table are derived
from them, and tests fail when the committed files drift. The gesture generator additionally
declares each backend's own settings (``<backend>.<name>``, from the backend plug-ins).

Gesture size has one knob: ``gesture_generator.amplitude`` scales the generated motion around the
mean pose (the performer's expressiveness, 0 = rest pose). The robot config's ``amplitude_scale``
is a different thing, a property of the robot (how human motion maps onto its proportions), set
in ``config/retarget_<robot>.yaml`` and not a node parameter.

The retargeter's tunables default to the values of the loaded robot config (``default_text``
"robot config"); the graph's parameter file may override them (:data:`GRAPH_OVERRIDES`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import retarget_ranges as R
from .contracts import MAX_UTTERANCE_S, UTTERANCE_SOURCES
from .errors import ConfigError
from .features import FeatureConfig
from .generation.base import AMPLITUDE_RANGE, VARIABILITY_RANGE
from .settings import Settings, setting
from .speech.tts import PITCH_RANGE, RATE_RANGE

#: onnxruntime execution providers by short name (``generation.factory.EXECUTION_PROVIDERS`` keys).
EXECUTION_PROVIDER_NAMES = ("cpu", "cuda", "tensorrt")
#: Speech languages a source can announce ("" = unknown).
LANGUAGES = ("", "en", "ko")
#: Default backend of the gesture generator.
DEFAULT_BACKEND = "procedural"


@dataclass(frozen=True)
class InputSettings(Settings):
    """The utterance input of every audio consumer (``gesture_ros.utterance_input``)."""

    max_open_utterances: int = setting(
        4, "utterances reassembled at once (older ones are forgotten)", range=(1, 64), dynamic=False
    )
    max_utterance_s: float = setting(
        600.0, "longest utterance kept, s (the rest of a longer one is dropped, logged)", range=(1.0, MAX_UTTERANCE_S),
        dynamic=False,
    )  # fmt: skip


@dataclass(frozen=True)
class LexiconSettings(Settings):
    """The gesture lexicon (``gesture_core.gestures.lexicon``) of the nodes that read it: the speech
    source (markup names, the first gesture's preparation) and the gesture generator."""

    lexicon_file: str = setting(
        "", "gesture lexicon YAML (empty: the bundled config/gesture_lexicon.yaml)", dynamic=False
    )


@dataclass(frozen=True)
class SpeechSourceSettings(LexiconSettings):
    node = "speech_source"

    mode: str = setting(
        "tts", "tts: speak speech/say and say goals; file: audio files; mic: live microphone",
        choices=UTTERANCE_SOURCES, dynamic=False,
    )  # fmt: skip
    voice: str = setting("", "espeak-ng voice (en-us, ko, ...); empty: ko for Hangul text, else en-us")
    rate: int = setting(160, "speaking rate, words per minute", range=RATE_RANGE)
    pitch: int = setting(50, "voice pitch, 0-100 (50: the voice's own)", range=PITCH_RANGE)
    chunk_ms: int = setting(100, "audio per speech/audio message, ms", range=(10, 1000))
    lead_time: float = setting(
        1.0, "s from the request to the first sample played (the time to generate gestures)", range=(0.0, 10.0)
    )
    publish_ahead: float = setting(
        30.0, "s: audio chunks go out at most this long before they play (large: whole utterances at once)",
        range=(0.0, 3600.0),
    )  # fmt: skip
    real_time: bool = setting(True, "false: publish as fast as possible, not waiting for play times")
    play_audio: bool = setting(True, "play on a loudspeaker if one exists", dynamic=False)
    file_path: str = setting("", "file mode: WAV/FLAC file to publish at start", dynamic=False)
    startup_wait: float = setting(
        5.0, "file mode: s to wait for a speech/audio subscriber before file_path", range=(0.0, 60.0), dynamic=False
    )
    language: str = setting("", "file/mic mode: language of the speech, for ASR (empty: unknown)", choices=LANGUAGES)


@dataclass(frozen=True)
class AsrSettings(InputSettings):
    node = "asr"

    model_path: str = setting("", "Vosk model folder; empty: the installed vosk-model-* package", dynamic=False)
    partial_period: float = setting(0.3, "min s between partial results of an utterance", range=(0.0, 10.0))


@dataclass(frozen=True)
class AudioFeaturesSettings(FeatureConfig, InputSettings):
    """The feature extractor's settings (:class:`~gesture_core.features.FeatureConfig`, whose
    instance this is) plus the node's streaming window."""

    node = "audio_features"

    window_s: float = setting(2.0, "streaming window, s (0: whole utterances only)", range=(0.0, 60.0))


@dataclass(frozen=True)
class GeneratorSettings(InputSettings, LexiconSettings):
    """The gesture generator's own parameters; each backend adds its own (``<backend>.<name>``)."""

    node = "gesture_generator"

    backend: str = setting(
        DEFAULT_BACKEND, "gesture generator backend: an installed plug-in (see the backend table)"
    )
    checkpoint: str = setting(
        "", "checkpoint folder of a learned backend (empty: its shipped weights); one that cannot be loaded is "
        "refused with the reason (at start-up: procedural fallback)"
    )
    execution_provider: str = setting(
        "cpu", "onnxruntime execution provider of learned backends", choices=EXECUTION_PROVIDER_NAMES
    )
    amplitude: float = setting(1.0, "gesture size around the mean pose (0: rest pose)", range=AMPLITUDE_RANGE)
    speaker: int = setting(-1, "speaker/style id of a learned model (-1: its average)", range=(-1, 100_000))
    seed: int = setting(0, "random seed (same seed + speech: same motion)", range=(0, 2**31 - 1))
    variability: float = setting(1.0, "scale of the model's randomness (temperature)", range=VARIABILITY_RANGE)
    streaming: bool = setting(False, "generate in 2 s windows as audio arrives (always on for mic and stream input)")
    words_timeout: float = setting(2.0, "longest wait for ASR words after an utterance, s", range=(0.0, 30.0))
    deadline_margin: float = setting(
        0.4, "gestures are published at the latest this long before their speech plays (for retargeting): "
        "the wait for words ends then, and audio still incomplete then is generated in windows", range=(0.0, 10.0),
        unit="s",
    )  # fmt: skip


@dataclass(frozen=True)
class RetargetFileSettings(Settings):
    """The retargeter's robot config (read first: it gives the defaults of :class:`RetargetSettings`)."""

    node = "retarget"

    config_file: str = setting(
        "", "retargeting YAML (empty: the bundled config/retarget_humanoid.yaml)", dynamic=False
    )


@dataclass(frozen=True)
class RetargetSettings(Settings):
    """Overrides of the robot config's safety-stage settings (defaults: the config file's values)."""

    node = "retarget"
    speed_scale: float = setting(
        1.0, "scales the velocity limits (acceleration: squared)", range=R.SPEED_SCALE, default_text="robot config"
    )
    smoothing_cutoff_hz: float = setting(
        4.0, "zero-phase low-pass of the safety stage (below half the controller rate)", range=R.SMOOTHING_CUTOFF_HZ,
        unit="Hz", default_text="robot config",
    )  # fmt: skip
    limit_margin: float = setting(
        0.05, "kept clear of every joint position limit", range=R.LIMIT_MARGIN_RAD, unit="rad", default_text="robot config"
    )
    rest_hold_time: float = setting(
        0.5, "hold of the last posture before returning to rest, s", range=R.REST_HOLD_TIME_S, default_text="robot config"
    )
    rest_blend_time: float = setting(
        1.5, "duration of the return to rest (and of a canceled say goal's), s", range=R.REST_BLEND_TIME_S,
        default_text="robot config",
    )  # fmt: skip
    controller_rate: float = setting(
        100.0, "rate of the trajectory points", range=R.CONTROLLER_RATE_HZ, unit="Hz", default_text="robot config"
    )

    def check(self) -> None:
        if self.smoothing_cutoff_hz >= 0.5 * self.controller_rate:
            raise ConfigError(
                f"smoothing_cutoff_hz={self.smoothing_cutoff_hz:g} must be below half of "
                f"controller_rate={self.controller_rate:g} (Nyquist)"
            )


#: RetargetSettings field -> the RetargetConfig setting it overrides (RetargetConfig.with_overrides).
RETARGET_CONFIG_KEYS = {
    "speed_scale": "speed_scale",
    "smoothing_cutoff_hz": "smoothing_cutoff_hz",
    "limit_margin": "limits_margin",
    "rest_hold_time": "rest_hold_time",
    "rest_blend_time": "rest_blend_time",
    "controller_rate": "controller_rate_hz",
}


@dataclass(frozen=True)
class RobotFiles(Settings):
    """The robot a node loads (the MuJoCo simulation, the robot_description publisher)."""

    config_file: str = setting(
        "", "robot config: URDF, skeleton points, rest values (empty: robot_description_file alone if "
        "set, else the bundled config/retarget_humanoid.yaml)", dynamic=False,
    )  # fmt: skip
    robot_description_file: str = setting(
        "", "URDF of the robot; overrides the config's (empty: the config's)", dynamic=False
    )


@dataclass(frozen=True)
class SimSettings(RobotFiles):
    node = "mujoco_sim"

    real_time_factor: float = setting(1.0, "sim seconds per wall second", range=(0.05, 20.0))
    publish_rate: float = setting(50.0, "joint_states and /clock messages per sim second", range=(1.0, 500.0))
    render: bool = setting(False, "publish rendered frames on sim/image")
    render_rate: float = setting(12.5, "rendered frames per sim second", range=(0.5, 60.0))
    render_width: int = setting(480, "frame width, pixels", range=(16, 1920), dynamic=False)
    render_height: int = setting(360, "frame height, pixels", range=(16, 1080), dynamic=False)
    viewer: bool = setting(False, "MuJoCo's interactive viewer on the display", dynamic=False)


@dataclass(frozen=True)
class DescriptionSettings(RobotFiles):
    """The robot_description publisher (the graph runs it where robot_state_publisher is not installed):
    publishes the URDF of ``config_file``, or ``robot_description_file``."""

    node = "robot_description"


@dataclass(frozen=True)
class WatchdogSettings(RetargetFileSettings):
    """The trajectory watchdog beside a ros2_control joint_trajectory_controller (``sim:=none`` and
    ``gazebo``): when the retargeter dies, stalls or leaves, it sends the controller the fastest
    rest trajectory that the robot config's limits allow, from the measured joint states. Its
    ``config_file`` is the retargeter's (the graph passes both the same robot)."""

    node = "trajectory_watchdog"


@dataclass(frozen=True)
class RecorderSettings(Settings):
    node = "recorder"

    output_dir: str = setting("out/recording", "folder of recording.mcap", dynamic=False)
    exclude: list = setting(["/rosout", "/parameter_events"], "topics not to record", dynamic=False)  # type: ignore[type-arg]


#: Every node's settings class, in the order of the graph.
NODES: tuple[type[Settings], ...] = (
    SpeechSourceSettings, AsrSettings, AudioFeaturesSettings, GeneratorSettings, RetargetFileSettings,
    RetargetSettings, SimSettings, DescriptionSettings, WatchdogSettings, RecorderSettings,
)  # fmt: skip

#: Values the bundled graph's parameter file (config/gesture.yaml) sets instead of the defaults.
GRAPH_OVERRIDES: dict[str, dict[str, Any]] = {
    # hold + blend stay below the 1.5 s that gesture-bringup waits for the robot to settle after speech
    "retarget": {"rest_hold_time": 0.3, "rest_blend_time": 0.9},
}
