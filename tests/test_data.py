"""The downloader against a real HTTP server on 127.0.0.1 serving a temporary mirror, and a folder mirror."""
import hashlib
import http.server
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tutorial import data
from tutorial.data import Asset, DownloadError, fetch

PAYLOAD = os.urandom(50_000)


def make_asset(name="test-blob", payload=PAYLOAD, urls=()):
    return Asset(name, f"blobs/{name}.bin", hashlib.sha256(payload).hexdigest(), len(payload), "CC0", tuple(urls),
                 "blobs")


class Handler(http.server.BaseHTTPRequestHandler):
    """Serves files from ``self.server.root``; ``/truncated/...`` promises more bytes than it sends."""

    def do_GET(self):
        self.server.hits.append(self.path)
        truncated = self.path.startswith("/truncated/")
        path = self.server.root / self.path.lstrip("/")
        for prefix in ("/truncated/", "/chunked/", "/slow/"):
            if self.path.startswith(prefix):
                path = self.server.root / self.path.removeprefix(prefix).lstrip("/")
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        if self.path.startswith("/chunked/"):  # chunked encoding, cut inside a chunk: IncompleteRead for the client
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(f"{len(body):x}\r\n".encode() + body[: len(body) // 3])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.path.startswith("/slow/"):  # 1 kB every 50 ms: each read is quick, the whole is slow
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                for i in range(0, len(body), 1000):
                    self.wfile.write(body[i:i + 1000])
                    self.wfile.flush()
                    time.sleep(0.05)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncated else body)
        if truncated:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path):
    root = tmp_path / "served"
    root.mkdir()
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.root, httpd.hits = root, []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("TUTORIAL_DATA", str(folder))
    monkeypatch.delenv("TUTORIAL_MIRROR", raising=False)
    return folder


def register(monkeypatch, asset):
    monkeypatch.setitem(data.ASSETS, asset.name, asset)
    return asset


def serve(server, asset, payload=PAYLOAD):
    target = server.root / asset.path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(payload)


def no_partial_files(folder: Path):
    return [p for p in folder.rglob("*") if p.is_file() and p.name.endswith(".part")] == []


def test_good_file_from_http_mirror(server, cache, monkeypatch):
    asset = register(monkeypatch, make_asset())
    serve(server, asset)
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url)
    path = fetch(asset.name, quiet=True)
    assert path == cache / asset.path and path.read_bytes() == PAYLOAD
    assert server.hits == [f"/{asset.path}"]
    fetch(asset.name, quiet=True)  # present and verified: no second request
    assert len(server.hits) == 1


def test_mirror_is_tried_before_public_urls(server, cache, monkeypatch, tmp_path):
    public = f"{server.url}/public/{'test-blob'}.bin"
    asset = register(monkeypatch, make_asset(urls=[public]))
    serve(server, asset)
    mirror = tmp_path / "mirror"
    (mirror / asset.path).parent.mkdir(parents=True)
    (mirror / asset.path).write_bytes(PAYLOAD)
    monkeypatch.setenv("TUTORIAL_MIRROR", str(mirror))
    assert fetch(asset.name, quiet=True).read_bytes() == PAYLOAD
    assert server.hits == []  # the folder mirror answered; the public URL was never asked


def test_wrong_checksum_is_refused_and_nothing_is_left(server, cache, monkeypatch):
    asset = register(monkeypatch, make_asset())
    serve(server, asset, payload=os.urandom(len(PAYLOAD)))  # right size, wrong bytes
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url)
    with pytest.raises(DownloadError) as info:
        fetch(asset.name, quiet=True, retries=1)
    message = str(info.value)
    assert asset.path in message and "sha256" in message and "TUTORIAL_MIRROR" in message
    assert not (cache / asset.path).exists()
    assert no_partial_files(cache)


def test_a_file_larger_than_registered_stops_at_once(server, cache, monkeypatch):
    asset = register(monkeypatch, make_asset())
    serve(server, asset, PAYLOAD * 20)  # a million bytes where 50,000 are expected
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url)
    with pytest.raises(DownloadError, match="more than the expected 50,000 bytes"):
        fetch(asset.name, quiet=True, retries=1)
    assert not (cache / asset.path).exists() and no_partial_files(cache)


