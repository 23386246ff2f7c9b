"""Monitor cost: ResNet18 batch 1 on CPU, median latency with a 10 Hz monitor on vs off.

Interleaved rounds in one process (this machine's speed drifts): each round times `--iters`
inferences with the monitor off and `--iters` with it on, in alternating order; the figure is the
median over rounds of (median latency on / median latency off). The monitor's own CPU time
(monitor_cpu_s, RUSAGE_THREAD of its thread) is reported as % of one core over the on-segments.
Targets (issue 2): latency ratio within 1 %, psutil monitor CPU under 1 % of one core.

A second part measures each other monitor that can run here the same way, and the whole-process CPU
of a monitor in an idle process (catches helper threads that RUSAGE_THREAD misses, e.g. CodeCarbon's).

    .venv/bin/python benchmarks/monitor_overhead.py [--rounds 12] [--iters 25] [--threads 1 2] [--json]
"""

import argparse
import json
import resource
import statistics
import sys
import time
from typing import Any, Callable, Optional

import psutil
import torch
import torchvision
from edgebench.suite import monitors
from edgebench.suite.monitors.psutil_monitor import process_memory
from edgebench.suite.monitors.tegrastats_monitor import parse


def timed(fn: Callable[[], Any], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def compare(name: str, config: Optional[dict[str, Any]], infer: Callable[[], Any], rounds: int,
            iters: int) -> dict[str, Any]:
    ratios, cpu_s, wall_s = [], 0.0, 0.0
    meds_on, meds_off = [], []
    for r in range(rounds):
        order = ("off", "on") if r % 2 == 0 else ("on", "off")
        med: dict[str, float] = {}
        for which in order:
            if which == "off":
                med["off"] = statistics.median(timed(infer, iters))
                continue
            mon = monitors.create(name, 0.1, config)
            t0 = time.monotonic()
            mon.start()
            med["on"] = statistics.median(timed(infer, iters))
            agg = mon.stop()
            wall_s += time.monotonic() - t0
            cpu_s += agg["monitor_cpu_s"]
        ratios.append(med["on"] / med["off"])
        meds_on.append(med["on"])
        meds_off.append(med["off"])
    return {"monitor": name, "config": config or {}, "rounds": rounds, "iters_per_segment": iters,
            "median_latency_off_ms": 1e3 * statistics.median(meds_off),
            "median_latency_on_ms": 1e3 * statistics.median(meds_on),
            "ratio_median": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios),
            "monitor_cpu_percent_of_core": 100.0 * cpu_s / wall_s if wall_s else None}


def idle_process_cpu(name: str, config: Optional[dict[str, Any]], seconds: float) -> dict[str, Any]:
    """Whole-process CPU while only the monitor runs (main thread sleeping), minus the same without it."""
    def proc_cpu() -> float:
        r = resource.getrusage(resource.RUSAGE_SELF)
        return r.ru_utime + r.ru_stime

    c0 = proc_cpu()
    time.sleep(seconds)
    base = proc_cpu() - c0
    mon = monitors.create(name, 0.1, config)
    c0, t0 = proc_cpu(), time.monotonic()
    mon.start()
    time.sleep(seconds)
    agg = mon.stop()
    used, wall = proc_cpu() - c0 - base, time.monotonic() - t0
    return {"monitor": name, "config": config or {}, "process_cpu_percent_of_core": 100.0 * used / wall,
            "thread_cpu_percent_of_core": 100.0 * agg["monitor_cpu_s"] / wall, "samples": agg["samples"]}


