#!/bin/sh
# Installs Debian's reference registry (docker-registry, distribution 2.8) for the registry tests, when
# missing (root + apt only). It does not start it: the tests start their own on 127.0.0.1 with storage in a
# temporary folder (tests/integration/test_registry.py), and the Debian service stays as it is.
# Idempotent. Exits non-zero only when the binary is missing at the end.
set -u
say() { printf 'setup-registry: %s\n' "$*" >&2; }
if command -v docker-registry >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing docker-registry"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the install anyway"
    apt-get install -y -qq --no-install-recommends docker-registry >/dev/null 2>&1 \
        || say "could not install docker-registry (apt-get install failed)"
else
    say "docker-registry is missing; install it as root: apt-get install docker-registry"
fi
command -v docker-registry >/dev/null 2>&1