def test_a_connection_cut_inside_a_chunk_is_reported_not_a_traceback(server, cache, monkeypatch):
    asset = register(monkeypatch, make_asset())
    serve(server, asset)
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url + "/chunked")
    with pytest.raises(DownloadError, match="connection broke"):
        fetch(asset.name, quiet=True, retries=1)
    assert no_partial_files(cache)


def test_a_trickling_server_cannot_hold_the_learner(server, cache, monkeypatch):
    asset = register(monkeypatch, make_asset())
    serve(server, asset)
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url + "/slow")
    monkeypatch.setattr(data, "SLOWEST_RATE", 50_000)  # this 50,000-byte file may take 1 s; the server needs 2.5 s
    started = time.monotonic()
    with pytest.raises(DownloadError, match="too slow"):
        fetch(asset.name, quiet=True, retries=1, timeout=0.2)
    assert time.monotonic() - started < 2.0 and no_partial_files(cache)


def test_truncated_transfer_is_retried_then_reported(server, cache, monkeypatch):
    asset = register(monkeypatch, make_asset())
    serve(server, asset)
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url + "/truncated")
    with pytest.raises(DownloadError) as info:
        fetch(asset.name, quiet=True, retries=2)
    assert server.hits.count(f"/truncated/{asset.path}") == 2  # retried
    assert "try 2" in str(info.value)
    assert not (cache / asset.path).exists() and no_partial_files(cache)


def test_truncated_mirror_falls_back_to_public_url(server, cache, monkeypatch):
    asset = register(monkeypatch, make_asset(urls=[f"{server.url}/blobs/test-blob.bin"]))
    serve(server, asset)
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url + "/truncated")
    assert fetch(asset.name, quiet=True, retries=1).read_bytes() == PAYLOAD


def test_404_is_not_retried_and_names_the_url(server, cache, monkeypatch):
    asset = register(monkeypatch, make_asset())
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url)
    with pytest.raises(DownloadError) as info:
        fetch(asset.name, quiet=True, retries=3)
    assert len(server.hits) == 1
    assert f"{server.url}/{asset.path}" in str(info.value) and "Not Found" in str(info.value)


def test_server_down_is_reported_with_what_to_do(cache, monkeypatch):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    asset = register(monkeypatch, make_asset())
    monkeypatch.setenv("TUTORIAL_MIRROR", f"http://127.0.0.1:{port}")
    with pytest.raises(DownloadError) as info:
        fetch(asset.name, quiet=True, retries=1, timeout=2)
    message = str(info.value)
    assert f"127.0.0.1:{port}" in message and "refused" in message.lower()
    assert "python -m tutorial mirror" in message and str(cache / asset.path) in message


def test_corrupt_cached_file_is_moved_aside_and_replaced(server, cache, monkeypatch):
    asset = register(monkeypatch, make_asset())
    serve(server, asset)
    target = cache / asset.path
    target.parent.mkdir(parents=True)
    target.write_bytes(b"half a file")
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url)
    assert fetch(asset.name, quiet=True).read_bytes() == PAYLOAD
    assert target.with_name(target.name + ".bad").read_bytes() == b"half a file"  # kept, not deleted


def test_registry_is_complete_and_consistent():
    for asset in data.ASSETS.values():
        assert asset.urls and asset.license
        if asset.group not in ("weights", "adain-weights"):  # data: full sha256 and size, always
            assert len(asset.sha256) == 64 and asset.size > 0
        else:  # weights: what the publisher guarantees (tests/test_weights.py), never an invented checksum
            assert asset.sha256 == "" and (asset.size > 0 or asset.about > 0)
        assert not Path(asset.path).is_absolute() and ".." not in asset.path
    assert set(data.GROUPS) >= {"mnist", "fashion-mnist", "styles", "content"}
    assert len({a.path for a in data.ASSETS.values()}) == len(data.ASSETS)


def _shared_mirror():
    value = os.environ.get("TUTORIAL_MIRROR", "")
    return Path(value) if value and Path(value).is_dir() else None


SHARED = _shared_mirror()  # read at import: the fixtures above clear the variable for each test


@pytest.mark.skipif(SHARED is None, reason="needs TUTORIAL_MIRROR set to a local folder (CI sets it)")
def test_every_registered_asset_matches_the_mirror(cache, monkeypatch):
    """The registry's sha256 and sizes are the real files' (checked against the workshop mirror)."""
    mirror = SHARED
    for asset in data.ASSETS.values():
        path = mirror / asset.path
        if not asset.sha256 and not path.exists():  # pretrained weights: this machine's mirror has none
            continue
        assert path.stat().st_size == asset.size, asset.path
        assert data.sha256_of(path) == asset.sha256, asset.path


