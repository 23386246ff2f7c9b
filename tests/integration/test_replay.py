"""`edgebench replay` for real: it replays only a folder that matches the host's record (a rewritten
spec or command file is refused with exit 2), and each replay gets its own new folder."""

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from edgebench.cli import replay
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite.spec import RunSpec

pytestmark = [pytest.mark.integration]


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory, models_dir: Path, torch_rn18: str) -> Path:
    spec = RunSpec(model="resnet18", framework="torch", iterations=2, artifact=torch_rn18)
    run_dir = tmp_path_factory.mktemp("camp") / spec.run_id
    assert LocalRunner().execute(spec, run_dir, models_dir).status == "ok"
    return run_dir


def run_replay(run_dir: Path, models_dir: Path) -> "subprocess.CompletedProcess[str]":
    return subprocess.run([sys.executable, "-m", "edgebench.cli.app", "replay", str(run_dir), "--models",
                           str(models_dir), "--json"], capture_output=True, text=True, timeout=300)


def copy_of(run_dir: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for f in run_dir.iterdir():
        if f.is_file():
            (dest / f.name).write_bytes(f.read_bytes())
    return dest


def test_replays_twice_into_two_new_folders(saved_run: Path, models_dir: Path) -> None:
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda _: run_replay(saved_run, models_dir), range(2)))
    assert [p.returncode for p in procs] == [0, 0], [p.stderr[-500:] for p in procs]
    dirs = sorted(json.loads(p.stdout)["run_dir"] for p in procs)
    assert dirs == [str(saved_run.parent / "_replays" / ("%s-replay-%d" % (saved_run.name, n))) for n in (1, 2)]
    for d in dirs:
        result = json.loads((Path(d) / "result.json").read_text())
        assert result["status"] == "ok" and result["host"]["runner"] == "local"


def test_new_folder_is_taken_atomically(tmp_path: Path) -> None:
    run_dir = tmp_path / "camp" / "abc"
    run_dir.mkdir(parents=True)
    (tmp_path / "camp" / "abc-replay-1").mkdir()  # the old check looked here, the old writer elsewhere
    got = [replay.new_folder(run_dir) for _ in range(3)]
    assert [g.name for g in got] == ["abc-replay-1", "abc-replay-2", "abc-replay-3"]
    assert all(g.parent.name == "_replays" for g in got)


@pytest.mark.parametrize("edit", ["spec", "runner", "command_sh", "no_record", "both_consistent"])
def test_a_rewritten_run_folder_is_refused(saved_run: Path, models_dir: Path, tmp_path: Path, edit: str) -> None:
    d = copy_of(saved_run, tmp_path / "camp" / saved_run.name)
    if edit == "spec":
        spec = json.loads((d / "spec.json").read_text())
        spec["iterations"] = 3
        (d / "spec.json").write_text(json.dumps(spec))
    elif edit == "runner":
        cmd = json.loads((d / "command.json").read_text())
        cmd["runner"] = "docker"
        (d / "command.json").write_text(json.dumps(cmd))
    elif edit == "command_sh":
        with open(d / "command.sh", "a") as f:
            f.write("touch %s\n" % (tmp_path / "pwned"))
    elif edit == "no_record":
        (d / "host.json").unlink()
    else:  # the command rewritten, and host.json's hash with it: the command still must be the suite's
        cmd = json.loads((d / "command.json").read_text())
        cmd["argv"] = ["sh", "-c", "touch %s" % (tmp_path / "pwned")]
        (d / "command.json").write_text(json.dumps(cmd))
        from edgebench.cli.runners import record

        record.sign(d, "local", saved_run.name)
    proc = run_replay(d, models_dir)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr[-500:])
    assert "refusing to replay" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "pwned").exists() and not (d.parent / "_replays").exists()
