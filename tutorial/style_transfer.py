# GENERATED from notebooks/04_neural_style_transfer.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

"""Neural style transfer (Gatys, Ecker and Bethge): a frozen VGG-19, content, style and total-variation
losses, and the optimisation of an image. Introduced in notebooks/04_neural_style_transfer.ipynb."""
from __future__ import annotations

import contextlib
import functools
import io
import socket

import torch
import torch.nn.functional as F
from torch import nn

NST_SETTINGS = {
    # image_size: shorter side of the main result; steps: L-BFGS iterations (one forward+backward each).
    # coarse_steps: evaluations at half the size first (coarse to fine; 0 switches it off).
    # side_size / side_steps: the smaller runs that compare optimisers, weights, layers and blends.
    # bench_*: `python -m tutorial bench nst` only (the plain loop's budget, and how many runs of each).
    "smoke": {"image_size": 64, "steps": 12, "coarse_steps": 6, "bench_steps": 12, "bench_repeats": 1,
              "side_size": 48, "side_steps": 6, "style_weight": 10.0, "tv_weight": 10.0, "adam_lr": 0.03, "slider_weights": (1.0, 10.0, 100.0), "show_every": 5},
    "laptop": {"image_size": 256, "steps": 60, "coarse_steps": 60, "bench_steps": 120, "bench_repeats": 3,
               "side_size": 128, "side_steps": 40, "style_weight": 10.0, "tv_weight": 10.0, "adam_lr": 0.03, "slider_weights": (1.0, 10.0, 100.0, 1000.0), "show_every": 20},
    "full": {"image_size": 512, "steps": 500, "coarse_steps": 200, "bench_steps": 500, "bench_repeats": 3,
             "side_size": 384, "side_steps": 300, "style_weight": 10.0, "tv_weight": 10.0, "adam_lr": 0.02, "slider_weights": (1.0, 10.0, 100.0, 1000.0, 10000.0),
             "show_every": 50},
}


IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# VGG-19 ("configuration E"): output channels of each 3x3 convolution, "pool" between blocks.
VGG19_CHANNELS = (64, 64, "pool", 128, 128, "pool", 256, 256, 256, 256, "pool",
                  512, 512, 512, 512, "pool", 512, 512, 512, 512, "pool")


def _vgg_layer_names() -> tuple[str, ...]:
    names, block, conv = [], 1, 1
    for channels in VGG19_CHANNELS:
        if channels == "pool":
            names.append(f"pool{block}")
            block, conv = block + 1, 1
        else:
            names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
            conv += 1
    return tuple(names)


# The paper's names in the order of torchvision's vgg19().features: VGG_LAYERS[i] is features[i].
VGG_LAYERS = _vgg_layer_names()
CONTENT_LAYERS = ("relu4_2",)
STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
VGG19_WEIGHTS_FILE = "vgg19-dcbb9e9d.pth"  # torchvision's file, in ~/.cache/torch/hub/checkpoints/
_VGG19_STATE: dict = {}


class VGGWeightsDamagedError(RuntimeError):
    """The cached pretrained VGG file is not the file it is named after. Introduced in
    notebooks/04_neural_style_transfer.ipynb."""


def check_cached_vgg19(url: str) -> None:
    """If torch's cache holds the file of ``url`` (named ``name-<sha256 prefix>.pth``), check that its sha256
    starts with that prefix; raise :class:`VGGWeightsDamagedError` naming the file if not (torch checks a hash
    only while downloading). Introduced in notebooks/04_neural_style_transfer.ipynb."""
    import os
    import re
    from pathlib import Path
    from urllib.parse import urlparse

    from tutorial.data import sha256_of

    name = os.path.basename(urlparse(url).path)
    cached = Path(torch.hub.get_dir()) / "checkpoints" / name
    match = re.search(r"-([a-f0-9]+)\.", name)
    if not cached.exists() or match is None:
        return
    if not sha256_of(cached).startswith(match.group(1)):
        raise VGGWeightsDamagedError(
            f"{cached} is damaged or incomplete: its sha256 does not start with {match.group(1)}, as its name says. "
            "Delete that file and run this cell again: the weights are then downloaded afresh (or, offline, the "
            "course continues with random weights and says so).")


