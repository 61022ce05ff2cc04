# GENERATED from notebooks/08_progan.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

PROGAN_SETTINGS = {
    "smoke": {  # seconds: CI runs the whole notebook in this profile; results are not meaningful
        "fashion": False, "train_limit": 512, "batch_size": 16, "nz": 32, "channels": [16, 16, 8, 8],
        "phase_images": 128, "final_images": 128, "clusters": 10, "lr": 1e-3, "beta1": 0.0, "beta2": 0.99, "gp_weight": 10.0,
        "drift": 1e-3, "ema_decay": 0.9, "mbstd_group": 4, "n_judge": 500, "live_every": 4,
    },
    "laptop": {  # under ten minutes of training on 2 CPU cores (the README's table has the measured time)
        "fashion": False, "train_limit": None, "batch_size": 32, "nz": 64, "channels": [64, 32, 16, 8],
        "phase_images": 26000, "final_images": 26000, "clusters": 50, "lr": 2e-3, "beta1": 0.0, "beta2": 0.99, "gp_weight": 10.0,
        "drift": 1e-3, "ema_decay": 0.99, "mbstd_group": 4, "n_judge": 10000, "live_every": 100,
    },
    "full": {  # one GPU
        "fashion": False, "train_limit": None, "batch_size": 64, "nz": 128, "channels": [256, 256, 128, 64],
        "phase_images": 300000, "final_images": 300000, "clusters": 50, "lr": 1e-3, "beta1": 0.0, "beta2": 0.99, "gp_weight": 10.0,
        "drift": 1e-3, "ema_decay": 0.999, "mbstd_group": 4, "n_judge": 10000, "live_every": 100,
    },
}


import torch
import torch.nn.functional as F


def pad_to_32(images):
    """MNIST-sized images ``[N, C, 28, 28]`` padded with 2 black pixels per side to ``[N, C, 32, 32]``
    (values unchanged). Introduced in notebooks/08_progan.ipynb."""
    return F.pad(images, (2, 2, 2, 2))


def crop_to_28(images):
    """The inverse of :func:`pad_to_32`: the centre ``[N, C, 28, 28]`` of 32x32 images, what notebook 01's
    judge takes. Introduced in notebooks/08_progan.ipynb."""
    return images[..., 2:-2, 2:-2]


def downsample(images, factor=2):
    """Average over ``factor`` x ``factor`` blocks: ``[N, C, H, W]`` -> ``[N, C, H/factor, W/factor]``.
    Introduced in notebooks/08_progan.ipynb."""
    return F.avg_pool2d(images, factor) if factor > 1 else images


def upsample(images):
    """Nearest-neighbour doubling, ``[N, C, H, W]`` -> ``[N, C, 2H, 2W]``. Introduced in notebooks/08_progan.ipynb."""
    return F.interpolate(images, scale_factor=2, mode="nearest")


import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class EqualizedConv2d(nn.Module):
    """A convolution with the equalised learning rate (Karras et al., 2018): stored weights ``w ~ N(0, 1)``,
    used as ``c * w`` with He's constant ``c = gain / sqrt(fan_in)``, ``fan_in = c_in * k * k``; bias 0.

    Introduced in notebooks/08_progan.ipynb.
    """

    def __init__(self, c_in, c_out, kernel_size, padding=0, gain=math.sqrt(2), bias=True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel_size, kernel_size))  # w ~ N(0, 1)
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale = gain / math.sqrt(c_in * kernel_size * kernel_size)  # c = g / sqrt(n_in)
        self.padding = padding

    def forward(self, x):
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)  # w_hat = c * w

    def extra_repr(self):
        c_out, c_in, k, _ = self.weight.shape
        return f"{c_in}, {c_out}, kernel_size={k}, padding={self.padding}, scale={self.scale:.4g}"


