#!/bin/sh
# Makes the MXNet interpreter the local runner uses for `framework: mxnet` (host-cpu's device profile names
# it): VENV (default .venv-mxnet) with mxnet and its own numpy < 1.24 from images/versions.lock, psutil,
# and the suite alone on its path (as in an image: edgebench.suite, not the host's cli). MXNet never goes
# into .venv: it would downgrade numpy under pandas, torch, onnxruntime and TensorFlow there.
set -eu
PYTHON=${PYTHON:-python3}
VENV=${1:-.venv-mxnet}
LOCK=images/versions.lock
pin() { sed -n "s/^$1=//p" "$LOCK"; }
pins="mxnet==$(pin MXNET_VERSION) numpy==$(pin MXNET_NUMPY_VERSION) psutil==$(pin PSUTIL_VERSION)"
pins="$pins graphviz==$(pin MXNET_GRAPHVIZ_VERSION) requests==$(pin MXNET_REQUESTS_VERSION)"
pins="$pins charset-normalizer==$(pin MXNET_CHARSET_NORMALIZER_VERSION) idna==$(pin MXNET_IDNA_VERSION)"
pins="$pins urllib3==$(pin MXNET_URLLIB3_VERSION) certifi==$(pin MXNET_CERTIFI_VERSION)"
rm -f "$VENV/.installed"
"$PYTHON" -m venv "$VENV"
# shellcheck disable=SC2086  # one word per pin
"$VENV/bin/pip" install -q --disable-pip-version-check --only-binary=:all: $pins
# The suite on the path through a .pth (relative, so the venv still works when the tree is copied elsewhere).
mkdir -p "$VENV/suite-path/edgebench"
printf '"""edgebench in the MXNet venv: only the suite."""\n' > "$VENV/suite-path/edgebench/__init__.py"
ln -sfn ../../../suite "$VENV/suite-path/edgebench/suite"
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
rel=$("$VENV/bin/python" -c 'import os, sys; print(os.path.relpath(sys.argv[1], sys.argv[2]))' "$VENV/suite-path" "$site")
echo "$rel" > "$site/edgebench-suite.pth"
"$VENV/bin/python" -c 'import mxnet, numpy, edgebench.suite; print("mxnet", mxnet.__version__, "numpy", numpy.__version__)'
touch "$VENV/.installed"
