"""One campaign per folder: the flock in CAMPAIGN/campaign.lock, held and contested by real processes."""

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from edgebench.cli.lock import LOCK_FILE, CampaignLocked, hold, holder_of

HOLDER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from edgebench.cli.lock import hold
    with hold(Path(sys.argv[1]), print):
        print("held", flush=True)
        time.sleep(120)
""")


def _holder(camp: Path) -> "subprocess.Popen[str]":
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(camp)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_holder_is_refused_naming_the_first(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    try:
        with pytest.raises(CampaignLocked, match="in use by pid %d on " % proc.pid), hold(tmp_path, print):
            pass
        rec = holder_of(tmp_path)
        assert rec is not None and rec["pid"] == proc.pid and rec["host"]
    finally:
        proc.kill()
        proc.wait()


def test_a_lock_left_by_a_killed_holder_is_taken_over_with_a_message(tmp_path: Path) -> None:
    proc = _holder(tmp_path)
    os.kill(proc.pid, signal.SIGKILL)  # as kill -9 of an orchestrator: no clean release
    proc.wait()
    said: list[str] = []
    with hold(tmp_path, said.append) as me:
        assert me["pid"] == os.getpid()
        assert json.loads((tmp_path / LOCK_FILE).read_text())["pid"] == os.getpid()
    assert len(said) == 1 and "previous holder pid %d is gone" % proc.pid in said[0]


def test_a_clean_release_leaves_nobody_to_take_over_from(tmp_path: Path) -> None:
    said: list[str] = []
    with hold(tmp_path, said.append):
        pass
    with hold(tmp_path, said.append):
        pass
    assert said == [] and holder_of(tmp_path) is None
