"""Planning speed: `plan.build` of one matrix of many runs, today's RunSpec.to_dict and run id against the
old ones (dataclasses.asdict, the id hashed anew at every ask, plan._with through to_dict/from_dict), in
interleaved rounds in one process. The figure is the median over rounds of old time / new time, and the
median per-run time of each; the run ids of both are compared (they must be equal).

    .venv/bin/python benchmarks/plan_speed.py [--runs 20000] [--rounds 5]

`--runs 100000` is plan.MAX_RUNS, the largest plan accepted by default.
"""

import argparse
import dataclasses
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from edgebench.cli import plan
from edgebench.suite import spec as specmod
from edgebench.suite.spec import RunSpec


def _old_to_dict(self: RunSpec) -> dict[str, Any]:
    d = dataclasses.asdict(self)
    d["input_shape"] = list(self.input_shape)
    d["monitors"] = list(self.monitors)
    d["streams"] = [s.to_dict() for s in self.streams]
    return d


def _old_run_id_of(spec: RunSpec) -> str:
    import hashlib
    import json

    defaults = RunSpec(model=spec.model, framework=spec.framework).to_dict()
    d = spec.to_dict()
    key = {k: v for k, v in d.items() if k not in specmod._ID_EXCLUDE
           and (k in ("model", "framework") or v != defaults[k])}
    blob = json.dumps(key, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def _old_with(spec: RunSpec, **changes: Any) -> RunSpec:
    d = spec.to_dict()
    d.update(changes)
    return RunSpec.from_dict(d)


@contextmanager
def old_code() -> Iterator[None]:
    saved = (RunSpec.to_dict, RunSpec.run_id, plan._with)
    RunSpec.to_dict = _old_to_dict  # type: ignore[method-assign]
    RunSpec.run_id = property(_old_run_id_of)  # type: ignore[assignment, method-assign]
    plan._with = _old_with
    try:
        yield
    finally:
        RunSpec.to_dict, RunSpec.run_id, plan._with = saved  # type: ignore[method-assign]


def once(path: Path) -> tuple[float, list[str]]:
    t0 = time.perf_counter()
    p = plan.build(path, max_runs=10**7)
    return time.perf_counter() - t0, [r.run_id for r in p.runs]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    path = Path(tempfile.mkdtemp()) / "big.yaml"
    # A P1-like cell: limits, labels-free, ONNX artefact (so _with runs), repeated.
    path.write_text("name: big\nfixed: {model: resnet18, framework: onnxruntime, iterations: 2, memory_mb: 512}\n"
                    "repetitions: %d\n" % args.runs)
    old_t: list[float] = []
    new_t: list[float] = []
    ratios: list[float] = []
    for _ in range(args.rounds):
        with old_code():
            t_old, ids_old = once(path)
        t_new, ids_new = once(path)
        assert ids_old == ids_new, "run ids changed"
        old_t.append(t_old)
        new_t.append(t_new)
        ratios.append(t_old / t_new)
    print("plan.build of %d runs, %d interleaved rounds (run ids equal in every round)" % (args.runs, args.rounds))
    print("  old (asdict): median %.2f s, %.3f ms/run" % (statistics.median(old_t),
                                                          1e3 * statistics.median(old_t) / args.runs))
    print("  new:          median %.2f s, %.3f ms/run" % (statistics.median(new_t),
                                                          1e3 * statistics.median(new_t) / args.runs))
    print("  old/new: median of ratios %.2fx (min %.2f, max %.2f)" % (statistics.median(ratios), min(ratios),
                                                                      max(ratios)))


if __name__ == "__main__":
    main()
