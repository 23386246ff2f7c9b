"""Images: the versions lock, offline Debian bases, builds tagged by content, listing and in-image tests.

Everything goes through the Docker SDK. Bases are made without a registry: debootstrap writes a Debian
root filesystem, which is packed as a one-layer image archive (`docker save` format, with the right
architecture in its config) and loaded into the engine. Every Dockerfile takes `ARG BASE_IMAGE`, so the
same file builds FROM that local base or FROM a registry image.
"""

import datetime
import hashlib
import io
import json
import os
import platform
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from edgebench.suite import __version__
from edgebench.suite.fsutil import sha256_file

from . import devices
from .errors import InputError

ROOT = devices.ROOT
IMAGES_DIR = devices.IMAGES_DIR
LOCK_FILE = IMAGES_DIR / "versions.lock"
SUITE_DIR = ROOT / "suite"
# suite/ sub-packages that never run inside a device image (host-side converters and checks): left out of
# every build context, so of every image and its content hash; editing them retags no image.
HOST_ONLY = ("artefacts",)
BASE_REPO = "edgebench/base-debian12"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates")
ARCHES = ("amd64", "arm64")
# Build arguments filled in by the builder, not the lock (labels only: they do not change the hash).
META_ARGS = ("BASE_IMAGE", "EDGEBENCH_VERSION", "SOURCE_REVISION", "IMAGE_HASH")
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
MIB = float(1 << 20)  # image sizes: *_mb is MiB (README, Development: units)
_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?\s*$")
_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")

Log = Callable[[str], None]


class ImageError(RuntimeError):
    """A base or an image could not be made or used; the message says what to do."""


def _quiet(_: str) -> None:
    pass


# ---- the lock ----------------------------------------------------------------------------------------

def read_lock(path: Path = LOCK_FILE) -> dict[str, str]:
    """NAME=VERSION per line; comments with #. InputError names the file and line of a bad one."""
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(str(path), "", "cannot read the versions lock: %s" % e.strerror) from None
    out: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        name, sep, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not _NAME.match(name) or not value or " " in value:
            raise InputError(str(path), name or raw.strip(), "expected NAME=VERSION (NAME in capitals, "
                             "VERSION without spaces)", n)
        if name in out:
            raise InputError(str(path), name, "set twice (first value %r)" % out[name], n)
        out[name] = value
    return out


def declared_args(dockerfile_text: str) -> dict[str, Optional[str]]:
    """ARG names a Dockerfile declares, with their defaults (None when it has none)."""
    args: dict[str, Optional[str]] = {}
    for line in dockerfile_text.splitlines():
        m = _ARG.match(line)
        if m:
            args.setdefault(m.group(1), m.group(2))
    return args


def lock_args(dockerfile: Path, lock: dict[str, str], lock_path: Path = LOCK_FILE) -> dict[str, str]:
    """The build arguments a Dockerfile takes from the lock; every ARG without a default must be there."""
    declared = declared_args(dockerfile.read_text())
    missing = [a for a, d in declared.items() if a not in META_ARGS and a not in lock and d is None]
    if missing:
        raise InputError(str(lock_path), missing[0], "%s declares ARG %s but the lock does not set it"
                         % (dockerfile, ", ".join(missing)))
    return {a: lock[a] for a in declared if a in lock and a not in META_ARGS}


# ---- what an image is ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ImageSpec:
    device: str
    framework: str
    arch: str
    repository: str
    dockerfile: Path
    args: tuple[tuple[str, str], ...]  # from the lock, sorted
    tag: str
    base: Optional[str] = None  # the profile's FROM image, where it names one (e.g. an L4T base)

    @property
    def ref(self) -> str:
        return "%s:%s" % (self.repository, self.tag)


def base_ref(arch: str) -> str:
    return "%s:%s" % (BASE_REPO, arch)


