"""Every unit test runs in the smoke profile with its own empty checkpoint folder, so no test reads or
writes the learner's data/checkpoints/ and no test depends on another's training."""
import pytest


@pytest.fixture(autouse=True)
def checkpoints(tmp_path, monkeypatch):
    folder = tmp_path / "ckpt"
    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", str(folder))
    monkeypatch.setenv("TUTORIAL_PROFILE", "smoke")
    return folder


@pytest.fixture
def tiny_judge(monkeypatch):
    """Shrink the smoke-profile MNIST judge further, for tests that only need its numbers to exist."""
    from tutorial import cnn

    monkeypatch.setitem(cnn.CNN_SETTINGS, "smoke", {**cnn.CNN_SETTINGS["smoke"], "train_limit": 300,
                                                    "judge_reference": 200})
