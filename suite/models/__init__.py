"""Model zoo and artefact makers (export, quantise). Runtimes are imported lazily, per function."""
