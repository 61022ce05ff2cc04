# GENERATED from notebooks/11_diffusion.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

DIFFUSION_SETTINGS = {
    "smoke": {  # seconds: CI runs the whole notebook in this profile; results are not meaningful
        "train_limit": 512, "timesteps": 100, "schedule": "linear", "channels": [16, 32], "patch": 2,
        "emb_dim": 32, "batch_size": 32, "epochs": 1, "epoch_images": 256, "lr": 1e-3, "warmup_steps": 4,
        "ema_decay": 0.9, "p_uncond": 0.1, "sample_steps": 10, "sample_eta": 1.0, "guidance": 1.0, "n_judge": 200,
        "n_curve": 100, "steps_curve": [2, 5, 10], "guidance_curve": [0.0, 1.0, 3.0], "ddpm_pictures": 8,
        "live_every": 2,
    },
    "laptop": {  # minutes of training on 2 CPU cores (the README's table has the measured time)
        "train_limit": None, "timesteps": 1000, "schedule": "linear", "channels": [32, 64], "patch": 2,
        "emb_dim": 128, "batch_size": 64, "epochs": 5, "epoch_images": 32000, "lr": 2e-3, "warmup_steps": 100,
        "ema_decay": 0.995, "p_uncond": 0.1, "sample_steps": 20, "sample_eta": 1.0, "guidance": 1.0, "n_judge": 2000,
        "n_curve": 500, "steps_curve": [5, 10, 20, 50], "guidance_curve": [0.0, 0.5, 1.0, 2.0, 4.0],
        "ddpm_pictures": 16, "live_every": 25,
    },
    "full": {  # one GPU
        "train_limit": None, "timesteps": 1000, "schedule": "linear", "channels": [64, 128, 256], "patch": 1,
        "emb_dim": 256, "batch_size": 128, "epochs": 40, "epoch_images": 60000, "lr": 2e-4, "warmup_steps": 1000,
        "ema_decay": 0.9995, "p_uncond": 0.1, "sample_steps": 50, "sample_eta": 1.0, "guidance": 1.0, "n_judge": 10000,
        "n_curve": 10000, "steps_curve": [5, 10, 20, 50, 100, 250], "guidance_curve": [0.0, 0.5, 1.0, 2.0, 4.0],
        "ddpm_pictures": 64, "live_every": 100,
    },
}


import math

import torch


class NoiseSchedule:
    """The forward process's numbers for steps t = 1..T, stored at index t - 1: ``betas`` (the variance each
    step adds), ``alphas = 1 - betas`` and ``alpha_bars``, their running product, so that
    ``q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) I)``; ``alpha_bars_prev`` holds
    alpha_bar_{t-1} (1 for t = 1). Kept in float64 on the CPU: ``1 - alpha_bar_t`` near t = 1 is a small
    difference of numbers near 1, which float32 would round badly; :func:`factor` hands each coefficient to
    the images in their own dtype and device. Introduced in notebooks/11_diffusion.ipynb."""

    def __init__(self, betas):
        betas = torch.as_tensor(betas).detach().to("cpu", torch.float64)
        if betas.dim() != 1 or not bool(((betas > 0) & (betas < 1)).all()):
            raise ValueError("betas must be a 1-D tensor of values strictly between 0 and 1")
        self.T = len(betas)
        self.betas = betas
        self.alphas = 1 - betas
        self.alpha_bars = torch.cumprod(self.alphas, 0)
        self.alpha_bars_prev = torch.cat([torch.ones(1, dtype=torch.float64), self.alpha_bars[:-1]])

    def snr(self):
        """The signal-to-noise ratio ``alpha_bar_t / (1 - alpha_bar_t)`` of x_t, for t = 1..T."""
        return self.alpha_bars / (1 - self.alpha_bars)

    def at(self, values, t, like):
        """``values[t - 1]`` for a batch of steps ``t`` (``[N]``, 1..T), shaped ``[N, 1, 1, 1]`` (as many
        dimensions as ``like``) to multiply images; still float64 on the CPU."""
        return values[torch.as_tensor(t).cpu() - 1].view(-1, *([1] * (like.dim() - 1)))


