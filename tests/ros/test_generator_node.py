"""The gesture generator node as its own process over DDS: utterances in, human poses out.

The test publishes utterances (start event, 100 ms audio chunks, words, end event) with the
contract encoders and decodes every ``gesture/human_pose`` message with the contract decoder.
Audio is synthetic speech-like sound (the ``speech_with_clicks`` fixture: a tone with clicks).
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest
from locations import PLUGINS

from gesture_core import contracts as c
from gesture_core import skeleton
from gesture_core.models.procedural import rest_pose
from gesture_core.speech.audio_io import chunk_audio

pytestmark = pytest.mark.ros
rclpy = pytest.importorskip("rclpy")
from gesture_msgs.msg import AudioChunk, AudioFeatures, GestureSequence, UtteranceEvent, Word, Words  # noqa: E402

GENERATOR = "gesture_ros.generator_node"
NODE_NAME = "gesture_generator"
CHUNK = c.AUDIO_SAMPLE_RATE // 10  # 100 ms
TIMEOUT = 60.0


class GeneratorClient:
    """The test's side of the graph: speech publishers, a pose collector and a parameter client."""

    def __init__(self, ros):
        self.ros = ros
        self.events = ros.publisher(c.UTTERANCE)
        self.audio = ros.publisher(c.AUDIO)
        self.words = ros.publisher(c.WORDS)
        self.features = ros.publisher(c.FEATURES)
        self.poses: dict[str, list[c.GestureSequence]] = defaultdict(list)
        ros.node.create_subscription(GestureSequence, c.HUMAN_POSE.name, self._on_pose, c.HUMAN_POSE.depth)
        for pub in (self.events, self.audio, self.words, self.features):
            ros.wait_for_subscribers(pub, timeout=TIMEOUT)
        ros.wait_for_publishers(c.HUMAN_POSE.name, timeout=TIMEOUT)

    def _on_pose(self, msg: GestureSequence) -> None:
        seq = c.decode_human_pose(msg)
        self.poses[seq.utterance_id].append(seq)

    def say(
        self,
        uid: str,
        audio: np.ndarray,
        source: str = "tts",
        words: list[c.Word] | None = None,
        words_known: bool = True,
        lead: float = 1.5,
    ) -> int:
        """Publish start, words (if given), 100 ms chunks and end of ``uid``, its audio playing
        ``lead`` s from now; returns its start (ns)."""
        start_ns = self.ros.node.get_clock().now().nanoseconds + round(lead * c.NS_PER_S)
        return self.ros.publish_utterance(
            uid, audio, source, start_ns, words=words, words_known=words_known, chunk_samples=CHUNK
        )

    def event(self, ev: c.UtteranceEvent) -> None:
        self.events.publish(c.encode_utterance(UtteranceEvent(), ev))

    def publish_words(self, uid: str, words: list[c.Word], source: str) -> None:
        self.words.publish(c.encode_words(Words(), c.WordTimings(uid, words, final=True, source=source), Word))

    def wait_frames(self, uid: str, n_frames: int, timeout: float = TIMEOUT) -> np.ndarray:
        """Wait until ``n_frames`` frames of ``uid`` arrived; returns them in order, (n_frames, 27)."""
        self.ros.spin_until(
            lambda: self.n_frames(uid) >= n_frames, timeout, f"{n_frames} pose frames of {uid}"
        )
        seqs = sorted(self.poses[uid], key=lambda s: s.first_frame)
        return np.concatenate([s.poses for s in seqs])

    def n_frames(self, uid: str) -> int:
        return sum(len(s.poses) for s in self.poses[uid])

    def set_params(self, **values) -> list:
        """Set parameters on the node; returns the SetParametersResult list."""
        return self.ros.set_parameters(NODE_NAME, timeout=TIMEOUT, **values)

    def get_param(self, name: str):
        """The value of parameter ``name`` of the running node."""
        from rclpy.parameter import parameter_value_to_python
        from rclpy.parameter_client import AsyncParameterClient

        client = AsyncParameterClient(self.ros.node, NODE_NAME)
        self.ros.spin_until(client.services_are_ready, TIMEOUT, "the parameter services")
        future = client.get_parameters([name])
        self.ros.spin_until(future.done, TIMEOUT, f"get_parameters {name}")
        return parameter_value_to_python(future.result().values[0])


def wait_log(ros, proc, text: str) -> None:
    """Wait until ``text`` appears in the node's log (lines may be written after a publish)."""
    ros.spin_until(lambda: text in proc.log(), TIMEOUT, f"{text!r} in the log of {proc.module}")


def expected_frames(audio: np.ndarray) -> int:
    return math.ceil(audio.size / c.AUDIO_SAMPLE_RATE * c.GESTURE_FPS)


