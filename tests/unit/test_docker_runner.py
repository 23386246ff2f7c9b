"""The Docker runner's pure parts: container arguments, the equivalent `docker run` line, kernel-log
evidence, and the unified-memory bound check (suite/boundcheck.py)."""

from pathlib import Path

import pytest
from edgebench.cli.runners.base import MIB
from edgebench.cli.runners.docker import PIDS_LIMIT, DockerRunner, docker_run_argv, kernel_lines_for
from edgebench.suite import boundcheck
from edgebench.suite.spec import Limits, RunSpec

IMAGE = {"ref": "edgebench-host-cpu-onnxruntime:0.1.0-abc", "id": "sha256:1234", "digest": "sha256:1234"}


def kwargs(limits: Limits, tmp_path: Path, volume: str = "") -> dict:  # type: ignore[type-arg]
    spec = RunSpec(model="resnet18", framework="onnxruntime", limits=limits, campaign="c")
    return DockerRunner(client=object()).container_kwargs(spec, IMAGE["ref"], tmp_path / "run", tmp_path / "models",
                                                          "65534:65534", IMAGE, volume or None)


def test_limits_become_exact_byte_limits(tmp_path: Path) -> None:
    kw = kwargs(Limits(memory_mb=35.5, memory_swap_mb=510, swappiness=10, cpus=1.5), tmp_path)
    assert kw["mem_limit"] == int(35.5 * MIB) and kw["memswap_limit"] == 510 * MIB
    assert kw["mem_swappiness"] == 10 and kw["nano_cpus"] == 1_500_000_000
    argv = docker_run_argv(kw)
    assert argv[argv.index("--memory") + 1] == str(int(35.5 * MIB))
    assert argv[argv.index("--memory-swap") + 1] == str(510 * MIB)
    assert argv[argv.index("--cpus") + 1] == "1.5"


def test_a_cpuset_becomes_cpuset_cpus_and_its_flag(tmp_path: Path) -> None:
    kw = kwargs(Limits(cpuset="0-1"), tmp_path)
    assert kw["cpuset_cpus"] == "0-1"
    argv = docker_run_argv(kw)
    assert argv[argv.index("--cpuset-cpus") + 1] == "0-1"
    assert "cpuset_cpus" not in kwargs(Limits(), tmp_path)


def test_memory_without_swap_limit_follows_dockers_rule(tmp_path: Path) -> None:
    kw = kwargs(Limits(memory_mb=100), tmp_path)
    assert kw["memswap_limit"] == 200 * MIB, "docker run --memory 100m alone allows 100m of swap on top"
    assert "mem_limit" not in kwargs(Limits(), tmp_path), "no limit asked, none set"


def test_containers_are_hardened(tmp_path: Path) -> None:
    kw = kwargs(Limits(), tmp_path)
    assert kw["network_mode"] == "none" and kw["read_only"] is True and kw["cap_drop"] == ["ALL"]
    assert kw["security_opt"] == ["no-new-privileges"] and kw["user"] == "65534:65534"
    assert "/tmp" in kw["tmpfs"]
    binds = kw["volumes"]
    assert "%s:/edgebench/in/spec.json:ro" % (tmp_path / "run" / "spec.json").resolve() in binds
    # The only writable bind is the attempt folder, never the run folder (spec, command files, verdict).
    assert "%s:/edgebench/out:rw" % (tmp_path / "run" / "attempts").resolve() in binds
    assert not any(b.startswith("%s:" % (tmp_path / "run").resolve()) for b in binds)
    assert "%s:/edgebench/in/models:ro" % (tmp_path / "models").resolve() in binds
    assert not any("docker.sock" in b for b in binds)
    assert kw["environment"]["EDGEBENCH_IMAGE_DIGEST"] == "sha256:1234"
    argv = docker_run_argv(kw)
    assert argv[:2] == ["docker", "run"] and argv[-9:-7] == [IMAGE["ref"], "python"]
    for flag in ("--read-only", "--network", "--cap-drop", "--security-opt", "--user", "--tmpfs"):
        assert flag in argv
    assert kw["pids_limit"] == PIDS_LIMIT and argv[argv.index("--pids-limit") + 1] == str(PIDS_LIMIT)


def test_remote_engines_get_one_volume_and_no_bind_of_local_folders(tmp_path: Path) -> None:
    kw = kwargs(Limits(), tmp_path, volume="edgebench-x")
    assert kw["volumes"] == ["edgebench-x:/edgebench:rw"]


