"""Runners: how one run is started (a local process in a cgroup, or a container)."""

from typing import Optional

from rich.console import Console

from ..errors import InputError
from .base import Runner


def make_runner(name: str, allow_no_swap: bool, console: Optional[Console] = None) -> Runner:
    """The runner called `name`; 'auto' is Docker wherever an engine answers, else a local process.
    (Minimal version; h2a's, with a timed docker probe and a message, replaces it at merge.)"""
    if name == "auto":
        try:
            from ..images import client

            client(timeout=5).ping()
            name = "docker"
        except Exception:
            name = "local"
    if name == "local":
        from .local import LocalRunner

        return LocalRunner(allow_no_swap=allow_no_swap)
    if name == "docker":
        from .docker import DockerRunner

        return DockerRunner(allow_no_swap=allow_no_swap)
    raise InputError("--runner", "runner", "expected 'local' or 'docker', got %r" % name)


__all__ = ["Runner", "make_runner"]
