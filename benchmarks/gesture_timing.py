"""Where the robot's motion lands relative to the planned strokes: the offset the issue asks for.

Run: ``.venv/bin/python benchmarks/gesture_timing.py [--seeds 0 1 2]`` (prints a Markdown table).

Sentences spoken by the robot's own TTS (espeak-ng, stressed syllables known; English and Korean,
with lexicon words and markup) go through a generator with the lexicon layer, then the core
retargeting (IK + safety stage: smoothing, velocity and acceleration limits) and the MuJoCo
simulation (:class:`gesture_core.gestures.timing.RobotTimingCheck`). Per planned stroke the
joint-speed peak nearest to it (within -0.4..+0.3 s) is found in the planned (IK), commanded and
measured (50 Hz, like ``joint_states``) motion. Columns: strokes found / planned, the measured peak
minus the stroke's target (mean, sd, largest magnitude, fraction within +-0.2 s), and the delay of
the commanded and measured joint speed behind the planned one (cross-correlation): the part the
robot adds, which ``LayerConfig.robot_lead_s`` compensates (0 by default, as measured here).
"""

from __future__ import annotations

import argparse
import logging

import numpy as np
from tqdm import tqdm

from gesture_core.generation.base import SpeechInput, Style
from gesture_core.generation.factory import make_generator
from gesture_core.gestures.layer import with_gesture_layer
from gesture_core.gestures.timing import RobotTimingCheck
from gesture_core.speech.markup import parse_markup
from gesture_core.speech.tts import EspeakTTS

TEXTS = (
    "Hello! I am a robot. I move my arms and my head while I talk to you, like people do.",
    "On the one hand it is small, on the other hand it is huge. ^start(nod) Yes! No, I don't know.",
    "The first thing I like to do when I travel is to find a quiet place, and then I walk around for hours.",
    "안녕하세요! 저는 로봇입니다. 여러분, 이것은 정말 크다고 생각해요.",
)
ROBOTS = ("humanoid", "humanoid_7dof")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--backends", nargs="+", default=["procedural", "trimodal"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    tts = EspeakTTS()
    utterances = []
    for text in TEXTS:
        marked = parse_markup(text)
        speech = tts.synthesize(marked.text)
        utterances.append(SpeechInput(speech.audio, marked.annotate(speech.words)))
    print("Robot joint-speed peaks relative to the planned strokes (s; + = late)\n")
    print("| robot | backend | strokes found | measured - target: mean | sd | max abs | within 0.2 s "
          "| delay commanded | delay measured |")  # fmt: skip
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for robot in ROBOTS:
        config = None if robot == "humanoid" else f"config/retarget_{robot}.yaml"
        check = RobotTimingCheck(config)
        for backend in args.backends:
            generator = with_gesture_layer(make_generator(backend))
            offsets, delays, found, planned = [], [], 0, 0
            for speech in tqdm(utterances, desc=f"{robot} {backend}", leave=False):
                for seed in args.seeds:
                    result = generator.generate_with_strokes(speech, Style(seed=seed))
                    if not result.strokes:
                        continue
                    report = check.run(result.poses, result.strokes)
                    o = report.offsets("measured")
                    offsets += list(o)
                    found += len(o)
                    planned += len(result.strokes)
                    delays.append((report.delay("commanded"), report.delay("measured")))
            o, d = np.array(offsets), np.array(delays)
            print(f"| {robot} | {backend} | {found}/{planned} | {o.mean():+.3f} | {o.std():.3f} | "
                  f"{np.abs(o).max():.3f} | {np.mean(np.abs(o) <= 0.2):.0%} | {d[:, 0].mean():+.3f} | "
                  f"{d[:, 1].mean():+.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
