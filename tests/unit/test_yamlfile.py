"""The YAML loader's refusals, the path rules and the runner checks, in-process."""

import shutil
from pathlib import Path

import pytest
from edgebench.cli import devices, matrix, paths, plan, yamlfile
from edgebench.cli.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
CELL = "fixed: {model: resnet18, framework: onnxruntime, iterations: 2}\n"


def load_error(tmp_path: Path, text: "str | bytes") -> InputError:
    p = tmp_path / "f.yaml"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(InputError) as info:
        yamlfile.load(p)
    return info.value


def test_plain_files_load_as_before(tmp_path: Path) -> None:
    p = tmp_path / "f.yaml"
    p.write_text("a: 1\nb: [x, {c: d}]\n")
    data, node = yamlfile.load(p)
    assert data == {"a": 1, "b": ["x", {"c": "d"}]}
    assert yamlfile.line_of(node, ["b", 1, "c"]) == 2
    p.write_text("")
    assert yamlfile.load(p) == (None, None)


def test_aliases_and_merge_keys_within_the_limit_are_fine(tmp_path: Path) -> None:
    p = tmp_path / "f.yaml"
    p.write_text("base: &b {x: 1, y: 2}\nc: {<<: *b, x: 3}\nd: [*b, *b]\n")
    data, _ = yamlfile.load(p)
    assert data["c"] == {"x": 3, "y": 2} and data["d"] == [{"x": 1, "y": 2}] * 2


def test_expanded_size_is_counted_on_the_graph(tmp_path: Path) -> None:
    p = tmp_path / "f.yaml"
    p.write_text("a: &a [1, 2, 3]\nb: [*a, *a]\n")
    loader = yamlfile._Loader(p.read_text())
    node = loader.get_single_node()
    # root + key a + [1,2,3] (4) + key b + [*a, *a] (1 + 2 * 4)
    assert yamlfile.check_nodes(node, p, loader) == 1 + 1 + 4 + 1 + 9
    with pytest.raises(InputError, match="past the limit of 10"):
        yamlfile.check_nodes(node, p, loader, max_nodes=10)
    loader.dispose()


@pytest.mark.parametrize("text, line, words", [
    ("a: 1\nb: 2\na: 3\n", 3, ["a:", "lines 1 and 3"]),
    ("x:\n  - {k: 1, k: 2}\n", 2, ["x[0].k:", "twice"]),
    ("{1: a, 0x1: b}\n", 1, ["twice"]),  # the same int spelled twice
    ("a: &x [1, *x]\n", 1, ["a[1]:", "recursive alias"]),
    ("a: " + "[" * 80 + "]" * 80 + "\n", 1, ["nested more than 64"]),
    ("a: b\nc: d\x07\n", 2, ["control characters"]),
    (b"a: 1\n# \xff\xfe\n", 2, ["byte 7 (0xff) is not UTF-8"]),
    ("a: [unclosed\n", 2, ["not valid YAML"]),
])
def test_refusals_name_the_line(tmp_path: Path, text: "str | bytes", line: int, words: list[str]) -> None:
    e = load_error(tmp_path, text)
    assert e.line == line, str(e)
    for w in words:
        assert w in str(e), str(e)


def test_size_limit_reads_no_more_than_the_limit(tmp_path: Path) -> None:
    p = tmp_path / "f.yaml"
    p.write_text("a: '%s'\n" % ("x" * 100))
    with pytest.raises(InputError, match="106 bytes, past the limit of 50"):
        yamlfile.read_text(p, limit=50)
    assert yamlfile.read_text(p, limit=200).startswith("a: 'x")


def test_repo_files_are_far_inside_the_limits() -> None:
    files = sorted(ROOT.glob("matrices/*.yaml")) + sorted(ROOT.glob("images/*/device.yaml"))
    assert files
    for f in files:
        text = yamlfile.read_text(f)
        assert len(text.encode()) < yamlfile.MAX_BYTES // 100, f
        loader = yamlfile._Loader(text)
        assert yamlfile.check_nodes(loader.get_single_node(), f, loader) < yamlfile.MAX_NODES // 100, f
        loader.dispose()


def test_device_profiles_refuse_duplicate_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(ROOT / "images" / "host-cpu", tmp_path / "host-cpu")
    prof = tmp_path / "host-cpu" / "device.yaml"
    prof.write_text(prof.read_text() + "name: host-cpu\n")
    monkeypatch.setattr(devices, "IMAGES_DIR", tmp_path)
    devices.load.cache_clear()
    try:
        with pytest.raises(InputError) as info:
            devices.load("host-cpu")
    finally:
        devices.load.cache_clear()
    assert str(info.value).startswith("%s:" % prof) and "name" in str(info.value) and "twice" in str(info.value)


@pytest.mark.parametrize("name, ok", [
    ("smoke", True), ("p1-rpi4+coral-usb", True), ("a.b_c-1", True), ("x" * 100, True),
    ("", False), (".", False), ("..", False), ("../x", False), ("/abs", False), ("a/b", False), (".hidden", False),
    ("x" * 101, False), ("a b", False), ("a\nb", False), ("é", False),
])
def test_campaign_names(name: str, ok: bool) -> None:
    assert (paths.name_problem(name) == "") == ok


