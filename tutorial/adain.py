# GENERATED from notebooks/05_adain.ipynb by `python -m tutorial export`. Edit the notebook, not this file.
# Each block below is one code cell of that notebook, in order.

"""AdaIN (Huang and Belongie, 2017): adaptive instance normalisation, a VGG-19 encoder up to relu4_1, a
mirrored decoder laid out like the published one, the training losses and fast stylisation.
Introduced in notebooks/05_adain.ipynb."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tutorial.style_transfer import (IMAGENET_MEAN, IMAGENET_STD, VGG_LAYERS, VGGFeatures, load_vgg19,
                                     vgg19_conv_shapes)

ADAIN_SETTINGS = {
    # crop: training crops (px); steps_per_epoch x epochs decoder updates of batch_size photo/painting pairs.
    # style_weight: lambda, 10 as in naoto0804's PyTorch re-implementation, for the ImageNet encoder; with a random encoder the style term starts
    # many times larger than the content term (notebook 05 prints the ratio), so a smaller lambda is used
    # (random_encoder_style_weight).
    # large_sets: also train on Places365 photos and DTD textures (downloads of ~1.1 GB; GPU profile only).
    # image_size: test images; timing_sizes: sizes for the speed measurement; gatys_steps: notebook 04's
    # L-BFGS steps in the comparison.
    "smoke": {"crop": 32, "batch_size": 2, "epochs": 2, "steps_per_epoch": 3, "lr": 1e-3, "style_weight": 10.0,
              "random_encoder_style_weight": 1.0, "large_sets": False, "image_size": 64, "timing_sizes": (64,), "timing_repeats": 2, "gatys_steps": 5,
              "alpha_values": (0.0, 0.5, 1.0)},
    "laptop": {"crop": 64, "batch_size": 4, "epochs": 5, "steps_per_epoch": 40, "lr": 1e-3,
               "style_weight": 10.0, "random_encoder_style_weight": 1.0, "large_sets": False, "image_size": 256, "timing_sizes": (256,), "timing_repeats": 3,
               "gatys_steps": 50, "alpha_values": (0.0, 0.25, 0.5, 0.75, 1.0)},
    "full": {"crop": 256, "batch_size": 8, "epochs": 16, "steps_per_epoch": 1000, "lr": 1e-4,
             "style_weight": 10.0, "random_encoder_style_weight": 1.0, "large_sets": True, "image_size": 512, "timing_sizes": (256, 512), "timing_repeats": 20,
             "gatys_steps": 500, "alpha_values": (0.0, 0.25, 0.5, 0.75, 1.0)},
}
ENCODER_LAYER = "relu4_1"
ADAIN_STYLE_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")


# The registry images the decoder trains on, and the two it never sees (to judge generalisation).
TRAIN_PHOTOS = ["astronaut", "coffee", "rocket", "hubble_deep_field"]
TRAIN_PAINTINGS = ["starry_night", "shipwreck", "woman_with_hat_matisse", "composition_vii", "great_wave",
                   "mondrian", "klimt_the_kiss", "monet_water_lilies", "wanderer_above_the_sea_of_fog"]
HELD_OUT_PHOTO, HELD_OUT_PAINTING = "chelsea", "the_scream"


def training_images(settings) -> tuple:
    """The decoder's training pictures: two sequences (photos, paintings) of ``[3, H, W]`` tensors in [0, 1]
    with shorter side ``max(2 * settings.crop, 128)``. The registry's pictures above, held in memory; with
    ``settings.large_sets`` (the `full` profile) also the 36,500 Places365 validation photos and the 5,640 DTD
    texture photos, read from disk as they are drawn. Introduced in notebooks/05_adain.ipynb."""
    from tutorial import ImageFiles
    from tutorial.data import dtd_textures, places365_photos

    size = max(2 * settings.crop, 128)
    if not settings.large_sets:
        return ImageFiles(TRAIN_PHOTOS, size, keep=True), ImageFiles(TRAIN_PAINTINGS, size, keep=True)
    return ImageFiles(TRAIN_PHOTOS + places365_photos(), size), ImageFiles(TRAIN_PAINTINGS + dtd_textures(), size)


def calc_mean_std(features: torch.Tensor, eps: float = 1e-5) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample, per-channel mean and standard deviation of ``[N, C, H, W]`` feature maps over H and W,
    each ``[N, C, 1, 1]``. As in the reference PyTorch code (naoto0804/pytorch-AdaIN): std = sqrt(unbiased
    variance + eps), the variance divided by H*W - 1.
    Introduced in notebooks/05_adain.ipynb."""
    n, c = features.shape[:2]
    flat = features.reshape(n, c, -1)
    mean = flat.mean(dim=2).view(n, c, 1, 1)
    std = (flat.var(dim=2) + eps).sqrt().view(n, c, 1, 1)
    return mean, std


