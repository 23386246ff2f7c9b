"""Inference backends, discovered by name through suite/registry.py. Importing this package imports no runtime."""

import importlib
from typing import Dict, List, Optional, Tuple, Type

from .. import registry
from .base import Backend, BackendUnavailable

# name -> (module, class), from the one declaration of each framework (suite/registry.py).
_REGISTRY: Dict[str, Tuple[str, str]] = {
    name: ("edgebench.suite.backends." + fw.backend.split(":")[0], fw.backend.split(":")[1])
    for name, fw in registry.FRAMEWORKS.items()}


def names() -> List[str]:
    return sorted(_REGISTRY)


def get(name: str) -> Type[Backend]:
    """The backend class for `name`, or BackendUnavailable with a one-line reason."""
    if name not in _REGISTRY:
        raise BackendUnavailable("unknown framework %r; known: %s" % (name, ", ".join(names())))
    module, attr = _REGISTRY[name]
    try:
        mod = importlib.import_module(module)
    except ImportError as e:
        raise BackendUnavailable("framework %r: its runtime is not installed here (%s)" % (name, e)) from e
    return getattr(mod, attr)  # type: ignore[no-any-return,unused-ignore]


def probe(name: str) -> Optional[str]:
    """None when `name` can run here, else why not (one line)."""
    try:
        get(name)
    except BackendUnavailable as e:
        return str(e)
    return None
