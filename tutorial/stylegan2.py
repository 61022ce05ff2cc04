# GENERATED from notebooks/10_stylegan2.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

STYLEGAN2_SETTINGS = {
    "smoke": {  # seconds: CI runs the whole notebook in this profile; results are not meaningful
        "fashion": False, "train_limit": 512, "batch_size": 16, "nz": 32, "w_dim": 32, "mapping_layers": 2,
        "mapping_lr": 1.0, "channels": [16, 16, 8, 8], "epochs": 2, "epoch_images": 64, "clusters": 10,
        "lr": 2e-3, "beta1": 0.0, "beta2": 0.99, "r1_gamma": 0.01, "r1_interval": 4, "pl_weight": 2.0,
        "pl_interval": 4, "pl_decay": 0.01, "ema_decay": 0.9, "mbstd_group": 4, "mixing_prob": 0.9,
        "w_avg_beta": 0.995, "n_judge": 500, "psi_values": [0.7, 1.0], "path_pairs": 100,
        "project_steps": 5, "ablations": ["no_r1"], "compare_stylegan": True, "live_every": 4,
    },
    "laptop": {  # under ten minutes of training on 2 CPU cores (the README's table has the measured time)
        "fashion": False, "train_limit": None, "batch_size": 32, "nz": 64, "w_dim": 64, "mapping_layers": 4,
        "mapping_lr": 1.0, "channels": [64, 32, 16, 8], "epochs": 8, "epoch_images": 12000, "clusters": 50,
        "lr": 2e-3, "beta1": 0.0, "beta2": 0.99, "r1_gamma": 0.01, "r1_interval": 16, "pl_weight": 2.0,
        "pl_interval": 4, "pl_decay": 0.01, "ema_decay": 0.995, "mbstd_group": 4, "mixing_prob": 0.9,
        "w_avg_beta": 0.995, "n_judge": 10000, "psi_values": [0.5, 0.7, 0.85, 1.0], "path_pairs": 2000,
        "project_steps": 200, "ablations": ["no_pl", "no_r1"], "compare_stylegan": True, "live_every": 100,
    },
    "full": {  # one GPU
        "fashion": False, "train_limit": None, "batch_size": 64, "nz": 128, "w_dim": 128, "mapping_layers": 8,
        "mapping_lr": 0.01, "channels": [256, 256, 128, 64], "epochs": 20, "epoch_images": 60000, "clusters": 50,
        "lr": 2.5e-3, "beta1": 0.0, "beta2": 0.99, "r1_gamma": 0.01, "r1_interval": 16, "pl_weight": 2.0,
        "pl_interval": 4, "pl_decay": 0.01, "ema_decay": 0.999, "mbstd_group": 4, "mixing_prob": 0.9,
        "w_avg_beta": 0.995, "n_judge": 10000, "psi_values": [0.5, 0.7, 0.85, 1.0], "path_pairs": 10000,
        "project_steps": 500, "ablations": ["no_pl", "no_r1", "no_regularisers"], "compare_stylegan": True, "live_every": 100,
    },
}


import torch
import torch.nn.functional as F

from tutorial.stylegan import StyleLayer


