"""Workloads: how a run drives its inferences (single, concurrent copies, placement over processors)."""

from typing import Dict, Optional, Type

from ..spec import RunSpec
from .base import Workload, timed_loop
from .concurrent import Concurrent
from .placement import Placement
from .single import Single

WORKLOADS: Dict[str, Type[Workload]] = {"single": Single, "concurrent": Concurrent, "placement": Placement}


def create(spec: RunSpec, models_dir: Optional[str] = None) -> Workload:
    return WORKLOADS[spec.workload](spec, models_dir)


__all__ = ["Workload", "create", "timed_loop", "WORKLOADS"]
