# One build definition for every device x framework image: `docker buildx bake`, multi-arch through QEMU.
#
#   edgebench fleet bake-files --out build/bake --registry ghcr.io/OWNER   # context + overrides.json
#   docker buildx bake -f images/docker-bake.hcl -f build/bake/overrides.json ci [--push]
#
# build/bake/overrides.json carries, per target, the build arguments read from images/versions.lock (the
# only place versions live), the profile's base image where it names one (L4T, Debian 11 for Coral) and the
# tag REGISTRY/edgebench-DEVICE-FRAMEWORK:VERSION-CONTENTHASH that `edgebench images build` gives the same
# image. Without it the targets here have no versions: always pass both files.
# Targets are named DEVICE-FRAMEWORK after images/DEVICE/device.yaml; tests/unit/test_dockerfiles.py keeps
# the two in step. Devices that share a Dockerfile get one target each (the cache builds it once).

variable "REGISTRY" {
  default = "ghcr.io/edgebench"
}

variable "VERSION" {
  default = "dev"
}

# Written by `edgebench fleet bake-files`: the Dockerfiles, the suite and the host's CA bundle.
variable "CONTEXT" {
  default = "build/bake/context"
}

# FROM for the Debian 12 images when no profile base is set. A registry has no edgebench/base-debian12
# (that one is made offline by `edgebench images bootstrap-base`), so bake uses Python's Debian 12 image:
# python3 and venv, as the Dockerfiles expect.
variable "DEBIAN_BASE" {
  default = "python:3.11-slim-bookworm"
}

target "_common" {
  context = CONTEXT
  args = {
    BASE_IMAGE = DEBIAN_BASE
  }
  labels = {
    "org.opencontainers.image.vendor" = "edgebench"
  }
}

# Everything a CI runner can build without the device (arm64 under QEMU).
group "ci" {
  targets = [
    "coral-devboard-tflite",
    "coral-usb-tflite",
    "coral-usb-x4-tflite",
    "host-cpu-mxnet",
    "host-cpu-onnxruntime",
    "host-cpu-tensorflow",
    "host-cpu-tflite",
    "host-cpu-torch",
    "host-cuda-tensorflow",
    "host-cuda-tensorrt",
    "host-cuda-torch",
    "jetson-nano-tensorflow",
    "jetson-nano-torch",
    "jetson-orin-nano-tensorrt",
    "jetson-orin-nano-torch",
    "jetson-tx2-tensorflow",
    "jetson-tx2-torch",
    "jetson-xavier-nx-tensorflow",
    "jetson-xavier-nx-torch",
    "odroid-n2-onnxruntime",
    "odroid-n2-tflite",
    "odroid-n2-torch",
    "rpi4-onnxruntime",
    "rpi4-tensorflow",
    "rpi4-tflite",
    "rpi5-onnxruntime",
    "rpi5-tensorflow",
    "rpi5-tflite",
    "rpi5-torch",
  ]
}

# JetPack 4 TensorRT images compile pycuda against the host's CUDA 10.2, which the nvidia runtime lends
# only on a Jetson whose Docker daemon has "default-runtime": "nvidia": build these on the device.
group "on-device" {
  targets = [
    "jetson-nano-tensorrt",
    "jetson-tx2-tensorrt",
    "jetson-xavier-nx-tensorrt",
  ]
}

# No aarch64 mxnet wheel on PyPI: these build only with MXNET_WHEEL_URL and MXNET_WHEEL_SHA256 set (a bake
# override or the lock), and refuse with that message otherwise.
group "needs-wheel" {
  targets = [
    "rpi4-mxnet",
    "rpi5-mxnet",
  ]
}

group "default" {
  targets = ["ci"]
}

target "coral-devboard-tflite" {
  inherits   = ["_common"]
  dockerfile = "images/coral-devboard/tflite.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-coral-devboard-tflite:${VERSION}"]
}

target "coral-usb-tflite" {
  inherits   = ["_common"]
  dockerfile = "images/coral-devboard/tflite.Dockerfile"
  platforms  = ["linux/arm64", "linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-coral-usb-tflite:${VERSION}"]
}

target "coral-usb-x4-tflite" {
  inherits   = ["_common"]
  dockerfile = "images/coral-devboard/tflite.Dockerfile"
  platforms  = ["linux/arm64", "linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-coral-usb-tflite:${VERSION}"]
}

target "host-cpu-mxnet" {
  inherits   = ["_common"]
  dockerfile = "images/host-cpu/mxnet.Dockerfile"
  platforms  = ["linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-host-cpu-mxnet:${VERSION}"]
}

