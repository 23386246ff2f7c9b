# host-cuda x PyTorch (CUDA), amd64. PyPI's torch 2.14.1 wheel brings its CUDA 13.0 runtime as pip packages
# (cuda-toolkit 13.0.3, cuDNN 9.24, NCCL, cuSPARSELt, Triton), pinned by torch itself with ==; the host needs
# only the NVIDIA driver (>= 580 for CUDA 13) and nvidia-container-toolkit. torch's pure-Python
# dependencies are pinned from the lock. PyPI's torchvision 0.29.1 is the matching CUDA 13.0 build
# (+cu130); it goes in without dependencies after torch so it cannot pull another torch. torch-pruning
# restores pruned nets (resnet18+pruned-magnitude-30 and the like) at load time.
# Build: edgebench images build --device host-cuda --framework torch (no GPU needed to build)
ARG BASE_IMAGE=edgebench/base-debian12:amd64
FROM ${BASE_IMAGE}

ARG NUMPY_VERSION
ARG PSUTIL_VERSION
ARG TORCH_VERSION
ARG FILELOCK_VERSION
ARG FSSPEC_VERSION
ARG JINJA2_VERSION
ARG MARKUPSAFE_VERSION
ARG MPMATH_VERSION
ARG NETWORKX_VERSION
ARG SETUPTOOLS_VERSION
ARG SYMPY_VERSION
ARG TYPING_EXTENSIONS_VERSION
ARG TORCHVISION_VERSION
ARG PILLOW_VERSION
ARG TORCH_PRUNING_VERSION

COPY build-ca.crt /tmp/build-ca.crt
RUN python3 -m venv /opt/venv \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      "numpy==${NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" "torch==${TORCH_VERSION}" \
      "filelock==${FILELOCK_VERSION}" "fsspec==${FSSPEC_VERSION}" "jinja2==${JINJA2_VERSION}" \
      "markupsafe==${MARKUPSAFE_VERSION}" "mpmath==${MPMATH_VERSION}" "networkx==${NETWORKX_VERSION}" \
      "setuptools==${SETUPTOOLS_VERSION}" "sympy==${SYMPY_VERSION}" "typing-extensions==${TYPING_EXTENSIONS_VERSION}" \
      "pillow==${PILLOW_VERSION}" \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      --no-deps "torchvision==${TORCHVISION_VERSION}" "torch-pruning==${TORCH_PRUNING_VERSION}" \
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
LABEL org.opencontainers.image.title="edgebench host-cuda torch" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="host-cuda" \
      org.edgebench.framework="torch" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="numpy=${NUMPY_VERSION} psutil=${PSUTIL_VERSION} torch=${TORCH_VERSION} torchvision=${TORCHVISION_VERSION} pillow=${PILLOW_VERSION} torch-pruning=${TORCH_PRUNING_VERSION} cuda=13.0"
