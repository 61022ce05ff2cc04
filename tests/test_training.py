"""Training plumbing: the NaN guard, the loss history, checkpoints (save, resume, refusal)."""
import math

import pytest
import torch

from tutorial.training import (Checkpoint, CheckpointMismatchError, CheckpointUnreadableError, LossHistory, NonFiniteLossError, check_finite,
                               train_or_load)

SETTINGS = {"lr": 0.1, "epochs": 4}


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), torch.tensor(float("-inf"))])
def test_nan_guard_stops_with_a_clear_message(bad):
    with pytest.raises(NonFiniteLossError) as info:
        check_finite(bad, step=17)
    assert "step 17" in str(info.value) and "learning rate" in str(info.value)


def test_nan_guard_passes_finite_values():
    assert check_finite(torch.tensor(2.5)) == 2.5 and check_finite(3) == 3.0


def test_nan_guard_catches_a_diverging_run():
    model = torch.nn.Linear(1, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e4)
    x, y = torch.randn(64, 1), torch.randn(64, 1)
    with pytest.raises(NonFiniteLossError):
        for step in range(200):
            loss = torch.nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            check_finite(loss, step)


def test_loss_history_records_and_plots():
    history = LossHistory(title="t")
    for step in range(5):
        history.log(step, loss=1.0 / (step + 1), acc=step / 5)
    assert history.names() == ["loss", "acc"] and history.last("loss") == pytest.approx(0.2)
    assert history.series("acc")[0] == [0, 1, 2, 3, 4]
    figure = history.figure()
    assert len(figure.axes[0].lines) == 2
    restored = LossHistory()
    restored.load_state_dict(history.state_dict())
    assert restored.records == history.records
    history.show()  # headless: prints, never raises


def make_run():
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=SETTINGS["lr"])
    return model, optimizer


def test_train_or_load_saves_then_loads(checkpoints):
    model, optimizer = make_run()
    epochs_run = []

    def train_epoch(epoch):
        epochs_run.append(epoch)
        with torch.no_grad():
            model.weight.fill_(7.0 + epoch)

    history = train_or_load("demo", SETTINGS, {"model": model, "optimizer": optimizer}, epochs=3,
                            train_epoch=train_epoch)
    assert epochs_run == [0, 1, 2] and len(list(checkpoints.glob("demo-smoke-*.pt"))) == 1
    saved_weight = torch.full_like(model.weight, 9.0)
    again, _ = make_run()
    train_or_load("demo", SETTINGS, {"model": again}, epochs=3, train_epoch=lambda e: pytest.fail("retrained"))
    assert torch.equal(again.weight, saved_weight)
    assert isinstance(history, LossHistory)


def test_interrupted_run_resumes_without_losing_finished_epochs(checkpoints):
    model, optimizer = make_run()
    history = LossHistory()

    def crashing_epoch(epoch):
        history.log(epoch, loss=float(epoch))
        with torch.no_grad():
            model.bias.add_(1.0)
        if epoch == 2:
            raise KeyboardInterrupt  # the learner pressed stop during the third epoch

    with pytest.raises(KeyboardInterrupt):
        train_or_load("resume", SETTINGS, {"model": model, "optimizer": optimizer}, epochs=4,
                      train_epoch=crashing_epoch, history=history)
    fresh, fresh_optimizer = make_run()
    resumed_history, epochs_run = LossHistory(), []
    train_or_load("resume", SETTINGS, {"model": fresh, "optimizer": fresh_optimizer}, epochs=4,
                  train_epoch=epochs_run.append, history=resumed_history)
    assert epochs_run == [2, 3]  # epochs 0 and 1 were finished and are not repeated
    assert [r["step"] for r in resumed_history.records] == [0, 1]
    start_bias = make_run()[0].bias
    assert torch.allclose(fresh.bias, start_bias + 2.0)  # the state after two finished epochs


