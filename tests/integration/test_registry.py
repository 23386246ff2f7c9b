"""Prebuilt images through a real registry, pinned by digest: Debian's docker-registry (distribution 2.8) on
127.0.0.1, started here with storage in a temporary folder (scripts/setup-registry.sh installs it; Docker
treats 127.0.0.0/8 as an insecure-allowed registry by default, so plain HTTP needs no daemon flag).

The image is the host-cpu ONNX Runtime image the Docker tests build, under a repository name of its own
(a host-cpu profile copy in EDGEBENCH_IMAGES_DIR naming edgebench-regtest-...): other helpers' and CI's tests
use the real name beside these, so "removed from the engine" means every tag and digest reference of the
regtest repository is removed (the layers stay, shared with the original tag; the pull still fetches and
verifies the manifest by digest from the registry).
"""

import dataclasses
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from edgebench.cli import image_transfer, images

from tests.conftest import ROOT, docker_ok, has_module, is_root, need
from tests.integration.test_docker_images import built

pytestmark = [pytest.mark.integration, pytest.mark.docker]

REPO = "edgebench-regtest-host-cpu-onnxruntime"
PREFIX = "eb"
EDGEBENCH = str(Path(sys.executable).parent / "edgebench")
MATRIX = """name: registry-pull
fixed: {model: mobilenet_v3_small, framework: onnxruntime, warmups: 1, iterations: 5, threads: 1, timeout_s: 300}
axes: {batch_size: [1]}
"""
CONFIG = """version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: %s}}
http: {addr: "127.0.0.1:%d"}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """HOST:PORT of a docker-registry serving from a temporary folder, stopped afterwards."""
    need(docker_ok(), "a Docker engine (sh scripts/setup-docker.sh)")
    if shutil.which("docker-registry") is None and is_root():
        subprocess.run(["sh", str(ROOT / "scripts/setup-registry.sh")], check=False)
    need(shutil.which("docker-registry") is not None, "docker-registry (sh scripts/setup-registry.sh, as root)")
    tmp = tmp_path_factory.mktemp("registry")
    port = free_port()
    (tmp / "config.yml").write_text(CONFIG % (tmp / "storage", port))
    with open(tmp / "registry.log", "wb") as log:
        proc = subprocess.Popen(["docker-registry", "serve", str(tmp / "config.yml")], stdout=log, stderr=log)
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/v2/" % port, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.2)
        else:
            pytest.fail("docker-registry did not answer: %s" % (tmp / "registry.log").read_text()[-2000:])
        yield "127.0.0.1:%d" % port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A host-cpu profile whose onnxruntime image is REPO (same Dockerfile, so the same content tag)."""
    root = tmp_path_factory.mktemp("images")
    shutil.copy2(ROOT / "images/versions.lock", root / "versions.lock")
    shutil.copytree(ROOT / "images/host-cpu", root / "host-cpu")
    prof = root / "host-cpu/device.yaml"
    prof.write_text(prof.read_text().replace("edgebench-host-cpu-onnxruntime", REPO))
    e = dict(os.environ, EDGEBENCH_IMAGES_DIR=str(root))
    e.pop("EDGEBENCH_REGISTRY", None)
    e.pop("EDGEBENCH_IMAGES_LOCK", None)
    return e


def edgebench(args: list[str], env: dict[str, str], cwd: Path, timeout: int = 1500) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EDGEBENCH, *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


def forget(cli: Any, remote: str, repo: str = REPO) -> None:
    """Every tag and digest reference of repo and its remote name; the original image keeps its own tag."""
    for img in cli.images.list():
        refs = [t for t in img.tags if t.rsplit(":", 1)[0] in (repo, remote)]
        refs += [d for d in img.attrs.get("RepoDigests") or [] if d.split("@")[0] in (repo, remote)]
        for ref in refs:
            try:
                cli.images.remove(ref)
            except Exception:  # another reference removed it with the same call
                pass


