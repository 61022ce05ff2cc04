# GENERATED from notebooks/06_cyclegan.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

"""CycleGAN (Zhu, Park, Isola and Efros, 2017): translation between two unpaired collections with two
generators, two PatchGAN discriminators, least-squares adversarial losses, cycle consistency and identity;
the handwriting collections (thin and thick strokes, from MNIST) and the measures of content and style.
Introduced in notebooks/06_cyclegan.ipynb."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tutorial.adain import calc_mean_std, random_crops, training_images
from tutorial.gan import EpochSamples
from tutorial.profiles import Settings
from tutorial.training import LossHistory, check_finite, progress, train_or_load

CYCLEGAN_SETTINGS = {
    # Handwriting. A: thin strokes, B: thick strokes, made from MNIST's training images with even and
    # with odd indices (so no image is in both). epochs x steps_per_epoch updates of batch_size images from
    # each collection; the learning rate is constant for the first half and falls linearly to 0 over the
    # second (as in the paper). lambda_cycle and lambda_identity: the paper's 10 and 0.5 (the identity term
    # is weighted lambda_identity * lambda_cycle). d_downsamplings: stride-2 layers of the PatchGAN.
    # n_judge: test digits judged.
    "smoke": {"train_limit": 512, "n_judge": 200, "batch_size": 4, "epochs": 1, "steps_per_epoch": 4,
              "g_width": 8, "g_blocks": 1, "d_width": 8, "d_downsamplings": 2, "pool_size": 8, "lr": 2e-4,
              "lambda_cycle": 10.0, "lambda_identity": 0.5, "live_every": 2},
    "laptop": {"train_limit": None, "n_judge": 2000, "batch_size": 16, "epochs": 4, "steps_per_epoch": 200,
               "g_width": 16, "g_blocks": 3, "d_width": 32, "d_downsamplings": 2, "pool_size": 50, "lr": 2e-4,
               "lambda_cycle": 10.0, "lambda_identity": 0.5, "live_every": 50},
    "full": {"train_limit": None, "n_judge": 10000, "batch_size": 32, "epochs": 10, "steps_per_epoch": 1000,
             "g_width": 32, "g_blocks": 6, "d_width": 64, "d_downsamplings": 2, "pool_size": 50, "lr": 2e-4,
             "lambda_cycle": 10.0, "lambda_identity": 0.5, "live_every": 200},
}
CYCLEGAN_PHOTO_SETTINGS = {
    # Photos (A) and paintings (B): random crops of notebook 05's training pictures, drawn afresh each step
    # (its random_crops), the same networks in colour. The PatchGAN judges 34x34 patches (2 stride-2 layers)
    # of the small crops, the paper's 70x70 (3) in `full`. image_size: the shorter side of the photos
    # translated after training; gatys_steps: notebook 04's L-BFGS steps in the comparison.
    "smoke": {"crop": 32, "large_sets": False, "batch_size": 2, "epochs": 1, "steps_per_epoch": 3,
              "g_width": 8, "g_blocks": 1, "d_width": 8, "d_downsamplings": 2, "pool_size": 4, "lr": 2e-4,
              "lambda_cycle": 10.0, "lambda_identity": 0.5, "image_size": 64, "gatys_steps": 5, "live_every": 2},
    "laptop": {"crop": 64, "large_sets": False, "batch_size": 4, "epochs": 2, "steps_per_epoch": 150,
               "g_width": 16, "g_blocks": 3, "d_width": 32, "d_downsamplings": 2, "pool_size": 50, "lr": 2e-4,
               "lambda_cycle": 10.0, "lambda_identity": 0.5, "image_size": 128, "gatys_steps": 50, "live_every": 50},
    "full": {"crop": 128, "large_sets": False, "batch_size": 4, "epochs": 10, "steps_per_epoch": 1000,
             "g_width": 32, "g_blocks": 9, "d_width": 64, "d_downsamplings": 3, "pool_size": 50, "lr": 2e-4,
             "lambda_cycle": 10.0, "lambda_identity": 0.5, "image_size": 256, "gatys_steps": 500, "live_every": 200},
}


def thin_strokes(images):
    """Collection A's pen: keep the core of each stroke, ``clamp((x - 0.6) / 0.4, 0, 1)``. Pixels darker
    than 0.6 (the anti-aliased rim of a stroke) become background and the rest is stretched back to [0, 1].
    ``images`` ``[N, 1, H, W]`` in [0, 1]. Introduced in notebooks/06_cyclegan.ipynb."""
    return ((images - 0.6) / 0.4).clamp(0, 1)


def thick_strokes(images):
    """Collection B's pen: grey-level dilation by a 3x3 square (each pixel becomes the brightest of its
    neighbourhood, a 3x3 max-pool with stride 1), which widens every stroke by about a pixel on each side.
    Introduced in notebooks/06_cyclegan.ipynb."""
    return F.max_pool2d(images, 3, stride=1, padding=1)


def stroke_width(images, threshold=0.5):
    """The mean stroke width of each image ``[N, 1, H, W]``, in pixels: ``2 * area / boundary`` of its ink
    (the pixels above ``threshold``), the boundary counted as the ink/background edges between 4-neighbours.
    A bar w pixels wide and L long has area wL and boundary 2(w + L), so the ratio tends to w as the bar
    gets longer: it measures the pen, not the digit. Returns ``[N]``. Introduced in notebooks/06_cyclegan.ipynb."""
    ink = (images > threshold).float()
    padded = F.pad(ink, (1, 1, 1, 1))
    edges = ((padded[..., 1:, :] - padded[..., :-1, :]).abs().sum((1, 2, 3))
             + (padded[..., :, 1:] - padded[..., :, :-1]).abs().sum((1, 2, 3)))
    return 2 * ink.sum((1, 2, 3)) / edges.clamp(min=1)


def handwriting_collections(train_limit=None, test_limit=None):
    """The two unpaired collections: A, MNIST's training images with even indices in thin strokes; B, those
    with odd indices in thick strokes (``train_limit`` images in all, before the split; every digit class is
    in both, no image is). And the test digits in both
    pens with their labels, to measure what a translation keeps. Returns ``(a, b, test_a, test_b,
    test_labels)``, images ``[N, 1, 28, 28]`` in [0, 1]. Introduced in notebooks/06_cyclegan.ipynb."""
    from tutorial.cnn import mnist_tensors

    train, _ = mnist_tensors(train=True, limit=train_limit)
    test, labels = mnist_tensors(train=False, limit=test_limit)
    return thin_strokes(train[0::2]), thick_strokes(train[1::2]), thin_strokes(test), thick_strokes(test), labels


def content_kept(images, labels, device=None, profile=None):
    """The share of ``images`` that notebook 01's judge labels as ``labels``: for translated digits, the share
    whose digit survived the translation. Introduced in notebooks/06_cyclegan.ipynb."""
    from tutorial.metrics import judge_probabilities

    predicted = judge_probabilities(images, device=device, profile=profile).argmax(1).cpu()
    return (predicted == labels.cpu()).float().mean().item()


def lsgan_discriminator_loss(real_scores, fake_scores):
    """Least-squares discriminator loss (Mao et al., 2017; CycleGAN's choice): push the scores of real
    images towards 1 and of fakes towards 0, ``0.5 * (mean (D(x) - 1)^2 + mean D(G(z))^2)``. The scores are
    the discriminator's raw outputs (no sigmoid), one per patch. Introduced in notebooks/06_cyclegan.ipynb."""
    return 0.5 * (((real_scores - 1) ** 2).mean() + (fake_scores ** 2).mean())


def lsgan_generator_loss(fake_scores):
    """Least-squares generator loss: ``mean (D(G(z)) - 1)^2``, the fakes' scores pushed towards "real".
    Introduced in notebooks/06_cyclegan.ipynb."""
    return ((fake_scores - 1) ** 2).mean()


def cycle_loss(reconstructed, original):
    """The L1 distance ``mean |F(G(a)) - a|`` between an image and its round trip (also used for the
    identity term ``mean |G(b) - b|``). Introduced in notebooks/06_cyclegan.ipynb."""
    return (reconstructed - original).abs().mean()


class InstanceNorm(nn.Module):
    """Instance normalisation with notebook 05's statistics (``calc_mean_std``): each image's channels
    shifted and scaled to mean 0 and standard deviation 1 over their pixels. No learned scale or shift,
    as in the paper's code (``nn.InstanceNorm2d(affine=False)``): the next convolution can scale and
    shift. ``channels`` is only shown in the module's description. Introduced in notebooks/06_cyclegan.ipynb."""

    def __init__(self, channels, eps=1e-5):
        super().__init__()
        self.channels, self.eps = channels, eps

    def forward(self, x):
        mean, std = calc_mean_std(x, self.eps)
        return (x - mean) / std

    def extra_repr(self):
        return f"{self.channels}"


class ResidualBlock(nn.Module):
    """``x + body(x)``, body = reflection pad, 3x3 conv, instance norm, ReLU, reflection pad, 3x3 conv,
    instance norm: the block learns a change to its input rather than a new image, which suits a generator
    that should alter an image's style and keep the rest. Introduced in notebooks/06_cyclegan.ipynb."""

    def __init__(self, channels):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), InstanceNorm(channels), nn.ReLU(inplace=True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), InstanceNorm(channels))

    def forward(self, x):
        return x + self.body(x)