class EqualizedLinear(nn.Module):
    """A fully connected layer with the equalised learning rate: ``y = (c * w) x + lr_multiplier * b``,
    ``w ~ N(0, 1 / lr_multiplier^2)``, ``c = lr_multiplier * gain / sqrt(d_in)``. ``lr_multiplier < 1``
    slows the layer's learning by that factor (StyleGAN's mapping network) without changing its function.

    Introduced in notebooks/08_progan.ipynb.
    """

    def __init__(self, d_in, d_out, gain=math.sqrt(2), bias=True, lr_multiplier=1.0, bias_init=0.0):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(d_out, d_in) / lr_multiplier)
        self.bias = nn.Parameter(torch.full((d_out,), float(bias_init) / lr_multiplier)) if bias else None
        self.scale = lr_multiplier * gain / math.sqrt(d_in)
        self.lr_multiplier = lr_multiplier

    def forward(self, x):
        bias = None if self.bias is None else self.bias * self.lr_multiplier
        return F.linear(x, self.weight * self.scale, bias)

    def extra_repr(self):
        d_out, d_in = self.weight.shape
        return f"{d_in}, {d_out}, scale={self.scale:.4g}, lr_multiplier={self.lr_multiplier:g}"


import torch
import torch.nn as nn


def pixel_norm(x, eps=1e-8):
    """Pixelwise feature normalisation: ``x / sqrt(mean over channels of x^2 + eps)`` at every pixel
    (``x`` is ``[N, C, ...]``). Introduced in notebooks/08_progan.ipynb."""
    return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + eps)


class PixelNorm(nn.Module):
    """:func:`pixel_norm` as a layer. Introduced in notebooks/08_progan.ipynb."""

    def forward(self, x):
        return pixel_norm(x)


def minibatch_stddev(x, group_size=4, eps=1e-8):
    """Append the minibatch standard deviation as one more feature map: ``[N, C, H, W]`` -> ``[N, C+1, H, W]``.

    The batch is split into groups of ``G = min(group_size, N)`` samples (sample ``i`` is in group
    ``i mod N/G``; ``G`` is lowered until it divides ``N``); for each group, the standard deviation over
    its members of every feature at every pixel, ``sqrt(var + eps)``, is averaged into one number, which
    fills the extra map of each of its members. Introduced in notebooks/08_progan.ipynb.
    """
    n, c, h, w = x.shape
    g = min(group_size, n)
    while n % g:
        g -= 1
    y = x.reshape(g, n // g, c, h, w)                        # [G, M, C, H, W]: y[a, b] is sample a*M + b
    y = y - y.mean(dim=0, keepdim=True)                      # deviation from the group mean
    std = (y.pow(2).mean(dim=0) + eps).sqrt()                # [M, C, H, W]: std over the group
    stat = std.mean(dim=(1, 2, 3))                           # [M]: one number per group
    stat = stat.repeat(g).view(n, 1, 1, 1).expand(n, 1, h, w)  # sample i gets its group's number
    return torch.cat([x, stat], dim=1)


class MinibatchStdDev(nn.Module):
    """:func:`minibatch_stddev` as a layer. Introduced in notebooks/08_progan.ipynb."""

    def __init__(self, group_size=4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x):
        return minibatch_stddev(x, self.group_size)

    def extra_repr(self):
        return f"group_size={self.group_size}"


import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def fade_in(old, new, alpha):
    """The fade-in blend ``(1 - alpha) * old + alpha * new``. Introduced in notebooks/08_progan.ipynb."""
    return old + alpha * (new - old)


def _conv_block(c_in, c_out):
    return [EqualizedConv2d(c_in, c_out, 3, padding=1), nn.LeakyReLU(0.2)]


class ProGANGenerator(nn.Module):
    """ProGAN generator for ``4 * 2**(len(channels) - 1)`` pixels; ``channels[i]`` feature maps at
    ``4 * 2**i``. ``forward(z, clusters=None, level=None, alpha=1.0)`` draws at level ``level`` (default:
    the last), fading the newest block in by ``alpha``. Outputs are linear (roughly [-1, 1]).

    With ``clusters`` = K > 0 it takes a cluster id (or a ``[N, K]`` code) appended to the normalised z,
    and keeps the clusters' training frequencies in ``cluster_weights``. Introduced in notebooks/08_progan.ipynb.
    """

    def __init__(self, nz=64, channels=(64, 64, 32, 16), image_channels=1, clusters=0):
        super().__init__()
        self.nz, self.clusters, self.channels = nz, clusters, list(channels)
        self.register_buffer("cluster_weights", torch.full((max(clusters, 1),), 1.0 / max(clusters, 1)))
        c0 = channels[0]
        self.input = EqualizedLinear(nz + clusters, c0 * 16, gain=math.sqrt(2) / 4)  # z -> 4x4, as the paper's code
        self.blocks = nn.ModuleList([nn.Sequential(*_conv_block(c0, c0), PixelNorm())])
        for c_prev, c in zip(channels[:-1], channels[1:]):
            self.blocks.append(nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                                             *_conv_block(c_prev, c), PixelNorm(), *_conv_block(c, c), PixelNorm()))
        self.to_rgb = nn.ModuleList([EqualizedConv2d(c, image_channels, 1, gain=1) for c in channels])

    @property
    def levels(self):
        return len(self.channels)

    def forward(self, z, clusters=None, level=None, alpha=1.0):
        level = self.levels - 1 if level is None else level
        z = pixel_norm(z)
        if self.clusters:
            if clusters is None:
                raise ValueError(f"this generator has {self.clusters} clusters: pass one per sample")
            code = F.one_hot(clusters, self.clusters).float() if clusters.dtype == torch.long else clusters
            z = torch.cat([z, code], dim=1)
        h = pixel_norm(F.leaky_relu(self.input(z).view(len(z), -1, 4, 4), 0.2))
        h = self.blocks[0](h)
        for i in range(1, level + 1):
            previous, h = h, self.blocks[i](h)
        image = self.to_rgb[level](h)
        if level > 0 and alpha < 1:
            image = fade_in(upsample(self.to_rgb[level - 1](previous)), image, alpha)
        return image