def content_hash(dockerfile: Path, args: dict[str, str], suite_dir: Path = SUITE_DIR) -> str:
    """What decides an image's contents: its Dockerfile, the lock values it reads, and the suite files it
    carries (_suite_files: not suite/artefacts)."""
    h = hashlib.sha256()
    h.update(dockerfile.read_bytes())
    h.update(json.dumps(sorted(args.items())).encode())
    for path in _suite_files(suite_dir):
        h.update(str(path.relative_to(suite_dir)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:12]


def _suite_files(suite_dir: Path) -> list[Path]:
    """The suite files an image carries: every .py / py.typed except bytecode and the HOST_ONLY packages."""
    return sorted(p for p in suite_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix in (".py", ".typed") and p.relative_to(suite_dir).parts[0] not in HOST_ONLY)


def image_spec(device: str, framework: str, lock_path: Path = LOCK_FILE) -> ImageSpec:
    dev = devices.load(device)
    fw = dev.frameworks.get(framework) or dev.images.get(framework)  # a multi-runtime image by name too
    where = str(devices.profile_path(device))
    if fw is None:
        raise InputError(where, "frameworks", "device %s has no image for framework %r (it has: %s)"
                         % (device, framework, ", ".join(sorted(dev.frameworks)) or "none"))
    if not fw.dockerfile:
        raise InputError(where, "frameworks.%s.dockerfile" % framework, "no Dockerfile named, so it cannot be built")
    dockerfile = IMAGES_DIR / fw.dockerfile
    if not dockerfile.exists():
        raise InputError(where, "frameworks.%s.dockerfile" % framework, "%s does not exist" % dockerfile)
    args = lock_args(dockerfile, read_lock(lock_path), lock_path)
    tag = "%s-%s" % (__version__, content_hash(dockerfile, args))
    return ImageSpec(device, framework, dev.arch, fw.image, dockerfile, tuple(sorted(args.items())), tag,
                     getattr(fw, "base", None))


def buildable(device: str) -> list[str]:
    """Frameworks of a device whose profile names a Dockerfile that exists."""
    dev = devices.load(device)
    return [f for f, fw in sorted(dev.frameworks.items()) if fw.dockerfile and (IMAGES_DIR / fw.dockerfile).exists()]


# ---- the engine --------------------------------------------------------------------------------------

def client(timeout: int = 600) -> Any:
    """A Docker client from DOCKER_HOST & co. ssh:// uses paramiko when installed, else the ssh binary."""
    import docker

    host = os.environ.get("DOCKER_HOST", "")
    kwargs: dict[str, Any] = {"timeout": timeout}
    if host.startswith("ssh://"):
        import importlib.util

        kwargs["use_ssh_client"] = importlib.util.find_spec("paramiko") is None
    try:
        return docker.from_env(**kwargs)
    except docker.errors.DockerException as e:
        raise ImageError("no Docker engine answers (%s). Start one: `sh scripts/setup-docker.sh` (root), or set "
                         "DOCKER_HOST=ssh://user@device for a device's engine" % e) from None


def find_image(cli: Any, ref: str) -> Optional[Any]:
    import docker

    try:
        return cli.images.get(ref)
    except docker.errors.ImageNotFound:
        return None


def host_arch() -> str:
    m = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(m, m)


# One core as arm64 Linux lists it in /proc/cpuinfo (a Cortex-A72, the Raspberry Pi 4's core).
_ARM64_CORE = ("processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\n"
               "CPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\n"
               "CPU revision\t: 3\n\n")


def emulated_cpuinfo(arch: str) -> Path:
    """A world-readable /proc/cpuinfo for `arch`, one entry per host CPU (as /sys/devices/system/cpu says)."""
    n = os.cpu_count() or 1
    path = Path(tempfile.gettempdir()) / ("edgebench-cpuinfo-%s-%d" % (arch, n))
    text = "".join(_ARM64_CORE % i for i in range(n)) if arch == "arm64" else ""
    if path.is_symlink() or not path.is_file() or path.read_text() != text:
        # A new file of a random name (O_EXCL), renamed over the old: a link planted in /tmp is never followed.
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", dir=str(path.parent))
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, str(path))
    return path


def can_run_arch(arch: str) -> Optional[str]:
    """None when binaries of `arch` run on this host (natively or through QEMU's binfmt handler), else why."""
    if arch == host_arch():
        return None
    handler = {"arm64": "qemu-aarch64", "amd64": "qemu-x86_64"}.get(arch, "qemu-" + arch)
    if Path("/proc/sys/fs/binfmt_misc", handler).exists():
        return None
    return ("%s binaries cannot run on this %s host: no binfmt handler %s. Install qemu-user-static and "
            "binfmt-support (scripts/setup-docker.sh does both)" % (arch, host_arch(), handler))


# ---- offline bases -------------------------------------------------------------------------------------

