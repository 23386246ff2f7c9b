"""Warm-import runs: one process imports a runtime once, then forks a fresh child per run.

    python -m edgebench.suite serve FRAMEWORK SOCKET [--no-runtime]

The server binds a Unix socket at SOCKET (a path, so it works inside a container too), accepts ONE
connection (the host's), says hello (import time, threads, or why it refuses), then serves requests, one
JSON line each: {"spec", "outdir", "models", "log", "cgroup_procs", "env"}. Per request it forks a child
that puts itself in its own process group, joins the run's cgroups before it loads anything (exit 97 if
it cannot, as the local runner's fresh path), sends its output to the run's log, and runs the normal
`run` path; the server answers {"event": "started", "pid"} and, after waitpid, {"event": "exited",
"pid", "exit_code"} (negative: killed by that signal, as subprocess reports it). When the host's
connection ends, the server kills its running child's group and exits: it never outlives its campaign.

Forking is refused when a thread other than the main one survives a fork's prepare handlers (a runtime's
pool that is not fork-safe: the child would lack it, and ONNX Runtime, for one, aborts at exit for that),
or when a runtime already initialised a device (torch.cuda). OpenBLAS's pool, started by `import numpy`,
is stopped by its own atfork handler and restarted on demand, so it does not count.

Standard library and the suite only (Python 3.6): no host-side import.
"""

import errno
import json
import os
import select
import signal
import socket
import sys
import time
from typing import Any, Dict, List, Optional, Tuple

EXIT_NO_CGROUP = 97
# Imported with the runtime where the backend's load would import it anyway (part of "load" when fresh).
PRELOAD = {"torch": ("edgebench.suite.nets.torchvision_nets",)}
# Runtimes measured not to survive a fork once imported (tests/integration/test_forked.py). Declared, because
# the thread count alone races: ORT's pool thread may not exist yet when a loaded machine looks for it.
NOT_FORK_SAFE = {
    "onnxruntime": "onnxruntime's import starts a pool thread that does not survive a fork (a child forked "
                   "after it aborts at exit: std::system_error)",
    "tensorflow": "tensorflow's import starts threads that do not survive a fork",
}


def threads() -> List[str]:
    """This process's OS threads other than the calling one, as 'tid:name'."""
    me = _gettid()
    out = []
    for tid in sorted(os.listdir("/proc/self/task")):
        if tid == me:
            continue
        try:
            with open("/proc/self/task/%s/comm" % tid) as f:
                out.append("%s:%s" % (tid, f.read().strip()))
        except OSError:
            pass  # ended while we looked
    return out


def _gettid() -> str:
    """The calling thread's id (threading.get_native_id is 3.8+; /proc/thread-self is Linux 3.17+)."""
    try:
        return os.readlink("/proc/thread-self").split("/")[-1]
    except OSError:
        return str(os.getpid())


def fork_blockers(framework: str) -> str:
    """Why forking now would be unsafe ('' when it is safe): surviving threads, an initialised device."""
    if threads():
        _trial_fork()  # runs every atfork prepare handler: fork-safe pools (OpenBLAS) stop themselves
        time.sleep(0.05)
    left = threads()
    if left:
        return ("%d thread(s) besides the main one survive a fork (%s): a runtime pool that is not fork-safe"
                % (len(left), ", ".join(left[:8])))
    return _runtime_blocker(framework)


def _runtime_blocker(framework: str) -> str:
    mods = sys.modules
    for runtime, why in sorted(NOT_FORK_SAFE.items()):
        if runtime in mods:
            return why
    if "torch" in mods:
        torch = mods["torch"]
        try:
            if torch.cuda.is_initialized():
                return "torch.cuda is initialised before the fork"
        except AttributeError:
            pass
    return ""


def _trial_fork() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)


def preload(framework: str, runtime: bool) -> Tuple[float, List[str]]:
    """Import the suite's run path (and the runtime unless told not to); (seconds, modules imported)."""
    t0 = time.monotonic()
    names = ["numpy", "psutil", "edgebench.suite.harness"]
    from . import harness  # noqa: F401 - numpy, psutil, monitors, workloads: what every run imports
    if runtime:
        from . import backends
        backends.get(framework)  # BackendUnavailable: this server cannot serve the framework
        names.append(backends._REGISTRY[framework][0])
        import importlib
        for mod in PRELOAD.get(framework, ()):
            try:
                importlib.import_module(mod)
                names.append(mod)
            except ImportError:
                pass
    return time.monotonic() - t0, names


