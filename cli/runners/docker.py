"""Docker runner: each run in a fresh container of its device x framework image, under the cell's limits.

create -> start -> wait (our own timeout) -> inspect -> OOM evidence -> logs -> results -> remove, the
container always removed (errors and Ctrl-C too). The OOM verdict comes from the container's own memory
cgroup, watched while it lives (runc deletes the cgroup as soon as the task exits), and from the kernel's
log line that names the container's cgroup; Docker's OOMKilled flag alone is only used, and marked
unconfirmed, when neither can be read (a remote engine). Exit code 137 without that evidence is `killed`.

Local engines get bind mounts (spec read-only, results folder read-write, models read-only); remote
engines (DOCKER_HOST=ssh://...) cannot see this machine's folders, so the spec and the run's model go in
and the results come back through a per-run volume and the archive API ("copy" transfer).
"""

import json
import os
import shlex
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Optional

from edgebench.suite.fsutil import write_bytes, write_json
from edgebench.suite.spec import RunResult, RunSpec

from .. import devices, image_lock, images, multi_image
from ..images import emulated_cpuinfo  # lives beside host_arch now
from . import outputs, record
from .base import MIB, Fate, docker_swap_total, finalize, swap_problems
from .docker_files import (
    ATTEMPT,
    CAMPAIGN_DIR,
    ENGINES_AT,
    LABEL,
    VOLUME_AT,
    _capped,
    _extract_out,
    _give,
    _inputs_tar,
    _remove,
    _share,
    engines_dir,
)
from .docker_files import IN_MODELS as IN_MODELS  # re-exported: replay.py and reap.py import them from here
from .docker_files import IN_SPEC as IN_SPEC
from .docker_files import OUT as OUT
from .docker_files import TOKEN as TOKEN
from .docker_process import process_env, process_record, with_process
from .docker_watch import CgroupWatch, KernelLog
from .docker_watch import kernel_lines_for as kernel_lines_for

# Tasks (processes + threads) one container may hold. A runtime's thread pools are about 2-4 x cores
# (intra-op, inter-op, BLAS, allocator) plus the monitors' threads: ~200 on a 16-core host, ~1000 on a
# 64-core server at worst. 4096 leaves that room and still ends a fork bomb long before the host's own
# pid_max (4M) or the engine notices; `docker run --pids-limit` is the same knob.
PIDS_LIMIT = 4096
_STOP_GRACE_S = 5


