"""The MXNet backend for real: MXNet 1.9.1 in its own interpreter (.venv-mxnet, `make mxnet-env`), through the
local runner as host-cpu's profile names it; settings read back from the run record; Gluon outputs checked."""

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from edgebench.cli.runners.interpreters import interpreter
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite import backends
from edgebench.suite.spec import RunSpec

from tests.conftest import ROOT, need

pytestmark = pytest.mark.integration
MXNET_PY = ROOT / ".venv-mxnet" / "bin" / "python"


def need_mxnet_env() -> None:
    need(os.access(MXNET_PY, os.X_OK), "the MXNet interpreter %s (make mxnet-env)" % MXNET_PY)


def run(tmp_path: Path, **kw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """One run through the local runner; (result.json, command.json) as saved."""
    need_mxnet_env()
    spec = RunSpec(framework="mxnet", warmups=1, iterations=3, **kw)
    r = LocalRunner().execute(spec, tmp_path / spec.run_id, tmp_path / "models")
    saved = json.loads((tmp_path / spec.run_id / "result.json").read_text())
    assert saved["status"] == r.status
    return saved, json.loads((tmp_path / spec.run_id / "command.json").read_text())


def test_mxnet_runs_in_its_own_interpreter_with_its_settings_recorded(tmp_path: Path) -> None:
    res, cmd = run(tmp_path, model="resnet18", threads=1, cudnn_autotune=False)
    assert res["status"] == "ok", res["reason"]
    assert cmd["argv"][0] == str(MXNET_PY), "host-cpu's profile names .venv-mxnet for mxnet runs"
    assert len(res["latencies_s"]) == 3 and all(t > 0 for t in res["latencies_s"])
    versions = res["env"]["end"]["runtime"]
    assert versions["mxnet"] == "1.9.1"
    assert int(versions["numpy"].split(".")[1]) < 24 and versions["numpy"].startswith("1."), versions["numpy"]
    place = res["streams"][0]["placement"]
    assert place["actual"] == "cpu" and place["fell_back"] is False
    mx = place["mxnet"]
    assert mx["gluon"] == "resnet18_v1" and mx["hybridized"] is True
    assert mx["env"]["OMP_NUM_THREADS"] == "1", "threads are set before mxnet is imported"
    assert mx["env"]["MXNET_CUDNN_AUTOTUNE_DEFAULT"] == "0" and mx["cudnn_autotune"] is False
    assert mx["not_applied"] == {}
    names = [p["name"] for p in res["phases"]]
    assert names.index("import") < names.index("load") < names.index("measure")


def test_gpu_request_without_a_gpu_falls_back_flagged(tmp_path: Path) -> None:
    res, _ = run(tmp_path, model="mobilenet_v1", placement="cuda:0")
    assert res["status"] == "ok", res["reason"]
    place = res["streams"][0]["placement"]
    assert place["requested"] == "cuda:0" and place["actual"] == "cpu" and place["fell_back"] is True
    assert "cuda" in place["reason"].lower() or "gpu" in place["reason"].lower()


def test_fp16_on_cpu_is_refused_with_the_reason(tmp_path: Path) -> None:
    res, _ = run(tmp_path, model="squeezenet1_0", precision="fp16")
    assert res["status"] == "failed"
    assert "fp16 on a GPU context only" in res["reason"]


def test_imperative_run_is_recorded_and_matches_the_hybridised_net() -> None:
    """hybridize: false is recorded; the same seed gives the same net, hybridised or not (a real forward)."""
    need_mxnet_env()
    script = (
        "import json, numpy as np\n"
        "from edgebench.suite.backends.mxnet_backend import MxnetBackend\n"
        "from edgebench.suite.spec import RunSpec\n"
        "x = np.random.RandomState(1).rand(2, 3, 224, 224).astype('float32')\n"
        "outs, recs = [], []\n"
        "for h in (True, False):\n"
        "    b = MxnetBackend(RunSpec(model='mobilenet_v2', framework='mxnet', hybridize=h, seed=3))\n"
        "    b.load()\n"
        "    outs.append(b.output(x)); recs.append(b.placement()['mxnet']['hybridized'])\n"
        "d = float(np.abs(outs[0] - outs[1]).max()); s = float(np.abs(outs[0]).max())\n"
        "print(json.dumps({'diff': d, 'scale': s, 'recs': recs, 'shape': list(outs[0].shape)}))\n")
    out = subprocess.run([str(MXNET_PY), "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["recs"] == [True, False]
    assert got["shape"] == [2, 1000]
    assert got["scale"] > 1e-3, "He-normal init keeps the logits off zero"
    assert got["diff"] <= 1e-4 * max(1.0, got["scale"]), got


def test_gluon_zoo_params_for_the_host() -> None:
    """What `models info --framework mxnet` reads: trainable parameters of the Gluon definitions."""
    need_mxnet_env()
    out = subprocess.run([str(MXNET_PY), "-m", "edgebench.suite.nets.gluon_zoo", "params", "resnet18", "mobilenet_v1",
                          "resnet50"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert rows[0]["gluon"] == "resnet18_v1" and rows[0]["params"] == 11689512  # = torchvision's resnet18
    assert rows[0]["macs"] == pytest.approx(1.81e9, rel=0.01)  # torchvision's published 1.81 "GFLOPS" (GMACs)
    assert rows[1]["gluon"] == "mobilenet1.0" and 4_000_000 < rows[1]["params"] < 4_500_000
    assert rows[1]["macs"] == pytest.approx(569e6, rel=0.01)  # MobileNet-V1 paper: 569 million mult-adds
    # ResNet v1 strides in the bottleneck's 1x1: fewer MACs than torchvision's v1.5 (4.09 G)
    assert 3.7e9 < rows[2]["macs"] < 4.0e9


def test_the_host_venv_has_no_mxnet_and_a_missing_interpreter_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """MXNet stays out of .venv (it would pull numpy < 1.24 under pandas, torch, TensorFlow); a run whose
    interpreter is missing is refused before the campaign with the fix named."""
    why = backends.probe("mxnet")
    assert why is not None and "not installed" in why
    spec = RunSpec(model="resnet18", framework="mxnet")
    monkeypatch.setenv("EDGEBENCH_PYTHON_MXNET", "/nonexistent/bin/python")
    problems = LocalRunner().preflight([spec])
    assert any("not an executable" in p and "make mxnet-env" in p for p in problems), problems
    monkeypatch.delenv("EDGEBENCH_PYTHON_MXNET")
    path, why2 = interpreter(RunSpec(model="resnet18", framework="torch"), "/usr/bin/python3")
    assert (path, why2) == ("/usr/bin/python3", ""), "frameworks without one keep the host's interpreter"
    mixed = RunSpec(model="resnet18", framework="mxnet", workload="placement",
                    streams=(RunSpec(model="resnet18", framework="torch").stream_specs()[0],))
    assert "different interpreters" in interpreter(mixed, "/usr/bin/python3")[1]


def test_mxnet_settings_reach_mxnet_cells_only(tmp_path: Path) -> None:
    """`cudnn_autotune` in a matrix's fixed values lands in the mxnet cells' specs and stays out of the others'
    (whose run ids therefore do not change); `edgebench plan` says why a device's cells are skipped."""
    from edgebench.cli import plan

    m = tmp_path / "m.yaml"
    m.write_text("name: mx\ndevice: host-cpu\nunsupported: skip\nfixed: {cudnn_autotune: false, hybridize: false}\n"
                 "axes:\n  model: [resnet18]\n  framework: [torch, mxnet]\n  placement: [cpu, cuda]\n")
    p = plan.build(m)
    specs = {r.spec.framework: r.spec for r in p.runs}
    assert specs["mxnet"].cudnn_autotune is False and specs["mxnet"].hybridize is False
    assert specs["mxnet"].artifact is None, "mxnet builds its Gluon net in the run: no artefact"
    plain = RunSpec(model="resnet18", framework="torch", device="host-cpu", image=specs["torch"].image,
                    artifact=specs["torch"].artifact, campaign=specs["torch"].campaign)
    assert specs["torch"].cudnn_autotune is None and specs["torch"].hybridize is True
    assert specs["torch"].run_id == plain.run_id
    assert "host-cpu runs mxnet on cpu, not cuda" in {why for _, why in p.skipped}
