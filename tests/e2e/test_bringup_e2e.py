"""The main job, end to end, with real everything: espeak-ng, Vosk, librosa, the generator, the
retargeter, MuJoCo and DDS between seven processes started by ``gesture-bringup``.

One demo run (module fixture) is checked from several angles: the video, the MCAP recording, the
tracking of the commanded trajectories and the timing of the motion against the speech. Separate
runs check Ctrl-C in the middle of an utterance and live tuning through the parameter services.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from locations import ROOT

from gesture_core import contracts as c
from gesture_core.gestures.timing import joint_speed, speed_peak
from gesture_core.outputs import load_timeline
from gesture_core.recording import read_messages
from gesture_core.retarget.config import default_config_path, load_config, rest_positions
from gesture_core.robot import default_urdf_path, parse_urdf
from gesture_core.sim.trajectory import TrajectoryReference

pytestmark = [pytest.mark.ros, pytest.mark.slow]

#: Exercises the gesture lexicon: "Hello" (wave, on the first word), "I" (self), "you" (listener) and
#: "big" (which takes the arm from "you": higher priority).
SENTENCE = "Hello there. I am a robot, and I like to talk with you about big ideas."


#: How far (rad) a measured joint state may pass a position limit that the commands respect: the
#: servo's tracking error (measured 0.002 rad on strokes planned to the limits, tests/unit/test_sim.py).
POSITION_OVERSHOOT = 0.01


def _bringup(out: Path, *extra: str, marker: str | None = None) -> subprocess.Popen:
    env = os.environ.copy()
    if marker:
        env["GESTURE_TEST_MARKER"] = marker  # inherited by every node process
    return subprocess.Popen(
        [sys.executable, "-m", "gesture_bringup.cli", "--output", str(out), "--quiet", *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True,
    )  # fmt: skip


def _processes_with_marker(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"GESTURE_TEST_MARKER={marker}".encode() in (entry / "environ").read_bytes():
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    # The graph's own parameters (lead_time 1 s), as `make demo` runs it: the retargeter plans the
    # first second of a gesture first and the rest while it plays, so the start of the motion (the
    # wave on "Hello") is not cut on a loaded machine (it was, when the whole message was planned at once).
    proc = _bringup(out, "--text", SENTENCE)
    log, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, log
    return out, log


def _speech(tl) -> tuple[str, int, float]:
    [(uid, ev)] = tl.utterances.items()
    return uid, ev.start_ns, sum(size for _, size in tl.audio[uid]) / c.AUDIO_SAMPLE_RATE


def test_demo_writes_video_with_audio_of_the_speech_length(demo):
    out, log = demo
    tl = load_timeline(out / "recording.mcap")
    _, _, speech_s = _speech(tl)
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(out / "gesture.mp4"))
    meta = reader.__next__()
    frames = [np.frombuffer(f, np.uint8).reshape(meta["size"][1], meta["size"][0], 3) for f in reader]
    assert abs(meta["duration"] - speech_s) <= 0.5, (meta["duration"], speech_s)
    ffmpeg = imageio_ffmpeg.get_ffmpeg_exe()
    streams = subprocess.run([ffmpeg, "-i", str(out / "gesture.mp4")], capture_output=True, text=True).stderr
    assert "Audio: aac" in streams, streams
    # the contact sheet: rest, one frame per lexicon gesture stroke, the end
    assert "frames:" in log and (out / "contact_sheet.png").stat().st_size > 10_000
    # the robot visibly moves: some frame differs clearly from the first one
    diffs = [np.mean(np.abs(f.astype(int) - frames[0].astype(int))) for f in frames]
    assert max(diffs) > 1.0, max(diffs)
    assert (out / "timeline.png").stat().st_size > 10_000
    assert "video:" in log and "picture:" in log


def test_demo_recording_holds_every_topic(demo):
    out, _ = demo
    counts = Counter(topic.lstrip("/") for topic, _, _ in read_messages(out / "recording.mcap"))
    tl = load_timeline(out / "recording.mcap")
    _, _, speech_s = _speech(tl)
    assert counts[c.UTTERANCE.name] == 2  # start + end
    assert counts[c.AUDIO.name] == int(np.ceil(speech_s / 0.1))  # 100 ms chunks, none lost
    assert counts[c.WORDS.name] >= 1 and counts[c.FEATURES.name] >= 2  # window(s) + final
    assert counts[c.HUMAN_POSE.name] == 1
    assert counts[c.JOINT_TRAJECTORY.name] >= 2  # start-up rest, gesture, return to rest
    assert counts[c.JOINT_STATES.name] > 50 * speech_s * 0.8  # 50 Hz
    assert counts["clock"] > 0 and counts[c.SIM_IMAGE.name] > 5 * speech_s
    assert counts[c.ROBOT_DESCRIPTION.name] == 1  # published once at start-up, transient local
    words = tl.words[next(iter(tl.words))]
    assert [w.word for w in words.words][:2] == ["Hello", "there"]


def _reference(tl, joint_names: list[str], rest: np.ndarray) -> TrajectoryReference:
    """The commanded reference, built from the recorded trajectories as a controller would."""
    ref = TrajectoryReference(joint_names, rest)
    for cmd in tl.commands:
        start = cmd.stamp_ns / c.NS_PER_S
        ref.add(cmd, start=start, now=start)
    return ref


def test_demo_joint_states_follow_the_commands_and_timing(demo):
    out, _ = demo
    tl = load_timeline(out / "recording.mcap")
    uid, start_ns, speech_s = _speech(tl)
    names = tl.states[0][1]
    rest_cmd = next(cmd for cmd in tl.commands if cmd.utterance_id == "rest")  # the start-up rest pose
    rest = rest_cmd.positions[-1][[rest_cmd.joint_names.index(n) for n in names]]
    ref = _reference(tl, names, rest)
    t = np.array([s for s, _, _ in tl.states]) / c.NS_PER_S
    q = np.stack([p for _, _, p in tl.states])
    # Start-up: the retargeter commands the rest pose whenever a new subscriber (the sim, the
    # recorder) appears, so the recording may hold a rest command the sim never got. Tracking is
    # judged from the end of the last start-up rest command: over the speech and back to rest.
    speech_start, speech_end = start_ns / c.NS_PER_S, start_ns / c.NS_PER_S + speech_s
    startup_done = max(
        (cmd.stamp_ns / c.NS_PER_S + cmd.times[-1] for cmd in tl.commands
         if cmd.utterance_id == "rest" and cmd.stamp_ns / c.NS_PER_S < speech_start),
    ) + 0.2  # fmt: skip
    tracking = t > startup_done
    # The sim executes a command from when it arrives and drops time when the machine is too busy
    # to keep real time, so allow a small lag between the commanded and the measured timeline.
    rms_by_lag = {}
    for lag in np.arange(0.0, 0.151, 0.01):
        q_ref = np.stack([ref.sample(ti - lag)[0] for ti in t[tracking]])
        rms_by_lag[round(float(lag), 2)] = float(np.sqrt(np.mean((q[tracking] - q_ref) ** 2)))
    lag, rms = min(rms_by_lag.items(), key=lambda kv: kv[1])
    assert rms < 0.03, f"RMS tracking error {rms:.4f} rad at the best lag {lag} s (0 lag: {rms_by_lag[0.0]:.4f})"
    # motion starts no earlier than the speech ...
    gesture = [cmd for cmd in tl.commands if cmd.utterance_id == uid]
    assert gesture and min(cmd.stamp_ns for cmd in gesture) / c.NS_PER_S >= speech_start - 1e-3
    before = (t > startup_done) & (t < speech_start)
    if before.any():  # between the start-up move to rest and the speech, the robot stays at rest
        assert np.max(np.abs(q[before] - rest)) < 0.02
    moving = (t > speech_start) & (t < speech_end)
    assert np.max(np.abs(q[moving] - rest)) > 0.2, "the robot did not gesture"
    # ... and settles to rest within 1.5 s after it ends
    settled = t > speech_end + 1.5
    assert settled.any(), "the recording stops too early"
    assert np.max(np.abs(q[settled] - rest)) < 0.02


def test_demo_strokes_land_on_the_stressed_syllables_within_the_robots_limits(demo):
    """The graph-level timing check (docs/gestures.md): every lexicon gesture that fires has the
    commanded joint speed's peak within 0.25 s of its word's stressed syllable, the simulated robot's
    measured joint-speed peaks (joint_states velocities) are within 0.2 s of the planned strokes, and
    no command or joint state leaves the robot's position and velocity limits."""
    from gesture_core.retarget.config import default_config_path, load_config, resolve_urdf, safety_limits
    from gesture_core.robot import parse_urdf

    out, _ = demo
    tl = load_timeline(out / "recording.mcap")
    uid, start_ns, _ = _speech(tl)
    t0 = start_ns / c.NS_PER_S
    (seq,) = [
        s for topic, _, m in read_messages(out / "recording.mcap", [f"/{c.HUMAN_POSE.name}"])
        if (s := c.decode_human_pose(m)).utterance_id == uid
    ]  # fmt: skip
    words = tl.words[uid].words
    lexicon = [(t, label) for t, label in seq.strokes if label != "beat"]
    assert {"wave", "self"} <= {label for _, label in lexicon} and len(lexicon) >= 3, seq.strokes
    assert lexicon[0][1] == "wave" and lexicon[0][0] == pytest.approx(words[0].stress, abs=1e-6)  # not late

    # the utterance's commands (the first second of it, then the rest) as the robot executes them: a
    # newer trajectory replaces an older one from its first point on
    pieces = sorted((m for m in tl.commands if m.utterance_id == uid), key=lambda m: m.stamp_ns)
    cmd = pieces[0]
    assert all(p.joint_names == cmd.joint_names for p in pieces)
    ends = [p.stamp_ns / c.NS_PER_S - t0 for p in pieces[1:]] + [np.inf]
    parts = [(p.stamp_ns / c.NS_PER_S + p.times - t0, p.positions) for p in pieces]
    cmd_t = np.concatenate([t[t < end] for (t, _), end in zip(parts, ends)])
    cmd_q = np.concatenate([q[t < end] for (t, q), end in zip(parts, ends)])
    commanded = (cmd_t, joint_speed(cmd_t, cmd_q))
    states = [
        (c.stamp_to_ns(m.header.stamp) / c.NS_PER_S - t0, dict(zip(m.name, m.velocity)))
        for _, _, m in read_messages(out / "recording.mcap", [f"/{c.JOINT_STATES.name}"])
    ]  # fmt: skip
    measured = (
        np.array([t for t, _ in states]),
        np.linalg.norm([[v[n] for n in cmd.joint_names] for _, v in states], axis=1),
    )
    offsets = []
    for t, label in lexicon:
        # its word: espeak-ng's stressed syllable; an unstressed word ("I") is anchored on its most
        # prominent frame, which is then the planned stroke itself
        (word,) = [w for w in words if w.start - 1e-6 <= t <= w.end + 1e-6]
        stress = word.stress if word.stress is not None else t
        assert stress == pytest.approx(t, abs=1e-6), (label, word)
        peak = speed_peak(*commanded, stress)
        assert peak is not None and abs(peak - stress) <= 0.25, (label, stress, peak)
        offsets.append((label, word.word, round(peak - stress, 3)))
    robot = [(label, speed_peak(*measured, t), t) for t, label in seq.strokes]
    late = [(label, p, t) for label, p, t in robot if p is None or abs(p - t) > 0.2]
    print(f"commanded peak - stressed syllable: {offsets}")
    print(f"measured peak - planned stroke: {[(lb, p if p is None else round(p - t, 3)) for lb, p, t in robot]}")
    assert not late, late

    cfg = load_config(default_config_path())
    limits = safety_limits(cfg, parse_urdf(resolve_urdf(cfg)))
    columns = [cfg.joint_names.index(n) for n in cmd.joint_names]
    lo, hi, vmax = limits.lower[columns], limits.upper[columns], limits.velocity[columns]
    for command in tl.commands:
        assert np.all(command.positions >= lo - 1e-6) and np.all(command.positions <= hi + 1e-6)
        steps = np.abs(np.diff(command.positions, axis=0))
        assert np.all(steps <= vmax * np.diff(command.times)[:, None] * (1 + 1e-6) + 1e-6)
    q = np.stack([[dict(zip(names, p))[n] for n in cmd.joint_names] for _, names, p in tl.states])
    # The commands stay inside (above); the measured state may pass a limit by POSITION_OVERSHOOT.
    # (Before the sim's ACCELERATION_SLACK the fast "self" stroke took l_elbow_roll 0.039 rad past
    # -2.35: the sim's limiter lagged the trajectory and overshot where it braked. MuJoCo's own
    # joint limit at -2.4 was never reached.)
    beyond = np.maximum(lo - POSITION_OVERSHOOT - q, q - hi - POSITION_OVERSHOOT)
    k, j = np.unravel_index(np.argmax(beyond), beyond.shape)
    assert beyond[k, j] <= 0, (
        f"{cmd.joint_names[j]} at {q[k, j]:.3f} rad, limits [{lo[j]}, {hi[j]}], "
        f"t = {tl.states[k][0] / c.NS_PER_S - t0:.2f} s from the speech; {int(np.sum(beyond > 0))} samples beyond"
    )
    # measured velocities from the speech on (the sim's jump from its initial pose to the start-up
    # rest command is not gesture motion); the servos may overshoot the commanded speed a little
    v = np.array([[v[n] for n in cmd.joint_names] for _, v in states])
    over = np.abs(v) / vmax
    speaking = measured[0] >= 0.0
    worst = int(np.argmax(over.max(axis=1) * speaking))
    print(f"joint_states speed / limit, from the speech on: max {over[speaking].max():.2f} at {measured[0][worst]:.2f} s")
    assert np.all(over[speaking] <= 1.05), (measured[0][worst], over[worst])


