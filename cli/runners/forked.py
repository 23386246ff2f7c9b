"""The host's side of warm-import runs: start a fork server per (interpreter, framework), ask it for runs.

A server (suite/forkserver.py) that refuses to fork with the runtime imported (a runtime thread that a fork
does not copy: ONNX Runtime's, TensorFlow's) is started again with --no-runtime, so each child imports the
runtime itself but still skips the interpreter's start-up; a server that refuses even then leaves the
framework to fresh processes, with the reason. A server that died is started again at the next run. The
servers end with the campaign (close()), and each one ends by itself when this process's connection to it
closes, so a crashed host leaves none behind.
"""

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

from edgebench.suite import placements
from edgebench.suite.spec import RunSpec

from .record import process_start

HELLO_TIMEOUT_S = 300.0  # a cold `import torch` on a Jetson Nano takes several seconds; a hang does not end
_TERM_GRACE_S = 5.0


def refusal(spec: RunSpec) -> str:
    """Why this spec runs in a fresh process even when forked is asked ('' when it may fork)."""
    streams = spec.stream_specs()
    if len({st.framework for st in streams}) > 1:
        return "streams of several frameworks: a fork server imports one runtime"
    for st in streams:
        for p in placements.split(st.placement):
            if placements.kind(p) != "cpu":
                return ("placement %r: a device (CUDA, EdgeTPU, ...) is opened in a fresh process, never in a "
                        "child of a process that may hold its driver's state" % p)
    return ""


class ServerGone(Exception):
    """The server's connection ended (it died, or was killed) before it answered."""


class ForkServer:
    """One running `python -m edgebench.suite serve FRAMEWORK SOCKET`, and the connection to it."""

    def __init__(self, python: str, framework: str, runtime: bool = True) -> None:
        self.python, self.framework, self.runtime = python, framework, runtime
        self.dir = tempfile.mkdtemp(prefix="eb-fork-")  # short: a Unix socket path is at most 107 bytes
        self.path = os.path.join(self.dir, "sock")
        self.log_path = os.path.join(self.dir, "server.log")
        self.hello: dict[str, Any] = {}
        self._buf = b""
        log = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            argv = [python, "-m", "edgebench.suite", "serve", framework, self.path]
            self.proc = subprocess.Popen(argv + ([] if runtime else ["--no-runtime"]), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            os.close(log)
        self.pid_start = process_start(self.proc.pid)
        try:
            self.sock = self._connect()
            msg = self._read(HELLO_TIMEOUT_S)
            if msg is None or msg.get("event") != "hello":
                raise ServerGone("the fork server gave no hello within %.0f s: %s" % (
                    HELLO_TIMEOUT_S, self.log_tail()))
        except BaseException:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.hello = msg

    @property
    def refused(self) -> str:
        return str(self.hello.get("refused") or "")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def record(self) -> dict[str, Any]:
        """What a run's host record keeps of its server (reap.py ends a server left by a dead host)."""
        return {"pid": self.proc.pid, "pid_start": self.pid_start, "framework": self.framework,
                "runtime_preloaded": self.runtime, "import_s": self.hello.get("import_s")}

    def _connect(self) -> socket.socket:
        deadline = time.monotonic() + HELLO_TIMEOUT_S
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(self.path)
                return s
            except OSError:
                s.close()
                if self.proc.poll() is not None:
                    raise ServerGone("the fork server exited (%s) before it listened: %s" % (
                        self.proc.returncode, self.log_tail())) from None
                if time.monotonic() > deadline:
                    raise ServerGone("the fork server did not listen within %.0f s" % HELLO_TIMEOUT_S) from None
                time.sleep(0.01)

    def log_tail(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace").strip()[-400:]
        except OSError:
            return ""

    def _read(self, timeout_s: Optional[float]) -> Optional[dict[str, Any]]:
        """The next message; None on timeout; ServerGone at end of connection."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while b"\n" not in self._buf:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([self.sock], [], [], left)
            if not ready:
                return None
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ServerGone("the fork server's connection ended (%s)" % self.log_tail()[-200:])
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        msg = json.loads(line.decode("utf-8"))
        return msg if isinstance(msg, dict) else {}

    def start(self, request: dict[str, Any]) -> int:
        """Ask for a run; the child's pid (its process group id too). ServerGone, or a refusal as RuntimeError."""
        try:
            self.sock.sendall((json.dumps(request, sort_keys=True) + "\n").encode("utf-8"))
        except OSError as e:
            raise ServerGone("could not reach the fork server: %s" % e) from e
        msg = self._read(60.0)
        if msg is None:
            raise ServerGone("the fork server did not fork within 60 s")
        if msg.get("event") == "refused":
            raise RuntimeError(str(msg.get("reason")))
        return int(msg["pid"])

    def wait(self, pid: int, timeout_s: Optional[float]) -> tuple[Optional[int], bool]:
        """(exit code, timed out): the child's exit as waitpid saw it; past timeout_s its group gets SIGTERM,
        then SIGKILL (as the fresh path's _stop)."""
        msg = self._read(timeout_s)
        if msg is not None:
            return int(msg["exit_code"]), False
        for sig, grace in ((signal.SIGTERM, _TERM_GRACE_S), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
            msg = self._read(grace)
            if msg is not None:
                return int(msg["exit_code"]), True
        return None, True

    def close(self) -> None:
        """End the server: closing the connection makes it exit; a server that does not is killed."""
        try:
            self.sock.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class ServerPool:
    """The servers of one runner: one per (interpreter, framework), started on first use."""

    def __init__(self, python: str) -> None:
        self.python = python
        self.servers: dict[str, ForkServer] = {}
        self.refused: dict[str, str] = {}  # framework -> why it runs fresh
        self.notes: dict[str, list[str]] = {}  # framework -> why its server runs as it does (every run says it)
        self.events: dict[str, list[str]] = {}  # framework -> what happened since its last run (a restart)

    def notes_for(self, framework: str) -> list[str]:
        """The framework's standing notes, and the events since its last run (said once)."""
        return list(self.notes.get(framework, [])) + self.events.pop(framework, [])

    def get(self, framework: str) -> tuple[Optional[ForkServer], str]:
        """A live server for the framework, or (None, why the run goes fresh)."""
        if framework in self.refused:
            return None, self.refused[framework]
        srv = self.servers.get(framework)
        if srv is not None and srv.alive():
            return srv, ""
        if srv is not None:
            self.events.setdefault(framework, []).append(
                "the fork server (pid %d) had died (%s); started again" % (srv.proc.pid, srv.proc.returncode))
            srv.close()
        for runtime in (True, False):
            try:
                srv = ForkServer(self.python, framework, runtime)
            except (ServerGone, OSError, ValueError) as e:  # could not start, or spoke nonsense: runs go fresh
                self.refused[framework] = "the fork server could not start: %s" % e
                return None, self.refused[framework]
            if not srv.refused:
                self.servers[framework] = srv
                return srv, ""
            self.notes.setdefault(framework, []).append(
                "runtime not imported in the server: %s" % srv.refused if runtime else srv.refused)
            srv.close()
        self.refused[framework] = "; ".join(self.notes.get(framework, []))
        return None, self.refused[framework]

    def drop(self, framework: str) -> None:
        srv = self.servers.pop(framework, None)
        if srv is not None:
            srv.close()

    def close(self) -> None:
        for name in list(self.servers):
            self.drop(name)
