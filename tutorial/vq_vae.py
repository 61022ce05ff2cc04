# GENERATED from notebooks/07_vq_vae.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

"""VQ-VAE (van den Oord, Vinyals and Kavukcuoglu, 2017): an autoencoder whose latent is a grid of discrete
codes from a learned codebook (nearest-neighbour quantiser, straight-through gradient, codebook and
commitment losses, or an exponential-moving-average codebook with dead-code restarts), measured by
normalised MSE, PSNR, codebook usage and perplexity; and an autoregressive prior over the code grid (a small
causal transformer) whose samples are decoded to images. Introduced in notebooks/07_vq_vae.ipynb."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from tutorial.profiles import Settings
from tutorial.training import LossHistory, check_finite, progress, train_or_load

VQ_VAE_SETTINGS = {
    # The VQ-VAE: codebook_size codes of code_dim numbers; encoder and decoder of width channels with
    # res_blocks residual blocks, 28x28 -> a 7x7 grid of codes; Adam(lr) on batch_size images for epochs
    # passes; beta: the commitment weight (the paper's 0.25); ema_decay: the EMA codebook's gamma;
    # restart_below: a code whose EMA count falls below this is restarted on an encoder output.
    # usage_every: steps between counts of the codes used on usage_images test digits.
    # The prior: a causal transformer (prior_width, prior_layers, prior_heads) trained for prior_epochs on
    # the training set's codes. n_judge: prior samples judged; temperatures: those the judge scores;
    # judge_temperature: the one the benchmark reports (below 1: safer samples, see section 7).
    "smoke": {"fashion": False, "train_limit": 512, "test_limit": 256, "codebook_size": 32, "code_dim": 8,
              "width": 8, "res_blocks": 1, "batch_size": 64, "epochs": 1, "lr": 2e-3, "beta": 0.25,
              "ema_decay": 0.99, "restart_below": 1.0, "usage_every": 2, "usage_images": 128,
              "prior_width": 32, "prior_layers": 1, "prior_heads": 2, "prior_batch": 64, "prior_epochs": 1,
              "prior_lr": 2e-3, "n_judge": 200, "temperatures": (0.8, 1.0), "judge_temperature": 0.85,
              "live_every": 2},
    "laptop": {"fashion": False, "train_limit": None, "test_limit": None, "codebook_size": 64, "code_dim": 32,
               "width": 32, "res_blocks": 2, "batch_size": 128, "epochs": 3, "lr": 2e-3, "beta": 0.25,
               "ema_decay": 0.99, "restart_below": 1.0, "usage_every": 50, "usage_images": 1000,
               "prior_width": 128, "prior_layers": 3, "prior_heads": 4, "prior_batch": 128, "prior_epochs": 5,
               "prior_lr": 3e-3, "n_judge": 2000, "temperatures": (0.7, 0.75, 1.0), "judge_temperature": 0.75,
               "live_every": 50},
    "full": {"fashion": False, "train_limit": None, "test_limit": None, "codebook_size": 128, "code_dim": 64,
             "width": 64, "res_blocks": 2, "batch_size": 128, "epochs": 20, "lr": 1e-3, "beta": 0.25,
             "ema_decay": 0.99, "restart_below": 1.0, "usage_every": 200, "usage_images": 10000,
             "prior_width": 256, "prior_layers": 6, "prior_heads": 8, "prior_batch": 128, "prior_epochs": 20,
             "prior_lr": 1e-3, "n_judge": 10000, "temperatures": (0.7, 0.85, 1.0), "judge_temperature": 0.85,
             "live_every": 200},
}


def nearest_codes(vectors, codebook):
    """For each row of ``vectors`` ``[M, D]``, the index of the nearest row of ``codebook`` ``[K, D]`` in
    squared Euclidean distance, ``argmin_k |z - e_k|^2``, computed as ``|z|^2 - 2 z.e_k + |e_k|^2`` (one
    matrix product, no ``[M, K, D]`` tensor). Returns ``[M]`` (long). Introduced in notebooks/07_vq_vae.ipynb."""
    distances = vectors.pow(2).sum(1, keepdim=True) - 2 * vectors @ codebook.t() + codebook.pow(2).sum(1)
    return distances.argmin(1)


def straight_through(z_e, z_q):
    """The straight-through estimator: the value of ``z_q``, the gradient of ``z_e``. Forward it returns
    ``z_e + (z_q - z_e) = z_q``; backward the detached difference has no gradient, so whatever gradient
    reaches the output is handed to ``z_e`` unchanged, as if the quantiser were the identity.
    Introduced in notebooks/07_vq_vae.ipynb."""
    return z_e + (z_q - z_e).detach()


def vq_losses(z_e, z_q, beta=0.25):
    """The two terms that train the codebook and the encoder: ``codebook = |sg[z_e] - e|^2`` moves the chosen
    codes towards the encoder's outputs, ``commitment = beta |z_e - sg[e]|^2`` keeps the encoder's outputs
    near their codes (sg: stop-gradient, ``detach``). Means over all numbers. Returns
    ``(codebook, commitment)``. Introduced in notebooks/07_vq_vae.ipynb."""
    return F.mse_loss(z_q, z_e.detach()), beta * F.mse_loss(z_e, z_q.detach())


class VectorQuantizer(nn.Module):
    """Replace each ``code_dim``-vector of an encoder output ``[N, D, H, W]`` by its nearest codebook vector.

    ``ema=False``: the paper's first form, the codebook a parameter trained by the codebook loss.
    ``ema=True``: the codebook a buffer, each code set to the running mean of the encoder outputs assigned
    to it (decay ``decay``, Laplace-smoothed counts), and, with ``restart_below`` > 0, every code whose
    running count falls below it (a dead code) moved onto a random encoder output of the batch.
    ``forward`` returns ``(z_q, codes, losses)``: the quantised tensor with the straight-through
    gradient, the code indices ``[N, H, W]``, and ``{"codebook", "commitment"}`` (the codebook term is 0
    with ``ema``: the moving averages do its work). Introduced in notebooks/07_vq_vae.ipynb."""

    def __init__(self, codebook_size, code_dim, beta=0.25, ema=True, decay=0.99, restart_below=1.0, eps=1e-5):
        super().__init__()
        self.codebook_size, self.code_dim, self.beta = codebook_size, code_dim, beta
        self.ema, self.decay, self.restart_below, self.eps = ema, decay, restart_below, eps
        start = torch.randn(codebook_size, code_dim) * 0.1
        if ema:
            self.register_buffer("codebook", start.clone())
            self.register_buffer("counts", torch.ones(codebook_size))  # running number of vectors per code
            self.register_buffer("sums", start.clone())                # running sum of those vectors
        else:
            self.codebook = nn.Parameter(start)
        self.register_buffer("restarts", torch.zeros((), dtype=torch.long))

    def forward(self, z_e):
        n, d, h, w = z_e.shape
        flat = z_e.permute(0, 2, 3, 1).reshape(-1, d)
        codes = nearest_codes(flat.detach(), self.codebook.detach())
        if self.training and self.ema:
            self.ema_update(flat.detach(), codes)
        chosen = self.codebook[codes]
        codebook_loss, commitment = vq_losses(flat, chosen, self.beta)
        if self.ema:
            codebook_loss = torch.zeros_like(codebook_loss)
        z_q = straight_through(flat, chosen).view(n, h, w, d).permute(0, 3, 1, 2)
        return z_q, codes.view(n, h, w), {"codebook": codebook_loss, "commitment": commitment}

    @torch.no_grad()
    def ema_update(self, flat, codes):
        """N_k <- gamma N_k + (1 - gamma) n_k, m_k <- gamma m_k + (1 - gamma) sum of the batch's vectors of
        code k, e_k = m_k / N_k (N smoothed so that no count is 0); then the dead codes are restarted."""
        assigned = F.one_hot(codes, self.codebook_size).type(flat.dtype)
        self.counts.mul_(self.decay).add_(assigned.sum(0), alpha=1 - self.decay)
        self.sums.mul_(self.decay).add_(assigned.t() @ flat, alpha=1 - self.decay)
        total = self.counts.sum()
        smoothed = (self.counts + self.eps) / (total + self.codebook_size * self.eps) * total
        self.codebook.copy_(self.sums / smoothed[:, None])
        dead = self.counts < self.restart_below
        if self.restart_below > 0 and dead.any():
            picks = flat[torch.randint(len(flat), (int(dead.sum()),), device=flat.device)]
            self.codebook[dead], self.sums[dead], self.counts[dead] = picks, picks, 1.0
            self.restarts += int(dead.sum())

    def lookup(self, codes):
        """Code indices ``[N, H, W]`` -> their vectors ``[N, D, H, W]``."""
        return self.codebook[codes].permute(0, 3, 1, 2)


class ResidualStack(nn.Module):
    """``blocks`` residual blocks ``x + conv1x1(relu(conv3x3(relu(x))))`` and a final ReLU, as in the
    paper's encoder and decoder. Introduced in notebooks/07_vq_vae.ipynb."""

    def __init__(self, channels, hidden, blocks):
        super().__init__()
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReLU(), nn.Conv2d(channels, hidden, 3, padding=1), nn.ReLU(),
                                                  nn.Conv2d(hidden, channels, 1)) for _ in range(blocks))

    def forward(self, x):
        for block in self.blocks:
            x = x + block(x)
        return F.relu(x)


