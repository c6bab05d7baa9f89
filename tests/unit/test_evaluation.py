"""gesture-eval on a tiny self-made dataset: files written, numbers consistent with the metric
functions, ground truth scored against itself, backend specs, the shipped-checkpoint lookup."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic_clips import write_dataset

from gesture_core.data import format as fmt
from gesture_core.errors import ConfigError
from gesture_core.evaluation import GROUND_TRUTH, evaluate, main, parse_backend
from gesture_core.generation.base import SpeechInput, Style
from gesture_core.metrics.evaluator import Evaluator
from gesture_core.models.procedural import ProceduralGenerator


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return write_dataset(tmp_path_factory.mktemp("eval") / "clips", clips=2, seconds=8.0)


def test_files_are_written_and_numbers_match_the_metric_functions(data_dir, tmp_path):
    out = tmp_path / "report"
    assert (
        main(
            [
                "--data",
                str(data_dir),
                "--out",
                str(out),
                "--backend",
                "procedural",
                "--no-fgd",
                "--seeds",
                "3",
            ]
        )
        == 0
    )
    names = {p.name for p in out.iterdir()}
    assert {"metrics.md", "metrics.json", "speed_hist.png", "traces_clip0.png", "frames_clip0.png"} <= names
    assert all((out / n).stat().st_size > 1000 for n in names if n.endswith(".png"))
    doc = json.loads((out / "metrics.json").read_text())
    rows = {r["label"]: r["scores"] for r in doc["rows"]}
    assert list(rows) == [GROUND_TRUTH, "procedural"]
    assert doc["clips"] == ["clip0", "clip1"] and doc["seconds"] == pytest.approx(16.0)
    assert rows[GROUND_TRUTH]["fgd"] is None and "FGD skipped" in doc["notes"][0]

    # the same numbers straight from the metric functions
    gen, real, ev = ProceduralGenerator(), Evaluator(), Evaluator()
    for info in fmt.read_manifest(data_dir):
        clip = fmt.load_clip(data_dir, info)
        poses = gen.generate(SpeechInput(clip.audio, clip.words), Style(seed=3))[: info.n_frames]
        ev.push(poses, real=clip.poses, audio=clip.audio)
        real.push(clip.poses, real=clip.poses, audio=clip.audio)
    for key in ("beat_align", "diversity", "mean_acceleration", "mean_jerk"):
        assert rows["procedural"][key] == pytest.approx(ev.compute()[key], rel=1e-9)
        assert rows[GROUND_TRUTH][key] == pytest.approx(real.compute()[key], rel=1e-9)
    # ground truth's generated-side scores are its own real-side scores
    assert rows[GROUND_TRUTH]["mean_jerk"] == pytest.approx(rows[GROUND_TRUTH]["mean_jerk_real"])
    assert rows[GROUND_TRUTH]["beat_align"] == pytest.approx(rows["procedural"]["beat_align_real"])
    for row in rows.values():  # robot columns: fractions
        assert 0.0 <= row["velocity_limit_violations"] <= 1.0 and 0.0 <= row["at_joint_limit"] <= 1.0
        assert row["joint_limit_violations"] == 0.0  # the IK clamps to the limits

    table = (out / "metrics.md").read_text()
    assert "| ground truth |" in table and "| procedural |" in table and "FGD" not in table.splitlines()[2]


def test_ground_truth_against_itself_has_zero_fgd(data_dir, shared_dir):
    rows, _, note = evaluate(
        data_dir, [parse_backend("procedural")], shared_dir / "models" / "fgd_autoencoder_ted", None
    )
    assert "FGD autoencoder" in note
    assert rows[0].scores["fgd"] == pytest.approx(0.0, abs=1e-6)
    assert rows[1].scores["fgd"] > 1e-3


def test_a_trimodal_checkpoint_row(data_dir, tmp_path):
    from gesture_core.models.trimodal.checkpoint import save_checkpoint
    from gesture_core.models.trimodal.config import TrimodalConfig
    from gesture_core.models.trimodal.model import PoseGenerator
    from gesture_core.vocab import Vocab

    torch.manual_seed(0)
    ckpt = tmp_path / "tiny"
    save_checkpoint(
        ckpt, PoseGenerator(TrimodalConfig(n_words=5, n_speakers=2, hidden_size=16, n_layers=2)), Vocab(["x"])
    )
    rows, clips, _ = evaluate(data_dir, [parse_backend(f"trimodal:{ckpt}")], None, None)
    assert [r.label for r in rows] == [GROUND_TRUTH, "trimodal (tiny)"]
    assert all(p.shape == c.poses.shape for p, c in zip(rows[1].motion, clips))
    assert math.isnan(rows[1].scores["fgd"]) and "velocity_limit_violations" not in rows[1].scores


def test_backend_specs():
    assert parse_backend("procedural").checkpoint is None
    assert parse_backend("diffusion:/x/ckpt").label == "diffusion (ckpt)"
    for bad in ("procedural:/x", "gan", "gan:/x"):
        with pytest.raises(ConfigError, match="--backend"):
            parse_backend(bad)


def test_missing_explicit_fgd_model_is_an_error(data_dir, tmp_path):
    assert main(["--data", str(data_dir), "--out", str(tmp_path), "--fgd-model", str(tmp_path / "none")]) == 1


def test_several_seeds_give_the_mean_and_spread_of_single_seed_runs(data_dir):
    spec = [parse_backend("procedural")]
    both, _, _ = evaluate(data_dir, spec, None, None, seeds=(0, 1))
    single = [evaluate(data_dir, spec, None, None, seeds=(s,))[0][1].scores for s in (0, 1)]
    for key in ("diversity", "mean_jerk", "beat_align"):
        values = [single[0][key], single[1][key]]
        assert both[1].scores[key] == pytest.approx(np.mean(values))
        assert both[1].spread[key] == pytest.approx(np.std(values))
    assert both[0].spread == {}  # ground truth does not depend on a seed
