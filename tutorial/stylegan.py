# GENERATED from notebooks/09_stylegan.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

STYLEGAN_SETTINGS = {
    "smoke": {  # seconds: CI runs the whole notebook in this profile; results are not meaningful
        "fashion": False, "train_limit": 512, "batch_size": 16, "nz": 32, "w_dim": 32, "mapping_layers": 2,
        "mapping_lr": 1.0, "channels": [16, 16, 8, 8], "phase_images": 128, "final_images": 128, "clusters": 10,
        "lr": 1e-3, "beta1": 0.0, "beta2": 0.99, "gp_weight": 10.0, "drift": 1e-3, "ema_decay": 0.9,
        "mbstd_group": 4, "mixing_prob": 0.9, "w_avg_beta": 0.995, "n_judge": 500,
        "psi_values": [0.5, 0.7, 0.85, 1.0], "path_pairs": 100, "live_every": 4,
    },
    "laptop": {  # under ten minutes of training on 2 CPU cores (the README's table has the measured time)
        "fashion": False, "train_limit": None, "batch_size": 32, "nz": 64, "w_dim": 64, "mapping_layers": 4,
        "mapping_lr": 1.0, "channels": [64, 32, 16, 8], "phase_images": 22000, "final_images": 22000,
        "clusters": 50, "lr": 2e-3, "beta1": 0.0, "beta2": 0.99, "gp_weight": 10.0, "drift": 1e-3,
        "ema_decay": 0.99, "mbstd_group": 4, "mixing_prob": 0.9, "w_avg_beta": 0.995, "n_judge": 10000,
        "psi_values": [0.5, 0.7, 0.85, 1.0], "path_pairs": 2000, "live_every": 100,
    },
    "full": {  # one GPU
        "fashion": False, "train_limit": None, "batch_size": 64, "nz": 128, "w_dim": 128, "mapping_layers": 8,
        "mapping_lr": 0.01, "channels": [256, 256, 128, 64], "phase_images": 300000, "final_images": 300000,
        "clusters": 50, "lr": 1e-3, "beta1": 0.0, "beta2": 0.99, "gp_weight": 10.0, "drift": 1e-3,
        "ema_decay": 0.999, "mbstd_group": 4, "mixing_prob": 0.9, "w_avg_beta": 0.995, "n_judge": 10000,
        "psi_values": [0.5, 0.7, 0.85, 1.0], "path_pairs": 10000, "live_every": 100,
    },
}


import torch
import torch.nn as nn
import torch.nn.functional as F

from tutorial.progan import EqualizedLinear, pixel_norm


class MappingNetwork(nn.Module):
    """StyleGAN's mapping network ``z -> w``: :func:`pixel_norm` of ``z`` (with clusters > 0, joined by the
    pixel-normalised learned embedding of the one-hot cluster, as the official conditional StyleGAN2-ADA
    code does), then ``layers`` equalised dense layers of width ``w_dim`` with leaky ReLU (slope 0.2), each
    learning ``lr_multiplier`` times as fast as the rest. Introduced in notebooks/09_stylegan.ipynb."""

    def __init__(self, nz=64, w_dim=64, layers=8, lr_multiplier=0.01, clusters=0):
        super().__init__()
        self.clusters = clusters
        self.embed = EqualizedLinear(clusters, nz, gain=1) if clusters else None  # at the full learning rate
        dims = [nz * (2 if clusters else 1)] + [w_dim] * layers
        self.net = nn.Sequential(*[m for d_in, d_out in zip(dims[:-1], dims[1:])
                                   for m in (EqualizedLinear(d_in, d_out, lr_multiplier=lr_multiplier), nn.LeakyReLU(0.2))])

    def forward(self, z, clusters=None):
        h = pixel_norm(z)
        if self.clusters:
            if clusters is None:
                raise ValueError(f"this mapping network has {self.clusters} clusters: pass one per sample")
            code = F.one_hot(clusters, self.clusters).float() if clusters.dtype == torch.long else clusters
            h = torch.cat([h, pixel_norm(self.embed(code))], dim=1)  # the cluster as loud as z
        return self.net(h)


import torch
import torch.nn as nn

from tutorial.adain import adain_with_statistics
from tutorial.progan import EqualizedLinear


