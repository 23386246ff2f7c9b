# host-cpu x MXNet (framework `mxnet`, CPU), amd64. MXNet 1.9.1 is the last release: Apache retired the
# project to the Attic in 2023. It needs numpy < 1.24, so this image pins MXNET_NUMPY_VERSION, not the
# NUMPY_VERSION the other images share. PyPI's mxnet 1.9.1 wheel is manylinux2014 x86_64 (CPU, MKL-DNN).
# Build: edgebench images build --device host-cpu --framework mxnet
# Base: `edgebench images bootstrap-base --arch amd64` (Debian 12 with python3 + venv), or a registry image
# such as python:3.11-slim-bookworm (docker-bake.hcl's default).
ARG BASE_IMAGE=edgebench/base-debian12:amd64
FROM ${BASE_IMAGE}

ARG PSUTIL_VERSION
ARG MXNET_VERSION
ARG MXNET_NUMPY_VERSION
ARG MXNET_GRAPHVIZ_VERSION
ARG MXNET_REQUESTS_VERSION
ARG MXNET_CHARSET_NORMALIZER_VERSION
ARG MXNET_IDNA_VERSION
ARG MXNET_URLLIB3_VERSION
ARG MXNET_CERTIFI_VERSION
ARG DEB12_LIBGOMP1_DEB
ARG DEB12_LIBQUADMATH0_DEB

# libmxnet.so needs GCC's OpenMP runtime (libgomp1) and libquadmath0 (for its bundled libgfortran). Every
# requirement mxnet declares is pinned, so the resolve has nothing left to choose; the resolved set is kept in
# the image (pip-freeze.txt) as the record of what was installed.
COPY build-ca.crt /tmp/build-ca.crt
RUN apt-get update \
 && apt-get install -y --no-install-recommends "libgomp1=${DEB12_LIBGOMP1_DEB}" \
      "libquadmath0=${DEB12_LIBQUADMATH0_DEB}" \
 && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /opt/venv \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      "mxnet==${MXNET_VERSION}" "numpy==${MXNET_NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" \
      "graphviz==${MXNET_GRAPHVIZ_VERSION}" "requests==${MXNET_REQUESTS_VERSION}" \
      "charset-normalizer==${MXNET_CHARSET_NORMALIZER_VERSION}" "idna==${MXNET_IDNA_VERSION}" \
      "urllib3==${MXNET_URLLIB3_VERSION}" "certifi==${MXNET_CERTIFI_VERSION}" \
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
LABEL org.opencontainers.image.title="edgebench host-cpu mxnet" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="host-cpu" \
      org.edgebench.framework="mxnet" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="numpy=${MXNET_NUMPY_VERSION} psutil=${PSUTIL_VERSION} mxnet=${MXNET_VERSION}"