@pytest.mark.skipif(SHARED is None, reason="needs TUTORIAL_MIRROR set to a local folder (CI sets it)")
def test_mnist_through_torchvision_from_the_mirror(cache, monkeypatch):
    monkeypatch.setenv("TUTORIAL_MIRROR", str(SHARED))
    test_set = data.mnist_dataset(train=False)
    assert len(test_set) == 10_000 and test_set.targets[:5].tolist() == [7, 2, 1, 0, 4]
    assert (cache / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").exists()


def test_cli_download_and_mirror(server, tmp_path, cache, monkeypatch, capsys):
    """`python -m tutorial mirror DIR` builds a mirror that a second machine can fetch from."""
    from tutorial import cli

    if SHARED is None:
        pytest.skip("needs TUTORIAL_MIRROR set to a local folder")
    asset = data.ASSETS["starry_night"]
    served = server.root / asset.path
    served.parent.mkdir(parents=True)
    served.write_bytes((SHARED / asset.path).read_bytes())
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url)  # the teacher's machine fetches over HTTP
    room = tmp_path / "room-mirror"
    assert cli.main(["mirror", str(room), "starry_night"]) == 0
    assert data.sha256_of(room / asset.path) == asset.sha256 and str(room) in capsys.readouterr().out
    monkeypatch.setenv("TUTORIAL_MIRROR", str(room))  # a learner's machine uses the room's folder
    monkeypatch.setenv("TUTORIAL_DATA", str(tmp_path / "learner"))
    assert cli.main(["download", "starry_night"]) == 0 and "verified" in capsys.readouterr().out
    monkeypatch.setenv("TUTORIAL_MIRROR", str(tmp_path / "empty"))
    monkeypatch.setenv("TUTORIAL_DATA", str(tmp_path / "other"))
    monkeypatch.setattr(data, "_sources", lambda a, public=True: [str(tmp_path / "empty" / a.path)])  # no public URLs offline
    assert cli.main(["download", "the_scream"]) == 1
    assert "Could not get styles/the_scream.jpg" in capsys.readouterr().err


def _dead_url():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/dtd-r1.0.1.tar.gz"


def _tiny_dtd_archive(folder: Path) -> Path:
    """A tar.gz laid out like DTD's (dtd/images/CLASS/*.jpg, dtd/labels/train1.txt), with two real JPEGs."""
    import tarfile

    from PIL import Image

    src = folder / "src"
    for cls, colour in [("banded", (200, 30, 30)), ("dotted", (30, 30, 200))]:
        (src / "dtd" / "images" / cls).mkdir(parents=True)
        Image.new("RGB", (40, 30), colour).save(src / "dtd" / "images" / cls / f"{cls}_0001.jpg")
    (src / "dtd" / "labels").mkdir()
    (src / "dtd" / "labels" / "train1.txt").write_text("banded/banded_0001.jpg\ndotted/dotted_0001.jpg\n")
    archive = folder / "dtd-r1.0.1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "dtd", arcname="dtd")
    return archive