class StyleAffine(nn.Module):
    """The learned affine map ``A`` from ``w`` ``[N, w_dim]`` to a style: ``(scale, bias)``, each
    ``[N, channels, 1, 1]``, ``scale = 1 + (A w + b)[:C]``, ``bias = (A w + b)[C:]`` (equalised, gain 1).
    Introduced in notebooks/09_stylegan.ipynb."""

    def __init__(self, w_dim, channels):
        super().__init__()
        self.affine = EqualizedLinear(w_dim, 2 * channels, gain=1)

    def forward(self, w):
        scale, bias = self.affine(w)[:, :, None, None].chunk(2, dim=1)
        return 1 + scale, bias


def style_features(x, w, affine):
    """Apply the style ``affine(w)`` to features ``x`` ``[N, C, H, W]`` by notebook 05's AdaIN:
    ``scale * (x - mu(x)) / sigma(x) + bias`` per sample and channel. Introduced in notebooks/09_stylegan.ipynb."""
    scale, bias = affine(w)
    return adain_with_statistics(x, bias, scale)


import torch
import torch.nn as nn
import torch.nn.functional as F

from tutorial.progan import EqualizedConv2d, upsample


class NoiseInput(nn.Module):
    """Add per-pixel noise ``[N, 1, H, W]`` (fresh ``N(0, 1)`` unless ``noise`` is given) to features
    ``[N, C, H, W]``, scaled per channel by learned weights initialised to 0. Introduced in notebooks/09_stylegan.ipynb."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(channels))

    def forward(self, x, noise=None):
        if noise is None:
            noise = torch.randn(len(x), 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        return x + self.weight.view(1, -1, 1, 1) * noise


class StyleLayer(nn.Module):
    """One layer of the synthesis network: [nearest-neighbour upsampling] -> [3x3 equalised convolution] ->
    noise -> bias -> leaky ReLU (0.2) -> AdaIN with the style ``A w``. ``forward(x, w, noise=None)``.
    Introduced in notebooks/09_stylegan.ipynb."""

    def __init__(self, c_in, c_out, w_dim, upsample=False, conv=True):
        super().__init__()
        self.upsample = upsample
        self.conv = EqualizedConv2d(c_in, c_out, 3, padding=1, bias=False) if conv else None
        self.noise = NoiseInput(c_out)
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.style = StyleAffine(w_dim, c_out)

    def forward(self, x, w, noise=None):
        if self.upsample:
            x = upsample(x)
        if self.conv is not None:
            x = self.conv(x)
        x = F.leaky_relu(self.noise(x, noise) + self.bias.view(1, -1, 1, 1), 0.2)
        return style_features(x, w, self.style)

    def extra_repr(self):
        return f"upsample={self.upsample}"


import math

import torch
import torch.nn as nn

from tutorial.progan import EqualizedConv2d, fade_in, upsample


def mix_styles(w1, w2, num_layers, crossover):
    """Per-layer styles ``[N, num_layers, w_dim]``: ``w1`` ``[N, w_dim]`` for layers ``0 .. crossover - 1``,
    ``w2`` for layers ``crossover .. num_layers - 1``. Introduced in notebooks/09_stylegan.ipynb."""
    first = torch.arange(num_layers, device=w1.device).view(1, -1, 1) < crossover
    return torch.where(first, w1[:, None], w2[:, None])


def truncate(ws, w_avg, psi, layers=None):
    """The truncation trick: ``w_avg + psi * (w - w_avg)`` for the styles ``ws`` ``[N, L, w_dim]`` of the
    first ``layers`` layers (default: all), the others unchanged. Introduced in notebooks/09_stylegan.ipynb."""
    truncated = w_avg + psi * (ws - w_avg)
    if layers is None:
        return truncated
    first = torch.arange(ws.shape[1], device=ws.device).view(1, -1, 1) < layers
    return torch.where(first, truncated, ws)


def style_generator_parts(generator, nz, w_dim, channels, mapping_layers, mapping_lr, clusters, mixing_prob,
                          w_avg_beta):
    """What every style-based generator of the course has, set on ``generator``: its sizes, the buffers
    ``cluster_weights`` and ``w_avg``, the :class:`MappingNetwork` and the learned constant 4x4 input
    ``const`` (drawn from N(0, 1): StyleGAN2's initialisation; StyleGAN's was ones). Notebook 10's StyleGAN2
    is built on it too. Introduced in notebooks/09_stylegan.ipynb."""
    generator.nz, generator.w_dim, generator.clusters, generator.channels = nz, w_dim, clusters, list(channels)
    generator.mixing_prob, generator.w_avg_beta = mixing_prob, w_avg_beta
    generator.register_buffer("cluster_weights", torch.full((max(clusters, 1),), 1.0 / max(clusters, 1)))
    generator.register_buffer("w_avg", torch.zeros(w_dim))
    generator.mapping = MappingNetwork(nz, w_dim, mapping_layers, mapping_lr, clusters)
    generator.const = nn.Parameter(torch.randn(1, channels[0], 4, 4))


def mapped_styles(generator, z, clusters, used, psi=1.0):
    """The per-layer styles ``[N, num_styles, w_dim]`` for ``z``: ``w = mapping(z, clusters)`` in every layer.
    In training mode the running average ``w_avg`` moves towards the batch's mean ``w``, and with probability
    ``mixing_prob`` a second latent's ``w`` takes over from a crossover drawn in ``1 .. used - 1`` (``used``:
    the style layers this draw uses). ``psi`` < 1 truncates towards ``w_avg``. Introduced in notebooks/09_stylegan.ipynb."""
    w = generator.mapping(z, clusters)
    ws = generator.styles(w)
    if generator.training:
        with torch.no_grad():
            generator.w_avg.lerp_(w.mean(0), 1.0 - generator.w_avg_beta)
        if generator.mixing_prob > 0 and float(torch.rand(())) < generator.mixing_prob:
            crossover = int(torch.randint(1, used, ()))
            ws = mix_styles(w, generator.mapping(torch.randn_like(z), clusters), generator.num_styles, crossover)
    if psi != 1:
        ws = truncate(ws, generator.w_avg, psi)
    return ws


class StyleGANGenerator(nn.Module):
    """StyleGAN generator (Karras et al., 2019) for ``4 * 2**(len(channels) - 1)`` pixels: a
    :class:`MappingNetwork` ``z -> w``, a learned constant 4x4 input, two :class:`StyleLayer` per
    resolution (``num_styles`` = 2 * levels styles), notebook 08's toRGB layers and fade-in.

    ``forward(z, clusters=None, level=None, alpha=1.0, psi=1.0, noise=None)`` has :class:`ProGANGenerator`'s
    interface (so notebook 08's ``train_progan`` trains it). In training mode it mixes two latents with
    probability ``mixing_prob`` and updates the running average ``w_avg`` (decay ``w_avg_beta``); ``psi`` < 1
    truncates towards ``w_avg``. ``synthesis(ws, level, alpha, noise)`` draws from per-layer styles ``ws``
    ``[N, num_styles, w_dim]``; ``noise`` is a list of ``[N, 1, H, W]``, one per layer used (default: fresh).
    Introduced in notebooks/09_stylegan.ipynb.
    """

    def __init__(self, nz=64, w_dim=64, channels=(64, 64, 32, 16), mapping_layers=8, mapping_lr=0.01,
                 image_channels=1, clusters=0, mixing_prob=0.9, w_avg_beta=0.995):
        super().__init__()
        style_generator_parts(self, nz, w_dim, channels, mapping_layers, mapping_lr, clusters, mixing_prob, w_avg_beta)
        c0 = channels[0]
        layers = [StyleLayer(c0, c0, w_dim, conv=False), StyleLayer(c0, c0, w_dim)]
        for c_prev, c in zip(channels[:-1], channels[1:]):
            layers += [StyleLayer(c_prev, c, w_dim, upsample=True), StyleLayer(c, c, w_dim)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = nn.ModuleList([EqualizedConv2d(c, image_channels, 1, gain=1) for c in channels])

    @property
    def levels(self):
        return len(self.channels)

    @property
    def num_styles(self):
        return len(self.layers)

    def noise_shapes(self, level=None):
        """The shape ``(1, H, W)`` of each used layer's noise image."""
        level = self.levels - 1 if level is None else level
        return [(1, 4 * 2 ** (i // 2), 4 * 2 ** (i // 2)) for i in range(2 * (level + 1))]

    def styles(self, w):
        """The same ``w`` ``[N, w_dim]`` for every style layer: ``[N, num_styles, w_dim]``."""
        return w[:, None].expand(-1, self.num_styles, -1)

    def synthesis(self, ws, level=None, alpha=1.0, noise=None):
        level = self.levels - 1 if level is None else level
        x = self.const.expand(len(ws), -1, -1, -1)
        previous = x
        for i in range(2 * (level + 1)):
            if i == 2 * level:
                previous = x  # the last features of level - 1, for the fade-in
            x = self.layers[i](x, ws[:, i], None if noise is None else noise[i])
        image = self.to_rgb[level](x)
        if level > 0 and alpha < 1:
            image = fade_in(upsample(self.to_rgb[level - 1](previous)), image, alpha)
        return image

    def forward(self, z, clusters=None, level=None, alpha=1.0, psi=1.0, noise=None):
        level = self.levels - 1 if level is None else level
        return self.synthesis(mapped_styles(self, z, clusters, 2 * (level + 1), psi), level, alpha, noise)

    def extra_repr(self):
        return f"nz={self.nz}, w_dim={self.w_dim}, mixing_prob={self.mixing_prob}, w_avg_beta={self.w_avg_beta}"


class Truncated(nn.Module):
    """``generator`` drawn with truncation ``psi``: ``forward(z, clusters, level, alpha)`` is
    ``generator(z, clusters, level, alpha, psi=psi)``; ``nz``, ``clusters`` and ``cluster_weights`` are the
    generator's, so notebook 08's ``progan_samples`` draws from it. Introduced in notebooks/09_stylegan.ipynb."""

    def __init__(self, generator, psi):
        super().__init__()
        self.generator, self.psi = generator, psi
        self.nz, self.clusters = generator.nz, generator.clusters

    @property
    def cluster_weights(self):
        return self.generator.cluster_weights

    def forward(self, z, clusters=None, level=None, alpha=1.0):
        growing = {} if level is None and alpha == 1.0 else {"level": level, "alpha": alpha}  # none for a generator that does not grow
        return self.generator(z, clusters, psi=self.psi, **growing)


import torch

from tutorial.metrics import judge_features
from tutorial.progan import crop_to_28


def slerp(a, b, t):
    """Spherical interpolation between the directions of ``a`` and ``b`` ``[N, D]`` at ``t`` ``[N]``
    (unit-length result, as the paper's PPL uses on normalised ``z``). Introduced in notebooks/09_stylegan.ipynb."""
    a, b = a / a.norm(dim=1, keepdim=True), b / b.norm(dim=1, keepdim=True)
    omega = torch.acos((a * b).sum(1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    t = t[:, None]
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


@torch.no_grad()
def judge_path_length(generator, pairs, space="w", epsilon=1e-2, seed=0, batch_size=500, device=None, profile=None):
    """Mean path length of ``generator`` (a :class:`StyleGANGenerator`) in ``space`` ``"w"`` (linear
    interpolation of mapped latents) or ``"z"`` (``slerp`` of latents, then the mapping): the squared
    distance between notebook 01's judge's features of the images at ``t`` and ``t + epsilon``, over
    ``epsilon**2``, for ``pairs`` random endpoint pairs and ``t ~ U[0, 1]``, the lowest and highest 1 %
    trimmed. Same noise and cluster within a pair; the judge of ``profile`` (default: the active one). A stand-in for the paper's perceptual path length.
    Introduced in notebooks/09_stylegan.ipynb."""
    if space not in ("w", "z"):
        raise ValueError(f"space must be 'w' or 'z', not {space!r}")
    was_training = generator.training
    generator.eval()
    dev = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    lengths = []
    for start in range(0, pairs, batch_size):
        n = min(batch_size, pairs - start)
        z1, z2, t = torch.randn(n, generator.nz, generator=rng), torch.randn(n, generator.nz, generator=rng), torch.rand(n, generator=rng)
        c = (torch.multinomial(generator.cluster_weights.cpu(), n, replacement=True, generator=rng).to(dev)
             if generator.clusters else None)
        noise = [torch.randn(n, *shape, generator=rng).to(dev) for shape in generator.noise_shapes()]
        if space == "z":
            ends = [generator.mapping(slerp(z1, z2, s).to(dev), c) for s in (t, t + epsilon)]
        else:
            w1, w2 = generator.mapping(z1.to(dev), c), generator.mapping(z2.to(dev), c)
            ends = [torch.lerp(w1, w2, s[:, None].to(dev)) for s in (t, t + epsilon)]
        images = [((generator.synthesis(generator.styles(w), noise=noise) + 1) / 2).clamp(0, 1) for w in ends]
        feats = [judge_features(crop_to_28(x).cpu(), dev, profile) for x in images]
        lengths.append((feats[0] - feats[1]).pow(2).sum(1) / epsilon ** 2)
    lengths = torch.cat(lengths).double()
    lo, hi = torch.quantile(lengths, torch.tensor([0.01, 0.99], dtype=torch.double))
    generator.train(was_training)
    return float(lengths[(lengths >= lo) & (lengths <= hi)].mean())
