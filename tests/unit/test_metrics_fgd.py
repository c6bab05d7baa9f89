"""FGD: Fréchet distance known answers, the autoencoder loader, and a reconstruction round trip on BEAT2."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from safetensors.torch import save_file  # noqa: E402

from gesture_core import skeleton  # noqa: E402
from gesture_core.errors import DataError, ModelError  # noqa: E402
from gesture_core.metrics import fgd  # noqa: E402
from gesture_core.metrics.motion import pose_windows  # noqa: E402


def test_identical_sets_have_zero_distance():
    x = np.random.default_rng(0).standard_normal((400, 8)) @ np.diag([3, 2, 1, 1, 0.5, 0.5, 0.2, 0.1])
    assert fgd.fgd(x, x) == pytest.approx(0.0, abs=1e-8)


def test_frechet_distance_of_gaussians_matches_the_closed_form():
    """Commuting covariances S1 = R diag(a) R^T, S2 = R diag(b) R^T:
    d = |mu1 - mu2|^2 + sum (sqrt a - sqrt b)^2."""
    rng = np.random.default_rng(1)
    rot, _ = np.linalg.qr(rng.standard_normal((5, 5)))
    a, b = np.array([4.0, 1.0, 0.25, 2.0, 9.0]), np.array([1.0, 1.0, 1.0, 0.5, 4.0])
    mu1, mu2 = rng.standard_normal(5), rng.standard_normal(5)
    expected = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    d = fgd.frechet_distance(mu1, rot @ np.diag(a) @ rot.T, mu2, rot @ np.diag(b) @ rot.T)
    assert d == pytest.approx(expected, rel=1e-9)
    # 1-D: (mu1 - mu2)^2 + (s1 - s2)^2
    assert fgd.frechet_distance(
        np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[1.0]])
    ) == pytest.approx(10.0)


def test_fgd_of_samples_approaches_the_closed_form():
    rng = np.random.default_rng(2)
    n = 20000
    x = rng.normal(0.0, 2.0, (n, 3))
    y = rng.normal(1.0, 1.0, (n, 3))
    expected = 3 * 1.0**2 + 3 * (2.0 - 1.0) ** 2  # = 6
    assert fgd.fgd(x, y) == pytest.approx(expected, rel=0.03)


def write_checkpoint(directory, model: torch.nn.Module, mean: np.ndarray, drop: str | None = None) -> None:
    directory.mkdir()
    state = {k: v for k, v in model.state_dict().items() if k != drop}
    save_file(state, str(directory / "model.safetensors"))
    config = {"pose_dim": 27, "training_args": {"mean_dir_vec": [[float(v)] for v in mean]}}
    (directory / "config.json").write_text(json.dumps(config))


def test_loader_round_trip_and_errors(tmp_path):
    torch.manual_seed(0)
    model = fgd.PoseAutoencoder()
    with torch.no_grad():  # non-trivial BatchNorm statistics, so that eval mode matters
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
    model.eval()
    mean = skeleton.MEAN_DIR_VEC
    write_checkpoint(tmp_path / "ok", model, mean)
    extractor = fgd.load_fgd_extractor(tmp_path / "ok")
    assert not extractor.model.training

    windows = np.stack([np.tile(skeleton.MEAN_DIR_VEC, (60, 1))] * 3) + 0.05
    with torch.no_grad():
        expected = model.pose_encoder(torch.from_numpy((windows - mean).astype(np.float32)))[0].numpy()
    np.testing.assert_allclose(extractor.features(windows), expected, rtol=1e-5, atol=1e-6)
    assert extractor.reconstruct(windows).shape == (3, 60, 27)

    write_checkpoint(tmp_path / "missing_key", model, mean, drop="pose_encoder.fc_mu.weight")
    with pytest.raises(
        ModelError, match=r"(?s)model.safetensors: does not match.*Missing.*pose_encoder.fc_mu.weight"
    ):
        fgd.load_fgd_extractor(tmp_path / "missing_key")
    with pytest.raises(ModelError, match="config.json not found"):
        fgd.load_fgd_extractor(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"FGD windows: shape \(2, 34, 27\)"):
        extractor.features(np.zeros((2, 34, 27)))


@pytest.mark.shared
def test_reconstruction_round_trip_on_real_motion(shared_dir):
    """The distributed weights load strictly and reconstruct real BEAT2 motion far better than a mean pose."""
    from gesture_core.data import beat2

    extractor = fgd.load_fgd_extractor(shared_dir / "models" / "fgd_autoencoder_ted")
    with np.load(shared_dir / "data" / "beat2_scott" / "2_scott_0_1_1.npz") as npz:
        poses = beat2.smplx_to_ted_poses(npz["poses"], float(npz["mocap_frame_rate"]))
    windows = pose_windows(poses, fgd.FGD_WINDOW, 30)  # (30, 60, 27)
    recon = extractor.reconstruct(windows)

    def l1(pred: np.ndarray, bones: list[int]) -> float:
        return float(np.abs(skeleton.as_directions(pred - windows)[:, :, bones]).mean())

    ae_mean = np.broadcast_to(extractor.mean_dir_vec, windows.shape)
    data_mean = np.broadcast_to(windows.mean(axis=(0, 1)), windows.shape)
    arms = [4, 5, 7, 8]  # upper arms and forearms: where the gestures are
    all_bones = list(range(9))
    # measured: arms 0.141 vs 0.316 (autoencoder mean) / 0.210 (BEAT2 mean); all bones 0.163 vs 0.247
    assert l1(recon, arms) < 0.5 * l1(ae_mean, arms)
    assert l1(recon, arms) < 0.75 * l1(data_mean, arms)
    assert l1(recon, all_bones) < 0.75 * l1(ae_mean, all_bones)

    feats = extractor.features(windows)
    assert feats.shape == (30, 32) and np.all(np.isfinite(feats))
    # the second half of the take is closer to the first half than a frozen mean pose is
    frozen = extractor.features(
        np.broadcast_to(extractor.mean_dir_vec, windows.shape)
        + 0.01 * np.random.default_rng(0).standard_normal(windows.shape)
    )
    assert fgd.fgd(feats[:15], feats[15:]) < fgd.fgd(feats, frozen)


# ------------------------------------------------------------------------ many windows, bootstrap


def test_windows_every_frame_and_their_blocks():
    seqs = [np.zeros((130, 27), np.float32), np.zeros((59, 27), np.float32), np.ones((61, 27), np.float32)]
    windows, blocks = fgd.fgd_windows(seqs, stride=1)
    assert windows.shape == (71 + 0 + 2, 60, 27)  # a 59-frame clip gives no window
    # clip 0: windows 0-59 in block 0, 60-70 in block 1; clip 2 gets fresh ids
    assert list(blocks[:60]) == [0] * 60 and list(blocks[60:71]) == [1] * 11
    assert blocks[71] == blocks[72] and blocks[71] not in blocks[:71]
    windows, blocks = fgd.fgd_windows(seqs, stride=5)
    assert len(windows) == 15 + 1 and len(set(blocks)) == 3


def test_fast_frechet_matches_the_sqrtm_form():
    rng = np.random.default_rng(1)
    a, b = (
        rng.standard_normal((200, 8)),
        0.5 + 1.3 * rng.standard_normal((200, 8)) @ rng.standard_normal((8, 8)),
    )
    stats = (*fgd.gaussian_stats(a), *fgd.gaussian_stats(b))
    assert fgd._fast_frechet(*stats, eps=0.0) == pytest.approx(fgd.frechet_distance(*stats), rel=1e-6)


def test_bootstrap_interval():
    rng = np.random.default_rng(0)
    real = rng.standard_normal((400, 4))
    blocks = np.arange(400) // 20  # 20 blocks
    same = fgd.fgd_bootstrap(real, real, blocks, n_boot=50, seed=0)
    assert (same.fgd, same.low, same.high, same.n_windows, same.n_blocks) == (0.0, 0.0, 0.0, 400, 20)
    moved = fgd.fgd_bootstrap(real, real + [3.0, 0, 0, 0], blocks, n_boot=200, seed=0)
    assert moved.fgd == pytest.approx(9.0)  # a pure mean shift: |d|^2
    assert moved.low == pytest.approx(9.0) and moved.high == pytest.approx(9.0)  # paired: same shift
    noisy = fgd.fgd_bootstrap(real, rng.standard_normal((400, 4)) * 2, blocks, n_boot=200, seed=0)
    assert 0 < noisy.low < noisy.high
    assert fgd.fgd_bootstrap(real, rng.standard_normal((400, 4)) * 2, blocks, n_boot=200, seed=0) != noisy
    with pytest.raises(DataError, match="paired features"):
        fgd.fgd_bootstrap(real, real[:10], blocks)


@pytest.mark.shared
def test_many_windows_on_real_motion(shared_dir):
    """Every other frame offset of the real BEAT2 clip: itself 0, played backwards > 0, frozen far worse."""
    from gesture_core.data import beat2

    with np.load(shared_dir / "data" / "beat2_scott" / "2_scott_0_1_1.npz") as npz:
        poses = beat2.smplx_to_ted_poses(npz["poses"], float(npz["mocap_frame_rate"]))
    extractor = fgd.load_fgd_extractor(shared_dir / "models" / "fgd_autoencoder_ted")
    windows, blocks = fgd.fgd_windows([poses], stride=2)
    assert len(windows) == 447 and len(set(blocks)) == 15
    real = extractor.features(windows)
    assert fgd.fgd_bootstrap(real, real, blocks, n_boot=20).fgd == pytest.approx(0.0, abs=1e-6)
    backwards = fgd.fgd(real, extractor.features(fgd.fgd_windows([poses[::-1].copy()], stride=2)[0]))
    frozen = fgd.fgd(real, extractor.features(fgd.fgd_windows([np.tile(poses.mean(axis=0), (953, 1))], 2)[0]))
    assert 0.5 < backwards < 0.2 * frozen  # measured at stride 1: 4.2 backwards, 73 frozen