class VQVAE(nn.Module):
    """A VQ-VAE for 28x28 grey images: the encoder (two stride-2 4x4 convolutions, a 3x3 one, residual
    blocks, a 1x1 to ``code_dim``) maps an image to a 7x7 grid of vectors, the :class:`VectorQuantizer`
    replaces each by a code, and the decoder (the mirror image, with transposed convolutions) maps the
    codes back to pixel values (a linear output, trained with the squared error; ``decode`` clips it to
    [0, 1]). ``forward(x)`` returns ``(reconstruction, codes, losses)``; ``encode`` and ``decode`` go to and
    from code grids ``[N, 7, 7]``. Introduced in notebooks/07_vq_vae.ipynb."""

    def __init__(self, codebook_size=64, code_dim=32, width=32, res_blocks=2, beta=0.25, ema=True, decay=0.99,
                 restart_below=1.0):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, width, 4, 2, 1), nn.ReLU(),                      # 28 -> 14
            nn.Conv2d(width, 2 * width, 4, 2, 1), nn.ReLU(),              # 14 -> 7
            nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            ResidualStack(2 * width, width, res_blocks), nn.Conv2d(2 * width, code_dim, 1))
        self.quantizer = VectorQuantizer(codebook_size, code_dim, beta, ema, decay, restart_below)
        self.decoder = nn.Sequential(
            nn.Conv2d(code_dim, 2 * width, 3, padding=1), ResidualStack(2 * width, width, res_blocks),
            nn.ConvTranspose2d(2 * width, width, 4, 2, 1), nn.ReLU(),     # 7 -> 14
            nn.ConvTranspose2d(width, 1, 4, 2, 1))                        # 14 -> 28

    def forward(self, x):
        z_q, codes, losses = self.quantizer(self.encoder(x))
        return self.decoder(z_q), codes, losses

    @torch.no_grad()
    def encode(self, x):
        return self.quantizer(self.encoder(x))[1]

    @torch.no_grad()
    def decode(self, codes):
        return self.decoder(self.quantizer.lookup(codes)).clamp(0, 1)


