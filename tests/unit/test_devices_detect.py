"""`devices detect` and bench's check, against recordings of real boards' files.

A Jetson's /etc/nv_tegra_release, a board's /proc/device-tree and a Coral's USB ids cannot exist on this
machine, so each board below is a folder of those files, with contents from the public record:
- nv_tegra_release lines: the format and the R32.7.1 / R35.3.1 lines jetson-containers quotes in
  jetson_containers/l4t_version.py; the R32.6.1 line is the same format for that release;
- device-tree model/compatible: the boards' device-tree sources (tegra210-p3450-0000.dts "NVIDIA Jetson
  Nano Developer Kit"; tegra186-p2771-0000.dts "NVIDIA Jetson TX2 Developer Kit"; Raspberry Pi 5
  "raspberrypi,5-model-b", "brcm,bcm2712"; "Hardkernel ODROID-N2Plus"; imx8mq-phanbell "Freescale i.MX8MQ
  Phanbell") as the kernel exposes them (NUL-separated compatible strings);
- MemTotal: what such boards report (below nominal: carve-outs), e.g. ~3.9 GiB on a 4 GB Nano;
- Coral USB Accelerator: 18d1:9302 (Google) once its firmware is loaded, 1a6e:089a before.
"""

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from edgebench.cli import detect, devices

from tests.conftest import ROOT

NANO_R32_6_1 = ("# R32 (release), REVISION: 6.1, GCID: 27863751, BOARD: t210ref, EABI: aarch64, "
                "DATE: Mon Jul 26 19:20:30 UTC 2021\n")
R32_7_1 = ("# R32 (release), REVISION: 7.1, GCID: 29689809, BOARD: t186ref, EABI: aarch64, "
           "DATE: Wed Feb  2 21:33:23 UTC 2022\n")
R35_3_1 = ("# R35 (release), REVISION: 3.1, GCID: 32790763, BOARD: t186ref, EABI: aarch64, "
           "DATE: Wed Mar 15 07:54:12 UTC 2023\n")

BOARDS = {
    "jetson-nano": dict(model="NVIDIA Jetson Nano Developer Kit", compatible=["nvidia,p3450-0000", "nvidia,tegra210"],
                        release=NANO_R32_6_1, mem_kb=4059464, cores=4, cpu="ARMv8 Processor rev 1 (v8l)"),
    "jetson-tx2": dict(model="NVIDIA Jetson TX2 Developer Kit", compatible=["nvidia,p2771-0000", "nvidia,tegra186"],
                       release=NANO_R32_6_1.replace("t210ref", "t186ref"), mem_kb=8039276, cores=6, cpu=""),
    "rpi5": dict(model="Raspberry Pi 5 Model B Rev 1.0", compatible=["raspberrypi,5-model-b", "brcm,bcm2712"],
                 mem_kb=8245168, cores=4, cpu=""),
    "odroid-n2": dict(model="Hardkernel ODROID-N2Plus",
                      compatible=["hardkernel,odroid-n2-plus", "amlogic,s922x", "amlogic,g12b"],
                      mem_kb=3855204, cores=6, cpu=""),
    "coral-devboard": dict(model="Freescale i.MX8MQ Phanbell", compatible=["fsl,imx8mq-phanbell", "fsl,imx8mq"],
                           mem_kb=1000000, cores=4, cpu="", nodes=["dev/apex_0"]),
}


def board(tmp: Path, model: str = "", compatible: Sequence[str] = (), release: str = "",
          mem_kb: int = 0, cores: int = 4, cpu: str = "", usb: tuple[str, ...] = (),
          nodes: Sequence[str] = ()) -> Path:
    """A root folder holding what a board shows in /proc, /etc, /sys and /dev."""
    dt = tmp / "proc/device-tree"
    dt.mkdir(parents=True)
    if model:
        (dt / "model").write_bytes(model.encode() + b"\0")
        (dt / "compatible").write_bytes(b"".join(c.encode() + b"\0" for c in compatible))
    (tmp / "etc").mkdir()
    if release:
        (tmp / "etc/nv_tegra_release").write_text(release)
    (tmp / "proc/cpuinfo").write_text("".join("processor\t: %d\nmodel name\t: %s\n\n" % (i, cpu) for i in range(cores)))
    (tmp / "proc/meminfo").write_text("MemTotal:       %d kB\nMemFree:         1000 kB\n" % mem_kb)
    for i, ident in enumerate(usb):
        d = tmp / "sys/bus/usb/devices" / ("2-%d" % (i + 1))
        d.mkdir(parents=True)
        vendor, product = ident.split(":")
        (d / "idVendor").write_text(vendor + "\n")
        (d / "idProduct").write_text(product + "\n")
    for n in nodes:
        (tmp / n).parent.mkdir(parents=True, exist_ok=True)
        (tmp / n).write_text("")
    return tmp


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_recorded_boards_are_recognised(name: str, tmp_path: Path) -> None:
    facts = detect.gather(str(board(tmp_path, **BOARDS[name])), machine="aarch64")
    best = detect.best(facts)
    assert best is not None and best.device == name, detect.detect(facts)[:2]
    assert any("model" in r for r in best.reasons)
    assert detect.check(devices.load(name), facts) == []


