"""Every framework and every monitor, declared once, as plain data (imports no runtime; Python 3.6).

The suite discovers backends and monitors by name through it (backends.get, monitors.get), the backends
and monitors read their own precisions, placements and power flags from it, and the host reads it to
validate matrices and device profiles, estimate run times, key artefacts and rank power sources.

Adding a framework: its backend module (suite/backends/NAME_backend.py), one FRAMEWORKS entry here, and its
Dockerfile(s) under images/. Adding a monitor: its module (suite/monitors/NAME_monitor.py) and one MONITORS
entry here.
"""

from typing import Dict, List, NamedTuple, Optional, Tuple

PRECISIONS = ("fp32", "fp16", "int8")


class ArtefactFormat(NamedTuple):
    name: str
    suffix: str  # file name suffix of the artefact (model.SUFFIX)
    tools: Tuple[str, ...]  # distributions whose versions change the artefact (what the exporter imports)


class Framework(NamedTuple):
    name: str
    backend: str  # "module:Class" under edgebench.suite.backends
    artefact: Optional[str]  # the ArtefactFormat it reads; None: torch's state dict; "": none (mxnet builds its net)
    precisions: Tuple[str, ...]
    placements: Tuple[str, ...]
    pruned: bool  # runs pruned nets (torch modules, or their ONNX export)
    startup_s: float  # import + load estimate on a small x86 host (plan estimates only)


class MonitorInfo(NamedTuple):
    name: str
    module: str  # "module:Class" under edgebench.suite.monitors
    kind: str  # process, board, gpu, power-meter, io, estimate
    columns: Dict[str, str]  # monitor.jsonl column -> unit (a NAME pattern stands for one column per name)
    power: bool  # writes power_w rows (integrated to energy by cli/analysis/energy.py)
    estimate: bool  # power_w is a model's estimate, not a measurement
    priority: int  # power sources: lower is more direct (a meter on the supply before on-board rails)
    host: bool  # runs on any Linux host (kept on an emulated device profile)


# Distributions per artefact format; an EdgeTPU artefact adds edgetpu_compiler's version (cli/artifacts.py).
_TFLITE_TOOLS = ("tensorflow", "tensorflow-cpu", "keras", "ai-edge-litert")
FORMATS: Dict[str, ArtefactFormat] = {f.name: f for f in (
    ArtefactFormat("torch", "pt", ("torch", "torchvision")),
    ArtefactFormat("onnx", "onnx", ("torch", "torchvision", "onnx", "onnxruntime")),
    ArtefactFormat("tflite", "tflite", _TFLITE_TOOLS),
    ArtefactFormat("edgetpu", "tflite", _TFLITE_TOOLS),  # INT8 TFLite compiled by edgetpu_compiler
    ArtefactFormat("keras", "keras", ("tensorflow", "tensorflow-cpu", "keras")),  # Keras v3 model file
)}
PRUNE_TOOLS = ("torch-pruning",)  # added to the tools of any pruned net's artefact

FRAMEWORKS: Dict[str, Framework] = {f.name: f for f in (
    Framework("torch", "torch_backend:TorchBackend", None, ("fp32", "fp16"), ("cpu", "cuda"), True, 3.0),
    # fp16: weights and activations cast to float16 (I/O stays float32); int8: static QDQ quantisation.
    Framework("onnxruntime", "onnxruntime_backend:OnnxRuntimeBackend", "onnx", PRECISIONS,
              ("cpu", "cuda", "tensorrt"), True, 1.0),
    # usb/pci: pycoral's own device names for one EdgeTPU (placement "usb:1", "pci:0").
    Framework("tflite", "tflite_backend:TfliteBackend", "tflite", PRECISIONS, ("cpu", "edgetpu", "usb", "pci"),
              False, 1.0),
    # Engines are not portable: the target builds them from the fp32 ONNX artefact (backends/tensorrt_build.py).
    Framework("tensorrt", "tensorrt_backend:TensorRTBackend", "onnx", PRECISIONS, ("cuda", "dla"), True, 2.0),
    # A Keras application (.keras artefact) or a SavedModel folder as one tf.function; fp16: mixed_float16.
    # startup_s: import 10-15 s + load 4-5 s + trace 3-4 s of mobilenet_v2/resnet50 on the 2-core CI host
    # (benchmarks/tensorflow_backend.py, medians of 3 rounds on a loaded machine).
    Framework("tensorflow", "tensorflow_backend:TensorflowBackend", "keras", ("fp32", "fp16"), ("cpu", "cuda"),
              False, 18.0),
    # Gluon model-zoo nets built in the backend (random init or a .params file); fp16 on a GPU context only.
    Framework("mxnet", "mxnet_backend:MxnetBackend", "", ("fp32", "fp16"), ("cpu", "cuda"), False, 2.0),
)}

