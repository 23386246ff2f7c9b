"""JSON Schemas of the host/suite boundary, generated from the suite's dataclasses."""

import json
from pathlib import Path

from edgebench.suite.spec import SCHEMA_VERSION, RunResult, RunSpec
from pydantic import TypeAdapter


def schemas() -> dict[str, dict[str, object]]:
    out = {}
    for name, cls in (("runspec", RunSpec), ("runresult", RunResult)):
        schema = TypeAdapter(cls).json_schema()
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = "edgebench/%s/v%d" % (name, SCHEMA_VERSION)
        out[name] = schema
    return out


def write_schemas(out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, schema in schemas().items():
        path = out_dir / ("%s.v%d.schema.json" % (name, SCHEMA_VERSION))
        path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
        paths.append(path)
    return paths
