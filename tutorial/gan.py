# GENERATED from notebooks/02_gan.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

GAN_SETTINGS = {
    "smoke": {  # seconds: CI runs the whole notebook in this profile; results are not meaningful
        "fashion": False, "train_limit": 512, "batch_size": 64, "epochs": 1, "nz": 64, "g_width": 8,
        "d_width": 8, "clusters": 10, "lr": 2e-4, "beta1": 0.5, "live_every": 4, "n_judge": 500,
        "toy_steps": 20, "toy_batch": 32, "toy_pack": 4, "toy_g_steps": 5, "toy_snapshots": 4,
    },
    "laptop": {  # minutes on 2 CPU cores: small batches give more updates in the time
        "fashion": False, "train_limit": None, "batch_size": 32, "epochs": 5, "nz": 64, "g_width": 16,
        "d_width": 16, "clusters": 50, "lr": 2e-4, "beta1": 0.5, "live_every": 250, "n_judge": 10000,
        "toy_steps": 1000, "toy_batch": 128, "toy_pack": 4, "toy_g_steps": 5, "toy_snapshots": 6,
    },
    "full": {  # one GPU
        "fashion": False, "train_limit": None, "batch_size": 128, "epochs": 20, "nz": 100, "g_width": 32,
        "d_width": 64, "clusters": 50, "lr": 2e-4, "beta1": 0.5, "live_every": 100, "n_judge": 10000,
        "toy_steps": 2000, "toy_batch": 128, "toy_pack": 4, "toy_g_steps": 5, "toy_snapshots": 6,
    },
}


import torch
import torch.nn.functional as F


def discriminator_loss(real_logits, fake_logits):
    """The discriminator's loss, ``-V(D, G)`` for one batch: ``-mean log D(x) - mean log(1 - D(G(z)))``.

    Takes logits (``D = sigmoid(logit)``) and uses ``-log sigmoid(a) = softplus(-a)``,
    ``-log(1 - sigmoid(a)) = softplus(a)``, which never take the log of 0. Introduced in notebooks/02_gan.ipynb.
    """
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def generator_loss_saturating(fake_logits):
    """The minimax generator loss ``mean log(1 - D(G(z)))`` (to minimise). Its gradient vanishes when the
    discriminator rejects the fakes confidently: shown for teaching, not used. Introduced in notebooks/02_gan.ipynb.
    """
    return -F.softplus(fake_logits).mean()


def generator_loss(fake_logits):
    """The non-saturating generator loss ``-mean log D(G(z))``, the one GANs are trained with.
    Introduced in notebooks/02_gan.ipynb."""
    return F.softplus(-fake_logits).mean()


