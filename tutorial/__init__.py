"""Helpers for the course *Image generation and style transfer, from scratch in PyTorch*.

What is not the lesson lives here: profiles and devices, checksummed data, image loading and display,
training plumbing, metrics and benchmarks. Lesson code is written in the notebooks and exported into
modules of this package (see :mod:`tutorial.export`).
"""
from .data import credit, data_dir, fetch, fetch_all, mnist_dataset
from .images import ImageFiles, ImageLoadError, load_image, show_grid, show_images
from .profiles import current_profile, pick_device, pick_settings, seed_everything
from .training import (Checkpoint, CheckpointMismatchError, CheckpointUnreadableError, LossHistory, NonFiniteLossError,
                       check_finite, progress, train_or_load)

__version__ = "0.1.0"
REPOSITORY = "https://github.com/image-gen-course/image-gen-course"