def vgg19_conv_shapes() -> dict:
    """The shape of every convolution tensor of torchvision's ``vgg19().features``, by its key ("0.weight":
    (64, 3, 3, 3), "0.bias": (64,), ...): what a weights file must hold. Introduced in
    notebooks/04_neural_style_transfer.ipynb."""
    shapes, index, in_channels = {}, 0, 3
    for channels in VGG19_CHANNELS:
        if channels == "pool":
            index += 1
        else:
            shapes[f"{index}.weight"], shapes[f"{index}.bias"] = (channels, in_channels, 3, 3), (channels,)
            index, in_channels = index + 2, channels
    return shapes


def vgg19_features_from_file(path) -> dict:
    """The convolution weights of a torchvision VGG-19 file (``features.0.weight``, ...) as
    ``{"0.weight": ..., ...}``. Only tensors are unpickled (``weights_only=True``: a file cannot run code).
    Raises ``ValueError`` naming what is wrong when the file is not of that form. Introduced in
    notebooks/04_neural_style_transfer.ipynb."""
    try:
        full = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # not a torch file, truncated, or holding more than tensors
        raise ValueError(f"it cannot be read as tensors ({type(error).__name__}: {str(error)[:80]})") from None
    if not isinstance(full, dict):
        raise ValueError(f"it holds a {type(full).__name__}, not a state dict")
    state = {k[len("features."):]: v for k, v in full.items() if k.startswith("features.")}
    wrong = [f"{k} {tuple(state[k].shape) if k in state else 'missing'} (expected {shape})"
             for k, shape in vgg19_conv_shapes().items() if k not in state or tuple(state[k].shape) != shape]
    if wrong:
        raise ValueError(f"{len(wrong)} convolution tensor(s) are missing or misshapen: {', '.join(wrong[:3])}")
    return {k: v.float() for k, v in state.items()}


def vgg19_imagenet_weights(timeout: float = 10.0) -> dict | None:
    """torchvision's ImageNet VGG-19 convolution weights as ``{"0.weight": ..., ...}``, or None if unavailable.

    Looks, in order, in the course's data folder and the workshop mirror (``TUTORIAL_MIRROR``; the file
    ``weights/vgg19-dcbb9e9d.pth``, checked by its sha256 prefix and size, then by its form), then in torch's
    cache, downloading into it once. It prints ONE line saying which weights are used and from where; on
    failure, which file to put where, and returns None (random weights). A file of the wrong form is moved
    aside (``.bad``), never deleted. The result, failure included, is remembered for the session.
    Introduced in notebooks/04_neural_style_transfer.ipynb.
    """
    if "state" in _VGG19_STATE:
        return _VGG19_STATE["state"]
    from torchvision.models import VGG19_Weights

    from tutorial.data import MIRROR_ENV, data_dir, describe_size, local_file, resolve, set_aside

    asset = resolve("vgg19-imagenet")
    local = local_file(asset.name)  # the data folder or the mirror, verified; never the network
    if local is not None:
        try:
            state = vgg19_features_from_file(local)
            print(f"using torchvision's ImageNet VGG-19 weights from {local} (sha256 prefix, size and form checked)")
            _VGG19_STATE["state"] = state
            return state
        except ValueError as error:
            print(f"{local} is not a VGG-19 weights file: {error}; moved it to {set_aside(local).name}")
    check_cached_vgg19(VGG19_Weights.IMAGENET1K_V1.url)  # a damaged cached file stops here, with what to do
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)  # a firewall that drops packets must not hang the notebook
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            # the download's sha256 is checked against the file name's hash, and only tensors are unpickled
            full = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=False, check_hash=True, weights_only=True)
        state = {k[len("features."):]: v for k, v in full.items() if k.startswith("features.")}
        cache = f"{torch.hub.get_dir()}/checkpoints/{VGG19_WEIGHTS_FILE}"
        print(f"using torchvision's ImageNet VGG-19 weights from {cache}"
              + (" (downloaded now)" if captured.getvalue().strip() else ""))
    except Exception as error:
        reason = str(getattr(error, "reason", None) or error).strip().splitlines()
        print(f"pretrained VGG-19 weights could not be had ({type(error).__name__}: "
              f"{reason[0][:80] if reason else 'no detail'}); continuing with random weights (results show what "
              f"random features capture). To use the real ones offline, put {VGG19_WEIGHTS_FILE} "
              f"({describe_size(asset)}, from {asset.urls[0]}) at {data_dir() / asset.path}, or in a mirror as "
              f"{asset.path} with {MIRROR_ENV} set (a teacher: `python -m tutorial mirror DIR`), then restart")
        state = None
    finally:
        socket.setdefaulttimeout(previous)
    _VGG19_STATE["state"] = state
    return state


