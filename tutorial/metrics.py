"""The course's judge for generated digits: a Fréchet distance in the features of our own MNIST classifier,
plus class confidence and class coverage.

The judge is the ``SmallVGG`` of notebooks/01_cnn.ipynb, trained (or loaded from its checkpoint) with the
current profile's ``CNN_SETTINGS``; notebooks 02 (GAN) and 03 (VAE) and their benchmarks call it.

- :func:`frechet_distance`: the Fréchet (2-Wasserstein) distance between Gaussians fitted to two feature sets.
- :func:`mnist_judge`: the trained classifier, in eval mode, frozen; cached per profile, device and checkpoint.
  A notebook opened on its own (a fresh Colab machine) trains it on first use, in any gradient mode.
- :func:`judge_features`: its penultimate-layer features for images ``[N, 1, 28, 28]`` in [0, 1].
- :func:`judge_probabilities`: its softmax over the ten digits for each image.
- :func:`judge_samples`: ``fid_mnist`` against the MNIST test (or train) set, confidence and coverage.
- :func:`judge_calibration`: the same numbers for sets of known quality (real, blurred, noisy, one class).

``fid_mnist`` is NOT comparable with the FID of papers (Inception-v3 features of 299x299 colour images):
compare it only with itself, same profile, same number of images.
"""
from __future__ import annotations

import time
from pathlib import Path

import torch
from torch import Tensor, nn

from .profiles import pick_device, pick_settings

CONFIDENT = 0.9  # a prediction counts as confident when its softmax probability is at least this

_JUDGES: dict[tuple, nn.Module] = {}
_REFERENCE_STATS: dict[tuple, tuple[Tensor, Tensor]] = {}


