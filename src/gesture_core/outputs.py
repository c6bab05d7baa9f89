"""What a run leaves for a person to look at, made from its MCAP recording.

- :func:`write_video`: an MP4 of the rendered robot with the speech audio muxed in, both placed on
  the ROS timeline by their stamps, so sync can be judged by eye and ear.
- :func:`plot_timeline`: one picture lining up the waveform, detected onsets and words with the
  commanded and measured joint trajectories.
- :func:`write_contact_sheet`: one picture of the robot at rest, at every planned lexicon gesture
  (its name, time and the word spoken then) and at the end.
- :func:`outputs_from_recording`: all three, from ``recording.mcap`` (no ROS needed).

Memory does not grow with the length of the session: the timeline keeps the stamps of the rendered
frames and audio chunks only; the video streams the images from the recording to the encoder, and
the audio track is written to disk a chunk at a time (:func:`write_audio_track`; an hour of speech
is a 230 MB track, which is never in memory). An utterance start event whose
time is absurd (``start_ns`` 0, a year away: more than :data:`MAX_START_SKEW_S` from when it was
recorded) is skipped with a warning, so it cannot stretch the outputs over decades.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import contracts as c
from .errors import ContractError, GestureError
from .recording import read_messages

log = logging.getLogger(__name__)

#: An utterance start this far (s) from the time its event was recorded is not believed.
MAX_START_SKEW_S = 600.0
#: Longest speech span (s) the outputs cover: a day; a longer one is refused, not allocated.
MAX_SPAN_S = 86_400.0
#: Samples of the audio track written or read at a time (10 s).
AUDIO_BLOCK = 10 * c.AUDIO_SAMPLE_RATE
#: Points of the waveform in the timeline picture (min/max per point).
WAVEFORM_POINTS = 4000


@dataclass
class Timeline:
    """Everything of one run on the ROS timeline (times in integer ns unless named ``*_s``)."""

    utterances: dict[str, c.UtteranceEvent] = field(default_factory=dict)
    #: Per utterance, ``(stamp ns, samples)`` of each audio chunk; the samples stay in the recording.
    audio: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    words: dict[str, c.WordTimings] = field(default_factory=dict)
    features: dict[str, c.AudioFeatures] = field(default_factory=dict)
    #: Stamps (ns) of the rendered frames (``sim/image``), in recording order; the images stay in
    #: the recording (``source``).
    frame_stamps: list[int] = field(default_factory=list)
    source: Path | None = None
    commands: list[c.JointCommand] = field(default_factory=list)
    states: list[tuple[int, list[str], np.ndarray]] = field(default_factory=list)
    #: Planned strokes of every gesture sequence: ``(time ns, label)``, ``label`` "beat" or a gesture name.
    strokes: list[tuple[int, str]] = field(default_factory=list)

    def speech_span(self) -> tuple[int, int]:
        """(first utterance start, last utterance end) in ns; GestureError when nothing was said."""
        spans = []
        for uid, ev in self.utterances.items():
            n = sum(size for _, size in self.audio.get(uid, []))
            spans.append((ev.start_ns, ev.start_ns + round(n * c.NS_PER_S / c.AUDIO_SAMPLE_RATE)))
        if not spans:
            raise GestureError("the recording holds no utterance")
        t0, t1 = min(s for s, _ in spans), max(e for _, e in spans)
        if (t1 - t0) / c.NS_PER_S > MAX_SPAN_S:
            raise GestureError(f"the utterances span {(t1 - t0) / c.NS_PER_S:.0f} s, more than {MAX_SPAN_S:.0f} s")
        return t0, t1



def load_timeline(mcap_path: Path) -> Timeline:
    """Decode the topics of a recording that the outputs need (malformed messages are skipped, logged)."""
    tl = Timeline(source=Path(mcap_path))
    for topic, log_ns, msg in read_messages(mcap_path):
        name = topic.lstrip("/")
        try:
            if name == c.UTTERANCE.name:
                ev = c.decode_utterance(msg)
                skew = (ev.start_ns - log_ns) / c.NS_PER_S
                if ev.event == "start" and abs(skew) > MAX_START_SKEW_S:
                    log.warning(
                        "skipping utterance %s: it starts %.0f s from when its start event was recorded "
                        "(more than %.0f s: an absurd start time)", ev.utterance_id, skew, MAX_START_SKEW_S,
                    )  # fmt: skip
                elif ev.event == "start":
                    tl.utterances[ev.utterance_id] = ev
            elif name == c.AUDIO.name:
                ch = c.decode_audio(msg)
                tl.audio.setdefault(ch.utterance_id, []).append((ch.stamp_ns, ch.samples.size))
            elif name == c.WORDS.name:
                wt = c.decode_words(msg)
                if wt.final:
                    tl.words[wt.utterance_id] = wt
            elif name == c.FEATURES.name:
                f = c.decode_features(msg)
                if f.final:
                    tl.features[f.utterance_id] = f
            elif name == c.JOINT_TRAJECTORY.name:
                tl.commands.append(c.decode_joint_trajectory(msg))
            elif name == c.HUMAN_POSE.name:
                seq = c.decode_human_pose(msg)
                tl.strokes += [(seq.start_ns + round(t * c.NS_PER_S), label) for t, label in seq.strokes]
            elif name == c.JOINT_STATES.name:
                tl.states.append((c.stamp_to_ns(msg.header.stamp), list(msg.name), np.asarray(msg.position)))
            elif name == c.SIM_IMAGE.name and msg.encoding == "rgb8":
                tl.frame_stamps.append(c.stamp_to_ns(msg.header.stamp))
        except ContractError as exc:
            log.warning("skipping a malformed %s message in %s: %s", topic, mcap_path, exc)
    return tl


def _frames(tl: Timeline) -> Iterator[tuple[int, np.ndarray]]:
    """The rendered frames of the recording, ``(stamp ns, (H, W, 3) uint8)``, read one at a time."""
    if tl.source is None:
        return
    for topic, _t, msg in read_messages(tl.source):
        if topic.lstrip("/") == c.SIM_IMAGE.name and msg.encoding == "rgb8":
            img = np.frombuffer(bytes(msg.data), np.uint8).reshape(msg.height, msg.width, 3)
            yield c.stamp_to_ns(msg.header.stamp), img


def _audio_chunks(tl: Timeline) -> Iterator[c.AudioChunk]:
    """The audio chunks of the recording, read one at a time (malformed ones skipped: logged by
    :func:`load_timeline`)."""
    if tl.source is None:
        return
    for topic, _t, msg in read_messages(tl.source):
        if topic.lstrip("/") == c.AUDIO.name:
            try:
                yield c.decode_audio(msg)
            except ContractError:
                continue


def write_audio_track(tl: Timeline, path: Path, t0_ns: int, duration_s: float) -> int:
    """All utterances' audio placed on one 16 kHz mono track starting at ROS time ``t0_ns``,
    ``duration_s`` long, written to the WAV file ``path`` (32-bit float) without holding it in
    memory: silence is written in blocks of :data:`AUDIO_BLOCK`, then each chunk, read from the
    recording, is added at its place (overlapping utterances sum, clipped to [-1, 1]); audio
    outside the track is left out. Returns the number of samples."""
    import soundfile as sf

    rate = c.AUDIO_SAMPLE_RATE
    n = int(round(duration_s * rate))
    with sf.SoundFile(path, "w+", samplerate=rate, channels=1, subtype="FLOAT", format="WAV") as f:
        for start in range(0, n, AUDIO_BLOCK):
            f.write(np.zeros(min(AUDIO_BLOCK, n - start), dtype=np.float32))
        for ch in _audio_chunks(tl):
            i = int(round((ch.stamp_ns - t0_ns) * rate / c.NS_PER_S))
            lo, hi = max(i, 0), min(i + ch.samples.size, n)
            if hi > lo:
                f.seek(lo)
                here = f.read(hi - lo, dtype="float32")
                f.seek(lo)
                f.write(np.clip(here + ch.samples[lo - i : hi - i], -1.0, 1.0))
    return n


def audio_envelope(path: Path, points: int = WAVEFORM_POINTS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The waveform of the WAV file ``path`` for a picture, read a block at a time: ``(times s,
    lowest, highest)``, each (P,), the minimum and maximum over ``P = min(points, samples)`` equal
    stretches of the track (every sample where it has at most ``points``)."""
    import soundfile as sf

    with sf.SoundFile(path) as f:
        n, rate = f.frames, f.samplerate
        bins = max(1, min(points, n))
        edges = np.linspace(0, n, bins + 1).astype(np.int64)
        low, high = np.full(bins, np.inf), np.full(bins, -np.inf)
        done = 0
        for block in f.blocks(blocksize=AUDIO_BLOCK, dtype="float32"):
            which = np.searchsorted(edges, done + np.arange(block.size), side="right") - 1
            starts = np.flatnonzero(np.diff(which, prepend=-1))
            b = which[starts]
            low[b] = np.minimum(low[b], np.minimum.reduceat(block, starts))
            high[b] = np.maximum(high[b], np.maximum.reduceat(block, starts))
            done += block.size
    if n == 0:
        low[:], high[:] = 0.0, 0.0
    return edges[:-1] / rate, low, high