class ProGANDiscriminator(nn.Module):
    """ProGAN discriminator (a WGAN critic: it returns scores ``[N]``, not probabilities), for images of
    ``4 * 2**level`` pixels, ``level`` read from the image size; ``channels`` as the generator's.
    ``forward(images, clusters=None, alpha=1.0)`` fades the newest block in by ``alpha``. With
    ``clusters`` > 0 it adds the projection term ``e_c . phi(x)``. Introduced in notebooks/08_progan.ipynb.
    """

    def __init__(self, channels=(64, 64, 32, 16), image_channels=1, clusters=0, mbstd_group=4):
        super().__init__()
        self.channels, self.clusters = list(channels), clusters
        self.from_rgb = nn.ModuleList([nn.Sequential(EqualizedConv2d(image_channels, c, 1), nn.LeakyReLU(0.2))
                                       for c in channels])
        # blocks[i - 1] takes level i (channels[i] maps at 4 * 2**i) down to level i - 1
        self.blocks = nn.ModuleList([nn.Sequential(*_conv_block(c, c), *_conv_block(c, c_prev), nn.AvgPool2d(2))
                                     for c_prev, c in zip(channels[:-1], channels[1:])])
        c0 = channels[0]
        self.final = nn.Sequential(MinibatchStdDev(mbstd_group), *_conv_block(c0 + 1, c0),
                                   EqualizedConv2d(c0, c0, 4), nn.LeakyReLU(0.2), nn.Flatten())
        self.score = EqualizedLinear(c0, 1, gain=1)
        self.embed = nn.Embedding(clusters, c0) if clusters else None

    def forward(self, images, clusters=None, alpha=1.0):
        level = int(math.log2(images.shape[-1])) - 2
        if not 0 <= level < len(self.channels) or images.shape[-1] != 4 * 2 ** level:
            raise ValueError(f"images must be 4x4 ... {4 * 2 ** (len(self.channels) - 1)} pixels, "
                             f"a power of two; got {tuple(images.shape[-2:])}")
        h = self.from_rgb[level](images)
        if level > 0:
            h = self.blocks[level - 1](h)
            if alpha < 1:
                h = fade_in(self.from_rgb[level - 1](downsample(images)), h, alpha)
            for i in range(level - 1, 0, -1):
                h = self.blocks[i - 1](h)
        return critic_score(self, self.final(h), clusters)