class DockerRunner:
    name = "docker"

    def __init__(self, allow_no_swap: bool = False, client: Any = None, transfer: str = "auto",
                 image_tag: Optional[str] = None, tmpfs_mb: int = 256) -> None:
        self.allow_no_swap = allow_no_swap
        self._client = client
        self.transfer = os.environ.get("EDGEBENCH_DOCKER_TRANSFER", transfer)
        self.image_tag = image_tag or os.environ.get("EDGEBENCH_IMAGE_TAG") or None
        self.tmpfs_mb = tmpfs_mb
        self._checked_specs: dict[str, RunSpec] = {}  # one spec per image, from preflight: where monitors run
        self._monitor_cache: dict[str, list[str]] = {}
        self.monitor_checks = 0  # containers started to check monitors (each image once per set of monitors)
        # fresh: one container per run; reuse: one per cell, its repetitions `docker exec`'d in it (docker_reuse.py)
        self.container_mode = "fresh"
        self._pool: Any = None

    def close(self) -> None:
        """The campaign ended (or was interrupted): remove the container kept for reuse, if any."""
        if self._pool is not None:
            self._pool.close("campaign ended")

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = images.client()
        return self._client

    @property
    def local_engine(self) -> bool:
        """True when the engine shares this machine's files and cgroups (a unix socket here)."""
        url = str(getattr(self.client.api, "base_url", ""))
        return url.startswith("http+docker://localhost") or url.startswith("http+unix://") or "unix" in url

    @property
    def copy_mode(self) -> bool:
        return self.transfer == "copy" or (self.transfer == "auto" and not self.local_engine)

    def image_ref(self, spec: RunSpec) -> str:
        """The exact image a spec runs in: name:tag, the tag being the content hash of its build."""
        repo = spec.image or devices.load(spec.device).frameworks[spec.framework].image
        if ":" in repo.rsplit("/", 1)[-1] or "@" in repo:
            return repo
        if self.image_tag:
            return "%s:%s" % (repo, self.image_tag)
        return images.image_spec(spec.device, multi_image.key_of(spec)).ref

    def preflight(self, specs: list[RunSpec]) -> list[str]:
        try:
            info = self.client.info()
        except Exception as e:  # the SDK raises several kinds; all mean the same here
            return ["no Docker engine answers (%s); start one with `sh scripts/setup-docker.sh` (root) or set "
                    "DOCKER_HOST" % e]
        problems = swap_problems(specs, self.allow_no_swap) if self.local_engine else []
        wants_swap = any(s.limits.swap_mb for s in specs)
        if wants_swap and not self.allow_no_swap and not info.get("SwapLimit", False):
            said = "; ".join(w for w in info.get("Warnings") or [] if "swap" in w.lower()) or "SwapLimit=false"
            problems.append("the Docker engine reports no swap limit support (%s): --memory-swap would be ignored. "
                            "Boot the host with cgroup swap accounting (kernel parameter swapaccount=1 on cgroup v1; "
                            "cgroup v2 with memory.swap.max), or pass --allow-no-swap" % said)
        if any(s.limits.memory_mb for s in specs) and not info.get("MemoryLimit", True):
            problems.append("the Docker engine reports no memory limit support: enable the memory cgroup controller")
        seen: set[str] = set()
        for s in specs:
            try:
                ref = self.image_ref(s)
            except Exception as e:
                problems.append(str(e))
                continue
            if ref in seen:
                continue
            seen.add(ref)
            self._checked_specs[ref] = s
            img = images.find_image(self.client, ref)
            if img is None:
                problems.append("image %s is not in the engine; build it: edgebench images build --device %s "
                                "--framework %s" % (ref, s.device, s.framework))
            elif self.local_engine:
                why = images.can_run_arch(img.attrs.get("Architecture", ""))
                if why:
                    problems.append("%s: %s" % (ref, why))
            dev = devices.load(s.device)
            if any("docker.sock" in m for m in dev.container.mounts):
                problems.append("device %s mounts the Docker socket into runs; refused (a run could control the "
                                "engine)" % s.device)
        return problems

    def monitor_problems(self, names: list[str], configs: dict[str, Any]) -> list[str]:
        """Ask each image of the plan (as preflight found them) whether the monitors can run in it: one
        short container per image with the run's devices, user and hardening, cached per image."""
        if not names:  # `monitors: []`: nothing to check
            return []
        problems: list[str] = []
        for ref, spec in sorted(self._checked_specs.items()):
            key = json.dumps([ref, sorted(names), configs], sort_keys=True, default=str)
            if key not in self._monitor_cache:
                self._monitor_cache[key] = self._check_monitors(spec, ref, names, configs)
            problems += ["%s (in image %s)" % (p, ref) for p in self._monitor_cache[key]]
        return problems

    def _check_monitors(self, spec: RunSpec, ref: str, names: list[str], configs: dict[str, Any]) -> list[str]:
        img = images.find_image(self.client, ref)
        if img is None:
            return []  # preflight already said the image is missing
        with tempfile.TemporaryDirectory() as tmp:
            kw = self.container_kwargs(spec, ref, Path(tmp), Path(tmp), self._user(spec), {"digest": img.id}, None)
        kw["volumes"] = list(devices.load(spec.device).container.mounts)  # the profile's, no run folders
        kw["command"] = ["python", "-m", "edgebench.suite.monitors", "check", *names, "--config", json.dumps(configs)]
        kw["labels"] = {LABEL: "monitor-check", TOKEN: uuid.uuid4().hex}
        self.monitor_checks += 1
        container = self.client.containers.create(**kw)
        try:
            container.start()
            code = container.wait(timeout=120)["StatusCode"]
            stdout = container.logs(stdout=True, stderr=False).decode("utf-8", "replace")
            stderr = container.logs(stdout=False, stderr=True).decode("utf-8", "replace")
        finally:
            container.remove(force=True)
        try:
            return [str(p) for p in json.loads(stdout.strip().splitlines()[-1]).get("problems", [])]
        except (ValueError, IndexError, AttributeError):
            return ["monitor check failed in the image (exit %s): %s" % (code, stderr.strip()[-300:])]

    # ---- one run ----------------------------------------------------------------------------------

    def container_kwargs(self, spec: RunSpec, ref: str, run_dir: Path, models_dir: Path, user: Optional[str],
                         image: dict[str, Any], volume: Optional[str], out_dir: Optional[Path] = None
                         ) -> dict[str, Any]:
        """The container of one attempt: spec and models read-only; the only writable bind is out_dir (the
        attempt folder, default RUN_DIR/attempts), never the run folder the host trusts."""
        out_dir = out_dir or run_dir / outputs.ATTEMPTS
        dev = devices.load(spec.device)
        c = dev.container
        binds = list(c.mounts)
        if volume:
            binds.append("%s:%s:rw" % (volume, VOLUME_AT))
        else:
            binds += ["%s:%s:ro" % (run_dir.resolve() / "spec.json", IN_SPEC), "%s:%s:rw" % (out_dir.resolve(), OUT),
                      "%s:%s:ro" % (models_dir.resolve(), IN_MODELS)]
        # Image folders are bound read-only at the same path, so the spec's paths hold inside. A remote engine
        # (copy transfer) gets no bind: the folder must exist at that path on the device itself.
        binds += ["%s:%s:ro" % (d, d) for d in (spec.input_dir, spec.calib_dir) if d and not volume]
        env: dict[str, str] = {}
        if spec.framework == "tensorrt" and not volume:
            # Engines are built on the target and reused by later runs of the same device (the models folder is
            # read-only and /tmp dies with the container); each result says whether its engine came from here.
            binds.append("%s:%s:rw" % (engines_dir(models_dir, spec.device), ENGINES_AT))
            env["EDGEBENCH_ENGINE_CACHE"] = ENGINES_AT
        kw: dict[str, Any] = {
            "image": ref, "command": ["python", "-m", "edgebench.suite", "run", IN_SPEC, OUT, "--models", IN_MODELS],
            "user": user, "network_mode": "none", "read_only": True, "security_opt": ["no-new-privileges"],
            "tmpfs": {"/tmp": "rw,nosuid,nodev,size=%dm" % self.tmpfs_mb}, "volumes": binds,
            "environment": {"EDGEBENCH_DEVICE": spec.device, "EDGEBENCH_IMAGE": ref,
                            "EDGEBENCH_IMAGE_DIGEST": image["digest"], "HOME": "/tmp", **env,
                            **process_env(spec, self.container_mode)},
            "labels": {LABEL: spec.run_id, "org.edgebench.campaign": spec.campaign, TOKEN: uuid.uuid4().hex,
                       CAMPAIGN_DIR: str(run_dir.resolve().parent), ATTEMPT: out_dir.name},
            "pids_limit": PIDS_LIMIT,
            "working_dir": "/tmp", "detach": True,
        }
        if c.privileged:
            kw["privileged"] = True
        else:
            kw["cap_drop"] = ["ALL"]
        devs = list(c.devices) + [d for d in getattr(c, "optional_devices", []) if os.path.exists(d.split(":")[0])]
        for key, value in (("devices", devs), ("group_add", c.group_add), ("runtime", c.runtime),
                           ("device_cgroup_rules", getattr(c, "device_cgroup_rules", []))):
            if value:
                kw[key] = value
        gpus = getattr(c, "gpus", None)
        if gpus:  # like `docker run --gpus all|0,1`
            import docker

            ids = None if gpus == "all" else gpus.split(",")
            kw["device_requests"] = [docker.types.DeviceRequest(count=-1 if ids is None else 0, device_ids=ids,
                                                                capabilities=[["gpu"]])]
        lim = spec.limits
        if lim.memory_mb is not None:
            kw["mem_limit"] = int(lim.memory_mb * MIB)
            kw["memswap_limit"] = int((docker_swap_total(lim.memory_mb, lim.memory_swap_mb) or 0) * MIB)
        if lim.swappiness is not None:
            kw["mem_swappiness"] = lim.swappiness
        if lim.cpus is not None:
            kw["nano_cpus"] = int(lim.cpus * 1e9)
        if lim.cpuset is not None:
            kw["cpuset_cpus"] = lim.cpuset
        return {k: v for k, v in kw.items() if v is not None}

    def execute(self, spec: RunSpec, run_dir: Path, models_dir: Path) -> RunResult:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json(str(run_dir / "spec.json"), spec.to_dict())
        fate = Fate(runner=self.name)
        steps: dict[str, float] = {}
        fate.extra["timings"] = steps
        fate.extra["process"] = process_record(spec, self.container_mode)
        container = volume = None
        token = ""
        if self.container_mode == "reuse":
            from .docker_reuse import Pool, refusal

            why = refusal(self)
            if not why:
                self._pool = self._pool or Pool(self)
                done: RunResult = self._pool.execute(spec, run_dir, models_dir)
                return done
            fate.extra["container"] = {"mode": "fresh", "asked": "reuse", "why_fresh": why}
        attempt = outputs.new_attempt(run_dir)  # the container writes only here; the host takes what it accepts
        try:
            image, fate.error = self.image_info(spec)
            if fate.error:
                return with_process(finalize(spec, run_dir, fate), run_dir, fate)
            fate.extra.update({"image": image, "engine": str(self.client.api.base_url), "transfer":
                               "copy" if self.copy_mode else "bind"})
            user = self._user(spec)
            models_dir.mkdir(parents=True, exist_ok=True)
            if self.copy_mode:
                volume = self.client.volumes.create("edgebench-%s-%s" % (spec.run_id, uuid.uuid4().hex[:8]),
                                                    labels={LABEL: spec.run_id}).name
            else:
                _give(attempt, run_dir / "spec.json", user)
                _share(models_dir, spec.artifact)
                if spec.framework == "tensorrt":
                    engines = engines_dir(models_dir, spec.device)
                    engines.mkdir(parents=True, exist_ok=True)
                    os.chmod(engines, 0o1777)  # any run user may add engines, as in /tmp
            kw = self.container_kwargs(spec, image["ref"], run_dir, models_dir, user, image, volume, attempt)
            self.emulate(kw, image, fate)
            fate.command = docker_run_argv(kw)
            if spec.limits.swap_mb and self.allow_no_swap:
                fate.limit_notes.append("run with --allow-no-swap: the swap part of the limit may be unused")
            self._save_command(run_dir, kw, image)
            record.sign(run_dir, self.name, spec.run_id)
            token = kw["labels"][TOKEN]
            # Recorded before the container exists: a later campaign can remove it if this process dies.
            record.add_attempt(run_dir, {"id": attempt.name, "runner": self.name, "dir": str(attempt),
                                         "token": token, "volume": volume,
                                         "engine": str(self.client.api.base_url)})
            t0 = time.monotonic()
            container = self.client.containers.create(**kw)
            steps["create_s"] = time.monotonic() - t0
            fate.extra["container_id"] = container.id
            fate.extra.setdefault("container", {"mode": "fresh"}).update(id=container.id, reused=False, runs_served=1)
            record.update_attempt(run_dir, attempt.name, container_id=container.id)
            if volume:
                container.put_archive(VOLUME_AT, _inputs_tar(run_dir / "spec.json", models_dir, spec.artifact))
            if spec.settle_s:
                time.sleep(spec.settle_s)  # P1: let memory settle between stages before the model starts
            self._run(spec, container, fate, steps)
            self._collect(container, run_dir, attempt, fate, steps, volume is not None)
        except KeyboardInterrupt:
            fate.error = "interrupted (Ctrl-C)"
            raise
        except Exception as e:
            fate.error = fate.error or "docker: %s: %s" % (type(e).__name__, e)
        finally:
            t0 = time.monotonic()
            if container is None and token:  # interrupted inside create: find it by its token
                container = next(iter(self.client.containers.list(all=True, filters={
                    "label": "%s=%s" % (TOKEN, token)})), None)
            _remove(self.client, container, volume, fate)
            steps["remove_s"] = time.monotonic() - t0
            # Nothing runs any more: take what the attempt folder holds (checked, capped, links refused).
            fate.extra["output_problems"] = outputs.accept(attempt, run_dir, spec.run_id)
            outputs.discard(attempt)
            if token:
                record.update_attempt(run_dir, attempt.name, ended=True)
        return with_process(finalize(spec, run_dir, fate), run_dir, fate)

    def image_info(self, spec: RunSpec) -> tuple[dict[str, Any], str]:
        """The spec's image as the engine has it (ref, id, digests, arch, lock state), or ({}, why not)."""
        ref = self.image_ref(spec)
        img = images.find_image(self.client, ref)
        if img is None:
            return {}, "image %s is not in the engine (edgebench images build --device %s --framework %s)" % (
                ref, spec.device, spec.framework)
        digests = img.attrs.get("RepoDigests") or []
        return {"ref": ref, "id": img.id, "repo_digests": digests, "digest": digests[0] if digests else img.id,
                "arch": img.attrs.get("Architecture"), "lock": image_lock.status(img, ref)}, ""

    def emulate(self, kw: dict[str, Any], image: dict[str, Any], fate: Fate) -> None:
        """Under QEMU the kernel's /proc/cpuinfo describes the host's CPUs, and runtimes that parse it (ONNX
        Runtime's cpuinfo) crash at import; give them the emulated architecture's view."""
        if self.local_engine and image["arch"] and image["arch"] != images.host_arch():
            kw["volumes"].append("%s:/proc/cpuinfo:ro" % emulated_cpuinfo(image["arch"]))
            fate.extra["emulated"] = "%s image on a %s host through QEMU" % (image["arch"], images.host_arch())

    def _user(self, spec: RunSpec) -> Optional[str]:
        """The profile's user when we can hand the results folder to it (root), else our own ids, so the
        files the run writes stay readable here."""
        user = devices.load(spec.device).container.user
        if self.copy_mode or os.geteuid() == 0 or user in (None, "0", "0:0", "root"):
            return user
        return "%d:%d" % (os.getuid(), os.getgid())

    def _run(self, spec: RunSpec, container: Any, fate: Fate, steps: dict[str, float]) -> None:
        import requests

        kmsg = KernelLog() if self.local_engine else None
        t0 = time.monotonic()
        fate.extra["start_wall"] = time.time()  # the same clock the suite stamps its phases with
        container.start()
        steps["start_s"] = time.monotonic() - t0
        watch = CgroupWatch(container) if self.local_engine else None
        try:
            try:
                fate.exit_code = container.wait(timeout=spec.timeout_s)["StatusCode"]
            except (requests.exceptions.ReadTimeout, requests.exceptions.ConnectionError):
                fate.timed_out = True
                container.stop(timeout=_STOP_GRACE_S)  # SIGTERM (the suite writes what it has), then SIGKILL
                fate.exit_code = container.wait(timeout=_STOP_GRACE_S + 60)["StatusCode"]
            fate.wall_s = time.monotonic() - t0
            steps["run_s"] = fate.wall_s
        finally:
            if watch is not None:
                watch.stop()
        container.reload()
        state = container.attrs.get("State", {})
        docker_says = bool(state.get("OOMKilled"))
        evidence: dict[str, Any] = {"docker_oomkilled": docker_says}
        seen_cgroup = watch is not None and watch.read_ok
        if watch is not None:
            evidence.update({k: v for k, v in watch.counters.items() if v is not None})
            fate.limits_applied = dict(watch.limits, cgroup=watch.dir, source="cgroup")
        lines = kmsg.lines_for(container.id) if kmsg is not None else []
        if lines:
            fate.extra["kernel_log"] = lines[:4]
            killed = [x for x in lines if "Killed process" in x or "oom_memcg" in x]
            evidence["kernel_log"] = killed[-1][:160] if killed else lines[-1][:160]
        # v1's OOM notification fires only when the group itself ran out; with a SIGKILL exit it means the
        # kernel's OOM killer ended the run even when the group vanished before oom_kill could be read.
        oom = (bool(evidence.get("oom_kill")) or any("oom_memcg" in x for x in lines)
               or (bool(evidence.get("oom_events")) and fate.exit_code == 137))
        if not oom and docker_says and not seen_cgroup and not (kmsg and kmsg.ok):
            oom, evidence["unconfirmed"] = True, "only Docker's OOMKilled flag was readable (remote engine?)"
        if docker_says != oom:
            fate.limit_notes.append("Docker's OOMKilled flag (%s) disagrees with the cgroup's evidence (%s)"
                                    % (docker_says, oom))
        fate.oom_killed, fate.oom_evidence = oom, evidence
        if not fate.limits_applied:
            hc = container.attrs.get("HostConfig", {})
            fate.limits_applied = {"memory_limit_bytes": hc.get("Memory") or None,
                                   "memory_swap_limit_bytes": hc.get("MemorySwap") or None,
                                   "swappiness": hc.get("MemorySwappiness"), "nano_cpus": hc.get("NanoCpus") or None,
                                   "cpuset": hc.get("CpusetCpus") or None,
                                   "source": "engine HostConfig"}

    def _collect(self, container: Any, run_dir: Path, attempt: Path, fate: Fate, steps: dict[str, float],
                 copied: bool) -> None:
        t0 = time.monotonic()
        try:
            logs = container.logs(stdout=True, stderr=True)
        except Exception as e:  # a log driver without read support
            logs = ("edgebench: container logs unreadable: %s\n" % e).encode()
        outputs.append_log(run_dir, logs)  # the run folder is the host's: the container never had it
        if copied:
            stream, _ = container.get_archive(OUT)
            _extract_out(_capped(stream, outputs.TOTAL_CAP), attempt)
        steps["collect_s"] = time.monotonic() - t0

    def _save_command(self, run_dir: Path, kw: dict[str, Any], image: dict[str, Any]) -> None:
        """command.json for `edgebench replay`; command.sh for a person (same container, by hand)."""
        argv = docker_run_argv(kw)
        write_json(str(run_dir / "command.json"), {"runner": self.name, "image": image["ref"],
                                                   "image_id": image["id"], "digest": image["digest"],
                                                   "argv": argv, "create": kw,
                                                   "transfer": "copy" if self.copy_mode else "bind"})
        lines = ["#!/bin/sh", "# Replays this run by hand; `edgebench replay RUN_DIR` does the same and keeps the "
                 "evidence.", "# Image %s (id %s). Remove the container afterwards: docker rm ID." % (
                     image["ref"], image["id"])]
        if self.copy_mode:
            lines.append("# Ran on a remote engine: inputs went into the volume with docker cp.")
        elif kw.get("user") and os.geteuid() == 0:
            out = shlex.quote(str(run_dir.resolve() / outputs.ATTEMPTS / kw["labels"][ATTEMPT]))
            lines += ["# The run writes its results as %s into its own folder." % kw["user"],
                      "mkdir -p %s" % out, "chown %s %s" % (shlex.quote(kw["user"]), out),
                      "chmod 644 %s/spec.json" % shlex.quote(str(run_dir.resolve()))]
        lines.append("exec " + " ".join(shlex.quote(a) for a in argv))
        write_bytes(str(run_dir / "command.sh"), ("\n".join(lines) + "\n").encode())


