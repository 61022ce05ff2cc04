"""The course's trained generators, each loaded (or trained, once) through its own notebook's train-or-load.

Every loader builds its generator with its notebook's settings for the profile and calls that notebook's
training function exactly as the notebook does, so the checkpoint the notebook saved is the one found; a
notebook opened on its own (a fresh Colab machine) trains what it borrows, with a progress bar. Each returns a
:class:`CourseGenerator`: one call, ``sample(n, seed)``, for every family, the training seconds its checkpoint
recorded and its size. Notebooks 03 and 07-12 borrow earlier generators through these; notebook 12 compares
them all (:func:`course_generators`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .cnn import mnist_tensors
from .profiles import pick_settings, seed_everything


@dataclass
class CourseGenerator:
    """A trained generator of the course behind one interface: ``sample(n, seed)`` returns ``n`` digits
    ``[n, 1, 28, 28]`` in [0, 1] on the CPU; ``train_seconds`` is what its checkpoint recorded; ``parameters``
    counts what sampling uses; ``model`` is the network behind it."""
    name: str
    notebook: str
    family: str
    sample: Callable[..., torch.Tensor]
    train_seconds: float
    parameters: int
    model: object = None  # the trained network itself (for the VQ-VAE: the autoencoder and its prior)


def count_parameters(*modules):
    """The number of parameters of ``modules`` together."""
    return sum(p.numel() for m in modules for p in m.parameters())


def trained_dcgan(profile, device):
    """Notebook 02's DCGAN (clusters from k-means), trained or loaded."""
    from .gan import GAN_SETTINGS, DCGANDiscriminator, DCGANGenerator, dcgan_init, sample_images, train_dcgan

    cfg = pick_settings(GAN_SETTINGS, profile)
    cfg["fashion"] = False  # the judge knows digits only
    seed_everything(0)
    generator = DCGANGenerator(cfg.nz, cfg.g_width, clusters=cfg.clusters).apply(dcgan_init)
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit)
    history, _ = train_dcgan(generator, DCGANDiscriminator(cfg.d_width, clusters=cfg.clusters).apply(dcgan_init),
                             images, cfg, device, live_every=0)
    return CourseGenerator("DCGAN", "02", "GAN", lambda n, seed=0: sample_images(generator, n, seed),
                           history.seconds, count_parameters(generator), generator)


def trained_vae(profile, device):
    """Notebook 03's convolutional VAE; samples are the decoder's means."""
    from .vae import VAE_SETTINGS, ConvVAE, train_vae, vae_samples

    cfg = pick_settings(VAE_SETTINGS, profile)
    seed_everything(0)
    model = ConvVAE(cfg.latent_dim, cfg.width, cfg.hidden)
    history = train_vae(model, mnist_tensors(train=True, limit=cfg.train_limit)[0], cfg, device, live_every=0)
    return CourseGenerator("VAE", "03", "VAE", lambda n, seed=0: vae_samples(model, n, seed), history.seconds,
                           count_parameters(model), model)


def trained_vq_vae(profile, device):
    """Notebook 07's VQ-VAE (EMA codebook) and its transformer prior, sampled at the notebook's judging
    temperature; the seconds are the two trainings'."""
    from .vq_vae import (VQ_VAE_SETTINGS, CodePrior, build_vq_vae, encode_images, train_prior, train_vq_vae,
                                 vq_vae_samples)

    cfg = pick_settings(VQ_VAE_SETTINGS, profile)
    cfg["fashion"] = False
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit)
    seed_everything(0)
    model = build_vq_vae(cfg, ema=True)
    vq_history = train_vq_vae(model, images, cfg, device, "mnist_vq_vae_ema", live_every=0)
    codes = encode_images(model, images)
    seed_everything(0)
    prior = CodePrior(cfg.codebook_size, codes[0].numel(), cfg.prior_width, cfg.prior_layers, cfg.prior_heads,
                      codebook=model.quantizer.codebook)
    prior_history = train_prior(prior, codes, cfg, device, "mnist_vq_vae_prior", live_every=0)
    return CourseGenerator(f"VQ-VAE, prior at T = {cfg.judge_temperature:g}", "07", "VQ-VAE",
                           lambda n, seed=0: vq_vae_samples(model, prior, n, cfg.judge_temperature, seed),
                           vq_history.seconds + prior_history.seconds, count_parameters(model, prior), (model, prior))


def _grown_gan(name, notebook, average, history):
    """Notebooks 08-10's generators: the weight average, sampled at 32x32 and cropped to 28x28 by
    ``progan_samples``."""
    from .progan import progan_samples

    return CourseGenerator(name, notebook, "GAN", lambda n, seed=0: progan_samples(average, n, seed),
                           history.seconds, count_parameters(average), average)


