"""The versions lock, Dockerfile build arguments, content-hash tags and the P1 sweep presets."""

import os
import re
import subprocess
from pathlib import Path

import pytest
from edgebench.cli import images, matrix, plan
from edgebench.cli.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
MY_DOCKERFILES = [ROOT / "images/host-cpu/onnxruntime.Dockerfile", ROOT / "images/host-cpu/torch.Dockerfile",
                  ROOT / "images/rpi4/onnxruntime.Dockerfile"]


def test_lock_reads_names_and_versions() -> None:
    lock = images.read_lock()
    assert lock["ONNXRUNTIME_VERSION"].count(".") == 2
    assert all(re.match(r"^[A-Z][A-Z0-9_]*$", k) for k in lock)


@pytest.mark.parametrize("text, line, key", [
    ("A_VERSION=1\nbad line\n", 2, "bad line"),
    ("# c\nA_VERSION=1\nA_VERSION=2\n", 3, "A_VERSION"),
    ("lower=1\n", 1, "lower"),
    ("EMPTY=\n", 1, "EMPTY"),
])
def test_lock_errors_name_file_line_and_key(tmp_path: Path, text: str, line: int, key: str) -> None:
    path = tmp_path / "versions.lock"
    path.write_text(text)
    with pytest.raises(InputError) as e:
        images.read_lock(path)
    assert e.value.line == line and e.value.key == key and e.value.file == str(path)


def test_lock_allows_comments_after_values(tmp_path: Path) -> None:
    path = tmp_path / "versions.lock"
    path.write_text("# header\n\nNUMPY_VERSION=2.4.6  # why this one\n")
    assert images.read_lock(path) == {"NUMPY_VERSION": "2.4.6"}


@pytest.mark.parametrize("dockerfile", MY_DOCKERFILES, ids=lambda p: "%s/%s" % (p.parent.name, p.name))
def test_every_install_is_pinned_from_the_lock(dockerfile: Path) -> None:
    text = dockerfile.read_text()
    args = images.lock_args(dockerfile, images.read_lock())
    assert "BASE_IMAGE" in images.declared_args(text)
    assert re.search(r"^FROM \$\{BASE_IMAGE\}$", text, re.M), "FROM must take ARG BASE_IMAGE"
    pins = re.findall(r'"([A-Za-z0-9_.-]+)==\$\{([A-Z0-9_]+)\}"', text)
    assert pins, "no pinned installs found"
    for _, arg in pins:
        assert arg in args, "%s is pinned from %s, which the lock does not set" % (dockerfile.name, arg)
    # Every requirement on a pip line is pinned with ==${ARG}; nothing floats.
    for block in re.findall(r"pip install(.*?)(?:&&|$)", text.replace("\\\n", " "), re.M):
        # options and option values ("${TORCH_INDEX_URL}") aside, every word is a requirement
        for w in (w for w in block.split() if not w.startswith(("-", '"${'))):
            assert "==${" in w, "unpinned install in %s: %s" % (dockerfile.name, w)


def test_a_declared_arg_missing_from_the_lock_is_named(tmp_path: Path) -> None:
    df = tmp_path / "x.Dockerfile"
    df.write_text("ARG BASE_IMAGE=x\nFROM ${BASE_IMAGE}\nARG NEW_RUNTIME_VERSION\nRUN echo $NEW_RUNTIME_VERSION\n")
    with pytest.raises(InputError) as e:
        images.lock_args(df, {"NUMPY_VERSION": "1"})
    assert e.value.key == "NEW_RUNTIME_VERSION"


def test_content_hash_follows_dockerfile_lock_values_and_suite(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "a.py").write_text("x = 1\n")
    (suite / "__pycache__").mkdir()
    df = tmp_path / "d.Dockerfile"
    df.write_text("FROM x\n")
    h0 = images.content_hash(df, {"A": "1"}, suite)
    (suite / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"junk")
    assert images.content_hash(df, {"A": "1"}, suite) == h0, "bytecode must not change the tag"
    assert images.content_hash(df, {"A": "2"}, suite) != h0
    (suite / "a.py").write_text("x = 2\n")
    h1 = images.content_hash(df, {"A": "1"}, suite)
    assert h1 != h0
    df.write_text("FROM y\n")
    assert images.content_hash(df, {"A": "1"}, suite) != h1


def test_host_only_artefacts_do_not_change_the_image_tag(tmp_path: Path) -> None:
    import shutil

    suite = tmp_path / "suite"
    shutil.copytree(images.SUITE_DIR, suite, ignore=shutil.ignore_patterns("__pycache__"))
    df = tmp_path / "d.Dockerfile"
    df.write_text("FROM x\n")
    h0 = images.content_hash(df, {}, suite)
    with (suite / "artefacts" / "export.py").open("a") as f:
        f.write("# a host-only converter edited\n")
    assert images.content_hash(df, {}, suite) == h0, "suite/artefacts/ is not in any image"
    with (suite / "backends" / "onnxruntime_backend.py").open("a") as f:
        f.write("# a backend edited\n")
    h1 = images.content_hash(df, {}, suite)
    assert h1 != h0
    with (suite / "nets" / "zoo.py").open("a") as f:
        f.write("# a net edited\n")
    assert images.content_hash(df, {}, suite) != h1
    rel = {str(p.relative_to(suite)) for p in images._suite_files(suite)}
    assert {"harness.py", "nets/zoo.py", "backends/base.py", "monitors/base.py"} <= rel
    assert not any(r.startswith("artefacts/") for r in rel)