# Recorded from this project's CI machine (kernel 6.18, Docker 20.10, cgroup v1) with `cat /dev/kmsg`
# after a container of the ONNX Runtime image was OOM-killed under --memory 30m --memory-swap 30m.
CID = "77b83c4ae95a517644fe62570fb10cf62a1eae57dff3d8c70ed22d305b8cb022"
KMSG = [
    "3,2518,4946993690,-;Memory cgroup out of memory: Killed process 21205 (python) total-vm:333492kB, "
    "anon-rss:9288kB, file-rss:35784kB, shmem-rss:0kB, UID:65534 pgtables:360kB oom_score_adj:0\n",
    "4,2519,4956168885,-;python invoked oom-killer: gfp_mask=0x100cca(GFP_HIGHUSER_MOVABLE), order=0, "
    "oom_score_adj=0\n",
    "6,2562,4956172674,-;Memory cgroup stats for /docker/%s:\n" % CID,
    "6,2608,4956172785,-;oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=%s,mems_allowed=0,"
    "oom_memcg=/docker/%s,task_memcg=/docker/%s,task=python,pid=21636,uid=65534\n" % (CID, CID, CID),
    "3,2609,4956172806,-;Memory cgroup out of memory: Killed process 21636 (python) total-vm:333492kB, "
    "anon-rss:9128kB, file-rss:36040kB, shmem-rss:0kB, UID:65534 pgtables:360kB oom_score_adj:0\n",
]


def test_kernel_log_names_only_this_containers_kill() -> None:
    lines = kernel_lines_for(KMSG, CID)
    assert len(lines) == 3
    assert lines[1].startswith("oom-kill:") and "oom_memcg=/docker/%s" % CID in lines[1]
    assert "Killed process 21636" in lines[2], "the kill that follows this container's oom-kill line"
    assert not any("21205" in x for x in lines), "another container's kill must not count"
    assert kernel_lines_for(KMSG, "f" * 64) == []


# ---- unified memory (Jetson) --------------------------------------------------------------------------

# tegrastats lines as published for a Jetson Nano 4 GB (JetPack 4.x) and a TX1, in public write-ups of
# tegrastats' output (jetson_stats' docs and hordiales/jetson-tx1-dev SCRIPTS.md).
NANO = ("RAM 1409/3964MB (lfb 28x4MB) SWAP 0/1982MB (cached 0MB) IRAM 0/252kB(lfb 252kB) CPU [22%@518,67%@518,off,off] "
        "EMC_FREQ 0%@1600 GR3D_FREQ 0%@76 APE 25 PLL@28.5C CPU@32C PMIC@50C GPU@30.5C AO@39.5C thermal@31.25C "
        "POM_5V_IN 2003/2003 POM_5V_GPU 0/0 POM_5V_CPU 320/320")
TX1 = ("RAM 3468/3983MB (lfb 48x4MB) SWAP 873/8192MB (cached 295MB) cpu [17%,13%,29%,5%]@408 EMC 1%@408 APE 25 "
       "GR3D 3%@76")

# The nvmap debugfs `iovmm/clients` table, laid out by the format strings of L4T's nvmap_dev.c
# (nvmap_debug_clients_show: "%-18s %18s %8u" then " %10lluK"; last line "total").
NVMAP = "\n".join(["%-18s %18s %8s %11s" % ("CLIENT", "PROCESS", "PID", "SIZE"),
                   "%-18s %18s %8u %10uK" % ("user", "nvargus-daemon", 4721, 12288),
                   "%-18s %18s %8u %10uK" % ("user", "python3", 9001, 381952),
                   "%-18s %18s %8u %10uK" % ("user", "python3", 9001, 4096),
                   "%-18s %18s %8s %10uK" % ("total", "", "", 398336)]) + "\n"


def test_tegrastats_ram() -> None:
    assert boundcheck.parse_tegrastats_ram(NANO) == 1409 * MIB
    assert boundcheck.parse_tegrastats_ram(TX1) == 3468 * MIB
    assert boundcheck.parse_tegrastats_ram("GR3D_FREQ 0%") is None


def test_nvmap_clients_by_pid() -> None:
    nv = boundcheck.parse_nvmap_clients(NVMAP, 9001)
    assert nv == {"pid_bytes": (381952 + 4096) * 1024, "total_bytes": 398336 * 1024}
    assert boundcheck.parse_nvmap_clients(NVMAP, 1234)["pid_bytes"] is None


def snap(limit_mb: float, cg_mb: float, dev_mb: float, nvmap_mb: float = -1) -> dict:  # type: ignore[type-arg]
    return {"cgroup_limit_bytes": int(limit_mb * MIB), "cgroup_usage_bytes": int(cg_mb * MIB),
            "cgroup_peak_bytes": int(cg_mb * MIB), "device_used_bytes": int(dev_mb * MIB),
            "device_source": "tegrastats",
            "nvmap_pid_bytes": None if nvmap_mb < 0 else int(nvmap_mb * MIB)}


