# GENERATED from notebooks/01_cnn.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

CNN_SETTINGS = {
    "smoke": {  # seconds: CI runs the whole notebook in this profile; results are not meaningful
        "fashion": False, "train_limit": 1500, "test_limit": 1000, "batch_size": 50,
        "width": 4, "hidden": 32, "epochs": 1, "lenet_epochs": 1, "lr": 4e-3, "weight_decay": 5e-4,
        "augment_shift": 0.0, "live_every": 10, "act_max_steps": 15, "judge_reference": 500,
    },
    "laptop": {  # a few minutes on 2 CPU cores
        "fashion": False, "train_limit": None, "test_limit": None, "batch_size": 128,
        "width": 12, "hidden": 128, "epochs": 3, "lenet_epochs": 2, "lr": 4e-3, "weight_decay": 5e-4,
        "augment_shift": 0.0, "live_every": 50, "act_max_steps": 150, "judge_reference": 10000,
    },
    "full": {  # one GPU
        "fashion": False, "train_limit": None, "test_limit": None, "batch_size": 256,
        "width": 32, "hidden": 256, "epochs": 15, "lenet_epochs": 10, "lr": 4e-3, "weight_decay": 5e-4,
        "augment_shift": 2.0, "live_every": 50, "act_max_steps": 300, "judge_reference": 10000,
    },
}


import torch
import torch.nn.functional as F


def conv2d_naive(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution (a cross-correlation plus a bias) with explicit loops over output positions.

    ``x`` is ``[N, C, H, W]``, ``weight`` is ``[O, C, kh, kw]``, ``bias`` is ``[O]`` or None. Slow: for
    teaching and checking only. Introduced in notebooks/01_cnn.ipynb.
    """
    x = F.pad(x, (padding, padding, padding, padding))
    n, c, h, w = x.shape
    o, c_w, kh, kw = weight.shape
    if c != c_w:
        raise ValueError(f"input has {c} channels but the kernels expect {c_w}")
    out_h, out_w = (h - kh) // stride + 1, (w - kw) // stride + 1
    out = x.new_zeros(n, o, out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            patch = x[:, :, i * stride: i * stride + kh, j * stride: j * stride + kw]  # [N, C, kh, kw]
            out[:, :, i, j] = torch.einsum("nchw,ochw->no", patch, weight)  # sum over c, u, v
    if bias is not None:
        out = out + bias.view(1, o, 1, 1)
    return out


def conv2d_unfold(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution as ``unfold`` (im2col) followed by one matrix product.

    Same arguments and result as :func:`conv2d_naive` and ``F.conv2d``. Introduced in notebooks/01_cnn.ipynb.
    """
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    cols = F.unfold(x, (kh, kw), padding=padding, stride=stride)  # [N, C*kh*kw, L]
    out = weight.reshape(o, -1) @ cols  # [O, C*kh*kw] @ [N, C*kh*kw, L] -> [N, O, L]
    out_h = (h + 2 * padding - kh) // stride + 1
    out_w = (w + 2 * padding - kw) // stride + 1
    out = out.view(n, o, out_h, out_w)
    if bias is not None:
        out = out + bias.view(1, o, 1, 1)
    return out


def mnist_tensors(train=True, fashion=False, limit=None):
    """MNIST (or Fashion-MNIST) as two tensors: images ``[N, 1, 28, 28]`` float in [0, 1], labels ``[N]``.

    ``limit`` keeps the first ``limit`` examples. Introduced in notebooks/01_cnn.ipynb.
    """
    from tutorial import mnist_dataset

    dataset = mnist_dataset(train=train, fashion=fashion)
    images = dataset.data[:limit].unsqueeze(1).float().div_(255)
    labels = dataset.targets[:limit].clone()
    return images, labels


MNIST_MEAN, MNIST_STD = 0.1307, 0.3081  # pixel statistics of the MNIST training set


import torch.nn as nn


class LeNet(nn.Module):
    """LeNet-5 style digit classifier: conv 5x5 (6) - pool - conv 5x5 (16) - pool - 120 - 84 - classes.

    Inputs are ``[N, 1, 28, 28]`` in [0, 1]. ``features(x)`` is the 84-dimensional penultimate layer.
    Introduced in notebooks/01_cnn.ipynb.
    """

    def __init__(self, classes=10):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),   # 28 -> 28 -> 14
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),             # 14 -> 10 -> 5
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU())
        self.classify = nn.Linear(84, classes)

    def features(self, x):
        return self.head(self.body((x - MNIST_MEAN) / MNIST_STD))

    def forward(self, x):
        return self.classify(self.features(x))


import torch.nn as nn


