"""The container's memory cgroup, watched from the host while the container lives, and the kernel's log.

Shared by the fresh runner (docker.py) and the reused containers (docker_reuse.py): runc deletes a fresh
container's cgroup as soon as its task exits, so the counters are read every 50 ms and on a v1 OOM event.
"""

import os
import select
import threading
import time
from typing import Any, Optional

from edgebench.suite import cgroup as reader

_WATCH_S = 0.05

# ---- the container's cgroup, watched while it lives ---------------------------------------------------

class CgroupWatch:
    """Reads the container's memory cgroup every 50 ms (and at once on a v1 OOM event) until stopped;
    keeps the last counters read, since the directory disappears when the task exits."""

    def __init__(self, container: Any, root: str = reader.CGROUP_ROOT) -> None:
        self.root = root
        self.version = reader.memory_version(root)
        self.dir = self._find(container)
        self.limits: dict[str, Any] = {}
        self.counters: dict[str, Any] = {"oom_kill": None, "oom_events": None, "failcnt": None,
                                         "memsw_failcnt": None, "oom": None, "max_usage_bytes": None,
                                         "swap_max_bytes": None}
        self.read_ok = False
        self._stop = threading.Event()
        self._efd: Optional[int] = None
        if self.dir:
            self._read(first=True)
            self._arm_v1_event()
        self._thread = threading.Thread(target=self._loop, name="edgebench-cgroup-watch", daemon=True)
        self._thread.start()

    def _find(self, container: Any) -> Optional[str]:
        try:
            container.reload()
            pid = container.attrs.get("State", {}).get("Pid") or 0
        except Exception:
            pid = 0
        if pid:
            _, d = reader.memory_dir(str(pid), self.root)
            if d and d.rstrip("/") != os.path.join(self.root, "memory").rstrip("/") and os.path.isdir(d):
                return str(d)
        base = os.path.join(self.root, "memory") if self.version == 1 else self.root
        for sub in ("docker/%s", "system.slice/docker-%s.scope"):
            d = os.path.join(base, sub % container.id)
            if os.path.isdir(d):
                return d
        return None

    def _arm_v1_event(self) -> None:
        """cgroup v1 OOM notification: an eventfd that fires when the group hits OOM."""
        if self.version != 1 or not hasattr(os, "eventfd") or not self.dir:
            return
        try:
            ofd = os.open(os.path.join(self.dir, "memory.oom_control"), os.O_RDONLY)
            efd = os.eventfd(0, os.EFD_NONBLOCK)
            with open(os.path.join(self.dir, "cgroup.event_control"), "w") as f:
                f.write("%d %d" % (efd, ofd))
            self._efd = efd
            self._ofd = ofd
        except OSError:
            self._efd = None

    def _read(self, first: bool = False) -> None:
        d = self.dir
        if not d or not os.path.isdir(d):
            return
        if self.version == 1:
            oom = reader._kv(os.path.join(d, "memory.oom_control"))
            stat = reader._kv(os.path.join(d, "memory.stat"))
            got = {"oom_kill": oom.get("oom_kill"), "failcnt": reader._int(os.path.join(d, "memory.failcnt")),
                   "memsw_failcnt": reader._int(os.path.join(d, "memory.memsw.failcnt")),
                   "max_usage_bytes": reader._int(os.path.join(d, "memory.max_usage_in_bytes")),
                   "swap_bytes": stat.get("swap")}
            if first:
                self.limits = {"memory_limit_bytes": reader._int(os.path.join(d, "memory.limit_in_bytes")),
                               "memory_swap_limit_bytes": reader._int(os.path.join(d, "memory.memsw.limit_in_bytes")),
                               "swappiness": reader._int(os.path.join(d, "memory.swappiness"))}
        else:
            ev = reader._kv(os.path.join(d, "memory.events"))
            got = {"oom_kill": ev.get("oom_kill"), "oom": ev.get("oom"),
                   "max_usage_bytes": reader._int(os.path.join(d, "memory.peak")),
                   "swap_bytes": reader._int(os.path.join(d, "memory.swap.current"))}
            if first:
                mem, swap = reader._int(os.path.join(d, "memory.max")), reader._int(os.path.join(d, "memory.swap.max"))
                self.limits = {"memory_limit_bytes": mem, "swap_limit_bytes": swap,
                               "memory_swap_limit_bytes": mem + swap if mem is not None and swap is not None else None}
        if got.get("oom_kill") is None and got.get("failcnt") is None and got.get("max_usage_bytes") is None:
            return  # the directory went away between the check and the reads
        swap = got.pop("swap_bytes", None)
        if swap is not None:
            self.counters["swap_max_bytes"] = max(swap, self.counters.get("swap_max_bytes") or 0)
        self.counters.update({k: v for k, v in got.items() if v is not None})
        self.read_ok = True

    def _loop(self) -> None:
        while not self._stop.is_set():
            if self._efd is not None:
                ready, _, _ = select.select([self._efd], [], [], _WATCH_S)
                if ready:
                    self._on_oom_event()
            else:
                self._stop.wait(_WATCH_S)
            self._read()
            if self.dir and not os.path.isdir(self.dir):
                break

    def _on_oom_event(self) -> None:
        """The kernel signals v1 OOM before it picks a victim: count the event, then read hard until the
        kill shows in oom_kill or the group is gone (runc removes it a few ms after the task dies)."""
        try:
            n = int.from_bytes(os.read(self._efd or 0, 8), "little")
        except OSError:
            return
        if not self.dir or not os.path.isdir(self.dir):
            return  # v1 also signals every registered event when the group is removed: not an OOM
        self.counters["oom_events"] = (self.counters.get("oom_events") or 0) + n
        before = self.counters.get("oom_kill") or 0
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline and self.dir and os.path.isdir(self.dir):
            self._read()
            if (self.counters.get("oom_kill") or 0) > before:
                break
            time.sleep(0.001)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self._read()
        for fd in (self._efd, getattr(self, "_ofd", None)):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass


class KernelLog:
    """New records of the kernel log (/dev/kmsg, root only): the OOM killer's line names the memory
    cgroup of its victim, so it confirms an OOM kill after the cgroup itself is gone."""

    def __init__(self) -> None:
        self.fd: Optional[int] = None
        try:
            self.fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
            os.lseek(self.fd, 0, os.SEEK_END)
        except OSError:
            self.fd = None

    @property
    def ok(self) -> bool:
        return self.fd is not None

    def lines_for(self, container_id: str) -> list[str]:
        if self.fd is None:
            return []
        records: list[str] = []
        while True:
            try:
                records.append(os.read(self.fd, 8192).decode("utf-8", "replace"))
            except BlockingIOError:
                break
            except OSError:  # EPIPE: records were overwritten while we read; keep going
                continue
        os.close(self.fd)
        self.fd = None
        return kernel_lines_for(records, container_id)


def kernel_lines_for(records: list[str], container_id: str) -> list[str]:
    """/dev/kmsg records ('PRI,SEQ,USEC,FLAGS;message') that name the container's cgroup, and the
    'Killed process' line the OOM killer writes right after its 'oom-kill:...oom_memcg=' line."""
    out: list[str] = []
    take_next = False
    for rec in records:
        msg = rec.split(";", 1)[-1].strip()
        if container_id in msg:
            out.append(msg)
            take_next = "oom-kill" in msg
        elif take_next and "Killed process" in msg:
            out.append(msg)
            take_next = False
    return out