def conv_transpose_output_size(size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """Output height (or width) of ``nn.ConvTranspose2d`` for an input of height ``size``:
    ``(size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``.
    Introduced in notebooks/02_gan.ipynb."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1


import torch


def kmeans(points, k, iters=30, seed=0):
    """k-means clustering of ``points`` ``[N, D]`` into ``k`` groups: k-means++ start, then Lloyd's
    iterations until no point changes group (at most ``iters``). Returns ``(groups, centres)``: ``[N]``
    long and ``[k, D]``. Introduced in notebooks/02_gan.ipynb."""
    rng = torch.Generator().manual_seed(seed)
    points = points.float()
    # k-means++: each next centre is drawn with probability proportional to the squared distance to the
    # nearest centre so far (the clamp keeps the draw defined when all points coincide)
    centres = points[torch.randint(len(points), (1,), generator=rng)]
    nearest = torch.cdist(points, centres)[:, 0].pow(2)
    for _ in range(k - 1):
        new = points[torch.multinomial(nearest.clamp_min(1e-12), 1, generator=rng)]
        centres = torch.cat([centres, new])
        nearest = torch.minimum(nearest, torch.cdist(points, new)[:, 0].pow(2))
    groups = torch.cdist(points, centres).argmin(1)
    for _ in range(iters):
        counts = torch.bincount(groups, minlength=k)
        sums = torch.zeros_like(centres).index_add_(0, groups, points)
        centres = torch.where(counts[:, None] > 0, sums / counts.clamp_min(1)[:, None], centres)  # the means
        new_groups = torch.cdist(points, centres).argmin(1)  # each point to its nearest centre
        if torch.equal(new_groups, groups):
            break
        groups = new_groups
    return groups, centres


def cluster_images(images, k, seed=0):
    """k-means groups of ``images`` ``[N, C, H, W]`` by their raw pixels (no labels): ``[N]`` long.
    Introduced in notebooks/02_gan.ipynb."""
    return kmeans(images.flatten(1), k, seed=seed)[0]


def cluster_purity(groups, labels):
    """The share of items whose label is the most common label of their group (1.0: each group holds one
    class). Labels measure clusters here; they never make them. Introduced in notebooks/02_gan.ipynb."""
    groups, labels = groups.long(), labels.long()
    table = torch.zeros(int(groups.max()) + 1, int(labels.max()) + 1)
    table.index_put_((groups, labels), torch.ones(len(groups)), accumulate=True)
    return (table.max(1).values.sum() / len(groups)).item()


import torch
import torch.nn.functional as F
from torch import nn


class DCGANGenerator(nn.Module):
    """DCGAN generator for 28x28 images: noise ``[N, nz]`` (or ``[N, nz, 1, 1]``) -> images ``[N, C, 28, 28]``
    in [-1, 1] (tanh). Transposed convolutions 1 -> 7 -> 14 -> 28 (4w, 2w, w channels), batch norm and ReLU
    after each, then a 3x3 convolution to the image.

    With ``clusters`` = K > 0 it also takes a cluster per image, ``[N]`` long (or ``[N, K]`` float, a mix of
    one-hot codes), stacked as a one-hot code next to the noise; the buffer ``cluster_weights`` holds how
    often to draw each cluster (the training set's frequencies, set by ``train_dcgan``).
    Introduced in notebooks/02_gan.ipynb."""

    def __init__(self, nz=64, width=16, channels=1, clusters=0):
        super().__init__()
        self.nz, self.clusters = nz, clusters
        if clusters:
            self.register_buffer("cluster_weights", torch.full((clusters,), 1 / clusters))
        self.net = nn.Sequential(
            nn.ConvTranspose2d(nz + clusters, 4 * width, 7, 1, 0, bias=False),  # 1x1 -> 7x7
            nn.BatchNorm2d(4 * width), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(4 * width, 2 * width, 4, 2, 1, bias=False),  # 7 -> 14
            nn.BatchNorm2d(2 * width), nn.ReLU(inplace=True),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1, bias=False),      # 14 -> 28
            nn.BatchNorm2d(width), nn.ReLU(inplace=True),
            nn.Conv2d(width, channels, 3, 1, 1),                            # 28 -> 28: the image
            nn.Tanh(),
        )

    def forward(self, z, cluster=None):
        z = z.view(z.shape[0], self.nz, 1, 1)
        if self.clusters:
            if cluster is None:
                raise ValueError(f"this generator has {self.clusters} clusters: pass one per image")
            code = cluster if cluster.is_floating_point() else F.one_hot(cluster, self.clusters)
            z = torch.cat([z, code.to(z.dtype).view(-1, self.clusters, 1, 1)], 1)
        return self.net(z)


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator for 28x28 images: ``[N, C, 28, 28]`` in [-1, 1] -> one logit per image ``[N]``.
    Strided convolutions 28 -> 14 -> 7 -> 4 (w, 2w, 4w channels), LeakyReLU(0.2), batch norm except on the
    input layer, and a 4x4 convolution to the logit.

    With ``clusters`` = K > 0 it also takes each image's cluster ``[N]`` and adds the projection term
    (Miyato and Koyama, 2018): a learned vector per cluster dotted with the last features summed over
    positions. Introduced in notebooks/02_gan.ipynb."""

    def __init__(self, width=32, channels=1, clusters=0):
        super().__init__()
        self.clusters = clusters
        if clusters:
            self.embed = nn.Embedding(clusters, 4 * width)  # e_c, one vector per cluster
        self.net = nn.Sequential(
            nn.Conv2d(channels, width, 4, 2, 1),                            # 28 -> 14, no batch norm here
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(width, 2 * width, 4, 2, 1, bias=False),               # 14 -> 7
            nn.BatchNorm2d(2 * width), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(2 * width, 4 * width, 3, 2, 1, bias=False),           # 7 -> 4
            nn.BatchNorm2d(4 * width), nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(4 * width, 1, 4, 1, 0),                               # 4 -> 1: the logit
        )

    def forward(self, x, cluster=None):
        if not self.clusters:
            return self.net(x).view(-1)
        if cluster is None:
            raise ValueError(f"this discriminator has {self.clusters} clusters: pass one per image")
        features = self.net[:-1](x)                                     # phi(x): [N, 4w, 4, 4]
        return self.net[-1](features).view(-1) + (self.embed(cluster) * features.sum((2, 3))).sum(1)


def dcgan_init(module):
    """DCGAN's weight initialisation, for ``model.apply(dcgan_init)``: convolution weights (and cluster
    embeddings) from N(0, 0.02^2), as in the paper; batch-norm scales from N(1, 0.02^2) and shifts 0, as in
    the PyTorch DCGAN example (the paper does not say). Introduced in notebooks/02_gan.ipynb."""
    if isinstance(module, nn.Embedding):
        nn.init.normal_(module.weight, 0.0, 0.02)
    elif isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


import torch
from torch import nn

from tutorial.profiles import Settings
from tutorial.training import LossHistory, check_finite, progress, train_or_load


class EpochSamples:
    """Sample grids from fixed noise, one ``[K, C, H, W]`` tensor per epoch, saved with the checkpoint
    (it has ``state_dict``/``load_state_dict`` like a model). Introduced in notebooks/02_gan.ipynb."""

    def __init__(self):
        self.grids = []

    def append(self, grid):
        self.grids.append(grid.detach().cpu())

    def state_dict(self):
        return {"grids": torch.stack(self.grids) if self.grids else torch.zeros(0)}

    def load_state_dict(self, state):
        self.grids = list(state["grids"])


def lazy_clusters(generator, images, k, groups=None, device="cpu"):
    """A function that returns the cluster ``[N]`` of every training image on ``device``, computed on its
    first call only (k-means of ``images`` into ``k`` groups, unless ``groups`` gives them), which also
    stores the clusters' frequencies in ``generator.cluster_weights``. A run loaded from its checkpoint
    never calls it, so it never pays for the k-means. Introduced in notebooks/02_gan.ipynb."""
    found = []

    def clusters():
        if not found:
            chosen = groups if groups is not None else cluster_images(images, k)
            generator.cluster_weights.copy_(torch.bincount(chosen, minlength=k) / len(chosen))
            found.append(chosen.to(device))
        return found[0]
    return clusters


def gan_checkpoint_settings(generator, discriminator, cfg):
    """What identifies a DCGAN run: the architectures and the settings that shape its training."""
    keys = ("fashion", "train_limit", "batch_size", "nz", "clusters", "lr", "beta1")  # more epochs continue a run
    values = {**{k: cfg[k] for k in keys}, "generator": repr(generator), "discriminator": repr(discriminator)}
    return Settings(values, getattr(cfg, "profile", None))


def train_dcgan(generator, discriminator, images, cfg, device, name=None, fixed_noise=None, live_every=None,
                quiet=False, force=False, groups=None):
    """Train a DCGAN on ``images`` ``[N, C, 28, 28]`` in [0, 1] (rescaled here to [-1, 1]), or load it.

    Adam(``cfg.lr``, betas=(``cfg.beta1``, 0.999)) for both networks; per step one discriminator update on
    a real and a fake batch, then one non-saturating generator update. Logs ``loss_d``, ``loss_g``,
    ``d_real`` (mean D(x)) and ``d_fake`` (mean D(G(z))), and after each epoch keeps a grid drawn from
    ``fixed_noise`` (default: 64 fixed vectors; with clusters, cluster ``i % K`` for the i-th). Checkpoint
    ``name`` (default ``mnist_dcgan`` or ``fashion_dcgan``), resumable per epoch. Returns
    ``(history, samples)``, ``samples.grids`` one tensor per epoch in [-1, 1].

    With ``cfg.clusters`` = K > 0 the networks take clusters (built with ``clusters=K``): ``groups`` ``[N]``
    gives each image's cluster (default: ``cluster_images(images, K)``, computed only if there is training
    to do), and the fakes' clusters are drawn with the training set's frequencies, which are kept in
    ``generator.cluster_weights``. Introduced in notebooks/02_gan.ipynb.
    """
    name = name or f"{'fashion' if cfg.fashion else 'mnist'}_dcgan"
    if generator.clusters != cfg.clusters or discriminator.clusters != cfg.clusters:
        raise ValueError(f"cfg.clusters is {cfg.clusters}: build both networks with clusters={cfg.clusters}")
    generator.to(device)
    discriminator.to(device)
    data = images.to(device) * 2 - 1  # [0, 1] -> [-1, 1], the range of the generator's tanh
    if fixed_noise is None:
        fixed_noise = torch.randn(64, cfg.nz, generator=torch.Generator().manual_seed(1234))
    fixed_noise = fixed_noise.to(device)
    fixed_clusters = torch.arange(len(fixed_noise), device=device) % cfg.clusters if cfg.clusters else None
    clusters_of_real = lazy_clusters(generator, images, cfg.clusters, groups, device)  # k-means on the first epoch
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = torch.optim.Adam(discriminator.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    steps_per_epoch = len(data) // cfg.batch_size  # full batches only: batch norm dislikes a tiny last one
    live_every = cfg.live_every if live_every is None else live_every
    history = LossHistory(live_every=live_every, title=f"{name}: losses and D outputs", smooth=20)
    samples = EpochSamples()

    def train_epoch(epoch):
        generator.train()
        discriminator.train()
        order = torch.randperm(len(data), device=device)
        bar = progress(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{cfg.epochs}", disable=quiet)
        for i in bar:
            batch = order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            real = data[batch]
            c_real = c_fake = None
            if cfg.clusters:
                c_real = clusters_of_real()[batch]
                c_fake = torch.multinomial(generator.cluster_weights, len(real), replacement=True)
            fake = generator(torch.randn(len(real), cfg.nz, device=device), c_fake)
            # 1. discriminator: real and fake as separate batches; fake detached so G is not updated
            real_logits = discriminator(real, c_real)
            fake_logits = discriminator(fake.detach(), c_fake)
            loss_d = discriminator_loss(real_logits, fake_logits)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
            # 2. generator: non-saturating loss through the updated discriminator
            loss_g = generator_loss(discriminator(fake, c_fake))
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            step = epoch * steps_per_epoch + i
            history.log(step, loss_d=check_finite(loss_d, step, "discriminator loss"),
                        loss_g=check_finite(loss_g, step, "generator loss"),
                        d_real=torch.sigmoid(real_logits.detach()).mean(),
                        d_fake=torch.sigmoid(fake_logits.detach()).mean())
        samples.append(generate(generator, fixed_noise, fixed_clusters))
        if live_every:
            history.show()

    modules = {"generator": generator, "discriminator": discriminator, "opt_g": opt_g, "opt_d": opt_d,
               "samples": samples}
    settings = gan_checkpoint_settings(generator, discriminator, cfg)
    train_or_load(name, settings, modules, cfg.epochs, train_epoch, history=history, force=force, quiet=quiet)
    generator.eval()
    discriminator.eval()
    return history, samples


@torch.no_grad()
def generate(generator, noise, clusters=None, batch_size=1000):
    """The generator's images for ``noise`` ``[N, nz]`` (and ``clusters`` ``[N]``, if it has clusters), in
    eval mode (batch norm uses its running statistics), in batches; ``[N, C, 28, 28]`` in [-1, 1] on the
    CPU. Introduced in notebooks/02_gan.ipynb."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    out = []
    for i in range(0, len(noise), batch_size):
        c = None if clusters is None else clusters[i:i + batch_size].to(device)
        out.append(generator(noise[i:i + batch_size].to(device), c).cpu())
    generator.train(was_training)
    return torch.cat(out)


def sample_images(generator, n, seed=0):
    """``n`` images from fresh noise (seeded), with clusters drawn by ``generator.cluster_weights`` if it
    has clusters; in [0, 1]: what the judge of notebook 01 takes. Introduced in notebooks/02_gan.ipynb."""
    rng = torch.Generator().manual_seed(seed)
    noise = torch.randn(n, generator.nz, generator=rng)
    clusters = None
    if generator.clusters:
        clusters = torch.multinomial(generator.cluster_weights.cpu(), n, replacement=True, generator=rng)
    return (generate(generator, noise, clusters) + 1) / 2