def init_random_vgg(layers: nn.Module, seed: int = 0) -> None:
    """Random VGG filters for feature extraction without training. Every filter has norm sqrt(2) (He
    scaling: activations keep their size through ReLUs) and biases are zero. The first layer's filters are
    plain Gaussian (they see colour and brightness); deeper filters have zero mean (they see contrasts
    between feature maps, not their level). Seeded: every run gets the same "random" network.
    Introduced in notebooks/04_neural_style_transfer.ipynb."""
    generator = torch.Generator().manual_seed(seed)
    convolutions = [m for m in layers.modules() if isinstance(m, nn.Conv2d)]
    for index, module in enumerate(convolutions):
        weight = torch.randn(module.weight.shape, generator=generator)
        if index > 0:
            weight = weight - weight.mean(dim=(1, 2, 3), keepdim=True)
        weight = weight / weight.flatten(1).norm(dim=1).view(-1, 1, 1, 1) * 2.0 ** 0.5
        with torch.no_grad():
            module.weight.copy_(weight)
            module.bias.zero_()


@functools.lru_cache(maxsize=1)
def cpu_has_native_bfloat16() -> bool:
    """True on a CPU with bfloat16 instructions (AVX512-BF16 or AMX, read from /proc/cpuinfo on Linux). There
    oneDNN convolves bfloat16 much faster than float32; on other CPUs bfloat16 is emulated, and slower."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = f.read()
    except OSError:
        return False
    return " avx512_bf16" in flags or " amx_bf16" in flags


class VGGFeatures(nn.Module):
    """A frozen VGG-19 feature extractor: normalises [0, 1] RGB input, stops at ``last_layer`` and returns the
    activations of the layers asked for, by name (``{"relu4_2": tensor, ...}``).

    ``pool``: "max" (as trained) or "avg" (Gatys et al.). ``padding_mode``: "zeros" (as trained) or "reflect".
    ``weights``: a state dict keyed like torchvision's ``vgg19().features`` ("0.weight", ...); None draws
    random weights (:func:`init_random_vgg`). ``self.pretrained`` says which.
    ``precision``: "float32", "bfloat16" (the convolutions under autocast; the returned maps are float32, so
    every loss is computed in float32) or "auto": bfloat16 on a CPU with bfloat16 instructions, else float32.
    ``channels_last``: keep weights and activations channels-last (NHWC), the layout oneDNN and cuDNN
    convolve fastest.
    Introduced in notebooks/04_neural_style_transfer.ipynb.
    """

    def __init__(self, last_layer: str = "relu5_1", pool: str = "avg", padding_mode: str = "zeros",
                 weights: dict | None = None, seed: int = 0, precision: str = "float32", channels_last: bool = True):
        super().__init__()
        if precision not in ("auto", "float32", "bfloat16"):
            raise ValueError(f"precision must be 'auto', 'float32' or 'bfloat16', not {precision!r}")
        self.precision, self.channels_last = precision, channels_last
        if last_layer not in VGG_LAYERS:
            raise ValueError(f"unknown layer {last_layer!r}; VGG-19 has {', '.join(VGG_LAYERS)}")
        if pool not in ("max", "avg"):
            raise ValueError(f"pool must be 'max' or 'avg', not {pool!r}")
        modules, in_channels = [], 3
        for channels in VGG19_CHANNELS:
            if channels == "pool":
                modules.append(nn.MaxPool2d(2, 2) if pool == "max" else nn.AvgPool2d(2, 2))
            else:
                modules += [nn.Conv2d(in_channels, channels, 3, padding=1, padding_mode=padding_mode),
                            nn.ReLU()]  # not inplace: a conv output we return must not be overwritten
                in_channels = channels
        last = VGG_LAYERS.index(last_layer)
        self.layers = nn.Sequential(*modules[: last + 1])  # same indices as torchvision's vgg19().features
        self.names = VGG_LAYERS[: last + 1]
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        if weights is None:
            init_random_vgg(self.layers, seed)
        else:
            self.layers.load_state_dict({k: v for k, v in weights.items() if int(k.split(".")[0]) <= last})
        self.pretrained = weights is not None
        if channels_last:
            self.layers.to(memory_format=torch.channels_last)
        self.requires_grad_(False)
        self.eval()

    def compute_dtype(self, device: torch.device) -> torch.dtype:
        """The dtype the convolutions run in on ``device`` (see ``precision``)."""
        if self.precision == "auto":
            return torch.bfloat16 if device.type == "cpu" and cpu_has_native_bfloat16() else torch.float32
        return torch.bfloat16 if self.precision == "bfloat16" else torch.float32

    def forward(self, image: torch.Tensor, layers=STYLE_LAYERS) -> dict[str, torch.Tensor]:
        unknown = [n for n in layers if n not in self.names]
        if unknown:
            raise ValueError(f"layers {unknown} are not in this network (it stops at {self.names[-1]})")
        if not layers:
            return {}
        wanted, stop = set(layers), max(self.names.index(n) for n in layers)
        x = (image - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        low = self.compute_dtype(x.device) == torch.bfloat16
        found = {}
        with torch.autocast(x.device.type, dtype=torch.bfloat16) if low else contextlib.nullcontext():
            for index, module in enumerate(self.layers[: stop + 1]):
                x = module(x)
                if self.names[index] in wanted:
                    found[self.names[index]] = x
        return {name: f.float() for name, f in found.items()}  # losses in float32 whatever the convolutions ran in


def load_vgg19(pretrained: bool = True, last_layer: str = "relu5_1", pool: str = "avg",
               padding_mode: str = "zeros", precision: str = "float32") -> VGGFeatures:
    """A frozen :class:`VGGFeatures` with torchvision's ImageNet weights, or random ones if those cannot be had
    (one printed line says so) or ``pretrained=False``. Introduced in notebooks/04_neural_style_transfer.ipynb."""
    weights = vgg19_imagenet_weights() if pretrained else None
    return VGGFeatures(last_layer, pool, padding_mode, weights, precision=precision)


def content_loss(features: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared difference of feature maps ``[B, C, H, W]``: (1 / N M) sum_ij (F_ij - P_ij)^2.
    Introduced in notebooks/04_neural_style_transfer.ipynb."""
    return F.mse_loss(features, target.expand_as(features))


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrices ``[B, C, C]`` of feature maps ``[B, C, H, W]``, averaged over the H*W positions:
    G = F F^T / (H W). Introduced in notebooks/04_neural_style_transfer.ipynb."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (h * w)


