# Debian 12 arm64 x TensorFlow (CPU): Raspberry Pi 4 and 5 (P2's TensorFlow runs on the Pi).
# PyPI has no tensorflow-cpu for aarch64; its `tensorflow` aarch64 wheel (manylinux_2_27) is the CPU build.
# Same pins as images/host-cpu/tensorflow.Dockerfile.
# Build: edgebench images build --device rpi5 --framework tensorflow (arm64; under QEMU on an x86 host).
ARG BASE_IMAGE=edgebench/base-debian12:arm64
FROM ${BASE_IMAGE}

ARG NUMPY_VERSION
ARG PSUTIL_VERSION
ARG TENSORFLOW_VERSION
ARG KERAS_VERSION
ARG ABSL_PY_VERSION
ARG ASTUNPARSE_VERSION
ARG CERTIFI_VERSION
ARG CHARSET_NORMALIZER_VERSION
ARG FLATBUFFERS_VERSION
ARG GAST_VERSION
ARG GOOGLE_PASTA_VERSION
ARG GRPCIO_VERSION
ARG H5PY_VERSION
ARG IDNA_VERSION
ARG LIBCLANG_VERSION
ARG MARKDOWN_IT_PY_VERSION
ARG MDURL_VERSION
ARG ML_DTYPES_VERSION
ARG NAMEX_VERSION
ARG OPT_EINSUM_VERSION
ARG OPTREE_VERSION
ARG PACKAGING_VERSION
ARG PROTOBUF_VERSION
ARG PYGMENTS_VERSION
ARG REQUESTS_VERSION
ARG RICH_VERSION
ARG SETUPTOOLS_VERSION
ARG SIX_VERSION
ARG TERMCOLOR_VERSION
ARG TYPING_EXTENSIONS_VERSION
ARG URLLIB3_VERSION
ARG WHEEL_VERSION
ARG WRAPT_VERSION

# Every requirement TensorFlow and Keras declare is pinned here, so the resolve has nothing left to choose;
# pip check proves the set is whole, and the resolved set is kept in the image (pip-freeze.txt).
COPY build-ca.crt /tmp/build-ca.crt
RUN python3 -m venv /opt/venv \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      "numpy==${NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" "tensorflow==${TENSORFLOW_VERSION}" \
      "keras==${KERAS_VERSION}" "absl-py==${ABSL_PY_VERSION}" "astunparse==${ASTUNPARSE_VERSION}" \
      "certifi==${CERTIFI_VERSION}" "charset-normalizer==${CHARSET_NORMALIZER_VERSION}" \
      "flatbuffers==${FLATBUFFERS_VERSION}" "gast==${GAST_VERSION}" "google-pasta==${GOOGLE_PASTA_VERSION}" \
      "grpcio==${GRPCIO_VERSION}" "h5py==${H5PY_VERSION}" "idna==${IDNA_VERSION}" "libclang==${LIBCLANG_VERSION}" \
      "markdown-it-py==${MARKDOWN_IT_PY_VERSION}" "mdurl==${MDURL_VERSION}" "ml-dtypes==${ML_DTYPES_VERSION}" \
      "namex==${NAMEX_VERSION}" "opt-einsum==${OPT_EINSUM_VERSION}" "optree==${OPTREE_VERSION}" \
      "packaging==${PACKAGING_VERSION}" "protobuf==${PROTOBUF_VERSION}" "pygments==${PYGMENTS_VERSION}" \
      "requests==${REQUESTS_VERSION}" "rich==${RICH_VERSION}" "setuptools==${SETUPTOOLS_VERSION}" \
      "six==${SIX_VERSION}" "termcolor==${TERMCOLOR_VERSION}" "typing-extensions==${TYPING_EXTENSIONS_VERSION}" \
      "urllib3==${URLLIB3_VERSION}" "wheel==${WHEEL_VERSION}" "wrapt==${WRAPT_VERSION}" \
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
    TF_CPP_MIN_LOG_LEVEL=2
WORKDIR /tmp
USER 65534:65534
CMD ["python", "-m", "edgebench.suite", "backends"]

# Labels last, so a new source revision does not invalidate the layers above.
ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench Debian 12 arm64 tensorflow" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="rpi5 rpi4" \
      org.edgebench.framework="tensorflow" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="numpy=${NUMPY_VERSION} psutil=${PSUTIL_VERSION} tensorflow=${TENSORFLOW_VERSION} keras=${KERAS_VERSION}"
