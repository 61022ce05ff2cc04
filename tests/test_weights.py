"""Pretrained weights as registry assets: an offline room gets them from the mirror (folder or http), checked,
and a missing or damaged file gets a message that says what to put where. The real files are not on these
machines, so a made-up state dict of the right shapes stands in, with the registry entry's checksum prefix
and size set to the made-up file's (the real entry checks torchvision's prefix, dcbb9e9d, and size)."""
import dataclasses
import functools
import hashlib
import http.server
import threading
import urllib.error

import pytest
import torch

import tutorial.style_transfer as st
from tutorial import data
from tutorial.cli import list_assets


@pytest.fixture(scope="module")
def made_up_vgg19(tmp_path_factory):
    """A torchvision-style VGG-19 file (``features.N.weight``...) of the right shapes, and its tensors."""
    generator = torch.Generator().manual_seed(3)
    state = {f"features.{k}": torch.randn(shape, generator=generator).half() for k, shape in st.vgg19_conv_shapes().items()}
    state["classifier.0.weight"] = torch.zeros(2, 2)  # the real file has a classifier too; it is ignored
    path = tmp_path_factory.mktemp("weights") / "vgg19.pth"
    torch.save(state, path)
    return path, state


def as_registered(monkeypatch, path, name="vgg19-imagenet"):
    """Make the registry entry ``name`` describe the file at ``path`` (checksum prefix and size)."""
    payload = path.read_bytes()
    entry = data.ASSETS[name]
    fields = {"size": len(payload)} if entry.size else {}
    if entry.sha256_prefix:
        fields["sha256_prefix"] = hashlib.sha256(payload).hexdigest()[:8]
    monkeypatch.setitem(data.ASSETS, name, dataclasses.replace(entry, **fields))
    return data.ASSETS[name]


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network for torchvision, an empty torch cache, a fresh data folder, no mirror, nothing remembered."""
    from torchvision.models import VGG19_Weights

    def no_network(self, *args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(type(VGG19_Weights.IMAGENET1K_V1), "get_state_dict", no_network)
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "torch-cache"))
    monkeypatch.setattr(st, "_VGG19_STATE", {})
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path / "data"))
    monkeypatch.delenv(data.MIRROR_ENV, raising=False)
    return tmp_path


def put_in_mirror(folder, asset, source):
    target = folder / asset.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.read_bytes())
    return target


@pytest.fixture
def http_mirror(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def assert_loaded(vgg, state):
    assert vgg.pretrained
    torch.testing.assert_close(vgg.layers[2].weight, state["features.2.weight"].float())


def test_the_registry_checks_what_torchvision_guarantees_and_invents_no_checksum():
    vgg = data.ASSETS["vgg19-imagenet"]
    from torchvision.models import VGG19_Weights

    assert vgg.urls == (VGG19_Weights.IMAGENET1K_V1.url,) and vgg.path.endswith(st.VGG19_WEIGHTS_FILE)
    assert vgg.sha256 == "" and vgg.sha256_prefix == "dcbb9e9d" and st.VGG19_WEIGHTS_FILE == "vgg19-dcbb9e9d.pth"
    for name in ("adain-vgg-normalised", "adain-decoder"):
        asset = data.ASSETS[name]
        assert asset.optional and asset.sha256 == asset.sha256_prefix == "" and "form" in asset.check
    assert "vgg19-imagenet" in data.every_asset() and "adain-decoder" not in data.every_asset()
    listing = list_assets()
    assert "574,673,361 bytes" in listing and "adain-weights (about 94.0 MB, optional" in listing
    assert "dcbb9e9d" in listing


def test_offline_with_a_folder_mirror_the_real_weights_load(offline, made_up_vgg19, monkeypatch, capsys):
    path, state = made_up_vgg19
    asset = as_registered(monkeypatch, path)
    put_in_mirror(offline / "room", asset, path)
    monkeypatch.setenv(data.MIRROR_ENV, str(offline / "room"))
    vgg = st.load_vgg19(pretrained=True, last_layer="relu2_1")
    assert_loaded(vgg, state)
    out = capsys.readouterr().out
    assert "using torchvision's ImageNet VGG-19 weights from" in out and str(offline / "data") in out
    assert (offline / "data" / asset.path).read_bytes() == path.read_bytes()  # copied into the data folder


def test_offline_with_an_http_mirror_the_real_weights_load(offline, made_up_vgg19, http_mirror, monkeypatch):
    path, state = made_up_vgg19
    asset = as_registered(monkeypatch, path)
    root, url = http_mirror
    put_in_mirror(root, asset, path)
    monkeypatch.setenv(data.MIRROR_ENV, url)
    assert_loaded(st.load_vgg19(pretrained=True, last_layer="relu2_1"), state)


def test_the_file_in_the_data_folder_is_used_with_no_mirror(offline, made_up_vgg19, monkeypatch):
    path, state = made_up_vgg19
    asset = as_registered(monkeypatch, path)
    put_in_mirror(offline / "data", asset, path)
    assert_loaded(st.load_vgg19(pretrained=True, last_layer="relu2_1"), state)


def test_without_the_file_the_message_says_which_file_to_put_where(offline, capsys):
    vgg = st.load_vgg19(pretrained=True, last_layer="relu1_1")
    assert not vgg.pretrained
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    line = lines[0]
    assert "continuing with random weights" in line and "vgg19-dcbb9e9d.pth (574,673,361 bytes" in line
    assert str(offline / "data" / "weights" / "vgg19-dcbb9e9d.pth") in line and data.MIRROR_ENV in line
    assert "python -m tutorial mirror DIR" in line


def test_a_damaged_file_in_the_data_folder_is_moved_aside_and_the_mirror_copy_used(offline, made_up_vgg19,
                                                                                  monkeypatch, capsys):
    path, state = made_up_vgg19
    asset = as_registered(monkeypatch, path)
    damaged = put_in_mirror(offline / "data", asset, path)
    damaged.write_bytes(path.read_bytes()[: 1000])  # half a copy
    put_in_mirror(offline / "room", asset, path)
    monkeypatch.setenv(data.MIRROR_ENV, str(offline / "room"))
    assert_loaded(st.load_vgg19(pretrained=True, last_layer="relu2_1"), state)
    assert "did not match its checksum; moved it to vgg19-dcbb9e9d.pth.bad" in capsys.readouterr().out
    assert (offline / "data" / (asset.path + ".bad")).read_bytes() == path.read_bytes()[:1000]  # nothing lost


def test_a_damaged_mirror_copy_is_named_and_not_used(offline, made_up_vgg19, monkeypatch, capsys):
    path, _ = made_up_vgg19
    asset = as_registered(monkeypatch, path)
    put_in_mirror(offline / "room", asset, path).write_bytes(b"x" * asset.size)  # right size, wrong bytes
    monkeypatch.setenv(data.MIRROR_ENV, str(offline / "room"))
    assert not st.load_vgg19(pretrained=True, last_layer="relu1_1").pretrained
    out = capsys.readouterr().out
    assert "the mirror's copy was not used" in out and "does not match" in out
    assert "continuing with random weights" in out
    assert not (offline / "data" / asset.path).exists()  # no bad bytes under the final name


def test_a_file_of_the_wrong_form_is_named_and_moved_aside(offline, made_up_vgg19, monkeypatch, capsys):
    _, state = made_up_vgg19
    wrong = {k: v for k, v in state.items() if k != "features.5.weight"}
    wrong_path = offline / "wrong.pth"
    torch.save(wrong, wrong_path)
    asset = as_registered(monkeypatch, wrong_path)  # its checksum matches: only the form can catch it
    put_in_mirror(offline / "data", asset, wrong_path)
    assert not st.load_vgg19(pretrained=True, last_layer="relu1_1").pretrained
    out = capsys.readouterr().out
    assert "is not a VGG-19 weights file" in out and "5.weight missing" in out and ".bad" in out
    assert (offline / "data" / (asset.path + ".bad")).exists()


def test_a_file_that_would_run_code_is_refused(tmp_path):
    class Payload:
        def __reduce__(self):
            return (print, ("this ran",))

    import pickle

    path = tmp_path / "evil.pth"
    path.write_bytes(pickle.dumps({"features.0.weight": Payload()}, protocol=2))
    with pytest.raises(ValueError, match="cannot be read as tensors"):
        st.vgg19_features_from_file(path)


def made_up_adain(folder):
    """Files of the published AdaIN encoder's and decoder's form (naoto0804/pytorch-AdaIN's net.py layout)."""
    from tutorial.adain import build_decoder

    encoder = {"0.weight": torch.randn(3, 3, 1, 1), "0.bias": torch.randn(3)}
    index = 2  # after the 1x1 colour conv and its reflection pad: conv, relu, (pad, conv, relu, [pool, pad])...
    for key, shape in st.vgg19_conv_shapes().items():
        if key.endswith(".weight"):
            encoder[f"{index}.weight"], encoder[f"{index}.bias"] = torch.randn(shape) * 0.01, torch.randn(shape[0])
            index += 3
    folder.mkdir(parents=True, exist_ok=True)
    torch.save(encoder, folder / "vgg_normalised.pth")
    torch.save(build_decoder().state_dict(), folder / "decoder.pth")
    return folder / "vgg_normalised.pth", folder / "decoder.pth"


def test_the_published_adain_files_come_from_the_mirror_and_are_checked_by_form(offline, monkeypatch):
    from tutorial.adain import load_published_adain

    vgg_file, decoder_file = made_up_adain(offline / "made")
    for name, source in (("adain-vgg-normalised", vgg_file), ("adain-decoder", decoder_file)):
        put_in_mirror(offline / "room", data.ASSETS[name], source)
    assert data.local_file("adain-decoder") is None  # no mirror set: nothing, and no network
    monkeypatch.setenv(data.MIRROR_ENV, str(offline / "room"))
    paths = data.make_mirror(offline / "room2", ["adain-weights"])  # by group, from the mirror
    assert (paths / data.ASSETS["adain-decoder"].path).exists()
    encoder, decoder = load_published_adain(data.local_file("adain-vgg-normalised"), data.local_file("adain-decoder"))
    assert encoder.pretrained and len(decoder) > 0
    bad = offline / "bad_decoder.pth"
    torch.save({"1.weight": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="bad_decoder.pth is not the published AdaIN decoder"):
        load_published_adain(vgg_file, bad)
    with pytest.raises(ValueError, match="is not the published AdaIN encoder"):
        load_published_adain(decoder_file, decoder_file)


def test_doctor_says_where_the_vgg19_file_is(offline, made_up_vgg19, monkeypatch):
    from tutorial.cli import vgg19_weights_place

    path, _ = made_up_vgg19
    assert vgg19_weights_place().startswith("not on this machine")
    asset = as_registered(monkeypatch, path)
    put_in_mirror(offline / "room", asset, path)
    monkeypatch.setenv(data.MIRROR_ENV, str(offline / "room"))
    assert vgg19_weights_place() == f"in the mirror: {offline / 'room' / asset.path}"