def _frames_at(tl: Timeline, times_ns: Iterable[int]) -> Iterator[np.ndarray]:
    """For each time of ``times_ns`` (ascending), the latest rendered image stamped at or before it
    (the first image for times before any), streamed from the recording (one in memory at a time)."""
    if not tl.frame_stamps:
        raise GestureError("the recording holds no rendered frames (sim/image): was render on?")
    frames = _frames(tl)
    current = next(frames)
    upcoming = next(frames, None)
    for t in times_ns:
        while upcoming is not None and upcoming[0] <= t:
            current, upcoming = upcoming, next(frames, None)
        yield current[1]


def write_video(tl: Timeline, path: Path, fps: float = 25.0, tail_s: float = 0.4) -> float:
    """MP4 of the rendered frames from the first utterance start to the last end + ``tail_s``.

    Frame ``k`` shows the latest rendered image stamped at or before ``t0 + k / fps`` (the first
    image before that); the images stream from the recording to the encoder in recording order
    (one in memory at a time). The speech audio is muxed in on the same timeline (its track
    streamed to a WAV beside ``path`` first: :func:`write_audio_track`, removed after). Returns the
    video duration in seconds.
    """
    import imageio_ffmpeg

    t0, t1 = tl.speech_span()
    duration = (t1 - t0) / c.NS_PER_S + tail_s
    n = max(1, int(round(duration * fps)))
    images = _frames_at(tl, (t0 + round(k * c.NS_PER_S / fps) for k in range(n)))
    first = next(images)
    wav = path.with_suffix(".wav")
    write_audio_track(tl, wav, t0, n / fps)
    h, w = first.shape[:2]
    writer = imageio_ffmpeg.write_frames(
        str(path), (w, h), fps=fps, audio_path=str(wav), audio_codec="aac", macro_block_size=1,
        output_params=["-shortest"], ffmpeg_log_level="error",
    )  # fmt: skip
    writer.send(None)
    writer.send(np.ascontiguousarray(first))
    for image in images:
        writer.send(np.ascontiguousarray(image))
    writer.close()
    wav.unlink()
    return n / fps