def test_force_retrains(checkpoints):
    model, _ = make_run()
    train_or_load("forced", SETTINGS, {"model": model}, epochs=1, train_epoch=lambda e: None)
    runs = []
    train_or_load("forced", SETTINGS, {"model": model}, epochs=1, train_epoch=runs.append, force=True)
    assert runs == [0]


def test_checkpoint_is_keyed_by_name_profile_and_settings(checkpoints):
    a = Checkpoint("m", SETTINGS)
    assert Checkpoint("m", {**SETTINGS, "lr": 0.2}).path != a.path
    assert Checkpoint("m", SETTINGS, profile="laptop").path != a.path
    assert Checkpoint("other", SETTINGS).path != a.path
    assert Checkpoint("m", dict(reversed(list(SETTINGS.items())))).path == a.path


def test_mismatched_file_is_refused(checkpoints):
    Checkpoint("one", SETTINGS).save({"epoch": 1})
    impostor = Checkpoint("two", SETTINGS)
    Checkpoint("one", SETTINGS).path.rename(impostor.path)  # the wrong run's file under this run's name
    with pytest.raises(CheckpointMismatchError, match="another run"):
        impostor.load()


def test_checkpoint_for_another_architecture_is_refused(checkpoints):
    model, _ = make_run()
    train_or_load("arch", SETTINGS, {"model": model}, epochs=1, train_epoch=lambda e: None)
    with pytest.raises(CheckpointMismatchError, match="model code changed"):
        train_or_load("arch", SETTINGS, {"model": torch.nn.Linear(3, 1)}, epochs=1, train_epoch=lambda e: None)