@pytest.fixture(scope="module")
def pushed(registry: str, env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The ORT image tagged REPO:TAG, pushed with `edgebench images push`, then removed from the engine."""
    need(has_module("torch") and has_module("onnx"), "torch and onnx (the model's ONNX export)")
    original = built("host-cpu", "onnxruntime")
    cli = images.client()
    work = tmp_path_factory.mktemp("work")
    lock = work / "images.lock"
    remote = "%s/%s/%s" % (registry, PREFIX, REPO)
    img = cli.images.get(original.ref)
    img.tag(REPO, original.tag)
    res = edgebench(["images", "push", "--registry", "%s/%s" % (registry, PREFIX), "--device", "host-cpu",
                     "--framework", "onnxruntime", "--lock", str(lock), "--json"], env, work, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    forget(cli, remote)
    info = {"registry": registry, "lock": lock, "remote": remote, "tag": original.tag, "id": img.id, "spec": original,
            "original": original.ref, "work": work, "made": []}
    yield info
    forget(cli, remote)
    for made in info["made"]:
        try:
            cli.images.remove(made, force=True)
        except Exception:  # already gone
            pass


def registry_digest(registry: str, tag: str) -> str:
    req = urllib.request.Request("http://%s/v2/%s/%s/manifests/%s" % (registry, PREFIX, REPO, tag), method="HEAD",
                                 headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return str(r.headers["Docker-Content-Digest"])


def bench(pushed: dict[str, Any], env: dict[str, str], out: Path, registry: str) -> subprocess.CompletedProcess[str]:
    out.mkdir()
    (out / "m.yaml").write_text(MATRIX)
    return edgebench(["bench", "--device", "host-cpu", "--runner", "docker", "--matrix", "m.yaml", "--results",
                      "results", "--registry", registry, "--lock", str(pushed["lock"]), "--json"], env, out)


def test_push_pins_the_registry_digest_and_image_id(pushed: dict[str, Any]) -> None:
    (entry,) = json.loads(pushed["lock"].read_text())["images"]
    assert (entry["device"], entry["framework"], entry["arch"]) == ("host-cpu", "onnxruntime", "amd64")
    assert entry["repository"] == REPO and entry["tag"] == pushed["tag"]
    assert entry["registry"] == "%s/%s" % (pushed["registry"], PREFIX)
    assert entry["digest"] == registry_digest(pushed["registry"], pushed["tag"]), "the registry's manifest digest"
    assert entry["image_id"] == pushed["id"]
    # `images lock` (images.yml after buildx bake --push) reads the same pins from the registry, pulling nothing.
    spec = dataclasses.replace(pushed["spec"], repository=REPO)
    (read,) = image_transfer.lock_from_registry(spec, images.client(), "%s/%s" % (pushed["registry"], PREFIX))
    assert (read.digest, read.image_id, read.arch) == (entry["digest"], entry["image_id"], "amd64")
    assert read.list_digest == ""
    assert images.find_image(images.client(), "%s:%s" % (REPO, pushed["tag"])) is None, "removed after the push"


def test_bench_pulls_by_digest_and_runs_ok(pushed: dict[str, Any], env: dict[str, str]) -> None:
    (entry,) = json.loads(pushed["lock"].read_text())["images"]
    res = bench(pushed, env, pushed["work"] / "ok", "%s/%s" % (pushed["registry"], PREFIX))
    assert res.returncode == 0, res.stderr[-3000:]
    assert "pulled %s@%s" % (pushed["remote"], entry["digest"]) in res.stderr
    camp = Path(json.loads(res.stdout)["campaign"])
    (run,) = [json.loads(p.read_text()) for p in camp.rglob("result.json") if "_report" not in p.parts]
    assert run["status"] == "ok"
    image = run["host"]["extra"]["image"]
    assert image["id"] == entry["image_id"]
    assert "%s@%s" % (pushed["remote"], entry["digest"]) in image["repo_digests"]
    assert image["lock"] == "matched the lock (digest %s and image ID)" % entry["digest"]
    assert "images.lock: matched the lock" in (camp / "_report" / "report.md").read_text()


def test_a_tag_repushed_with_other_contents_is_refused(pushed: dict[str, Any], env: dict[str, str]) -> None:
    cli = images.client()
    other = "%s:%s" % (pushed["remote"], pushed["tag"])
    dockerfile = ("FROM %s\nLABEL org.edgebench.test=repushed\n" % pushed["original"]).encode()
    img, _ = cli.images.build(fileobj=io.BytesIO(dockerfile), tag=other, pull=False, rm=True)
    pushed["made"].append(img.id)
    for chunk in cli.api.push(pushed["remote"], tag=pushed["tag"], stream=True, decode=True):
        assert "error" not in chunk, chunk
    forget(cli, pushed["remote"])  # so bench has to go to the registry
    (entry,) = json.loads(pushed["lock"].read_text())["images"]
    now_at = registry_digest(pushed["registry"], pushed["tag"])
    assert now_at != entry["digest"]
    out = pushed["work"] / "repushed"
    res = bench(pushed, env, out, "%s/%s" % (pushed["registry"], PREFIX))
    assert res.returncode == 1, res.stderr[-3000:]
    text = " ".join(res.stderr.split())
    assert "re-pushed" in text and now_at in text and entry["digest"] in text
    assert not list(out.rglob("result.json")), "nothing ran on a refused image"
    assert images.find_image(cli, "%s:%s" % (REPO, pushed["tag"])) is None, "the refused image is not tagged"


def test_a_missing_digest_says_which_and_how_to_build(pushed: dict[str, Any], env: dict[str, str]) -> None:
    (entry,) = json.loads(pushed["lock"].read_text())["images"]
    res = bench(pushed, env, pushed["work"] / "missing", "%s/nowhere" % pushed["registry"])
    assert res.returncode == 1
    text = " ".join(res.stderr.split())
    assert "cannot pull %s/nowhere/%s@%s" % (pushed["registry"], REPO, entry["digest"]) in text
    assert "BUILD=1" in text


def test_an_unreachable_registry_is_said_not_waited_on(pushed: dict[str, Any], env: dict[str, str]) -> None:
    port = free_port()  # nothing listens there
    (entry,) = json.loads(pushed["lock"].read_text())["images"]
    out = pushed["work"] / "unreachable"
    out.mkdir()
    (out / "m.yaml").write_text(MATRIX)
    res = edgebench(["bench", "--device", "host-cpu", "--runner", "docker", "--matrix", "m.yaml", "--results",
                     "results", "--lock", str(pushed["lock"])], dict(env, EDGEBENCH_REGISTRY="127.0.0.1:%d/eb" % port),
                    out, timeout=120)  # the hang guard: a hang fails the test by TimeoutExpired
    assert res.returncode == 1
    text = " ".join(res.stderr.split())
    assert "cannot pull 127.0.0.1:%d/eb/%s@%s" % (port, REPO, entry["digest"]) in text
    assert "connection refused" in text.lower()


def test_save_and_load_check_the_image_id(pushed: dict[str, Any], env: dict[str, str]) -> None:
    cli = images.client()
    ref = "%s:%s" % (REPO, pushed["tag"])
    cli.images.get(pushed["original"]).tag(REPO, pushed["tag"])  # the locked image (same ID)
    out = pushed["work"] / "airgap"
    res = edgebench(["images", "save", "--device", "host-cpu", "--framework", "onnxruntime", "--out", str(out),
                     "--lock", str(pushed["lock"])], env, pushed["work"], timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    tar = Path(res.stdout.strip().splitlines()[-1])
    side = json.loads(tar.with_suffix(".lock.json").read_text())
    (entry,) = json.loads(pushed["lock"].read_text())["images"]
    assert side == entry, "the lock entry travels beside the tarball"
    forget(cli, pushed["remote"])
    assert images.find_image(cli, ref) is None
    res = edgebench(["images", "load", str(tar)], env, pushed["work"], timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "matched the lock (image ID)" in res.stdout
    assert cli.images.get(ref).id == entry["image_id"]
    # A lock entry that pins another image: the load is refused and the tag not left for bench to run.
    tar.with_suffix(".lock.json").write_text(json.dumps(dict(side, image_id="sha256:" + "0" * 64)))
    res = edgebench(["images", "load", str(tar)], env, pushed["work"], timeout=600)
    assert res.returncode == 1
    text = " ".join(res.stderr.split())
    assert "refusing %s" % ref in text and entry["image_id"] in text and "0" * 64 in text
    assert images.find_image(cli, ref) is None


def test_two_arches_join_in_one_manifest_list(registry: str) -> None:
    """A device with several arches: one tag per arch, each locked, joined by `docker manifest` (no buildx)."""
    need(shutil.which("docker") is not None, "the docker CLI (docker manifest)")
    cli = images.client()
    multi = "edgebench-regtest-multiarch"
    entries = []
    try:
        for spec in (built("host-cpu", "onnxruntime"), built("rpi4", "onnxruntime")):
            mine = dataclasses.replace(spec, repository=multi, tag="t1-" + spec.arch)
            cli.images.get(spec.ref).tag(multi, mine.tag)
            entries.append(dataclasses.replace(image_transfer.push(mine, cli, "%s/%s" % (registry, PREFIX)), tag="t1"))
        joined = image_transfer.manifest_list(entries)
        req = urllib.request.Request("http://%s/v2/%s/%s/manifests/t1" % (registry, PREFIX, multi), headers={
            "Accept": "application/vnd.docker.distribution.manifest.list.v2+json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            body, digest = json.loads(r.read()), r.headers["Docker-Content-Digest"]
        assert {j.list_digest for j in joined} == {digest}
        got = {m["platform"]["architecture"]: m["digest"] for m in body["manifests"]}
        assert got == {e.arch: e.digest for e in entries} and set(got) == {"amd64", "arm64"}
        # Read back from the registry: one entry per arch, with its config digest (the image ID) and the list's.
        spec = dataclasses.replace(built("host-cpu", "onnxruntime"), repository=multi, tag="t1")
        read = {e.arch: e for e in image_transfer.lock_from_registry(spec, cli, "%s/%s" % (registry, PREFIX))}
        assert {a: (e.digest, e.image_id, e.list_digest) for a, e in read.items()} == {
            e.arch: (e.digest, e.image_id, digest) for e in entries}
    finally:
        forget(cli, "%s/%s/%s" % (registry, PREFIX, multi), multi)