def style_loss(features: dict, target_grams: dict, weights: dict | None = None) -> torch.Tensor:
    """sum_l w_l * mean_ij (G^l_ij - A^l_ij)^2 over the layers named in ``target_grams``.

    ``features``: layer name -> feature maps ``[B, C, H, W]`` of the image being optimised;
    ``target_grams``: layer name -> Gram matrix ``[1, C, C]`` (or ``[B, C, C]``) of the style;
    ``weights``: layer name -> w_l (default 1 for every layer).
    Introduced in notebooks/04_neural_style_transfer.ipynb."""
    total = 0.0
    for name, target in target_grams.items():
        gram = gram_matrix(features[name])
        weight = 1.0 if weights is None else weights[name]
        total = total + weight * F.mse_loss(gram, target.expand_as(gram))
    return total


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Squared total variation of images ``[..., H, W]``: mean squared difference of vertical neighbours
    plus that of horizontal neighbours. Introduced in notebooks/04_neural_style_transfer.ipynb."""
    vertical = image[..., 1:, :] - image[..., :-1, :]
    horizontal = image[..., :, 1:] - image[..., :, :-1]
    return vertical.pow(2).mean() + horizontal.pow(2).mean()


class StyleTransferObjective:
    """The Gatys loss for one photo and one or more paintings: call it on an image batch ``[1, 3, H, W]`` to get
    ``{"total", "content", "style", "tv"}``.

    ``style_blend``: one weight per painting (default equal), used to blend their Gram matrices. Each layer's
    term is divided by the mean square of its target, so ``style_weight`` is a ratio that does not depend on
    the network's scale. Introduced in notebooks/04_neural_style_transfer.ipynb.
    """

    def __init__(self, vgg: VGGFeatures, content: torch.Tensor, styles, style_weight: float = 10.0,
                 tv_weight: float = 0.0, content_layers=CONTENT_LAYERS, style_layers=STYLE_LAYERS,
                 style_blend=None):
        styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
        blend = list(style_blend) if style_blend is not None else [1.0 / len(styles)] * len(styles)
        if len(blend) != len(styles):
            raise ValueError(f"{len(styles)} style image(s) but {len(blend)} blend weight(s)")
        self.vgg, self.style_weight, self.tv_weight = vgg, style_weight, tv_weight
        self.size, self._images = tuple(content.shape[-2:]), (content, styles, blend)
        self.content_layers, self.style_layers = tuple(content_layers), tuple(style_layers)
        with torch.no_grad():
            self.content_targets = vgg(content[None], self.content_layers)
            self.style_targets = {name: 0.0 for name in self.style_layers}
            for image, weight in zip(styles, blend):
                grams = vgg(image[None], self.style_layers)
                for name in self.style_layers:
                    self.style_targets[name] = self.style_targets[name] + weight * gram_matrix(grams[name])
        self.content_weights = {n: 1.0 / (len(self.content_layers) * t.pow(2).mean().item() + 1e-12)
                                for n, t in self.content_targets.items()}
        self.style_weights = {n: 1.0 / (len(self.style_layers) * t.pow(2).mean().item() + 1e-12)
                              for n, t in self.style_targets.items()}

    def resized(self, scale: float) -> "StyleTransferObjective":
        """The same objective for the photo and the paintings resized by ``scale``, its targets and weights
        computed anew at that size: the coarse stage of coarse-to-fine optimisation."""
        def resize(image):
            return F.interpolate(image[None], scale_factor=scale, mode="bilinear", antialias=True,
                                 align_corners=False)[0]

        content, styles, blend = self._images
        return StyleTransferObjective(self.vgg, resize(content), [resize(s) for s in styles], self.style_weight,
                                      self.tv_weight, self.content_layers, self.style_layers, blend)

    def __call__(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        features = self.vgg(image, tuple(dict.fromkeys(self.content_layers + self.style_layers)))
        content = sum(self.content_weights[n] * content_loss(features[n], t)
                      for n, t in self.content_targets.items())
        style = style_loss(features, self.style_targets, self.style_weights)
        tv = total_variation(image)
        total = content + self.style_weight * style + self.tv_weight * tv
        return {"total": total, "content": content, "style": style, "tv": tv}


class _BudgetSpent(Exception):
    """Raised inside the closure once the evaluation budget is used, to stop L-BFGS mid-line-search."""


def optimise_image(objective, init: torch.Tensor, steps: int, optimizer: str = "lbfgs", lr: float | None = None,
                   callback=None, bar: bool = True, line_search: str | None = "strong_wolfe",
                   coarse_steps: int = 0, coarse_scale: float = 0.5) -> tuple[torch.Tensor, list[dict]]:
    """Minimise ``objective(image)["total"]`` over the pixels of ``image``, starting at ``init`` ``[3, H, W]``.

    ``optimizer``: "lbfgs" (lr 1, history 50, with a strong-Wolfe ``line_search``; None takes each step
    as proposed) or "adam" (lr 0.03 by default). ``steps`` counts evaluations (one forward and backward
    pass each) for both, exactly: a line search cut short by the budget ends the run.
    ``coarse_steps`` > 0 first optimises at ``coarse_scale`` times the size (``objective.resized``, about
    ``coarse_scale**2`` of the cost per evaluation), then upsamples that result as the start.
    ``callback(step, image, losses)`` runs after each full-size evaluation.
    Returns the evaluated image with the lowest total loss ``[3, H, W]`` in [0, 1] and one dict of float
    losses per full-size evaluation. Introduced in notebooks/04_neural_style_transfer.ipynb.
    """
    from tutorial import check_finite, progress

    if coarse_steps > 0:
        small = objective.resized(coarse_scale)
        start = F.interpolate(init[None], size=small.size, mode="bilinear", antialias=True, align_corners=False)
        rough, _ = optimise_image(small, start[0], coarse_steps, optimizer, lr, bar=bar, line_search=line_search)
        init = F.interpolate(rough[None], size=init.shape[-2:], mode="bilinear", align_corners=False)[0]
    image = init.detach().clone()[None].requires_grad_(True)
    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS([image], lr=lr or 1.0, max_iter=steps, max_eval=steps, history_size=50,
                                tolerance_grad=0.0, tolerance_change=0.0, line_search_fn=line_search)
    elif optimizer == "adam":
        opt = torch.optim.Adam([image], lr=lr or 0.03)
    else:
        raise ValueError(f"optimizer must be 'lbfgs' or 'adam', not {optimizer!r}")
    records: list[dict] = []
    best = {"total": float("inf"), "image": image.detach()[0].clamp(0, 1)}
    pbar = progress(total=steps, desc=f"{optimizer} {'x'.join(map(str, init.shape[-2:]))}", leave=False,
                    disable=not bar)

    def closure():
        if len(records) >= steps:
            raise _BudgetSpent
        with torch.no_grad():
            image.clamp_(0, 1)  # keep pixels valid (projected optimisation)
        opt.zero_grad()
        losses = objective(image)
        losses["total"].backward()
        records.append({k: check_finite(v, len(records), what=f"{k} loss") for k, v in losses.items()})
        if records[-1]["total"] < best["total"]:  # a line search also evaluates trial points: keep the best
            best.update(total=records[-1]["total"], image=image.detach()[0].clone())
        pbar.update(1)
        if callback is not None:
            callback(len(records), image.detach()[0], records[-1])
        return losses["total"]

    try:
        if optimizer == "lbfgs":
            while len(records) < steps:  # LBFGS stops early if it converges; restart it until steps are used
                before = len(records)
                opt.step(closure)
                if len(records) == before + 1:  # converged at once: nothing left to gain
                    break
        else:
            for _ in range(steps):
                closure()
                opt.step()
    except _BudgetSpent:
        pass
    pbar.close()
    return best["image"], records


_RGB_TO_YIQ = ((0.299, 0.587, 0.114), (0.5959, -0.2746, -0.3213), (0.2115, -0.5227, 0.3112))


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """RGB images ``[..., 3, H, W]`` to YIQ: Y is luminance, I and Q colour. Introduced in
    notebooks/04_neural_style_transfer.ipynb."""
    matrix = torch.tensor(_RGB_TO_YIQ, dtype=image.dtype, device=image.device)
    return torch.einsum("ij,...jhw->...ihw", matrix, image)


def yiq_to_rgb(yiq: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`rgb_to_yiq` (not clamped). Introduced in notebooks/04_neural_style_transfer.ipynb."""
    matrix = torch.linalg.inv(torch.tensor(_RGB_TO_YIQ, dtype=torch.float64)).to(yiq.dtype).to(yiq.device)
    return torch.einsum("ij,...jhw->...ihw", matrix, yiq)