def adain_with_statistics(content_features: torch.Tensor, style_mean: torch.Tensor, style_std: torch.Tensor,
                          eps: float = 1e-5) -> torch.Tensor:
    """AdaIN with the style's statistics given: style_std * (x - mu(x)) / sigma(x) + style_mean, per sample
    and channel (``style_mean``, ``style_std`` ``[N, C, 1, 1]`` or broadcastable). Notebook 09's StyleGAN
    computes them from a latent code. Introduced in notebooks/05_adain.ipynb."""
    content_mean, content_std = calc_mean_std(content_features, eps)
    return (content_features - content_mean) / content_std * style_std + style_mean


def adain(content_features: torch.Tensor, style_features: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Adaptive instance normalisation: sigma(y) * (x - mu(x)) / sigma(x) + mu(y), per sample and channel,
    the statistics measured on the style features ``y``. Introduced in notebooks/05_adain.ipynb."""
    return adain_with_statistics(content_features, *calc_mean_std(style_features, eps), eps)


def build_decoder() -> nn.Sequential:
    """The AdaIN decoder: relu4_1 features (512 channels) -> RGB image 8x larger. The module order (and so the
    state_dict keys 1.weight, 5.weight, ..., 28.weight) matches the published decoder of
    naoto0804/pytorch-AdaIN. Introduced in notebooks/05_adain.ipynb."""

    def conv(in_channels, out_channels, relu=True):
        layers = [nn.ReflectionPad2d(1), nn.Conv2d(in_channels, out_channels, 3)]
        return layers + [nn.ReLU()] if relu else layers

    up = nn.Upsample(scale_factor=2, mode="nearest")
    return nn.Sequential(
        *conv(512, 256), up,
        *conv(256, 256), *conv(256, 256), *conv(256, 256), *conv(256, 128), up,
        *conv(128, 128), *conv(128, 64), up,
        *conv(64, 64), *conv(64, 3, relu=False),
    )


def build_encoder(pretrained: bool = True) -> VGGFeatures:
    """Notebook 04's frozen VGG-19 up to relu4_1, with reflection padding and max pooling (as the published
    AdaIN encoder). Introduced in notebooks/05_adain.ipynb."""
    return load_vgg19(pretrained=pretrained, last_layer=ENCODER_LAYER, pool="max", padding_mode="reflect")


def style_statistics_loss(features: dict, style_features: dict) -> torch.Tensor:
    """sum over layers of MSE(mean) + MSE(std) between the output's and the style's features (dicts keyed by
    layer name; style batch 1 broadcasts). Introduced in notebooks/05_adain.ipynb."""
    total = 0.0
    for name, target in style_features.items():
        mean, std = calc_mean_std(features[name])
        target_mean, target_std = calc_mean_std(target)
        total = total + F.mse_loss(mean, target_mean.expand_as(mean)) + F.mse_loss(std, target_std.expand_as(std))
    return total


def adain_losses(encoder: VGGFeatures, decoder: nn.Module, content: torch.Tensor, style: torch.Tensor,
                 alpha: float = 1.0) -> dict[str, torch.Tensor]:
    """One forward pass of AdaIN training: encode, AdaIN (mixed with the content features by ``alpha``),
    decode, re-encode. Returns ``{"content", "style", "output"}``. Introduced in notebooks/05_adain.ipynb."""
    with torch.no_grad():  # the encoder is fixed and the targets are constants
        content_features = encoder(content, (ENCODER_LAYER,))[ENCODER_LAYER]
        style_features = encoder(style, ADAIN_STYLE_LAYERS)
        target = adain(content_features, style_features[ENCODER_LAYER])
        target = alpha * target + (1 - alpha) * content_features
    output = decoder(target)
    output_features = encoder(output, ADAIN_STYLE_LAYERS)
    return {"content": F.mse_loss(output_features[ENCODER_LAYER], target),
            "style": style_statistics_loss(output_features, style_features), "output": output}


def random_crops(images: list, count: int, size: int) -> torch.Tensor:
    """``count`` random square crops ``[count, 3, size, size]`` from a list of ``[3, H, W]`` images: a random
    image, a random crop side between ``size`` and the image's shorter side, resized to ``size``, flipped
    half the time. Uses torch's global random generator. Introduced in notebooks/05_adain.ipynb."""
    crops = []
    for _ in range(count):
        image = images[int(torch.randint(len(images), ()))]
        h, w = image.shape[-2:]
        side = int(torch.randint(min(size, h, w), min(h, w) + 1, ()))
        top, left = int(torch.randint(h - side + 1, ())), int(torch.randint(w - side + 1, ()))
        crop = image[:, top:top + side, left:left + side][None]
        crop = F.interpolate(crop, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
        if torch.rand(()) < 0.5:
            crop = crop.flip(-1)
        crops.append(crop)
    return torch.cat(crops).clamp(0, 1)


def train_decoder(encoder: VGGFeatures, decoder: nn.Module, photos: list, paintings: list, settings,
                  history=None, on_epoch=None, force: bool = False, quiet: bool = False):
    """Train ``decoder`` (Adam, ``settings.lr``) on random crops of ``photos`` and ``paintings`` for
    ``settings.epochs`` x ``settings.steps_per_epoch`` steps of ``settings.batch_size`` pairs, resumable with
    :func:`tutorial.train_or_load`. The loss is content + lambda * style, lambda = ``settings.style_weight``
    with an ImageNet encoder, ``settings.random_encoder_style_weight`` with a random one. ``on_epoch(epoch)``
    runs after each epoch. Returns the LossHistory. Introduced in notebooks/05_adain.ipynb."""
    from tutorial import LossHistory, check_finite, progress, train_or_load

    history = history if history is not None else LossHistory()
    device = next(decoder.parameters()).device
    optimizer = torch.optim.Adam(decoder.parameters(), lr=settings.lr)
    style_weight = settings.style_weight if encoder.pretrained else settings.random_encoder_style_weight

    def train_epoch(epoch):
        decoder.train()
        for step in progress(range(settings.steps_per_epoch), desc=f"epoch {epoch + 1}/{settings.epochs}",
                             leave=False, disable=quiet):
            content = random_crops(photos, settings.batch_size, settings.crop).to(device)
            style = random_crops(paintings, settings.batch_size, settings.crop).to(device)
            losses = adain_losses(encoder, decoder, content, style)
            total = losses["content"] + style_weight * losses["style"]
            check_finite(total, epoch * settings.steps_per_epoch + step)
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            optimizer.step()
            history.log(epoch * settings.steps_per_epoch + step, content=losses["content"].item(),
                        style=losses["style"].item())
        decoder.eval()
        if on_epoch is not None:
            on_epoch(epoch)

    name = f"adain-decoder-{'imagenet' if encoder.pretrained else 'random'}-vgg"
    return train_or_load(name, settings, {"decoder": decoder, "optimizer": optimizer}, settings.epochs,
                         train_epoch, history, force=force, quiet=quiet)


@torch.no_grad()
def stylise(encoder: VGGFeatures, decoder: nn.Module, content: torch.Tensor, styles, alpha: float = 1.0,
            style_weights=None, style_features=None) -> torch.Tensor:
    """Feed-forward style transfer: ``content`` ``[3, H, W]`` or ``[N, 3, H, W]`` in [0, 1], one painting or
    a list (blended by ``style_weights``, default equal, on their AdaIN targets), ``alpha`` from 0 (content)
    to 1 (full style). ``style_features``: the paintings' relu4_1 features, if already computed.
    Returns images in [0, 1], the shape of ``content``. Introduced in notebooks/05_adain.ipynb."""
    single = content.dim() == 3
    content = content[None] if single else content
    height, width = content.shape[-2:]
    # three poolings: pad (by reflection) to a multiple of 8 so that the output has the input's size
    content = F.pad(content, (0, -width % 8, 0, -height % 8), mode="reflect")
    styles = list(styles) if isinstance(styles, (list, tuple)) else [styles]
    weights = list(style_weights) if style_weights is not None else [1.0 / len(styles)] * len(styles)
    content_features = encoder(content, (ENCODER_LAYER,))[ENCODER_LAYER]
    if style_features is None:
        style_features = [encoder(s[None] if s.dim() == 3 else s, (ENCODER_LAYER,))[ENCODER_LAYER] for s in styles]
    target = sum(w * adain(content_features, f) for w, f in zip(weights, style_features))
    target = alpha * target + (1 - alpha) * content_features
    output = decoder(target).clamp(0, 1)[..., :height, :width]
    return output[0] if single else output


def vgg_normalised_to_vgg_features(state: dict) -> dict:
    """Convert the published AdaIN encoder's state dict (``vgg_normalised.pth``: a 1x1 RGB->BGR-255 conv, then
    VGG-19 convs at indices 2, 5, 9, ...) into :class:`tutorial.style_transfer.VGGFeatures` weights ("0.weight",
    ...), folding the 1x1 conv and the ImageNet normalisation into conv1_1. Use with ``pool="max"`` and
    ``padding_mode="reflect"``. Introduced in notebooks/05_adain.ipynb."""
    conv_indices = sorted({int(key.split(".")[0]) for key in state if key.endswith(".weight")})
    first, rest = conv_indices[0], conv_indices[1:]
    ours = [i for i, name in enumerate(VGG_LAYERS) if name.startswith("conv")]
    converted = {}
    for theirs, mine in zip(rest, ours):
        converted[f"{mine}.weight"] = state[f"{theirs}.weight"].float()
        converted[f"{mine}.bias"] = state[f"{theirs}.bias"].float()
    mix = state[f"{first}.weight"].float()[:, :, 0, 0]  # [3 out, 3 in]: acts on RGB in [0, 1]
    shift = state[f"{first}.bias"].float()
    mean, std = torch.tensor(IMAGENET_MEAN), torch.tensor(IMAGENET_STD)
    # our input to conv1_1 is z = (x - mean) / std, i.e. x = std * z + mean, so mix @ x + shift =
    # (mix * std) @ z + (mix @ mean + shift): fold both into conv1_1's weights and bias.
    weight, bias = converted["0.weight"], converted["0.bias"]
    converted["0.weight"] = torch.einsum("ojhw,ji->oihw", weight, mix * std)
    converted["0.bias"] = bias + torch.einsum("ojhw,j->o", weight, mix @ mean + shift)
    return converted


def published_tensors(path, what: str) -> dict:
    """A published weights file as a state dict, tensors only (``weights_only=True``: it cannot run code);
    ``ValueError`` naming the file when it is not one. Introduced in notebooks/05_adain.ipynb."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # not a torch file, truncated, or holding more than tensors
        raise ValueError(f"{path} is not the published {what}: it cannot be read as tensors "
                         f"({type(error).__name__})") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{path} is not the published {what}: it holds no state dict of tensors")
    return state


def load_published_adain(vgg_path, decoder_path) -> tuple[VGGFeatures, nn.Sequential]:
    """Encoder and decoder from the published AdaIN files (``vgg_normalised.pth``, ``decoder.pth``). Each is
    checked by its form (no checksum is published): every tensor the course uses must be there with the right
    shape, else ``ValueError`` names the file and what is wrong. Introduced in notebooks/05_adain.ipynb."""
    vgg_state = published_tensors(vgg_path, "AdaIN encoder (vgg_normalised.pth)")
    weights = [tuple(v.shape) for k, v in sorted(vgg_state.items(), key=lambda kv: int(kv[0].split(".")[0]))
               if k.endswith(".weight")]
    convolutions = sum(name.startswith("conv") for name in VGG_LAYERS[:VGG_LAYERS.index(ENCODER_LAYER) + 1])
    needed = [s for k, s in vgg19_conv_shapes().items() if k.endswith(".weight")][:convolutions]
    if weights[:1] != [(3, 3, 1, 1)] or weights[1:1 + len(needed)] != needed:
        raise ValueError(f"{vgg_path} is not the published AdaIN encoder: its convolutions have shapes "
                         f"{weights[:3]}..., expected a 1x1 colour convolution, then VGG-19's {needed[:2]}...")
    encoder = VGGFeatures(ENCODER_LAYER, pool="max", padding_mode="reflect",
                          weights=vgg_normalised_to_vgg_features(vgg_state))
    decoder = build_decoder()
    decoder_state = published_tensors(decoder_path, "AdaIN decoder (decoder.pth)")
    expected = {k: tuple(v.shape) for k, v in decoder.state_dict().items()}
    found = {k: tuple(v.shape) for k, v in decoder_state.items()}
    if found != expected:
        wrong = sorted(set(expected.items()) ^ set(found.items()))
        raise ValueError(f"{decoder_path} is not the published AdaIN decoder: tensors differ from "
                         f"build_decoder()'s, e.g. {wrong[:2]}")
    decoder.load_state_dict(decoder_state)
    return encoder, decoder.eval()
