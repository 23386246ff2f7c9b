"""Pruned nets as torch artefacts: made through the cache, restored by the torch backend with Torch-Pruning.

The loaded net must be the pruned one (its MACs equal the manifest's macs_after, its outputs equal those
of the pruned net built in this process), at fp32 and fp16.
"""

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tests.conftest import has_module, need

pytestmark = pytest.mark.integration

MODEL = "resnet18+pruned-magnitude-30"
SHAPE = (3, 32, 32)
CLASSES = 10


def _need() -> None:
    need(has_module("torch") and has_module("torchvision"), "torch and torchvision are not installed")
    need(has_module("torch_pruning"), "torch-pruning is not installed (pip install torch-pruning)")


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    _need()
    from edgebench.cli import artifacts

    models = tmp_path_factory.mktemp("models")
    art = artifacts.Artifact("torch", MODEL, SHAPE, CLASSES, 0)
    return models / art.relpath, artifacts.ensure(art, models)


def _backend(path: Path, precision: str = "fp32") -> Any:
    from edgebench.suite.backends.torch_backend import TorchBackend
    from edgebench.suite.spec import RunSpec

    b = TorchBackend(RunSpec(model=MODEL, framework="torch", precision=precision, batch_size=2, input_shape=SHAPE,
                             num_classes=CLASSES, artifact=str(path)))
    b.load()
    return b


def test_manifest_records_the_pruning(made: tuple[Path, dict]) -> None:
    path, man = made
    p = man["pruning"]
    assert man["format"] == "torch" and man["model"] == MODEL
    assert p["importance"] == "magnitude" and p["target_flops_share"] == 0.3
    assert 0.3 <= p["achieved_flops_share"] < 0.42 and p["macs_after"] < 0.7 * p["macs_before"]
    assert p["flops_after"] == 2 * p["macs_after"] and p["params_after"] < p["params_before"]
    assert man["parameters"] == p["params_after"]
    assert man["check"]["max_rel_diff"] <= 1e-4 and man["check"]["macs_loaded"] == p["macs_after"]
    assert man["versions"]["torch-pruning"] == man["key_inputs"]["versions"]["torch-pruning"]
    # Tensors and plain data only: a safe torch.load (no pickled modules or code) reads it.
    import torch

    blob = torch.load(str(path), map_location="cpu", weights_only=True)
    assert blob["kind"] == "edgebench.pruned-torch" and blob["model"] == MODEL


def test_backend_loads_the_pruned_net(made: tuple[Path, dict]) -> None:
    import torch
    from edgebench.suite.artefacts import export, flops

    path, man = made
    b = _backend(path)
    assert b.model is not None
    counted = flops.count(b.model, SHAPE)
    assert counted["macs"] == man["pruning"]["macs_after"]
    assert counted["params"] == man["pruning"]["params_after"]
    base_macs = flops.count(export.calibrated_model("resnet18", SHAPE, CLASSES), SHAPE)["macs"]
    assert counted["macs"] < 0.7 * base_macs  # not the unpruned base net
    assert b.versions()["torch-pruning"] == man["versions"]["torch-pruning"]
    # The same pruned net, made again in this process (pruning is deterministic), answers the same.
    net, info = export.build_torch(MODEL, SHAPE, CLASSES, 0)
    assert info["pruning"]["macs_after"] == man["pruning"]["macs_after"]
    x = np.random.RandomState(3).standard_normal((2,) + SHAPE).astype(np.float32)
    with torch.no_grad():
        want = net(torch.from_numpy(x)).numpy()
    got = b.output(x)
    assert got.shape == (2, CLASSES)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(np.abs(want).max()))


def test_backend_runs_the_pruned_net_at_fp16(made: tuple[Path, dict]) -> None:
    import torch
    from edgebench.suite.artefacts.agreement import agreement

    path, _ = made
    b32, b16 = _backend(path), _backend(path, "fp16")
    assert b16.model is not None and next(b16.model.parameters()).dtype == torch.float16
    x = np.random.RandomState(4).standard_normal((2,) + SHAPE).astype(np.float32)
    diff = agreement(b32.output(x), b16.output(x))
    # float16 keeps ~3 significant digits; a wrong structure or weights would differ by O(1).
    assert diff["max_rel_diff"] < 2e-2, diff
    assert diff["top1_agreement"] == 1.0


def test_wrong_artefacts_are_refused_clearly(made: tuple[Path, dict], tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import torch
    from edgebench.suite.nets import NetUnavailable
    from edgebench.suite.nets.torchvision_nets import load_model

    path, _ = made
    plain = tmp_path / "plain.pt"
    torch.save({"weight": torch.zeros(1)}, str(plain))
    with pytest.raises(NetUnavailable, match="not a pruned torch artefact"):
        load_model(MODEL, CLASSES, str(plain))
    with pytest.raises(NetUnavailable, match="needs its artefact"):
        load_model(MODEL, CLASSES, None)
    # Where torch-pruning is not installed (a None entry makes `import torch_pruning` raise ImportError).
    monkeypatch.setitem(sys.modules, "torch_pruning", None)
    with pytest.raises(NetUnavailable, match=r"pip install torch-pruning==1\.6\.1"):
        load_model(MODEL, CLASSES, str(path))