@dataclass
class Made:
    """What a bootstrap or build produced, and what it cost."""

    ref: str
    id: str = ""
    cached: bool = False
    seconds: float = 0.0
    size_mb: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def bootstrap_base(arch: str, cli: Any, force: bool = False, log: Log = _quiet,
                   workdir: Optional[Path] = None, lock_path: Path = LOCK_FILE) -> Made:
    """A Debian base image (`edgebench/base-debian12:ARCH`) made by debootstrap, with no registry."""
    if arch not in ARCHES:
        raise InputError("--arch", "arch", "expected one of %s, got %r" % (", ".join(ARCHES), arch))
    ref = base_ref(arch)
    found = None if force else find_image(cli, ref)
    if found is not None:
        return Made(ref=ref, id=found.id, cached=True, size_mb=found.attrs.get("Size", 0) / MIB)
    debootstrap = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if os.path.exists("/usr/sbin/debootstrap")
                                                  else None)
    if debootstrap is None:
        raise ImageError("debootstrap is not installed: `apt-get install debootstrap` "
                         "(scripts/setup-docker.sh does it)")
    if os.geteuid() != 0:
        raise ImageError("debootstrap needs root (it creates device nodes and chroots); run as root")
    why = can_run_arch(arch)
    if why:
        raise ImageError(why)
    lock = read_lock(lock_path)
    release, mirror = lock.get("DEBIAN_RELEASE", "bookworm"), lock.get("DEBIAN_MIRROR", "http://deb.debian.org/debian")
    made = Made(ref=ref)
    t_all = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="edgebench-base-%s-" % arch, dir=str(workdir or "/var/tmp")))
    rootfs = tmp / "rootfs"
    try:
        cmd = [debootstrap, "--variant=minbase", "--arch=%s" % arch, "--include=%s" % ",".join(BASE_PACKAGES),
               release, str(rootfs), mirror]
        log("debootstrap %s %s (%s)" % (release, arch, mirror))
        t0 = time.monotonic()
        with open(tmp / "debootstrap.log", "wb") as out:
            rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT).returncode
        made.steps["debootstrap_s"] = time.monotonic() - t0
        if rc != 0:
            tail = (tmp / "debootstrap.log").read_text(errors="replace").strip().splitlines()[-8:]
            raise ImageError("debootstrap failed (exit %d):\n%s" % (rc, "\n".join(tail)))
        _umount_under(rootfs)
        _slim(rootfs)
        t0 = time.monotonic()
        archive = _save_archive(rootfs, tmp, arch, ref, {
            "org.opencontainers.image.title": "edgebench Debian %s base (%s)" % (release, arch),
            "org.opencontainers.image.version": release,
            "org.opencontainers.image.description": "debootstrap --variant=minbase --include=%s"
                                                    % ",".join(BASE_PACKAGES),
            "org.edgebench.debian.mirror": mirror,
        })
        made.steps["pack_s"] = time.monotonic() - t0
        t0 = time.monotonic()
        with open(archive, "rb") as f:
            for chunk in cli.api.load_image(f):
                if "error" in chunk:
                    raise ImageError("the engine refused the base image: %s" % chunk["error"])
        made.steps["load_s"] = time.monotonic() - t0
    finally:
        _umount_under(rootfs)
        shutil.rmtree(tmp, ignore_errors=True)
    img = find_image(cli, ref)
    if img is None:
        raise ImageError("the engine did not keep %s after loading it" % ref)
    made.id, made.size_mb, made.seconds = img.id, img.attrs.get("Size", 0) / MIB, time.monotonic() - t_all
    log("%s %s (%.0f MiB) in %.0f s" % (ref, img.id[:19], made.size_mb, made.seconds))
    return made


def _umount_under(path: Path) -> None:
    """debootstrap may leave proc/sys mounted after a failure; never delete through a mount."""
    prefix = str(path.resolve()) + "/"
    try:
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
    except OSError:
        return
    for mp in sorted((m for m in mounts if m.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], check=False, capture_output=True)


def _slim(rootfs: Path) -> None:
    """What a base does not need: package caches, manuals, translations (copyright notices stay)."""
    for sub in ("var/cache/apt/archives", "var/lib/apt/lists", "usr/share/man", "usr/share/locale", "usr/share/info"):
        d = rootfs / sub
        if d.is_dir():
            for p in d.iterdir():
                if p.is_dir() and not p.is_symlink():
                    shutil.rmtree(p, ignore_errors=True)
                elif p.name != "lock" and p.name != "partial":
                    p.unlink(missing_ok=True)
    doc = rootfs / "usr/share/doc"
    if doc.is_dir():
        for p in doc.rglob("*"):
            if p.is_file() and p.name != "copyright":
                p.unlink(missing_ok=True)


