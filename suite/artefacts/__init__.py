"""Artefacts made on the host (or a target) from nets: export, precision variants, quantise, prune,
compilers (EdgeTPU, TensorRT), FLOPs, accuracy, layer time, output agreement, and the `python -m
edgebench.suite.artefacts` command. Never copied into a device image. Runtimes are imported per function."""
