"""Every unit test runs in the smoke profile with its own empty checkpoint folder, so no test reads or
writes the learner's data/checkpoints/ and no test depends on another's training."""
import pytest


@pytest.fixture(autouse=True)
def checkpoints(tmp_path, monkeypatch):
    folder = tmp_path / "ckpt"
    monkeypatch.setenv("TUTORIAL_CHECKPOINTS", str(folder))
    monkeypatch.setenv("TUTORIAL_PROFILE", "smoke")
    return folder
