# JetPack 4.6 (L4T r32.6.1) x TensorRT 8.0.1 with pycuda: Jetson Nano (P1, P4), TX2, Xavier NX.
# TensorRT 8.0.1 and its Python bindings are mounted from the host by the nvidia runtime (JetPack 4's
# tensorrt.csv), like CUDA; pycuda is compiled here against the host's CUDA 10.2, so this image builds
# ON a Jetson whose Docker daemon has "default-runtime": "nvidia" (jetson-containers' documented
# requirement), never under QEMU. pycuda 2022.1 is the last release for Python 3.6 (jetson-containers'
# packages/cuda/pycuda/config.py). Base: l4t-pytorch, for its Python 3.6 headers, pip and numpy (NVIDIA
# ships no smaller r32.6.1 image with a Python toolchain; torch itself is unused by the TensorRT runs).
# Build: edgebench images build --device jetson-nano --framework tensorrt   (on the device)
ARG BASE_IMAGE=nvcr.io/nvidia/l4t-pytorch:r32.6.1-pth1.9-py3
FROM ${BASE_IMAGE}

ARG JP4_PSUTIL_VERSION
ARG JP4_DATACLASSES_VERSION
ARG JP4_PYCUDA_VERSION
ARG JP4_MAKO_VERSION
ARG JP4_APPDIRS_VERSION
ARG JETSON_STATS_VERSION
ARG SMBUS2_VERSION
ARG DISTRO_VERSION

ENV CUDA_HOME=/usr/local/cuda \
    PATH=/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY build-ca.crt /tmp/build-ca.crt
RUN test -x /usr/local/cuda/bin/nvcc || { echo "no CUDA at build time: build on a Jetson with Docker's default-runtime set to nvidia" >&2; exit 1; } \
 && PIP_CERT=/tmp/build-ca.crt python3 -m pip install --no-cache-dir --no-compile \
      "psutil==${JP4_PSUTIL_VERSION}" "dataclasses==${JP4_DATACLASSES_VERSION}" \
      "mako==${JP4_MAKO_VERSION}" "appdirs==${JP4_APPDIRS_VERSION}" "pycuda==${JP4_PYCUDA_VERSION}" \
      "jetson-stats==${JETSON_STATS_VERSION}" "smbus2==${SMBUS2_VERSION}" "distro==${DISTRO_VERSION}" \
 && mkdir -p /opt/edgebench \
 && python3 -m pip freeze > /opt/edgebench/pip-freeze.txt \
 && rm -f /tmp/build-ca.crt

# The run-time part of the suite, importable as edgebench.suite: the build context carries no artefacts/
# (host-only converters; cli/images.py HOST_ONLY), so editing one retags no image.
COPY suite /opt/edgebench/edgebench/suite
RUN printf '"""edgebench inside an image: only the suite."""\n' > /opt/edgebench/edgebench/__init__.py \
 && python3 -m compileall -q /opt/edgebench

ENV PYTHONPATH=/opt/edgebench \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
CMD ["python3", "-m", "edgebench.suite", "backends"]

ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench jetpack-4.6 tensorrt" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="jetson-nano jetson-tx2 jetson-xavier-nx" \
      org.edgebench.framework="tensorrt" \
      org.edgebench.l4t="32.6.1" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="tensorrt=8.0.1(host) pycuda=${JP4_PYCUDA_VERSION} psutil=${JP4_PSUTIL_VERSION}"