def conv_bn_relu(c_in, c_out):
    """3x3 convolution ("same" padding, no bias), batch norm, ReLU. Introduced in notebooks/01_cnn.ipynb."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class SmallVGG(nn.Module):
    """A small VGG-style classifier: three stages of two 3x3 conv-BN-ReLU layers and a 2x2 max pool
    (28 -> 14 -> 7 -> 3 pixels; ``width``, 2x and 4x channels), then a hidden layer and the classifier.

    Inputs are ``[N, 1, 28, 28]`` in [0, 1]. ``features(x)`` is the ``hidden``-dimensional penultimate layer
    (used by :mod:`tutorial.metrics` to judge generated digits). Introduced in notebooks/01_cnn.ipynb.
    """

    def __init__(self, width=16, hidden=128, classes=10, dropout=0.25):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            conv_bn_relu(1, w), conv_bn_relu(w, w), nn.MaxPool2d(2),                # 28 -> 14
            conv_bn_relu(w, 2 * w), conv_bn_relu(2 * w, 2 * w), nn.MaxPool2d(2),    # 14 -> 7
            conv_bn_relu(2 * w, 4 * w), conv_bn_relu(4 * w, 4 * w), nn.MaxPool2d(2),  # 7 -> 3
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * w * 3 * 3, hidden, bias=False),
                                  nn.BatchNorm1d(hidden), nn.ReLU(inplace=True))
        self.dropout = nn.Dropout(dropout)
        self.classify = nn.Linear(hidden, classes)

    def features(self, x):
        return self.head(self.body((x - MNIST_MEAN) / MNIST_STD))

    def forward(self, x):
        return self.classify(self.dropout(self.features(x)))


import math

import torch
import torch.nn.functional as F

from tutorial.profiles import Settings
from tutorial.training import LossHistory, check_finite, progress, train_or_load


def random_shift(images, max_shift):
    """Translate each image by its own random offset of up to ``max_shift`` pixels (bilinear, zero fill).

    Introduced in notebooks/01_cnn.ipynb.
    """
    n = images.shape[0]
    theta = torch.zeros(n, 2, 3, device=images.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = (torch.rand(n, 2, device=images.device) * 2 - 1) * (2 * max_shift / images.shape[-1])
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    return F.grid_sample(images, grid, padding_mode="zeros", align_corners=False)


def classifier_checkpoint_settings(model, cfg, epochs):
    """What identifies a trained classifier: its architecture and the settings that shape its training.

    The one-cycle learning rate at every step depends on the run's total length, so that length is part of
    what the run is (``one_cycle_epochs``): a longer run is a new run, not the shorter one continued.
    Introduced in notebooks/01_cnn.ipynb.
    """
    keys = ("fashion", "train_limit", "batch_size", "lr", "weight_decay", "augment_shift")
    values = {**{k: cfg[k] for k in keys}, "one_cycle_epochs": epochs, "architecture": repr(model)}
    return Settings(values, getattr(cfg, "profile", None))


def train_classifier(model, cfg, device, epochs=None, images=None, labels=None, name=None, force=False,
                     live_every=None, quiet=False):
    """Train ``model`` on MNIST (Fashion-MNIST when ``cfg.fashion``) or load it from its checkpoint.

    Cross-entropy, AdamW, a one-cycle learning rate schedule; ``cfg`` gives batch size, learning rate,
    epochs, training subset and augmentation. ``images``/``labels`` default to the training set. The
    checkpoint is called ``name`` (default ``mnist_<model class>``). Returns the :class:`LossHistory`.
    Introduced in notebooks/01_cnn.ipynb.
    """
    epochs = cfg.epochs if epochs is None else epochs
    if images is None:
        images, labels = mnist_tensors(train=True, fashion=cfg.fashion, limit=cfg.train_limit)
    name = name or f"{'fashion' if cfg.fashion else 'mnist'}_{type(model).__name__.lower()}"
    settings = classifier_checkpoint_settings(model, cfg, epochs)
    model.to(device)
    images, labels = images.to(device), labels.to(device)  # the whole set lives on the device
    steps_per_epoch = math.ceil(len(images) / cfg.batch_size)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=cfg.lr, total_steps=epochs * steps_per_epoch,
                                                   pct_start=0.2)
    live_every = cfg.live_every if live_every is None else live_every
    history = LossHistory(live_every=live_every, title=f"{name}: training loss and batch accuracy")

    def train_epoch(epoch):
        model.train()
        order = torch.randperm(len(images)).to(device)
        bar = progress(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{epochs}", disable=quiet)
        for i in bar:
            index = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            x, y = images[index], labels[index]
            if cfg.augment_shift:
                x = random_shift(x, cfg.augment_shift)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            step = epoch * steps_per_epoch + i
            history.log(step, loss=check_finite(loss, step), accuracy=(logits.argmax(1) == y).float().mean())
        if live_every:
            history.show()

    modules = {"model": model, "optimizer": optimizer, "schedule": schedule}
    train_or_load(name, settings, modules, epochs, train_epoch, history=history, force=force, quiet=quiet)
    model.eval()
    return history


@torch.no_grad()
def predict_proba(model, images, device, batch_size=1000):
    """Class probabilities ``[N, classes]`` (softmax), computed in eval mode in batches; on the CPU.

    Introduced in notebooks/01_cnn.ipynb.
    """
    was_training = model.training
    model.eval()
    out = [F.softmax(model(images[i:i + batch_size].to(device)), dim=1).cpu()
           for i in range(0, len(images), batch_size)]
    model.train(was_training)
    return torch.cat(out)


def evaluate_classifier(model, images, labels, device, batch_size=1000):
    """Accuracy, confusion matrix (rows: true class, columns: predicted) and per-image probabilities.

    Returns a dict: ``accuracy`` (float), ``confusion`` ``[K, K]`` counts, ``probs`` ``[N, K]``,
    ``predictions`` ``[N]``. Introduced in notebooks/01_cnn.ipynb.
    """
    probs = predict_proba(model, images, device, batch_size)
    predictions = probs.argmax(1)
    k = probs.shape[1]
    confusion = torch.bincount(labels.cpu() * k + predictions, minlength=k * k).view(k, k)
    return {"accuracy": float((predictions == labels.cpu()).float().mean()), "confusion": confusion,
            "probs": probs, "predictions": predictions}
