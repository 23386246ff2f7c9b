#!/bin/sh
# Installs Debian's chromium for the report.html tests (tests/browser.py drives it headless over CDP).
# Idempotent: does nothing when chromium is already there. Root + apt only; otherwise it says what is
# missing and exits 1 (the browser tests then skip locally and fail under CI=true).
set -u
say() { printf 'setup-browser: %s\n' "$*" >&2; }
for b in chromium chromium-browser; do
    if command -v "$b" >/dev/null 2>&1; then exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the install anyway"
    if apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null 2>&1; then
        say "chromium installed"; exit 0
    fi
    say "apt-get install chromium failed"
    exit 1
fi
say "chromium is missing; install it (apt-get install chromium) as root"
exit 1