def test_gpu_memory_outside_the_cgroup_means_not_bounded() -> None:
    # TensorRT on a Nano: the cgroup saw 180 MiB more, the device 780 MiB more, nvmap says 600 MiB.
    v = boundcheck.check(snap(500, 20, 1400, 0), snap(500, 200, 2180, 600), "cuda", unified=True)
    assert v["bounded"] is False and v["escaped_mb"] == 600 and v["escaped_from"].startswith("nvmap")
    assert v["total_used_mb"] == 800 and "500 MiB limit" in v["reason"]


def test_without_nvmap_the_device_ram_growth_decides() -> None:
    v = boundcheck.check(snap(500, 20, 1400), snap(500, 200, 2180), "cuda", unified=True)
    assert v["bounded"] is False and v["escaped_mb"] == 600 and "tegrastats" in v["escaped_from"]
    v = boundcheck.check(snap(500, 20, 1400), snap(500, 200, 1583), "cpu", unified=True)
    assert v["bounded"] is True, "3 MiB outside the cgroup is noise"


def test_verdicts_where_the_question_does_not_arise() -> None:
    none = boundcheck.check(snap(0, 0, 0) | {"cgroup_limit_bytes": None}, snap(0, 0, 0) | {"cgroup_limit_bytes": None})
    assert none["bounded"] is None and "no memory limit" in none["reason"]
    cpu = boundcheck.check(snap(500, 0, 0), snap(500, 100, 900), "cpu", unified=False)
    assert cpu["bounded"] is True
    dgpu = boundcheck.check(snap(500, 0, 0), snap(500, 100, 100), "cuda", unified=False)
    assert dgpu["bounded"] is False and "discrete GPU" in dgpu["reason"]
    blind = boundcheck.check({"cgroup_limit_bytes": 1}, {"cgroup_limit_bytes": 1}, "cuda", unified=True)
    assert blind["bounded"] is None


def test_snapshot_here_reads_cgroup_and_meminfo() -> None:
    s = boundcheck.snapshot()
    assert s["device_source"] == "meminfo" and s["device_used_bytes"] > 0
    assert s["cgroup_version"] in (1, 2, None)
    assert boundcheck.snapshot(tegrastats_line=NANO)["device_used_bytes"] == 1409 * MIB


@pytest.mark.parametrize("value", [None, "0:0"])
def test_root_or_image_user_passes_through(tmp_path: Path, value: object) -> None:
    spec = RunSpec(model="resnet18", framework="onnxruntime")
    kw = DockerRunner(client=object()).container_kwargs(spec, "x:y", tmp_path, tmp_path, value, IMAGE, None)  # type: ignore[arg-type]
    assert kw.get("user") == value


def test_image_folders_are_bound_read_only_at_their_path(tmp_path: Path) -> None:
    spec = RunSpec(model="resnet18", framework="onnxruntime", input_dir="/data/val", calib_dir="/data/calib")
    runner = DockerRunner(client=object())
    kw = runner.container_kwargs(spec, IMAGE["ref"], tmp_path / "run", tmp_path / "models", None, IMAGE, None)
    assert "/data/val:/data/val:ro" in kw["volumes"] and "/data/calib:/data/calib:ro" in kw["volumes"]
    # Copy transfer (a remote engine): a host path means nothing there, so nothing is bound.
    kw = runner.container_kwargs(spec, IMAGE["ref"], tmp_path / "run", tmp_path / "models", None, IMAGE, "vol")
    assert not any(v.startswith("/data/") for v in kw["volumes"])


def test_tensorrt_engines_persist_beside_the_models_cache(tmp_path: Path) -> None:
    spec = RunSpec(model="resnet18", framework="tensorrt", placement="cuda", device="jetson-nano")
    runner = DockerRunner(client=object())
    kw = runner.container_kwargs(spec, IMAGE["ref"], tmp_path / "run", tmp_path / "models", None, IMAGE, None)
    want = "%s:/edgebench/engines:rw" % (tmp_path / "engines" / "jetson-nano")
    assert want in kw["volumes"] and kw["environment"]["EDGEBENCH_ENGINE_CACHE"] == "/edgebench/engines"
    onnx = RunSpec(model="resnet18", framework="onnxruntime")
    kw = runner.container_kwargs(onnx, IMAGE["ref"], tmp_path / "run", tmp_path / "models", None, IMAGE, None)
    assert "EDGEBENCH_ENGINE_CACHE" not in kw["environment"]
    assert not any(v.endswith(":/edgebench/engines:rw") for v in kw["volumes"])
