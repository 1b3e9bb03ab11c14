"""Archives of the real datasets: where they come from, download, sha256 check, safe extraction.

* ``download`` fetches a URL with ``urllib`` into ``<dest>.part`` and renames it when complete,
  so an interrupted download never looks like an archive. Where the network is unreachable
  (or the source needs a login, like Cityscapes) the error says which URL failed and where to
  place the file by hand.
* ``verify_checksum`` compares a file's sha256 with the published one, when there is one.
* ``extract`` unpacks a zip or tar.gz archive (format detected from its first bytes, not its
  name) member by member into a folder, rejecting absolute paths, ``..`` components, links and
  device files, so a crafted archive can never write outside the target folder. A truncated or
  corrupt archive raises ``ArchiveError`` naming the archive and, where known, the member.
* ``inspect_archive`` reads what an archive would unpack to (a zip's central directory; a tar.gz's member
  headers, streamed, nothing written) and refuses, before anything is extracted, an archive of more than
  :data:`MAX_MEMBERS` members, :data:`MAX_UNPACKED_BYTES` bytes, or that unpacks to more than
  :data:`MAX_RATIO` times its own size (a "zip bomb"); ``check_free_space`` refuses to start when the disk
  lacks the declared size. ``extract`` writes no member beyond its declared size.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import tarfile
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator

from kd_gan_bench.datasets.errors import ArchiveError, ChecksumError, DownloadError

CHUNK = 1 << 20
DOWNLOAD_TIMEOUT_S = 60
#: Limits on what one archive may unpack to. The real datasets extracted here are far below them (edges2shoes,
#: the largest, about 2.5 GB in 50k files; Tiny-ImageNet 120k files), and their images compress by less than
#: 2x; a zip bomb unpacks to a thousand times its size or more.
MAX_MEMBERS = 2_000_000
MAX_UNPACKED_BYTES = 64 << 30
MAX_RATIO = 50
#: Below this many unpacked bytes the ratio is not checked (small text files compress well and harm nothing).
RATIO_FLOOR = 64 << 20
#: Space kept free on the disk after an extraction, on top of the unpacked size.
FREE_SPACE_MARGIN = 256 << 20


@dataclass(frozen=True)
class ArchiveSource:
    """One archive of a dataset: its file name, public URL (None: manual download only) and sha256
    (None where no checksum is published; the computed one is then recorded at preparation)."""

    filename: str
    url: str | None
    sha256: str | None = None
    manual: str = ""  # how to get the file when there is no URL (e.g. a login is needed)

    def how_to_get(self, dest: Path) -> str:
        where = f"place it at {dest}"
        if self.url:
            return f"download {self.url} and {where}"
        return f"{self.manual.rstrip('.')}; then {where}" if self.manual else where


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_checksum(path: Path, expected: str | None) -> str:
    """The file's sha256; ``ChecksumError`` if ``expected`` is given and differs."""
    actual = sha256_file(path)
    if expected and actual.lower() != expected.lower():
        raise ChecksumError(f"{path} has sha256 {actual}, expected {expected}: the file is damaged or not the "
                            f"published one. Delete it and download it again.")
    return actual