def critic_score(discriminator, features, clusters=None):
    """A critic's score ``[N]`` from its final features ``[N, F]``: ``discriminator.score(features)``, plus,
    when it has clusters, the projection term ``e_c . features`` (``discriminator.embed``). Notebook 10's
    discriminator ends the same way. Introduced in notebooks/08_progan.ipynb."""
    score = discriminator.score(features).squeeze(1)
    if discriminator.clusters:
        if clusters is None:
            raise ValueError(f"this discriminator has {discriminator.clusters} clusters: pass one per sample")
        score = score + (discriminator.embed(clusters) * features).sum(1)
    return score


import torch


def gradient_penalty(discriminator, real, fake, clusters=None, alpha=1.0):
    """``E[(||grad_x D(x_hat)||_2 - 1)^2]`` at ``x_hat = eps * real + (1 - eps) * fake``, ``eps ~ U[0, 1]``
    per sample (Gulrajani et al., 2017), differentiable with respect to D's weights.
    Introduced in notebooks/08_progan.ipynb."""
    eps = torch.rand(len(real), *[1] * (real.dim() - 1), device=real.device)
    mixed = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    scores = discriminator(mixed, clusters, alpha=alpha)
    (grad,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)  # d D(x_hat) / d x_hat, in the graph
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


def wgan_gp_discriminator_loss(real_scores, fake_scores, penalty, gp_weight=10.0, drift=1e-3):
    """``E[D(G(z))] - E[D(x)] + gp_weight * penalty + drift * E[D(x)^2]``, ProGAN's critic loss.
    Introduced in notebooks/08_progan.ipynb."""
    return fake_scores.mean() - real_scores.mean() + gp_weight * penalty + drift * real_scores.pow(2).mean()


def wgan_generator_loss(fake_scores):
    """``-E[D(G(z))]``. Introduced in notebooks/08_progan.ipynb."""
    return -fake_scores.mean()


def progan_phases(levels):
    """The phases of progressive growing as ``(level, fading)``: ``(0, False)``, then ``(l, True)``,
    ``(l, False)`` for each level ``l = 1 .. levels - 1``. Introduced in notebooks/08_progan.ipynb."""
    phases = [(0, False)]
    for level in range(1, levels):
        phases += [(level, True), (level, False)]
    return phases


def fade_alpha(images_shown, fade_images):
    """alpha during a fade phase: the share of the phase's images already shown, in [0, 1].
    Introduced in notebooks/08_progan.ipynb."""
    return min(1.0, max(0.0, images_shown / fade_images))


import torch


@torch.no_grad()
def update_ema(average, model, decay):
    """``theta_avg <- decay * theta_avg + (1 - decay) * theta`` for every parameter of ``average`` and
    ``model`` (same architecture); buffers are copied. Introduced in notebooks/08_progan.ipynb."""
    for p_avg, p in zip(average.parameters(), model.parameters()):
        p_avg.lerp_(p, 1.0 - decay)
    for b_avg, b in zip(average.buffers(), model.buffers()):
        b_avg.copy_(b)


import copy
import math
import time

import torch
import torch.nn.functional as F

from tutorial.gan import EpochSamples, lazy_clusters, sample_images
from tutorial.profiles import Settings
from tutorial.training import LossHistory, check_finite, progress, train_or_load