def trained_progan(profile, device):
    """Notebook 08's ProGAN (its weight average), grown to 32x32, samples cropped to 28x28."""
    from .progan import PROGAN_SETTINGS, ProGANDiscriminator, ProGANGenerator, train_progan

    cfg = pick_settings(PROGAN_SETTINGS, profile)
    cfg["fashion"] = False
    seed_everything(0)
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit)
    average, history, _ = train_progan(
        ProGANGenerator(cfg.nz, cfg.channels, clusters=cfg.clusters),
        ProGANDiscriminator(cfg.channels, clusters=cfg.clusters, mbstd_group=cfg.mbstd_group),
        images, cfg, device, live_every=0)
    return _grown_gan("ProGAN", "08", average, history)


def trained_stylegan(profile, device):
    """Notebook 09's StyleGAN (weight average, psi = 1), trained with notebook 08's loop."""
    from .bench.stylegan import build_stylegan
    from .progan import train_progan
    from .stylegan import STYLEGAN_SETTINGS

    cfg = pick_settings(STYLEGAN_SETTINGS, profile)
    cfg["fashion"] = False
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit)
    seed_everything(0)
    average, history, _ = train_progan(*build_stylegan(cfg), images, cfg, device, name="mnist_stylegan", live_every=0)
    return _grown_gan("StyleGAN", "09", average, history)


def trained_stylegan2(profile, device):
    """Notebook 10's StyleGAN2 (weight average, psi = 1)."""
    from .stylegan2 import STYLEGAN2_SETTINGS, StyleGAN2Discriminator, StyleGAN2Generator, train_stylegan2

    cfg = pick_settings(STYLEGAN2_SETTINGS, profile)
    cfg["fashion"] = False
    images, _ = mnist_tensors(train=True, limit=cfg.train_limit)
    seed_everything(0)
    generator = StyleGAN2Generator(cfg.nz, cfg.w_dim, cfg.channels, cfg.mapping_layers, cfg.mapping_lr,
                                   clusters=cfg.clusters, mixing_prob=cfg.mixing_prob, w_avg_beta=cfg.w_avg_beta)
    discriminator = StyleGAN2Discriminator(cfg.channels, clusters=cfg.clusters, mbstd_group=cfg.mbstd_group)
    average, history, _ = train_stylegan2(generator, discriminator, images, cfg, device, live_every=0)
    return _grown_gan("StyleGAN2", "10", average, history)


def trained_diffusion(profile, device):
    """Notebook 11's diffusion U-Net (weight average) as two generators: "no label" and the label with
    classifier-free guidance at the notebook's weight, both with its sampler (steps, eta)."""
    from .diffusion import DIFFUSION_SETTINGS, DiffusionUNet, diffusion_samples, make_schedule, train_diffusion

    cfg = pick_settings(DIFFUSION_SETTINGS, profile)
    seed_everything(0)
    images, labels = mnist_tensors(train=True, limit=cfg.train_limit)
    seed_everything(0)
    average, history = train_diffusion(DiffusionUNet(cfg.channels, cfg.emb_dim, cfg.patch), images, labels, cfg,
                                       device, live_every=0)
    schedule = make_schedule(cfg.schedule, cfg.timesteps)
    steps, eta, w = cfg.sample_steps, cfg.sample_eta, cfg.guidance
    size = count_parameters(average)
    return [
        CourseGenerator(f"diffusion, no label ({steps} steps)", "11", "diffusion",
                        lambda n, seed=0: diffusion_samples(average, schedule, n, steps, None, eta, seed),
                        history.seconds, size, average),
        CourseGenerator(f"diffusion, label, w = {w:g}", "11", "diffusion",
                        lambda n, seed=0: diffusion_samples(average, schedule, n, steps, w, eta, seed),
                        history.seconds, size, average),
    ]


LOADERS = [trained_dcgan, trained_vae, trained_vq_vae, trained_progan, trained_stylegan, trained_stylegan2,
           trained_diffusion]


def course_generators(profile=None, device=None):
    """Every generator of the course, in notebook order, each trained or loaded from its own notebook's
    checkpoint for ``profile``."""
    from .profiles import current_profile, pick_device

    profile = profile or current_profile()
    device = pick_device() if device is None else torch.device(device)
    found = []
    for load in LOADERS:
        loaded = load(profile, device)
        found += loaded if isinstance(loaded, list) else [loaded]
    return found
