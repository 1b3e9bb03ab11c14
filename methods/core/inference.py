"""The one home of an evaluation forward: a network in eval mode, without gradients, over uint8 images
batch by batch, its training mode restored afterwards (translating a test split, scoring a teacher,
predicting labels, probing feature shapes)."""
from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

import torch
from torch import nn

from kd_gan_bench.methods.core.training import to_float


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``model`` in eval mode without gradients; its previous training mode is restored on exit."""
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            yield model
    finally:
        model.train(was_training)


def batched_forward(model: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int,
                    fn: Callable[[torch.Tensor], torch.Tensor] | None = None,
                    post: Callable[[torch.Tensor], torch.Tensor] = lambda out: out) -> torch.Tensor:
    """``post(fn(x))`` for every batch of uint8 ``images`` (``to_float`` on ``device``), concatenated;
    ``fn`` defaults to ``model`` itself (pass ``model.embed`` for features), run in :func:`eval_mode`."""
    fn = fn or model
    with eval_mode(model):
        return torch.cat([post(fn(to_float(images[i:i + batch_size], device)))
                          for i in range(0, len(images), batch_size)])
