"""Timing that survives the robot, and synchrony with speech.

- The robot: the robot's own speech (real espeak-ng, stressed syllables) through the procedural
  generator and the lexicon, retargeted by the core MotionPlanner (IK + safety stage) and played by
  the MuJoCo simulation: the robot's joint-speed peaks must fall within 0.2 s of every planned
  stroke, with no delay behind the planned motion.
- Synchrony (the permutation check): on BEAT2 (``../shared``) the procedural motion, driven by the
  forced-aligned words, follows the stressed syllables better than 95 % of circular shifts.
- The contact sheet of a gesture, retargeted onto the bundled robot and rendered by MuJoCo.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gesture_core.contracts import GESTURE_FPS as FPS
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.gestures.timing import RobotTimingCheck, speed_peak, sync_percentile
from gesture_core.metrics.motion import joint_speed
from gesture_core.models.procedural import ProceduralGenerator
from gesture_core.speech.markup import parse_markup
from gesture_core.speech.tts import EspeakTTS

TEXT = "Hello! ^start(nod) Yes, I think that everything you see here is very big, but I don't know why."


@pytest.fixture(scope="module")
def gen() -> ProceduralGenerator:
    return ProceduralGenerator()


def test_robot_speed_peaks_fall_on_the_planned_strokes(gen: ProceduralGenerator) -> None:
    marked = parse_markup(TEXT, gen.layer.lexicon.names)
    speech = EspeakTTS().synthesize(marked.text)
    words = marked.annotate(speech.words)
    result = gen.generate_with_strokes(SpeechInput(speech.audio, words), Style(seed=0))
    labels = {label for _, label in result.strokes}
    assert {"beat", "nod", "shrug"} <= labels and len(labels) >= 4, result.strokes
    stress = {w.stress for w in words if w.stress is not None}
    for t, label in result.strokes:
        if (
            label != "beat" and t > 1.5
        ):  # lexicon strokes on their word's stressed syllable (or prominent moment)
            assert any(w.start - 1e-9 <= t <= w.end + 1e-9 for w in words), (t, label)
    assert any(t in stress for t, label in result.strokes if label == "beat")
    report = RobotTimingCheck().run(result.poses, result.strokes)
    measured = report.offsets("measured")
    assert len(measured) >= 0.9 * len(result.strokes)
    assert np.all(np.abs(measured) <= 0.2), [(s.time, s.label, s.measured) for s in report.strokes]
    assert abs(report.delay("measured")) <= 0.04 and abs(report.delay("commanded")) <= 0.04


def test_speed_peak_and_permutation_check_on_synthetic_motion() -> None:
    t = np.arange(0, 30, 1 / FPS)
    rng = np.random.default_rng(0)
    cues = np.sort(rng.uniform(1, 29, 40))
    bumps = sum(np.exp(-0.5 * ((t - c + 0.05) / 0.08) ** 2) for c in cues)
    speed = bumps + 0.3 * rng.random(len(t))
    assert speed_peak(t, bumps, cues[5]) == pytest.approx(cues[5] - 0.05, abs=0.02)
    assert speed_peak(t, np.ones_like(t), 3.0) is None
    score, pct = sync_percentile(speed, FPS, cues, n_shifts=200)
    assert score > 0.5 and pct == 100.0
    _, pct_other = sync_percentile(speed, FPS, np.sort(rng.uniform(1, 29, 40)), n_shifts=200)
    assert pct_other < 95.0  # unrelated cues: chance
    assert np.isnan(sync_percentile(np.ones_like(t), FPS, cues)[0])


@pytest.mark.shared
def test_synchrony_with_stressed_syllables_on_beat2(shared_dir: Path, gen: ProceduralGenerator) -> None:
    from gesture_core.speech.audio_io import load_audio
    from gesture_core.speech.textgrid import words_from_textgrid

    folder = shared_dir / "data" / "beat2_scott"
    audio = load_audio(folder / "2_scott_0_1_1.wav")
    words = words_from_textgrid(folder / "2_scott_0_1_1.TextGrid")
    stress = np.array([w.stress for w in words if w.stress is not None])
    poses = gen.generate(SpeechInput(audio, words), Style(seed=0))
    score, pct = sync_percentile(joint_speed(poses), FPS, stress, n_shifts=300)
    assert pct >= 95.0, (score, pct)


def test_contact_sheet_of_a_gesture(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gesture_core.gestures.cli", "--sheet", str(tmp_path), "--gesture", "wave",
         "--robot", "humanoid_7dof", "--size", "160", "160"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    png = tmp_path / "wave.png"
    assert out.stdout.strip() == str(png)
    import matplotlib.image

    image = matplotlib.image.imread(png)
    assert image.shape[0] > 200 and image.shape[1] > 4 * 160 * 0.8  # one column per keyframe
    assert image[..., :3].std() > 0.05  # rendered, not blank
