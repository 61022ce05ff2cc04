"""Profiles, device choice and seeding."""
import pytest
import torch

from tutorial import profiles
from tutorial.profiles import SettingError, current_profile, parse_setting, pick_device, pick_settings, seed_everything

TABLE = {"smoke": {"size": 8, "steps": 1}, "laptop": {"size": 32, "steps": 100}, "full": {"size": 64, "steps": 9}}


def test_default_profile_follows_cuda(monkeypatch):
    monkeypatch.delenv("TUTORIAL_PROFILE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert current_profile() == "full"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert current_profile() == "laptop"


def test_env_picks_profile_and_rejects_typos(monkeypatch):
    monkeypatch.setenv("TUTORIAL_PROFILE", " Smoke ")
    assert current_profile() == "smoke"
    monkeypatch.setenv("TUTORIAL_PROFILE", "fast")
    with pytest.raises(ValueError, match="smoke, laptop, full"):
        current_profile()


def test_pick_settings(monkeypatch):
    monkeypatch.setenv("TUTORIAL_PROFILE", "laptop")
    cfg = pick_settings(TABLE)
    assert cfg.size == 32 and cfg["steps"] == 100 and cfg.profile == "laptop"
    assert pick_settings(TABLE, "full").size == 64
    assert "size" in repr(cfg) and "laptop" in repr(cfg)
    with pytest.raises(AttributeError, match="no 'epochs'"):
        cfg.epochs


def test_setting_an_attribute_changes_the_setting_and_a_typo_is_refused():
    import copy
    import pickle

    cfg = pick_settings(TABLE, "laptop")
    cfg.steps = 7  # as a learner would in a notebook: the dict, and so the checkpoint key, changes
    assert cfg["steps"] == 7 and dict(cfg) == {"size": 32, "steps": 7}
    with pytest.raises(AttributeError, match="no 'step'.*would change nothing"):
        cfg.step = 3
    assert "step" not in cfg and pickle.loads(pickle.dumps(cfg)) == cfg and copy.copy(cfg).profile == "laptop"


def test_overrides_replace_settings_for_one_run():
    cfg = pick_settings(TABLE, "laptop", {"steps": 250, "size": 48})
    assert cfg.steps == 250 and cfg.size == 48 and pick_settings(TABLE, "laptop").steps == 100  # table untouched
    assert [parse_setting(t) for t in ("none", "True", "3", "2e-4", "cuda")] == [None, True, 3, 2e-4, "cuda"]
    with pytest.raises(SettingError, match="no setting 'epochs'.*size, steps"):
        pick_settings(TABLE, "laptop", {"epochs": 3})


def test_bench_cli_rejects_an_unknown_setting(capsys):
    from tutorial.cli import main

    assert main(["bench", "gan", "--profile", "smoke", "--device", "cpu", "--set", "epoch=3"]) == 2
    assert "no setting 'epoch'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "gan", "--set", "epochs"])


def test_profiles_must_set_the_same_keys():
    with pytest.raises(ValueError, match="same things"):
        pick_settings({**TABLE, "full": {"size": 64}}, "smoke")
    with pytest.raises(ValueError, match="lacks"):
        pick_settings({"smoke": {}, "laptop": {}}, "smoke")


def test_device_choice_and_override(monkeypatch):
    monkeypatch.delenv("TUTORIAL_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(profiles, "_mps_available", lambda: False)
    assert pick_device() == torch.device("cpu")
    monkeypatch.setattr(profiles, "_mps_available", lambda: True)
    assert pick_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device() == torch.device("cuda")
    monkeypatch.setenv("TUTORIAL_DEVICE", "cpu")
    assert pick_device() == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA"):
        pick_device("cuda")


def test_seed_everything_makes_runs_repeat():
    import random

    import numpy as np

    seed_everything(123)
    first = (random.random(), np.random.rand(), torch.rand(3))
    seed_everything(123)
    second = (random.random(), np.random.rand(), torch.rand(3))
    assert first[:2] == second[:2] and torch.equal(first[2], second[2])
