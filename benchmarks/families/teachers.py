"""Published teacher generators: a small registry of public checkpoints, and loading by path.

A teacher spec may carry ``checkpoint``: a registry name below or a file path. The teacher job
then loads those weights into the spec's architecture and evaluates them instead of training
(``--set teacher.checkpoint=cyclegan/horse2zebra`` or ``=/path/latest_net_G.pth``).

Known checkpoints (no sha256 is published for any of them, so ``sha256`` is None and the file's
hash is recorded in the job record instead; a URL that no longer answers gives an error that
says where to place the file):

* CycleGAN (junyanz/pytorch-CycleGAN-and-pix2pix ``scripts/download_cyclegan_model.sh``):
  ``https://efrosgans.eecs.berkeley.edu/cyclegan/pretrained_models/<name>.pth``, ResNet-9blocks,
  ngf 64, instance norm, trained without dropout; the A->B generator only.
* pix2pix (``scripts/download_pix2pix_model.sh``): ``.../pix2pix/models-pytorch/<name>.pth``,
  U-Net-256, ngf 64, batch norm, dropout.
* GAN Compression "full" teachers (mit-han-lab/gan-compression ``scripts/download_model.py``):
  ``https://huggingface.co/mit-han-lab/gan-compression/resolve/main/pretrained/<model>/<task>/full/latest_net_G.pth``,
  ResNet-9blocks, ngf 64, instance norm. Their ``ResnetBlock`` always holds a ``Dropout`` layer, so
  the second conv is ``conv_block.6`` where CycleGAN's layout (ours) has ``conv_block.5``: the
  ``gan_compression`` key layout renames them.

Loading is strict. Old CycleGAN files may hold InstanceNorm running statistics that current
PyTorch does not track; they are dropped, as CycleGAN's own ``__patch_instance_norm_state_dict``
does. Any other missing, unexpected or mis-shaped key fails with the keys listed and a hint of
what the file looks like (architecture, ngf) so the spec can be fixed.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import torch
from torch import nn

from kd_gan_bench.benchmarks.families.teacher_catalog import (ARCH_KEYS, CHECKPOINTS, CheckpointError,  # noqa: F401  (their old home)
                                        PublishedCheckpoint,
                                        architecture, check_spec)
from kd_gan_bench.datasets.archives import ArchiveSource, download, sha256_file
from kd_gan_bench.methods.core.base import TrainOutcome
from kd_gan_bench.methods.networks.build import build_network, state_dict_mismatch
from kd_gan_bench.methods.networks.network_spec import describe_network

# ------------------------------------------------------------------------------------------ key layouts


def _gan_compression_keys(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """GAN Compression's ResnetBlock (always with Dropout) -> CycleGAN's layout: conv_block.6/.7 -> .5/.6."""
    pattern = re.compile(r"^(model\.\d+\.conv_block\.)([67])\.")
    return {pattern.sub(lambda m: f"{m.group(1)}{int(m.group(2)) - 1}.", k): v for k, v in state.items()}


LAYOUTS: dict[str, Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]] = {
    "cyclegan": lambda state: state,
    "gan_compression": _gan_compression_keys,
}


def _drop_instance_norm_stats(net: nn.Module, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove InstanceNorm running stats the module does not track (pre-0.4 CycleGAN checkpoints)."""
    untracked = {name for name, m in net.named_modules()
                 if isinstance(m, nn.InstanceNorm2d) and not m.track_running_stats}
    stats = ("running_mean", "running_var", "num_batches_tracked")
    return {k: v for k, v in state.items() if not (k.rpartition(".")[0] in untracked and k.rpartition(".")[2] in stats)}


# ------------------------------------------------------------------------------------------ resolving


def resolve(ref: str, log: Callable[[str], None] = print) -> tuple[Path, PublishedCheckpoint | None]:
    """The local file of a checkpoint reference (downloading a registry entry into torch.hub's cache)."""
    if ref in CHECKPOINTS:
        entry = CHECKPOINTS.get(ref)
        path = entry.cache_path()
        if not path.is_file():
            log(f"downloading teacher checkpoint {ref} from {entry.url}")
            download(ArchiveSource(path.name, entry.url, entry.sha256), path)
        return path, entry
    path = Path(ref).expanduser()
    if not path.is_file():
        raise CheckpointError(f"teacher.checkpoint {ref!r} is neither a known checkpoint ({', '.join(CHECKPOINTS)}) "
                              f"nor an existing file")
    return path.resolve(), None


