"""EdgeTPU pinning: which accelerator a placement names, and the delegate loaded for it.

pycoral's make_interpreter(device=...) semantics: ":N" is the Nth EdgeTPU of list_edge_tpus(), "usb:N" /
"pci:N" the Nth of that type, "usb" / "pci" the first of that type, none the first found. The same string
goes to tflite_runtime's load_delegate(lib, {"device": ...}). list_edge_tpus() and load_delegate are passed
in, so the bookkeeping is tested against a recorded device list where no EdgeTPU exists.
"""

from typing import Any, Callable, Dict, List, Optional, Tuple

from .. import placements
from .base import BackendUnavailable

TpuList = List[Dict[str, str]]


def list_edge_tpus() -> Optional[TpuList]:
    """pycoral's list of attached EdgeTPUs ([{'type': 'usb', 'path': '/sys/bus/usb/devices/2-1'}, ...]),
    or None where pycoral is not installed (the delegate may still load; which device it took is unknown)."""
    try:
        from pycoral.utils.edgetpu import list_edge_tpus as _list
    except ImportError:
        return None
    return [dict(t) for t in _list()]


def resolve(placement: str, tpus: Optional[TpuList]) -> Dict[str, Any]:
    """The accelerator `placement` pins to, found in `tpus` the way pycoral numbers them."""
    device = placements.edgetpu_device(placement)
    out: Dict[str, Any] = {"requested": placement, "device_option": device, "edgetpu": None,
                           "listed": None if tpus is None else len(tpus)}
    if tpus is None:
        out["reason"] = "pycoral is not installed: the attached EdgeTPUs could not be listed"
        return out
    kind, _, index = (device or "").partition(":")
    wanted = [i for i, t in enumerate(tpus) if not kind or t.get("type") == kind]
    n = int(index) if index else 0
    if n >= len(wanted):
        raise BackendUnavailable("placement %r: asks for %s EdgeTPU #%d, but list_edge_tpus() lists %d: %s"
                                 % (placement, kind or "any", n, len(wanted), tpus))
    out["edgetpu"] = dict(tpus[wanted[n]], index=wanted[n])
    return out


def load(placement: str, lib: str, load_delegate: Callable[..., Any],
         list_tpus: Optional[Callable[[], Optional[TpuList]]] = None) -> Tuple[Any, Dict[str, Any]]:
    """The EdgeTPU delegate for `placement`, and which accelerator it is (list_tpus: list_edge_tpus)."""
    info = resolve(placement, (list_tpus or list_edge_tpus)())
    opts = {"device": info["device_option"]} if info["device_option"] else {}
    try:
        delegate = load_delegate(lib, opts)
    except (ValueError, OSError) as e:
        raise BackendUnavailable("placement %r: cannot load the EdgeTPU delegate %s %s (%s); is the accelerator "
                                 "plugged in and libedgetpu installed?" % (placement, lib, opts, e)) from e
    info["delegate_options"] = opts
    return delegate, info
