"""A fallback the user must not miss, said once per process: a log line and a framed banner on stderr.

Used where the harness carries on with a stand-in for missing pretrained weights (FID's offline
extractor, perceptual losses' random VGG16): the numbers it then produces are not the paper's, so
the first time, and only the first time, each such fallback happens in a process it is said loudly.
Torch-free, in ``methods/`` so that methods and the harness share it (``methods/`` never imports
``benchmarks/``).
"""
from __future__ import annotations

import logging
import sys

#: The fallbacks already announced in this process (a test clears it to see a banner again).
WARNED: set[str] = set()
RULE = "=" * 94


def warn_once(key: str, log: logging.Logger, summary: str, banner: str) -> bool:
    """Log ``summary`` and print ``banner`` framed by rules to stderr, unless ``key`` was warned before in
    this process; True when it warned now."""
    if key in WARNED:
        return False
    WARNED.add(key)
    log.warning(summary)
    print(f"\n{RULE}\n{banner.strip(chr(10))}\n{RULE}\n", file=sys.stderr, flush=True)
    return True
