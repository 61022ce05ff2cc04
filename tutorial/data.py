"""Checksummed data: an asset registry, a downloader with a local mirror, and the datasets the lessons use.

Every file the course reads is an :class:`Asset`: a name, a path relative to the data folder, its sha256,
its size, its license and one or more public URLs. :func:`fetch` puts an asset in the data folder and
checks it:

1. a file already there with the right sha256 is used as it is;
2. otherwise the mirror (``TUTORIAL_MIRROR``: a local folder or an http(s) base URL, laid out like the data
   folder) is tried first, then each public URL, each a few times;
3. bytes are written to a temporary file beside the target and renamed only once size and sha256 match, so
   a partial file never sits under the final name.

``TUTORIAL_DATA`` moves the data folder (default: ``data/`` in the checkout). A teacher prepares a mirror
for a room with poor network with ``python -m tutorial mirror DIR``.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import os
import shutil
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

DATA_ENV = "TUTORIAL_DATA"
MIRROR_ENV = "TUTORIAL_MIRROR"
CHUNK = 1 << 20
SLOWEST_RATE = 20_000  # bytes per second: a transfer slower than this on average is given up (see _copy_to)


@dataclass(frozen=True)
class Asset:
    name: str
    path: str  # relative to the data folder, and to a mirror
    sha256: str  # the full sha256, or "" where none is published (then see sha256_prefix and check)
    size: int  # bytes, or 0 where not published
    license: str
    urls: tuple[str, ...]
    group: str
    credit: str = ""
    sha256_prefix: str = ""  # what the publisher guarantees when no full sha256 is known (torch hub's file names)
    about: int = 0  # approximate bytes where ``size`` is 0: for listings and for bounding a transfer
    optional: bool = False  # left out of "every asset" (download --all, mirror without names) unless named

    @property
    def check(self) -> str:
        """How a copy of this file is verified, in words."""
        if self.sha256:
            return f"sha256 {self.sha256[:12]}... and size"
        if self.sha256_prefix:
            return (f"sha256 starts with {self.sha256_prefix} (the publisher's guarantee, in the file name; no full "
                    "sha256 is published)" + (" and size" if self.size else ""))
        return "no checksum is published: the loader checks its form (every tensor's name and shape)"

    @property
    def expected_bytes(self) -> int:
        return self.size or self.about


def bytes_ok(asset: Asset, size: int, sha256: str) -> bool:
    """Whether a file of ``size`` bytes with this ``sha256`` passes the asset's check."""
    if asset.size and size != asset.size:
        return False
    if asset.sha256:
        return sha256 == asset.sha256
    return sha256.startswith(asset.sha256_prefix)  # "" (no published checksum) accepts any bytes


def _mnist(name, file, sha256, size, license, urls):
    fashion = name.startswith("fashion")
    folder = "FashionMNIST" if fashion else "MNIST"  # where torchvision's dataset classes look
    return Asset(name, f"{folder}/raw/{file}", sha256, size, license, tuple(u + file for u in urls),
                 "fashion-mnist" if fashion else "mnist")


_MNIST_URLS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_MNIST_LICENSE = "CC BY-SA 3.0 (Yann LeCun and Corinna Cortes)"
_FASHION_URLS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                 "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/")
_FASHION_LICENSE = "MIT (Zalando SE)"
_NEURAL_STYLE = "https://raw.githubusercontent.com/jcjohnson/neural-style/master/examples/inputs/"
_GALLERY = "https://raw.githubusercontent.com/nhatquangph2/ethereal-art-gallery/main/public/images/artworks/"
_SKIMAGE = "https://raw.githubusercontent.com/scikit-image/scikit-image/v0.26.0/src/skimage/data/"
_PD_PAINTING = "public domain (painter died before 1955); the source repository states no license for the file"


def _style(name, file, sha256, size, credit, url, license=_PD_PAINTING, group="styles"):
    return Asset(name, f"{group}/{file}", sha256, size, license, (url,), group, credit)


