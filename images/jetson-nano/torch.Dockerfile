# JetPack 4.6 (L4T r32.6.1) x PyTorch: Jetson Nano, TX2 and Xavier NX (one L4T release serves all three).
# Base: NVIDIA's l4t-pytorch r32.6.1-pth1.9-py3 (PyTorch 1.9.0, torchvision 0.10.0, Python 3.6.9, numpy;
# NGC catalog "l4t-pytorch", release list for JetPack 4.6). CUDA 10.2 and cuDNN 8.2.1 are not in the image:
# the nvidia container runtime mounts them from the host (so host and image must both be L4T 32.6.1).
# Python 3.6: the suite needs the dataclasses backport; psutil 5.9.8 still supports 3.6.
# torchvision 0.10.0 comes with the base (the torch backend uses its pre-get_model constructors). No
# torch-pruning: every release that restores pruned nets the way suite/nets/pruned.py does needs Python >= 3.7
# and torch >= 2.0 (1.6.1: both), so pruned cells (resnet18+pruned-magnitude-30 ...) end BackendUnavailable here.
# Build on the Jetson (or under QEMU: nothing here needs CUDA at build time):
#   edgebench images build --device jetson-nano --framework torch
ARG BASE_IMAGE=nvcr.io/nvidia/l4t-pytorch:r32.6.1-pth1.9-py3
FROM ${BASE_IMAGE}

ARG JP4_PSUTIL_VERSION
ARG JP4_DATACLASSES_VERSION
ARG JETSON_STATS_VERSION
ARG SMBUS2_VERSION
ARG DISTRO_VERSION

COPY build-ca.crt /tmp/build-ca.crt
RUN PIP_CERT=/tmp/build-ca.crt python3 -m pip install --no-cache-dir --no-compile \
      "psutil==${JP4_PSUTIL_VERSION}" "dataclasses==${JP4_DATACLASSES_VERSION}" \
      "jetson-stats==${JETSON_STATS_VERSION}" "smbus2==${SMBUS2_VERSION}" "distro==${DISTRO_VERSION}" \
 && mkdir -p /opt/edgebench \
 && python3 -m pip freeze > /opt/edgebench/pip-freeze.txt \
 && rm -f /tmp/build-ca.crt

# The run-time part of the suite, importable as edgebench.suite: the build context carries no artefacts/
# (host-only converters; cli/images.py HOST_ONLY), so editing one retags no image.
COPY suite /opt/edgebench/edgebench/suite
RUN printf '"""edgebench inside an image: only the suite."""\n' > /opt/edgebench/edgebench/__init__.py \
 && python3 -m compileall -q /opt/edgebench

# The nvidia runtime's devices are root:video; these images run as root (see the profiles' container.user).
ENV PYTHONPATH=/opt/edgebench \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
WORKDIR /tmp
CMD ["python3", "-m", "edgebench.suite", "backends"]

ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench jetpack-4.6 torch" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="jetson-nano jetson-tx2 jetson-xavier-nx" \
      org.edgebench.framework="torch" \
      org.edgebench.l4t="32.6.1" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="torch=1.9.0 torchvision=0.10.0 psutil=${JP4_PSUTIL_VERSION} jetson-stats=${JETSON_STATS_VERSION}"
