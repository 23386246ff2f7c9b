# JetPack 6.1 (L4T r36.4.0) x TensorRT 10.3 with pycuda: Jetson Orin Nano.
# l4t-jetpack r36.4.0 carries TensorRT 10.3 with its Python 3.10 bindings and the CUDA 12.6 toolkit (nvcc
# included), so pycuda compiles at build time without the device (under QEMU too, slowly).
# Build: edgebench images build --device jetson-orin-nano --framework tensorrt
ARG BASE_IMAGE=nvcr.io/nvidia/l4t-jetpack:r36.4.0
FROM ${BASE_IMAGE}

ARG JP6_PYTHON3_PIP_DEB
ARG JP6_NUMPY_VERSION
ARG PSUTIL_VERSION
ARG JP6_PYCUDA_VERSION
ARG JP6_PYTOOLS_VERSION
ARG JP6_PLATFORMDIRS_VERSION
ARG JP6_SIPHASH24_VERSION
ARG JP6_MAKO_VERSION
ARG MARKUPSAFE_VERSION
ARG TYPING_EXTENSIONS_VERSION
ARG JETSON_STATS_VERSION
ARG SMBUS2_VERSION
ARG DISTRO_VERSION

ENV CUDA_HOME=/usr/local/cuda \
    PATH=/usr/local/cuda/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
COPY build-ca.crt /tmp/build-ca.crt
RUN apt-get update \
 && apt-get install -y --no-install-recommends "python3-pip=${JP6_PYTHON3_PIP_DEB}" \
 && rm -rf /var/lib/apt/lists/* \
 && PIP_CERT=/tmp/build-ca.crt python3 -m pip install --no-cache-dir --no-compile \
      "numpy==${JP6_NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" \
      "pycuda==${JP6_PYCUDA_VERSION}" "pytools==${JP6_PYTOOLS_VERSION}" \
      "platformdirs==${JP6_PLATFORMDIRS_VERSION}" "siphash24==${JP6_SIPHASH24_VERSION}" \
      "mako==${JP6_MAKO_VERSION}" "markupsafe==${MARKUPSAFE_VERSION}" \
      "typing-extensions==${TYPING_EXTENSIONS_VERSION}" \
      "jetson-stats==${JETSON_STATS_VERSION}" "smbus2==${SMBUS2_VERSION}" "distro==${DISTRO_VERSION}" \
 && rm -f /tmp/build-ca.crt \
 && mkdir -p /opt/edgebench \
 && python3 -m pip freeze > /opt/edgebench/pip-freeze.txt

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
LABEL org.opencontainers.image.title="edgebench jetpack-6.1 tensorrt" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="jetson-orin-nano" \
      org.edgebench.framework="tensorrt" \
      org.edgebench.l4t="36.4.0" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="tensorrt=10.3(base) pycuda=${JP6_PYCUDA_VERSION} numpy=${JP6_NUMPY_VERSION}"