def download(source: ArchiveSource, dest: Path) -> Path:
    """Download ``source`` to ``dest`` (through ``dest.part``) and check its sha256 when known."""
    if not source.url:
        raise DownloadError(f"{source.filename} cannot be downloaded automatically: {source.how_to_get(dest)}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(source.url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(part, "wb") as out:
            expected_len = response.headers.get("Content-Length")
            shutil.copyfileobj(response, out, CHUNK)
        if expected_len is not None and part.stat().st_size != int(expected_len):
            raise OSError(f"got {part.stat().st_size} of {expected_len} bytes")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        part.unlink(missing_ok=True)
        reason = getattr(exc, "reason", None) or exc
        raise DownloadError(f"cannot download {source.filename} from {source.url} ({reason}); download it by other "
                            f"means and place it at {dest}"
                            + (f" (sha256 {source.sha256})" if source.sha256 else "")) from None
    try:
        verify_checksum(part, source.sha256)
    except ChecksumError:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    return dest


# ------------------------------------------------------------------------------------------ extraction

_MAGIC = {b"PK\x03\x04": "zip", b"PK\x05\x06": "zip", b"\x1f\x8b": "tar.gz"}


def archive_format(path: Path) -> str:
    """``zip`` or ``tar.gz`` from the file's first bytes; ``ArchiveError`` for anything else."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except FileNotFoundError:
        raise ArchiveError(f"archive {path} does not exist") from None
    for magic, kind in _MAGIC.items():
        if head.startswith(magic):
            return kind
    hint = ""
    if head.lstrip().lower().startswith((b"<!doctype html", b"<html")):
        hint = " It is an HTML page, e.g. an error page saved by a failed download."
    elif not head:
        hint = " It is empty."
    raise ArchiveError(f"{path} is neither a zip nor a tar.gz archive (it starts with {head[:16]!r}).{hint} "
                       f"Delete it and download the archive again.")


#: The longest file name component most filesystems take (bytes).
MAX_NAME_BYTES = 255


def safe_member_path(name: str, archive: Path) -> PurePosixPath | None:
    """The relative path a member may be written to; None for the archive root; ``ArchiveError``
    for absolute paths, drive letters or ``..`` components (path traversal), control characters (NUL) and
    components longer than :data:`MAX_NAME_BYTES`."""
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or (posix.parts and posix.parts[0].endswith(":")) or ".." in posix.parts:
        raise ArchiveError(f"archive {archive} holds the unsafe member path {name!r} (absolute or with '..'): "
                           f"refusing to extract it. The archive is not a genuine dataset archive.")
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or any(
            len(part.encode("utf-8", "surrogateescape")) > MAX_NAME_BYTES for part in posix.parts):
        raise ArchiveError(f"archive {archive} holds the member path {name[:80]!r}{'...' if len(name) > 80 else ''} "
                           f"with a control character or a name longer than {MAX_NAME_BYTES} bytes: refusing to "
                           f"extract it. The archive is not a genuine dataset archive.")
    parts = [p for p in posix.parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else None


@dataclass(frozen=True)
class ArchiveContents:
    """What an archive unpacks to, as its headers declare it."""

    members: int
    unpacked_bytes: int


def _gib(n: int) -> str:
    return f"{n / 2 ** 30:.2f} GiB"


def _check_limits(path: Path, members: int, unpacked: int, packed: int) -> None:
    """``ArchiveError`` when the members seen so far already break a limit (called after each header)."""
    problem = None
    if members > MAX_MEMBERS:
        problem = f"more than {MAX_MEMBERS:,} members"
    elif unpacked > MAX_UNPACKED_BYTES:
        problem = f"more than {_gib(MAX_UNPACKED_BYTES)} unpacked (at least {_gib(unpacked)})"
    elif unpacked > RATIO_FLOOR and unpacked > MAX_RATIO * packed:
        problem = (f"{_gib(unpacked)} or more from {packed:,} bytes, more than {MAX_RATIO} times its own size "
                   f"(a decompression bomb)")
    if problem:
        raise ArchiveError(f"archive {path} would unpack to {problem}: refusing to extract it (limits: "
                           f"{MAX_MEMBERS:,} members, {_gib(MAX_UNPACKED_BYTES)}, {MAX_RATIO}x its size; "
                           f"kd_gan_bench.datasets.archives). It is not a genuine dataset archive: delete it and download the "
                           f"published one.")


def inspect_archive(path: Path) -> ArchiveContents:
    """Member count and unpacked size of a zip or tar.gz, from its headers, nothing written; ``ArchiveError``
    as soon as they break a limit (a tar.gz is read only up to the header that breaks it)."""
    kind = archive_format(path)
    packed = path.stat().st_size
    members = unpacked = 0
    if kind == "zip":
        for info, _zf in _zip_members(path):
            members, unpacked = members + 1, unpacked + info.file_size
            _check_limits(path, members, unpacked, packed)
        return ArchiveContents(members, unpacked)
    member = "(header)"
    try:
        with tarfile.open(path, "r|gz") as tf:  # streamed: each header is read, each member's data skipped
            for info in tf:
                member = info.name
                members, unpacked = members + 1, unpacked + max(info.size, 0)
                _check_limits(path, members, unpacked, packed)
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise ArchiveError(f"tar.gz archive {path} is truncated or corrupt near member {member!r} "
                           f"({exc or type(exc).__name__}): delete it and download it again") from None
    return ArchiveContents(members, unpacked)


def check_free_space(folder: Path, needed: int, what: str) -> None:
    """``ArchiveError`` when the disk holding ``folder`` (or its nearest existing parent) has less than
    ``needed`` bytes free plus :data:`FREE_SPACE_MARGIN`."""
    existing = Path(folder).absolute()
    while not existing.exists():
        existing = existing.parent
    free = shutil.disk_usage(existing).free
    if free < needed + FREE_SPACE_MARGIN:
        raise ArchiveError(f"{what} needs {_gib(needed)} (plus {_gib(FREE_SPACE_MARGIN)} to spare) but the disk of "
                           f"{existing} has {_gib(free)} free: free some space or choose another --data-root")


def _write(stream, target: Path, declared: int, archive: Path, name: str) -> None:
    """Copy a member's stream to ``target``, never more than its ``declared`` size."""
    target.parent.mkdir(parents=True, exist_ok=True)
    left = declared
    with open(target, "wb") as out:
        while chunk := stream.read(min(CHUNK, left + 1)):
            if len(chunk) > left:
                raise ArchiveError(f"archive {archive}: member {name!r} holds more than the {declared:,} bytes its "
                                   f"header declares; refusing to extract it. Delete the archive and download it "
                                   f"again.")
            out.write(chunk)
            left -= len(chunk)


def _zip_members(path: Path) -> Iterator[tuple[zipfile.ZipInfo, zipfile.ZipFile]]:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"zip archive {path} is truncated or corrupt ({exc}): delete it and download it again") from None
    with zf:
        for info in zf.infolist():
            yield info, zf


