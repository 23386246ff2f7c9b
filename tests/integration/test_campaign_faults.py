"""Campaign faults for real: two `edgebench run` into one folder, and a disk that fills up mid-campaign
or under `report` / `results export` (a real tmpfs, mounted here as root and unmounted after)."""

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from edgebench.cli import store
from edgebench.cli.lock import holder_of

from tests.conftest import has_module, is_root, need

TINY = Path(__file__).resolve().parent.parent / "data" / "results" / "tiny"
MATRIX = """\
name: faults
fixed: {iterations: 30, warmups: 1, threads: 1}
axes:
  model: [mobilenet_v3_small]
  framework: [onnxruntime]
repetitions: %d
"""
EB = [sys.executable, "-m", "edgebench.cli.app"]


def _need_onnx() -> None:
    need(has_module("torch") and has_module("onnx") and has_module("onnxruntime"), "torch, onnx, onnxruntime")


def _matrix(tmp_path: Path, reps: int) -> Path:
    path = tmp_path / "m.yaml"
    path.write_text(MATRIX % reps)
    return path


def _run(mfile: Path, results: Path, models: Path) -> list[str]:
    return EB + ["run", str(mfile), "--runner", "local", "--results", str(results), "--models", str(models),
                 "--no-report", "--json"]


def test_a_second_run_into_one_folder_exits_2_naming_the_holder_and_nothing_runs_twice(
        tmp_path: Path, models_dir: Path) -> None:
    _need_onnx()
    mfile, results = _matrix(tmp_path, 4), tmp_path / "results"
    camp = results / "faults"
    first = subprocess.Popen(_run(mfile, results, models_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 300
        while (holder_of(camp) or {}).get("pid") != first.pid:
            assert first.poll() is None and time.monotonic() < deadline, "the first run never took the lock"
            time.sleep(0.05)
        second = subprocess.run(_run(mfile, results, models_dir), capture_output=True, text=True)
        assert first.poll() is None, "the first campaign ended before the second tried: nothing was contested"
        assert second.returncode == 2, second.stderr
        assert "in use by pid %d" % first.pid in second.stderr and "Traceback" not in second.stderr
        out, err = first.communicate(timeout=600)
    finally:
        if first.poll() is None:
            first.terminate()
            first.wait()
    assert first.returncode == 0, err
    assert json.loads(out)["runs"] == 4 and json.loads(out)["set_aside"] == []
    assert not (camp / store.INCOMPLETE).exists()  # nobody moved the other's runs away
    runs = list(store.iter_runs(camp))
    assert len(runs) == 4 and all(r.checked for r in runs)
    assert holder_of(camp) is None  # released cleanly


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs, really mounted (root only), unmounted however the test ends."""
    need(is_root(), "root, to mount a tmpfs")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], check=True)
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(disk: Path) -> Path:
    """Write zeros until the filesystem refuses (ENOSPC), down to its last bytes; returns the filler."""
    path = disk / "filler"
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 16, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)
    return path


def test_a_disk_that_fills_mid_run_ends_the_campaign_clearly_and_the_run_is_not_counted(
        tmp_path: Path, models_dir: Path, small_disk: Path) -> None:
    _need_onnx()
    mfile, results = _matrix(tmp_path, 2), small_disk / "results"
    camp = results / "faults"
    filled: list[Path] = []

    def fill_when_the_first_run_starts() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if any(camp.glob("*/log")):  # the child is starting: its writes, and the host's, will fail
                filled.append(fill(small_disk))
                return
            time.sleep(0.005)

    t = threading.Thread(target=fill_when_the_first_run_starts)
    t.start()
    proc = subprocess.run(_run(mfile, results, models_dir), capture_output=True, text=True, timeout=600)
    t.join()
    assert filled, "the campaign never started a run"
    assert proc.returncode == 1, proc.stderr
    assert "disk full" in proc.stderr and "Traceback" not in proc.stderr and "resume" in proc.stderr
    assert proc.stdout == ""  # no summary pretending the campaign ended
    assert [r for r in store.iter_runs(camp) if r.checked] == []  # nothing counted
    # Space again: the same command resumes, runs both, and the cut-short run is not among the data.
    filled[0].unlink()
    again = subprocess.run(_run(mfile, results, models_dir), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    runs = list(store.iter_runs(camp))
    assert len(runs) == 2 and all(r.checked and r.result is not None and r.result.status == "ok" for r in runs)


def test_report_and_export_on_a_full_disk_say_so_and_leave_no_partial_folder(small_disk: Path) -> None:
    camp = small_disk / "tiny"
    shutil.copytree(TINY, camp)
    fill(small_disk)
    rep = subprocess.run(EB + ["report", str(camp)], capture_output=True, text=True, timeout=300)
    assert rep.returncode == 1 and "disk full" in rep.stderr and "Traceback" not in rep.stderr, rep.stderr
    exp = subprocess.run(EB + ["results", "export", str(camp)], capture_output=True, text=True, timeout=300)
    assert exp.returncode == 1 and "disk full" in exp.stderr and "Traceback" not in exp.stderr, exp.stderr
    left = sorted(p.name for p in camp.iterdir() if p.name.startswith(("_", ".")))
    assert left == []  # no _report/, no _export/, no .partial folders


def test_bench_takes_the_same_campaign_path_and_lock_as_run(tmp_path: Path, models_dir: Path) -> None:
    """`bench` goes through campaign.execute too: a folder another process holds is refused the same way."""
    _need_onnx()
    mfile, results = _matrix(tmp_path, 1), tmp_path / "results"
    camp = results / "held"
    camp.mkdir(parents=True)
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom pathlib import Path\n"
                               "from edgebench.cli.lock import hold\nwith hold(Path(sys.argv[1]), print):\n"
                               "    print('held', flush=True)\n    time.sleep(120)\n", str(camp)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        res = subprocess.run([sys.executable, "-m", "edgebench.cli.fleet_cmd", "bench", "--device", "host-cpu",
                              "--matrix", str(mfile), "--runner", "local", "--results", str(results), "--models",
                              str(models_dir), "--campaign", "held"], capture_output=True, text=True, timeout=600)
    finally:
        holder.kill()
        holder.wait()
    need("refusing to bench" not in res.stderr, "this machine detected as host-cpu: %s" % res.stderr[-300:])
    assert res.returncode == 2, res.stderr
    assert "in use by pid %d" % holder.pid in res.stderr and "Traceback" not in res.stderr
    assert list(store.iter_runs(camp)) == []  # nothing ran
