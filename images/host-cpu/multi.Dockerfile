# host-cpu x ONNX Runtime + LiteRT in one image (profile images.multi): P3's dynamic model placement
# (DMP) tested on a CPU-only host, two runtimes in threads of one process. The two stacks of
# onnxruntime.Dockerfile and tflite.Dockerfile, with the dependencies they share (numpy, flatbuffers,
# protobuf) at the one version the lock gives both; pip check proves the set is consistent.
# Build: edgebench images build --device host-cpu --framework multi
ARG BASE_IMAGE=edgebench/base-debian12:amd64
FROM ${BASE_IMAGE}

ARG NUMPY_VERSION
ARG PSUTIL_VERSION
ARG ONNXRUNTIME_VERSION
ARG FLATBUFFERS_VERSION
ARG PACKAGING_VERSION
ARG PROTOBUF_VERSION
ARG AI_EDGE_LITERT_VERSION
ARG BACKPORTS_STRENUM_VERSION
ARG ML_DTYPES_VERSION
ARG TQDM_VERSION
ARG TYPING_EXTENSIONS_VERSION

COPY build-ca.crt /tmp/build-ca.crt
RUN python3 -m venv /opt/venv \
 && PIP_CERT=/tmp/build-ca.crt /opt/venv/bin/pip install --no-cache-dir --no-compile --only-binary=:all: \
      "numpy==${NUMPY_VERSION}" "psutil==${PSUTIL_VERSION}" \
      "onnxruntime==${ONNXRUNTIME_VERSION}" "flatbuffers==${FLATBUFFERS_VERSION}" \
      "packaging==${PACKAGING_VERSION}" "protobuf==${PROTOBUF_VERSION}" \
      "ai-edge-litert==${AI_EDGE_LITERT_VERSION}" "backports.strenum==${BACKPORTS_STRENUM_VERSION}" \
      "ml-dtypes==${ML_DTYPES_VERSION}" "tqdm==${TQDM_VERSION}" "typing-extensions==${TYPING_EXTENSIONS_VERSION}" \
 && /opt/venv/bin/pip check \
 && mkdir -p /opt/edgebench \
 && /opt/venv/bin/pip freeze --all > /opt/edgebench/pip-freeze.txt \
 && /opt/venv/bin/pip uninstall -y pip setuptools \
 && rm -f /tmp/build-ca.crt

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

ARG BASE_IMAGE
ARG EDGEBENCH_VERSION=0.0.0
ARG SOURCE_REVISION=unknown
ARG IMAGE_HASH=unknown
LABEL org.opencontainers.image.title="edgebench host-cpu multi (onnxruntime + LiteRT)" \
      org.opencontainers.image.version="${EDGEBENCH_VERSION}" \
      org.opencontainers.image.revision="${SOURCE_REVISION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}" \
      org.edgebench.device="host-cpu" \
      org.edgebench.framework="onnxruntime tflite" \
      org.edgebench.image-hash="${IMAGE_HASH}" \
      org.edgebench.versions="numpy=${NUMPY_VERSION} psutil=${PSUTIL_VERSION} onnxruntime=${ONNXRUNTIME_VERSION} ai-edge-litert=${AI_EDGE_LITERT_VERSION}"