def _read_state(path: Path) -> dict[str, torch.Tensor]:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated files and foreign pickles fail in many ways
        raise CheckpointError(f"cannot read teacher checkpoint {path}: {type(exc).__name__}: {exc}. Is it a complete "
                              f"torch state_dict file?") from None
    for key in ("state_dict", "G", "netG", "G_A"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
            break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"teacher checkpoint {path} does not hold a generator state_dict")
    return {k.removeprefix("module."): v for k, v in state.items()}


def _looks_like(state: Mapping[str, torch.Tensor]) -> str:
    """A hint of what generator a state_dict holds (architecture and ngf), for mismatch messages."""
    if "model.model.0.weight" in state:
        return f"it looks like a U-Net with ngf {state['model.model.0.weight'].shape[0]}"
    if "model.1.weight" in state:
        blocks = {k.split(".")[1] for k in state if ".conv_block." in k}
        kind = "mobile ResNet" if any(".conv_block.1.conv." in k for k in state) else "ResNet"
        return f"it looks like a {kind} generator with ngf {state['model.1.weight'].shape[0]} and {len(blocks)} blocks"
    return "its keys match no generator of this harness"


def fit_state(net: nn.Module, state: dict[str, torch.Tensor], spec: Mapping[str, Any], path: Path) -> None:
    """Load ``state`` strictly into ``net``; ``CheckpointError`` listing every offending key."""
    mismatch = state_dict_mismatch(net.state_dict(), state, shapes="checkpoint vs model", limit=10)
    if mismatch:
        raise CheckpointError(f"teacher checkpoint {path} does not fit {describe_network(spec)} "
                              f"({architecture(spec)}): {mismatch}. {_looks_like(state)}: set the "
                              f"teacher spec to match (e.g. --set teacher.ngf=N).")
    net.load_state_dict(state, strict=True)


def _loaded(spec: Mapping[str, Any], log: Callable[[str], None]) -> tuple[nn.Module, Path, PublishedCheckpoint | None]:
    """The network of ``spec`` with its checkpoint loaded strictly, the file and its registry entry."""
    check_spec(spec)
    path, entry = resolve(spec["checkpoint"], log)
    net = build_network(architecture(spec))
    state = LAYOUTS[entry.layout if entry else "cyclegan"](_read_state(path))
    fit_state(net, _drop_instance_norm_stats(net, state), spec, path)
    return net, path, entry


def check_checkpoint_files(specs: Iterable[Mapping[str, Any]]) -> None:
    """Before any job of a grid starts: every teacher checkpoint given as a file is read (``weights_only``) and
    loaded strictly into its network, so a file that does not fit fails the grid with exit 2, not its teacher
    job (and its students after it). Registry checkpoints are downloaded and checked by their teacher jobs."""
    seen: set[str] = set()
    for spec in specs:
        ref = spec.get("checkpoint")
        key = repr(sorted(spec.items()))
        if ref is None or ref in CHECKPOINTS or key in seen:
            continue
        seen.add(key)
        try:
            _loaded(spec, log=lambda _text: None)
        except CheckpointError as exc:
            raise ValueError(f"teacher.checkpoint: {exc}") from None


def load_teacher_checkpoint(spec: Mapping[str, Any], log: Callable[[str], None] = print) -> TrainOutcome:
    """The teacher of ``spec`` with its ``checkpoint`` loaded, as a training outcome (no training)."""
    net, path, entry = _loaded(spec, log)
    provenance = {"checkpoint": spec["checkpoint"], "path": str(path), "sha256": sha256_file(path),
                  "url": entry.url if entry else None, "source": entry.source if entry else "file"}
    log(f"teacher loaded from {path} (sha256 {provenance['sha256'][:12]}); no training")
    return TrainOutcome(net, {"steps": []}, extras={"checkpoint": provenance})