# Units: MiB = 2**20 bytes (every *_mb column), W, %, MHz, degC, V, A, kWh, s, Mbit/s (10**6 bits/s).
MONITORS: Dict[str, MonitorInfo] = {m.name: m for m in (
    MonitorInfo("psutil", "psutil_monitor:PsutilMonitor", "process", {
        "proc_cpu_percent": "%", "sys_cpu_percent": "%", "rss_mb": "MiB", "pss_mb": "MiB", "uss_mb": "MiB",
        "sys_mem_used_mb": "MiB", "swap_used_mb": "MiB", "cgroup_mem_mb": "MiB", "cgroup_swap_mb": "MiB"},
        False, False, 99, True),
    MonitorInfo("ina219", "ina219_monitor:Ina219Monitor", "power-meter", {
        "power_w": "W", "bus_v": "V", "supply_v": "V", "current_a": "A"}, True, False, 0, False),
    MonitorInfo("jtop", "jtop_monitor:JtopMonitor", "board", {
        "power_w": "W", "rail_NAME_w": "W", "temp_NAME_c": "degC", "cpu_util_percent": "%",
        "gpu_util_percent": "%", "emc_util_percent": "%", "gpu_freq_mhz": "MHz", "ram_used_fraction": "1",
        "cpu_count": "1", "cpu_online": "1"}, True, False, 1, False),
    MonitorInfo("tegrastats", "tegrastats_monitor:TegrastatsMonitor", "board", {
        "power_w": "W", "rail_NAME_w": "W", "temp_NAME_c": "degC", "cpu_util_percent": "%",
        "gpu_util_percent": "%", "emc_util_percent": "%", "gpu_freq_mhz": "MHz", "emc_freq_mhz": "MHz",
        "cpu_freq_mhz_max": "MHz", "cpu_count": "1", "cpu_online": "1", "ram_used_mb": "MiB", "ram_total_mb": "MiB",
        "swap_used_mb": "MiB", "swap_total_mb": "MiB"}, True, False, 2, False),
    MonitorInfo("nvml", "nvml_monitor:NvmlMonitor", "gpu", {
        "power_w": "W", "gpu_util_percent": "%", "gpu_mem_util_percent": "%", "gpu_mem_used_mb": "MiB",
        "gpu_freq_mhz": "MHz", "temp_gpu_c": "degC"}, True, False, 3, False),
    MonitorInfo("codecarbon", "codecarbon_monitor:CodecarbonMonitor", "estimate", {
        "power_w": "W", "cpu_power_w": "W", "ram_power_w": "W", "gpu_power_w": "W", "energy_kwh": "kWh"},
        True, True, 4, True),
    MonitorInfo("usb", "usb_monitor:UsbMonitor", "io", {
        "usb_in_mbps": "Mbit/s", "usb_out_mbps": "Mbit/s"}, False, False, 99, False),
)}


def framework(name: str) -> Framework:
    """The entry for `name`; KeyError names the known ones."""
    if name not in FRAMEWORKS:
        raise KeyError("unknown framework %r; known: %s" % (name, ", ".join(sorted(FRAMEWORKS))))
    return FRAMEWORKS[name]


def monitor(name: str) -> MonitorInfo:
    if name not in MONITORS:
        raise KeyError("unknown monitor %r; known: %s" % (name, ", ".join(sorted(MONITORS))))
    return MONITORS[name]


def power_sources() -> List[str]:
    """Monitors that write power_w, most direct first: measurements before estimates, then by priority."""
    return [m.name for m in sorted(MONITORS.values(), key=lambda m: (m.estimate, m.priority)) if m.power]


def format_of(framework_name: str) -> str:
    """The artefact format a framework's runs read (torch: its own state dict format; "": none)."""
    fmt = FRAMEWORKS[framework_name].artefact
    return "torch" if fmt is None else fmt


def frameworks_reading(fmt: str) -> List[str]:
    """Frameworks whose runs read artefacts of `fmt` (edgetpu: the TFLite runtime with its delegate)."""
    fmt = "tflite" if fmt == "edgetpu" else fmt
    return sorted(f.name for f in FRAMEWORKS.values() if format_of(f.name) == fmt)