def _extract_zip(path: Path, dest: Path) -> int:
    count = 0
    for info, zf in _zip_members(path):
        rel = safe_member_path(info.filename, path)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ArchiveError(f"archive {path} holds a symbolic link {info.filename!r}: refusing to extract links")
        if rel is None:
            continue
        try:
            if info.is_dir():
                (dest / rel).mkdir(parents=True, exist_ok=True)
                continue
            with zf.open(info) as stream:
                _write(stream, dest / rel, info.file_size, path, info.filename)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise ArchiveError(f"zip archive {path} is corrupt at member {info.filename!r} ({exc}): delete it and "
                               f"download it again") from None
        count += 1
    return count


def _extract_tar(path: Path, dest: Path) -> int:
    count = 0
    member = "(header)"
    try:
        with tarfile.open(path, "r:gz") as tf:
            for info in tf:
                member = info.name
                rel = safe_member_path(info.name, path)
                if info.issym() or info.islnk():
                    raise ArchiveError(f"archive {path} holds a link {info.name!r} -> {info.linkname!r}: refusing to "
                                       f"extract links")
                if not (info.isfile() or info.isdir()):
                    raise ArchiveError(f"archive {path} holds a special file {info.name!r} (device or fifo): refusing "
                                       f"to extract it")
                if rel is None:
                    continue
                if info.isdir():
                    (dest / rel).mkdir(parents=True, exist_ok=True)
                    continue
                stream = tf.extractfile(info)
                assert stream is not None  # regular file
                _write(stream, dest / rel, info.size, path, info.name)
                count += 1
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise ArchiveError(f"tar.gz archive {path} is truncated or corrupt near member {member!r} ({exc or type(exc).__name__}): "
                           f"delete it and download it again") from None
    return count


def extract(path: Path, dest: Path, contents: ArchiveContents | None = None) -> int:
    """Extract a zip or tar.gz archive into ``dest`` safely; returns the number of files written. The archive is
    inspected first (its limits, the free space) unless ``contents`` says what :func:`inspect_archive` found."""
    kind = archive_format(path)
    contents = contents or inspect_archive(path)
    check_free_space(dest, contents.unpacked_bytes, f"extracting {path}")
    dest.mkdir(parents=True, exist_ok=True)
    count = _extract_zip(path, dest) if kind == "zip" else _extract_tar(path, dest)
    if count == 0:
        raise ArchiveError(f"archive {path} holds no files")
    return count


def zip_reader(path: Path) -> zipfile.ZipFile:
    """An open zip for streaming members without extracting them (Cityscapes' 11 GB photo archive)."""
    if archive_format(path) != "zip":
        raise ArchiveError(f"{path} is a tar.gz archive, expected a zip")
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"zip archive {path} is truncated or corrupt ({exc}): delete it and download it again") from None