@torch.no_grad()
def feature_peaks(generator, n=256, seed=0):
    """The "droplet" measure: for each synthesis layer, the largest absolute activation over the mean
    absolute activation (over channels and pixels), averaged over ``n`` seeded samples (clusters drawn by
    ``cluster_weights``). For notebook 09's generator, the features AdaIN is about to normalise; for
    :class:`StyleGAN2Generator`, each layer's output. One number per layer, 4x4 first.
    Introduced in notebooks/10_stylegan2.ipynb."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    z = torch.randn(n, generator.nz, generator=rng).to(device)
    c = (torch.multinomial(generator.cluster_weights.cpu(), n, replacement=True, generator=rng).to(device)
         if generator.clusters else None)
    peaks, hooks = [], []

    def record(features):
        a = features.abs().flatten(1)
        peaks.append(float((a.max(1).values / a.mean(1).clamp_min(1e-12)).mean()))

    for layer in generator.layers:
        if isinstance(layer, StyleLayer):  # notebook 09: the features before AdaIN normalises them
            hooks.append(layer.noise.register_forward_hook(
                lambda m, i, out, layer=layer: record(F.leaky_relu(out + layer.bias.view(1, -1, 1, 1), 0.2))))
        else:
            hooks.append(layer.register_forward_hook(lambda m, i, out: record(out)))
    try:
        generator(z, c)
    finally:
        for hook in hooks:
            hook.remove()
        generator.train(was_training)
    return peaks


import math

import torch
import torch.nn.functional as F


def modulate(weight, styles):
    """Scale a convolution's weights by a style per sample and input channel: ``weight`` ``[O, I, k, k]``,
    ``styles`` ``[N, I]`` -> ``w'[n, o, i] = s[n, i] * w[o, i]``, ``[N, O, I, k, k]``.
    Introduced in notebooks/10_stylegan2.ipynb."""
    return weight[None] * styles[:, None, :, None, None]


def demodulate(weights, eps=1e-8):
    """Renormalise modulated weights ``[N, O, I, k, k]`` per sample and output channel:
    ``w''[n, o] = w'[n, o] / sqrt(sum over i, k, k of w'[n, o]^2 + eps)``. Introduced in notebooks/10_stylegan2.ipynb."""
    return weights * torch.rsqrt(weights.pow(2).sum(dim=(2, 3, 4), keepdim=True) + eps)


def modulated_conv2d(x, weight, styles, demodulated=True, padding=0, fused=False, eps=1e-8):
    """StyleGAN2's modulated convolution of ``x`` ``[N, I, H, W]`` with ``weight`` ``[O, I, k, k]`` and
    ``styles`` ``[N, I]``. ``fused=True``: build each sample's weights (:func:`modulate`, :func:`demodulate`)
    and run one grouped convolution over the whole batch. ``fused=False``: the same numbers the plain way,
    scale the input by the style, convolve with the shared weights, scale the output by the demodulation
    coefficients ``1 / sqrt(s^2 . sum_k w^2 + eps)``. Introduced in notebooks/10_stylegan2.ipynb."""
    n, c_in, h, w = x.shape
    c_out, _, k, _ = weight.shape
    if fused:
        weights = modulate(weight, styles)
        if demodulated:
            weights = demodulate(weights, eps)
        out = F.conv2d(x.reshape(1, n * c_in, h, w), weights.reshape(n * c_out, c_in, k, k), padding=padding, groups=n)
        return out.reshape(n, c_out, *out.shape[2:])
    out = F.conv2d(x * styles[:, :, None, None], weight, padding=padding)
    if demodulated:
        coefficients = torch.rsqrt(styles.pow(2) @ weight.pow(2).sum(dim=(2, 3)).t() + eps)  # [N, O]
        out = out * coefficients[:, :, None, None]
    return out


import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from tutorial.progan import EqualizedLinear
from tutorial.stylegan import NoiseInput


def upsample_bilinear(x):
    """Bilinear doubling ``[N, C, H, W]`` -> ``[N, C, 2H, 2W]``: inside the image, the paper's [1, 3, 3, 1]
    low-pass upsampling filter. Introduced in notebooks/10_stylegan2.ipynb."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


