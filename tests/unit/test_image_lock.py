"""images/images.lock: written stable and merged, read back, and bad entries named (file, entry, key)."""

import json
from pathlib import Path

import pytest
from edgebench.cli import image_lock
from edgebench.cli.errors import InputError
from edgebench.cli.image_lock import Entry

D1, D2, ID1 = "sha256:" + "1" * 64, "sha256:" + "2" * 64, "sha256:" + "a" * 64


def entry(tag: str = "0.1.0-abc", arch: str = "amd64", digest: str = D1) -> Entry:
    return Entry("host-cpu", "onnxruntime", arch, "edgebench-host-cpu-onnxruntime", tag, "127.0.0.1:5000/eb",
                 digest, ID1, "2026-12-01T12:00:00Z")


def test_write_merges_by_repository_tag_and_arch_and_reads_back(tmp_path: Path) -> None:
    lock = tmp_path / "images.lock"
    image_lock.write([entry(), entry(arch="arm64")], lock)
    image_lock.write([entry(digest=D2), entry(tag="0.1.0-new")], lock)
    got = image_lock.read(lock)
    assert len(got) == 3
    assert image_lock.find("edgebench-host-cpu-onnxruntime", "0.1.0-abc", got, arch="amd64") == entry(digest=D2)
    assert image_lock.find("edgebench-host-cpu-onnxruntime", "0.1.0-abc", got, arch="arm64") == entry(arch="arm64")
    assert image_lock.find("edgebench-host-cpu-onnxruntime", "0.1.0-old", got) is None
    assert got[0].remote == "127.0.0.1:5000/eb/edgebench-host-cpu-onnxruntime" and got[0].registry_tag == "0.1.0-abc"
    text = lock.read_text()
    image_lock.write([], lock)
    assert lock.read_text() == text, "a stable file to commit: same entries, same bytes"


def test_a_missing_lock_has_no_entries_and_the_env_names_another(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    assert image_lock.read(tmp_path / "none.lock") == []
    monkeypatch.setenv(image_lock.LOCK_ENV, str(tmp_path / "other.lock"))
    assert image_lock.lock_path() == tmp_path / "other.lock"


@pytest.mark.parametrize("content, key", [
    ("{not json", ""),
    (json.dumps({"images": {}}), "images"),
    (json.dumps({"images": [{"device": "x"}]}), "images[0].framework"),
    (json.dumps({"images": [dict(entry().__dict__, digest="md5:00")]}), "images[0].digest"),
    (json.dumps({"images": [dict(entry().__dict__, remote_tag=3)]}), "images[0].remote_tag"),
])
def test_bad_lock_names_file_and_key(tmp_path: Path, content: str, key: str) -> None:
    lock = tmp_path / "images.lock"
    lock.write_text(content)
    with pytest.raises(InputError) as e:
        image_lock.read(lock)
    assert e.value.file == str(lock) and e.value.key == key
