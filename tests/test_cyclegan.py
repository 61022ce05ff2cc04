"""Notebook 06's exported lesson code (tutorial/cyclegan.py) and its benchmark."""
import torch
import torch.nn.functional as F

from tutorial import cyclegan
from tutorial.profiles import pick_settings


def test_settings_profiles_share_keys():
    for table in (cyclegan.CYCLEGAN_SETTINGS, cyclegan.CYCLEGAN_PHOTO_SETTINGS):
        keys = [set(values) for values in table.values()]
        assert set(table) == {"smoke", "laptop", "full"} and all(k == keys[0] for k in keys)


def test_stroke_width_measures_the_pen_and_the_two_pens_differ():
    canvas = torch.zeros(1, 1, 16, 300)
    canvas[..., 6:9, 10:290] = 1.0                      # a bar three pixels wide
    canvas[..., 5, 10:290] = canvas[..., 9, 10:290] = 0.55  # with an anti-aliased rim
    assert abs(cyclegan.stroke_width(canvas).item() - 5) < 0.2   # the rim is above the 0.5 threshold
    thin, thick = cyclegan.thin_strokes(canvas), cyclegan.thick_strokes(canvas)
    assert abs(cyclegan.stroke_width(thin).item() - 3) < 0.1     # the rim is gone
    assert abs(cyclegan.stroke_width(thick).item() - 7) < 0.2    # a pixel more on each side
    assert thin.min() >= 0 and thin.max() <= 1 and torch.equal(thick.amax(), canvas.amax())


def test_instance_norm_uses_notebook_05s_statistics():
    x = torch.randn(3, 4, 6, 5) * 2 + 3
    norm = cyclegan.InstanceNorm(4, eps=0.0)
    torch.testing.assert_close(norm(x), F.instance_norm(x, eps=0.0) * (29 / 30) ** 0.5, atol=1e-5, rtol=1e-5)
    assert list(norm.parameters()) == []  # no learned scale or shift, as in the paper's code
    assert repr(norm) == "InstanceNorm(4)"


def test_generator_keeps_size_and_range_in_grey_and_colour():
    for channels, side in ((1, 28), (3, 64)):
        generator = cyclegan.CycleGANGenerator(channels, width=4, blocks=2)
        x = torch.rand(2, channels, side, side)
        y = generator(x)
        assert y.shape == x.shape and y.min() >= 0 and y.max() <= 1
        y.mean().backward()
        assert all(p.grad is not None for p in generator.parameters())


def test_patch_discriminator_grid_and_receptive_field():
    paper = cyclegan.PatchDiscriminator(3, 64, downsamplings=3)
    assert cyclegan.receptive_field(paper) == 70                         # the paper's 70x70 PatchGAN
    assert paper(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)    # its 30x30 grid on 256-px images
    digits = cyclegan.PatchDiscriminator(1, 8, downsamplings=2)
    assert cyclegan.receptive_field(digits) == 34 and digits(torch.zeros(2, 1, 28, 28)).shape == (2, 1, 5, 5)
    assert cyclegan.receptive_field(cyclegan.PatchDiscriminator(1, 8, downsamplings=1)) == 16


def test_least_squares_losses_and_their_optimal_discriminator():
    ones, zeros = torch.ones(4), torch.zeros(4)
    assert cyclegan.lsgan_discriminator_loss(ones, zeros) == 0 and cyclegan.lsgan_generator_loss(ones) == 0
    assert cyclegan.lsgan_discriminator_loss(zeros, ones) == 1 and cyclegan.lsgan_generator_loss(zeros) == 1
    scores = torch.tensor([0.0, 0.5, 2.0])
    assert torch.isclose(cyclegan.lsgan_generator_loss(scores), torch.tensor((1 + 0.25 + 1) / 3))
    assert torch.isclose(cyclegan.lsgan_discriminator_loss(scores, scores),
                         torch.tensor(0.5 * (1 + 0.25 + 1) / 3 + 0.5 * (0 + 0.25 + 4) / 3))
    x, y = torch.rand(2, 1, 4, 4), torch.rand(2, 1, 4, 4)
    assert torch.isclose(cyclegan.cycle_loss(x, y), (x - y).abs().mean())