class ModulatedConv2d(nn.Module):
    """A :func:`modulated_conv2d` layer: weights ``N(0, 1)`` used with the equalised constant
    ``1 / sqrt(I k k)``, and the learned affine map from ``w`` to the style, its bias starting at 1 (so every
    style starts as "leave the weights as they are"). ``forward(x, w, fused=False)``.
    Introduced in notebooks/10_stylegan2.ipynb."""

    def __init__(self, c_in, c_out, kernel_size, w_dim, demodulated=True, upsample=False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(c_in * kernel_size * kernel_size)
        self.affine = EqualizedLinear(w_dim, c_in, gain=1, bias_init=1.0)
        self.demodulated, self.upsample, self.padding = demodulated, upsample, kernel_size // 2

    def forward(self, x, w, fused=False):
        if self.upsample:
            x = upsample_bilinear(x)
        return modulated_conv2d(x, self.weight * self.scale, self.affine(w), self.demodulated, self.padding, fused)

    def extra_repr(self):
        c_out, c_in, k, _ = self.weight.shape
        return f"{c_in}, {c_out}, kernel_size={k}, demodulated={self.demodulated}, upsample={self.upsample}"


class SynthesisLayer(nn.Module):
    """One layer of StyleGAN2's synthesis network: modulated 3x3 convolution (after bilinear upsampling if
    ``upsample``) -> notebook 09's noise -> bias -> leaky ReLU (0.2) times sqrt(2). No normalisation of the
    features: the demodulation did its work on the weights. Introduced in notebooks/10_stylegan2.ipynb."""

    def __init__(self, c_in, c_out, w_dim, upsample=False):
        super().__init__()
        self.conv = ModulatedConv2d(c_in, c_out, 3, w_dim, upsample=upsample)
        self.noise = NoiseInput(c_out)
        self.bias = nn.Parameter(torch.zeros(c_out))

    def forward(self, x, w, noise=None, fused=False):
        x = self.noise(self.conv(x, w, fused), noise) + self.bias.view(1, -1, 1, 1)
        return F.leaky_relu(x, 0.2) * math.sqrt(2)


class ToRGB(nn.Module):
    """A modulated 1x1 convolution to the image's channels, not demodulated (its output is the image), plus
    a bias. Introduced in notebooks/10_stylegan2.ipynb."""

    def __init__(self, c_in, w_dim, image_channels=1):
        super().__init__()
        self.conv = ModulatedConv2d(c_in, image_channels, 1, w_dim, demodulated=False)
        self.bias = nn.Parameter(torch.zeros(image_channels))

    def forward(self, x, w, fused=False):
        return self.conv(x, w, fused) + self.bias.view(1, -1, 1, 1)


import torch
import torch.nn as nn

from tutorial.stylegan import mapped_styles, style_generator_parts


class StyleGAN2Generator(nn.Module):
    """StyleGAN2's generator (Karras et al., 2020), config E/F: notebook 09's :class:`MappingNetwork` and
    learned constant 4x4 input (:func:`style_generator_parts`), :class:`SynthesisLayer` s (one at 4x4, two per larger resolution), and the
    skip architecture: every resolution has a :class:`ToRGB`, and the image is the sum of their outputs, each
    upsampled to the next resolution (bilinearly) and added. No progressive growing, no AdaIN.

    ``num_styles`` = 2 x resolutions: style ``i`` drives synthesis layer ``i``, and each resolution's ToRGB
    uses the style after its last layer (as the official code). ``forward(z, clusters=None, psi=1.0,
    noise=None)`` maps, mixes and truncates with notebook 09's :func:`mapped_styles`. ``synthesis(ws, noise=None, fused=False,
    parts=False)`` draws from per-layer styles ``[N, num_styles, w_dim]``; with ``parts=True`` it returns
    each resolution's contribution to the final image as well, upsampled to full size. Same interface as
    notebook 09's generator for ``styles``, ``noise_shapes`` and ``mapping``, so notebook 09's
    :func:`judge_path_length` and notebook 08's :func:`progan_samples` take it. Introduced in notebooks/10_stylegan2.ipynb.
    """

    def __init__(self, nz=64, w_dim=64, channels=(64, 64, 32, 16), mapping_layers=8, mapping_lr=0.01,
                 image_channels=1, clusters=0, mixing_prob=0.9, w_avg_beta=0.995):
        super().__init__()
        style_generator_parts(self, nz, w_dim, channels, mapping_layers, mapping_lr, clusters, mixing_prob, w_avg_beta)
        c0 = channels[0]
        layers = [SynthesisLayer(c0, c0, w_dim)]
        for c_prev, c in zip(channels[:-1], channels[1:]):
            layers += [SynthesisLayer(c_prev, c, w_dim, upsample=True), SynthesisLayer(c, c, w_dim)]
        self.layers = nn.ModuleList(layers)
        self.to_rgb = nn.ModuleList([ToRGB(c, w_dim, image_channels) for c in channels])

    @property
    def levels(self):
        return len(self.channels)

    @property
    def num_styles(self):
        return len(self.layers) + 1

    def noise_shapes(self):
        """The shape ``(1, H, W)`` of each synthesis layer's noise image."""
        return [(1, 4 * 2 ** ((i + 1) // 2), 4 * 2 ** ((i + 1) // 2)) for i in range(len(self.layers))]

    def styles(self, w):
        """The same ``w`` ``[N, w_dim]`` for every style: ``[N, num_styles, w_dim]``."""
        return w[:, None].expand(-1, self.num_styles, -1)

    def synthesis(self, ws, noise=None, fused=False, parts=False):
        x = self.const.expand(len(ws), -1, -1, -1)
        image, contributions = None, []
        for level in range(self.levels):
            first, last = (0, 0) if level == 0 else (2 * level - 1, 2 * level)
            for i in range(first, last + 1):
                x = self.layers[i](x, ws[:, i], None if noise is None else noise[i], fused)
            rgb = self.to_rgb[level](x, ws[:, last + 1], fused)
            image = rgb if image is None else upsample_bilinear(image) + rgb
            if parts:
                contributions = [upsample_bilinear(c) for c in contributions] + [rgb]
        return (image, contributions) if parts else image

    def forward(self, z, clusters=None, psi=1.0, noise=None):
        return self.synthesis(mapped_styles(self, z, clusters, self.num_styles, psi), noise)  # notebook 09's

    def extra_repr(self):
        return f"nz={self.nz}, w_dim={self.w_dim}, mixing_prob={self.mixing_prob}, w_avg_beta={self.w_avg_beta}"


import math

import torch
import torch.nn as nn

from tutorial.progan import EqualizedConv2d, EqualizedLinear, MinibatchStdDev, critic_score, downsample


class ResidualBlock(nn.Module):
    """StyleGAN2's discriminator block: two 3x3 convolutions with leaky ReLU, then 2x2 average pooling, plus a
    skip path (pooling, then a 1x1 convolution without bias); the sum is divided by sqrt(2) to keep its
    variance. Introduced in notebooks/10_stylegan2.ipynb."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv1 = EqualizedConv2d(c_in, c_in, 3, padding=1)
        self.conv2 = EqualizedConv2d(c_in, c_out, 3, padding=1)
        self.skip = EqualizedConv2d(c_in, c_out, 1, gain=1, bias=False)
        self.act = nn.LeakyReLU(0.2)

    def forward(self, x):
        main = downsample(self.act(self.conv2(self.act(self.conv1(x)))))
        return (main + self.skip(downsample(x))) / math.sqrt(2)


class StyleGAN2Discriminator(nn.Module):
    """StyleGAN2's residual discriminator for ``4 * 2**(len(channels) - 1)`` pixels: a 1x1 fromRGB at full
    size only (no growing), one :class:`ResidualBlock` per halving, then notebook 08's minibatch standard
    deviation, a 3x3 convolution, a dense layer and the score (a logit ``[N]``). With ``clusters`` > 0 it
    adds notebook 08's projection term ``e_c . phi(x)``. Introduced in notebooks/10_stylegan2.ipynb."""

    def __init__(self, channels=(64, 64, 32, 16), image_channels=1, clusters=0, mbstd_group=4):
        super().__init__()
        self.channels, self.clusters = list(channels), clusters
        self.from_rgb = nn.Sequential(EqualizedConv2d(image_channels, channels[-1], 1), nn.LeakyReLU(0.2))
        self.blocks = nn.Sequential(*[ResidualBlock(c, c_prev) for c_prev, c in
                                      reversed(list(zip(channels[:-1], channels[1:])))])
        c0 = channels[0]
        self.final = nn.Sequential(MinibatchStdDev(mbstd_group), EqualizedConv2d(c0 + 1, c0, 3, padding=1),
                                   nn.LeakyReLU(0.2), nn.Flatten(), EqualizedLinear(c0 * 16, c0), nn.LeakyReLU(0.2))
        self.score = EqualizedLinear(c0, 1, gain=1)
        self.embed = nn.Embedding(clusters, c0) if clusters else None

    def forward(self, images, clusters=None):
        size = 4 * 2 ** (len(self.channels) - 1)
        if tuple(images.shape[-2:]) != (size, size):
            raise ValueError(f"this discriminator takes {size}x{size} images; got {tuple(images.shape[-2:])}")
        return critic_score(self, self.final(self.blocks(self.from_rgb(images))), clusters)  # notebook 08's ending


import math

import torch


def r1_penalty(discriminator, real, clusters=None):
    """R1 (Mescheder et al., 2018): ``E ||grad_x D(x)||^2`` on real images only, differentiable with respect to
    D's weights. The loss adds ``gamma / 2`` times it. Introduced in notebooks/10_stylegan2.ipynb."""
    real = real.detach().requires_grad_(True)
    scores = discriminator(real, clusters)
    (grad,) = torch.autograd.grad(scores.sum(), real, create_graph=True)
    return grad.pow(2).flatten(1).sum(1).mean()


def path_length_penalty(generator, z, clusters, pl_mean, decay=0.01):
    """StyleGAN2's path length regulariser. With ``y ~ N(0, I) / sqrt(H W)``, the length
    ``a = ||J_w^T y||_2`` (the gradient of ``sum(G(w) * y)`` with respect to the styles, summed over
    ``w_dim``, averaged over the style layers, square-rooted) should be the same for every ``w``:
    the penalty is ``E (a - a_bar)^2``, ``a_bar`` the running mean of ``a`` (decay ``decay``).
    Returns ``(penalty, lengths [N], new a_bar)``. Introduced in notebooks/10_stylegan2.ipynb."""
    ws = generator.styles(generator.mapping(z, clusters))
    images = generator.synthesis(ws)
    y = torch.randn_like(images) / math.sqrt(images.shape[2] * images.shape[3])
    (grad,) = torch.autograd.grad((images * y).sum(), ws, create_graph=True)
    lengths = grad.pow(2).sum(2).mean(1).sqrt()
    new_mean = pl_mean.lerp(lengths.mean().detach(), decay)
    return (lengths - new_mean).pow(2).mean(), lengths, new_mean


def lazy_adam_settings(lr, betas, interval):
    """Adam's learning rate and betas for a network whose regulariser runs every ``interval`` steps: the
    minibatch ratio ``c = interval / (interval + 1)`` gives ``lr * c`` and ``beta ** c`` (the paper's
    appendix; ``interval`` 0 means no lazy regulariser). Introduced in notebooks/10_stylegan2.ipynb."""
    c = interval / (interval + 1) if interval else 1.0
    return lr * c, tuple(b ** c for b in betas)


import time

import torch
import torch.nn as nn

from tutorial.gan import EpochSamples, discriminator_loss, generator_loss, lazy_clusters
from tutorial.profiles import Settings
from tutorial.progan import prepare_training, update_ema
from tutorial.training import LossHistory, check_finite, progress, train_or_load


def stylegan2_checkpoint_settings(generator, discriminator, cfg):
    """What identifies a StyleGAN2 run: the architectures and the settings that shape its training (not its
    length: more ``epochs`` continue a run). Introduced in notebooks/10_stylegan2.ipynb."""
    keys = ("fashion", "train_limit", "batch_size", "epoch_images", "clusters", "lr", "beta1", "beta2", "r1_gamma",
            "r1_interval", "pl_weight", "pl_interval", "pl_decay", "ema_decay")
    values = {**{k: cfg[k] for k in keys}, "generator": repr(generator), "discriminator": repr(discriminator)}
    return Settings(values, getattr(cfg, "profile", None))


def resolution_shares(generator, z, clusters=None):
    """How much each resolution adds to the image: the standard deviation of each :class:`ToRGB`'s
    contribution (upsampled to full size) over ``z``'s images, as shares that sum to 1, one per resolution.
    Introduced in notebooks/10_stylegan2.ipynb."""
    with torch.no_grad():
        _, parts = generator.synthesis(generator.styles(generator.mapping(z, clusters)), parts=True)
    spread = torch.stack([p.std() for p in parts])
    return (spread / spread.sum()).tolist()


def train_stylegan2(generator, discriminator, images, cfg, device, name=None, live_every=None, quiet=False,
                    force=False, groups=None):
    """Train a StyleGAN2 on ``images`` ``[N, C, 28, 28]`` in [0, 1] (padded to 32x32, rescaled to [-1, 1]) at
    full size from the first step, or load it. Returns ``(average, history, samples)`` like notebook 08's
    ``train_progan``: the generator's weight average (sample from it), a :class:`LossHistory` (``loss_d``,
    ``loss_g``, ``r1``, ``path_penalty``, ``path_length``; per epoch ``epoch_seconds`` and ``share_4`` ...
    ``share_32``, see :func:`resolution_shares`) and one grid of 64 fixed samples per epoch.

    Non-saturating logistic losses (notebook 02's), Adam(``cfg.lr``, ``(cfg.beta1, cfg.beta2)``) adjusted for
    lazy regularisation (:func:`lazy_adam_settings`). Every ``cfg.r1_interval`` critic steps R1 with weight
    ``cfg.r1_gamma / 2 * cfg.r1_interval``; every ``cfg.pl_interval`` generator steps the path length
    penalty on half a batch with weight ``cfg.pl_weight * cfg.pl_interval`` (a weight or interval of 0 turns
    either off). Clusters as in notebook 08. An epoch is ``cfg.epoch_images`` images; checkpoint ``name``
    (default ``mnist_stylegan2``) after each. Introduced in notebooks/10_stylegan2.ipynb.
    """
    name = name or f"{'fashion' if cfg.fashion else 'mnist'}_stylegan2"
    average, data = prepare_training(generator, discriminator, images, cfg, device)  # notebook 08's
    steps = -(-cfg.epoch_images // cfg.batch_size)
    fixed = torch.Generator().manual_seed(1234)
    fixed_noise = torch.randn(64, cfg.nz, generator=fixed).to(device)
    fixed_clusters = torch.arange(64, device=device) % cfg.clusters if cfg.clusters else None
    clusters_of_real = lazy_clusters(generator, images, cfg.clusters, groups, device)
    r1_every = cfg.r1_interval if cfg.r1_gamma > 0 else 0
    pl_every = cfg.pl_interval if cfg.pl_weight > 0 else 0
    lr_d, betas_d = lazy_adam_settings(cfg.lr, (cfg.beta1, cfg.beta2), r1_every)
    lr_g, betas_g = lazy_adam_settings(cfg.lr, (cfg.beta1, cfg.beta2), pl_every)
    opt_g = torch.optim.Adam(generator.parameters(), lr=lr_g, betas=betas_g, eps=1e-8)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=lr_d, betas=betas_d, eps=1e-8)
    path_state = nn.Module()
    path_state.register_buffer("mean", torch.zeros((), device=device))  # the running mean a_bar, saved with the run
    live_every = cfg.live_every if live_every is None else live_every
    history = LossHistory(live_every=live_every, title=f"{name}: losses", smooth=20, plot=("loss_d", "loss_g"))
    samples = EpochSamples()

    def train_epoch(epoch):
        generator.train()
        discriminator.train()
        bar = progress(range(steps), desc=f"{name} epoch {epoch + 1}/{cfg.epochs}", disable=quiet)
        started = time.perf_counter()
        for i in bar:
            step = epoch * steps + i
            batch = torch.randint(len(data), (cfg.batch_size,), device=device)
            real = data[batch]
            c = clusters_of_real()[batch] if cfg.clusters else None
            # 1. the discriminator: logistic loss, and R1 on the reals every r1_every steps
            with torch.no_grad():
                fake = generator(torch.randn(cfg.batch_size, cfg.nz, device=device), c)
            real_scores, fake_scores = discriminator(real, c), discriminator(fake, c)
            loss_d = discriminator_loss(real_scores, fake_scores)
            record = {}
            if r1_every and step % r1_every == 0:
                r1 = r1_penalty(discriminator, real, c)
                loss_d = loss_d + cfg.r1_gamma / 2 * r1 * r1_every
                record["r1"] = r1.detach()
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            # 2. the generator: non-saturating loss, and the path length penalty every pl_every steps
            loss_g = generator_loss(discriminator(generator(torch.randn(cfg.batch_size, cfg.nz, device=device), c), c))
            if pl_every and step % pl_every == 0:
                n = max(cfg.batch_size // 2, 1)
                z = torch.randn(n, cfg.nz, device=device)
                penalty, lengths, path_state.mean = path_length_penalty(generator, z, None if c is None else c[:n],
                                                                        path_state.mean, cfg.pl_decay)
                loss_g = loss_g + cfg.pl_weight * pl_every * penalty
                record.update(path_penalty=penalty.detach(), path_length=lengths.mean().detach())
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            update_ema(average, generator, cfg.ema_decay)
            history.log(step, loss_d=check_finite(loss_d, step, "discriminator loss"),
                        loss_g=check_finite(loss_g, step, "generator loss"), **record)
        with torch.no_grad():
            samples.append(average(fixed_noise, fixed_clusters).clamp(-1, 1))
        shares = resolution_shares(average, fixed_noise, fixed_clusters)
        history.log(step, epoch_seconds=time.perf_counter() - started,
                    **{f"share_{4 * 2 ** level}": s for level, s in enumerate(shares)})
        if live_every:
            history.show()

    modules = {"generator": generator, "discriminator": discriminator, "average": average, "opt_g": opt_g,
               "opt_d": opt_d, "path_state": path_state, "samples": samples}
    settings = stylegan2_checkpoint_settings(generator, discriminator, cfg)
    train_or_load(name, settings, modules, cfg.epochs, train_epoch, history=history, force=force, quiet=quiet)
    generator.eval()
    discriminator.eval()
    return average, history, samples


import torch
import torch.nn.functional as F

from tutorial.metrics import mnist_judge
from tutorial.progan import crop_to_28, pad_to_32


def project(generator, target, steps=200, lr=0.05, feature_weight=0.1, seed=0):
    """Find per-layer styles ``[1, num_styles, w_dim]`` whose image matches ``target`` ``[1, 28, 28]`` in
    [0, 1]: start every layer at ``w_avg`` and minimise, with Adam, the pixel MSE plus ``feature_weight``
    times the squared distance between notebook 01's judge's features of the two images (a stand-in for
    the paper's LPIPS distance), the noise fixed. Returns ``(ws, losses)``. Introduced in notebooks/10_stylegan2.ipynb."""
    device = generator.w_avg.device
    judge = mnist_judge(device)  # frozen: gradients flow through it to the image, never into it
    rng = torch.Generator().manual_seed(seed)
    noise = [torch.randn(1, *shape, generator=rng).to(device) for shape in generator.noise_shapes()]
    goal = pad_to_32(target[None].to(device)) * 2 - 1
    with torch.no_grad():
        goal_features = judge.features(target[None].to(device))
    ws = generator.w_avg.detach().clone()[None, None].repeat(1, generator.num_styles, 1).requires_grad_(True)
    optimizer = torch.optim.Adam([ws], lr=lr)
    losses, trainable = [], [p.requires_grad for p in generator.parameters()]
    generator.requires_grad_(False)  # only the styles move
    try:
        with torch.enable_grad():
            for _ in range(steps):
                image = generator.synthesis(ws, noise)
                features = judge.features(crop_to_28((image.clamp(-1, 1) + 1) / 2))
                loss = F.mse_loss(image, goal) + feature_weight * (features - goal_features).pow(2).sum(1).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                losses.append(float(loss.detach()))
    finally:
        for p, flag in zip(generator.parameters(), trainable):
            p.requires_grad_(flag)
    return ws.detach(), losses
