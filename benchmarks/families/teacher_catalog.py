"""The registry of published teacher checkpoints and the check that a teacher spec fits one, torch-free
(a grid expansion reads it; loading the weights is :mod:`kd_gan_bench.benchmarks.families.teachers`'s job, which documents
every source)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from kd_gan_bench.methods.networks.network_spec import describe_network, network_args
from kd_gan_bench.benchmarks.core.registry import NETWORKS, Registry

ARCH_KEYS = ("arch", "ngf", "n_blocks", "num_downs", "norm")
CYCLEGAN_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/{name}.pth"
PIX2PIX_URL = "https://efrosgans.eecs.berkeley.edu/pix2pix/models-pytorch/{name}.pth"
GAN_COMPRESSION_URL = ("https://huggingface.co/mit-han-lab/gan-compression/resolve/main/pretrained/{model}/{task}/"
                       "full/latest_net_G.pth")
RESNET_9 = {"arch": "resnet_generator", "ngf": 64, "n_blocks": 9, "norm": "instance"}
UNET_256 = {"arch": "unet_generator", "ngf": 64, "num_downs": 8, "norm": "batch", "dropout": 0.5}


class CheckpointError(RuntimeError):
    """A teacher checkpoint is missing, unreadable or does not fit its architecture."""


@dataclass(frozen=True)
class PublishedCheckpoint:
    """A public generator checkpoint: where it is, which architecture it fits, where it comes from."""

    name: str
    url: str
    spec: Mapping[str, Any]
    task: str
    source: str
    layout: str = "cyclegan"  # key layout: "cyclegan" (ours) or "gan_compression"
    sha256: str | None = None

    def cache_path(self) -> Path:
        import torch  # torch.hub's folder: only when a checkpoint is fetched

        return Path(torch.hub.get_dir()) / "checkpoints" / "kdgan" / (self.name.replace("/", "__") + ".pth")


CHECKPOINTS: Registry[PublishedCheckpoint] = Registry("teacher checkpoint")


def _register(entry: PublishedCheckpoint) -> None:
    CHECKPOINTS.add(entry.name, entry)


for _name, _task in (("horse2zebra", "horse2zebra"), ("zebra2horse", "zebra2horse"),
                     ("summer2winter_yosemite", "summer2winter_yosemite"),
                     ("winter2summer_yosemite", "winter2summer_yosemite")):
    _register(PublishedCheckpoint(f"cyclegan/{_name}", CYCLEGAN_URL.format(name=_name), RESNET_9, _task,
                                  "CycleGAN (Zhu et al. 2017), junyanz/pytorch-CycleGAN-and-pix2pix pretrained models"))
for _name in ("edges2shoes", "map2sat", "sat2map"):
    _register(PublishedCheckpoint(f"pix2pix/{_name}", PIX2PIX_URL.format(name=_name), UNET_256, _name,
                                  "pix2pix (Isola et al. 2017), junyanz/pytorch-CycleGAN-and-pix2pix pretrained models"))
for _model, _task in (("cycle_gan", "horse2zebra"), ("pix2pix", "edges2shoes-r"), ("pix2pix", "map2sat"),
                      ("pix2pix", "cityscapes")):
    _register(PublishedCheckpoint(f"gan_compression/{_task}", GAN_COMPRESSION_URL.format(model=_model, task=_task),
                                  RESNET_9, _task, "GAN Compression (Li et al. 2020) full teacher, mit-han-lab/gan-compression",
                                  layout="gan_compression"))


def architecture(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The spec without its ``checkpoint`` (what ``build_network`` builds)."""
    return {k: v for k, v in spec.items() if k != "checkpoint"}


def _constructor_defaults(arch: str) -> dict[str, Any]:
    return network_args(arch) if arch in NETWORKS else {}


def check_spec(spec: Mapping[str, Any]) -> None:
    """For a registry checkpoint, the teacher spec must name the architecture the file fits."""
    ref = spec.get("checkpoint")
    if ref is None or ref not in CHECKPOINTS:
        if ref is not None and not isinstance(ref, str):
            raise CheckpointError(f"teacher.checkpoint must be a checkpoint name or a file path, got {ref!r}")
        return
    entry = CHECKPOINTS.get(ref)
    wanted = {k: v for k, v in entry.spec.items() if k in ARCH_KEYS}
    effective = {**_constructor_defaults(spec.get("arch", "")), **spec}
    have = {k: effective.get(k) for k in wanted}
    if have != wanted:
        raise CheckpointError(f"checkpoint {ref!r} is a {describe_network(entry.spec)} ({wanted}); the teacher spec "
                              f"says {have}. Set the teacher to that architecture or drop teacher.checkpoint.")