def test_l4t_release_is_parsed() -> None:
    assert detect.parse_l4t(NANO_R32_6_1) == "32.6.1"
    assert detect.parse_l4t(R35_3_1) == "35.3.1"
    assert detect.parse_l4t("garbage") is None


def test_jetson_with_another_l4t_release_is_refused_with_both_releases(tmp_path: Path) -> None:
    facts = detect.gather(str(board(tmp_path, **dict(BOARDS["jetson-nano"], release=R32_7_1))), machine="aarch64")
    problems = detect.check(devices.load("jetson-nano"), facts)
    assert len(problems) == 1 and "L4T 32.7.1" in problems[0] and "32.6.1" in problems[0]
    assert detect.best(facts) is None  # no profile fits a Nano on 32.7.1, and it says so


def test_memory_variant_outside_the_profile_is_refused(tmp_path: Path) -> None:
    facts = detect.gather(str(board(tmp_path, **dict(BOARDS["jetson-nano"], mem_kb=2000000))), machine="aarch64")
    assert any("MemTotal 1953 MiB" in p for p in detect.check(devices.load("jetson-nano"), facts))
    rpi5_2gb = detect.gather(str(board(tmp_path / "p", **dict(BOARDS["rpi5"], mem_kb=2000000))), machine="aarch64")
    assert detect.check(devices.load("rpi5"), rpi5_2gb) == []  # 2 GB is one of the Pi 5's sizes


def test_a_coral_usb_makes_a_composite_verdict(tmp_path: Path) -> None:
    facts = detect.gather(str(board(tmp_path, **BOARDS["rpi5"], usb=("1d6b:0002", "18d1:9302"))), machine="aarch64")
    verdicts = [v for v in detect.detect(facts) if v.matches]
    assert [v.device for v in verdicts][:2] == ["rpi5+coral-usb", "rpi5"]
    assert any("18d1:9302" in r for r in verdicts[0].reasons)
    assert detect.check(devices.load("rpi5+coral-usb"), facts) == []
    bare = detect.gather(str(board(tmp_path / "b", **BOARDS["rpi5"])), machine="aarch64")
    assert any("18d1:9302" in p for p in detect.check(devices.load("rpi5+coral-usb"), bare))


def test_x86_without_gpu_is_host_cpu_and_not_host_cuda(tmp_path: Path) -> None:
    facts = detect.gather(str(board(tmp_path, mem_kb=16000000, cores=8, cpu="Intel(R) Xeon(R)")), machine="x86_64")
    assert detect.best(facts).device == "host-cpu"
    assert any("NVIDIA" in p for p in detect.check(devices.load("host-cuda"), facts))
    gpu = tmp_path / "proc/driver/nvidia/gpus/0000:01:00.0"
    gpu.mkdir(parents=True)
    facts = detect.gather(str(tmp_path), machine="x86_64")
    assert [v.device for v in detect.detect(facts) if v.matches][:2] == ["host-cuda", "host-cpu"]


def test_a_board_is_never_taken_for_a_generic_host(tmp_path: Path) -> None:
    facts = detect.gather(str(board(tmp_path, **BOARDS["jetson-nano"])), machine="aarch64")
    assert "host-cpu" not in [v.device for v in detect.detect(facts) if v.matches]
    assert any("architecture is arm64" in p for p in detect.check(devices.load("host-cpu"), facts))


def test_this_machine_is_detected_and_explained() -> None:
    facts = detect.gather()
    best = detect.best(facts)
    assert best is not None and best.reasons
    if facts.arch == "amd64" and not facts.model and not facts.nvidia_gpus:
        assert best.device == "host-cpu"


def test_detect_command_prints_json_for_a_recorded_board(tmp_path: Path) -> None:
    root = board(tmp_path, **BOARDS["jetson-nano"])
    res = subprocess.run([sys.executable, "-m", "edgebench.cli.fleet_cmd", "detect", "--json", "--root", str(root),
                          "--machine", "aarch64"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["device"] == "jetson-nano" and data["facts"]["l4t"] == "32.6.1"
    res = subprocess.run([sys.executable, "-m", "edgebench.cli.fleet_cmd", "detect", "--root",
                          str(board(tmp_path / "x", model="Some Board", compatible=["acme,board"], mem_kb=1000)),
                          "--machine", "aarch64"], capture_output=True, text=True, cwd=ROOT)
    assert res.returncode == 1 and "no device profile fits" in res.stdout