@torch.no_grad()
def _in_eval_batches(model, fn, inputs, batch_size):
    """``fn`` applied to ``inputs`` in batches on the model's device with ``model`` in eval mode (restored
    after), the results concatenated on the CPU."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = torch.cat([fn(inputs[i:i + batch_size].to(device)).cpu() for i in range(0, len(inputs), batch_size)])
    model.train(was_training)
    return out


def encode_images(model, images, batch_size=1000):
    """The code grids ``[N, 7, 7]`` of ``images`` ``[N, 1, 28, 28]``, in eval mode (no codebook update), in
    batches, on the CPU. Introduced in notebooks/07_vq_vae.ipynb."""
    return _in_eval_batches(model, model.encode, images, batch_size)


def decode_codes(model, codes, batch_size=1000):
    """The images ``[N, 1, 28, 28]`` in [0, 1] that the decoder makes of code grids ``[N, 7, 7]``, on the CPU.
    Introduced in notebooks/07_vq_vae.ipynb."""
    return _in_eval_batches(model, model.decode, codes, batch_size)


def build_vq_vae(cfg, ema=True):
    """A :class:`VQVAE` sized by ``cfg``; ``ema=False`` gives the plain codebook without restarts.
    Introduced in notebooks/07_vq_vae.ipynb."""
    return VQVAE(cfg.codebook_size, cfg.code_dim, cfg.width, cfg.res_blocks, cfg.beta, ema=ema,
                 decay=cfg.ema_decay, restart_below=cfg.restart_below if ema else 0.0)


def code_statistics(codes, codebook_size):
    """Usage and perplexity of a codebook, counted over every code in ``codes`` (any shape): ``usage`` the
    share of the ``codebook_size`` codes used at least once, ``perplexity`` ``exp(-sum_k p_k log p_k)`` of
    the codes' frequencies p, the number of equally used codes that would have the same entropy (at most
    ``codebook_size``). Introduced in notebooks/07_vq_vae.ipynb."""
    counts = torch.bincount(codes.flatten(), minlength=codebook_size).double()
    p = counts[counts > 0] / counts.sum()
    return {"usage": float((counts > 0).double().mean()), "perplexity": float((-(p * p.log()).sum()).exp())}


def reconstruction_metrics(model, images):
    """How well ``model`` reconstructs ``images`` ``[N, 1, 28, 28]`` in [0, 1] through its codes: ``mse``,
    ``nmse`` (the MSE divided by the variance of the images' pixels, the reference implementations'
    convention: 1 is as good as predicting the mean pixel), and ``psnr`` in dB for a peak of 1,
    ``10 log10(1 / mse)``. Introduced in notebooks/07_vq_vae.ipynb."""
    reconstructions = decode_codes(model, encode_images(model, images))
    mse = F.mse_loss(reconstructions, images).item()
    return {"mse": mse, "nmse": mse / images.var().item(), "psnr": 10 * math.log10(1 / mse)}


def train_vq_vae(model, images, cfg, device, name, usage_images=None, on_epoch=None, live_every=None, quiet=False,
                 force=False):
    """Train ``model`` on ``images`` ``[N, 1, 28, 28]`` in [0, 1], or load it from checkpoint ``name``.

    Loss: ``MSE(x, decoder(z_q)) + codebook + commitment`` (see :func:`vq_losses`), Adam(``cfg.lr``) on
    batches of ``cfg.batch_size``, ``cfg.epochs`` passes. Logs ``reconstruction``, ``commitment`` (and
    ``codebook`` without EMA) per step and, every ``cfg.usage_every`` steps, ``usage``: the share of the
    codebook that ``usage_images`` use (default: none is counted). ``on_epoch(epoch)`` runs after each
    epoch. Returns the :class:`LossHistory`. Introduced in notebooks/07_vq_vae.ipynb."""
    model.to(device)
    data = images.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    steps_per_epoch = len(data) // cfg.batch_size
    live_every = cfg.live_every if live_every is None else live_every
    history = LossHistory(live_every=live_every, title=f"{name}: losses", smooth=20, plot=("reconstruction", "commitment", "codebook"))
    size = model.quantizer.codebook_size

    def train_epoch(epoch):
        model.train()
        order = torch.randperm(len(data), device=device)
        for i in progress(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{cfg.epochs}", disable=quiet):
            step = epoch * steps_per_epoch + i
            if usage_images is not None and step % cfg.usage_every == 0:
                history.log(step, usage=code_statistics(encode_images(model, usage_images), size)["usage"])
            x = data[order[i * cfg.batch_size:(i + 1) * cfg.batch_size]]
            reconstruction, _, losses = model(x)
            reconstruction_loss = F.mse_loss(reconstruction, x)
            loss = reconstruction_loss + losses["codebook"] + losses["commitment"]
            check_finite(loss, step, "VQ-VAE loss")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            values = {"reconstruction": reconstruction_loss.detach(), "commitment": losses["commitment"].detach()}
            if not model.quantizer.ema:
                values["codebook"] = losses["codebook"].detach()
            history.log(step, **values)
        if on_epoch is not None:
            on_epoch(epoch)
        if live_every:
            history.show()

    values = {"data": {"fashion": cfg.fashion, "train_limit": len(images)}, "batch_size": cfg.batch_size,
              "lr": cfg.lr, "usage_every": cfg.usage_every, "architecture": repr(model),
              "quantizer": {k: getattr(model.quantizer, k) for k in ("codebook_size", "code_dim", "beta", "ema", "decay",
                                                                      "restart_below")}}
    train_or_load(name, Settings(values, getattr(cfg, "profile", None)), {"model": model, "optimizer": optimizer},
                  cfg.epochs, train_epoch, history=history, force=force, quiet=quiet)
    model.eval()
    return history


def causal_mask(length, device=None):
    """``[length, length]`` booleans, True where attention is forbidden: position i may look at positions
    0..i only, so True above the diagonal. Introduced in notebooks/07_vq_vae.ipynb."""
    return torch.ones(length, length, dtype=torch.bool, device=device).triu(1)


class CodePrior(nn.Module):
    """An autoregressive prior over ``side x side`` code grids read in raster order: a causal transformer
    (pre-norm, no dropout) that reads the codes before position i, each as a learned embedding of its index
    plus learned embeddings of its row, its column and its position, and returns the logits of code i.
    Position 0 reads a start token. With ``codebook`` (the VQ-VAE's ``[K, D]`` code vectors) the index
    embeddings start as those vectors, standardised and projected to ``width`` by a fixed random matrix, so
    codes that draw alike start alike. ``forward(codes [N, L])`` returns logits ``[N, L, K]`` for predicting
    every code from those before it. Introduced in notebooks/07_vq_vae.ipynb."""

    def __init__(self, codebook_size, length=49, width=96, layers=2, heads=4, codebook=None):
        super().__init__()
        self.codebook_size, self.length = codebook_size, length
        side = math.isqrt(length)
        assert side * side == length, "the code grid must be square"
        self.embedding = nn.Embedding(codebook_size + 1, width)  # index codebook_size is the start token
        if codebook is not None:
            vectors = codebook.detach().float().cpu()
            vectors = (vectors - vectors.mean(0)) / vectors.std(0).clamp_min(1e-6)
            projection = torch.randn(vectors.shape[1], width) / math.sqrt(vectors.shape[1])
            with torch.no_grad():
                self.embedding.weight[:codebook_size] = vectors @ projection
        self.position = nn.Parameter(torch.zeros(length, width))
        self.row = nn.Parameter(torch.randn(side, width) * 0.02)
        self.column = nn.Parameter(torch.randn(side, width) * 0.02)
        block = nn.TransformerEncoderLayer(width, heads, 4 * width, dropout=0.0, batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(block, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, codebook_size)

    def forward(self, codes):
        n, length = codes.shape
        start = torch.full((n, 1), self.codebook_size, dtype=torch.long, device=codes.device)
        inputs = torch.cat([start, codes[:, :-1]], 1)            # shifted right: position i sees codes < i
        grid = (self.row[:, None] + self.column[None]).flatten(0, 1)  # row i//side plus column i%side
        h = self.embedding(inputs) + self.position[:length] + grid[:length]
        h = self.blocks(h, mask=causal_mask(length, codes.device), is_causal=True)
        return self.head(self.norm(h))

    def next_logits(self, previous, i, cache):
        """The logits ``[N, K]`` of code ``i`` from the same weights as ``forward``, one position at a time:
        ``previous`` ``[N]`` is code ``i - 1`` (ignored at ``i = 0``, which reads the start token) and
        ``cache`` (a list, empty at ``i = 0``) keeps every layer's keys and values of positions ``< i`` and
        gains position ``i``'s. Position ``i`` attends to all of them, so no mask is needed. A KV cache."""
        if i == 0:
            previous = torch.full_like(previous, self.codebook_size)
        side = math.isqrt(self.length)
        h = (self.embedding(previous) + self.position[i] + self.row[i // side] + self.column[i % side])[:, None]
        for depth, layer in enumerate(self.blocks.layers):          # pre-norm: x + attend(norm1 x), then MLP
            attention = layer.self_attn
            n, width, heads = h.shape[0], h.shape[2], attention.num_heads
            q, k, v = F.linear(layer.norm1(h), attention.in_proj_weight, attention.in_proj_bias).chunk(3, -1)
            q, k, v = (t.view(n, 1, heads, width // heads).transpose(1, 2) for t in (q, k, v))
            if depth == len(cache):
                cache.append((k, v))
            else:
                cache[depth] = (torch.cat([cache[depth][0], k], 2), torch.cat([cache[depth][1], v], 2))
            mixed = F.scaled_dot_product_attention(q, *cache[depth])   # [N, heads, 1, width / heads]
            h = h + attention.out_proj(mixed.transpose(1, 2).reshape(n, 1, width))
            h = h + layer.linear2(layer.activation(layer.linear1(layer.norm2(h))))
        return self.head(self.norm(h[:, 0]))


@torch.no_grad()
def prior_nll(prior, codes, batch_size=1000):
    """The prior's negative log-likelihood of code grids ``codes`` ``[N, ...]``, in nats per code (a mean
    over all codes). Times the number of codes per image and divided by ln 2, it is bits per image.
    Introduced in notebooks/07_vq_vae.ipynb."""
    was_training = prior.training
    prior.eval()
    device = next(prior.parameters()).device
    flat = codes.flatten(1)
    total = sum(F.cross_entropy(prior(x := flat[i:i + batch_size].to(device)).transpose(1, 2), x, reduction="sum").item()
                for i in range(0, len(flat), batch_size))
    prior.train(was_training)
    return total / flat.numel()


def train_prior(prior, codes, cfg, device, name, test_codes=None, live_every=None, quiet=False, force=False):
    """Train ``prior`` on code grids ``codes`` ``[N, 7, 7]`` by maximum likelihood (cross-entropy of each code
    given those before it), or load it from checkpoint ``name``: AdamW(``cfg.prior_lr``) with a one-cycle
    schedule, batches of ``cfg.prior_batch``, ``cfg.prior_epochs`` passes. Logs ``nll`` (nats per code) per
    step and, with ``test_codes``, ``test_nll`` after each epoch. Returns the :class:`LossHistory`.
    Introduced in notebooks/07_vq_vae.ipynb."""
    prior.to(device)
    data = codes.flatten(1).to(device)
    optimizer = torch.optim.AdamW(prior.parameters(), lr=cfg.prior_lr, weight_decay=0.01)
    steps_per_epoch = len(data) // cfg.prior_batch
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, cfg.prior_lr, total_steps=cfg.prior_epochs * steps_per_epoch,
                                                   pct_start=0.05)
    live_every = cfg.live_every if live_every is None else live_every
    history = LossHistory(live_every=live_every, title=f"{name}: nats per code", smooth=20)

    def train_epoch(epoch):
        prior.train()
        order = torch.randperm(len(data), device=device)
        for i in progress(range(steps_per_epoch), desc=f"{name} epoch {epoch + 1}/{cfg.prior_epochs}", disable=quiet):
            x = data[order[i * cfg.prior_batch:(i + 1) * cfg.prior_batch]]
            loss = F.cross_entropy(prior(x).transpose(1, 2), x)
            step = epoch * steps_per_epoch + i
            check_finite(loss, step, "prior NLL")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            history.log(step, nll=loss.detach())
        if test_codes is not None:
            history.log(step, test_nll=prior_nll(prior, test_codes))
        if live_every:
            history.show()

    values = {"codes": {"count": len(codes), "checksum": int(codes.long().sum())}, "batch_size": cfg.prior_batch,
              "lr": cfg.prior_lr, "one_cycle_epochs": cfg.prior_epochs, "architecture": repr(prior)}
    train_or_load(name, Settings(values, getattr(cfg, "profile", None)),
                  {"prior": prior, "optimizer": optimizer, "schedule": schedule}, cfg.prior_epochs, train_epoch,
                  history=history, force=force, quiet=quiet)
    prior.eval()
    return history


@torch.no_grad()
def sample_codes(prior, n, temperature=1.0, seed=0, batch_size=1000, cached=True):
    """``n`` code sequences ``[n, L]`` drawn from ``prior`` one position at a time, in raster order, each
    from ``softmax(logits / temperature)`` (below 1: safer, less varied; above: the reverse). Seeded.
    ``cached``: each step runs one position through ``prior.next_logits`` with a KV cache; otherwise
    each step runs ``prior`` over the whole prefix again (the same logits from 1 + 2 + ... + L
    position-passes instead of L).
    Introduced in notebooks/07_vq_vae.ipynb."""
    was_training = prior.training
    prior.eval()
    device = next(prior.parameters()).device
    generator = torch.Generator(device=device).manual_seed(seed)
    out = []
    for start in range(0, n, batch_size):
        codes = torch.zeros(min(batch_size, n - start), prior.length, dtype=torch.long, device=device)
        cache = []
        for i in range(prior.length):
            if cached:
                logits = prior.next_logits(codes[:, i - 1], i, cache) / temperature
            else:
                logits = prior(codes[:, :i + 1])[:, i] / temperature
            codes[:, i] = torch.multinomial(logits.softmax(-1), 1, generator=generator).squeeze(1)
        out.append(codes.cpu())
    prior.train(was_training)
    return torch.cat(out)


def vq_vae_samples(model, prior, n, temperature=1.0, seed=0):
    """``n`` images ``[n, 1, 28, 28]`` in [0, 1]: code grids sampled from ``prior``, decoded by ``model``.
    Introduced in notebooks/07_vq_vae.ipynb."""
    side = int(prior.length ** 0.5)
    return decode_codes(model, sample_codes(prior, n, temperature, seed).view(n, side, side))
