"""Placement strings, parsed once: "cpu", "cpu:2", "cpu:0-1", "cuda:0", "edgetpu:1", "usb:0", "pci",
and a list of them for copies spread round-robin ("edgetpu:0,edgetpu:1").

Pure string work, no runtime imported: the spec validates with it, the workloads and backends use it.
"""

from typing import List, Optional, Set

# Accelerator kinds as pycoral's make_interpreter(device=...) names them; "edgetpu" is any kind.
EDGETPU_KINDS = ("edgetpu", "usb", "pci")


def split(placement: str) -> List[str]:
    """The placements a concurrent run spreads its copies over, in order (copies round-robin)."""
    return [p.strip() for p in placement.split(",") if p.strip()] or [placement]


def for_copy(placement: str, copy: int) -> str:
    parts = split(placement)
    return parts[copy % len(parts)]


def kind(placement: str) -> str:
    return placement.split(":", 1)[0]


def is_edgetpu(placement: str) -> bool:
    return kind(placement) in EDGETPU_KINDS


def edgetpu_device(placement: str) -> Optional[str]:
    """The `device` option of the EdgeTPU delegate (pycoral's form: ":0", "usb", "usb:0", "pci:0"),
    or None for "edgetpu" alone (the runtime picks the first accelerator)."""
    k, _, index = placement.partition(":")
    if k not in EDGETPU_KINDS:
        raise ValueError("%r is not an EdgeTPU placement (%s)" % (placement, ", ".join(EDGETPU_KINDS)))
    if index and not index.isdigit():
        raise ValueError("EdgeTPU placement %r: the index must be a number, e.g. %s:0" % (placement, k))
    if k == "edgetpu":
        return ":" + index if index else None
    return k + (":" + index if index else "")


def accelerators(placement: str) -> List[str]:
    """The EdgeTPUs a placement pins to by index ("usb:0", "edgetpu:1"); two streams must not share one."""
    return [p for p in split(placement) if is_edgetpu(p) and ":" in p]


def cpu_set(placement: str) -> Optional[Set[int]]:
    """The CPUs of "cpu:N" or "cpu:N-M" (None for plain "cpu" or another processor)."""
    k, _, rest = placement.partition(":")
    if k != "cpu" or not rest:
        return None
    lo, _, hi = rest.partition("-")
    if not lo.isdigit() or (hi and not hi.isdigit()):
        raise ValueError("cpu placement %r: expected cpu:N or cpu:N-M" % placement)
    a, b = int(lo), int(hi or lo)
    if b < a:
        raise ValueError("cpu placement %r: range runs backwards" % placement)
    return set(range(a, b + 1))