class _Conn:
    """Newline-delimited JSON over the accepted socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def send(self, msg: Dict[str, Any]) -> None:
        self.sock.sendall((json.dumps(msg, sort_keys=True) + "\n").encode("utf-8"))

    def read_line(self) -> Optional[Dict[str, Any]]:
        """The next message, or None at end of connection."""
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        msg = json.loads(line.decode("utf-8"))
        if not isinstance(msg, dict):
            raise ValueError("a request must be a JSON object")
        return msg


def exit_code(status: int) -> int:
    """waitpid's status as subprocess reports it (os.waitstatus_to_exitcode is 3.9+)."""
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def serve(framework: str, path: str, runtime: bool = True) -> int:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(1)
    sock, _ = listener.accept()
    listener.close()
    conn = _Conn(sock)
    hello: Dict[str, Any] = {"event": "hello", "pid": os.getpid(), "framework": framework,
                             "runtime_preloaded": runtime, "python": sys.executable}
    try:
        runtime_s, names = preload(framework, runtime)
        # What the server paid once: interpreter start-up and every import, as a fresh run pays them each time.
        hello.update(import_s=_age_s(), runtime_import_s=runtime_s, preloaded=names)
        hello["refused"] = fork_blockers(framework)
    except Exception as e:  # BackendUnavailable, an import that fails: the host falls back, with this reason
        hello["refused"] = "%s: %s" % (type(e).__name__, e)
    conn.send(hello)
    if hello["refused"]:
        return 1
    return _loop(conn, framework, hello)


def _loop(conn: _Conn, framework: str, hello: Dict[str, Any]) -> int:
    served = 0
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    while True:
        req = conn.read_line()
        if req is None:
            return 0
        why = fork_blockers(framework)
        if why:
            conn.send({"event": "refused", "reason": why})
            return 1
        served += 1
        info = {"mode": "forked", "import_s": hello.get("import_s"), "runtime_import_s": hello.get("runtime_import_s"),
                "server_pid": os.getpid(), "served": served,
                "runtime_preloaded": hello.get("runtime_preloaded"), "preloaded": hello.get("preloaded"),
                "server_rss_mb": _rss_mb()}
        info.update(req.get("process") or {})
        pid = os.fork()
        if pid == 0:
            _child(req, info, conn, rfd, wfd)  # never returns
        try:
            os.setpgid(pid, pid)  # also done in the child: whichever runs first, the host can killpg(pid)
        except OSError:
            pass
        conn.send({"event": "started", "pid": pid})
        status = _wait(pid, conn, rfd)
        if status is None:  # the host is gone: end the run it can no longer collect
            return 0
        conn.send({"event": "exited", "pid": pid, "exit_code": exit_code(status)})


def _wait(pid: int, conn: _Conn, rfd: int) -> Optional[int]:
    """waitpid the child; None when the host's connection ended meanwhile (the child's group is killed)."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        ready, _, _ = select.select([conn.sock.fileno(), rfd], [], [])
        if rfd in ready:
            os.read(rfd, 4096)
        if conn.sock.fileno() in ready and not conn.sock.recv(1, socket.MSG_PEEK):
            _killpg(pid)
            os.waitpid(pid, 0)
            return None


def _killpg(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _age_s() -> Optional[float]:
    """Seconds since this process started (/proc/self/stat's start time, in clock ticks since boot)."""
    try:
        with open("/proc/self/stat") as f:
            start = int(f.read().rsplit(")", 1)[1].split()[19]) / float(os.sysconf("SC_CLK_TCK"))
        with open("/proc/uptime") as f:
            return float(f.read().split()[0]) - start
    except (OSError, ValueError, IndexError):
        return None


def _rss_mb() -> Optional[float]:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / float(1 << 20)
    except (OSError, ValueError, IndexError):
        return None


def _child(req: Dict[str, Any], info: Dict[str, Any], conn: _Conn, rfd: int, wfd: int) -> None:
    """The forked run: own group, the run's cgroups first, then the normal run path; never returns."""
    code = 1
    try:
        os.setpgid(0, 0)
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        for fd in (rfd, wfd):
            os.close(fd)
        conn.sock.close()
        for procs in req.get("cgroup_procs") or []:
            try:
                with open(procs, "w") as f:
                    f.write(str(os.getpid()))
            except OSError:
                os._exit(EXIT_NO_CGROUP)
        log = os.open(req["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        for fd in (1, 2):
            os.dup2(log, fd)
        os.close(log)
        os.environ.update({str(k): str(v) for k, v in (req.get("env") or {}).items()})
        os.environ["EDGEBENCH_PROCESS"] = json.dumps(info, sort_keys=True)
        import random
        random.seed()  # a fresh interpreter seeds from the OS; so does each child
        from .harness import run_file
        code = run_file(str(req["spec"]), str(req["outdir"]), str(req["models"]) if req.get("models") else None)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    except BaseException:  # noqa: B036 - the child must end here, never return into the server's loop
        import traceback
        traceback.print_exc()
        code = 1
    finally:
        try:
            import logging
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def main(framework: str, path: str, runtime: bool = True) -> int:
    try:
        return serve(framework, path, runtime)
    except OSError as e:
        if e.errno in (errno.EPIPE, errno.ECONNRESET):
            return 0  # the host went away while we answered
        sys.stderr.write("edgebench.suite serve: %s\n" % e)
        return 1
