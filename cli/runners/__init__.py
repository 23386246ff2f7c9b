"""Runners: where a run's child process lives (a local cgroup or a container), chosen by make_runner."""

import os
import time
from typing import Any, Optional

from rich.console import Console

from ..errors import InputError
from .base import Runner

PROBE_S = 3  # an engine that answers at all answers /_ping in milliseconds; one that hangs is not waited for


def probe_docker(timeout_s: float = PROBE_S) -> tuple[Optional[Any], str]:
    """(a client, '') when a Docker engine answers /_ping within timeout_s, else (None, why)."""
    where = os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"
    t0 = time.monotonic()
    try:
        from ..images import client

        c = client(timeout=max(1, int(timeout_s)))
        c.ping()
    except Exception as e:  # the SDK raises many kinds (connection, timeout, API); all mean "no engine here"
        took = time.monotonic() - t0
        if took >= timeout_s - 0.5:
            return None, "the Docker engine at %s did not answer within %.0f s" % (where, timeout_s)
        said = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        return None, "no Docker engine at %s (%s)" % (where, said)
    return c, "the Docker engine at %s answered in %.2f s" % (where, time.monotonic() - t0)


def make_runner(name: str, allow_no_swap: bool, console: Optional[Console] = None) -> Runner:
    """The runner called `name` (auto, docker, local); `auto` says which it chose and why."""
    if name not in ("auto", "docker", "local"):
        raise InputError("--runner", "runner", "expected 'auto', 'local' or 'docker', got %r" % name)
    if name in ("auto", "docker"):
        probed, why = probe_docker()
        if probed is None and name == "docker":
            raise InputError("--runner", "runner", "%s; start one with `sh scripts/setup-docker.sh` (root) or set "
                             "DOCKER_HOST, or use --runner local" % why)
        if name == "auto":
            name = "docker" if probed is not None else "local"
            if console is not None:
                console.print("runner: %s (%s)" % (name, why))
    if name == "local":
        from .local import LocalRunner

        return LocalRunner(allow_no_swap=allow_no_swap)
    from ..images import client
    from .docker import DockerRunner

    return DockerRunner(allow_no_swap=allow_no_swap, client=client())


__all__ = ["Runner", "make_runner", "probe_docker"]