def test_campaign_dir_stays_inside(tmp_path: Path) -> None:
    root = tmp_path / "results"
    root.mkdir()
    assert paths.campaign_dir(root, "c") == root / "c"
    (root / "inner").mkdir()
    (root / "alias").symlink_to(root / "inner")  # a link inside the root is fine
    assert paths.campaign_dir(root, "alias") == root / "alias"
    (root / "out").symlink_to(tmp_path)
    with pytest.raises(InputError, match="outside the results root"):
        paths.campaign_dir(root, "out")
    (root / "dangling").symlink_to(tmp_path / "missing")
    with pytest.raises(InputError, match="outside the results root"):
        paths.campaign_dir(root, "dangling")
    with pytest.raises(InputError, match="^--campaign: '../x' is not a campaign name"):
        paths.campaign_dir(root, "../x")


def test_system_folders(tmp_path: Path) -> None:
    for p in ("/", "/var", "/var/run", "/run/user", "/etc", "/sys/fs", "/root", "/home", "/tmp", "/var/lib/docker"):
        assert paths.system_problem(Path(p)), p
    for p in (str(tmp_path), "/root/datasets/val", "/home/pi/images", "/mnt/data", "/opt/imagenet"):
        assert paths.system_problem(Path(p)) == "", p


def test_folder_walk_is_bounded(tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / ("%d.png" % i)).write_bytes(b"x")
    assert paths.folder_problem(tmp_path) == ""
    assert "more than 3 entries" in paths.folder_problem(tmp_path, limit=3)


def _plan(tmp_path: Path, text: str) -> plan.Plan:
    p = tmp_path / "m.yaml"
    p.write_text(text)
    return plan.build(p)


@pytest.mark.parametrize("text, key, line", [
    ("include:\n  - {model: resnet18, framework: onnxruntime, memory_mb: 64}\n"
     "  - {model: resnet18, framework: onnxruntime, memory_mb: 4}\n", "include[1].memory_mb", 5),
    ("axes:\n  memory_mb: [64, 5.5]\n", "axes.memory_mb[1]", 4),
    ("fixed: {model: resnet18, framework: onnxruntime, memory_mb: 3}\n", "fixed.memory_mb", 2),
    ("sweep: {start_mb: 4, end_mb: 104, stages: 4, budget_mb: 200}\n", "sweep.start_mb", 3),
])
def test_docker_memory_minimum_at_plan_time(tmp_path: Path, text: str, key: str, line: int) -> None:
    body = "name: t\n" + ("" if text.startswith("fixed") else CELL) + text
    p = _plan(tmp_path, body)
    plan.check_for_runner(p, "local")  # a cgroup takes any limit (a tiny one is an OOM test)
    with pytest.raises(InputError) as info:
        plan.check_for_runner(p, "docker")
    e = info.value
    assert e.key == key and e.line == line and "below Docker's minimum memory limit of 6 MiB" in str(e), str(e)


def test_docker_memory_at_the_minimum_and_pi_sweeps_pass(tmp_path: Path) -> None:
    plan.check_for_runner(_plan(tmp_path, "name: t\n" + CELL + "axes:\n  memory_mb: [6, 64]\n"), "docker")
    sweep = "sweep: {start_mb: 10, end_mb: 510, stages: 20, budget_mb: 510}\n"  # P1 on the Pi
    plan.check_for_runner(_plan(tmp_path, "name: t\n" + CELL + sweep), "docker")
    for path in ROOT.glob("matrices/*.yaml"):  # the studies' own limits (read, not planned: P1's are 10^4 runs)
        m = matrix.load(path)
        mems = [c.memory_mb for c in [m.fixed, *m.include]] + list(m.axes.get("memory_mb", []))
        mems += [m.sweep.start_mb] if m.sweep else []
        assert all(x is None or x >= plan.DOCKER_MIN_MEMORY_MB for x in mems), path


def test_size_bound_counts_every_source(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text("name: t\n" + CELL + "repetitions: 2\naxes:\n  batch_size: [1, 2, 3]\n  threads: [1, 2]\n"
                 "include:\n  - {batch_size: 9}\nsweep: {start_mb: 10, end_mb: 20, stages: 1, budget_mb: 30}\n")
    m = matrix.load(p)
    n, how = plan.count_runs(m)
    pts = len(m.sweep.points()) if m.sweep else 0
    assert n == (3 * 2 + 1) * pts * 2 == len(plan.build(p).runs)
    assert how == "(3 batch_size x 2 threads + 1 include) x %d sweep points x 2 repetitions" % pts


def test_size_bound_needs_no_expansion(tmp_path: Path) -> None:
    p = tmp_path / "m.yaml"
    p.write_text("name: t\n" + CELL + "exclude: [{seed: 1}]\n"
                 "sweep: {start_mb: 10, end_mb: 20, stages: 1000000000000, budget_mb: 30}\n")
    n, how = plan.count_runs(matrix.load(p))  # Sweep.points() would build 3 * 10^12 points
    assert n == 3 * 10**12 + 1 and "exclude rules not subtracted" in how
    p.write_text("name: t\n" + CELL + "repetitions: 2\nadaptive: {max_repetitions: 50}\n")
    assert plan.count_runs(matrix.load(p)) == (50, "fixed x 50 adaptive repetitions")
