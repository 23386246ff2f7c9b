# Debian 12 arm64 x MXNet (framework `mxnet`, CPU): Raspberry Pi 4 and 5. MXNet 1.9.1 is the last release
# (Apache retired the project to the Attic in 2023) and PyPI has no aarch64 wheel of it: this image installs
# a wheel you built (or your lab keeps) for CPython 3.11 aarch64, named by two build arguments:
#   MXNET_WHEEL_URL     where to fetch it (http(s), reachable from the build)
#   MXNET_WHEEL_SHA256  its sha256 (the build checks it)
# set them in images/versions.lock (edgebench images build passes lock values) or with --build-arg / a bake
# override. Without them the build stops with that message. Untested here: no such wheel exists to fetch.
# Build: edgebench images build --device rpi5 --framework mxnet (arm64; under QEMU on an x86 host).
ARG BASE_IMAGE=edgebench/base-debian12:arm64
FROM ${BASE_IMAGE}

ARG PSUTIL_VERSION
ARG MXNET_NUMPY_VERSION
ARG MXNET_GRAPHVIZ_VERSION
ARG MXNET_REQUESTS_VERSION
ARG MXNET_CHARSET_NORMALIZER_VERSION
ARG MXNET_IDNA_VERSION
ARG MXNET_URLLIB3_VERSION
ARG MXNET_CERTIFI_VERSION
ARG DEB12_LIBGOMP1_DEB
ARG MXNET_WHEEL_URL=
ARG MXNET_WHEEL_SHA256=

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY build-ca.crt /tmp/build-ca.crt
WORKDIR /tmp
# The wheel is a file checked against its sha256, not a name pip resolves (hence DL3013 does not apply).
# hadolint ignore=DL3013
RUN if [ -z "${MXNET_WHEEL_URL}" ] || [ -z "${MXNET_WHEEL_SHA256}" ]; then \
      echo "mxnet on arm64: PyPI has no aarch64 wheel of mxnet 1.9.1; set the build arguments MXNET_WHEEL_URL" \
           "and MXNET_WHEEL_SHA256 to a CPython 3.11 aarch64 wheel (images/rpi5/mxnet.Dockerfile)" >&2; exit 1; fi \
 && [[ "${MXNET_WHEEL_SHA256}" =~ ^[0-9a-f]{64}$ ]] || { echo "MXNET_WHEEL_SHA256 is no sha256" >&2; exit 1; } \
 && name="${MXNET_WHEEL_URL##*/}" \
 && python3 -c 'import ssl, sys, urllib.request; ctx = ssl.create_default_context(cafile="/tmp/build-ca.crt"); \
open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], context=ctx).read())' "${MXNET_WHEEL_URL}" "${name}" \
 && echo "${MXNET_WHEEL_SHA256}  ${name}" | sha256sum -c - \
 && apt-get update \
 && apt-get install -y --no-install-recommends "libgomp1=${DEB12_LIBGOMP1_DEB}" \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      "/tmp/${name}" "numpy==${MXNET_NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" \
      "graphviz==${MXNET_GRAPHVIZ_VERSION}" "requests==${MXNET_REQUESTS_VERSION}" \
      "charset-normalizer==${MXNET_CHARSET_NORMALIZER_VERSION}" "idna==${MXNET_IDNA_VERSION}" \
      "urllib3==${MXNET_URLLIB3_VERSION}" "certifi==${MXNET_CERTIFI_VERSION}" \
 && mkdir -p /opt/edgebench \
 && /opt/venv/bin/pip freeze --all > /opt/edgebench/pip-freeze.txt \
 && /opt/venv/bin/pip uninstall -y pip setuptools \
 && rm -f /tmp/build-ca.crt "/tmp/${name}"

# The run-time part of the suite, importable as edgebench.suite (no artefacts/: cli/images.py HOST_ONLY).
COPY suite /opt/edgebench/edgebench/suite
RUN printf '"""edgebench inside an image: only the suite."""\n' > /opt/edgebench/edgebench/__init__.py \
 && /opt/venv/bin/python -m compileall -q /opt/edgebench

ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONPATH=/opt/edgebench \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp
USER 65534:65534
CMD ["python", "-m", "edgebench.suite", "backends"]

# Labels last, so a new source revision does not invalidate the layers above.
ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench debian-arm64 mxnet" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="rpi5 rpi4" \
      org.edgebench.framework="mxnet" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="numpy=${MXNET_NUMPY_VERSION} psutil=${PSUTIL_VERSION} mxnet-wheel-sha256=${MXNET_WHEEL_SHA256}"