def docker_run_argv(kw: dict[str, Any]) -> list[str]:
    """The `docker run` line that creates the same container as these SDK arguments."""
    argv = ["docker", "run", "--detach"]
    flags = (("user", "--user"), ("network_mode", "--network"), ("working_dir", "--workdir"), ("runtime", "--runtime"),
             ("mem_limit", "--memory"), ("memswap_limit", "--memory-swap"), ("mem_swappiness", "--memory-swappiness"),
             ("cpuset_cpus", "--cpuset-cpus"))
    for key, flag in flags:
        if key in kw:
            argv += [flag, str(kw[key])]
    if "nano_cpus" in kw:
        argv += ["--cpus", "%g" % (kw["nano_cpus"] / 1e9)]
    if "pids_limit" in kw:
        argv += ["--pids-limit", str(kw["pids_limit"])]
    if kw.get("read_only"):
        argv.append("--read-only")
    if kw.get("privileged"):
        argv.append("--privileged")
    for opt in kw.get("security_opt", []):
        argv += ["--security-opt", opt]
    for cap in kw.get("cap_drop", []):
        argv += ["--cap-drop", cap]
    for path, opts in kw.get("tmpfs", {}).items():
        argv += ["--tmpfs", "%s:%s" % (path, opts)]
    for bind in kw.get("volumes", []):
        argv += ["--volume", bind]
    for dev in kw.get("devices", []):
        argv += ["--device", dev]
    for grp in kw.get("group_add", []):
        argv += ["--group-add", str(grp)]
    for rule in kw.get("device_cgroup_rules", []):
        argv += ["--device-cgroup-rule", rule]
    for req in kw.get("device_requests", []):
        ids = req.get("DeviceIDs") or []
        argv += ["--gpus", "device=%s" % ",".join(ids) if ids else "all"]
    for k, v in sorted(kw.get("environment", {}).items()):
        argv += ["--env", "%s=%s" % (k, v)]
    for k, v in sorted(kw.get("labels", {}).items()):
        argv += ["--label", "%s=%s" % (k, v)]
    return argv + [kw["image"]] + list(kw["command"])