class CycleGANGenerator(nn.Module):
    """The paper's ResNet generator (after Johnson et al., 2016): a 7x7 convolution, ``downsamplings``
    stride-2 3x3 convolutions that double the channels, ``blocks`` residual blocks, as many stride-2
    transposed convolutions back, and a 7x7 convolution to ``channels`` with tanh; reflection padding and
    instance norm throughout. The paper's is ``width`` 64, 2 downsamplings, 9 blocks (6 at 128 px).
    Takes and returns images in [0, 1] (it works in [-1, 1] inside). Sides must be multiples of
    ``2 ** downsamplings``. Introduced in notebooks/06_cyclegan.ipynb."""

    def __init__(self, channels=1, width=16, blocks=3, downsamplings=2):
        super().__init__()
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(channels, width, 7), InstanceNorm(width), nn.ReLU(inplace=True)]
        c = width
        for _ in range(downsamplings):
            layers += [nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), InstanceNorm(2 * c), nn.ReLU(inplace=True)]
            c *= 2
        layers += [ResidualBlock(c) for _ in range(blocks)]
        for _ in range(downsamplings):
            layers += [nn.ConvTranspose2d(c, c // 2, 3, stride=2, padding=1, output_padding=1),
                       InstanceNorm(c // 2), nn.ReLU(inplace=True)]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return (self.net(x * 2 - 1) + 1) / 2


class PatchDiscriminator(nn.Module):
    """A PatchGAN (Isola et al., 2017): a fully convolutional network whose output is a grid of scores, one
    per overlapping patch of the input, so it judges local texture and leaves the layout to the rest of
    the objective. 4x4 convolutions: ``downsamplings`` with stride 2 (the first without normalisation),
    then two with stride 1, the last to one channel; LeakyReLU(0.2) and instance norm. With 3
    downsamplings and ``width`` 64 it is the paper's 70x70 PatchGAN (see :func:`receptive_field`).
    Takes images in [0, 1]; returns raw scores ``[N, 1, h, w]``. Introduced in notebooks/06_cyclegan.ipynb."""

    def __init__(self, channels=1, width=32, downsamplings=3):
        super().__init__()
        layers = [nn.Conv2d(channels, width, 4, stride=2, padding=1), nn.LeakyReLU(0.2, inplace=True)]
        c = width
        for _ in range(downsamplings - 1):
            layers += [nn.Conv2d(c, 2 * c, 4, stride=2, padding=1), InstanceNorm(2 * c), nn.LeakyReLU(0.2, inplace=True)]
            c *= 2
        layers += [nn.Conv2d(c, 2 * c, 4, stride=1, padding=1), InstanceNorm(2 * c), nn.LeakyReLU(0.2, inplace=True),
                   nn.Conv2d(2 * c, 1, 4, stride=1, padding=1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x * 2 - 1)


def receptive_field(network):
    """The side, in input pixels, of the square that one output of ``network`` sees: walking back from one
    output through its convolutions, a layer of kernel k and stride s turns a window of r into
    ``(r - 1) * s + k``. Introduced in notebooks/06_cyclegan.ipynb."""
    size = 1
    for layer in reversed([m for m in network.modules() if isinstance(m, nn.Conv2d)]):
        size = (size - 1) * layer.stride[0] + layer.kernel_size[0]
    return size


class ImagePool:
    """The history of generated images (Shrivastava et al., 2017) that CycleGAN's discriminators train on:
    up to ``size`` past fakes are kept; each new fake is, with probability one half, swapped for a stored
    one, so the discriminator sees the generator's recent past, not only its latest move, which damps the
    back-and-forth of the two players. ``size`` 0 passes the fakes through. It has ``state_dict`` and
    ``load_state_dict``, so a resumed run resumes with its pool. Introduced in notebooks/06_cyclegan.ipynb."""

    def __init__(self, size=50):
        self.size = size
        self.images = []

    def query(self, fakes):
        if self.size == 0:
            return fakes.detach()
        self.images = [image.to(fakes.device) for image in self.images]  # a resumed pool is loaded on the CPU
        out = []
        for image in fakes.detach():
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif torch.rand(()) < 0.5:
                i = int(torch.randint(self.size, ()))
                out.append(self.images[i])
                self.images[i] = image
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self):
        return {"images": torch.stack(self.images).cpu() if self.images else torch.zeros(0)}

    def load_state_dict(self, state):
        self.images = list(state["images"])


def image_sampler(images, device):
    """A function ``draw(n)`` that returns ``n`` images drawn at random (with replacement) from the tensor
    ``images``, on ``device``. Introduced in notebooks/06_cyclegan.ipynb."""
    images = images.to(device)

    def draw(n):
        return images[torch.randint(len(images), (n,), device=images.device)]
    return draw


def crop_sampler(pictures, size, device):
    """A function ``draw(n)`` that cuts ``n`` random ``size`` x ``size`` crops from a list of ``[3, H, W]``
    pictures (notebook 05's :func:`random_crops`: random place, scale and flip), on ``device``.
    Introduced in notebooks/06_cyclegan.ipynb."""
    def draw(n):
        return random_crops(pictures, n, size).to(device)
    return draw


def cyclegan_networks(cfg, channels=1):
    """``(G, F, D_A, D_B)`` sized by ``cfg``: G translates A to B, F translates B to A, D_A judges
    collection A (real a against F(b)), D_B collection B. Introduced in notebooks/06_cyclegan.ipynb."""
    generators = [CycleGANGenerator(channels, cfg.g_width, cfg.g_blocks) for _ in range(2)]
    discriminators = [PatchDiscriminator(channels, cfg.d_width, cfg.d_downsamplings) for _ in range(2)]
    return (*generators, *discriminators)


def train_cyclegan(networks, draw_a, draw_b, cfg, device, name, fixed=None, lambda_cycle=None,
                   lambda_identity=None, live_every=None, quiet=False, force=False):
    """Train ``networks`` = ``(G, F, D_A, D_B)`` on batches from ``draw_a(n)`` and ``draw_b(n)``, or load
    them from checkpoint ``name``.

    Each step, as the paper's code does it: (1) the generators, with the discriminators frozen, on
    ``L_GAN(G, D_B) + L_GAN(F, D_A) + lambda_cycle * (|F(G(a)) - a| + |G(F(b)) - b|)
    + lambda_identity * lambda_cycle * (|G(b) - b| + |F(a) - a|)``; (2) the discriminators, on real images
    against fakes drawn from an :class:`ImagePool` of past fakes. Least-squares losses, Adam(``cfg.lr``,
    betas (0.5, 0.999)); the learning rate falls linearly to 0 over the second half of the run.
    ``lambda_cycle``, ``lambda_identity``: default ``cfg``'s; 0 switches a term off. ``fixed`` = ``(a, b)``:
    images whose translations ``G(a)`` and ``F(b)`` are kept after each epoch. Logs ``gan``, ``cycle``,
    ``identity``, ``d_a`` and ``d_b`` per step. Returns ``(history, snapshots)``, ``snapshots.grids`` one
    tensor ``cat([G(a), F(b)])`` per epoch. Introduced in notebooks/06_cyclegan.ipynb."""
    G, F_, D_A, D_B = networks
    for network in networks:
        network.to(device).train()
    lambda_cycle = cfg.lambda_cycle if lambda_cycle is None else lambda_cycle
    lambda_identity = cfg.lambda_identity if lambda_identity is None else lambda_identity
    generators = list(G.parameters()) + list(F_.parameters())
    discriminators = list(D_A.parameters()) + list(D_B.parameters())
    opt_g = torch.optim.Adam(generators, lr=cfg.lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(discriminators, lr=cfg.lr, betas=(0.5, 0.999))
    total = cfg.epochs * cfg.steps_per_epoch
    half = total // 2

    def rate(step):  # constant, then linearly down to 0 over the second half (the paper's schedule)
        return 1.0 if step < half else max(0.0, (total - step) / max(total - half, 1))
    schedules = [torch.optim.lr_scheduler.LambdaLR(opt, rate) for opt in (opt_g, opt_d)]
    pool_a, pool_b = ImagePool(cfg.pool_size), ImagePool(cfg.pool_size)
    live_every = cfg.live_every if live_every is None else live_every
    history = LossHistory(live_every=live_every, title=f"{name}: losses", smooth=20)
    snapshots = EpochSamples()
    no_loss = torch.zeros((), device=device)

    def train_epoch(epoch):
        bar = progress(range(cfg.steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{cfg.epochs}", disable=quiet)
        for i in bar:
            step = epoch * cfg.steps_per_epoch + i
            a, b = draw_a(cfg.batch_size), draw_b(cfg.batch_size)
            # 1. the generators, through discriminators that are not updated here
            for p in discriminators:
                p.requires_grad_(False)
            fake_b, fake_a = G(a), F_(b)
            loss_gan = lsgan_generator_loss(D_B(fake_b)) + lsgan_generator_loss(D_A(fake_a))
            loss_cycle = cycle_loss(F_(fake_b), a) + cycle_loss(G(fake_a), b) if lambda_cycle else no_loss
            loss_identity = (cycle_loss(G(b), b) + cycle_loss(F_(a), a)
                             if lambda_cycle and lambda_identity else no_loss)
            loss_g = loss_gan + lambda_cycle * loss_cycle + lambda_identity * lambda_cycle * loss_identity
            check_finite(loss_g, step, "generator loss")  # stops with a clear message on NaN or infinity
            opt_g.zero_grad(set_to_none=True)
            loss_g.backward()
            opt_g.step()
            # 2. the discriminators: real images against fakes from the pools of past fakes
            for p in discriminators:
                p.requires_grad_(True)
            loss_d_a = lsgan_discriminator_loss(D_A(a), D_A(pool_a.query(fake_a)))
            loss_d_b = lsgan_discriminator_loss(D_B(b), D_B(pool_b.query(fake_b)))
            opt_d.zero_grad(set_to_none=True)
            (loss_d_a + loss_d_b).backward()
            opt_d.step()
            for schedule in schedules:
                schedule.step()
            history.log(step, gan=loss_gan.detach(), cycle=loss_cycle.detach(), identity=loss_identity.detach(),
                        d_a=check_finite(loss_d_a, step, "discriminator loss"), d_b=loss_d_b.detach())
        if fixed is not None:
            snapshots.append(torch.cat([translate(G, fixed[0]), translate(F_, fixed[1])]))
        if live_every:
            history.show()

    values = {"lr": cfg.lr, "batch_size": cfg.batch_size, "pool_size": cfg.pool_size, "lambda_cycle": lambda_cycle,
              "lambda_identity": lambda_identity, "schedule_steps": total,  # a longer schedule is another run
              "data": {k: cfg[k] for k in ("train_limit", "crop", "large_sets") if k in cfg},
              "generator": repr(G), "discriminator": repr(D_A)}
    modules = {"G": G, "F": F_, "D_A": D_A, "D_B": D_B, "opt_g": opt_g, "opt_d": opt_d, "schedule_g": schedules[0],
               "schedule_d": schedules[1], "pool_a": pool_a, "pool_b": pool_b, "snapshots": snapshots}
    train_or_load(name, Settings(values, getattr(cfg, "profile", None)), modules, cfg.epochs, train_epoch,
                  history=history, force=force, quiet=quiet)
    for network in networks:
        network.eval()
    return history, snapshots


@torch.no_grad()
def translate(generator, images, batch_size=500):
    """``generator``'s translation of ``images`` ``[N, C, H, W]`` in [0, 1], in eval mode, in batches, on the
    CPU. Introduced in notebooks/06_cyclegan.ipynb."""
    was_training = generator.training
    generator.eval()
    device = next(generator.parameters()).device
    out = torch.cat([generator(images[i:i + batch_size].to(device)).cpu() for i in range(0, len(images), batch_size)])
    generator.train(was_training)
    return out


def translation_report(G, F_, test_a, test_b, labels, device=None, profile=None):
    """What a handwriting translation keeps and changes, on the test digits in both pens: for each direction
    the share of digits the judge still reads as their source (``content_kept``) beside the same share for
    the target collection's real digits (the ceiling: what the judge manages on real thick or thin digits),
    the translated digits' mean stroke width beside the target's and the source's, its relative error
    against the target's, and the round trip's L1 error. Introduced in notebooks/06_cyclegan.ipynb."""
    report = {}
    for direction, generator, back, source, target in (("a_to_b", G, F_, test_a, test_b),
                                                        ("b_to_a", F_, G, test_b, test_a)):
        translated = translate(generator, source)
        width, target_width = stroke_width(translated).mean().item(), stroke_width(target).mean().item()
        report[direction] = {
            "content_kept": content_kept(translated, labels, device, profile),
            "content_ceiling": content_kept(target, labels, device, profile),
            "stroke_width": width, "target_stroke_width": target_width,
            "source_stroke_width": stroke_width(source).mean().item(),
            "stroke_width_error": abs(width - target_width) / target_width,
            "cycle_error": (translate(back, translated) - source).abs().mean().item(),
        }
    return report
