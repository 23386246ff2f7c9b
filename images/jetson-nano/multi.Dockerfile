# JetPack 4.6 (L4T r32.6.1) x PyTorch + tflite_runtime + pycoral in one image (profile images.multi):
# P3's dynamic model placement, a PyTorch stream on the GPU and a LiteRT stream on a Coral USB
# Accelerator, in threads of one process (run as jetson-nano+coral-usb).
# WRITTEN, NOT VERIFIED: nobody has built this on a Jetson yet (no Jetson and no route to Coral's
# repository from where it was written). It refuses to build until CORAL_APT_KEY_SHA256 is set.
# On top of the torch image's stack: Coral's apt repository for Ubuntu 18.04 arm64, libedgetpu1-std 16.0
# with the python3-tflite-runtime 2.5.0.post1 built against the same TensorFlow revision, and
# python3-pycoral 2.0.0 (its last release for Python 3.6).
# Build on the Jetson: edgebench images build --device jetson-nano --framework multi
ARG BASE_IMAGE=nvcr.io/nvidia/l4t-pytorch:r32.6.1-pth1.9-py3
FROM ${BASE_IMAGE}

ARG JP4_PSUTIL_VERSION
ARG JP4_DATACLASSES_VERSION
ARG JETSON_STATS_VERSION
ARG SMBUS2_VERSION
ARG DISTRO_VERSION
ARG CORAL_APT_URL
ARG CORAL_APT_KEY_SHA256
ARG CORAL_LIBEDGETPU_VERSION
ARG CORAL_TFLITE_RUNTIME_VERSION
ARG CORAL_PYCORAL_VERSION

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# A remote URL (hadolint cannot see through the build argument); the RUN below checks its sha256.
# hadolint ignore=DL3020
ADD ${CORAL_APT_URL}/doc/apt-key.gpg /usr/share/keyrings/coral-edgetpu.asc
COPY build-ca.crt /tmp/build-ca.crt
RUN [[ "${CORAL_APT_KEY_SHA256}" =~ ^[0-9a-f]{64}$ ]] \
      || { echo "lock: CORAL_APT_KEY_SHA256 is '${CORAL_APT_KEY_SHA256}'; fetch the key once and set it" >&2; exit 1; } \
 && echo "${CORAL_APT_KEY_SHA256}  /usr/share/keyrings/coral-edgetpu.asc" | sha256sum -c - \
 && chmod 0644 /usr/share/keyrings/coral-edgetpu.asc \
 && echo "deb [signed-by=/usr/share/keyrings/coral-edgetpu.asc] ${CORAL_APT_URL} coral-edgetpu-stable main" \
      > /etc/apt/sources.list.d/coral-edgetpu.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      "libedgetpu1-std=${CORAL_LIBEDGETPU_VERSION}" "python3-tflite-runtime=${CORAL_TFLITE_RUNTIME_VERSION}" \
      "python3-pycoral=${CORAL_PYCORAL_VERSION}" \
 && rm -rf /var/lib/apt/lists/* \
 && PIP_CERT=/tmp/build-ca.crt python3 -m pip install --no-cache-dir --no-compile \
      "psutil==${JP4_PSUTIL_VERSION}" "dataclasses==${JP4_DATACLASSES_VERSION}" \
      "jetson-stats==${JETSON_STATS_VERSION}" "smbus2==${SMBUS2_VERSION}" "distro==${DISTRO_VERSION}" \
 && mkdir -p /opt/edgebench \
 && python3 -m pip freeze > /opt/edgebench/pip-freeze.txt \
 && dpkg-query -W > /opt/edgebench/dpkg-versions.txt \
 && rm -f /tmp/build-ca.crt

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
LABEL org.opencontainers.image.title="edgebench jetpack-4.6 multi (torch + tflite_runtime + pycoral)" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="jetson-nano" \
      org.edgebench.framework="torch tflite" \
      org.edgebench.l4t="32.6.1" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="torch=1.9.0 tflite_runtime=${CORAL_TFLITE_RUNTIME_VERSION} pycoral=${CORAL_PYCORAL_VERSION} libedgetpu1-std=${CORAL_LIBEDGETPU_VERSION}"