def assert_generated_by(
    client: GeneratorClient,
    proc,
    uid: str,
    audio: np.ndarray,
    backend: str,
    words: list[c.Word] | None = None,
) -> None:
    """Say ``uid`` (TTS, with ``words``); all its frames arrive and the node logs ``backend`` made them."""
    client.say(uid, audio, words=words)
    n = expected_frames(audio)
    assert len(client.wait_frames(uid, n)) == n
    seconds, n_words = audio.size / c.AUDIO_SAMPLE_RATE, len(words or [])
    line = f"{uid}: {n} frames ({seconds:.2f} s, {n_words} words, computed features) by {backend}"
    wait_log(client.ros, proc, line)


def switch_live(client: GeneratorClient, proc, backend: str, checkpoint: Path, settings: str = "") -> None:
    """Set ``checkpoint``, then ``backend`` (checkpoint first: no transient error) on the running
    node and wait until it has loaded them (``settings``: the log's text after the checkpoint)."""
    for change in ({"checkpoint": str(checkpoint)}, {"backend": backend}):
        (result,) = client.set_params(**change)
        assert result.successful
    wait_log(client.ros, proc, f"generator backend: {backend} ({checkpoint}{settings})")


WORDS = [c.Word("hello", 0.3, 0.7), c.Word("there", 0.9, 1.4), c.Word("robot", 1.8, 2.4)]


def test_utterance_to_poses_params_and_bad_input(ros, speech_with_clicks) -> None:
    proc = ros.start(GENERATOR)
    client = GeneratorClient(ros)
    audio = speech_with_clicks(3.0, clicks=(0.6, 1.3, 2.1))

    # A TTS utterance: one message for the whole utterance, right id, stamp and length.
    start_ns = client.say("utt-1", audio, words=WORDS)
    poses = client.wait_frames("utt-1", expected_frames(audio))
    (seq,) = client.poses["utt-1"]
    assert seq.start_ns == start_ns and seq.first_frame == 0
    assert len(poses) == expected_frames(audio) == 45
    np.testing.assert_allclose(np.linalg.norm(skeleton.as_directions(poses), axis=-1), 1.0, atol=1e-6)
    assert np.abs(poses - rest_pose()).max() > 0.2  # it gestures

    # Malformed or unexpected input is logged and dropped; the node carries on.
    client.events.publish(UtteranceEvent(utterance_id="x", event=9, sample_rate=16000))  # unknown event code
    client.words.publish(Words(utterance_id="x", source="guess"))
    client.features.publish(AudioFeatures(utterance_id="x", frame_rate=15.0, n_mels=0))
    now_ns = client.ros.node.get_clock().now().nanoseconds
    nan_chunk = c.encode_audio(AudioChunk(), c.AudioChunk("utt-1b", now_ns, np.zeros(100, np.float32), 0))
    nan_chunk.samples = [float("nan")] * 100
    client.audio.publish(nan_chunk)  # NaN audio
    client.audio.publish(
        c.encode_audio(AudioChunk(), c.AudioChunk("never-started", now_ns, np.zeros(100, np.float32), 0))
    )
    client.event(c.UtteranceEvent("never-started", "end", now_ns, "tts", n_samples=100))
    ros.spin_until(
        lambda: proc.log().count("dropped a message") >= 6, TIMEOUT, "six dropped messages in the log"
    )
    assert "unknown utterance 'never-started'" in proc.log()

    # A gap in the audio is filled with silence and reported; the utterance is still generated.
    gap_ns = client.ros.node.get_clock().now().nanoseconds
    client.event(c.UtteranceEvent("utt-gap", "start", gap_ns, "file", words_known=True))
    for offset, samples in chunk_audio(audio, CHUNK):
        if offset != 5 * CHUNK:  # chunk 5 is lost
            stamp = gap_ns + offset * c.NS_PER_S // c.AUDIO_SAMPLE_RATE
            client.audio.publish(c.encode_audio(AudioChunk(), c.AudioChunk("utt-gap", stamp, samples, offset)))
    client.event(c.UtteranceEvent("utt-gap", "end", gap_ns, "file", words_known=True, n_samples=audio.size))
    assert len(client.wait_frames("utt-gap", expected_frames(audio))) == expected_frames(audio)
    wait_log(ros, proc, "gap of 1600 samples")

    # Amplitude is live: 0 gives the rest pose for the next utterance.
    (result,) = client.set_params(amplitude=0.0)
    assert result.successful
    client.say("utt-2", audio, words=WORDS)
    still = client.wait_frames("utt-2", expected_frames(audio))
    np.testing.assert_allclose(still, np.broadcast_to(rest_pose(), still.shape), atol=1e-6)

    # Out-of-range and unknown values are rejected with a reason.
    (result,) = client.set_params(amplitude=5.0)
    assert not result.successful and "amplitude" in result.reason
    (result,) = client.set_params(backend="diffusion-xl")
    assert not result.successful and "backend" in result.reason
    assert proc.alive()