def test_image_spec_of_a_profile() -> None:
    spec = images.image_spec("rpi4", "onnxruntime")
    assert spec.arch == "arm64" and spec.repository == "edgebench-rpi4-onnxruntime"
    assert re.match(r"^edgebench-rpi4-onnxruntime:\d+\.\d+\.\d+-[0-9a-f]{12}$", spec.ref)
    assert dict(spec.args)["ONNXRUNTIME_VERSION"] == images.read_lock()["ONNXRUNTIME_VERSION"]
    # the Pi 4 shares the Debian arm64 LiteRT Dockerfile with the Pi 5
    assert str(images.image_spec("rpi4", "tflite").dockerfile).endswith("rpi5/tflite.Dockerfile")
    with pytest.raises(InputError) as e:
        images.image_spec("rpi4", "nosuch")
    assert e.value.key == "frameworks" and "nosuch" in str(e.value)


def test_build_context_carries_dockerfile_suite_and_ca(tmp_path: Path) -> None:
    import tarfile

    ca = tmp_path / "ca.crt"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    spec = images.image_spec("host-cpu", "onnxruntime")
    with tarfile.open(fileobj=images.build_context(spec, ca_bundle=ca)) as tf:
        names = set(tf.getnames())
        assert tf.extractfile("build-ca.crt").read() == ca.read_bytes()  # type: ignore[union-attr]
    assert {"Dockerfile", "suite/__init__.py", "suite/harness.py", "suite/boundcheck.py", "suite/nets/zoo.py",
            "suite/backends/onnxruntime_backend.py", "suite/monitors/base.py"} <= names
    assert not any(n.startswith("suite/artefacts") for n in names), "host-only converters stay out of images"
    assert not any("__pycache__" in n for n in names)


def test_setup_script_is_valid_sh() -> None:
    assert subprocess.run(["sh", "-n", str(ROOT / "scripts/setup-docker.sh")]).returncode == 0


# ---- P1 presets --------------------------------------------------------------------------------------

def _p1_schedule(start: float, end: float, stages: int) -> list[float]:
    step = (end - start) / stages
    values = [start + i * step for i in range(stages + 1)]
    return values + values[-2::-1] + values[1:]


@pytest.mark.parametrize("name, start, end, stages, budget", [
    ("memory-sweep", 10, 510, 20, 510),
    ("memory-sweep-rpi4", 10, 510, 20, 510),
    ("memory-sweep-jetson-nano", 250, 1500, 50, 1500),
])
def test_p1_presets_are_p1s_schedule(name: str, start: float, end: float, stages: int, budget: float) -> None:
    m = matrix.load(ROOT / "matrices" / ("%s.yaml" % name))
    assert m.sweep is not None
    sw = m.sweep
    assert (sw.start_mb, sw.end_mb, sw.stages, sw.budget_mb) == (start, end, stages, budget)
    assert sw.swappiness == 10 and sw.settle_s == 10
    assert m.fixed.iterations == 10 and m.fixed.warmups == 1
    # P1's five repetitions at most, stopping from the third once the median's CI is within +-2.5 % (PTS)
    assert m.adaptive is not None and m.repetitions == m.adaptive.min_repetitions == 3
    assert (m.adaptive.max_repetitions, m.adaptive.ci_share) == (5, 0.025)
    pts = sw.points()
    assert [p[2] for p in pts] == pytest.approx(_p1_schedule(start, end, stages))
    assert [p[0] for p in pts] == ["ascending"] * (stages + 1) + ["descending"] * stages + ["ascending_again"] * stages
    assert pts[1][2] - pts[0][2] == 25  # both studies stepped by 25 MB


def test_rpi4_sweep_plan_limits_and_order() -> None:
    p = plan.build(ROOT / "matrices/memory-sweep-rpi4.yaml")
    first = [r for r in p.runs if r.spec.model == "mobilenet_v3_small" and r.spec.precision == "fp32"]
    assert len(first) == 61 * 3  # planned: the adaptive minimum; up to 5 run
    lim = first[0].spec.limits
    assert (lim.memory_mb, lim.memory_swap_mb, lim.swappiness, lim.swap_mb) == (10, 510, 10, 500)
    last = first[-1].spec.limits
    assert (last.memory_mb, last.swap_mb) == (510, 0)
    assert [r.spec.repetition for r in first[:4]] == [0, 1, 2, 0]
    assert first[0].spec.settle_s == 10 and first[0].spec.monitor_ready_s == 2 and first[0].spec.min_measure_s == 1
    assert len(p.runs) == 11 * 3 * 61 * 3


def test_emulated_cpuinfo_never_follows_a_planted_link(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The arm64 cpuinfo lives at a predictable name in the temp folder; a link planted there by anyone is
    replaced, never written through (the host runs this as root)."""
    import tempfile

    from edgebench.cli.images import emulated_cpuinfo

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    n = os.cpu_count() or 1
    (tmp_path / ("edgebench-cpuinfo-arm64-%d" % n)).symlink_to(victim)
    path = emulated_cpuinfo("arm64")
    assert victim.read_text() == "keep me"
    assert path.is_file() and not path.is_symlink() and path.read_text().count("processor\t:") == n
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["victim", path.name])