def test_sigint_mid_utterance_leaves_no_process_and_readable_outputs(tmp_path):
    marker = uuid.uuid4().hex
    long_text = " ".join([SENTENCE] * 6)
    proc = _bringup(tmp_path, "--text", long_text, marker=marker)
    lines = []
    deadline = time.monotonic() + 180
    for line in proc.stdout:  # wait until the robot is speaking
        lines.append(line)
        if "s of speech" in line or time.monotonic() > deadline:
            break
    time.sleep(2.0)
    assert proc.poll() is None, "".join(lines)
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130, "".join(lines) + rest
    time.sleep(0.5)
    assert _processes_with_marker(marker) == [], "processes left behind"
    messages = list(read_messages(tmp_path / "recording.mcap"))
    assert any(topic.lstrip("/") == c.JOINT_TRAJECTORY.name for topic, _, _ in messages)
    assert (tmp_path / "timeline.png").is_file() and (tmp_path / "gesture.mp4").is_file()
    # stopped mid-gesture on purpose, the robot still ends at rest (the sim is stopped last)
    rest = rest_positions(load_config(default_config_path()), parse_urdf(default_urdf_path()))
    [*_, (_, _, last)] = [(t, topic, m) for topic, t, m in messages if topic.lstrip("/") == c.JOINT_STATES.name]
    off = {n: abs(q - rest[n]) for n, q in zip(last.name, last.position) if n in rest}
    assert max(off.values()) < 0.05, off