def plot_timeline(tl: Timeline, path: Path, max_joints: int = 6) -> None:
    """PNG: waveform + words, onset strength + onsets, and commanded vs measured joint positions."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t0, t1 = tl.speech_span()
    span = (t1 - t0) / c.NS_PER_S + 2.0
    fig, axes = plt.subplots(3, 1, figsize=(12, 8), sharex=True, gridspec_kw={"height_ratios": [1, 1, 2]})
    wav = path.with_suffix(".wav")
    write_audio_track(tl, wav, t0, span)
    times, low, high = audio_envelope(wav)
    wav.unlink()
    axes[0].fill_between(times, low, high, step="post", lw=0.5, color="0.3")
    axes[0].set_ylabel("speech")
    for uid, ev in tl.utterances.items():
        off = (ev.start_ns - t0) / c.NS_PER_S
        for w in tl.words.get(uid, c.WordTimings(uid, [], True, "asr")).words:
            axes[0].axvspan(off + w.start, off + w.end, color="tab:blue", alpha=0.12)
            axes[0].text(off + w.start, 0.9, w.word, fontsize=8, va="top", transform=axes[0].get_xaxis_transform())
        f = tl.features.get(uid)
        if f is not None:
            axes[1].plot(off + f.frame_times(), f.onset_strength, color="tab:orange", lw=1)
            for o in f.onsets:
                for ax in axes:
                    ax.axvline(off + o, color="tab:red", lw=0.6, alpha=0.5)
    axes[1].set_ylabel("onset strength\n(red: onsets)")
    ax = axes[2]
    joints = _moving_joints(tl, max_joints)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for j, name in enumerate(joints):
        col = colors[j % len(colors)]
        for k, cmd in enumerate(tl.commands):
            if name in cmd.joint_names:
                t = (cmd.stamp_ns - t0) / c.NS_PER_S + cmd.times
                ax.plot(t, cmd.positions[:, cmd.joint_names.index(name)], color=col, lw=1.2,
                        label=f"{name} (command)" if k == 0 else None)  # fmt: skip
        st = [(s, pos[names.index(name)]) for s, names, pos in tl.states if name in names]
        if st:
            ts, qs = zip(*st)
            ax.plot((np.array(ts) - t0) / c.NS_PER_S, qs, color=col, lw=0.8, ls="--")
    ax.set_ylabel("joint position (rad)\nsolid: command, dashed: measured")
    ax.set_xlabel("time since speech start (s)")
    ax.set_xlim(-0.5, span)
    if joints:
        ax.legend(fontsize=7, ncol=3, loc="upper right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _moving_joints(tl: Timeline, k: int) -> list[str]:
    """The ``k`` commanded joints with the largest range of motion."""
    ranges: dict[str, float] = {}
    for cmd in tl.commands:
        for j, name in enumerate(cmd.joint_names):
            ranges[name] = max(ranges.get(name, 0.0), float(np.ptp(cmd.positions[:, j])))
    return sorted(ranges, key=ranges.get, reverse=True)[:k]


def word_at(tl: Timeline, t_ns: int, slack_s: float = 0.3) -> str | None:
    """The word spoken at ``t_ns`` (the nearest within ``slack_s`` s of a word's span), or None."""
    best: tuple[float, str] | None = None
    for uid, ev in tl.utterances.items():
        rel = (t_ns - ev.start_ns) / c.NS_PER_S
        for w in tl.words.get(uid, c.WordTimings(uid, [], True, "asr")).words:
            gap = max(w.start - rel, rel - w.end, 0.0)
            if gap <= slack_s and (best is None or gap < best[0]):
                best = (gap, w.word)
    return best[1] if best else None


def sheet_moments(tl: Timeline, max_gestures: int = 8, tail_s: float = 0.4) -> list[tuple[int, str]]:
    """``(time ns, caption)`` of the contact sheet: the speech start (rest), the first ``max_gestures``
    planned lexicon gesture strokes (beats left out), the end of the speech + ``tail_s``."""
    t0, t1 = tl.speech_span()
    moments = [(t0, "0.00 s: speech starts")]
    for t, label in sorted(tl.strokes):
        if label == "beat" or not t0 <= t <= t1:
            continue
        if len(moments) > max_gestures:
            log.info("contact sheet: only the first %d gesture strokes are shown", max_gestures)
            break
        word = word_at(tl, t)
        moments.append((t, f"{(t - t0) / c.NS_PER_S:.2f} s: {label}" + (f' on "{word}"' if word else "")))
    end = t1 + round(tail_s * c.NS_PER_S)
    moments.append((end, f"{(end - t0) / c.NS_PER_S:.2f} s: end"))
    return moments


def sheet_frames(tl: Timeline, moments: list[tuple[int, str]]) -> list[tuple[str, np.ndarray]]:
    """The latest rendered frame at or before each moment (the first frame before any), with its caption;
    the frames stream from the recording, only the chosen ones are kept."""
    order = sorted(range(len(moments)), key=lambda i: moments[i][0])
    chosen = dict(zip(order, _frames_at(tl, (moments[i][0] for i in order))))
    return [(moments[i][1], chosen[i]) for i in range(len(moments))]


def write_contact_sheet(tl: Timeline, path: Path, columns: int = 5) -> int:
    """PNG of :func:`sheet_frames` at :func:`sheet_moments`, ``columns`` per row; returns the frame count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frames = sheet_frames(tl, sheet_moments(tl))
    cols = min(columns, len(frames))
    rows = -(-len(frames) // cols)
    h, w = frames[0][1].shape[:2]
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows * h / w + 0.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for ax, (caption, img) in zip(axes.ravel(), frames):
        ax.imshow(img)
        ax.set_title(caption, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return len(frames)


def outputs_from_recording(mcap_path: Path, out_dir: Path, fps: float = 25.0) -> dict[str, Path]:
    """Make ``gesture.mp4``, ``timeline.png`` and ``contact_sheet.png`` in ``out_dir`` from a recording;
    returns their paths."""
    tl = load_timeline(mcap_path)
    out = {
        "video": out_dir / "gesture.mp4",
        "timeline": out_dir / "timeline.png",
        "contact_sheet": out_dir / "contact_sheet.png",
    }
    write_video(tl, out["video"], fps=fps)
    plot_timeline(tl, out["timeline"])
    write_contact_sheet(tl, out["contact_sheet"])
    return out