def test_large_set_comes_from_the_mirror_and_is_checked_by_torchvision(server, cache, monkeypatch, tmp_path):
    """The `full` profile's texture set: seeded from an http mirror, md5-checked and unpacked by torchvision
    (whose URL points nowhere here, so nothing comes from the network)."""
    from torchvision import datasets

    archive = _tiny_dtd_archive(tmp_path)
    (server.root / "dtd").mkdir()
    (server.root / "dtd" / archive.name).write_bytes(archive.read_bytes())
    monkeypatch.setattr(datasets.DTD, "_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    monkeypatch.setattr(datasets.DTD, "_URL", _dead_url())
    monkeypatch.setenv("TUTORIAL_MIRROR", server.url)
    paths = data.dtd_textures()
    assert [p.name for p in paths] == ["banded_0001.jpg", "dotted_0001.jpg"]
    assert all(p.is_file() and cache in p.parents for p in paths)
    assert server.hits == ["/dtd/dtd-r1.0.1.tar.gz"]
    assert data.dtd_textures() == paths and len(server.hits) == 1  # second call: unpacked already, no transfer


def test_large_set_with_a_bad_checksum_says_what_to_do(cache, monkeypatch, tmp_path):
    from torchvision import datasets

    mirror = tmp_path / "mirror"
    (mirror / "dtd").mkdir(parents=True)
    (mirror / "dtd" / "dtd-r1.0.1.tar.gz").write_bytes(b"not the archive")  # torchvision's real md5 won't match
    monkeypatch.setattr(datasets.DTD, "_URL", _dead_url())
    monkeypatch.setenv("TUTORIAL_MIRROR", str(mirror))
    with pytest.raises(DownloadError) as info:
        data.dtd_textures()
    message = str(info.value)
    assert "Describable Textures" in message and "dtd/dtd-r1.0.1.tar.gz" in message
    assert "md5" in message and "full" in message and "TUTORIAL_MIRROR" in message


def _tar_with(tmp_path, name, payload=b"x"):
    import io
    import tarfile

    archive = tmp_path / "bad.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo(name)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    return archive


def test_torchvisions_unpacking_cannot_write_outside_its_folder(tmp_path):
    import tarfile

    from torchvision.datasets.utils import extract_archive

    inside = tmp_path / "inside"
    inside.mkdir()
    with data.safe_tar_extraction(), pytest.raises(tarfile.TarError):
        extract_archive(str(_tar_with(tmp_path, "../escaped.txt")), str(inside))
    assert not (tmp_path / "escaped.txt").exists()
    absolute = tmp_path / "absolute-escape.txt"
    try:  # an absolute member is refused, or (Python's data filter) its leading "/" is stripped
        with data.safe_tar_extraction():
            extract_archive(str(_tar_with(tmp_path, str(absolute))), str(inside))
    except tarfile.TarError:
        pass
    assert not absolute.exists()
    with data.safe_tar_extraction():
        extract_archive(str(_tar_with(tmp_path, "fine/inside.txt")), str(inside))
    assert (inside / "fine" / "inside.txt").read_bytes() == b"x"
    assert tarfile.TarFile.extraction_filter is None  # restored after the block (Python < 3.14's default)


def test_make_mirror_builds_a_room_mirror_repairs_it_and_never_leaves_half_a_file(server, cache, monkeypatch,
                                                                                  tmp_path):
    """What a teacher runs before a workshop: every asset copied once, checked, laid out as the data folder."""
    other = os.urandom(20_000)
    a = register(monkeypatch, make_asset("mirror-a", urls=[f"{server.url}/blobs/mirror-a.bin"]))
    b = register(monkeypatch, make_asset("mirror-b", other, urls=[f"{server.url}/blobs/mirror-b.bin"]))
    serve(server, a)
    serve(server, b, other)
    room = tmp_path / "room"
    assert data.make_mirror(room, ["mirror-a", "mirror-b"]) == room.resolve()
    assert (room / a.path).read_bytes() == PAYLOAD and (room / b.path).read_bytes() == other

    (room / a.path).write_bytes(PAYLOAD[:100])  # a damaged copy in the mirror
    os.utime(room / b.path, ns=(1, 1))  # an intact one, stamped so that a rewrite would show
    data.make_mirror(room, ["mirror-a", "mirror-b"])
    assert (room / a.path).read_bytes() == PAYLOAD  # repaired
    assert (room / b.path).stat().st_mtime_ns == 1  # left as it was

    (room / a.path).unlink()
    real_copy = data.shutil.copyfile

    def cut_off(source, target):  # the copy stops half-way (disk full, Ctrl-C)
        Path(target).write_bytes(Path(source).read_bytes()[:1000])
        raise OSError("No space left on device")

    monkeypatch.setattr(data.shutil, "copyfile", cut_off)
    with pytest.raises(OSError):
        data.make_mirror(room, ["mirror-a"])
    assert not (room / a.path).exists() and no_partial_files(room)
    monkeypatch.setattr(data.shutil, "copyfile", real_copy)
    data.make_mirror(room, ["mirror-a"])

    hits = len(server.hits)  # a learner's machine now fetches from the room's folder alone
    monkeypatch.setenv("TUTORIAL_MIRROR", str(room))
    monkeypatch.setenv("TUTORIAL_DATA", str(tmp_path / "learner"))
    assert fetch("mirror-a").read_bytes() == PAYLOAD and fetch("mirror-b").read_bytes() == other
    assert len(server.hits) == hits
