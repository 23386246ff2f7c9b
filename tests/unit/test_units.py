"""The units rule (README, Development): every `*_mb` field holds MiB (2**20 bytes); sizes in bytes are
`*_bytes`; decimal megabytes appear only as `*_mb_decimal`. Checked on what the code writes (a real
artefact manifest, the memory-bound verdict) and on its source, and old manifests are read in today's names."""

import json
import re
from pathlib import Path
from typing import Any

import pytest
from edgebench.cli import artifacts
from edgebench.suite import boundcheck
from edgebench.suite.artefacts.export import _manifest

ROOT = Path(__file__).resolve().parents[2]
MIB = 2 ** 20


def violations(obj: Any, where: str = "") -> list[str]:
    """Every `X_mb` beside an `X_bytes` that is not bytes / 2**20, and every `X_mb_decimal` that is not
    bytes / 10**6, anywhere in a JSON-like value."""
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            stem = k[:-len("_mb_decimal")] if k.endswith("_mb_decimal") else k[:-3] if k.endswith("_mb") else None
            raw = obj.get("%s_bytes" % stem) if stem else None
            if isinstance(v, (int, float)) and isinstance(raw, (int, float)):
                want = raw / 1e6 if k.endswith("_mb_decimal") else raw / MIB
                if v != pytest.approx(want, abs=0.05):
                    out.append("%s%s = %s, not %s" % (where, k, v, want))
            out += violations(v, "%s%s." % (where, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += violations(v, "%s%d." % (where, i))
    return out


def test_the_checker_catches_decimal_megabytes_under_a_mb_name() -> None:
    assert violations({"size_bytes": 3_000_000, "size_mb": 3.0}) == ["size_mb = 3.0, not 2.86102294921875"]
    assert violations({"a": [{"x_bytes": MIB, "x_mb": 1.0, "x_mb_decimal": 1.048576}]}) == []


def test_an_artefact_manifest_follows_the_rule(tmp_path: Path) -> None:
    f = tmp_path / "model.onnx"
    f.write_bytes(b"\0" * 3_000_000)  # 3 MB decimal, 2.86 MiB: the two cannot be confused
    man = _manifest("resnet18", "onnx", str(f), (3, 224, 224), 1000, 0, 11_689_512)
    man["size_mb"] = man["size_mib"]  # what the rule allows under a _mb name
    assert violations(man) == []
    assert man["size_mib"] == pytest.approx(2.861, abs=1e-3) and man["size_mb_decimal"] == 3.0
    assert not any(k.endswith("_mb") for k in _manifest("resnet18", "onnx", str(f), (3, 224, 224), 1000, 0, 1))


def test_an_old_manifest_is_read_in_todays_names(tmp_path: Path) -> None:
    # As written before the rule: size_mb held decimal MB (top level and in derived_from).
    art = artifacts.Artifact("onnx", "resnet18", (3, 224, 224), 1000, 0, "fp16")
    folder = tmp_path / art.key
    folder.mkdir()
    (folder / "model.onnx").write_bytes(b"x")
    old = {"size_bytes": 3_000_000, "size_mb": 3.0, "size_mib": 3_000_000 / MIB, "file": "model.onnx",
           "derived_from": {"size_bytes": 6_000_000, "size_mb": 6.0}}
    (folder / "manifest.json").write_text(json.dumps(old))
    for man in (artifacts.manifest(tmp_path, art), artifacts.cached(tmp_path)[0]):
        assert man is not None and "size_mb" not in man and man["size_mb_decimal"] == 3.0
        assert man["derived_from"] == {"size_bytes": 6_000_000, "size_mb_decimal": 6.0}
        assert violations(man) == []


def test_the_memory_verdict_reports_mib() -> None:
    before = {"cgroup_usage_bytes": 100 * MIB, "nvmap_pid_bytes": 0}
    after = {"cgroup_usage_bytes": 300 * MIB, "cgroup_limit_bytes": 512 * MIB, "cgroup_peak_bytes": 350 * MIB,
             "nvmap_pid_bytes": 64 * MIB}
    out = boundcheck.check(before, after, "cuda", unified=True)
    assert (out["limit_mb"], out["cgroup_delta_mb"], out["cgroup_peak_mb"], out["escaped_mb"]) == (512, 200, 350, 64)
    assert out["total_used_mb"] == 414


def test_no_source_divides_bytes_by_a_million_into_a_mb_name() -> None:
    # A `_mb` name (not `_mb_decimal`) on a line that divides by 1e6 is decimal MB under a MiB name.
    bad = re.compile(r"\w+_mb\b.*\b1e6\b|\b1e6\b.*\w+_mb\b")
    hits = ["%s:%d: %s" % (p.relative_to(ROOT), i, line.strip())
            for part in ("suite", "cli") for p in sorted((ROOT / part).rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if bad.search(line)]
    assert hits == []