def _save_archive(rootfs: Path, tmp: Path, arch: str, ref: str, labels: dict[str, str]) -> Path:
    """A `docker save`-format archive of one layer; its config carries the architecture (docker import
    would label an arm64 root filesystem amd64 on an x86 host)."""
    layer = tmp / "layer.tar"

    def skip_nodes(ti: tarfile.TarInfo) -> Optional[tarfile.TarInfo]:
        # The engine gives every container its own /dev, /proc and /sys.
        parts = ti.name.split("/")
        if len(parts) > 2 and parts[1] in ("dev", "proc", "sys"):
            return None
        return ti

    with tarfile.open(layer, "w", format=tarfile.PAX_FORMAT) as tf:
        tf.add(str(rootfs), arcname=".", filter=skip_nodes)
    diff_id = sha256_file(str(layer))
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    config = {
        "architecture": arch, "os": "linux", "created": now,
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"],
                   "Cmd": ["/bin/bash"], "Labels": labels},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + diff_id]},
        "history": [{"created": now, "created_by": "edgebench images bootstrap-base --arch %s" % arch}],
    }
    cfg = json.dumps(config, sort_keys=True).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + ".json"
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": [ref], "Layers": [diff_id + "/layer.tar"]}]).encode()
    archive = tmp / "image.tar"
    with tarfile.open(archive, "w") as tf:
        tf.add(str(layer), arcname=diff_id + "/layer.tar")
        for name, data in ((cfg_name, cfg), ("manifest.json", manifest)):
            ti = tarfile.TarInfo(name)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    layer.unlink()
    return archive


# ---- builds --------------------------------------------------------------------------------------------

def source_revision() -> str:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


