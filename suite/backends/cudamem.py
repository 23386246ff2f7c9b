"""Device buffers, one CUDA stream and events for the TensorRT backend, through the library the image has.

JetPack images carry pycuda (images/jetson-*/tensorrt.Dockerfile), the host-cuda image carries cuda-python
(NVIDIA's cudart bindings; `cuda.bindings.runtime` since 12.x, `cuda.cudart` before, removed in 13.0).
Both drive the device's primary context, the one TensorRT's runtime uses. Nothing here runs without a GPU.
"""

import ctypes
import importlib.util
from typing import Any, Dict, List, Optional, Tuple

import numpy as np


class CudaError(RuntimeError):
    """A CUDA call failed; `oom` says whether it was an allocation failure."""

    def __init__(self, message: str, oom: bool = False) -> None:
        super().__init__(message)
        self.oom = oom


def _has(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing
        return False


def libraries() -> List[str]:
    """The device-memory libraries installed here, in the order they are tried."""
    found = []
    if _has("pycuda"):
        found.append("pycuda")
    if _has("cuda.bindings") or _has("cuda.cudart"):
        found.append("cuda-python")
    return found


class Device:
    """One device, one stream. Subclasses implement the calls with their library."""

    library = ""

    def alloc(self, nbytes: int) -> int:
        raise NotImplementedError

    def pinned(self, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
        raise NotImplementedError

    def htod(self, dptr: int, host: np.ndarray) -> None:
        """Queue a host-to-device copy on the stream."""
        raise NotImplementedError

    def dtoh(self, host: np.ndarray, dptr: int) -> None:
        raise NotImplementedError

    @property
    def stream_handle(self) -> int:
        raise NotImplementedError

    def sync(self) -> None:
        raise NotImplementedError

    def event(self) -> Any:
        raise NotImplementedError

    def record(self, ev: Any) -> None:
        raise NotImplementedError

    def elapsed_s(self, start: Any, end: Any) -> float:
        """Seconds between two recorded events, after waiting for the second."""
        raise NotImplementedError

    def info(self) -> Dict[str, Any]:
        """name, compute_capability "X.Y", total_memory_bytes, integrated (Jetson: shared memory)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class PycudaDevice(Device):
    library = "pycuda"

    def __init__(self, index: int = 0) -> None:
        import pycuda.driver as cuda

        self.cuda = cuda
        try:
            cuda.init()
            if cuda.Device.count() <= index:
                raise CudaError("pycuda sees %d CUDA device(s); device %d asked" % (cuda.Device.count(), index))
            self.dev = cuda.Device(index)
            # The primary context is the one TensorRT (cudart) uses; pycuda.autoinit would make another.
            self.ctx = self.dev.retain_primary_context()
            self.ctx.push()
            self.stream = cuda.Stream()
        except cuda.Error as e:
            raise CudaError("pycuda: %s" % e, oom=isinstance(e, cuda.MemoryError)) from e
        self._allocs: List[Any] = []

    def alloc(self, nbytes: int) -> int:
        try:
            a = self.cuda.mem_alloc(max(1, int(nbytes)))
        except self.cuda.MemoryError as e:
            raise CudaError("pycuda: cannot allocate %d bytes on the device: %s" % (nbytes, e), oom=True) from e
        self._allocs.append(a)
        return int(a)

    def pinned(self, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
        return self.cuda.pagelocked_empty(tuple(shape), dtype)  # type: ignore[no-any-return,unused-ignore]

    def htod(self, dptr: int, host: np.ndarray) -> None:
        self.cuda.memcpy_htod_async(dptr, host, self.stream)

    def dtoh(self, host: np.ndarray, dptr: int) -> None:
        self.cuda.memcpy_dtoh_async(host, dptr, self.stream)

    @property
    def stream_handle(self) -> int:
        return int(self.stream.handle)

    def sync(self) -> None:
        self.stream.synchronize()

    def event(self) -> Any:
        return self.cuda.Event()

    def record(self, ev: Any) -> None:
        ev.record(self.stream)

    def elapsed_s(self, start: Any, end: Any) -> float:
        end.synchronize()
        return float(end.time_since(start)) / 1000.0

    def info(self) -> Dict[str, Any]:
        major, minor = self.dev.compute_capability()
        integrated = self.dev.get_attribute(self.cuda.device_attribute.INTEGRATED)
        return {"name": str(self.dev.name()), "compute_capability": "%d.%d" % (major, minor),
                "total_memory_bytes": int(self.dev.total_memory()), "integrated": bool(integrated),
                "library": "pycuda"}

    def close(self) -> None:
        for a in self._allocs:
            a.free()
        self._allocs = []
        try:
            self.ctx.pop()
            self.ctx.detach()
        except self.cuda.Error:
            pass


def _cudart() -> Any:
    try:
        from cuda.bindings import runtime  # cuda-python >= 12.6 (the only path in 13.x)
        return runtime
    except ImportError:
        from cuda import cudart  # cuda-python 11.x / 12.x
        return cudart


class CudartDevice(Device):
    library = "cuda-python"

    def __init__(self, index: int = 0) -> None:
        self.rt = _cudart()
        self.index = index
        self._allocs: List[int] = []
        self._hosts: List[int] = []
        self._check(self.rt.cudaSetDevice(index), "cudaSetDevice(%d)" % index)
        self.stream = self._check(self.rt.cudaStreamCreate(), "cudaStreamCreate")

    def _check(self, result: Any, what: str) -> Any:
        """cuda-python returns (err, value...); raise on err, else return the value."""
        err = result[0]
        if err != self.rt.cudaError_t.cudaSuccess:
            _, text = self.rt.cudaGetErrorString(err)
            name = getattr(err, "name", str(err))
            oom = err == self.rt.cudaError_t.cudaErrorMemoryAllocation
            raise CudaError("%s failed: %s (%s)" % (what, name, text.decode() if isinstance(text, bytes) else text),
                            oom=oom)
        return result[1] if len(result) == 2 else result[1:]

    def alloc(self, nbytes: int) -> int:
        ptr = int(self._check(self.rt.cudaMalloc(max(1, int(nbytes))), "cudaMalloc(%d)" % nbytes))
        self._allocs.append(ptr)
        return ptr

    def pinned(self, shape: Tuple[int, ...], dtype: Any) -> np.ndarray:
        dt = np.dtype(dtype)
        nbytes = int(np.prod(shape)) * dt.itemsize
        ptr = int(self._check(self.rt.cudaMallocHost(max(1, nbytes)), "cudaMallocHost(%d)" % nbytes))
        self._hosts.append(ptr)
        raw = (ctypes.c_byte * max(1, nbytes)).from_address(ptr)
        return np.frombuffer(raw, dtype=dt, count=int(np.prod(shape))).reshape(shape)

    def htod(self, dptr: int, host: np.ndarray) -> None:
        self._check(self.rt.cudaMemcpyAsync(dptr, host.ctypes.data, host.nbytes,
                                            self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice, self.stream),
                    "cudaMemcpyAsync(HtoD)")

    def dtoh(self, host: np.ndarray, dptr: int) -> None:
        self._check(self.rt.cudaMemcpyAsync(host.ctypes.data, dptr, host.nbytes,
                                            self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost, self.stream),
                    "cudaMemcpyAsync(DtoH)")

    @property
    def stream_handle(self) -> int:
        return int(self.stream)

    def sync(self) -> None:
        self._check(self.rt.cudaStreamSynchronize(self.stream), "cudaStreamSynchronize")

    def event(self) -> Any:
        return self._check(self.rt.cudaEventCreate(), "cudaEventCreate")

    def record(self, ev: Any) -> None:
        self._check(self.rt.cudaEventRecord(ev, self.stream), "cudaEventRecord")

    def elapsed_s(self, start: Any, end: Any) -> float:
        self._check(self.rt.cudaEventSynchronize(end), "cudaEventSynchronize")
        return float(self._check(self.rt.cudaEventElapsedTime(start, end), "cudaEventElapsedTime")) / 1000.0

    def info(self) -> Dict[str, Any]:
        prop = self._check(self.rt.cudaGetDeviceProperties(self.index), "cudaGetDeviceProperties")
        name = prop.name
        if isinstance(name, bytes):
            name = name.split(b"\x00", 1)[0].decode("utf-8", "replace")
        return {"name": str(name), "compute_capability": "%d.%d" % (prop.major, prop.minor),
                "total_memory_bytes": int(prop.totalGlobalMem), "integrated": bool(prop.integrated),
                "library": "cuda-python"}

    def close(self) -> None:
        for p in self._allocs:
            self.rt.cudaFree(p)
        for p in self._hosts:
            self.rt.cudaFreeHost(p)
        self._allocs, self._hosts = [], []
        self.rt.cudaStreamDestroy(self.stream)


def open_device(index: int = 0, prefer: Optional[str] = None) -> Device:
    """The first library that is installed (pycuda, then cuda-python); CudaError when none can open the device."""
    libs = libraries()
    if prefer in libs:
        libs = [prefer] + [x for x in libs if x != prefer]
    if not libs:
        raise CudaError("no CUDA buffer library here: the TensorRT backend needs pycuda or cuda-python")
    if libs[0] == "pycuda":
        return PycudaDevice(index)
    return CudartDevice(index)