def test_corrupt_checkpoint_is_moved_aside_without_overwriting_an_earlier_copy(checkpoints, capsys):
    checkpoint = Checkpoint("broken", SETTINGS)
    checkpoint.path.parent.mkdir(parents=True)
    checkpoint.path.write_bytes(b"not a checkpoint")
    assert checkpoint.load() is None
    first = checkpoint.path.with_name(checkpoint.path.name + ".corrupt")
    assert first.read_bytes() == b"not a checkpoint" and "damaged" in capsys.readouterr().out
    checkpoint.save({"epoch": 1})
    whole = checkpoint.path.read_bytes()
    checkpoint.path.write_bytes(whole[: len(whole) // 2])  # a second, truncated file
    assert checkpoint.load() is None
    assert first.read_bytes() == b"not a checkpoint"  # the first copy is still there
    assert checkpoint.path.with_name(checkpoint.path.name + ".corrupt-2").read_bytes() == whole[: len(whole) // 2]


class _Scheduled:
    """Not a tensor, dict or number: what an old torch's scheduler state held."""


def test_an_intact_checkpoint_that_weights_only_refuses_is_not_called_corrupt(checkpoints):
    checkpoint = Checkpoint("old", SETTINGS)
    checkpoint.path.parent.mkdir(parents=True)
    torch.save({"epoch": 1, "modules": {"scheduler": {"lr_lambda": _Scheduled()}}}, checkpoint.path)
    before = checkpoint.path.read_bytes()
    with pytest.raises(CheckpointUnreadableError, match="intact.*weights_only=True.*Nothing was moved"):
        checkpoint.load()
    assert checkpoint.path.read_bytes() == before and [p.name for p in checkpoints.iterdir()] == [checkpoint.path.name]


def test_force_keeps_the_finished_run_aside_and_never_overwrites_a_copy(checkpoints, capsys):
    model, _ = make_run()
    train_or_load("kept", SETTINGS, {"model": model}, epochs=1, train_epoch=lambda e: None)
    path = Checkpoint("kept", SETTINGS).path
    first = path.read_bytes()
    train_or_load("kept", SETTINGS, {"model": model}, epochs=1, train_epoch=lambda e: None, force=True)
    assert "kept as" in capsys.readouterr().out
    assert path.with_name(path.name + ".replaced").read_bytes() == first
    second = path.read_bytes()
    train_or_load("kept", SETTINGS, {"model": model}, epochs=1, train_epoch=lambda e: None, force=True)
    assert path.with_name(path.name + ".replaced").read_bytes() == first
    assert path.with_name(path.name + ".replaced-2").read_bytes() == second


def test_save_is_atomic_and_loads_with_weights_only(checkpoints, monkeypatch):
    checkpoint = Checkpoint("atomic", SETTINGS)
    checkpoint.save({"epoch": 1, "w": torch.ones(2)})

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        checkpoint.save({"epoch": 2, "w": torch.zeros(2)})
    state = torch.load(checkpoint.path, weights_only=True)  # the old file is intact, and safe to read
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.ones(2))
    assert [p.name for p in checkpoints.iterdir()] == [checkpoint.path.name]  # no temporary file left
    assert not math.isnan(state["w"].sum())


@pytest.mark.parametrize("mode", [torch.no_grad, torch.inference_mode, torch.enable_grad])
def test_train_or_load_trains_in_any_gradient_mode(mode, tmp_path):
    """Whoever asks for a trained model may be inside an evaluation without gradients: training still works."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    before = torch.nn.functional.mse_loss(model(x), y).item()

    def train_epoch(epoch):
        for _ in range(20):
            loss = torch.nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    with mode():
        train_or_load("tiny", SETTINGS, {"model": model, "optimizer": optimizer}, 2, train_epoch, folder=tmp_path)
        assert torch.is_grad_enabled() == (mode is torch.enable_grad)  # the caller's mode is restored
    assert torch.nn.functional.mse_loss(model(x), y).item() < before / 10


def test_training_time_is_kept_with_the_checkpoint(tmp_path):
    """history.seconds adds up the epochs trained and comes back with a loaded run (issue: compare
    generators at equal training time even when one of them was loaded)."""
    import time

    model = torch.nn.Linear(2, 2)

    def slow_epoch(epoch):
        time.sleep(0.05)

    history = train_or_load("timed", SETTINGS, {"model": model}, 3, slow_epoch, folder=tmp_path)
    assert 0.15 <= history.seconds < 5
    loaded = train_or_load("timed", SETTINGS, {"model": torch.nn.Linear(2, 2)}, 3, slow_epoch, folder=tmp_path)
    assert loaded.seconds == pytest.approx(history.seconds)


def test_loss_history_plots_only_the_names_asked_for():
    history = LossHistory(plot=["loss"])
    history.log(0, loss=1.0, alpha=0.5)
    figure = history.figure()
    assert [line.get_label() for line in figure.axes[0].lines] == ["loss"]
    assert history.names() == ["loss", "alpha"]  # everything is still recorded


def _noisy_run(epochs_done: list):
    """A run whose every epoch draws random numbers: resuming must restore the random stream too."""
    model, optimizer = make_run()
    x = torch.randn(32, 2)

    def train_epoch(epoch):
        epochs_done.append(epoch)
        for _ in range(5):
            batch = x[torch.randperm(32)[:8]] + 0.1 * torch.randn(8, 2)  # shuffling and noise: global RNG
            loss = model(batch).pow(2).mean()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return model, optimizer, train_epoch


def _settings(epochs):
    return {**SETTINGS, "epochs": epochs}  # as the lessons pass them: the length is among the settings


def test_a_longer_run_continues_the_finished_one_and_ends_where_an_uninterrupted_run_ends(tmp_path, capsys):
    done = []
    model, optimizer, train_epoch = _noisy_run(done)
    train_or_load("long", _settings(4), {"model": model, "optimizer": optimizer}, 4, train_epoch, folder=tmp_path / "a")
    uninterrupted = model.state_dict()

    short, short_opt, short_epoch = _noisy_run([])
    train_or_load("long", _settings(2), {"model": short, "optimizer": short_opt}, 2, short_epoch, folder=tmp_path / "b")
    capsys.readouterr()
    continued_epochs = []
    longer, longer_opt, longer_epoch = _noisy_run(continued_epochs)
    train_or_load("long", _settings(4), {"model": longer, "optimizer": longer_opt}, 4, longer_epoch,
                  folder=tmp_path / "b")
    assert continued_epochs == [2, 3]  # the two finished epochs are not trained again
    assert "Continuing after epoch 2 of 4" in capsys.readouterr().out
    assert len(list((tmp_path / "b").glob("long-*.pt"))) == 1  # one run, grown: not a second file
    for key, value in uninterrupted.items():
        assert torch.equal(longer.state_dict()[key], value), key  # bit for bit the uninterrupted run


def test_an_interrupted_run_resumed_ends_where_an_uninterrupted_run_ends(tmp_path):
    model, optimizer, train_epoch = _noisy_run([])
    train_or_load("cut", SETTINGS, {"model": model, "optimizer": optimizer}, 4, train_epoch, folder=tmp_path / "a")

    crashing, crashing_opt, crashing_epoch = _noisy_run([])

    def stop_in_epoch_three(epoch):
        crashing_epoch(epoch)
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_or_load("cut", SETTINGS, {"model": crashing, "optimizer": crashing_opt}, 4, stop_in_epoch_three,
                      folder=tmp_path / "b")
    resumed, resumed_opt, resumed_epoch = _noisy_run([])
    train_or_load("cut", SETTINGS, {"model": resumed, "optimizer": resumed_opt}, 4, resumed_epoch, folder=tmp_path / "b")
    for key, value in model.state_dict().items():
        assert torch.equal(resumed.state_dict()[key], value), key


def test_a_run_with_more_epochs_than_asked_is_loaded_and_says_so(tmp_path, capsys):
    model, optimizer, train_epoch = _noisy_run([])
    train_or_load("more", _settings(3), {"model": model, "optimizer": optimizer}, 3, train_epoch, folder=tmp_path)
    capsys.readouterr()
    again = make_run()[0]
    train_or_load("more", _settings(2), {"model": again}, 2, lambda e: pytest.fail("retrained"), folder=tmp_path)
    assert "trained 3 epochs, more than the 2 asked for" in capsys.readouterr().out
    assert torch.equal(again.weight, model.weight)


def test_a_changed_setting_trains_anew_and_names_the_run_it_did_not_use(tmp_path, capsys):
    model = make_run()[0]
    train_or_load("lr", SETTINGS, {"model": model}, 1, lambda e: None, folder=tmp_path)
    capsys.readouterr()
    runs = []
    train_or_load("lr", {**SETTINGS, "lr": 0.2}, {"model": model}, 1, runs.append, folder=tmp_path)
    out = capsys.readouterr().out
    assert runs == [0] and "from scratch" in out and "lr: 0.1 -> 0.2" in out and "kept as it is" in out
    assert len(list(tmp_path.glob("lr-*.pt"))) == 2


def test_which_lesson_runs_continue_when_longer():
    """Constant-rate GAN training continues a shorter run; a one-cycle schedule (CNN, VAE) depends on the
    total length at every step, so a longer one is a new run."""
    from tutorial import cnn, gan

    cfg = gan.GAN_SETTINGS["smoke"]
    g, d = gan.DCGANGenerator(cfg["nz"], cfg["g_width"]), gan.DCGANDiscriminator(cfg["d_width"])
    two = gan.gan_checkpoint_settings(g, d, {**cfg, "epochs": 2})
    five = gan.gan_checkpoint_settings(g, d, {**cfg, "epochs": 5})
    assert Checkpoint("g", two, profile="smoke").path == Checkpoint("g", five, profile="smoke").path
    ccfg = cnn.CNN_SETTINGS["smoke"]
    model = cnn.SmallVGG(ccfg["width"], ccfg["hidden"])
    paths = {Checkpoint("c", cnn.classifier_checkpoint_settings(model, ccfg, n), profile="smoke").path for n in (2, 5)}
    assert len(paths) == 2
