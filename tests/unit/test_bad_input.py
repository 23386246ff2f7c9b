"""Bad input through the real CLI: one line on stderr naming file:line and key, exit 2, nothing written.

Covers issue 14 items 3 (containment of campaign folders and image folders), 12 (duplicate keys),
14 (weights outside, unknown device), 15 (size, alias and run-count limits; non-UTF-8 bytes).
"""

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Optional

import pytest

CELL = "fixed: {model: resnet18, framework: onnxruntime, iterations: 2}\n"


def cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, EDGEBENCH_RESULTS=str(tmp_path / "results"))
    return subprocess.run([sys.executable, "-m", "edgebench.cli.app", *args], capture_output=True, text=True,
                          cwd=tmp_path, env=env, timeout=120)


def one_line_error(proc: subprocess.CompletedProcess[str], where: str, *words: str) -> str:
    """The refusal is exit 2, no stdout, one stderr line starting `error: WHERE`, holding every word."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr[-2000:]
    msg = lines[0]
    assert msg.startswith("error: %s" % where), msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


def plan_error(tmp_path: Path, text: "str | bytes", line: Optional[int], key: str, *words: str) -> str:
    path = tmp_path / "m.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    where = "%s:%d: " % (path, line) if line else "%s: " % path
    return one_line_error(cli(tmp_path, "plan", str(path), "--json"), where + key, *words)


@pytest.mark.parametrize("name", ["../escape", "/abs/path", '""', '"."', '".."', "a/b", "-x", "x" * 101])
def test_unsafe_matrix_names(tmp_path: Path, name: str) -> None:
    plan_error(tmp_path, "name: %s\n" % name + CELL, 1, "name:", "not a campaign name")


def test_duplicate_keys_name_both_lines(tmp_path: Path) -> None:
    plan_error(tmp_path, "name: t\nname: u\n" + CELL, 2, "name:", "lines 1 and 2")
    text = "name: t\n" + CELL + "axes:\n  batch_size: [1]\n  threads: [1]\n  batch_size: [2]\n"
    plan_error(tmp_path, text, 6, "axes.batch_size:", "key given twice", "lines 4 and 6")
    text = "name: t\ninclude:\n  - {model: resnet18, framework: torch, model: alexnet}\n"
    plan_error(tmp_path, text, 3, "include[0].model:", "key given twice")


def test_weights_outside_and_not_weights(tmp_path: Path) -> None:
    up = "../" * (len(tmp_path.parts) + 2) + "etc/passwd"  # past / : still /etc/passwd
    text = "name: t\nfixed: {model: resnet18, framework: onnxruntime, weights: %s}\n" % up
    plan_error(tmp_path, text, 2, "fixed.weights:", "/etc/passwd", "inside /etc")
    (tmp_path / "notes.txt").write_text("not weights\n")
    text = "name: t\ninclude:\n  - {model: resnet18, framework: torch, weights: notes.txt}\n"
    plan_error(tmp_path, text, 3, "include[0].weights:", "not a weights file", "zip or pickle")


def test_unknown_device_names_the_matrix_line_or_the_option(tmp_path: Path) -> None:
    plan_error(tmp_path, "name: t\ndevice: nosuchdev\n" + CELL, 2, "device:", "no device profile 'nosuchdev'")
    plan_error(tmp_path, "name: t\ndevice: rpi4+nope\n" + CELL, 2, "device:", "'nope'")
    plan_error(tmp_path, "name: t\ndevice: ../../etc\n" + CELL, 2, "device:", "no device profile '../../etc'")
    (tmp_path / "ok.yaml").write_text("name: t\n" + CELL)
    one_line_error(cli(tmp_path, "plan", "ok.yaml", "--device", "nosuchdev"), "--device: ", "'nosuchdev'")


@pytest.mark.parametrize("folder, words", [
    ("/var/run", ["/run", "docker.sock"]),
    ("/", ["contains /proc"]),
    ("/var", ["contains /var/run"]),
    ("/dev", ["device nodes"]),
    ("/etc/ssl", ["inside /etc"]),
    ("/proc/self", ["/proc"]),
    ("/root", ["home folder"]),
    ("/usr", ["programs"]),
])
def test_system_image_folders_are_refused(tmp_path: Path, folder: str, words: list[str]) -> None:
    text = "name: t\n" + CELL + "axes:\n  input_dir: [%s]\n" % folder
    plan_error(tmp_path, text, 4, "axes.input_dir:", "not bound into a run", *words)


def test_image_folders_holding_sockets_fifos_devices(tmp_path: Path) -> None:
    (tmp_path / "imgs" / "deep").mkdir(parents=True)
    (tmp_path / "imgs" / "a.png").write_bytes(b"x")
    text = "name: t\ninclude:\n  - {model: resnet18, framework: onnxruntime, calib_dir: imgs, precision: int8}\n"
    os.mkfifo(tmp_path / "imgs" / "deep" / "pipe")
    plan_error(tmp_path, text, 3, "include[0].calib_dir:", "holds a FIFO", "pipe")
    (tmp_path / "imgs" / "deep" / "pipe").unlink()
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(tmp_path / "imgs" / "deep" / "engine.sock"))
        plan_error(tmp_path, text.replace("calib_dir", "input_dir"), 3, "include[0].input_dir:", "holds a socket")
    (tmp_path / "imgs" / "deep" / "engine.sock").unlink()
    if os.geteuid() == 0:  # mknod needs root (this test's machine: root)
        os.mknod(tmp_path / "imgs" / "null", 0o600 | 0o020000, os.makedev(1, 3))
        plan_error(tmp_path, text, 3, "include[0].calib_dir:", "holds a device node")
        (tmp_path / "imgs" / "null").unlink()
    # A link to a socket is not followed: inside a container it names the container's own path.
    (tmp_path / "imgs" / "link").symlink_to("/run/docker.sock")
    proc = cli(tmp_path, "plan", "m.yaml", "--json")
    assert proc.returncode == 0, proc.stderr


def test_non_utf8_bytes_even_in_a_comment(tmp_path: Path) -> None:
    text = b"name: t\n# caf\xe9 au lait\n" + CELL.encode()
    plan_error(tmp_path, text, 2, "byte 13 (0xe9) is not UTF-8")


def test_alias_bomb_is_refused_fast(tmp_path: Path) -> None:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in zip("abcdefgh", "bcdefghi"):
        lines.append("%s: &%s [%s]" % (cur, cur, ",".join(["*" + prev] * 9)))
    text = "\n".join(lines) + "\nname: t\n" + CELL
    assert len(text) < 800
    plan_error(tmp_path, text, 6, "i[8][8][8]:", "once aliases are expanded", "past the limit of 200000")
    plan_error(tmp_path, "name: t\n" + CELL + "x: &x [1, *x]\n", 3, "x[1]:", "recursive alias")


def test_file_past_the_size_limit(tmp_path: Path) -> None:
    text = "name: t\n" + CELL + "description: '" + "x" * (1 << 20) + "'\n"
    plan_error(tmp_path, text, None, "", "%d bytes, past the limit of 1048576" % len(text))


def test_run_count_limit_before_expanding(tmp_path: Path) -> None:
    axes = "".join("  %s: [%s]\n" % (k, ", ".join(str(i) for i in range(1, 11)))
                   for k in ("batch_size", "threads", "iterations", "warmups", "seed", "cpus"))
    text = "name: t\n" + CELL + "axes:\n" + axes  # 10^6 cells
    plan_error(tmp_path, text, 4, "axes:", "up to 1000000 runs", "10 batch_size x 10 threads", "limit of 100000",
               "--max-runs")
    small = "name: t\n" + CELL + "repetitions: 3\naxes:\n  batch_size: [1, 2, 3, 4]\n"
    (tmp_path / "s.yaml").write_text(small)
    one_line_error(cli(tmp_path, "plan", "s.yaml", "--max-runs", "10", "--json"), "s.yaml:5: axes:",
                   "up to 12 runs", "limit of 10")
    assert cli(tmp_path, "plan", "s.yaml", "--max-runs", "12", "--json").returncode == 0


def test_run_refuses_campaign_options_that_escape(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("name: t\n" + CELL)
    for bad in ("../x", "/abs", ".", "a/b"):
        proc = cli(tmp_path, "run", "ok.yaml", "--runner", "local", "--campaign", bad, "--results", "res")
        one_line_error(proc, "--campaign: ", "not a campaign name")
    assert not (tmp_path / "x").exists() and not (tmp_path / "res").exists()


def test_run_refuses_a_campaign_folder_linked_outside(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("name: t\n" + CELL)
    (tmp_path / "res").mkdir()
    (tmp_path / "outside").mkdir()
    (tmp_path / "res" / "t").symlink_to(tmp_path / "outside")
    proc = cli(tmp_path, "run", "ok.yaml", "--runner", "local", "--results", "res")
    one_line_error(proc, "res/t: ", "outside the results root")
    proc = cli(tmp_path, "run", "ok.yaml", "--runner", "local", "--results", "res", "--campaign", "t")
    one_line_error(proc, "res/t: ", "outside the results root")
    assert list((tmp_path / "outside").iterdir()) == []


def test_report_reads_paths_but_names_stay_inside(tmp_path: Path) -> None:
    (tmp_path / "res").mkdir()
    one_line_error(cli(tmp_path, "report", "../nowhere", "--results", "res"), "../nowhere: ", "not a campaign name")
    one_line_error(cli(tmp_path, "results", "export", "/abs/nowhere", "--results", "res"), "/abs/nowhere: ",
                   "not a campaign name")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "res" / "c").symlink_to(tmp_path / "elsewhere")
    one_line_error(cli(tmp_path, "report", "c", "--results", "res"), "res/c: ", "outside the results root")
    assert list((tmp_path / "elsewhere").iterdir()) == []


def test_bench_refuses_before_any_image_or_folder(tmp_path: Path) -> None:
    (tmp_path / "ok.yaml").write_text("name: t\n" + CELL)
    proc = cli(tmp_path, "bench", "--device", "host-cpu", "--matrix", "ok.yaml", "--campaign", "../x",
               "--results", "res")
    one_line_error(proc, "--campaign: ", "not a campaign name")
    (tmp_path / "low.yaml").write_text("name: t\ninclude:\n"
                                       "  - {model: resnet18, framework: onnxruntime, memory_mb: 4}\n")
    proc = cli(tmp_path, "bench", "--device", "host-cpu", "--matrix", "low.yaml", "--results", "res")
    one_line_error(proc, "low.yaml:3: include[0].memory_mb: ", "below Docker's minimum memory limit")
    assert not (tmp_path / "res").exists() and not (tmp_path / "x").exists()
