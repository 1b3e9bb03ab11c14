"""Errors of the real-dataset layer. Every message says what was wrong, where, and how to fix it.

They all derive from ``DatasetError`` (a ``RuntimeError``), so a job that needs a dataset fails
with the message in its record while the rest of the grid runs, and the CLI turns them into
exit status 2.
"""
from __future__ import annotations


class DatasetError(RuntimeError):
    """A dataset, archive or image problem; the message is meant for the user as is."""


class ArchiveError(DatasetError):
    """An archive is missing, truncated, of the wrong format, or holds unsafe member paths."""


class DownloadError(DatasetError):
    """A download failed; the message names the URL and where to place the file by hand."""


class ChecksumError(DatasetError):
    """A file's sha256 differs from the published one."""


class ImageFileError(DatasetError):
    """An image or label file is unreadable or does not fit (size, channels); names the file."""


class LayoutError(DatasetError):
    """A prepared dataset folder lacks a split or file; names what is missing."""
