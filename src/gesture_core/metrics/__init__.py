"""Evaluation metrics on TED poses ``(N, 27)`` at 15 fps, speech cue times in seconds, seeds explicit.

- :mod:`.kinematics`: hand speed, hand height, elbow angle, motion, strokes;
- :mod:`.cues`: speech cue times (prominent syllables from audio, stressed syllables and words from
  an alignment);
- :mod:`.synchrony`: stroke/cue alignment against a seeded permutation null (percentile, z-score),
  per clip and pooled;
- :mod:`.distribution`: distribution distances to real motion (1-Wasserstein of hand speed, hand
  height, elbow angle; fraction of time in motion);
- :mod:`.timing`: semantic timing, word -> stroke offsets;
- :mod:`.fgd`: Fréchet Gesture Distance with many windows and a block-bootstrap interval (needs torch);
- :mod:`.motion`: BeatAlign, diversity, acceleration/jerk, robot limit violations;
- :mod:`.suite`: all of them for one motion set against its real clips (used by ``gesture-eval``).
"""
