"""Environment probes at run start and end: power mode, clocks, governors, temperatures, throttling.

snapshot() reads sysfs (and nvpmodel / vcgencmd where present) into plain dicts; verdict(start, end)
says whether the device throttled during the run, with the evidence, or None when nothing here
could tell. Sources of throttling evidence:
  Raspberry Pi  `vcgencmd get_throttled` (or the firmware's sysfs node): bits 0-3 now, 16-19 since boot
  x86           /sys/devices/system/cpu/cpu*/thermal_throttle/*_throttle_count rising during the run
  any Linux     a CPU/GPU cooling device (cpufreq/devfreq cooling) in a non-zero state; a CPU's
                scaling_max_freq lowered during the run; a clock below the floor jetson_clocks pinned
`root` and `run` exist so tests can feed recorded trees and command output.
"""

import glob
import os
import subprocess
from typing import Any, Callable, Dict, List, Optional

from .fsutil import read_text

Runner = Callable[[List[str]], Optional[str]]

PI_BITS = {0: "under-voltage", 1: "arm frequency capped", 2: "throttled", 3: "soft temperature limit"}
_COOLING_FANS = ("fan", "pwm-fan", "pwmfan")


def run_command(cmd: List[str], timeout: float = 5.0) -> Optional[str]:
    """stdout of cmd, or None when it is missing or fails (Python 3.6: no capture_output/text)."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return p.stdout.decode("utf-8", "replace") if p.returncode == 0 else None


_read = read_text


def _int(path: str) -> Optional[int]:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def cpus(root: str = "/") -> Dict[str, Dict[str, Any]]:
    """Per CPU: governor, current/min/max scaling frequency and the hardware max, in kHz."""
    out = {}
    for d in sorted(glob.glob(os.path.join(root, "sys/devices/system/cpu/cpu[0-9]*"))):
        cpu = os.path.basename(d)
        f = os.path.join(d, "cpufreq")
        online = _read(os.path.join(d, "online"))
        info: Dict[str, Any] = {"online": online != "0"}
        if os.path.isdir(f):
            info.update({"governor": _read(os.path.join(f, "scaling_governor")),
                         "cur_khz": _int(os.path.join(f, "scaling_cur_freq")),
                         "min_khz": _int(os.path.join(f, "scaling_min_freq")),
                         "max_khz": _int(os.path.join(f, "scaling_max_freq")),
                         "hw_max_khz": _int(os.path.join(f, "cpuinfo_max_freq"))})
        tt = os.path.join(d, "thermal_throttle")
        if os.path.isdir(tt):
            info["throttle_counts"] = {n[:-len("_throttle_count")]: _int(os.path.join(tt, n))
                                       for n in sorted(os.listdir(tt)) if n.endswith("_throttle_count")}
        out[cpu] = info
    return out


def devfreq(root: str = "/") -> Dict[str, Dict[str, Any]]:
    """Device clocks (Jetson GPU and EMC, Mali GPUs) in Hz: cur, min, max and the top available."""
    out = {}
    for d in sorted(glob.glob(os.path.join(root, "sys/class/devfreq/*"))):
        avail = [int(v) for v in (_read(os.path.join(d, "available_frequencies")) or "").split() if v.isdigit()]
        out[os.path.basename(d)] = {
            "cur_hz": _int(os.path.join(d, "cur_freq")), "min_hz": _int(os.path.join(d, "min_freq")),
            "max_hz": _int(os.path.join(d, "max_freq")), "top_hz": max(avail) if avail else None,
            "governor": _read(os.path.join(d, "governor"))}
    return out


def thermal(root: str = "/") -> Dict[str, Any]:
    """Temperatures (deg C) by zone type, passive trip points, and cooling device states."""
    temps: Dict[str, float] = {}
    trips: Dict[str, float] = {}
    for d in sorted(glob.glob(os.path.join(root, "sys/class/thermal/thermal_zone*"))):
        kind = _read(os.path.join(d, "type")) or os.path.basename(d)
        t = _int(os.path.join(d, "temp"))
        if t is not None and t > -256000:  # -256 C marks an offline sensor on Jetson
            temps[kind] = t / 1000.0
        for tp in glob.glob(os.path.join(d, "trip_point_*_type")):
            if _read(tp) == "passive":
                v = _int(tp[:-len("type")] + "temp")
                if v is not None and (kind not in trips or v / 1000.0 < trips[kind]):
                    trips[kind] = v / 1000.0
    cooling = {}
    for d in sorted(glob.glob(os.path.join(root, "sys/class/thermal/cooling_device*"))):
        cooling[os.path.basename(d)] = {"type": _read(os.path.join(d, "type")),
                                        "cur": _int(os.path.join(d, "cur_state")),
                                        "max": _int(os.path.join(d, "max_state"))}
    return {"temps_c": temps, "passive_trips_c": trips, "cooling": cooling}


def nvpmodel(run: Runner = run_command) -> Optional[Dict[str, Any]]:
    """`nvpmodel -q`: 'NV Power Mode: MAXN' then the mode id on the next line (as jetson-stats reads it)."""
    text = run(["nvpmodel", "-q"])
    if not text:
        return None
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for i, line in enumerate(lines):
        if "Power Mode:" in line:
            mode_id = lines[i + 1] if i + 1 < len(lines) and lines[i + 1].isdigit() else None
            return {"name": line.split(":", 1)[1].strip(), "id": int(mode_id) if mode_id else None}
    return {"name": None, "id": None, "raw": text.strip()[:200]}


def pi_throttled(root: str = "/", run: Runner = run_command) -> Optional[int]:
    """The Raspberry Pi firmware's throttle bits (`throttled=0x50005`), or None off a Pi."""
    text = _read(os.path.join(root, "sys/devices/platform/soc/soc:firmware/get_throttled"))
    if text is not None:
        try:
            return int(text, 16)
        except ValueError:
            pass
    out = run(["vcgencmd", "get_throttled"])
    if out and "=" in out:
        try:
            return int(out.split("=", 1)[1].strip(), 16)
        except ValueError:
            return None
    return None