def progan_checkpoint_settings(generator, discriminator, cfg):
    """What identifies a ProGAN run: the architectures and the settings that shape its training."""
    keys = ("fashion", "train_limit", "batch_size", "nz", "channels", "phase_images", "final_images", "clusters", "lr", "beta1",
            "beta2", "gp_weight", "drift", "ema_decay", "mbstd_group")
    values = {**{k: cfg[k] for k in keys}, "generator": repr(generator), "discriminator": repr(discriminator)}
    return Settings(values, getattr(cfg, "profile", None))


def prepare_training(generator, discriminator, images, cfg, device):
    """What training a GAN on padded MNIST starts with (shared with notebook 10): both networks checked to
    have ``cfg.clusters`` and moved to ``device``; returns ``(average, data)``, a frozen copy of the
    generator for its weight average and the images padded to 32x32 and rescaled to [-1, 1] on ``device``.
    Introduced in notebooks/08_progan.ipynb."""
    if generator.clusters != cfg.clusters or discriminator.clusters != cfg.clusters:
        raise ValueError(f"cfg.clusters is {cfg.clusters}: build both networks with clusters={cfg.clusters}")
    generator.to(device)
    discriminator.to(device)
    average = copy.deepcopy(generator).eval().requires_grad_(False)
    return average, pad_to_32(images).to(device) * 2 - 1  # [0, 1] -> [-1, 1], 28 -> 32 pixels