def factor(value, like):
    """A float64 coefficient made ready to multiply ``like``: a Python number for a single value, else a
    tensor of ``like``'s dtype on its device (converted on the CPU first: Apple's MPS has no float64).
    Introduced in notebooks/11_diffusion.ipynb."""
    value = torch.as_tensor(value, dtype=torch.float64)
    return float(value) if value.dim() == 0 else value.to(like.dtype).to(like.device)


def linear_schedule(T=1000, beta_start=1e-4, beta_end=0.02):
    """Ho et al.'s schedule: betas rising linearly from 1e-4 to 0.02 over T = 1000 steps (scaled so that
    another T keeps the same total noise). Introduced in notebooks/11_diffusion.ipynb."""
    scale = 1000 / T
    return NoiseSchedule(torch.linspace(scale * beta_start, scale * beta_end, T, dtype=torch.float64))


def cosine_schedule(T=1000, s=0.008, max_beta=0.999):
    """Nichol and Dhariwal's schedule: ``alpha_bar(t) = f(t) / f(0)`` with ``f(t) = cos^2(((t / T) + s) /
    (1 + s) * pi / 2)``; betas from consecutive ratios, clipped at 0.999 near t = T.
    Introduced in notebooks/11_diffusion.ipynb."""
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=max_beta)
    return NoiseSchedule(betas)


def make_schedule(name, T=1000):
    """``linear_schedule(T)`` or ``cosine_schedule(T)`` by name. Introduced in notebooks/11_diffusion.ipynb."""
    schedules = {"linear": linear_schedule, "cosine": cosine_schedule}
    if name not in schedules:
        raise ValueError(f"unknown schedule {name!r}; use one of {', '.join(schedules)}")
    return schedules[name](T)


def q_sample(x0, t, noise, schedule):
    """A draw from ``q(x_t | x_0)`` in one step: ``sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise``
    for steps ``t`` (``[N]``, 1..T) and standard normal ``noise`` shaped like ``x0``.
    Introduced in notebooks/11_diffusion.ipynb."""
    alpha_bar = schedule.at(schedule.alpha_bars, t, x0)
    return factor(alpha_bar.sqrt(), x0) * x0 + factor((1 - alpha_bar).sqrt(), x0) * noise


def q_posterior(x0, xt, t, schedule):
    """The forward process's posterior ``q(x_{t-1} | x_t, x_0) = N(mean, variance)``:
    ``mean = sqrt(alpha_bar_{t-1}) beta_t / (1 - alpha_bar_t) x_0 + sqrt(alpha_t) (1 - alpha_bar_{t-1}) /
    (1 - alpha_bar_t) x_t`` and ``variance = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) beta_t``
    (Ho et al., eq. 7). Returns ``(mean, variance)``; the variance is ``[N, 1, 1, 1]``.
    Introduced in notebooks/11_diffusion.ipynb."""
    beta, alpha = schedule.at(schedule.betas, t, xt), schedule.at(schedule.alphas, t, xt)
    bar, bar_prev = schedule.at(schedule.alpha_bars, t, xt), schedule.at(schedule.alpha_bars_prev, t, xt)
    mean = factor(bar_prev.sqrt() * beta / (1 - bar), xt) * x0 + factor(alpha.sqrt() * (1 - bar_prev) / (1 - bar), xt) * xt
    return mean, factor((1 - bar_prev) / (1 - bar) * beta, xt)


def predict_x0(xt, eps, t, schedule):
    """The clean image that noise ``eps`` implies: ``(x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)``,
    the forward process's closed form solved for x_0. Introduced in notebooks/11_diffusion.ipynb."""
    alpha_bar = schedule.at(schedule.alpha_bars, t, xt)
    return (xt - factor((1 - alpha_bar).sqrt(), xt) * eps) / factor(alpha_bar.sqrt(), xt)


import torch
import torch.nn.functional as F


