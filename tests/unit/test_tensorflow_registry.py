"""framework `tensorflow` as the host sees it: registry, zoo, artefacts and run ids (no TensorFlow imported)."""

from edgebench.cli.artifacts import artifact_for
from edgebench.suite import registry
from edgebench.suite.nets import zoo
from edgebench.suite.spec import RunSpec, StreamSpec


def test_registry_declares_tensorflow_reading_keras_files() -> None:
    fw = registry.framework("tensorflow")
    assert fw.artefact == "keras" and fw.precisions == ("fp32", "fp16") and fw.placements == ("cpu", "cuda")
    assert registry.FORMATS["keras"].suffix == "keras" and "tensorflow-cpu" in registry.FORMATS["keras"].tools
    assert registry.frameworks_reading("keras") == ["tensorflow"]
    assert list(registry.FRAMEWORKS).index("tensorflow") == list(registry.FRAMEWORKS).index("tensorrt") + 1


def test_tensorflow_runs_the_keras_applications_mobilenet_v1_included() -> None:
    assert zoo.models("tensorflow") == sorted(zoo.KERAS) and "mobilenet_v1" in zoo.models("tensorflow")
    assert "mobilenet_v1" in zoo.models("tflite")  # LiteRT converts the same Keras MobileNet
    assert zoo.default_shape("inception_v3", "tensorflow") == (3, 299, 299)
    assert zoo.can_run("tensorflow", "mobilenet_v1", "fp16") == ""
    assert "unknown model 'resnet18' for tensorflow" in zoo.can_run("tensorflow", "resnet18", "fp32")
    assert "not 'int8'" in zoo.can_run("tensorflow", "resnet50", "int8")
    assert "resnet50+pruned-taylor-50" not in zoo.models("tensorflow")


def test_fp16_cells_share_the_fp32_keras_artefact() -> None:
    """mixed_float16 is applied at load: both precisions read one .keras file (one export, same weights)."""
    arts = [artifact_for(RunSpec(model="mobilenet_v2", framework="tensorflow", precision=p)) for p in ("fp32", "fp16")]
    assert arts[0] is not None and arts[0] == arts[1]
    assert arts[0].format == "keras" and arts[0].relpath == "keras-mobilenet_v2-3x224x224-c1000-s0/model.keras"


def test_jit_compile_defaults_off_and_changes_the_run_id_only_when_set() -> None:
    plain = RunSpec(model="resnet50", framework="tensorflow")
    assert plain.jit_compile is False and StreamSpec(model="m", framework="tensorflow").jit_compile is False
    xla = RunSpec(model="resnet50", framework="tensorflow", jit_compile=True)
    assert xla.run_id != plain.run_id and xla.stream_specs()[0].jit_compile is True
    again = RunSpec.from_dict(xla.to_dict())
    assert again.jit_compile is True and again.run_id == xla.run_id
