"""The one evaluation forward (methods/core/inference.py): eval mode, no gradients, batch size does not matter."""
from __future__ import annotations

import torch
from torch import nn

from kd_gan_bench.methods.core.inference import batched_forward, eval_mode


def test_batched_forward_is_eval_mode_gradient_free_and_batch_invariant():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.Dropout(0.5))
    net.train()
    images = torch.randint(0, 256, (5, 3, 8, 8), dtype=torch.uint8)
    one = batched_forward(net, images, torch.device("cpu"), batch_size=1)
    all_at_once = batched_forward(net, images, torch.device("cpu"), batch_size=5)
    assert torch.allclose(one, all_at_once, atol=1e-5)  # BatchNorm's running statistics, no dropout: eval mode
    assert not one.requires_grad and net.training  # no graph kept; the training mode is back


def test_eval_mode_restores_the_mode_even_when_the_forward_fails():
    net = nn.Linear(2, 2)
    net.train()
    try:
        with eval_mode(net):
            assert not net.training and not torch.is_grad_enabled()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert net.training
