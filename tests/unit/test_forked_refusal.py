"""Which specs may fork (cli/runners/forked.refusal) and how a child's exit is read (no runtime needed)."""

import os

from edgebench.cli.runners import forked
from edgebench.suite import forkserver
from edgebench.suite.spec import RunSpec, StreamSpec


def test_cpu_specs_may_fork_and_accelerators_may_not() -> None:
    assert forked.refusal(RunSpec(model="m", framework="tflite")) == ""
    assert forked.refusal(RunSpec(model="m", framework="tflite", placement="cpu:0-1")) == ""
    for placement in ("cuda:0", "edgetpu:0", "usb:0"):
        assert "placement %r" % placement in forked.refusal(RunSpec(model="m", framework="tflite",
                                                                     placement=placement))
    dmp = RunSpec(model="m", framework="torch", workload="placement",
                  streams=(StreamSpec(model="m", framework="tflite"),))
    assert "several frameworks" in forked.refusal(dmp)


def test_exit_codes_read_as_subprocess_reports_them() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(3)
    assert forkserver.exit_code(os.waitpid(pid, 0)[1]) == 3
    pid = os.fork()
    if pid == 0:
        os.kill(os.getpid(), 9)
    assert forkserver.exit_code(os.waitpid(pid, 0)[1]) == -9


def test_process_is_a_spec_key_with_a_default_left_out_of_the_id() -> None:
    base = RunSpec(model="m", framework="torch")
    assert base.process == "fresh"
    assert RunSpec.from_dict(dict(base.to_dict(), process="forked")).run_id != base.run_id
    try:
        RunSpec.from_dict(dict(base.to_dict(), process="warm"))
    except ValueError as e:
        assert "process" in str(e)
    else:
        raise AssertionError("process: warm was accepted")


def test_a_thread_that_survives_a_fork_blocks_it_and_so_does_a_declared_runtime() -> None:
    """In a child process: a plain Python thread is seen by the generic check; a runtime measured not to
    survive a fork is refused as soon as it is in sys.modules, whatever its threads are doing yet."""
    import subprocess
    import sys

    code = ("import sys, threading, time\nfrom edgebench.suite import forkserver\n"
            "assert forkserver.fork_blockers('tflite') == ''\n"
            "threading.Thread(target=time.sleep, args=(30,), daemon=True).start()\n"
            "print(forkserver.fork_blockers('tflite'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "1 thread(s) besides the main one survive a fork" in out.stdout
    code = ("import sys, types\nfrom edgebench.suite import forkserver\n"
            "sys.modules['onnxruntime'] = types.ModuleType('onnxruntime')\n"
            "print(forkserver.fork_blockers('onnxruntime'))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == forkserver.NOT_FORK_SAFE["onnxruntime"]
