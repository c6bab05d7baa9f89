"""gesture-eval on tiny self-made datasets: files, rows and baselines, numbers equal to the metric
functions', flags, backend specs; FGD on the shared autoencoder."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from synthetic_clips import write_dataset

from gesture_core.contracts import Word
from gesture_core.data import format as fmt
from gesture_core.errors import ConfigError
from gesture_core.evaluation import (
    ALL,
    GROUND_TRUTH,
    MISMATCHED,
    POOLED,
    STATIC,
    EvalSettings,
    evaluate,
    load_sets,
    main,
    mismatch_partners,
    parse_backend,
    ping_pong,
    shift_speech,
)  # fmt: skip
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.metrics import cues, kinematics, synchrony
from gesture_core.models.procedural import ProceduralGenerator

FAST = ["--shifts", "50", "--bootstrap", "20"]


@pytest.fixture(scope="module")
def sets(tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("eval")
    return [
        write_dataset(root / "alpha", clips=2, seconds=6.0),
        write_dataset(root / "beta", clips=1, seconds=5.0, words=False),
        write_dataset(root / "seen", clips=1, seconds=5.0),
    ]


def test_report_rows_baselines_and_numbers(sets, tmp_path):
    alpha, beta, seen = sets
    out = tmp_path / "report"
    argv = ["--data", str(alpha), "--data", str(beta), "--seen-data", str(seen), "--out", str(out)]
    assert main([*argv, "--backend", "procedural", "--no-fgd", "--seeds", "3", *FAST]) == 0
    names = {p.name for p in out.iterdir()}
    assert {"metrics.md", "metrics.json", "sync_null.png", "sync_clips.png", "distributions.png",
            "strokes_alpha_clip0.png", "traces_alpha_clip0.png",
            "frames_alpha_clip0.png"} <= names  # fmt: skip
    assert all((out / n).stat().st_size > 1000 for n in names if n.endswith(".png"))
    doc = json.loads((out / "metrics.json").read_text())
    rows = {r["label"]: r for r in doc["rows"]}
    assert list(rows) == [GROUND_TRUTH, STATIC, MISMATCHED, "procedural", "procedural on time-shifted speech"]
    assert [s["name"] for s in doc["sets"]] == ["alpha", "beta", "seen"] and doc["sets"][2]["seen"]
    assert set(rows[GROUND_TRUTH]["groups"]) == {POOLED, "alpha", "beta", "seen", ALL}

    # per clip: the same numbers as the metric functions (clip index 0 of the evaluation: alpha/clip0)
    info = fmt.read_manifest(alpha)[0]
    clip = fmt.load_clip(alpha, info)
    prominent = cues.prominent_syllables(clip.audio)
    prominent = prominent[prominent < info.duration]
    expect = synchrony.sync_test(prominent, kinematics.strokes(clip.poses), info.duration, 50, (0, 0))
    got = rows[GROUND_TRUTH]["clips"]["alpha/clip0"][0]["sync"]["sync"]
    assert got["score"] == pytest.approx(expect.score) and got["percentile"] == pytest.approx(
        expect.percentile
    )
    poses = ProceduralGenerator().generate(SpeechInput(clip.audio, clip.words), Style(seed=3))[
        : info.n_frames
    ]
    expect = synchrony.motion_synchrony(poses, prominent, n_shifts=50, seed=(0, 0))
    assert rows["procedural"]["clips"]["alpha/clip0"][0]["sync"]["sync"]["score"] == pytest.approx(
        expect.score
    )

    # baselines: a static pose has no stroke (chance), mismatched motion is real motion of the same set
    for c in rows[STATIC]["clips"].values():
        assert c[0]["sync"]["sync"]["percentile"] == 50 and c[0]["strokes_per_s"] == 0
    pooled = {k: r["groups"][POOLED]["mean"] for k, r in rows.items()}
    assert pooled[GROUND_TRUTH]["distances.hand_speed"] == 0.0
    assert pooled[STATIC]["distances.hand_speed"] > pooled[MISMATCHED]["distances.hand_speed"] >= 0
    assert 0.0 <= pooled["procedural"]["robot.velocity_limit_violations"] <= 1.0
    assert set(doc["flags"]) == {POOLED, "alpha", "beta", "seen", ALL}
    partners = "mismatched partners: alpha/clip0 <- alpha/clip1, alpha/clip1 <- alpha/clip0, "
    partners += "beta/clip0 <- seen/clip0"
    assert any(n.startswith(partners) for n in doc["notes"])

    table = (out / "metrics.md").read_text()
    assert "## Pooled over the held-out sets" in table and "## Set seen (seen in training" in table
    assert "| procedural on time-shifted speech |" in table and "FGD ↓" not in table


def test_mismatched_partners_ping_pong_and_shifted_speech():
    # same speaker first, then same set, then any; longer clips preferred
    assert mismatch_partners(["a", "a", "b", "c"], ["s", "s", "s", "t"], [10, 20, 30, 40]) == [1, 0, 0, 0]
    assert mismatch_partners(["a", "b", "c"], ["s", "s", "t"], [30, 20, 10]) == [1, 0, 0]
    with pytest.raises(ConfigError, match="at least 2 clips"):
        mismatch_partners(["a"], ["s"], [5])
    p = np.arange(4, dtype=float)[:, None] * np.ones((1, 27))
    np.testing.assert_array_equal(ping_pong(p, 10)[:, 0], [0, 1, 2, 3, 2, 1, 0, 1, 2, 3])
    audio = np.arange(fmt.expected_audio_samples(30), dtype=np.float32)
    rolled, words = shift_speech(audio, [Word("a", 0.1, 0.3), Word("b", 1.9, 2.0)], 30)  # 2 s clip, 1 s shift
    assert rolled[fmt.expected_audio_samples(15)] == 0.0
    assert [(w.word, round(w.start, 3), round(w.end, 3)) for w in words] == [("b", 0.9, 1.0), ("a", 1.1, 1.3)]


def test_a_trimodal_checkpoint_and_streamed_rows(sets, tmp_path):
    torch = pytest.importorskip("torch")
    from gesture_core.models.trimodal.checkpoint import save_checkpoint
    from gesture_core.models.trimodal.config import TrimodalConfig
    from gesture_core.models.trimodal.model import PoseGenerator
    from gesture_core.vocab import Vocab

    torch.manual_seed(0)
    ckpt = tmp_path / "tiny"
    model = PoseGenerator(TrimodalConfig(n_words=5, n_speakers=2, hidden_size=16, n_layers=2))
    save_checkpoint(ckpt, model, Vocab(["x"]))
    ev = evaluate(
        load_sets(sets[:1]),
        [parse_backend(f"trimodal:{ckpt}"), parse_backend(f"trimodal+layer:{ckpt}")],
        EvalSettings(n_shifts=20, n_boot=10, streamed=True, live=(0.5,)),
    )
    labels = [r.spec.label for r in ev.rows]
    assert labels[3:] == [
        "trimodal (tiny)",
        "trimodal (tiny), streamed",
        "trimodal (tiny), live 0.5 s",
        "trimodal (tiny) on time-shifted speech",
        "trimodal (tiny) + lexicon layer",
        "trimodal (tiny) + lexicon layer, streamed",
        "trimodal (tiny) + lexicon layer, live 0.5 s",
        "trimodal (tiny) + lexicon layer on time-shifted speech",
    ]
    for row in ev.rows:
        assert all(m.shape == r.real.shape for m, r in zip(row.motions[0], ev.refs))
        assert "robot" not in row.groups[POOLED][0] and "fgd" not in row.groups[POOLED][0]
    # the clips say "hello": the layer waves over the model's motion, as the generator node does
    plain, layered = ev.rows[3].motions[0][0], ev.rows[7].motions[0][0]
    assert np.abs(layered - plain).max() > 0.1


def test_backend_specs_and_settings():
    assert parse_backend("procedural").checkpoint is None
    assert parse_backend("diffusion:/x/ckpt").label == "diffusion (ckpt)"
    assert parse_backend("diffusion+layer:/x/ckpt").layered
    for bad in ("procedural:/x", "procedural+layer", "gan", "gan:/x"):
        with pytest.raises(ConfigError, match="--backend"):
            parse_backend(bad)
    with pytest.raises(ConfigError, match="--shifts"):
        EvalSettings(n_shifts=5)
    with pytest.raises(ConfigError, match="--seeds"):
        EvalSettings(seeds=())
    with pytest.raises(ConfigError, match="--live"):
        EvalSettings(live=(-0.1,))


def test_bad_inputs_are_errors(sets, tmp_path):
    assert main(["--data", str(sets[0]), "--out", str(tmp_path), "--fgd-model", str(tmp_path / "none")]) == 1
    assert main(["--data", str(tmp_path / "nothing"), "--out", str(tmp_path), "--no-fgd"]) == 1
    with pytest.raises(ConfigError, match="share a directory name"):
        load_sets([sets[0], sets[0]])


@pytest.mark.shared
def test_fgd_rows_with_their_intervals(sets, shared_dir):
    ev = evaluate(
        load_sets(sets[:2]),
        [parse_backend("procedural")],
        EvalSettings(n_shifts=20, n_boot=20, fgd_stride=5),
        fgd_model=shared_dir / "models" / "fgd_autoencoder_ted",
    )  # fmt: skip
    truth, static = ev.rows[0].groups[POOLED][0]["fgd"], ev.rows[1].groups[POOLED][0]["fgd"]
    assert (truth["fgd"], truth["low"], truth["high"]) == pytest.approx((0.0, 0.0, 0.0), abs=1e-6)
    assert static["fgd"] > 0.1 and static["high"] > static["low"] > 0  # measured: 0.57
    assert truth["n_windows"] == 2 * 7 + 4  # 6 s clips: 7 windows every 5 frames each; the 5 s clip: 4