def _gesturing(cmd: c.JointCommand) -> float:
    """How much the robot moves while it talks: summed std of the joints, without the blend from
    the previous posture at the start and the last half second."""
    mid = (cmd.times > 1.0) & (cmd.times < cmd.times[-1] - 0.5)
    return float(cmd.positions[mid].std(axis=0).sum())


def test_live_tuning_changes_the_published_trajectories(ros, tmp_path):
    from gesture_msgs.msg import UtteranceEvent
    from std_msgs.msg import String
    from trajectory_msgs.msg import JointTrajectory

    from gesture_core.ros2_control import TRAJECTORY_TOPIC

    # no simulation (a real robot's graph, the robot absent): the trajectories go to its controller's topic
    proc = _bringup(tmp_path, "--stay", "--sim", "none", "--input", "tts", "--text", "Hi.")
    got: dict[str, c.JointCommand] = {}
    utterances: list[str] = []

    def on_traj(msg):
        cmd = c.decode_joint_trajectory(msg)
        if cmd.utterance_id.startswith("tts-"):
            got[cmd.utterance_id] = cmd

    ros.node.create_subscription(JointTrajectory, TRAJECTORY_TOPIC, on_traj, 10)
    ros.node.create_subscription(
        UtteranceEvent, c.UTTERANCE.name, lambda m: utterances.append(c.decode_utterance(m).utterance_id), 10
    )
    say = ros.node.create_publisher(String, c.SAY.name, 10)
    try:
        ros.spin_until(lambda: len(got) >= 1, 180, "the first gesture of the running graph")

        def gesture_for(text: str) -> c.JointCommand:
            n = len(got)
            say.publish(String(data=text))
            ros.spin_until(lambda: len(got) > n, 60, f"a gesture for {text!r}")
            return got[list(got)[-1]]

        text = "One, two, three, four, five, six, seven."
        base = gesture_for(text)
        [ok] = ros.set_parameters("gesture_generator", amplitude=0.3)
        assert ok.successful, ok.reason
        small = gesture_for(text)
        assert _gesturing(small) < 0.6 * _gesturing(base), (_gesturing(small), _gesturing(base))
        [ok] = ros.set_parameters("gesture_generator", amplitude=1.0)
        [ok] = ros.set_parameters("retarget", speed_scale=0.3)
        assert ok.successful, ok.reason
        slow = gesture_for(text)
        vmax = lambda cmd: np.max(np.abs(np.diff(cmd.positions, axis=0)) / np.diff(cmd.times)[:, None])  # noqa: E731
        assert vmax(slow) < 0.8 * vmax(base)
        [bad] = ros.set_parameters("gesture_generator", amplitude=5.0)
        assert not bad.successful and "amplitude" in bad.reason
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.communicate(timeout=60)


