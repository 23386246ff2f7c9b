# JetPack 4.6 (L4T r32.6.1) x TensorFlow: Jetson Nano, TX2 and Xavier NX (P2's TensorFlow, P4's baseline).
# Base: NVIDIA's l4t-tensorflow r32.6.1-tf2.5-py3, which is NVIDIA's JetPack 4.6 TensorFlow wheel
# (2.5.0+nv21.8, developer.download.nvidia.com/compute/redist/jp/v46/tensorflow/) installed with the HDF5,
# h5py and numpy it was built against; a bare wheel install would need those Ubuntu 18.04 packages pinned
# one by one. The version is pinned in the lock (JP4_TENSORFLOW_VERSION) and asserted below, so a retagged
# base fails the build instead of changing the runtime. CUDA 10.2 / cuDNN 8.2 are mounted from the host by
# the nvidia runtime (host and image must both be L4T 32.6.1). Python 3.6: the dataclasses backport.
# TensorFlow 2.5's Keras 2 cannot read the host's Keras 3 .keras artefacts: the backend then builds the same
# architecture with the same seed here (calibrated random weights; the run's record says so).
# WRITTEN, NOT VERIFIED: no Jetson was at hand.
# Build on the Jetson (or under QEMU): edgebench images build --device jetson-nano --framework tensorflow
ARG BASE_IMAGE=nvcr.io/nvidia/l4t-tensorflow:r32.6.1-tf2.5-py3
FROM ${BASE_IMAGE}

ARG JP4_TENSORFLOW_VERSION
ARG JP4_PSUTIL_VERSION
ARG JP4_DATACLASSES_VERSION
ARG JETSON_STATS_VERSION
ARG SMBUS2_VERSION
ARG DISTRO_VERSION

COPY build-ca.crt /tmp/build-ca.crt
RUN python3 -c "import sys, tensorflow as tf; v = tf.__version__; sys.exit(0 if v == sys.argv[1] else \
      'base has tensorflow %s, the lock pins %s' % (v, sys.argv[1]))" "${JP4_TENSORFLOW_VERSION}" \
 && PIP_CERT=/tmp/build-ca.crt python3 -m pip install --no-cache-dir --no-compile \
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
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /tmp
CMD ["python3", "-m", "edgebench.suite", "backends"]

ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench jetpack-4.6 tensorflow" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="jetson-nano jetson-tx2 jetson-xavier-nx" \
      org.edgebench.framework="tensorflow" \
      org.edgebench.l4t="32.6.1" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="tensorflow=${JP4_TENSORFLOW_VERSION} psutil=${JP4_PSUTIL_VERSION} jetson-stats=${JETSON_STATS_VERSION}"