def _statistics(features: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``[D]`` and covariance ``[D, D]`` (unbiased) of ``features`` ``[N, D]``, in float64."""
    if features.dim() != 2 or features.shape[0] < 2:
        raise ValueError(f"features must be [N, D] with N >= 2, got {tuple(features.shape)}")
    f = features.detach().to("cpu", torch.float64)
    mu = f.mean(0)
    centred = f - mu
    return mu, centred.T @ centred / (f.shape[0] - 1)


def _sqrt_psd(matrix: Tensor) -> Tensor:
    """Square root of a symmetric positive semi-definite matrix (tiny negative eigenvalues clipped to 0)."""
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp_min(0).sqrt()) @ vectors.T


def frechet_from_statistics(mu_a: Tensor, sigma_a: Tensor, mu_b: Tensor, sigma_b: Tensor) -> float:
    """``|mu_a - mu_b|^2 + tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2)``, in float64.

    ``(S_a S_b)^1/2`` has the same trace as ``(S_a^1/2 S_b S_a^1/2)^1/2``, which is symmetric, so its
    eigenvalues come from ``eigvalsh`` with no complex numbers and no scipy.
    """
    mu_a, mu_b, sigma_a, sigma_b = (t.to("cpu", torch.float64) for t in (mu_a, mu_b, sigma_a, sigma_b))
    root_a = _sqrt_psd(sigma_a)
    middle = root_a @ sigma_b @ root_a
    trace_sqrt = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp_min(0).sqrt().sum()
    value = (mu_a - mu_b).square().sum() + torch.trace(sigma_a) + torch.trace(sigma_b) - 2 * trace_sqrt
    return max(float(value), 0.0)


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """Fréchet distance (squared, as in FID) between Gaussians fitted to two feature sets ``[N, D]``, ``[M, D]``."""
    if features_a.shape[1:] != features_b.shape[1:]:
        raise ValueError(f"feature sizes differ: {tuple(features_a.shape)} vs {tuple(features_b.shape)}")
    return frechet_from_statistics(*_statistics(features_a), *_statistics(features_b))


def _settings(profile: str | None):
    from .cnn import CNN_SETTINGS

    cfg = pick_settings(CNN_SETTINGS, profile)
    cfg["fashion"] = False  # the judge is always the digit classifier
    return cfg


def _checkpoint_path(cfg) -> str:
    from .cnn import SmallVGG, classifier_checkpoint_settings
    from .training import Checkpoint

    with torch.random.fork_rng(devices=[]):  # building the model draws random weights: keep the caller's stream
        model = SmallVGG(cfg.width, cfg.hidden)
    return str(Checkpoint("mnist_smallvgg", classifier_checkpoint_settings(model, cfg, cfg.epochs)).path)


def mnist_judge(device=None, profile: str | None = None) -> nn.Module:
    """The course classifier (``SmallVGG`` with the profile's ``CNN_SETTINGS``), trained or loaded from its
    checkpoint; in eval mode, gradients off. Cached in memory per profile, device and checkpoint file."""
    cfg = _settings(profile)
    device = pick_device() if device is None else torch.device(device)
    key = (cfg.profile, str(device), _checkpoint_path(cfg))
    if key not in _JUDGES:
        from .cnn import SmallVGG, train_classifier
        from .training import autograd_on

        path = Path(key[2])
        trained_here = not path.exists()
        if trained_here:
            print(f"The judge of generated digits (notebook 01's SmallVGG classifier, profile '{cfg.profile}') "
                  f"has no checkpoint in {path.parent} yet, so it is trained now, once ({cfg.epochs} epoch(s)); "
                  "every later notebook in this profile loads it.", flush=True)
        started = time.perf_counter()
        # Training the judge must neither disturb the caller's random stream nor depend on the caller's
        # gradient mode: an evaluation asks for the judge inside torch.no_grad().
        with torch.random.fork_rng(devices=[]), autograd_on():
            torch.manual_seed(0)
            model = SmallVGG(cfg.width, cfg.hidden)
            train_classifier(model, cfg, device, name="mnist_smallvgg", live_every=0)
        if trained_here:
            print(f"Judge trained in {time.perf_counter() - started:.0f} s and saved to {path.name}.", flush=True)
        _JUDGES[key] = model.to(device).eval().requires_grad_(False)
    return _JUDGES[key]


def _check_images(images: Tensor) -> Tensor:
    if images.dim() == 3:
        images = images[:, None]
    if images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28):
        raise ValueError(f"the judge takes images [N, 1, 28, 28], got {tuple(images.shape)}")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(f"the judge takes pixels in [0, 1], got values in [{lo:.3f}, {hi:.3f}]. "
                         "For tanh outputs in [-1, 1] pass (x + 1) / 2.")
    return images.float()


def _features_and_probs(images: Tensor, device=None, profile: str | None = None,
                        batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    images = _check_images(images)
    judge = mnist_judge(device, profile)  # may train it first: outside the no_grad block below
    dev = next(judge.parameters()).device
    feats, probs = [], []
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            f = judge.features(images[i:i + batch_size].to(dev))
            feats.append(f.cpu())
            probs.append(torch.softmax(judge.classify(f), dim=1).cpu())
    return torch.cat(feats), torch.cat(probs)


def judge_features(images: Tensor, device=None, profile: str | None = None) -> Tensor:
    """Penultimate-layer features ``[N, hidden]`` (on the CPU) of the judge for images ``[N, 1, 28, 28]`` in [0, 1]."""
    return _features_and_probs(images, device, profile)[0]


def judge_probabilities(images: Tensor, device=None, profile: str | None = None) -> Tensor:
    """The judge's class probabilities ``[N, 10]`` (softmax, on the CPU) for images ``[N, 1, 28, 28]`` in [0, 1]."""
    return _features_and_probs(images, device, profile)[1]


def _reference_statistics(reference: str, device=None, profile: str | None = None) -> tuple[Tensor, Tensor]:
    if reference not in ("test", "train"):
        raise ValueError(f"reference must be 'test' or 'train', not {reference!r}")
    cfg = _settings(profile)
    device = pick_device() if device is None else torch.device(device)
    key = (cfg.profile, reference, _checkpoint_path(cfg))
    if key not in _REFERENCE_STATS:
        from .cnn import mnist_tensors

        images, _ = mnist_tensors(train=reference == "train", limit=cfg.judge_reference)
        _REFERENCE_STATS[key] = _statistics(judge_features(images, device, profile))
    return _REFERENCE_STATS[key]


def judge_samples(images: Tensor, device=None, reference: str = "test", profile: str | None = None) -> dict:
    """Score a set of digit images ``[N, 1, 28, 28]`` in [0, 1] with the judge.

    Returns ``fid_mnist`` (Fréchet distance to the first ``judge_reference`` MNIST ``reference`` images, in
    the judge's feature space; not comparable with Inception FID), ``confident_fraction`` (share with max
    softmax >= 0.9), ``mean_confidence``, ``class_shares`` (share predicted as each digit 0-9),
    ``min_class_share`` (0 when a digit never appears) and ``n``.
    """
    features, probs = _features_and_probs(images, device, profile)
    mu, sigma = _reference_statistics(reference, device, profile)
    confidence, predicted = probs.max(1)
    shares = torch.bincount(predicted, minlength=probs.shape[1]).double() / len(predicted)
    return {
        "fid_mnist": frechet_from_statistics(*_statistics(features), mu, sigma),
        "confident_fraction": float((confidence >= CONFIDENT).double().mean()),
        "min_class_share": float(shares.min()),
        "class_shares": [float(s) for s in shares],
        "mean_confidence": float(confidence.double().mean()),
        "n": int(len(images)),
    }


def judge_calibration(n: int | None = None, device=None, profile: str | None = None) -> list[dict]:
    """:func:`judge_samples` for sets of known quality, ``n`` images each (default: ``judge_reference``).

    Real MNIST training digits (the floor), the same blurred (Gaussian, sigma 1) and with Gaussian noise
    (sigma 0.3), only ones, only digits 0-4, and uniform noise. Returns one dict per set with a ``set`` name.
    """
    from torchvision.transforms.functional import gaussian_blur

    from .cnn import mnist_tensors

    cfg = _settings(profile)
    n = n or cfg.judge_reference
    images, labels = mnist_tensors(train=True)
    generator = torch.Generator().manual_seed(0)
    real = images[:n]
    sets = {
        "MNIST train (the floor)": real,
        "train, blurred (sigma 1)": gaussian_blur(real, kernel_size=5, sigma=1.0),
        "train + noise (sigma 0.3)": (real + 0.3 * torch.randn(real.shape, generator=generator)).clamp(0, 1),
        "train, only ones": images[labels == 1][:n],
        "train, only digits 0-4": images[labels < 5][:n],
        "uniform noise": torch.rand(real.shape, generator=generator),
    }
    return [{"set": name, **judge_samples(x, device, "test", profile)} for name, x in sets.items()]