def diffusion_loss(model, x0, schedule, labels=None, p_uncond=0.0, t=None, noise=None):
    """L_simple (Ho et al., eq. 14): ``|| eps - eps_theta(sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t)
    eps, t, y) ||^2``, averaged over pixels and the batch, with t uniform on 1..T and eps standard normal
    (both drawn here unless given). With ``p_uncond > 0`` each label is replaced by "no label" with that
    probability, so one network learns both ``eps(x, t, y)`` and ``eps(x, t)`` (classifier-free guidance).
    Introduced in notebooks/11_diffusion.ipynb."""
    n = len(x0)
    if t is None:
        t = torch.randint(1, schedule.T + 1, (n,), device=x0.device)
    if noise is None:
        noise = torch.randn_like(x0)
    if labels is not None and p_uncond > 0:
        dropped = torch.rand(n, device=x0.device) < p_uncond
        labels = torch.where(dropped, torch.full_like(labels, model.classes), labels)
    return F.mse_loss(model(q_sample(x0, t, noise, schedule), t, labels), noise)


import math

import torch


def timestep_embedding(t, dim, max_period=10000):
    """The Transformer's sinusoidal position code for diffusion steps ``t`` (``[N]``): ``[N, dim]`` with
    ``sin(t * f_i)`` in the first half and ``cos(t * f_i)`` in the second, for frequencies
    ``f_i = max_period^(-i / (dim / 2))``, i = 0..dim/2 - 1. Introduced in notebooks/11_diffusion.ipynb."""
    if dim % 2:
        raise ValueError(f"the embedding size must be even, got {dim}")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


import math

import torch.nn.functional as F
from torch import nn


def group_norm(channels, groups=8):
    """Group normalisation with up to ``groups`` groups (fewer when ``channels`` has fewer): the
    normalisation of diffusion U-Nets, which does not depend on the batch. Introduced in notebooks/11_diffusion.ipynb."""
    return nn.GroupNorm(math.gcd(groups, channels), channels)


class TimeResBlock(nn.Module):
    """A residual block told the step (and label): ``x + conv(SiLU(GN(conv(SiLU(GN(x))) + Linear(emb))))``,
    with a 1x1 convolution on the skip path when the channel count changes (Ho et al.'s block, without
    dropout). Introduced in notebooks/11_diffusion.ipynb."""

    def __init__(self, c_in, c_out, emb_dim):
        super().__init__()
        self.norm1, self.conv1 = group_norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2, self.conv2 = group_norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x, emb):
        h = self.conv1(F.silu(self.norm1(x)))
        h = h + self.emb(emb)[:, :, None, None]          # the step and label, added to every pixel
        h = self.conv2(F.silu(self.norm2(h)))
        return self.skip(x) + h


import torch
import torch.nn.functional as F
from torch import nn