def test_missing_checkpoint_falls_back_to_procedural(ros, tmp_path, speech_with_clicks) -> None:
    missing = tmp_path / "no-such-checkpoint"
    proc = ros.start(GENERATOR, {"backend": "trimodal", "checkpoint": str(missing)})
    client = GeneratorClient(ros)
    wait_log(
        ros, proc, f"cannot use backend 'trimodal': trimodal checkpoint directory {missing} does not exist"
    )
    assert client.get_param("backend") == "procedural"  # the parameter reads what runs
    audio = speech_with_clicks(2.0, clicks=(0.7, 1.4))
    client.say("fallback-1", audio)
    assert len(client.wait_frames("fallback-1", expected_frames(audio))) == expected_frames(audio)

    # A corrupt checkpoint switched in live: refused while the change is validated, with the
    # loader's reason; the parameters keep reading what runs, still procedural.
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "config.json").write_text("{ this is not json")
    (corrupt / "model.onnx").write_bytes(b"\x00garbage")
    (result,) = client.set_params(checkpoint=str(corrupt))
    assert result.successful  # unused by the procedural backend
    (result,) = client.set_params(backend="trimodal")
    assert not result.successful and f"backend='trimodal' with checkpoint='{corrupt}' cannot be used" in result.reason
    assert client.get_param("backend") == "procedural"
    assert_generated_by(client, proc, "fallback-2", audio, "procedural")
    assert proc.alive()


def test_live_switch_to_a_trimodal_checkpoint(ros, tmp_path, speech_with_clicks) -> None:
    torch = pytest.importorskip("torch")
    from gesture_core.models.trimodal.checkpoint import save_checkpoint
    from gesture_core.models.trimodal.config import TrimodalConfig
    from gesture_core.models.trimodal.model import PoseGenerator
    from gesture_core.vocab import Vocab

    torch.manual_seed(0)
    valid = tmp_path / "tiny-trimodal"
    config = TrimodalConfig(n_words=6, n_speakers=2, hidden_size=16, n_layers=1)
    save_checkpoint(valid, PoseGenerator(config).eval(), Vocab(["hello", "robot"]))

    proc = ros.start(GENERATOR)
    client = GeneratorClient(ros)
    switch_live(client, proc, "trimodal", valid)
    audio = speech_with_clicks(2.0, clicks=(0.7, 1.4))
    assert_generated_by(client, proc, "trimodal-1", audio, "trimodal", WORDS)
    assert proc.alive()


def test_live_switch_to_a_diffusion_checkpoint_and_live_sampler_settings(ros, tmp_path, speech_with_clicks):
    torch = pytest.importorskip("torch")
    from gesture_core.models.diffusion.checkpoint import save_checkpoint
    from gesture_core.models.diffusion.config import DiffusionConfig
    from gesture_core.models.diffusion.model import GestureDenoiser
    from gesture_core.vocab import Vocab

    torch.manual_seed(0)
    tiny = tmp_path / "tiny-diffusion"
    config = DiffusionConfig(n_words=6, n_speakers=2, d_model=16, n_layers=1, n_heads=2, d_ff=32, word_dim=8,
                             audio_dim=8, text_dim=8, speaker_dim=4, cond_dim=8)  # fmt: skip
    save_checkpoint(tiny, GestureDenoiser(config).eval(), Vocab(["hello", "robot"]))

    proc = ros.start(GENERATOR, {"diffusion.steps": 4})
    client = GeneratorClient(ros)
    switch_live(client, proc, "diffusion", tiny, ", steps=4, guidance_scale=1.0, eta=0.0")
    audio = speech_with_clicks(2.0, clicks=(0.7, 1.4))
    assert_generated_by(client, proc, "diffusion-1", audio, "diffusion", WORDS)

    # The backend's own settings change live, on the loaded model (no reload).
    assert all(r.successful for r in client.set_params(**{"diffusion.steps": 2, "diffusion.guidance_scale": 2.5}))
    wait_log(ros, proc, "diffusion settings: {'steps': 2, 'guidance_scale': 2.5, 'eta': 0.0}")
    assert_generated_by(client, proc, "diffusion-2", audio, "diffusion", WORDS)
    assert proc.log().count("generator backend: diffusion") == 1

    # Out-of-range values are rejected with a reason; the settings stay.
    (result,) = client.set_params(**{"diffusion.steps": 51})
    assert not result.successful and "diffusion.steps" in result.reason
    (result,) = client.set_params(**{"diffusion.eta": 1.5})
    assert not result.successful and "diffusion.eta" in result.reason
    assert proc.log().count("diffusion settings:") == 2  # one line per accepted change (the client sets one by one)
    assert proc.alive()


