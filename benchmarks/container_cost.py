"""Container cost per run: the same spec through the Docker runner and the local runner, interleaved.

Each round runs the spec once with each runner (the order alternates between rounds, since this machine's
speed drifts), and the per-round difference docker - local is kept; the report gives the median of those
differences and splits the Docker run's host wall time into what it consists of:
  create    containers.create (engine bookkeeping, the read-only root's layer)
  start     containers.start until the API returns (runc: namespaces, cgroup, mounts, seccomp)
  boot      from start returning to the suite's first phase (interpreter + suite import inside)
  import    the suite's import phase (the runtime: ONNX Runtime)
  phases    import .. measure, inside (the same work as the local run)
  teardown  last phase end -> execute() returns (exit, wait, inspect, logs, remove, chown, finalize)
  remove    of which containers.remove
The local run gets the same split (its start-up = Popen to first phase).

    .venv/bin/python benchmarks/container_cost.py [--rounds 9] [--limit]

Needs a Docker engine and the host-cpu ONNX Runtime image (built here if missing; needs its base).
"""

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from edgebench.cli import images
from edgebench.cli.runners.docker import DockerRunner
from edgebench.cli.runners.local import LocalRunner
from edgebench.suite.artefacts.export import export_onnx
from edgebench.suite.spec import Limits, RunResult, RunSpec


def split(r: RunResult, total: float) -> dict[str, float]:
    first, last = r.phases[0], r.phases[-1]
    start_wall = r.host["extra"]["start_wall"]
    t = r.host["extra"].get("timings", {})
    out = {"total_s": total, "startup_s": first.start_wall - start_wall,
           "import_s": next(p.duration_s for p in r.phases if p.name == "import"),
           "phases_s": last.end_wall - first.start_wall}
    out["teardown_s"] = total - out["phases_s"] - out["startup_s"] - t.get("create_s", 0.0)
    if t:
        out.update({"create_s": t["create_s"], "start_s": t["start_s"], "remove_s": t["remove_s"],
                    "boot_s": out["startup_s"] - t["start_s"]})
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--limit", action="store_true", help="run under a 1 GiB memory limit (cgroup set-up)")
    args = ap.parse_args()
    cli = images.client()
    spec_img = images.image_spec("host-cpu", "onnxruntime")
    images.build(spec_img, cli)  # a no-op when the tag exists
    tmp = Path(tempfile.mkdtemp(prefix="edgebench-container-cost-"))
    export_onnx("mobilenet_v3_small", str(tmp / "models" / "m"), (3, 224, 224))
    runners: dict[str, Any] = {"docker": DockerRunner(client=cli, image_tag=spec_img.tag), "local": LocalRunner()}
    rows: dict[str, list[dict[str, float]]] = {"docker": [], "local": []}
    diffs = []
    for rnd in range(args.rounds + 1):  # round 0 warms caches (page cache, image layers) and is dropped
        order = ["docker", "local"] if rnd % 2 else ["local", "docker"]
        got: dict[str, float] = {}
        for name in order:
            spec = RunSpec(model="mobilenet_v3_small", framework="onnxruntime", iterations=5, warmups=1, threads=1,
                           artifact="m/model.onnx", repetition=rnd, image="edgebench-host-cpu-onnxruntime",
                           limits=Limits(memory_mb=1024, memory_swap_mb=1024) if args.limit else Limits(),
                           campaign="container-cost")
            t0 = time.monotonic()
            r = runners[name].execute(spec, tmp / name / spec.run_id, tmp / "models")
            total = time.monotonic() - t0
            assert r.status == "ok", "%s: %s" % (name, r.reason)
            got[name] = total
            if rnd:
                rows[name].append(split(r, total))
        if rnd:
            diffs.append(got["docker"] - got["local"])

    def med(name: str) -> dict[str, float]:
        return {k: round(statistics.median(x[k] for x in rows[name]), 4) for k in rows[name][0]}

    report = {"rounds": args.rounds, "memory_limit": args.limit, "image": spec_img.ref,
              "median_difference_s": round(statistics.median(diffs), 4),
              "difference_range_s": [round(min(diffs), 4), round(max(diffs), 4)],
              "docker": med("docker"), "local": med("local")}
    d, loc = report["docker"], report["local"]
    report["difference_consists_of_s"] = {
        "create": d["create_s"], "start (runc)": d["start_s"],
        "boot (interpreter+suite import) minus local start-up": round(d["boot_s"] - loc["startup_s"], 4),
        "runtime import, docker minus local": round(d["import_s"] - loc["import_s"], 4),
        "teardown, docker minus local": round(d["teardown_s"] - loc["teardown_s"], 4),
        "of which remove": d["remove_s"]}
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
