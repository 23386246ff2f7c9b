# host-cuda x TensorRT 10 (CUDA 13), amd64. The tensorrt-cu13 packages on PyPI are stubs that fetch the real
# wheels from NVIDIA's index at install time, so this installs from NVIDIA_INDEX_URL (pypi.nvidia.com in the
# lock; mirror it for offline builds) with every TensorRT part pinned; device buffers go through
# cuda-python (NVIDIA's CUDA bindings, wheels for CPython 3.11), as pycuda would need nvcc at build time.
# Build: edgebench images build --device host-cuda --framework tensorrt (no GPU needed to build)
ARG BASE_IMAGE=edgebench/base-debian12:amd64
FROM ${BASE_IMAGE}

ARG NUMPY_VERSION
ARG PSUTIL_VERSION
ARG NVIDIA_INDEX_URL
ARG TENSORRT_CU13_VERSION
ARG CUDA_PYTHON_VERSION

COPY build-ca.crt /tmp/build-ca.crt
RUN python3 -m venv /opt/venv \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile \
      --extra-index-url "${NVIDIA_INDEX_URL}" \
      "numpy==${NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" \
      "tensorrt-cu13==${TENSORRT_CU13_VERSION}" "tensorrt-cu13-libs==${TENSORRT_CU13_VERSION}" \
      "tensorrt-cu13-bindings==${TENSORRT_CU13_VERSION}" "cuda-python==${CUDA_PYTHON_VERSION}" \
 && /opt/venv/bin/pip check \
 && mkdir -p /opt/edgebench \
 && /opt/venv/bin/pip freeze --all > /opt/edgebench/pip-freeze.txt \
 && /opt/venv/bin/pip uninstall -y pip setuptools \
 && rm -f /tmp/build-ca.crt

# The run-time part of the suite, importable as edgebench.suite: the build context carries no artefacts/
# (host-only converters; cli/images.py HOST_ONLY), so editing one retags no image.
COPY suite /opt/edgebench/edgebench/suite
RUN printf '"""edgebench inside an image: only the suite."""\n' > /opt/edgebench/edgebench/__init__.py \
 && /opt/venv/bin/python -m compileall -q /opt/edgebench

ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/opt/edgebench \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
WORKDIR /tmp
USER 65534:65534
CMD ["python", "-m", "edgebench.suite", "backends"]

ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench host-cuda tensorrt" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="host-cuda" \
      org.edgebench.framework="tensorrt" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="numpy=${NUMPY_VERSION} tensorrt=${TENSORRT_CU13_VERSION} cuda-python=${CUDA_PYTHON_VERSION}"
