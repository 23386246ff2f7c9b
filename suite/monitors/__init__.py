"""Monitor plugins, discovered by name. A monitor samples in its own thread while the model runs.

The host checks a matrix's monitors in the run environment before a campaign starts:
`python -m edgebench.suite.monitors check NAME...` (see __main__.py), which calls check().
"""

import importlib
from typing import Any, Dict, List, Optional, Tuple, Type

from .. import registry
from .base import Monitor, MonitorUnavailable, setting

__all__ = ["Monitor", "MonitorUnavailable", "check", "create", "get", "names", "probe", "setting"]

# name -> (module, class), from the one declaration of each monitor (suite/registry.py).
_REGISTRY: Dict[str, Tuple[str, str]] = {
    name: ("edgebench.suite.monitors." + m.module.split(":")[0], m.module.split(":")[1])
    for name, m in registry.MONITORS.items()}

Config = Optional[Dict[str, Any]]


def names() -> List[str]:
    return sorted(_REGISTRY)


def _load(name: str) -> Type[Monitor]:
    if name not in _REGISTRY:
        raise MonitorUnavailable("unknown monitor %r; known: %s" % (name, ", ".join(names())))
    module, attr = _REGISTRY[name]
    try:
        cls: Type[Monitor] = getattr(importlib.import_module(module), attr)
    except ImportError as e:
        raise MonitorUnavailable("monitor %r needs a module that is not installed here: %s" % (name, e)) from e
    return cls


def get(name: str, config: Config = None) -> Type[Monitor]:
    """The monitor class for `name`; MonitorUnavailable with a one-line reason when it cannot run."""
    cls = _load(name)
    try:
        reason = cls.unavailable_reason(config)
    except MonitorUnavailable:
        raise
    except Exception as e:  # a probe that crashes is a reason too, not a traceback
        reason = "availability probe failed: %s: %s" % (type(e).__name__, e)
    if reason:
        raise MonitorUnavailable("monitor %r is not available: %s" % (name, reason))
    return cls


def create(name: str, interval_s: float, config: Config = None) -> Monitor:
    """A ready-to-start monitor, or MonitorUnavailable."""
    return get(name, config)(interval_s, None, config)


def probe(name: str, config: Config = None) -> Optional[str]:
    """None when `name` can run here, else why not."""
    try:
        get(name, config)
    except MonitorUnavailable as e:
        return str(e)
    return None


def check(monitor_names: List[str], configs: Optional[Dict[str, Dict[str, Any]]] = None) -> List[str]:
    """One line per asked-for monitor that cannot run here; empty when all can. Call it in the run
    environment (the image or the local venv) before the campaign starts."""
    problems = []
    for name in monitor_names:
        reason = probe(name, (configs or {}).get(name))
        if reason:
            problems.append(reason)
    return problems
