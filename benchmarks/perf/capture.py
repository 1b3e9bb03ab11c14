"""Keep the arguments of a method's loss function from one training step, for timing that function alone."""
from __future__ import annotations

import dataclasses
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch


def _detached(value: Any) -> Any:
    """``value`` with every tensor in it detached (dicts, sequences and dataclasses followed)."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_detached(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _detached(getattr(value, f.name))
                                             for f in dataclasses.fields(value)})
    return value


@contextmanager
def last_call(owner: Any, name: str, when: Callable[[], bool]) -> Iterator[dict[str, Any]]:
    """Wrap ``owner.name`` (a module's function or an object's method) so that the arguments of its
    latest call while ``when()`` holds are kept, detached: the graph is not kept alive."""
    original, own = getattr(owner, name), name in vars(owner)
    seen: dict[str, Any] = {}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when():
            seen.update(args=_detached(args), kwargs=_detached(kwargs))
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)
    try:
        yield seen
    finally:
        if own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)



def leaf(x: torch.Tensor) -> torch.Tensor:
    """A fresh leaf that requires grad, with ``x``'s values."""
    return x.detach().requires_grad_()