def test_image_pool_keeps_history_and_resumes():
    torch.manual_seed(0)
    assert torch.equal(cyclegan.ImagePool(0).query(torch.ones(3, 1, 2, 2)), torch.ones(3, 1, 2, 2))
    pool = cyclegan.ImagePool(5)
    first = torch.arange(5.0).view(5, 1, 1, 1)
    assert torch.equal(pool.query(first), first)
    fresh = 10 + torch.arange(1000.0).view(1000, 1, 1, 1)
    assert 0.45 < (pool.query(fresh) != fresh).float().mean() < 0.55
    copy = cyclegan.ImagePool(5)
    copy.load_state_dict(pool.state_dict())
    assert torch.equal(torch.stack(copy.images), torch.stack(pool.images))


def _bars(n, width, seed):
    """n images of one horizontal bar of the given width at random heights: a stand-in collection."""
    g = torch.Generator().manual_seed(seed)
    images = torch.zeros(n, 1, 28, 28)
    for i, top in enumerate(torch.randint(2, 26 - width, (n,), generator=g).tolist()):
        images[i, :, top:top + width, 4:24] = 1.0
    return images


def test_training_logs_saves_snapshots_and_reloads():
    cfg = pick_settings(cyclegan.CYCLEGAN_SETTINGS, "smoke", {"epochs": 2, "steps_per_epoch": 3, "live_every": 0})
    a, b = _bars(32, 2, 0), _bars(32, 5, 1)
    torch.manual_seed(0)
    networks = cyclegan.cyclegan_networks(cfg)
    history, snapshots = cyclegan.train_cyclegan(networks, cyclegan.image_sampler(a, "cpu"),
                                                 cyclegan.image_sampler(b, "cpu"), cfg, "cpu", "bars",
                                                 fixed=(a[:3], b[:3]), quiet=True)
    assert len(history.records) == 6 and {"gan", "cycle", "identity", "d_a", "d_b"} <= set(history.names())
    assert len(snapshots.grids) == 2 and snapshots.grids[0].shape == (6, 1, 28, 28)
    assert history.seconds > 0
    reloaded = cyclegan.cyclegan_networks(cfg)
    again, again_snapshots = cyclegan.train_cyclegan(reloaded, cyclegan.image_sampler(a, "cpu"),
                                                     cyclegan.image_sampler(b, "cpu"), cfg, "cpu", "bars", quiet=True)
    for mine, theirs in zip(networks, reloaded):
        torch.testing.assert_close(mine.state_dict(), theirs.state_dict())
    assert len(again_snapshots.grids) == 2 and again.seconds == history.seconds
    # without the cycle term nothing of it is computed, and it is another run (another checkpoint)
    plain = cyclegan.cyclegan_networks(cfg)
    plain_history, _ = cyclegan.train_cyclegan(plain, cyclegan.image_sampler(a, "cpu"), cyclegan.image_sampler(b, "cpu"),
                                               cfg, "cpu", "bars", lambda_cycle=0.0, quiet=True)
    assert plain_history.series("cycle")[1] == [0.0] * 6 and plain_history.series("identity")[1] == [0.0] * 6
    assert not torch.equal(plain[0].net[1].weight, networks[0].net[1].weight)


def test_translate_runs_in_eval_mode_and_batches():
    generator = cyclegan.CycleGANGenerator(1, width=4, blocks=1)
    x = torch.rand(7, 1, 28, 28)
    assert torch.allclose(cyclegan.translate(generator, x, batch_size=3), generator(x).detach(), atol=1e-6)
    assert generator.training


def test_bench_returns_the_issue_metrics(monkeypatch, tiny_judge):
    from tutorial.bench import cyclegan as bench

    metrics = bench.run("smoke", torch.device("cpu"))
    for direction in ("a_to_b", "b_to_a"):
        assert 0 <= metrics[f"content_kept_{direction}"] <= 1 and 0 <= metrics[f"content_ceiling_{direction}"] <= 1
        assert metrics[f"stroke_width_error_{direction}"] >= 0
        assert metrics[f"stroke_width_{direction}"] > 0 and metrics[f"cycle_error_{direction}"] >= 0
    assert metrics["test_digits"] == cyclegan.CYCLEGAN_SETTINGS["smoke"]["n_judge"] and metrics["train_seconds"] > 0
