"""What the host takes from a run's output folder: regular files only, never through a link, capped,
result.json checked against the schema; and the copy transfer's archive, extracted without links."""

import io
import json
import os
import tarfile
from pathlib import Path

from edgebench.cli.runners import outputs
from edgebench.cli.runners.docker import _extract_out
from edgebench.suite.spec import RunResult


def result_bytes(run_id: str) -> bytes:
    return json.dumps(RunResult(run_id=run_id, status="ok", spec={}).to_dict()).encode()


def test_accept_takes_regular_files_and_refuses_links_folders_and_host_names(tmp_path: Path) -> None:
    run_dir, attempt = tmp_path / "run", tmp_path / "run" / "attempts" / "1-x"
    attempt.mkdir(parents=True)
    victim = tmp_path / "victim"
    victim.write_text("secret")
    (attempt / "result.json").write_bytes(result_bytes("r1"))
    (attempt / "samples.jsonl").symlink_to(victim)
    (attempt / "sub").mkdir()
    (attempt / "command.json").write_text('{"runner": "local"}')
    (attempt / "env.json").write_text("{}")
    problems = outputs.accept(attempt, run_dir, "r1")
    assert sorted(p.name for p in run_dir.iterdir()) == ["attempts", "env.json", "result.json"]
    assert RunResult.from_dict(json.loads((run_dir / "result.json").read_text())).run_id == "r1"
    assert any(p.startswith("samples.jsonl") and "symlink" in p for p in problems), problems
    assert any(p.startswith("sub") for p in problems) and any(p.startswith("command.json") for p in problems)
    assert victim.read_text() == "secret"


def test_a_result_of_another_run_or_off_schema_is_refused(tmp_path: Path) -> None:
    attempt = tmp_path / "a"
    attempt.mkdir()
    (attempt / "result.json").write_bytes(result_bytes("other"))
    assert any("not 'r1'" in p for p in outputs.accept(attempt, tmp_path, "r1"))
    (attempt / "result.json").write_text('{"status": 3}')
    assert any("schema" in p for p in outputs.accept(attempt, tmp_path, "r1"))
    assert not (tmp_path / "result.json").exists()


def test_files_over_their_cap_are_refused(tmp_path: Path) -> None:
    attempt = tmp_path / "a"
    attempt.mkdir()
    (attempt / "big.txt").write_bytes(b"x" * 100)
    outputs.OTHER_CAP, saved = 10, outputs.OTHER_CAP
    try:
        problems = outputs.accept(attempt, tmp_path, "r1")
    finally:
        outputs.OTHER_CAP = saved
    assert any("over the 10 byte cap" in p for p in problems) and not (tmp_path / "big.txt").exists()


def test_the_log_is_never_appended_through_a_link(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("secret")
    (tmp_path / "log").symlink_to(victim)
    try:
        outputs.append_log(tmp_path, b"container output")
        raise AssertionError("append_log followed a link")
    except OSError:
        pass
    assert victim.read_text() == "secret"


def tar_of(members: list[tuple[tarfile.TarInfo, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for ti, data in members:
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data) if ti.isfile() else None)
    return buf.getvalue()


def test_copy_transfer_extracts_plain_files_only(tmp_path: Path) -> None:
    def f(name: str) -> tarfile.TarInfo:
        return tarfile.TarInfo(name)

    link = f("out/log")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    hard = f("out/hard")
    hard.type, hard.linkname = tarfile.LNKTYPE, "/etc/passwd"
    data = tar_of([(link, b""), (hard, b""), (f("/abs"), b"a"), (f("out/../../escape"), b"e"),
                   (f("out/sub/deep.json"), b"d"), (f("out/.hidden"), b"h"), (f("out/result.json"), b"{}")])
    out = tmp_path / "attempt"
    out.mkdir()
    _extract_out(data, out)
    assert sorted(os.listdir(out)) == ["result.json"]
    assert not (tmp_path / "escape").exists() and not (tmp_path.parent / "escape").exists()


def test_a_flood_of_files_is_cut_at_the_file_cap(tmp_path: Path) -> None:
    attempt = tmp_path / "a"
    attempt.mkdir()
    for i in range(outputs.MAX_FILES + 10):
        (attempt / ("f%03d" % i)).write_text("x")
    problems = outputs.accept(attempt, tmp_path, "r1")
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("f")]) == outputs.MAX_FILES
    assert any("more than %d files" % outputs.MAX_FILES in p for p in problems)
