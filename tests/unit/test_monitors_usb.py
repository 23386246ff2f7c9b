"""USB I/O per device: the usbmon text parser on the kernel documentation's own event lines
(tests/data/recordings/usbmon.txt, from torvalds/linux Documentation/usb/usbmon.rst), and the sysfs
inventory on a tree holding a Coral USB Accelerator's ids: 1a6e:089a "Global Unichip Corp." before
its firmware loads, 18d1:9302 "Google Inc." after (as reported in
https://github.com/google-coral/edgetpu/issues/536). This machine has no USB bus, so the tree is
built in a temporary folder with the files the kernel exposes."""

from pathlib import Path

from edgebench.suite import monitors
from edgebench.suite.monitors.usb_monitor import list_devices, parse_usbmon

REC = Path(__file__).resolve().parent.parent / "data" / "recordings" / "usbmon.txt"


def events() -> list[str]:
    return [ln for ln in REC.read_text().splitlines() if ln and not ln.startswith("#")]


def test_completions_count_their_actual_length_submissions_do_not() -> None:
    parsed = [parse_usbmon(ln) for ln in events()]
    assert parsed == [None, (1, 1, "in", 4), None, (1, 5, "out", 31)]


def test_lines_that_are_not_events_are_ignored() -> None:
    assert parse_usbmon("") is None
    assert parse_usbmon("ffff C Xx:1:002 0 4") is None


def _device(root: Path, name: str, **files: str) -> None:
    d = root / name
    d.mkdir(parents=True)
    for k, v in files.items():
        (d / k).write_text(v + "\n")


def test_inventory_lists_devices_with_link_speed_and_skips_hubs_and_interfaces(tmp_path: Path) -> None:
    _device(tmp_path, "usb2", busnum="2", devnum="1", idVendor="1d6b", idProduct="0003", speed="5000")
    _device(tmp_path, "2-1", busnum="2", devnum="3", idVendor="18d1", idProduct="9302", manufacturer="Google Inc.",
            speed="5000", version=" 3.10")
    _device(tmp_path, "1-1.2", busnum="1", devnum="5", idVendor="1a6e", idProduct="089a", speed="480",
            version=" 2.10")
    (tmp_path / "2-1:1.0").mkdir()
    devs = list_devices(str(tmp_path))
    assert [(d["id"], d["bus"], d["dev"], d["speed_mbps"]) for d in devs] == [
        ("1a6e:089a", 1, 5, 480.0), ("18d1:9302", 2, 3, 5000.0)]
    assert devs[1]["manufacturer"] == "Google Inc." and devs[1]["usb_version"] == "3.10"


def test_without_usb_or_usbmon_the_reason_says_what_is_missing() -> None:
    reason = monitors.probe("usb")
    if Path("/sys/kernel/debug/usb/usbmon/0u").exists():
        return  # a machine with usbmon: nothing is missing
    assert reason is not None and ("no USB bus" in reason or "usbmon" in reason)


def test_reader_and_sampler_count_bytes_per_device_and_direction(tmp_path: Path) -> None:
    import io

    from edgebench.suite.monitors.usb_monitor import UsbMonitor

    mon = UsbMonitor(0.1)
    mon._ids = {(1, 1): {"id": "1d6b:0002", "speed_mbps": 480.0, "product": "hub"},
                (1, 5): {"id": "0781:5567", "speed_mbps": 480.0, "product": "storage"}}
    recorded = ("\n".join(events()) + "\n").encode()
    mon._read_events(io.BytesIO(recorded * 3))  # the documented transfers, three times over
    mon._stop.set()
    mon._run()  # one snapshot per device, then the set stop ends the loop
    rows = {r["dev"]: r for r in mon.samples}
    assert rows[5]["usb_out_bytes"] == 93 and rows[5]["usb_in_bytes"] == 0
    assert rows[1]["usb_in_bytes"] == 12 and rows[1]["device"] == "1d6b:0002"
    agg = mon.aggregate()
    assert agg["usbmon_events"] == 6 and agg["devices"]["0781:5567@1.5"]["out_bytes"] == 93
