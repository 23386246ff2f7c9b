# JetPack 6.1 (L4T r36.4.0) x PyTorch: Jetson Orin Nano (JetPack 6.1 and 6.2 hosts).
# Base: NVIDIA's l4t-jetpack r36.4.0 (CUDA 12.6, cuDNN 9.3, TensorRT 10.3 inside the image: from JetPack 6
# on, the host no longer lends CUDA to containers). PyTorch: NVIDIA's 2.5.0a0+872d972e41.nv24.08 wheel for
# JetPack 6.1 (developer.download.nvidia.com/compute/redist/jp/v61/pytorch/; "Installing PyTorch for Jetson
# Platform"), not on any index: fetched by URL and checked against the sha256 in the lock. It wants
# numpy < 2, OpenBLAS and cuSPARSELt. Builds under QEMU too (nothing here runs CUDA at build time).
# NO TORCHVISION: the torch backend builds every net from torchvision.models, so torch cells fail here until
# one is added. It must be built against this very torch (torchvision 0.20.0 pairs with torch 2.5). NVIDIA
# publishes none beside this wheel; PyPI's aarch64 0.20.0 is a CPU build that requires torch==2.5.0 (which
# 2.5.0a0 does not satisfy) and whose ops, if they fail to load, make it fail at import ("operator
# torchvision::nms does not exist": _meta_registrations registers it unguarded); jetson-ai-lab's index builds
# against its own torch. The known way is a source build of pytorch/vision v0.20.0 (commit afc54f754c73...,
# FORCE_CUDA=1, TORCH_CUDA_ARCH_LIST=8.7) on the device or in a build stage; that needs GitHub and pinned
# Ubuntu build packages, and was not done here (no route to either from where this was written).
# torch-pruning (pure Python, Python >= 3.7, torch >= 2.0) is installed for pruned nets once that is in.
# Build: edgebench images build --device jetson-orin-nano --framework torch
ARG BASE_IMAGE=nvcr.io/nvidia/l4t-jetpack:r36.4.0
FROM ${BASE_IMAGE}

ARG JP6_PYTHON3_PIP_DEB
ARG JP6_LIBOPENBLAS_DEB
ARG JP6_CUSPARSELT_URL
ARG JP6_CUSPARSELT_SHA256
ARG JP6_TORCH_WHEEL_URL
ARG JP6_TORCH_WHEEL_SHA256
ARG JP6_NUMPY_VERSION
ARG PSUTIL_VERSION
ARG FILELOCK_VERSION
ARG FSSPEC_VERSION
ARG JINJA2_VERSION
ARG MARKUPSAFE_VERSION
ARG MPMATH_VERSION
ARG NETWORKX_VERSION
ARG SYMPY_VERSION
ARG TYPING_EXTENSIONS_VERSION
ARG JETSON_STATS_VERSION
ARG SMBUS2_VERSION
ARG DISTRO_VERSION
ARG TORCH_PRUNING_VERSION

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY build-ca.crt /tmp/build-ca.crt
WORKDIR /tmp
# A download is used only when its sha256 matches the lock; `unverified` there stops the build. The torch
# wheel is a file checked that way, not a name pip resolves (hence DL3013 does not apply).
# hadolint ignore=DL3013
RUN check() { [[ "$2" =~ ^[0-9a-f]{64}$ ]] || { echo "lock: sha256 of $1 is '$2'; fetch it once and set it" >&2; exit 1; }; \
              echo "$2  $1" | sha256sum -c -; } \
 && apt-get update \
 && apt-get install -y --no-install-recommends "python3-pip=${JP6_PYTHON3_PIP_DEB}" "libopenblas0=${JP6_LIBOPENBLAS_DEB}" \
 && rm -rf /var/lib/apt/lists/* \
 && curl --fail --location --cacert /tmp/build-ca.crt -o cusparselt.tar.xz "${JP6_CUSPARSELT_URL}" \
 && check cusparselt.tar.xz "${JP6_CUSPARSELT_SHA256}" \
 && tar -xJf cusparselt.tar.xz --strip-components=1 -C /usr/local/cuda --wildcards '*/lib/*' '*/include/*' \
 && rm cusparselt.tar.xz \
 && wheel="/tmp/$(basename "${JP6_TORCH_WHEEL_URL}")" \
 && curl --fail --location --cacert /tmp/build-ca.crt -o "${wheel}" "${JP6_TORCH_WHEEL_URL}" \
 && check "${wheel}" "${JP6_TORCH_WHEEL_SHA256}" \
 && PIP_CERT=/tmp/build-ca.crt python3 -m pip install --no-cache-dir --no-compile \
      "numpy==${JP6_NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" \
      "filelock==${FILELOCK_VERSION}" "fsspec==${FSSPEC_VERSION}" "jinja2==${JINJA2_VERSION}" \
      "markupsafe==${MARKUPSAFE_VERSION}" "mpmath==${MPMATH_VERSION}" "networkx==${NETWORKX_VERSION}" \
      "sympy==${SYMPY_VERSION}" "typing-extensions==${TYPING_EXTENSIONS_VERSION}" \
      "jetson-stats==${JETSON_STATS_VERSION}" "smbus2==${SMBUS2_VERSION}" "distro==${DISTRO_VERSION}" \
 && PIP_CERT=/tmp/build-ca.crt python3 -m pip install --no-cache-dir --no-compile --no-deps "${wheel}" \
      "torch-pruning==${TORCH_PRUNING_VERSION}" \
 && rm -f "${wheel}" /tmp/build-ca.crt \
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
LABEL org.opencontainers.image.title="edgebench jetpack-6.1 torch" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="jetson-orin-nano" \
      org.edgebench.framework="torch" \
      org.edgebench.l4t="36.4.0" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="torch=2.5.0a0+872d972e41.nv24.08 torchvision=none torch-pruning=${TORCH_PRUNING_VERSION} numpy=${JP6_NUMPY_VERSION} psutil=${PSUTIL_VERSION}"
