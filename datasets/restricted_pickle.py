"""Reading the pickled numpy batches that datasets ship in (CIFAR's python version) without running code.

``pickle.load`` calls whatever callable a file names, so a crafted data file runs code as whoever loads the
task. :func:`load_numpy_pickle` follows the standard library's "restricting globals" recipe (the ``pickle``
module documentation): only the callables that rebuild numpy arrays and dtypes may be named (``_reconstruct``,
``ndarray``, ``dtype``, ``scalar`` and protocol 5's ``_frombuffer``, under numpy 1's ``numpy.core`` and numpy 2's
``numpy._core`` paths); plain containers, strings and numbers need none. Anything else raises
``UntrustedPickleError`` naming the global, before it is looked up or called.
"""
from __future__ import annotations

import importlib
import pickle
from typing import IO, Any

#: (module, name) pairs a numpy data pickle may name; numpy 2 moved numpy.core to numpy._core
ALLOWED_GLOBALS = frozenset(
    [(core + ".multiarray", name) for core in ("numpy.core", "numpy._core") for name in ("_reconstruct", "scalar")]
    + [(core + ".numeric", "_frombuffer") for core in ("numpy.core", "numpy._core")]
    + [("numpy", "ndarray"), ("numpy", "dtype")]
)


class UntrustedPickleError(pickle.UnpicklingError):
    """The pickle names a callable other than numpy's array and dtype rebuilders."""


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in ALLOWED_GLOBALS:
            raise UntrustedPickleError(f"it names {module}.{name}, which is not one of numpy's array rebuilders "
                                       f"(a data file has no reason to; it was not run)")
        if module.startswith("numpy.core.") or module.startswith("numpy._core."):
            import numpy

            # numpy 2 keeps numpy.core only as a deprecated alias: take the real module of this numpy
            core = "numpy._core" if hasattr(numpy, "_core") else "numpy.core"
            module = core + module[module.index(".", len("numpy.")):]
        return getattr(importlib.import_module(module), name)


def load_numpy_pickle(fh: IO[bytes], encoding: str = "ASCII") -> Any:
    """Unpickle ``fh`` allowing only numpy arrays, dtypes and plain Python data (see the module docstring)."""
    return _NumpyOnlyUnpickler(fh, encoding=encoding).load()
