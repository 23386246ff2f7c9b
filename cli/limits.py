"""Limits asked vs. applied: neutral ground that runners (which apply them) and analysis (which reads
them back) both use, so analysis never imports a runner."""

from typing import Any, Optional

from edgebench.suite.spec import RunSpec, cpuset_cpus

MIB = 1 << 20
# Kernels round limits to pages; compare applied and asked within one page per MiB asked.
_PAGE = 4096


def docker_swap_total(limits_mb: Optional[float], memory_swap_mb: Optional[float]) -> Optional[float]:
    """Docker's rule: --memory without --memory-swap allows as much swap again as memory."""
    if limits_mb is None:
        return None
    return memory_swap_mb if memory_swap_mb is not None else 2 * limits_mb


def compare_limits(spec: RunSpec, inside: dict[str, Any]) -> dict[str, Any]:
    """Asked vs. read from inside the run (cgroup files); mismatches are listed, not hidden."""
    asked_mem = spec.limits.memory_mb
    asked_memsw = docker_swap_total(asked_mem, spec.limits.memory_swap_mb)
    rows = {
        "memory_mb": (asked_mem, inside.get("memory_limit_bytes")),
        "memory_swap_mb": (asked_memsw, inside.get("memory_swap_limit_bytes")),
        "swappiness": (spec.limits.swappiness, inside.get("swappiness")),
        "cpus": (spec.limits.cpus, inside.get("cpus_quota")),
    }
    out: dict[str, Any] = {"asked": {}, "applied": {}, "mismatches": []}
    for key, (asked, got) in rows.items():
        if key.endswith("_mb") and got is not None:
            got = got / float(MIB)
        out["asked"][key] = asked
        out["applied"][key] = got
        if asked is None:
            continue
        tol = (asked * _PAGE / MIB + 1e-6) if key.endswith("_mb") else 1e-6
        if got is None or abs(got - asked) > tol:
            out["mismatches"].append("%s: asked %s, applied %s" % (key, asked, got))
    _compare_cpuset(spec.limits.cpuset, inside, out)
    out["match"] = not out["mismatches"]
    return out


def _cpus_of(text: Any) -> Optional[list[int]]:
    try:
        return cpuset_cpus(text)
    except ValueError:
        return None


def _compare_cpuset(asked: Optional[str], inside: dict[str, Any], out: dict[str, Any]) -> None:
    """The cpuset as the cgroup holds it, and the CPUs the process could run on (its affinity): both
    must be the asked CPUs. Compared as CPU sets, so "0-1" and "0,1" agree."""
    got, aff = inside.get("cpuset"), inside.get("cpu_affinity")
    out["asked"]["cpuset"] = asked
    out["applied"]["cpuset"] = got
    out["applied"]["cpu_affinity"] = aff
    if asked is None:
        return
    want = _cpus_of(asked)
    if got is None or _cpus_of(got) != want:
        out["mismatches"].append("cpuset: asked %s, applied %s" % (asked, got))
    if aff is not None and sorted(aff) != want:
        out["mismatches"].append("cpuset: asked %s, the run's CPU affinity is %s" % (asked, sorted(aff)))