def _photo(name, file, sha256, size, credit, license):
    return Asset(name, f"content/{file}", sha256, size, license, (_SKIMAGE + file,), "content", credit)


ASSETS: dict[str, Asset] = {a.name: a for a in [
    _mnist("mnist-train-images", "train-images-idx3-ubyte.gz",
           "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422, _MNIST_LICENSE, _MNIST_URLS),
    _mnist("mnist-train-labels", "train-labels-idx1-ubyte.gz",
           "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881, _MNIST_LICENSE, _MNIST_URLS),
    _mnist("mnist-test-images", "t10k-images-idx3-ubyte.gz",
           "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877, _MNIST_LICENSE, _MNIST_URLS),
    _mnist("mnist-test-labels", "t10k-labels-idx1-ubyte.gz",
           "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542, _MNIST_LICENSE, _MNIST_URLS),
    _mnist("fashion-mnist-train-images", "train-images-idx3-ubyte.gz",
           "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880, _FASHION_LICENSE, _FASHION_URLS),
    _mnist("fashion-mnist-train-labels", "train-labels-idx1-ubyte.gz",
           "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515, _FASHION_LICENSE, _FASHION_URLS),
    _mnist("fashion-mnist-test-images", "t10k-images-idx3-ubyte.gz",
           "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102, _FASHION_LICENSE, _FASHION_URLS),
    _mnist("fashion-mnist-test-labels", "t10k-labels-idx1-ubyte.gz",
           "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148, _FASHION_LICENSE, _FASHION_URLS),
    _style("starry_night", "starry_night.jpg", "0592ab0f7b51b3ce72608a95e53880bd93971e5b48f93a0ce8dfd3cbccf3d098",
           315236, "Vincent van Gogh, The Starry Night (1889)", _NEURAL_STYLE + "starry_night.jpg"),
    _style("the_scream", "the_scream.jpg", "f3075cddeb974a9ee1d6418f7f33fd05185a7ac7dcb4288bd2805d499a9dcaee",
           216723, "Edvard Munch, The Scream (1893)", _NEURAL_STYLE + "the_scream.jpg"),
    _style("shipwreck", "shipwreck.jpg", "4f7cf34e3cd4a5daaf3f421f059ca9a01aaa2a3afd7243d6670c9c8bc001a213",
           144730, "J. M. W. Turner, The Shipwreck of the Minotaur (the painting used by Gatys et al.)",
           _NEURAL_STYLE + "shipwreck.jpg"),
    _style("woman_with_hat_matisse", "woman_with_hat_matisse.jpg",
           "6a8b2383d9c110354a97a42c74bdcc5341be879cbb842ddb7ab5843dbdf56d53", 101689,
           "Henri Matisse, Woman with a Hat (1905)", _NEURAL_STYLE + "woman-with-hat-matisse.jpg"),
    _style("composition_vii", "composition_vii.jpg", "20af1d4c3bcb0cc370162700f2d9d4101ea3781cf79f2b979addf5225fd31ef9",
           195489, "Wassily Kandinsky, Composition VII (1913)",
           "https://raw.githubusercontent.com/asetoodehnia/Neural-Style-Transfer/master/styles/composition_vii.jpg"),
    _style("great_wave", "great_wave.jpg", "df2e388bacc4d395214ef0a9fc94da6a8791547ed3e3a4736d6180a6682d6ebd",
           324756, "Katsushika Hokusai, The Great Wave off Kanagawa (c. 1831; this copy is stretched to 4:3)",
           "https://raw.githubusercontent.com/asetoodehnia/Neural-Style-Transfer/master/styles/wave.jpg"),
    _style("mondrian", "mondrian.jpg", "b3f228ad1dfa21ed368451a08af372640b2fc062597d47688fffbd06f3c82b0f",
           526934, "Piet Mondrian, cubist-period grid composition",
           "https://raw.githubusercontent.com/naoto0804/pytorch-AdaIN/master/input/style/mondrian.jpg"),
    _style("klimt_the_kiss", "klimt_the_kiss.jpg", "73ef803ff303c39709e1d549652c12a13449ec7a2072f867765fe934cbc89420",
           1426740, "Gustav Klimt, The Kiss (1907-08)", _GALLERY + "the-kiss.jpg",
           license="public domain (stated by the source, from Wikimedia Commons)"),
    _style("monet_water_lilies", "monet_water_lilies.jpg",
           "4b4b899e4d9a706ff87a26b37bdb07b0660e26942054b1b5a67298bcfc1c92e8", 2588830,
           "Claude Monet, Water Lilies (1906)", _GALLERY + "water-lilies.jpg",
           license="public domain (stated by the source, from Wikimedia Commons)"),
    _style("wanderer_above_the_sea_of_fog", "wanderer_above_the_sea_of_fog.jpg",
           "b05b58eb7bc4958df59e1ff483e7160303567afd80c2820514b8dc989ca4a453", 975938,
           "Caspar David Friedrich, Wanderer above the Sea of Fog (c. 1818)", _GALLERY + "wanderer-sea-fog.jpg",
           license="public domain (stated by the source, from Wikimedia Commons)", group="styles_extra"),
    _photo("astronaut", "astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5", 791555,
           "NASA, astronaut Eileen Collins (scikit-image sample data)", "public domain"),
    _photo("chelsea", "chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb", 240512,
           "Stefan van der Walt, Chelsea the cat (scikit-image sample data)", "CC0"),
    _photo("coffee", "coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7", 466706,
           "Rachel Michetti, a cup of coffee (scikit-image sample data)", "CC0"),
    _photo("rocket", "rocket.jpg", "c2dd0de7c538df8d111e479619b129464d0269d0ae5fd18ca91d33a7fdfea95c", 112525,
           "SpaceX, a Falcon 9 launch (scikit-image sample data)", "public domain"),
    _photo("hubble_deep_field", "hubble_deep_field.jpg",
           "3a19c5dd8a927a9334bb1229a6d63711b1c0c767fb27e2286e7c84a3e2c2f5f4", 527940,
           "NASA, the Hubble Deep Field (scikit-image sample data)", "public domain"),
    # Pretrained weights. torchvision names its files by the first 8 hex digits of their sha256 and checks
    # only those; no full sha256 is published, so the registry checks the same prefix, and the size (the
    # download server's Content-Length). Loaded with torch.load(weights_only=True): tensors only, no code.
    Asset("vgg19-imagenet", "weights/vgg19-dcbb9e9d.pth", "", 574_673_361,
          "BSD-3-Clause (torchvision's pretrained weights; trained on ImageNet-1k, whose terms are for research "
          "and education)", ("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",), "weights",
          "torchvision's ImageNet VGG-19 (Simonyan and Zisserman's architecture), notebooks 04 and 05",
          sha256_prefix="dcbb9e9d"),
    # The reference AdaIN implementation's release (naoto0804/pytorch-AdaIN, MIT), optional for notebook 05.
    # Its release publishes neither checksums nor sizes: the loader checks every tensor's name and shape.
    Asset("adain-vgg-normalised", "weights/adain/vgg_normalised.pth", "", 0,
          "MIT (naoto0804/pytorch-AdaIN), converted from Gatys et al.'s normalised VGG-19",
          ("https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/vgg_normalised.pth",),
          "adain-weights", "the published AdaIN encoder (Huang and Belongie, 2017; PyTorch port by Naoto Inoue)",
          about=80_000_000, optional=True),
    Asset("adain-decoder", "weights/adain/decoder.pth", "", 0, "MIT (naoto0804/pytorch-AdaIN)",
          ("https://github.com/naoto0804/pytorch-AdaIN/releases/download/v0.0.0/decoder.pth",),
          "adain-weights", "the published AdaIN decoder (Huang and Belongie, 2017; PyTorch port by Naoto Inoue)",
          about=14_000_000, optional=True),
]}

GROUPS: dict[str, list[str]] = {}
for _a in ASSETS.values():
    GROUPS.setdefault(_a.group, []).append(_a.name)


class DownloadError(RuntimeError):
    """No source gave the right bytes for an asset. The message says what was tried and what to do;
    ``problems`` lists the sources that held the file but gave wrong or broken bytes (not those without it)."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


def data_dir() -> Path:
    """The data folder: ``TUTORIAL_DATA``, else ``data/`` in the checkout, else ``~/.cache/tutorial-data``."""
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").exists() and (checkout / "notebooks").is_dir():
        return checkout / "data"
    return Path.home() / ".cache" / "tutorial-data"


def mirror() -> str | None:
    """The mirror named by ``TUTORIAL_MIRROR`` (a folder or an http(s) base URL), or None."""
    value = os.environ.get(MIRROR_ENV, "").strip()
    return value or None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve(name: str) -> Asset:
    """An asset by name (``starry_night``) or by relative path (``styles/starry_night.jpg``)."""
    if name in ASSETS:
        return ASSETS[name]
    for asset in ASSETS.values():
        if asset.path == name:
            return asset
    raise KeyError(f"no asset named {name!r}. Known assets: {', '.join(ASSETS)}; groups: {', '.join(GROUPS)}")


def _mirrored(relative_path: str) -> str | None:
    """Where the mirror (``TUTORIAL_MIRROR``) keeps ``relative_path``: a URL or a local path; None without one."""
    base = mirror()
    if not base:
        return None
    if base.startswith(("http://", "https://")):
        return base.rstrip("/") + "/" + relative_path
    return str(Path(base).expanduser() / relative_path)


def _sources(asset: Asset, public: bool = True) -> list[str]:
    """The mirror's copy (when a mirror is set), then, if ``public``, the asset's public URLs."""
    return [s for s in [_mirrored(asset.path)] if s] + (list(asset.urls) if public else [])


def _copy_to(source: str, target: Path, timeout: float, asset: Asset | None = None) -> None:
    """Stream ``source`` (URL or path) into a temporary file beside ``target`` and rename it into place,
    only once its size and sha256 match ``asset`` when one is given: never a partial file under the final name.

    Bounded three ways, each failing with an ``OSError`` that says which: ``timeout`` seconds per read; a
    transfer that grows past ``asset.size`` stops at once; and the whole transfer may take at most
    ``4 * timeout`` seconds or ``asset.size / SLOWEST_RATE``, whichever is longer, so a server that
    trickles bytes cannot hold a learner for hours (without ``asset``, only the per-read timeout applies). An
    asset whose size is not published is bounded by twice its approximate size (``about``) instead. A
    connection cut mid-transfer is an ``OSError`` too."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    limit = (asset.size or 2 * asset.about or float("inf")) if asset else float("inf")
    allowed = max(4 * timeout, asset.expected_bytes / SLOWEST_RATE) if asset else float("inf")  # per-read only
    deadline = time.monotonic() + allowed
    try:
        digest, size = hashlib.sha256(), 0
        with os.fdopen(fd, "wb") as out:
            if source.startswith(("http://", "https://")):
                request = urllib.request.Request(source, headers={"User-Agent": "tutorial-course-downloader"})
                stream = urllib.request.urlopen(request, timeout=timeout)
            else:
                stream = open(source, "rb")
            with stream:
                try:
                    read = getattr(stream, "read1", stream.read)  # what has arrived, so the clock is checked often
                    for block in iter(lambda: read(CHUNK), b""):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
                        if size > limit:
                            raise OSError(f"more than the expected {limit:,} bytes (a different or growing file)")
                        if time.monotonic() > deadline:
                            raise OSError(f"too slow: {size:,} bytes in {allowed:.0f} s, the most this file may take")
                except http.client.HTTPException as error:  # e.g. IncompleteRead: the connection was cut
                    raise OSError(f"the connection broke after {size:,} bytes ({type(error).__name__})") from None
        if asset is not None and asset.size and size != asset.size:
            raise OSError(f"got {size:,} bytes, expected {asset.size:,} (transfer cut short or wrong file)")
        if asset is not None and not bytes_ok(asset, size, digest.hexdigest()):
            expected = asset.sha256[:16] + "..." if asset.sha256 else f"a sha256 starting {asset.sha256_prefix}"
            raise OSError(f"sha256 {digest.hexdigest()[:16]}... does not match the expected {expected}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def set_aside(path: Path) -> Path:
    """Rename a damaged file to ``NAME.bad`` beside it (replacing an older ``.bad``) and return the new path:
    somebody's bytes are kept for inspection, never deleted, and the name is free for a good copy."""
    aside = path.with_name(path.name + ".bad")
    os.replace(path, aside)
    return aside


def fetch(name: str, *, retries: int = 3, timeout: float = 30.0, quiet: bool = False, public: bool = True) -> Path:
    """Make sure asset ``name`` is in the data folder with the right checksum, and return its path.
    ``public=False`` tries only the data folder and the mirror, never the public URLs."""
    asset = resolve(name)
    target = data_dir() / asset.path
    if target.exists():
        if bytes_ok(asset, target.stat().st_size, sha256_of(target)):
            return target
        aside = set_aside(target)  # said even when quiet: somebody's file was moved
        print(f"{target} did not match its checksum; moved it to {aside.name} and fetching a fresh copy.")
    failures, problems = [], []
    for source in _sources(asset, public):
        is_local = not source.startswith(("http://", "https://"))
        for attempt in range(1 if is_local else retries):
            try:
                _copy_to(source, target, timeout, asset)
                if not quiet:
                    print(f"fetched {asset.path} from {source}")
                return target
            except (OSError, urllib.error.URLError, ValueError, http.client.HTTPException) as error:
                reason = getattr(error, "reason", None) or error
                failures.append(f"  - {source} (try {attempt + 1}): {reason}")
                absent = isinstance(error, FileNotFoundError) or (
                    isinstance(error, urllib.error.HTTPError) and error.code == 404)
                if not absent:
                    problems.append(f"{source}: {reason}")
                if is_local or isinstance(error, urllib.error.HTTPError) and error.code == 404:
                    break
                time.sleep(min(0.5 * 2**attempt, 4.0))
    raise DownloadError(
        f"Could not get {asset.path} ({describe_size(asset)}; checked by {asset.check}). Tried:\n"
        + "\n".join(failures)
        + "\nWhat to do:\n"
        f"  - offline or behind a firewall? Point {MIRROR_ENV} at a folder (or http(s) URL) laid out like the data "
        f"folder, e.g. {MIRROR_ENV}=/path/to/mirror holding {asset.path};\n"
        f"    a teacher makes one on a connected machine with `python -m tutorial mirror DIR`;\n"
        f"  - or copy the file by hand to {target} (it is checked: {asset.check});\n"
        f"  - a checksum mismatch means the source or mirror holds a different file: replace it.",
        problems)


def describe_size(asset: Asset) -> str:
    if asset.size:
        return f"{asset.size:,} bytes"
    return f"about {asset.about / 1e6:.0f} MB" if asset.about else "size not published"


def every_asset() -> list[str]:
    """The names that "every asset" means: all but the optional ones (those are fetched by name or group)."""
    return [name for name, asset in ASSETS.items() if not asset.optional]


def fetch_all(names: list[str] | None = None, quiet: bool = False) -> list[Path]:
    """Fetch assets and groups by name (``["mnist", "starry_night"]``); every non-optional asset when ``names``
    is empty."""
    wanted = []
    for name in names or every_asset():
        wanted += GROUPS.get(name, [name])
    return [fetch(n, quiet=quiet) for n in dict.fromkeys(wanted)]


def make_mirror(folder: str | os.PathLike, names: list[str] | None = None) -> Path:
    """Copy (fetching first where needed) the assets into ``folder``, laid out like the data folder. A copy
    already there and intact is left as it is; a damaged one is replaced. Each file is written under a
    temporary name and renamed when whole, so an interrupted run never leaves half a file in the mirror."""
    folder = Path(folder).expanduser().resolve()
    for path in fetch_all(names):
        relative = path.relative_to(data_dir())
        destination = folder / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists() and sha256_of(destination) == sha256_of(path):
            continue
        partial = destination.with_name(destination.name + ".part")
        try:
            shutil.copyfile(path, partial)
            os.replace(partial, destination)
        finally:
            partial.unlink(missing_ok=True)
    return folder


def local_file(name: str) -> Path | None:
    """Asset ``name`` from the data folder or the mirror, verified, without touching the network: its path,
    or None when neither holds a good copy (a damaged copy in the data folder is set aside, with a line)."""
    try:
        return fetch(name, public=False, quiet=True)
    except DownloadError as error:
        if error.problems:  # the mirror has the file, but not good: say so rather than pass over it
            print(f"the mirror's copy was not used: {error.problems[0]}")
        return None


def credit(name: str) -> str:
    """One line that credits an image asset: work, source and license."""
    asset = resolve(name)
    return f"{asset.credit}. License: {asset.license}. Source: {asset.urls[0]}"


def mnist_dataset(train: bool = True, transform=None, fashion: bool = False):
    """MNIST (or Fashion-MNIST) through torchvision's own dataset class.

    The raw ``.gz`` files are fetched and checked by :func:`fetch` (so the mirror works), and placed where
    torchvision looks for them; torchvision then verifies their md5 and unpacks them without any network.
    """
    import contextlib
    import io

    from torchvision import datasets

    fetch_all(["fashion-mnist" if fashion else "mnist"], quiet=True)
    cls = datasets.FashionMNIST if fashion else datasets.MNIST
    with contextlib.redirect_stdout(io.StringIO()):  # torchvision prints "Using downloaded and verified file"
        return cls(str(data_dir()), train=train, download=True, transform=transform)


# --- Large image sets for the `full` profile (notebook 05's decoder), through torchvision's dataset classes ---
#
# These archives are too large for the registry's mirror-everything approach (hundreds of MB each) and come with
# torchvision's own md5 checksums; torchvision downloads, verifies and unpacks them. Both sources need no account
# and have no quota; both are for research and education use (http://places2.csail.mit.edu/download.html,
# https://www.robots.ox.ac.uk/~vgg/data/dtd/). For an offline room, put the archives in the mirror (same layout
# as the data folder):
#   MIRROR/places365/filelist_places365-standard.tar   MIRROR/places365/val_256.tar   MIRROR/dtd/dtd-r1.0.1.tar.gz
# They are copied into the data folder first, and torchvision then checks their md5 before using them.
LARGE_SETS = {
    "places365": {
        "what": "Places365-Standard validation photos: 36,500 scenes, 256x256 JPEG (Zhou et al., MIT CSAIL)",
        "url": "http://data.csail.mit.edu/places/places365/",
        "archives": ("filelist_places365-standard.tar", "val_256.tar"),
        "size": "about 525 MB",
    },
    "dtd": {
        "what": "Describable Textures Dataset: 5,640 texture photos in 47 categories (Cimpoi et al., Oxford VGG)",
        "url": "https://www.robots.ox.ac.uk/~vgg/data/dtd/download/",
        "archives": ("dtd-r1.0.1.tar.gz",),
        "size": "about 625 MB",
    },
}


def _seed_from_mirror(folder: str, archives: tuple[str, ...], timeout: float = 60.0) -> None:
    """Copy the archives of a large set from the mirror into ``data_dir()/folder`` where they are missing.
    No checksum here: torchvision checks the md5 of what it finds before it unpacks it."""
    for archive in archives:
        target, source = data_dir() / folder / archive, _mirrored(f"{folder}/{archive}")
        if source is None or target.exists():
            continue
        try:
            _copy_to(source, target, timeout)
        except (OSError, urllib.error.URLError):
            pass  # not in the mirror: torchvision tries the public URL next


@contextlib.contextmanager
def safe_tar_extraction():
    """Inside this block every ``tarfile`` extraction that names no filter of its own (torchvision's unpacking
    names none) uses Python's ``data`` filter: no member may land outside the target folder, be a device,
    or link outside it. Where the Python version has no filter (before 3.8.17 / 3.9.17 / 3.10.12 / 3.11.4),
    members are checked by hand for absolute paths, ``..`` and links before anything is written."""
    import tarfile

    previous = tarfile.TarFile.extraction_filter
    if hasattr(tarfile, "data_filter"):
        tarfile.TarFile.extraction_filter = staticmethod(tarfile.data_filter)
        try:
            yield
        finally:
            tarfile.TarFile.extraction_filter = previous
        return
    original = tarfile.TarFile.extractall

    def checked(self, path=".", members=None, **kwargs):
        root = Path(path).resolve()
        for member in members or self.getmembers():
            target = (root / member.name).resolve()
            if member.issym() or member.islnk() or member.isdev() or root not in (target, *target.parents):
                raise tarfile.TarError(f"refusing to unpack {member.name!r}: it would land outside {root}")
        return original(self, path, members, **kwargs)

    tarfile.TarFile.extractall = checked
    try:
        yield
    finally:
        tarfile.TarFile.extractall = original


def _large_set(name: str, make):
    """Seed from the mirror, then let torchvision download/verify/unpack (with :func:`safe_tar_extraction`);
    a failure becomes a DownloadError."""
    import io
    import tarfile

    info = LARGE_SETS[name]
    _seed_from_mirror(name, info["archives"])
    try:
        with contextlib.redirect_stdout(io.StringIO()), safe_tar_extraction():
            return make(data_dir() / name)
    except (OSError, RuntimeError, urllib.error.URLError, tarfile.TarError) as error:
        listed = "  ".join(f"{name}/{a}" for a in info["archives"])
        raise DownloadError(
            f"Could not get {info['what']} ({info['size']}) from {info['url']}: {error}\n"
            "What to do:\n"
            f"  - this set is only for the `full` profile (a GPU machine with network); `laptop` and `smoke` "
            "train on the registry's pictures and need nothing from here;\n"
            f"  - offline? put {listed} in the mirror ({MIRROR_ENV}) or in {data_dir()}; torchvision checks "
            "their md5 before unpacking them;\n"
            "  - an md5 mismatch means a different or unfinished file: delete it and run again."
        ) from error


def places365_photos() -> list[Path]:
    """The 36,500 Places365-Standard validation photos (256x256), downloaded and md5-checked by
    ``torchvision.datasets.Places365``; their paths in a fixed order."""
    from torchvision import datasets

    dataset = _large_set("places365", lambda root: datasets.Places365(
        str(root), split="val", small=True, download=True))
    return [Path(path) for path, _ in dataset.imgs]


def dtd_textures() -> list[Path]:
    """All 5,640 photos of the Describable Textures Dataset, downloaded and md5-checked by
    ``torchvision.datasets.DTD``; their paths in a fixed order."""
    from torchvision import datasets

    def make(root):
        datasets.DTD(str(root.parent), download=True)  # torchvision keeps DTD in ROOT/dtd/
        return sorted((root / "dtd" / "images").glob("*/*.jpg"))

    return _large_set("dtd", make)
