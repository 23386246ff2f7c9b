# Coral Edge TPU x tflite_runtime (framework `tflite`, placements cpu and edgetpu): the Coral Dev Board
# (arm64, /dev/apex_0) and the Coral USB Accelerator on any arm64 or amd64 host (HOST+coral-usb).
# libedgetpu is linked against one TensorFlow revision and only loads into the tflite_runtime built with
# it (google-coral/edgetpu#124, libedgetpu#26), so both come from Coral's apt repository, where the last
# release pairs libedgetpu1-std 16.0 with python3-tflite-runtime 2.5.0.post1 for Python <= 3.9: hence
# Debian 11 (Python 3.9) and the suite's numpy/psutil from Debian, all pinned. The repository key is
# checked against the sha256 in the lock before apt trusts it.
# Build: edgebench images build --device coral-devboard --framework tflite (arm64, or amd64 for coral-usb)
ARG BASE_IMAGE=debian:11.11-slim
FROM ${BASE_IMAGE}

ARG CORAL_APT_URL
ARG CORAL_APT_KEY_SHA256
ARG CORAL_LIBEDGETPU_VERSION
ARG CORAL_TFLITE_RUNTIME_VERSION
ARG DEB11_PYTHON3_VERSION
ARG DEB11_NUMPY_VERSION
ARG DEB11_PSUTIL_VERSION

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# A remote URL (hadolint cannot see through the build argument); the RUN below checks its sha256.
# hadolint ignore=DL3020
ADD ${CORAL_APT_URL}/doc/apt-key.gpg /usr/share/keyrings/coral-edgetpu.asc
RUN [[ "${CORAL_APT_KEY_SHA256}" =~ ^[0-9a-f]{64}$ ]] \
      || { echo "lock: CORAL_APT_KEY_SHA256 is '${CORAL_APT_KEY_SHA256}'; fetch the key once and set it" >&2; exit 1; } \
 && echo "${CORAL_APT_KEY_SHA256}  /usr/share/keyrings/coral-edgetpu.asc" | sha256sum -c - \
 && chmod 0644 /usr/share/keyrings/coral-edgetpu.asc \
 && echo "deb [signed-by=/usr/share/keyrings/coral-edgetpu.asc] ${CORAL_APT_URL} coral-edgetpu-stable main" \
      > /etc/apt/sources.list.d/coral-edgetpu.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      "python3=${DEB11_PYTHON3_VERSION}" "python3-numpy=${DEB11_NUMPY_VERSION}" \
      "python3-psutil=${DEB11_PSUTIL_VERSION}" \
      "libedgetpu1-std=${CORAL_LIBEDGETPU_VERSION}" "python3-tflite-runtime=${CORAL_TFLITE_RUNTIME_VERSION}" \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /opt/edgebench \
 && dpkg-query -W > /opt/edgebench/dpkg-versions.txt

# The run-time part of the suite, importable as edgebench.suite: the build context carries no artefacts/
# (host-only converters; cli/images.py HOST_ONLY), so editing one retags no image.
COPY suite /opt/edgebench/edgebench/suite
RUN printf '"""edgebench inside an image: only the suite."""\n' > /opt/edgebench/edgebench/__init__.py \
 && python3 -m compileall -q /opt/edgebench

ENV PYTHONPATH=/opt/edgebench \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
USER 65534:65534
CMD ["python3", "-m", "edgebench.suite", "backends"]

ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench coral tflite (EdgeTPU)" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="coral-devboard coral-usb" \
      org.edgebench.framework="tflite" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="libedgetpu1-std=${CORAL_LIBEDGETPU_VERSION} tflite_runtime=${CORAL_TFLITE_RUNTIME_VERSION} numpy=${DEB11_NUMPY_VERSION}"
