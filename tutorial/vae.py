# GENERATED from notebooks/03_vae.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

VAE_SETTINGS = {
    "smoke": {  # seconds: CI runs the whole notebook in this profile; results are not meaningful
        "train_limit": 512, "test_limit": 256, "batch_size": 64, "epochs": 1, "latent_dim": 16, "width": 8,
        "hidden": 64, "lr": 2e-3, "live_every": 4, "manifold_epochs": 1, "iwae_k": 8, "iwae_limit": 64,
        "n_judge": 500, "binarize_seed": 0,
    },
    "laptop": {  # a few minutes on 2 CPU cores
        "train_limit": None, "test_limit": None, "batch_size": 64, "epochs": 10, "latent_dim": 32, "width": 16,
        "hidden": 256, "lr": 2e-3, "live_every": 50, "manifold_epochs": 2, "iwae_k": 64, "iwae_limit": 2000,
        "n_judge": 10000, "binarize_seed": 0,
    },
    "full": {  # one GPU
        "train_limit": None, "test_limit": None, "batch_size": 128, "epochs": 60, "latent_dim": 32, "width": 64,
        "hidden": 512, "lr": 2e-3, "live_every": 100, "manifold_epochs": 20, "iwae_k": 1000,
        "iwae_limit": None, "n_judge": 10000, "binarize_seed": 0,
    },
}


import torch


def binarize(images, generator=None):
    """Each pixel becomes 1 with probability equal to its value in [0, 1] (dynamic binarisation).
    Introduced in notebooks/03_vae.ipynb."""
    return torch.bernoulli(images, generator=generator)


def binarized_mnist_test(limit=None, seed=0):
    """The MNIST test images binarised once with a fixed seed: ``[N, 1, 28, 28]`` of 0.0 and 1.0, the same
    images in every run. Introduced in notebooks/03_vae.ipynb."""
    from tutorial.cnn import mnist_tensors

    images, _ = mnist_tensors(train=False, limit=limit)
    return binarize(images, torch.Generator().manual_seed(seed))


import torch
import torch.nn.functional as F


def gaussian_kl(mu, logvar):
    """KL( N(mu, diag exp(logvar)) || N(0, I) ) per example, summed over the last dimension:
    ``0.5 * sum(mu^2 + exp(logvar) - 1 - logvar)``. Introduced in notebooks/03_vae.ipynb."""
    return 0.5 * (mu.square() + logvar.exp() - 1 - logvar).sum(-1)


def reparameterize(mu, logvar, eps=None):
    """A sample ``z = mu + sigma * eps`` with ``eps ~ N(0, I)`` (drawn here if not given), ``sigma =
    exp(logvar / 2)``: differentiable in ``mu`` and ``logvar``. Introduced in notebooks/03_vae.ipynb."""
    if eps is None:
        eps = torch.randn_like(mu)
    return mu + torch.exp(0.5 * logvar) * eps


def bernoulli_log_likelihood(logits, x):
    """``log p(x | z)`` of binary images ``x`` under independent Bernoullis with these logits, summed over
    all pixels: one number per image, in nats. Introduced in notebooks/03_vae.ipynb."""
    return -F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(1)


import torch
from torch import nn


class ConvVAE(nn.Module):
    """Convolutional VAE for 28x28 images: a Gaussian encoder q(z|x) = N(mu, diag exp(logvar)) and a decoder
    that outputs Bernoulli logits ``[N, 1, 28, 28]``. ``forward(x)`` returns ``(logits, mu, logvar)``.
    Introduced in notebooks/03_vae.ipynb."""

    def __init__(self, latent_dim=32, width=32, hidden=256):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.ReLU(inplace=True),                  # 28 -> 14
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.ReLU(inplace=True),          # 14 -> 7
            nn.Flatten(), nn.Linear(2 * width * 49, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, 2 * latent_dim),                                    # mu and logvar
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, 2 * width * 49), nn.ReLU(inplace=True), nn.Unflatten(1, (2 * width, 7, 7)),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(inplace=True),  # 7 -> 14
            nn.ConvTranspose2d(width, 1, 4, 2, 1),                                # 14 -> 28: logits
        )

    def encode(self, x):
        mu, logvar = self.encoder(x).chunk(2, dim=1)
        return mu, logvar

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(reparameterize(mu, logvar)), mu, logvar


def elbo(model, x, beta=1.0):
    """One-sample estimate of the ELBO per image, ``log p(x|z) - beta * KL(q(z|x) || p(z))`` with
    ``z ~ q(z|x)``; returns ``(elbo [N], reconstruction [N], kl [N])`` in nats (beta = 1 is the true bound).
    Introduced in notebooks/03_vae.ipynb."""
    logits, mu, logvar = model(x)
    reconstruction = bernoulli_log_likelihood(logits, x)
    kl = gaussian_kl(mu, logvar)
    return reconstruction - beta * kl, reconstruction, kl


import math

import torch

from tutorial.profiles import Settings
from tutorial.training import LossHistory, check_finite, progress, train_or_load


