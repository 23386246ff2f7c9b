"""Architectures and weights formats: the zoo (plain data), torchvision and Keras nets, the pruned-net format.

Imports no runtime at module import: every function imports torch/keras itself, so the host validates
matrices against the zoo without any runtime and the backends (one layer up) build nets from here.
"""


class NetUnavailable(RuntimeError):
    """A net cannot be built or restored here (a missing library, an unknown name, a wrong artefact)."""