def jetson_clocks_on(cpu: Dict[str, Dict[str, Any]], dev: Dict[str, Dict[str, Any]]) -> Optional[bool]:
    """jetson_clocks pins every online CPU's and the GPU's minimum clock to its maximum."""
    pinned = [c["min_khz"] == c["max_khz"] for c in cpu.values() if c.get("online") and c.get("max_khz")]
    gpus = [d["min_hz"] == d["max_hz"] for n, d in dev.items() if "gp" in n and d.get("max_hz")]
    if not pinned:
        return None
    return all(pinned) and all(gpus)


def snapshot(root: str = "/", run: Runner = run_command) -> Dict[str, Any]:
    """Everything above in one plain dict; cheap enough for run start and end (two commands at most)."""
    cpu, dev = cpus(root), devfreq(root)
    out: Dict[str, Any] = {"cpus": cpu, "devfreq": dev, "thermal": thermal(root), "nvpmodel": None,
                           "jetson_clocks": None, "pi_throttled": None}
    model = _read(os.path.join(root, "proc/device-tree/model")) or ""
    if os.path.exists(os.path.join(root, "etc/nv_tegra_release")):
        out["nvpmodel"] = nvpmodel(run)
        out["jetson_clocks"] = jetson_clocks_on(cpu, dev)
    if "Raspberry Pi" in model:
        out["pi_throttled"] = pi_throttled(root, run)
    return out


def verdict(start: Dict[str, Any], end: Dict[str, Any]) -> Dict[str, Any]:
    """{"throttled": True/False/None, "evidence": [...], "checked": [...]} for a run between two snapshots."""
    evidence: List[str] = []
    checked: List[str] = []
    _pi(start.get("pi_throttled"), end.get("pi_throttled"), evidence, checked)
    _x86(start.get("cpus", {}), end.get("cpus", {}), evidence, checked)
    _cooling(start.get("thermal", {}), end.get("thermal", {}), evidence, checked)
    _clocks(start, end, evidence, checked)
    return {"throttled": bool(evidence) if checked else None, "evidence": evidence, "checked": checked}