# One recorded Orin line (DataDog/datadog-agent jetson_test.go r36Sample), for the parser's cost per line.
ORIN_LINE = ("RAM 29114/30697MB (lfb 3x4MB)    SWAP 4915/15348MB (cached 1MB) CPU [3%@729,4%@729,0%@729,1%@729,"
             "0%@2201,100%@2201,1%@2201,0%@2201,100%@2201,0%@2201,0%@2201,0%@2201] EMC_FREQ 1%@2133 "
             "GR3D_FREQ 0%@[305,305] NVENC off NVDEC off APE 174 cpu@53.062C soc2@48.25C soc0@48.843C "
             "gpu@47.812C tj@53.062C soc1@48.968C VDD_GPU_SOC 3205mW/3205mW VDD_CPU_CV 4405mW/4405mW "
             "VIN_SYS_5V0 4767mW/4767mW")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=12)
    ap.add_argument("--iters", type=int, default=25)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--others", nargs="*", default=["codecarbon", "usb", "nvml", "jtop", "tegrastats", "ina219"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    model = torchvision.models.resnet18().eval()
    x = torch.randn(1, 3, 224, 224)

    def infer() -> None:
        with torch.no_grad():
            model(x)

    report: dict[str, Any] = {"python": sys.version.split()[0], "torch": torch.__version__, "latency": [],
                              "idle": [], "unavailable": {}}
    for threads in args.threads:
        torch.set_num_threads(threads)
        timed(infer, 10)  # warm-up
        for name, config in [("psutil", None), ("psutil", {"full_interval_s": 0})]:
            res = compare(name, config, infer, args.rounds, args.iters)
            res["threads"] = threads
            report["latency"].append(res)
        for name in args.others:
            reason = monitors.probe(name)
            if reason:
                report["unavailable"][name] = reason
                continue
            res = compare(name, None, infer, max(4, args.rounds // 2), args.iters)
            res["threads"] = threads
            report["latency"].append(res)
    for name, config in [("psutil", None)] + [(n, None) for n in args.others if n not in report["unavailable"]]:
        report["idle"].append(idle_process_cpu(name, config, 5.0))
    # PSS/USS (memory_full_info) with the model loaded: its CPU per read, and so its share at the default period
    proc = psutil.Process()
    reads = []
    for _ in range(10):
        c0 = resource.getrusage(resource.RUSAGE_THREAD)
        process_memory(proc)
        c1 = resource.getrusage(resource.RUSAGE_THREAD)
        reads.append((c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime))
    report["pss_read_cpu_ms"] = 1e3 * statistics.median(reads)
    no_full = [r for r in report["latency"] if r["monitor"] == "psutil" and r["config"].get("full_interval_s") == 0]
    if no_full:
        base = statistics.median(r["monitor_cpu_percent_of_core"] for r in no_full)
        report["psutil_steady_cpu_percent_estimate"] = base + 100.0 * statistics.median(reads) / 5.0
    t0 = time.perf_counter()
    for _ in range(2000):
        parse(ORIN_LINE)
    report["tegrastats_parse_us_per_line"] = (time.perf_counter() - t0) / 2000 * 1e6

    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print("ResNet18 batch 1, CPU, monitor at 10 Hz; ratio = median over rounds of median(on)/median(off)")
    for r in report["latency"]:
        print("threads=%d %-10s %-26s off %6.2f ms  on %6.2f ms  ratio %.4f [%.3f..%.3f]  monitor CPU %.3f %% of a core"
              % (r["threads"], r["monitor"], json.dumps(r["config"]), r["median_latency_off_ms"],
                 r["median_latency_on_ms"], r["ratio_median"], r["ratio_min"], r["ratio_max"],
                 r["monitor_cpu_percent_of_core"]))
    for r in report["idle"]:
        print("idle process: %-10s whole-process CPU %.3f %% of a core (its thread: %.3f %%), %d samples in 5 s"
              % (r["monitor"], r["process_cpu_percent_of_core"], r["thread_cpu_percent_of_core"], r["samples"]))
    print("tegrastats parser: %.1f us per line" % report["tegrastats_parse_us_per_line"])
    print("PSS/USS read (memory_full_info) with ResNet18 loaded: %.1f ms CPU; at the default full_interval_s=5 s "
          "the psutil monitor's steady cost is ~%.2f %% of a core (no-PSS figure + read/5 s). Each on-segment "
          "above starts a fresh monitor, which reads PSS at once: the default-config rows are an upper bound."
          % (report["pss_read_cpu_ms"], report.get("psutil_steady_cpu_percent_estimate", float("nan"))))
    for why in report["unavailable"].values():
        print("not run here: %s" % why)
    return 0


if __name__ == "__main__":
    sys.exit(main())