def train_progan(generator, discriminator, images, cfg, device, name=None, live_every=None, quiet=False,
                 force=False, groups=None):
    """Train a ProGAN (or any generator with :class:`ProGANGenerator`'s interface, such as notebook 09's
    StyleGAN) by progressive growing on ``images`` ``[N, C, 28, 28]`` in [0, 1] (padded to 32x32,
    rescaled to [-1, 1]), or load it. Returns ``(average, history, samples)``: the exponential moving
    average of the generator (use it to sample), a :class:`LossHistory` (``loss_d``, ``loss_g``,
    ``wasserstein`` = E[D(x)] - E[D(G(z))], ``penalty``, ``alpha``, ``level``, ``phase`` per step, and
    ``phase_seconds`` once per phase) and one grid per phase (64 fixed-noise samples of the average,
    enlarged to 32x32, in [-1, 1]).

    Phases follow :func:`progan_phases`, ``cfg.phase_images`` real images each (the last one
    ``cfg.final_images``); WGAN-GP with drift, one critic step per generator step, Adam(``cfg.lr``, betas
    ``(cfg.beta1, cfg.beta2)``). With ``cfg.clusters`` the networks are conditioned on k-means clusters of
    ``images`` as in notebook 02 (``groups`` gives them, else they are computed if there is training to do);
    each batch of fakes is drawn for the clusters of the real batch beside it, and the clusters'
    frequencies are kept in ``cluster_weights`` for sampling. Checkpoint ``name`` (default
    ``mnist_progan``), resumable per phase. Introduced in notebooks/08_progan.ipynb.
    """
    name = name or f"{'fashion' if cfg.fashion else 'mnist'}_progan"
    average, data = prepare_training(generator, discriminator, images, cfg, device)
    top = generator.levels - 1
    if data.shape[-1] != 4 * 2 ** top:
        raise ValueError(f"the generator draws {4 * 2 ** top} pixels; the padded images have {data.shape[-1]}")
    phases = progan_phases(generator.levels)
    phase_images = [cfg.phase_images] * (len(phases) - 1) + [cfg.final_images]
    phase_steps = [math.ceil(n / cfg.batch_size) for n in phase_images]
    first_step = [sum(phase_steps[:p]) for p in range(len(phases))]
    fixed = torch.Generator().manual_seed(1234)
    fixed_noise = torch.randn(64, cfg.nz, generator=fixed).to(device)
    fixed_clusters = torch.arange(64, device=device) % cfg.clusters if cfg.clusters else None
    clusters_of_real = lazy_clusters(generator, images, cfg.clusters, groups, device)  # notebook 02's

    betas = (cfg.beta1, cfg.beta2)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=betas, eps=1e-8)
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, betas=betas, eps=1e-8)
    live_every = cfg.live_every if live_every is None else live_every
    history = LossHistory(live_every=live_every, title=f"{name}: losses", smooth=20,
                          plot=("loss_d", "loss_g", "wasserstein"))
    samples = EpochSamples()

    def train_phase(phase):
        level, fading = phases[phase]
        size = 4 * 2 ** level
        generator.train()
        discriminator.train()
        label = f"{size}x{size} {'fade' if fading else 'stable'}"
        bar = progress(range(phase_steps[phase]), desc=f"{name} phase {phase + 1}/{len(phases)} ({label})",
                       disable=quiet)
        started = time.perf_counter()
        for i in bar:
            alpha = fade_alpha(i * cfg.batch_size, phase_images[phase]) if fading else 1.0
            batch = torch.randint(len(data), (cfg.batch_size,), device=device)
            real = downsample(data[batch], 2 ** (top - level))
            if fading:
                real = fade_in(upsample(downsample(real)), real, alpha)  # the reals fade in too
            c_real = c_fake = None
            if cfg.clusters:  # fakes for the real batch's clusters: the penalty then mixes within a cluster
                c_real = c_fake = clusters_of_real()[batch]
            fake = generator(torch.randn(cfg.batch_size, cfg.nz, device=device), c_fake, level, alpha)
            # 1. the critic: real and detached fake scores, the gradient penalty, the drift term
            real_scores = discriminator(real, c_real, alpha)
            fake_scores = discriminator(fake.detach(), c_fake, alpha)
            penalty = gradient_penalty(discriminator, real, fake, c_fake, alpha)
            loss_d = wgan_gp_discriminator_loss(real_scores, fake_scores, penalty, cfg.gp_weight, cfg.drift)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            # 2. the generator, through the updated critic; 3. the weight average
            loss_g = wgan_generator_loss(discriminator(fake, c_fake, alpha))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            update_ema(average, generator, cfg.ema_decay)
            step = first_step[phase] + i
            history.log(step, loss_d=check_finite(loss_d, step, "critic loss"),
                        loss_g=check_finite(loss_g, step, "generator loss"),
                        wasserstein=(real_scores - fake_scores).mean().detach(), penalty=penalty.detach(),
                        alpha=alpha, level=level, phase=phase)
        with torch.no_grad():  # a fade phase has ended at alpha = 1
            grid = average(fixed_noise, fixed_clusters, level)
            samples.append(F.interpolate(grid, size=4 * 2 ** top, mode="nearest").clamp(-1, 1))
        history.log(step, phase_seconds=time.perf_counter() - started)
        if live_every:
            history.show()

    modules = {"generator": generator, "discriminator": discriminator, "average": average, "opt_g": opt_g,
               "opt_d": opt_d, "samples": samples}
    settings = progan_checkpoint_settings(generator, discriminator, cfg)
    train_or_load(name, settings, modules, len(phases), train_phase, history=history, force=force, quiet=quiet)
    generator.eval()
    discriminator.eval()
    return average, history, samples


def progan_samples(generator, n, seed=0):
    """``n`` digits from ``generator`` at its full size, drawn by notebook 02's :func:`sample_images` (seeded
    noise, clusters by ``cluster_weights``), clamped to [0, 1] and cropped to 28x28 (:func:`crop_to_28`):
    what notebook 01's judge takes. On the CPU. Any randomness inside the generator (notebook 09's noise
    inputs) is seeded too, without disturbing the caller's random streams.
    Introduced in notebooks/08_progan.ipynb."""
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return crop_to_28(sample_images(generator, n, seed).clamp(0, 1))