def test_asr_wait_and_live_streaming(ros, speech_with_clicks) -> None:
    proc = ros.start(GENERATOR, {"words_timeout": 1.0})
    client = GeneratorClient(ros)
    audio = speech_with_clicks(2.5, clicks=(0.6, 1.3, 2.1))

    # ASR words arriving after the end event are waited for and used.
    client.say("asr-1", audio, source="file", words_known=False, lead=3.0)
    client.ros.spin_for(0.3)
    assert client.n_frames("asr-1") == 0  # still waiting for the words
    client.publish_words("asr-1", WORDS, "asr")
    assert len(client.wait_frames("asr-1", expected_frames(audio))) == expected_frames(audio)
    wait_log(ros, proc, "asr-1: 38 frames (2.50 s, 3 words")

    # Known (TTS) words overtaken by the end event are waited for as well.
    client.say("tts-late", audio, source="tts", words_known=True, lead=3.0)
    client.publish_words("tts-late", WORDS, "tts")
    assert len(client.wait_frames("tts-late", expected_frames(audio))) == expected_frames(audio)
    wait_log(ros, proc, "tts-late: 38 frames (2.50 s, 3 words")

    # No words at all: generated from the audio alone once words_timeout has passed ...
    client.say("asr-2", audio, source="file", words_known=False, lead=3.0)
    assert len(client.wait_frames("asr-2", expected_frames(audio))) == expected_frames(audio)
    wait_log(ros, proc, "asr-2: no final words within 1 s")
    # ... or, sooner, deadline_margin (0.4 s) plus the expected generation time before the speech
    # plays: gestures are never late for want of words (a file utterance with the default 1 s
    # lead: 2 s words_timeout > lead).
    start_ns = client.say("asr-3", audio, source="file", words_known=False, lead=0.8)
    assert len(client.wait_frames("asr-3", expected_frames(audio))) == expected_frames(audio)
    assert ros.node.get_clock().now().nanoseconds < start_ns + c.NS_PER_S // 2  # not 1 s late
    # (its words given up while waiting or at its end event, or, when even its audio is not all
    # there by then, generated in windows)
    ways = r"no final words 0\.\d+ s before it plays|no time is left to wait for its words|[\d.]+ s of audio so far"
    assert re.search(rf"asr-3: ({ways})", proc.log())

    # Live microphone input: a window every 2 s (30 frames) of audio, then the tail at the end.
    live = speech_with_clicks(5.3, clicks=(0.6, 1.5, 2.4, 3.3, 4.4))
    start_ns = client.say("mic-1", live, source="mic", words_known=False)
    poses = client.wait_frames("mic-1", expected_frames(live))
    windows = sorted(client.poses["mic-1"], key=lambda s: s.first_frame)
    assert [(w.first_frame, len(w.poses)) for w in windows] == [(0, 30), (30, 30), (60, 20)]
    assert all(w.start_ns == start_ns for w in windows)
    # Windows join smoothly: the step across a boundary is no bigger than steps inside windows.
    steps = np.abs(np.diff(poses, axis=0)).max(axis=1)
    assert steps[[29, 59]].max() < 0.3
    assert proc.alive()


def test_a_third_party_backend_plug_in_is_found_and_driven(ros, speech_with_clicks) -> None:
    """tests/plugins holds a backend package as another project would ship it (an entry point in
    its dist-info); on PYTHONPATH, the unchanged node offers it, declares its setting and drives it."""
    plugins = str(PLUGINS)
    path = os.pathsep.join(p for p in (plugins, os.environ.get("PYTHONPATH", "")) if p)
    proc = ros.start(GENERATOR, {"backend": "wave", "wave.frequency": 1.0}, env={"PYTHONPATH": path})
    client = GeneratorClient(ros)
    wait_log(ros, proc, "generator backend: wave (no weights, frequency=1.0)")
    audio = speech_with_clicks(3.0)
    assert_generated_by(client, proc, "wave-1", audio, "wave")
    slow = client.wait_frames("wave-1", expected_frames(audio))

    (result,) = client.set_params(**{"wave.frequency": 3.0})  # the plug-in's own setting, live
    assert result.successful
    wait_log(ros, proc, "wave settings: {'frequency': 3.0}")
    assert_generated_by(client, proc, "wave-2", audio, "wave")
    fast = client.wait_frames("wave-2", expected_frames(audio))
    crossings = lambda poses: int(np.sum(np.diff(np.sign(poses[:, 25])) != 0))  # noqa: E731 (right forearm y)
    assert crossings(fast) >= 2 * crossings(slow) > 0
    (result,) = client.set_params(**{"wave.frequency": 50.0})
    assert not result.successful and "wave.frequency" in result.reason
