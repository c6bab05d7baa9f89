"""Gestures that go with what the robot says: timing cues, the gesture planner, the lexicon and
markup layer, and the robot timing check.

- :mod:`.body`: the body model (angles -> TED poses) gestures are written and planned in.
- :mod:`.cues`: stroke targets from stressed syllables, word timings and acoustic prominence.
- :mod:`.planner`: gesture units, strokes, hands and sizes (the procedural generator renders them).
- :mod:`.lexicon`: the YAML gesture lexicon (words and phrases -> TED keyframe gestures).
- :mod:`.layer`: lexicon and markup gestures over any backend's motion, with the planned strokes.
- :mod:`.timing`: where the robot's joint-speed peaks fall relative to the planned strokes.
"""
