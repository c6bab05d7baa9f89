"""Audio files of any rate, channel count and format load as 16 kHz mono float32; chunking."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st

from gesture_core.contracts import AUDIO_SAMPLE_RATE
from gesture_core.errors import ConfigError, SpeechError
from gesture_core.speech.audio_io import chunk_audio, load_audio, to_mono_16k
from gesture_core.speech.playback import AudioPlayer, Microphone, import_sounddevice


def sine(freq: float, seconds: float, rate: int, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def dominant_frequency(audio: np.ndarray, rate: int = AUDIO_SAMPLE_RATE) -> float:
    spectrum = np.abs(np.fft.rfft(audio * np.hanning(audio.size)))
    return float(np.fft.rfftfreq(audio.size, 1 / rate)[np.argmax(spectrum)])


@pytest.mark.parametrize(
    "name, rate, channels, subtype",
    [
        ("cd.wav", 44_100, 2, "PCM_16"),
        ("phone.wav", 8_000, 1, "PCM_16"),
        ("studio.flac", 48_000, 2, "PCM_24"),
        ("native.wav", 16_000, 1, "FLOAT"),
        ("tts.flac", 22_050, 1, "PCM_16"),
    ],
)
def test_load_any_format_as_16k_mono(tmp_path, name, rate, channels, subtype):
    seconds, freq = 1.5, 440.0
    left = sine(freq, seconds, rate)
    data = np.stack([left, 0.5 * left], axis=1) if channels == 2 else left
    path = tmp_path / name
    sf.write(path, data, rate, subtype=subtype)

    audio = load_audio(path)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert abs(audio.size - seconds * AUDIO_SAMPLE_RATE) <= 1
    assert dominant_frequency(audio) == pytest.approx(freq, abs=2.0)
    expected_amplitude = 0.5 * (0.75 if channels == 2 else 1.0)  # channels are averaged
    middle = audio[AUDIO_SAMPLE_RATE // 4 : -AUDIO_SAMPLE_RATE // 4]
    assert np.max(np.abs(middle)) == pytest.approx(expected_amplitude, rel=0.02)


def test_16k_mono_float_file_loads_unchanged(tmp_path):
    data = np.random.default_rng(0).uniform(-0.9, 0.9, 4000).astype(np.float32)
    sf.write(tmp_path / "x.wav", data, AUDIO_SAMPLE_RATE, subtype="FLOAT")
    np.testing.assert_array_equal(load_audio(tmp_path / "x.wav"), data)


def test_full_scale_is_clipped_into_range():
    square = np.sign(sine(1000.0, 0.5, 44_100)).astype(np.float32)  # rings when resampled
    audio = to_mono_16k(square, 44_100)
    assert np.max(np.abs(audio)) <= 1.0


def test_missing_corrupt_and_empty_files_raise(tmp_path):
    with pytest.raises(SpeechError, match="nothing.wav"):
        load_audio(tmp_path / "nothing.wav")
    with pytest.raises(SpeechError, match="does not exist"):
        load_audio(tmp_path)  # a directory
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage that is not audio")
    with pytest.raises(SpeechError, match="corrupt.wav.*cannot be read"):
        load_audio(corrupt)
    sf.write(tmp_path / "empty.wav", np.zeros(0, np.float32), 16_000)
    with pytest.raises(SpeechError, match="no samples"):
        load_audio(tmp_path / "empty.wav")


@given(n=st.integers(0, 5000), chunk=st.integers(1, 700))
def test_chunking_round_trip(n, chunk):
    audio = np.arange(n, dtype=np.float32)
    chunks = chunk_audio(audio, chunk)
    assert [off for off, _ in chunks] == list(range(0, n, chunk))
    assert all(c.size == chunk for _, c in chunks[:-1])
    joined = np.concatenate([c for _, c in chunks]) if chunks else np.zeros(0, np.float32)
    np.testing.assert_array_equal(joined, audio)


def test_chunking_rejects_bad_size():
    with pytest.raises(ConfigError, match="chunk_samples"):
        chunk_audio(np.zeros(10), 0)


@pytest.mark.skipif(
    import_sounddevice()[0] is not None, reason="sounddevice and PortAudio are installed here"
)
def test_without_sounddevice_playback_is_silent_and_the_microphone_says_what_to_install(caplog):
    with caplog.at_level(logging.INFO, logger="gesture_core.speech.playback"):
        player = AudioPlayer()
    assert not player.available and "as if played" in caplog.text
    player.play(np.zeros(160, np.float32))  # no device: returns at once, plays nothing
    with pytest.raises(SpeechError, match=r"gesture-core\[audio\]"):
        Microphone(1600, lambda block: None)