target "host-cpu-onnxruntime" {
  inherits   = ["_common"]
  dockerfile = "images/host-cpu/onnxruntime.Dockerfile"
  platforms  = ["linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-host-cpu-onnxruntime:${VERSION}"]
}

target "host-cpu-tflite" {
  inherits   = ["_common"]
  dockerfile = "images/host-cpu/tflite.Dockerfile"
  platforms  = ["linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-host-cpu-tflite:${VERSION}"]
}

target "host-cpu-torch" {
  inherits   = ["_common"]
  dockerfile = "images/host-cpu/torch.Dockerfile"
  platforms  = ["linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-host-cpu-torch:${VERSION}"]
}

target "host-cuda-tensorrt" {
  inherits   = ["_common"]
  dockerfile = "images/host-cuda/tensorrt.Dockerfile"
  platforms  = ["linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-host-cuda-tensorrt:${VERSION}"]
}

target "host-cuda-torch" {
  inherits   = ["_common"]
  dockerfile = "images/host-cuda/torch.Dockerfile"
  platforms  = ["linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-host-cuda-torch:${VERSION}"]
}

target "jetson-nano-tensorrt" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/tensorrt.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-nano-tensorrt:${VERSION}"]
}

target "jetson-nano-torch" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/torch.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-nano-torch:${VERSION}"]
}

target "jetson-orin-nano-tensorrt" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-orin-nano/tensorrt.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-orin-nano-tensorrt:${VERSION}"]
}

target "jetson-orin-nano-torch" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-orin-nano/torch.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-orin-nano-torch:${VERSION}"]
}

target "jetson-tx2-tensorrt" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/tensorrt.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-tx2-tensorrt:${VERSION}"]
}

target "jetson-tx2-torch" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/torch.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-tx2-torch:${VERSION}"]
}

target "jetson-xavier-nx-tensorrt" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/tensorrt.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-xavier-nx-tensorrt:${VERSION}"]
}

target "jetson-xavier-nx-torch" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/torch.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-xavier-nx-torch:${VERSION}"]
}

target "odroid-n2-onnxruntime" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/onnxruntime.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-odroid-n2-onnxruntime:${VERSION}"]
}

target "odroid-n2-tflite" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/tflite.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-odroid-n2-tflite:${VERSION}"]
}

target "odroid-n2-torch" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/torch.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-odroid-n2-torch:${VERSION}"]
}

# rpi4 shares the Debian arm64 MXNet Dockerfile with rpi5 (group needs-wheel).
target "rpi4-mxnet" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/mxnet.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi4-mxnet:${VERSION}"]
}

target "rpi4-onnxruntime" {
  inherits   = ["_common"]
  dockerfile = "images/rpi4/onnxruntime.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi4-onnxruntime:${VERSION}"]
}

# rpi4's profile names this framework; its Dockerfile is the Debian arm64 LiteRT one.
target "rpi4-tflite" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/tflite.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi4-tflite:${VERSION}"]
}

target "rpi5-mxnet" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/mxnet.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi5-mxnet:${VERSION}"]
}

target "rpi5-onnxruntime" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/onnxruntime.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi5-onnxruntime:${VERSION}"]
}

target "rpi5-tflite" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/tflite.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi5-tflite:${VERSION}"]
}

target "rpi5-torch" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/torch.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi5-torch:${VERSION}"]
}

target "host-cpu-tensorflow" {
  inherits   = ["_common"]
  dockerfile = "images/host-cpu/tensorflow.Dockerfile"
  platforms  = ["linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-host-cpu-tensorflow:${VERSION}"]
}

target "host-cuda-tensorflow" {
  inherits   = ["_common"]
  dockerfile = "images/host-cuda/tensorflow.Dockerfile"
  platforms  = ["linux/amd64"]
  tags       = ["${REGISTRY}/edgebench-host-cuda-tensorflow:${VERSION}"]
}

target "jetson-nano-tensorflow" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/tensorflow.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-nano-tensorflow:${VERSION}"]
}

target "jetson-tx2-tensorflow" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/tensorflow.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-tx2-tensorflow:${VERSION}"]
}

target "jetson-xavier-nx-tensorflow" {
  inherits   = ["_common"]
  dockerfile = "images/jetson-nano/tensorflow.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-jetson-xavier-nx-tensorflow:${VERSION}"]
}

target "rpi4-tensorflow" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/tensorflow.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi4-tensorflow:${VERSION}"]
}

target "rpi5-tensorflow" {
  inherits   = ["_common"]
  dockerfile = "images/rpi5/tensorflow.Dockerfile"
  platforms  = ["linux/arm64"]
  tags       = ["${REGISTRY}/edgebench-rpi5-tensorflow:${VERSION}"]
}
