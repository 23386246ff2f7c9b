#!/bin/sh
# Makes a Docker engine answer on this machine, for `make test` and `edgebench run --runner docker`.
#
# - installs docker.io, qemu-user-static, binfmt-support and debootstrap when missing (root + apt only);
# - mounts binfmt_misc and registers QEMU's handlers so arm64 images run on x86 (and the reverse);
# - starts dockerd in the background when none answers, and waits for it.
# Idempotent: a second call changes nothing. Says plainly what it could not set up. Exits non-zero only
# when no Docker engine answers at the end (QEMU and debootstrap are reported, not required).
#
# Environment: DOCKER_HOST (an engine elsewhere: nothing is installed or started, it is only checked),
# EDGEBENCH_DOCKERD_LOG (default /var/log/edgebench-dockerd.log), EDGEBENCH_DOCKERD_WAIT_S (default 60).

set -u
LOG=${EDGEBENCH_DOCKERD_LOG:-/var/log/edgebench-dockerd.log}
WAIT_S=${EDGEBENCH_DOCKERD_WAIT_S:-60}
MISSING=""

say() { printf 'setup-docker: %s\n' "$*" >&2; }
is_root() { [ "$(id -u)" = 0 ]; }
engine_answers() { docker info >/dev/null 2>&1; }

if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST#unix://}" = "$DOCKER_HOST" ]; then
    # A remote engine (ssh:// or tcp://): this script neither installs nor starts anything.
    if engine_answers; then say "remote engine at $DOCKER_HOST answers"; exit 0; fi
    say "DOCKER_HOST=$DOCKER_HOST does not answer; check that host, or unset DOCKER_HOST"; exit 1
fi

# 1. Packages.
need_pkgs=""
command -v dockerd >/dev/null 2>&1 || need_pkgs="$need_pkgs docker.io"
command -v docker >/dev/null 2>&1 || need_pkgs="$need_pkgs docker.io"
[ -x /usr/bin/qemu-aarch64-static ] || [ -x /usr/bin/qemu-aarch64 ] || need_pkgs="$need_pkgs qemu-user-static"
command -v update-binfmts >/dev/null 2>&1 || need_pkgs="$need_pkgs binfmt-support"
command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || need_pkgs="$need_pkgs debootstrap"
if [ -n "$need_pkgs" ]; then
    if is_root && command -v apt-get >/dev/null 2>&1; then
        say "installing:$need_pkgs"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the install anyway"
        # shellcheck disable=SC2086
        apt-get install -y -qq --no-install-recommends $need_pkgs >/dev/null 2>&1 \
            || say "could not install:$need_pkgs (apt-get install failed)"
    else
        say "missing:$need_pkgs; install them as root with apt-get (this is not root or not Debian)"
    fi
fi
for tool in qemu-aarch64-static debootstrap; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "/usr/sbin/$tool" ] || MISSING="$MISSING $tool"
done

# 2. binfmt_misc + QEMU handlers (arm64 images on amd64). The F flag (fix-binary) lets containers use
# the host's static interpreter, so the images need no qemu inside.
if is_root; then
    if [ ! -e /proc/sys/fs/binfmt_misc/register ]; then
        mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null \
            || say "could not mount binfmt_misc; arm64 images will not run here"
    fi
    if [ -e /proc/sys/fs/binfmt_misc/register ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
        if command -v update-binfmts >/dev/null 2>&1; then
            update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
        fi
        if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && [ -x /usr/bin/qemu-aarch64-static ]; then
            # The handler QEMU's own qemu-binfmt-conf.sh registers, with flags F (fix binary) and C (credentials).
            printf '%s' ':qemu-aarch64:M::\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00:\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff:/usr/bin/qemu-aarch64-static:FC' \
                > /proc/sys/fs/binfmt_misc/register 2>/dev/null || true
        fi
    fi
fi
if [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] && [ "$(uname -m)" != aarch64 ]; then
    MISSING="$MISSING binfmt:qemu-aarch64"
fi

# 3. dockerd.
if ! engine_answers; then
    if ! command -v dockerd >/dev/null 2>&1; then
        say "no Docker engine answers and dockerd is not installed; cannot continue"; exit 1
    fi
    if ! is_root; then
        say "no Docker engine answers and starting dockerd needs root; start it (e.g. systemctl start docker)"
        exit 1
    fi
    if command -v systemctl >/dev/null 2>&1 && systemctl is-system-running >/dev/null 2>&1; then
        systemctl start docker >/dev/null 2>&1 || true
    fi
    if ! engine_answers; then
        if [ -S /var/run/docker.sock ] && ! pgrep -x dockerd >/dev/null 2>&1; then
            rm -f /var/run/docker.sock /var/run/docker.pid  # left by a dockerd that died
        fi
        if ! pgrep -x dockerd >/dev/null 2>&1; then
            command -v containerd >/dev/null 2>&1 || say "containerd not found; dockerd may not start"
            say "starting dockerd in the background (log: $LOG)"
            mkdir -p "$(dirname "$LOG")"
            nohup dockerd >>"$LOG" 2>&1 </dev/null &
        fi
        i=0
        while ! engine_answers; do
            i=$((i + 1))
            if [ "$i" -gt "$WAIT_S" ]; then
                say "dockerd did not answer within ${WAIT_S}s; last lines of $LOG:"
                tail -n 20 "$LOG" >&2 2>/dev/null
                exit 1
            fi
            sleep 1
        done
    fi
fi

# 4. What the engine can and cannot do, said plainly.
info=$(docker info 2>&1)
echo "$info" | grep -qi 'no swap limit support' && say "this kernel does not account swap in cgroups: swap scenarios will be refused (boot with swapaccount=1, or cgroup v2 with memory.swap.max)"
[ "$(awk '/SwapTotal/ {print $2}' /proc/meminfo)" = 0 ] && say "this host has no swap: swap scenarios need some (tests add a swap file themselves)"
[ -n "$MISSING" ] && say "not set up:$MISSING (arm64 images or offline base images will not build here)"
say "Docker engine answers: $(docker version --format '{{.Server.Version}}' 2>/dev/null)"
exit 0