@torch.no_grad()
def evaluate_elbo(model, images, device, batch_size=1000):
    """Mean ELBO terms over binary ``images``: ``{"neg_elbo", "reconstruction", "kl"}`` in nats per image
    (one sample of z per image). Introduced in notebooks/03_vae.ipynb."""
    was_training = model.training
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64)
    for i in range(0, len(images), batch_size):
        value, rec, kl = elbo(model, images[i:i + batch_size].to(device))
        totals += torch.stack([-value.sum(), rec.sum(), kl.sum()]).double().cpu()
    model.train(was_training)
    neg_elbo, rec, kl = (totals / len(images)).tolist()
    return {"neg_elbo": neg_elbo, "reconstruction": rec, "kl": kl}


def train_vae(model, images, cfg, device, test_images=None, epochs=None, name=None, beta=1.0, live_every=None,
              quiet=False, force=False):
    """Train ``model`` on grey ``images`` ``[N, 1, 28, 28]`` in [0, 1], binarised afresh for every batch,
    by minimising ``-ELBO`` (with ``beta`` on the KL term), or load it from its checkpoint.

    Adam with a one-cycle schedule peaking at ``cfg.lr``; logs ``neg_elbo``, ``reconstruction`` and ``kl`` per step and, if ``test_images``
    (binary) are given, ``test_neg_elbo`` after each epoch. Returns the :class:`LossHistory`.
    Introduced in notebooks/03_vae.ipynb.
    """
    epochs = cfg.epochs if epochs is None else epochs
    name = name or f"mnist_vae{model.latent_dim}"
    model.to(device)
    data = images.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps_per_epoch = math.ceil(len(data) / cfg.batch_size)
    # one cycle: a short warm-up to cfg.lr, then a cosine decay to ~0 over all epochs
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=epochs * steps_per_epoch,
                                                   pct_start=0.1)
    live_every = cfg.live_every if live_every is None else live_every
    history = LossHistory(live_every=live_every, title=f"{name}: -ELBO and its terms (nats per image)", smooth=20)

    def train_epoch(epoch):
        model.train()
        order = torch.randperm(len(data), device=device)
        bar = progress(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{epochs}", disable=quiet)
        for i in bar:
            x = binarize(data[order[i * cfg.batch_size:(i + 1) * cfg.batch_size]])  # dynamic binarisation
            value, reconstruction, kl = elbo(model, x, beta)
            loss = -value.mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step = epoch * steps_per_epoch + i
            history.log(step, neg_elbo=check_finite(loss, step, "-ELBO"),
                        reconstruction=-reconstruction.detach().mean(), kl=kl.detach().mean())
        if test_images is not None:
            history.log(step, test_neg_elbo=evaluate_elbo(model, test_images, device)["neg_elbo"])
        if live_every:
            history.show()

    values = {"train_limit": len(images), "batch_size": cfg.batch_size, "lr": cfg.lr, "beta": beta,
              "one_cycle_epochs": epochs, "architecture": repr(model)}  # a longer one-cycle run is a new run
    settings = Settings(values, getattr(cfg, "profile", None))
    train_or_load(name, settings, {"model": model, "optimizer": optimizer, "schedule": schedule}, epochs, train_epoch, history=history,
                  force=force, quiet=quiet)
    model.eval()
    return history


@torch.no_grad()
def vae_samples(model, n, seed=0, batch_size=1000):
    """``n`` images decoded from ``z ~ N(0, I)`` (seeded): the Bernoulli *means* (pixel probabilities) in
    [0, 1], as usual for showing and judging VAE samples. Introduced in notebooks/03_vae.ipynb."""
    z = torch.randn(n, model.latent_dim, generator=torch.Generator().manual_seed(seed))
    device = next(model.parameters()).device
    return torch.cat([torch.sigmoid(model.decode(z[i:i + batch_size].to(device))).cpu()
                      for i in range(0, n, batch_size)])


import math

import torch
from torch.distributions import Normal


@torch.no_grad()
def iwae_log_likelihood(model, images, k, device, batch_size=None):
    """Importance-weighted estimate of ``log p(x)`` per image (Burda et al., 2016) with ``k`` samples of
    ``z ~ q(z|x)``: ``logsumexp_i [log p(x|z_i) + log p(z_i) - log q(z_i|x)] - log k``. With ``k = 1`` it
    is a one-sample ELBO. Returns ``[N]`` in nats, on the CPU. Introduced in notebooks/03_vae.ipynb."""
    was_training = model.training
    model.eval()
    batch_size = batch_size or max(1, 20000 // k)
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        mu, logvar = model.encode(x)
        std = torch.exp(0.5 * logvar)
        z = mu + std * torch.randn(k, *mu.shape, device=device)            # [k, B, d]
        logits = model.decode(z.flatten(0, 1)).view(k, *x.shape)           # [k, B, 1, 28, 28]
        log_px_z = bernoulli_log_likelihood(logits.flatten(0, 1), x.expand(k, *x.shape).flatten(0, 1)).view(k, -1)
        log_pz = Normal(0.0, 1.0).log_prob(z).sum(-1)
        log_qz = Normal(mu, std).log_prob(z).sum(-1)
        out.append((torch.logsumexp(log_px_z + log_pz - log_qz, dim=0) - math.log(k)).cpu())
    model.train(was_training)
    return torch.cat(out)