def test_a_korean_wav_file_is_recognised_and_gestured(tmp_path):
    """--input file: a 44.1 kHz stereo WAV of Korean speech goes through Vosk (the real Korean
    model) and the generator; the robot gestures with it."""
    import soundfile as sf
    import soxr

    from gesture_core.speech.tts import EspeakTTS

    speech = EspeakTTS().synthesize("안녕하세요. 오늘은 날씨가 정말 좋네요.")
    stereo = np.repeat(speech.audio[:, None], 2, axis=1)
    wav = tmp_path / "korean.wav"
    sf.write(wav, soxr.resample(stereo, c.AUDIO_SAMPLE_RATE, 44_100), 44_100)
    out = tmp_path / "out"
    proc = _bringup(out, "--input", "file", "--file", str(wav), "--render", "false")
    log, _ = proc.communicate(timeout=240)
    assert proc.returncode == 0, log
    tl = load_timeline(out / "recording.mcap")
    [(uid, ev)] = tl.utterances.items()
    assert ev.source == "file" and not ev.words_known
    words = tl.words[uid]
    assert words.source == "asr" and words.final and len(words.words) >= 2
    assert any(cmd.utterance_id == uid for cmd in tl.commands)
    assert not (out / "gesture.mp4").exists()  # render:=false: no video, the picture still
    assert (out / "timeline.png").is_file()
