"""make_runner against a real unix socket that accepts connections and never answers (a hung engine):
`--runner docker` fails within seconds saying so, `auto` falls back to local and says why."""

import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from edgebench.cli.errors import InputError
from edgebench.cli.runners import PROBE_S, make_runner
from rich.console import Console


@pytest.fixture
def hung_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    path = str(tmp_path / "docker.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(srv.accept()[0])  # read nothing, answer nothing
            except OSError:
                continue

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    monkeypatch.setenv("DOCKER_HOST", "unix://" + path)
    yield path
    stop.set()
    t.join()
    for c in held:
        c.close()
    srv.close()


def test_docker_runner_on_a_hung_engine_fails_fast_and_says_so(hung_engine: str) -> None:
    t0 = time.monotonic()
    with pytest.raises(InputError) as e:
        make_runner("docker", False, None)
    assert time.monotonic() - t0 < PROBE_S * 3
    assert "did not answer within %d s" % PROBE_S in str(e.value) and hung_engine in str(e.value)


def test_auto_on_a_hung_engine_says_it_chose_local_and_why(hung_engine: str) -> None:
    buf = io.StringIO()
    t0 = time.monotonic()
    runner = make_runner("auto", False, Console(file=buf, width=300))
    assert time.monotonic() - t0 < PROBE_S * 3
    assert runner.name == "local"
    said = buf.getvalue()
    assert said.startswith("runner: local (") and "did not answer" in said and hung_engine in said


def test_auto_with_no_socket_says_there_is_no_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix://%s" % (tmp_path / "absent.sock"))
    buf = io.StringIO()
    assert make_runner("auto", False, Console(file=buf, width=300)).name == "local"
    assert "runner: local (no Docker engine at unix://" in buf.getvalue()


def test_an_unknown_runner_is_bad_input() -> None:
    with pytest.raises(InputError, match="expected 'auto', 'local' or 'docker'"):
        make_runner("podman", False, None)


def test_edgebench_run_on_a_hung_engine_exits_2_within_seconds(hung_engine: str, tmp_path: Path) -> None:
    import subprocess
    import sys

    mx = tmp_path / "m.yaml"
    mx.write_text("name: hung\nfixed: {framework: onnxruntime, model: mobilenet_v3_small}\naxes:\n  batch_size: [1]\n")
    t0 = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "edgebench.cli.app", "run", str(mx), "--runner", "docker",
                          "--results", str(tmp_path / "r"), "--no-report"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and time.monotonic() - t0 < 60, out.stderr[-1000:]
    assert "did not answer within" in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "r").exists()
