# Debian 12 arm64 x PyTorch (CPU build): Raspberry Pi 5 and ODROID-N2 (P2's PyTorch runs).
# PyPI's aarch64 torch wheels pull CUDA 13 libraries (built for Grace/GB200); the CPU-only aarch64 wheels
# come from TORCH_INDEX_URL (download.pytorch.org/whl/cpu in the lock: point it at a mirror offline).
# torch and torchvision are installed without dependencies and each dependency is pinned from the lock
# instead; torchvision comes from the same index as torch (PyPI's aarch64 torchvision is a CUDA build).
# torch-pruning restores pruned nets (resnet18+pruned-magnitude-30 and the like) at load time.
# setuptools is pinned and kept: torch declares setuptools >= 77.0.3 and the venv's own 66.1 fails pip check.
# Build: edgebench images build --device rpi5 --framework torch (arm64; under QEMU on an x86 host).
ARG BASE_IMAGE=edgebench/base-debian12:arm64
FROM ${BASE_IMAGE}

ARG NUMPY_VERSION
ARG PSUTIL_VERSION
ARG TORCH_VERSION
ARG TORCH_INDEX_URL
ARG FILELOCK_VERSION
ARG FSSPEC_VERSION
ARG JINJA2_VERSION
ARG MARKUPSAFE_VERSION
ARG MPMATH_VERSION
ARG NETWORKX_VERSION
ARG SYMPY_VERSION
ARG TYPING_EXTENSIONS_VERSION
ARG SETUPTOOLS_VERSION
ARG TORCHVISION_VERSION
ARG PILLOW_VERSION
ARG TORCH_PRUNING_VERSION

COPY build-ca.crt /tmp/build-ca.crt
RUN python3 -m venv /opt/venv \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      "numpy==${NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" \
      "filelock==${FILELOCK_VERSION}" "fsspec==${FSSPEC_VERSION}" "jinja2==${JINJA2_VERSION}" \
      "markupsafe==${MARKUPSAFE_VERSION}" "mpmath==${MPMATH_VERSION}" "networkx==${NETWORKX_VERSION}" \
      "sympy==${SYMPY_VERSION}" "typing-extensions==${TYPING_EXTENSIONS_VERSION}" \
      "setuptools==${SETUPTOOLS_VERSION}" "pillow==${PILLOW_VERSION}" \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      --no-deps --index-url "${TORCH_INDEX_URL}" "torch==${TORCH_VERSION}" \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      --no-deps --index-url "${TORCH_INDEX_URL}" "torchvision==${TORCHVISION_VERSION}" \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      --no-deps "torch-pruning==${TORCH_PRUNING_VERSION}" \
 && /opt/venv/bin/pip check \
 && mkdir -p /opt/edgebench \
 && /opt/venv/bin/pip freeze --all > /opt/edgebench/pip-freeze.txt \
 && /opt/venv/bin/pip uninstall -y pip \
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
    HOME=/tmp
WORKDIR /tmp
USER 65534:65534
CMD ["python", "-m", "edgebench.suite", "backends"]

ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench debian-arm64 torch (CPU)" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="rpi5 odroid-n2" \
      org.edgebench.framework="torch" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="numpy=${NUMPY_VERSION} psutil=${PSUTIL_VERSION} torch=${TORCH_VERSION} torchvision=${TORCHVISION_VERSION} pillow=${PILLOW_VERSION} torch-pruning=${TORCH_PRUNING_VERSION}"
