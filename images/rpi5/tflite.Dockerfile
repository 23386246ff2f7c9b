# Debian 12 arm64 x LiteRT (framework `tflite`, CPU): Raspberry Pi 5, ODROID-N2 and Raspberry Pi 4 (P1).
# LiteRT (ai-edge-litert) is Google's successor of tflite-runtime, whose last PyPI release (2.14.0) has no
# wheel for Python 3.11; LiteRT publishes manylinux_2_27 aarch64 wheels for CPython 3.11.
# Build: edgebench images build --device rpi5 --framework tflite (arm64; under QEMU on an x86 host).
# Base: `edgebench images bootstrap-base --arch arm64` (Debian 12 with python3 + venv), or a registry image
# such as python:3.11-slim-bookworm (docker-bake.hcl's default).
ARG BASE_IMAGE=edgebench/base-debian12:arm64
FROM ${BASE_IMAGE}

ARG NUMPY_VERSION
ARG PSUTIL_VERSION
ARG AI_EDGE_LITERT_VERSION
ARG BACKPORTS_STRENUM_VERSION
ARG FLATBUFFERS_VERSION
ARG ML_DTYPES_VERSION
ARG PROTOBUF_VERSION
ARG TQDM_VERSION
ARG TYPING_EXTENSIONS_VERSION

# Every requirement LiteRT declares is pinned here, so the resolve has nothing left to choose; the
# resolved set is kept in the image (pip-freeze.txt) as the record of what was installed.
COPY build-ca.crt /tmp/build-ca.crt
RUN python3 -m venv /opt/venv \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      "numpy==${NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" \
      "ai-edge-litert==${AI_EDGE_LITERT_VERSION}" "backports.strenum==${BACKPORTS_STRENUM_VERSION}" \
      "flatbuffers==${FLATBUFFERS_VERSION}" "ml-dtypes==${ML_DTYPES_VERSION}" "protobuf==${PROTOBUF_VERSION}" \
      "tqdm==${TQDM_VERSION}" "typing-extensions==${TYPING_EXTENSIONS_VERSION}" \
 && mkdir -p /opt/edgebench \
 && /opt/venv/bin/pip freeze --all > /opt/edgebench/pip-freeze.txt \
 && /opt/venv/bin/pip uninstall -y pip setuptools \
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

# Labels last, so a new source revision does not invalidate the layers above.
ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench debian-arm64 tflite (LiteRT)" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="rpi5 odroid-n2 rpi4" \
      org.edgebench.framework="tflite" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="numpy=${NUMPY_VERSION} psutil=${PSUTIL_VERSION} ai-edge-litert=${AI_EDGE_LITERT_VERSION}"