def _pi(a: Optional[int], b: Optional[int], ev: List[str], checked: List[str]) -> None:
    if a is None and b is None:
        return
    checked.append("vcgencmd get_throttled")
    for when, bits in (("start", a), ("end", b)):
        for bit, what in PI_BITS.items():
            if bits is not None and bits & (1 << bit):
                ev.append("Pi firmware: %s at run %s (get_throttled=0x%x)" % (what, when, bits))
    if a is not None and b is not None:
        for bit, what in PI_BITS.items():
            if b & (1 << (bit + 16)) and not a & (1 << (bit + 16)):
                ev.append("Pi firmware: %s occurred during the run (0x%x -> 0x%x)" % (what, a, b))


def _x86(a: Dict[str, Any], b: Dict[str, Any], ev: List[str], checked: List[str]) -> None:
    for cpu, info in sorted(b.items()):
        counts = info.get("throttle_counts") or {}
        before = (a.get(cpu) or {}).get("throttle_counts") or {}
        for kind, n in counts.items():
            if n is None or before.get(kind) is None:
                continue
            if "thermal_throttle counters" not in checked:
                checked.append("thermal_throttle counters")
            if n > before[kind]:
                ev.append("%s %s_throttle_count rose %d -> %d" % (cpu, kind, before[kind], n))


def _cooling(a: Dict[str, Any], b: Dict[str, Any], ev: List[str], checked: List[str]) -> None:
    for when, snap in (("start", a), ("end", b)):
        for name, dev in sorted((snap.get("cooling") or {}).items()):
            kind = (dev.get("type") or "").lower()
            if any(f in kind for f in _COOLING_FANS) or dev.get("cur") is None:
                continue
            if "cooling devices" not in checked:
                checked.append("cooling devices")
            if dev["cur"] > 0:
                ev.append("%s (%s) at state %s/%s at run %s"
                          % (name, dev.get("type"), dev["cur"], dev.get("max"), when))
    for kind, temp in sorted((b.get("temps_c") or {}).items()):
        trip = (b.get("passive_trips_c") or {}).get(kind)
        if trip is not None and temp >= trip:
            ev.append("%s at %.1f C, at or above its passive trip %.1f C at run end" % (kind, temp, trip))


def _clocks(a: Dict[str, Any], b: Dict[str, Any], ev: List[str], checked: List[str]) -> None:
    ca, cb = a.get("cpus") or {}, b.get("cpus") or {}
    for cpu, info in sorted(cb.items()):
        before = ca.get(cpu) or {}
        if info.get("max_khz") and before.get("max_khz"):
            if "cpufreq limits" not in checked:
                checked.append("cpufreq limits")
            if info["max_khz"] < before["max_khz"]:
                ev.append("%s scaling_max_freq lowered during the run: %d -> %d kHz"
                          % (cpu, before["max_khz"], info["max_khz"]))
    if b.get("jetson_clocks"):
        checked.append("jetson_clocks floor")
        for cpu, info in sorted(cb.items()):
            cur, floor = info.get("cur_khz"), info.get("min_khz")
            if info.get("online") and cur and floor and cur < floor:
                ev.append("%s at %d kHz, below the %d kHz jetson_clocks pinned" % (cpu, cur, floor))
        for name, d in sorted((b.get("devfreq") or {}).items()):
            if d.get("cur_hz") and d.get("min_hz") and d["cur_hz"] < d["min_hz"]:
                ev.append("%s at %d Hz, below the %d Hz jetson_clocks pinned" % (name, d["cur_hz"], d["min_hz"]))


def verdict_of_env(env_start: Dict[str, Any], env_end: Dict[str, Any]) -> Dict[str, Any]:
    """verdict() from two env.capture() records (the harness's env_start and env_end)."""
    a, b = env_start.get("probes") or {}, env_end.get("probes") or {}
    if "error" in a or "error" in b:
        return {"throttled": None, "evidence": [], "checked": [],
                "error": a.get("error") or b.get("error")}
    return verdict(a, b)