def build_context(spec: ImageSpec, suite_dir: Path = SUITE_DIR, ca_bundle: Path = HOST_CA) -> io.BytesIO:
    """The build context as a tar: the Dockerfile, the suite (less HOST_ONLY), and the host's CA bundle, which
    pip in the build uses to reach the package index (sites behind a TLS-inspecting proxy need it)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        tf.add(str(spec.dockerfile), arcname="Dockerfile")
        for path in _suite_files(suite_dir):
            tf.add(str(path), arcname="suite/" + str(path.relative_to(suite_dir)))
        ca = ca_bundle.read_bytes() if ca_bundle.is_file() else b""
        ti = tarfile.TarInfo("build-ca.crt")
        ti.size, ti.mode = len(ca), 0o644
        tf.addfile(ti, io.BytesIO(ca))
    buf.seek(0)
    return buf


def build(spec: ImageSpec, cli: Any, base: Optional[str] = None, force: bool = False, log: Log = _quiet) -> Made:
    """Build spec.ref unless the engine has it (same tag = same Dockerfile, lock values and suite)."""
    found = None if force else find_image(cli, spec.ref)
    if found is not None:
        return Made(ref=spec.ref, id=found.id, cached=True, size_mb=found.attrs.get("Size", 0) / MIB)
    base = base or spec.base or base_ref(spec.arch)
    if find_image(cli, base) is None:
        if base.startswith(BASE_REPO + ":"):
            raise ImageError("base image %s is missing: make it with `edgebench images bootstrap-base --arch %s` "
                             "(or pass --base IMAGE from a registry, e.g. python:3.11-slim-bookworm)"
                             % (base, spec.arch))
        raise ImageError("base image %s is not in the engine; pull or load it first" % base)
    why = can_run_arch(spec.arch)
    if why:
        raise ImageError(why)
    args = dict(spec.args)
    args.update({"BASE_IMAGE": base, "EDGEBENCH_VERSION": __version__, "SOURCE_REVISION": source_revision(),
                 "IMAGE_HASH": spec.tag})
    log("building %s FROM %s" % (spec.ref, base))
    t0 = time.monotonic()
    stream = cli.api.build(fileobj=build_context(spec), custom_context=True, tag=spec.ref, buildargs=args,
                           network_mode="host", rm=True, forcerm=True, decode=True, pull=False)
    _follow(stream, log)
    img = find_image(cli, spec.ref)
    if img is None:
        raise ImageError("the build of %s ended without an image" % spec.ref)
    img.tag(spec.repository, "latest")
    made = Made(ref=spec.ref, id=img.id, seconds=time.monotonic() - t0, size_mb=img.attrs.get("Size", 0) / MIB)
    log("%s %s (%.0f MiB) in %.0f s" % (spec.ref, img.id[:19], made.size_mb, made.seconds))
    return made


def _follow(stream: Iterator[dict[str, Any]], log: Log) -> None:
    tail: list[str] = []
    for chunk in stream:
        if "error" in chunk:
            raise ImageError("%s\nbuild failed: %s" % ("\n".join(tail[-15:]), chunk["error"].strip()))
        text = (chunk.get("stream") or "").rstrip()
        if text:
            tail.append(text)
            log(text)


# ---- listing and in-image tests ---------------------------------------------------------------------

def list_images(cli: Any) -> list[dict[str, Any]]:
    """Every edgebench image in the engine, with size, architecture and whether a profile uses it now."""
    current: dict[str, tuple[str, str]] = {}
    for dev in devices.names():
        for fw in buildable(dev):
            try:
                s = image_spec(dev, fw)
            except InputError:
                continue
            current[s.ref] = (dev, fw)
    rows = []
    for img in cli.images.list():
        tags = [t for t in img.tags if t.split("/")[-1].startswith("edgebench") or t.startswith(BASE_REPO)]
        if not tags:
            continue
        labels = img.attrs.get("Config", {}).get("Labels") or {}
        used = [current[t] for t in tags if t in current]
        rows.append({"tags": sorted(tags), "id": img.id, "size_mb": round(img.attrs.get("Size", 0) / MIB, 1),
                     "arch": img.attrs.get("Architecture"), "created": img.attrs.get("Created"),
                     "current_for": ["%s/%s" % u for u in used],
                     "revision": labels.get("org.opencontainers.image.revision")})
    return sorted(rows, key=lambda r: r["tags"][0])


PROBE_TIMEOUT_S = 180
# Run inside the image: the runtime imports and reports its versions through the suite's own backend.
_PROBE = ("import json, sys; from edgebench.suite import backends; from edgebench.suite.spec import RunSpec; "
          "fw = sys.argv[1]; b = backends.get(fw)(RunSpec(model='probe', framework=fw)); "
          "print(json.dumps({'python': sys.version.split()[0], 'versions': b.versions()}))")


def probe(spec: ImageSpec, cli: Any) -> dict[str, Any]:
    """Import the runtime inside the image (no network, read-only, non-root) and return its versions."""
    img = find_image(cli, spec.ref)
    if img is None:
        raise ImageError("%s is not in the engine; build it: edgebench images build --device %s --framework %s"
                         % (spec.ref, spec.device, spec.framework))
    binds = []
    if img.attrs.get("Architecture") == "arm64" and host_arch() != "arm64":
        binds.append("%s:/proc/cpuinfo:ro" % emulated_cpuinfo("arm64"))  # see DockerRunner: QEMU's view
    c = cli.containers.create(spec.ref, ["python", "-c", _PROBE, spec.framework], network_mode="none",
                              read_only=True, user="65534:65534", security_opt=["no-new-privileges"],
                              volumes=binds,  # /tmp as in a run's container: TensorFlow's import needs a temp dir
                              tmpfs={"/tmp": "rw,nosuid,nodev,size=64m"})
    import requests

    try:
        c.start()
        try:
            code = c.wait(timeout=PROBE_TIMEOUT_S).get("StatusCode")
        except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
            raise ImageError("%s: importing the %s runtime did not finish in %d s (a crash under QEMU hangs "
                             "like this)" % (spec.ref, spec.framework, PROBE_TIMEOUT_S)) from None
        out = c.logs(stdout=True, stderr=False).decode(errors="replace").strip()
        err = c.logs(stdout=False, stderr=True).decode(errors="replace").strip()
    finally:
        c.remove(force=True)
    if code != 0:
        raise ImageError("%s: the %s runtime does not import (exit %s):\n%s" % (spec.ref, spec.framework, code,
                                                                              err[-2000:]))
    data = json.loads(out.splitlines()[-1])
    data.update({"image": spec.ref, "id": img.id, "arch": img.attrs.get("Architecture")})
    return data  # type: ignore[no-any-return]
