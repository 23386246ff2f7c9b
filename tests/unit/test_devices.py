"""Device profiles: every device of the protocols has a valid profile; composites and emulation derive right."""

from pathlib import Path

import pytest
from edgebench.cli import devices, images, plan
from edgebench.cli.errors import InputError
from edgebench.suite import monitors

REQUIRED = {"jetson-nano", "jetson-tx2", "jetson-xavier-nx", "jetson-orin-nano", "rpi4", "rpi5", "odroid-n2",
            "coral-devboard", "coral-usb", "host-cpu", "host-cuda"}
PLACEMENTS = {"cpu", "cuda", "tensorrt", "edgetpu", "dla"}


@pytest.fixture(autouse=True)
def fresh_cache():
    devices.load.cache_clear()
    yield
    devices.load.cache_clear()


def test_every_protocol_device_has_a_profile() -> None:
    assert set(devices.names()) >= REQUIRED


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_profile_is_complete(name: str) -> None:
    d = devices.load(name)
    assert d.monitors and set(d.monitors) <= set(monitors.names()), "unknown monitor in %s" % name
    for fw, img in d.frameworks.items():
        assert img.image.startswith("edgebench-%s-" % name), (name, fw, img.image)
        assert set(img.placements) <= PLACEMENTS
    if d.kind == "board":
        assert d.memory_mb and d.cpu_cores and d.detect.model and d.detect.compatible, name
        assert d.price_usd and d.price_source, "P2's cost-performance needs a price for %s" % name


def test_known_monitors_match_the_suite_registry() -> None:
    assert set(devices.KNOWN_MONITORS) == set(monitors.names())


def test_jetsons_carry_their_l4t_release_and_power_modes() -> None:
    nano = devices.load("jetson-nano")
    assert nano.l4t is not None and (nano.l4t.release, nano.l4t.jetpack, nano.l4t.tensorrt) == ("32.6.1", "4.6",
                                                                                                   "8.0.1")
    assert nano.l4t.accepts("32.6.1") and not nano.l4t.accepts("32.7.1")
    # P3's settings: Nano mode 0 (10 W), TX2 mode 0 (MaxN), Xavier NX mode 2 (15 W).
    assert (nano.default_power_mode().id, nano.default_power_mode().watts) == (0, 10)
    assert devices.load("jetson-tx2").power_modes[0].name == "MAXN"
    nx = {m.id: m for m in devices.load("jetson-xavier-nx").power_modes}
    assert nx[2].watts == 15
    orin = devices.load("jetson-orin-nano")
    assert orin.l4t.accepts("36.4.3") and not orin.l4t.accepts("35.4.1")
    for name in ("jetson-nano", "jetson-tx2", "jetson-xavier-nx", "jetson-orin-nano"):
        d = devices.load(name)
        assert d.container.runtime == "nvidia" and "/run/jtop.sock:/run/jtop.sock" in d.container.mounts


def test_coral_usb_attaches_to_a_host() -> None:
    d = devices.load("rpi4+coral-usb")
    assert (d.name, d.arch, d.memory_mb) == ("rpi4+coral-usb", "arm64", 8192)
    assert "edgetpu" in d.placements("tflite") and "cpu" in d.placements("tflite")
    assert d.frameworks["tflite"].image == "edgebench-coral-usb-tflite"
    assert "onnxruntime" in d.frameworks  # the host's own frameworks stay
    assert "/dev/bus/usb:/dev/bus/usb" in d.container.mounts and "c 189:* rmw" in d.container.device_cgroup_rules
    assert d.price_usd == pytest.approx(75 + 59.99)
    assert "18d1:9302" in d.detect.usb_ids and "usb" in d.monitors
    amd = devices.load("host-cuda+coral-usb")
    assert amd.arch == "amd64" and amd.container.gpus == "all"
    assert images.image_spec("rpi4+coral-usb", "tflite").arch == "arm64"
    assert images.image_spec("host-cpu+coral-usb", "tflite").arch == "amd64"


@pytest.mark.parametrize("name,needle", [("coral-usb+rpi4", "accelerator"), ("rpi4+rpi5", "not an accelerator"),
                                         ("rpi4+nosuch", "no device profile")])
def test_bad_composites_say_why(name: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle):
        devices.load(name)


def test_emulated_profile_keeps_images_and_drops_hardware() -> None:
    e = devices.load("rpi4+coral-usb@emulated")
    assert e.emulates == "rpi4+coral-usb" and e.name == "rpi4+coral-usb@emulated"
    assert all(img.placements == ["cpu"] for img in e.frameworks.values())
    assert e.container.mounts == [] and e.container.device_cgroup_rules == [] and e.price_usd is None
    assert e.frameworks["onnxruntime"].image == "edgebench-rpi4-onnxruntime"
    assert images.image_spec("rpi4@emulated", "onnxruntime").ref == images.image_spec("rpi4", "onnxruntime").ref
    # L4T images borrow the host's CUDA through the nvidia runtime even on the CPU: nothing to emulate.
    assert devices.load("jetson-nano@emulated").frameworks == {}


def test_plan_builds_for_derived_names(tmp_path: Path) -> None:
    m = tmp_path / "m.yaml"
    m.write_text("name: t\nfixed: {model: mobilenet_v3_small, framework: onnxruntime, iterations: 2}\n"
                 "axes: {batch_size: [1]}\n")
    p = plan.build(m, "rpi4@emulated")
    assert [r.spec.device for r in p.runs] == ["rpi4@emulated"]
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: t\nfixed: {model: mobilenet_v3_small, framework: onnxruntime, placement: cuda}\n")
    with pytest.raises(InputError, match="placement"):
        plan.build(bad, "rpi4@emulated")


def _write_profile(root: Path, name: str, text: str) -> None:
    (root / name).mkdir(parents=True)
    (root / name / "device.yaml").write_text(text)


BASE = "name: x\narch: arm64\n"


@pytest.mark.parametrize("body,key,line", [
    ("monitors: [psutil, watts]\n", "", 1),
    ("power_modes:\n  - {id: 0, name: A, default: true}\n  - {id: 1, name: B, default: true}\n", "", 1),
    ("l4t: {release: r32.6, jetpack: '4.6', cuda: '10.2', cudnn: '8', tensorrt: '8', python: '3.6', "
     "ubuntu: '18.04'}\n", "l4t.release", 3),
    ("power_modes:\n  - {id: -1, name: A}\n", "power_modes[0].id", 4),
    ("container: {runtime: nvidia, gpu: all}\n", "container.gpu", 3),
    ("kind: accelerator\n", "", 1),
])
def test_bad_profile_names_file_key_and_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, key: str,
                                             line: int) -> None:
    monkeypatch.setattr(devices, "IMAGES_DIR", tmp_path)
    _write_profile(tmp_path, "x", BASE + body)
    with pytest.raises(InputError) as e:
        devices.load("x")
    assert e.value.file.endswith("x/device.yaml") and e.value.key == key and e.value.line == line, str(e.value)


def test_profile_name_must_match_its_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices, "IMAGES_DIR", tmp_path)
    _write_profile(tmp_path, "y", BASE)
    with pytest.raises(InputError, match="folder name"):
        devices.load("y")
