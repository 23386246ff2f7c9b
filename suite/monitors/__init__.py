"""Monitor plugins, discovered by name. A monitor samples in its own thread while the model runs."""

import importlib
from typing import Dict, List, Optional, Tuple, Type

from .base import Monitor, MonitorUnavailable

_REGISTRY: Dict[str, Tuple[str, str]] = {
    "psutil": ("edgebench.suite.monitors.psutil_monitor", "PsutilMonitor"),
}


def names() -> List[str]:
    return sorted(_REGISTRY)


def get(name: str) -> Type[Monitor]:
    """The monitor class for `name`; MonitorUnavailable with a one-line reason when it cannot run."""
    if name not in _REGISTRY:
        raise MonitorUnavailable("unknown monitor %r; known: %s" % (name, ", ".join(names())))
    module, attr = _REGISTRY[name]
    try:
        cls: Type[Monitor] = getattr(importlib.import_module(module), attr)
    except ImportError as e:
        raise MonitorUnavailable("monitor %r needs a module that is not installed here: %s" % (name, e)) from e
    reason = cls.unavailable_reason()
    if reason:
        raise MonitorUnavailable("monitor %r is not available: %s" % (name, reason))
    return cls


def probe(name: str) -> Optional[str]:
    """None when `name` can run here, else why not."""
    try:
        get(name)
    except MonitorUnavailable as e:
        return str(e)
    return None