def luminance_image(image: torch.Tensor, match: torch.Tensor | None = None) -> torch.Tensor:
    """The luminance Y of ``image`` as a grey RGB image (Y in all three channels). With ``match``, Y is first
    shifted and scaled to the mean and standard deviation of ``match``'s luminance.
    Introduced in notebooks/04_neural_style_transfer.ipynb."""
    y = rgb_to_yiq(image)[..., :1, :, :]
    if match is not None:
        ref = rgb_to_yiq(match)[..., :1, :, :]
        y = (y - y.mean()) / (y.std() + 1e-8) * ref.std() + ref.mean()
    return y.clamp(0, 1).expand(*y.shape[:-3], 3, *y.shape[-2:]).contiguous()


def match_colour_histogram(image: torch.Tensor, reference: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """``image`` ``[3, H, W]`` recoloured so that its RGB pixels have the mean and covariance of ``reference``'s
    (``[3, H', W']``, any size): the linear map x' = A x + b with b = mu_ref - A mu and A = C_ref^(1/2) C^(-1/2)
    (symmetric square roots: the Image Analogies form of Gatys et al.'s colour histogram matching), clamped
    to [0, 1]. Computed in float64 on the CPU. Introduced in notebooks/04_neural_style_transfer.ipynb."""

    def statistics(picture):  # pixels [3, N], their mean [3, 1], and the covariance's eigenvalues and vectors
        pixels = picture.detach().reshape(3, -1).cpu().double()
        mean = pixels.mean(dim=1, keepdim=True)
        centred = pixels - mean
        covariance = centred @ centred.T / pixels.shape[1] + eps * torch.eye(3, dtype=torch.float64)
        values, vectors = torch.linalg.eigh(covariance)
        return pixels, mean, values, vectors

    pixels, mean, values, vectors = statistics(image)
    _, ref_mean, ref_values, ref_vectors = statistics(reference)
    inverse_root = vectors @ torch.diag(values.rsqrt()) @ vectors.T          # C^(-1/2)
    ref_root = ref_vectors @ torch.diag(ref_values.sqrt()) @ ref_vectors.T   # C_ref^(1/2)
    matched = ref_root @ inverse_root @ (pixels - mean) + ref_mean
    return matched.reshape(image.shape).to(image.device, image.dtype).clamp(0, 1)


def keep_colours(stylised: torch.Tensor, photo: torch.Tensor) -> torch.Tensor:
    """The luminance of ``stylised`` with the colour (I, Q) of ``photo``, same size. Introduced in
    notebooks/04_neural_style_transfer.ipynb."""
    yiq = rgb_to_yiq(photo).clone()
    yiq[..., :1, :, :] = rgb_to_yiq(stylised)[..., :1, :, :]
    return yiq_to_rgb(yiq).clamp(0, 1)
