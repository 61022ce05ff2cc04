"""Images in and out: one loader for any image a learner brings, and headless-safe display of tensors.

:func:`load_image` turns JPEG, PNG, WebP, grayscale, palette, RGBA, CMYK, 16-bit and EXIF-rotated files into
an RGB float tensor ``[3, H, W]`` in ``[0, 1]``. A file it cannot use (missing, empty, truncated, not an
image, absurdly large) raises :class:`ImageLoadError` with a message that names the file and says what to do.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PIXELS = 100_000_000  # 100 megapixels: ~10,000 x 10,000. Anything bigger is almost surely a mistake.


class ImageLoadError(ValueError):
    """An image file could not be used. The message names the file and the fix."""


def _to_array(img: Image.Image) -> np.ndarray:
    """An ``H x W x 3`` float array in [0, 1] from any PIL mode, keeping 16-bit and float precision."""
    if img.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        array = np.asarray(img, dtype=np.float64)
        if img.mode == "F":
            lo, hi = float(array.min()), float(array.max())
            array = (array - lo) / (hi - lo) if hi > lo else np.zeros_like(array)
        else:
            top = 65535.0 if img.mode.startswith("I;16") or array.max() > 255 else 255.0
            array = np.clip(array / top, 0.0, 1.0)
        return np.repeat(array[..., None], 3, axis=2)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent pixels have no colour of their own: show them over white, as a viewer does.
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return np.asarray(img.convert("RGB"), dtype=np.float64) / 255.0


def load_image(source, size=None, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """Load an image file (or a registry asset name such as ``"starry_night"``) as an RGB tensor.

    ``size``: None keeps the file's size; an int makes the *shorter* side that long (aspect ratio kept);
    ``(height, width)`` resizes to exactly that. Returns a float tensor ``[3, H, W]`` in ``[0, 1]``.
    """
    path = Path(source)
    if not path.exists() and isinstance(source, str) and os.sep not in source and "." not in source:
        from .data import fetch  # an asset name: fetch it (checked, mirror-aware)

        path = fetch(source, quiet=True)
    if not path.exists():
        raise ImageLoadError(f"{path}: no such file. Check the path (relative paths start at {Path.cwd()}).")
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image file.")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"{path} is empty (0 bytes): the copy or download did not finish. Copy it again.")
    pillow_limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = max_pixels  # Pillow's own guard follows ours (it refuses at twice this, before we can look)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our check below says what to do
            with Image.open(path) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise ImageLoadError(
                        f"{path} is {width} x {height} pixels ({width * height / 1e6:.3g} MP), over the limit of "
                        f"{max_pixels / 1e6:.3g} MP. Shrink it first (any image editor), or pass a larger max_pixels."
                    )
                img.load()  # decode now, so a truncated file fails here and not later
                img = ImageOps.exif_transpose(img)  # phones store rotation in EXIF
                array = _to_array(img)
    except ImageLoadError:
        raise
    except UnidentifiedImageError:
        raise ImageLoadError(
            f"{path} is not an image PIL can read (or not an image at all). Use a JPEG, PNG or WebP file."
        ) from None
    except Image.DecompressionBombError as error:
        raise ImageLoadError(
            f"{path} has more than twice the limit of {max_pixels / 1e6:.3g} MP ({error}). Shrink it first (any "
            "image editor), or pass a larger max_pixels."
        ) from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageLoadError(
            f"{path} is damaged or truncated ({error}). Download or export it again."
        ) from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillow_limit
    tensor = torch.from_numpy(array).permute(2, 0, 1).float().contiguous()
    if size is not None:
        from torchvision.transforms import functional as TF

        tensor = TF.resize(tensor, size if isinstance(size, int) else list(size), antialias=True).clamp(0, 1)
    return tensor


class ImageFiles(Sequence):
    """A list of pictures (files or registry names) read with :func:`load_image` (shorter side ``size``) when
    indexed, for sets too large to hold in memory. A file that cannot be read is reported once and skipped
    (the next one is used in its place), so one bad image in 36,500 does not stop a long training run.
    ``keep=True`` loads and keeps them all up front, for small sets: then a bad file raises at once."""

    def __init__(self, sources, size=None, keep: bool = False):
        self.sources, self.size, self.bad = list(sources), size, set()
        if not self.sources:
            raise ImageLoadError("ImageFiles got an empty list of pictures: check the folder or download.")
        self._kept = [load_image(s, size) for s in self.sources] if keep else None

    def __len__(self) -> int:
        return len(self.sources)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if self._kept is not None:
            return self._kept[index]
        index = range(len(self))[index]  # negative indices, IndexError past the end
        for offset in range(len(self)):
            i = (index + offset) % len(self)
            if i in self.bad:
                continue
            try:
                return load_image(self.sources[i], self.size)
            except ImageLoadError as error:
                self.bad.add(i)
                warnings.warn(f"skipping an unreadable training image: {error}", stacklevel=2)
        raise ImageLoadError(f"none of the {len(self)} pictures could be read (first: {self.sources[0]}).")


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover
        return False
    return shell is not None and "IPKernelApp" in shell.config


def _as_image(tensor: torch.Tensor) -> np.ndarray:
    t = tensor.detach().float().cpu()
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError(f"got a batch of {t.shape[0]} images: use show_grid for several")
        t = t[0]
    if t.dim() == 2:
        t = t[None]
    if t.shape[0] == 1:
        t = t.expand(3, -1, -1)
    return t.clamp(0, 1).permute(1, 2, 0).numpy()


def _finish(fig, save: str | os.PathLike | None):
    import matplotlib.pyplot as plt

    if save:
        fig.savefig(save, bbox_inches="tight")
    if _in_notebook():
        plt.show()
    else:
        plt.close(fig)  # headless: nothing to show; the caller may still have saved it
    return fig


def show_images(images, titles=None, ncols: int | None = None, size: float = 3.0, save=None, suptitle=None):
    """Show one image or a list of images (tensors ``[C,H,W]`` in [0, 1]) side by side, with titles."""
    import matplotlib.pyplot as plt

    images = list(images) if isinstance(images, (list, tuple)) else [images]
    titles = list(titles) if titles is not None else [None] * len(images)
    ncols = ncols or len(images)
    nrows = (len(images) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, title in zip(axes.flat, images, titles):
        ax.imshow(_as_image(image))
        if title:
            ax.set_title(title, fontsize=9)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return _finish(fig, save)


def show_grid(batch: torch.Tensor, nrow: int = 8, title: str | None = None, size: float = 6.0,
              value_range=(0.0, 1.0), save=None):
    """Show a batch ``[N, C, H, W]`` as one grid (torchvision's ``make_grid``).

    ``value_range`` is what black and white are: ``(0, 1)`` for images, ``(-1, 1)`` for tanh outputs.
    """
    from torchvision.utils import make_grid

    lo, hi = value_range
    batch = (batch.detach().float().cpu() - lo) / (hi - lo)
    grid = make_grid(batch.clamp(0, 1), nrow=nrow, padding=2, pad_value=1.0)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(size, size * grid.shape[1] / grid.shape[2]))
    ax.imshow(_as_image(grid))
    ax.axis("off")
    if title:
        ax.set_title(title)
    return _finish(fig, save)
