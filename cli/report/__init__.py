"""The campaign report: cells, figures, report.md (build_report), a rich table (render) and JSON (to_json)."""

from .build import build_report
from .data import ReportData
from .render import render, to_json

__all__ = ["ReportData", "build_report", "render", "to_json"]