class DiffusionUNet(nn.Module):
    """The noise predictor ``eps_theta(x_t, t, y)``: a U-Net on images ``[N, 1, 28, 28]``.

    ``patch`` folds each ``patch x patch`` block of pixels into channels first (``pixel_unshuffle``) and
    unfolds the output at the end, so the network works at 14x14 for ``patch = 2``. ``channels`` gives the
    width of each resolution: one :class:`TimeResBlock` per level on the way down (then a stride-2
    convolution), one in the middle, and two per level on the way up, each fed the matching skip features.
    The step enters through :func:`timestep_embedding` and an MLP; the label ``y`` (0..classes-1, or
    ``classes`` for "no label") through an embedding added to it. Introduced in notebooks/11_diffusion.ipynb."""

    def __init__(self, channels=(32, 64), emb_dim=128, patch=2, classes=10, image_channels=1):
        super().__init__()
        channels = list(channels)
        self.patch, self.classes, self.base = patch, classes, channels[0]
        self.time_mlp = nn.Sequential(nn.Linear(channels[0], emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.label_emb = nn.Embedding(classes + 1, emb_dim)  # the last row is "no label"
        self.register_buffer("label_weights", torch.full((classes,), 1.0 / classes))  # for drawing labels
        pixels = image_channels * patch * patch
        self.stem = nn.Conv2d(pixels, channels[0], 3, padding=1)
        self.down, skips, c = nn.ModuleList(), [channels[0]], channels[0]
        for level, width in enumerate(channels):
            self.down.append(TimeResBlock(c, width, emb_dim))
            c = width
            skips.append(c)
            if level < len(channels) - 1:
                self.down.append(nn.Conv2d(c, c, 3, stride=2, padding=1))
                skips.append(c)
        self.middle = TimeResBlock(c, c, emb_dim)
        self.up = nn.ModuleList()
        for level, width in reversed(list(enumerate(channels))):
            for _ in range(2):
                self.up.append(TimeResBlock(c + skips.pop(), width, emb_dim))
                c = width
            if level > 0:
                self.up.append(nn.Upsample(scale_factor=2, mode="nearest"))
        self.head = nn.Sequential(group_norm(c), nn.SiLU(), nn.Conv2d(c, pixels, 3, padding=1))
        nn.init.zeros_(self.head[-1].weight)  # start by predicting eps = 0
        nn.init.zeros_(self.head[-1].bias)

    def embed(self, t, y):
        if y is None:
            y = torch.full_like(t, self.classes)
        return self.time_mlp(timestep_embedding(t, self.base)) + self.label_emb(y)

    def forward(self, x, t, y=None):
        size = x.shape[-2:]
        emb = self.embed(t, y)
        h = self.stem(F.pixel_unshuffle(x, self.patch))
        skips = [h]
        for layer in self.down:
            h = layer(h, emb) if isinstance(layer, TimeResBlock) else layer(h)
            skips.append(h)
        h = self.middle(h, emb)
        for layer in self.up:
            if isinstance(layer, TimeResBlock):
                h = layer(torch.cat([h, skips.pop()], dim=1), emb)
            else:
                h = layer(h)
                h = h[..., :skips[-1].shape[-2], :skips[-1].shape[-1]]  # 7 -> 8 -> 7 when a size is odd
        return F.pixel_shuffle(self.head(h), self.patch)[..., :size[0], :size[1]]


import copy
import math

import torch

from tutorial.profiles import Settings
from tutorial.progan import update_ema
from tutorial.training import LossHistory, check_finite, progress, train_or_load


def train_diffusion(model, images, labels, cfg, device, name="mnist_diffusion", live_every=None, quiet=False,
                    force=False):
    """Train the noise predictor ``model`` on ``images`` ``[N, 1, 28, 28]`` in [0, 1] (scaled to [-1, 1])
    with their digit ``labels``, minimising :func:`diffusion_loss` with each label dropped with probability
    ``cfg.p_uncond``; or load it from its checkpoint. Each epoch shows ``cfg.epoch_images`` images, in
    batches of ``cfg.batch_size``; Adam at ``cfg.lr`` after a linear warm-up of ``cfg.warmup_steps`` steps,
    gradients clipped at norm 1. Alongside, a moving average of the weights (decay ``cfg.ema_decay``, and
    ``(1 + n) / (10 + n)`` over the first steps, so that the average does not start from the untrained
    network). Returns ``(average, history)``: the average is the network to sample from.
    Introduced in notebooks/11_diffusion.ipynb."""
    schedule = make_schedule(cfg.schedule, cfg.timesteps)
    model.to(device).train()
    model.label_weights.copy_(torch.bincount(labels, minlength=model.classes).float() / len(labels))
    average = copy.deepcopy(model).eval().requires_grad_(False)
    data, targets = (images.to(device) * 2 - 1), labels.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / max(1, cfg.warmup_steps)))
    steps_per_epoch = math.ceil(cfg.epoch_images / cfg.batch_size)
    live_every = cfg.live_every if live_every is None else live_every
    history = LossHistory(live_every=live_every, title=f"{name}: L_simple (mean squared error of the noise)",
                          smooth=20)

    def train_epoch(epoch):
        model.train()
        bar = progress(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{cfg.epochs}", disable=quiet)
        for i in bar:
            step = epoch * steps_per_epoch + i
            batch = torch.randint(0, len(data), (cfg.batch_size,), device=device)
            loss = diffusion_loss(model, data[batch], schedule, targets[batch], cfg.p_uncond)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            warmup.step()
            update_ema(average, model, min(cfg.ema_decay, (1 + step) / (10 + step)))
            history.log(step, loss=check_finite(loss, step, "diffusion loss"))
        if live_every:
            history.show()

    keys = ("train_limit", "timesteps", "schedule", "batch_size", "epoch_images", "lr", "warmup_steps", "ema_decay",
            "p_uncond")
    values = {**{k: cfg[k] for k in keys}, "train_images": len(images), "architecture": repr(model)}
    settings = Settings(values, getattr(cfg, "profile", None))
    modules = {"model": model, "average": average, "optimizer": optimizer, "warmup": warmup}
    train_or_load(name, settings, modules, cfg.epochs, train_epoch, history=history, force=force, quiet=quiet)
    model.eval()
    return average, history


import torch


def ddim_step(xt, eps, alpha_bar, alpha_bar_prev, eta=0.0, noise=None):
    """One DDIM update from step t to an earlier step s (Song et al., eq. 12), given the predicted noise:
    ``x_s = sqrt(alpha_bar_s) x0_hat + sqrt(1 - alpha_bar_s - sigma^2) eps + sigma z`` with
    ``x0_hat = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)`` and
    ``sigma = eta sqrt((1 - alpha_bar_s) / (1 - alpha_bar_t)) sqrt(1 - alpha_bar_t / alpha_bar_s)``.
    ``eta = 0`` is deterministic; ``eta = 1`` over every step is DDPM's ancestral sampler.
    ``alpha_bar`` and ``alpha_bar_prev`` are numbers or tensors that broadcast against ``xt``; the coefficients
    are computed in float64.
    Introduced in notebooks/11_diffusion.ipynb."""
    bar, bar_prev = torch.as_tensor(alpha_bar, dtype=torch.float64), torch.as_tensor(alpha_bar_prev, dtype=torch.float64)
    x0 = (xt - factor((1 - bar).sqrt(), xt) * eps) / factor(bar.sqrt(), xt)
    sigma = eta * ((1 - bar_prev) / (1 - bar)).sqrt() * (1 - bar / bar_prev).sqrt()
    x_prev = factor(bar_prev.sqrt(), xt) * x0 + factor((1 - bar_prev - sigma ** 2).clamp_min(0).sqrt(), xt) * eps
    if eta > 0:
        x_prev = x_prev + factor(sigma, xt) * (torch.randn_like(xt) if noise is None else noise)
    return x_prev


def guided_eps(eps_cond, eps_uncond, guidance):
    """Classifier-free guidance (Ho and Salimans, eq. 6): ``(1 + w) eps(x, y) - w eps(x)``, which moves
    the prediction further along the direction the label adds. ``w = 0`` is the plain conditional model.
    Introduced in notebooks/11_diffusion.ipynb."""
    return (1 + guidance) * eps_cond - guidance * eps_uncond


import torch


def predict_eps(model, x, t, labels=None, guidance=0.0):
    """``eps_theta(x_t, t, y)`` for a batch at one step ``t`` (an int), guided with weight ``guidance``
    when labels are given: the conditional and unconditional predictions come from one batch of twice
    the size. ``labels=None`` is the unconditional model. Introduced in notebooks/11_diffusion.ipynb."""
    steps = torch.full((len(x),), int(t), device=x.device, dtype=torch.long)
    if labels is None:
        return model(x, steps, None)
    if guidance == 0:
        return model(x, steps, labels)
    nothing = torch.full_like(labels, model.classes)
    eps_cond, eps_uncond = model(torch.cat([x, x]), torch.cat([steps, steps]), torch.cat([labels, nothing])).chunk(2)
    return guided_eps(eps_cond, eps_uncond, guidance)


def sampling_steps(T, steps):
    """The steps a sampler visits, from T down: ``steps`` values evenly spaced from T (DDIM's "trailing"
    spacing: T, T - T/S, ..., T/S), each followed by the next one and the last by 0 (the clean image).
    Returns ``[(t, s), ...]``. Introduced in notebooks/11_diffusion.ipynb."""
    if not 1 <= steps <= T:
        raise ValueError(f"steps must be between 1 and T = {T}, got {steps}")
    ts = torch.linspace(T, 0, steps + 1).round().long().tolist()
    return list(zip(ts[:-1], ts[1:]))


@torch.no_grad()
def sample_diffusion(model, schedule, n, steps=None, eta=0.0, labels=None, guidance=0.0, seed=0, clip=True,
                     record=None, batch_size=500, progress_bar=False):
    """``n`` images ``[n, 1, 28, 28]`` in [-1, 1] from the reverse process, starting at x_T ~ N(0, I).

    ``steps=None`` visits every step T..1 and ``eta=1`` makes each step DDPM's ancestral one (mean
    from :func:`q_posterior`, variance beta-tilde); fewer steps and ``eta=0`` is DDIM's deterministic sampler.
    ``labels`` (``[n]``) with ``guidance`` w turns on classifier-free guidance. ``clip`` keeps the predicted
    x_0 in [-1, 1] at each step (as the reference implementations do). Noise comes from a seeded CPU
    generator, so a seed gives the same images on every device. ``record`` (a list) receives
    ``(t, x_t, x0_hat)`` for the first batch at every step. Introduced in notebooks/11_diffusion.ipynb."""
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    plan = sampling_steps(schedule.T, steps or schedule.T)
    bars = torch.cat([torch.ones(1, dtype=torch.float64), schedule.alpha_bars])  # alpha_bar_0 = 1: the clean image
    out = []
    for start in range(0, n, batch_size):
        size = min(batch_size, n - start)
        x = torch.randn(size, 1, 28, 28, generator=generator).to(device)
        y = None if labels is None else labels[start:start + size].to(device)
        for t, s in progress(plan, desc="sampling", leave=False, disable=not progress_bar):
            eps = predict_eps(model, x, t, y, guidance)
            signal, noise_scale = float(bars[t].sqrt()), float((1 - bars[t]).sqrt())
            x0 = (x - noise_scale * eps) / signal
            if clip:  # keep x0_hat a possible image, and the noise consistent with it
                x0 = x0.clamp(-1, 1)
                eps = (x - signal * x0) / noise_scale
            if record is not None and start == 0:
                record.append((t, x.cpu(), x0.cpu()))
            noise = torch.randn(x.shape, generator=generator).to(device) if eta > 0 else None
            x = ddim_step(x, eps, bars[t], bars[s], eta, noise)
        out.append(x.cpu())
    return torch.cat(out)


def draw_labels(model, n, seed=0):
    """``n`` digit labels drawn (seeded) from the training set's label frequencies, which
    :func:`train_diffusion` stores in ``model.label_weights``. Introduced in notebooks/11_diffusion.ipynb."""
    return torch.multinomial(model.label_weights.cpu(), n, replacement=True,
                             generator=torch.Generator().manual_seed(seed + 1))


def diffusion_samples(model, schedule, n, steps, guidance=None, eta=0.0, seed=0):
    """Images for the judge, ``[n, 1, 28, 28]`` in [0, 1]: unconditional (``guidance=None``, the "no label"
    prediction) or guided with weight ``guidance`` for labels drawn by :func:`draw_labels`.
    Introduced in notebooks/11_diffusion.ipynb."""
    labels = None if guidance is None else draw_labels(model, n, seed)
    images = sample_diffusion(model, schedule, n, steps, eta, labels, guidance or 0.0, seed)
    return ((images + 1) / 2).clamp(0, 1)


import torch

from tutorial.metrics import judge_features


def within_label_spread(images, labels, real_images, real_labels, device=None):
    """Diversity within each digit, relative to real digits: for each digit, the mean standard deviation
    of the judge's features over the images of that label; averaged over the digits; divided by the same
    number for ``real_images`` with their ``real_labels``. 1 means as varied as real digits of one kind,
    smaller means samples of a digit look more alike. Images ``[N, 1, 28, 28]`` in [0, 1].
    Introduced in notebooks/11_diffusion.ipynb."""
    def spread(x, y):
        features = judge_features(x, device)
        per_digit = [features[y.cpu() == d].std(0).mean() for d in y.unique().tolist() if int((y == d).sum()) > 1]
        return torch.stack(per_digit).mean()

    return float(spread(images, labels) / spread(real_images, real_labels))
