# Debian 12 arm64 x ONNX Runtime (CPU execution provider): Raspberry Pi 5 and ODROID-N2 (same as rpi4's file,
# kept apart so each image labels the devices it serves).
# Build: edgebench images build --device rpi5 --framework onnxruntime
#   (versions come from images/versions.lock as build arguments; the base from
#    `edgebench images bootstrap-base --arch arm64`, or any Debian 12 image with python3 and venv,
#    e.g. --base python:3.11-slim-bookworm).
ARG BASE_IMAGE=edgebench/base-debian12:arm64
FROM ${BASE_IMAGE}

ARG NUMPY_VERSION
ARG PSUTIL_VERSION
ARG ONNXRUNTIME_VERSION
ARG FLATBUFFERS_VERSION
ARG PACKAGING_VERSION
ARG PROTOBUF_VERSION

# The host's CA bundle (from the build context) lets pip reach the index through a TLS-inspecting
# proxy; it is used for this step only and removed in it.
COPY build-ca.crt /tmp/build-ca.crt
RUN python3 -m venv /opt/venv \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      "numpy==${NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" \
      "onnxruntime==${ONNXRUNTIME_VERSION}" "flatbuffers==${FLATBUFFERS_VERSION}" \
      "packaging==${PACKAGING_VERSION}" "protobuf==${PROTOBUF_VERSION}" \
 && mkdir -p /opt/edgebench \
 && /opt/venv/bin/pip freeze --all > /opt/edgebench/pip-freeze.txt \
 && /opt/venv/bin/pip uninstall -y pip setuptools \
 && rm -f /tmp/build-ca.crt

# The suite alone (stdlib + numpy + psutil + one runtime), importable as edgebench.suite: the build context
# carries its run-time part only (harness, nets, backends, monitors; not artefacts/, see cli/images.py).
COPY suite /opt/edgebench/edgebench/suite
RUN printf '"""edgebench inside an image: only the suite."""\n' > /opt/edgebench/edgebench/__init__.py \
 && /opt/venv/bin/python -m compileall -q /opt/edgebench /opt/venv/lib

ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/opt/edgebench \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
WORKDIR /tmp
USER 65534:65534
CMD ["python", "-m", "edgebench.suite", "backends"]

# Labels last, so a new source revision does not invalidate the layers above.
ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench debian-arm64 onnxruntime" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="rpi5 odroid-n2" \
      org.edgebench.framework="onnxruntime" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="numpy=${NUMPY_VERSION} psutil=${PSUTIL_VERSION} onnxruntime=${ONNXRUNTIME_VERSION}"
