"""YAML with line numbers, and pydantic errors turned into 'file:line: key: expected ...'."""

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError


def load(path: Path) -> tuple[Any, Optional[yaml.Node]]:
    """The parsed data and its node tree (for line numbers)."""
    try:
        text = path.read_text()
    except OSError as e:
        raise InputError(str(path), "", "cannot read: %s" % e.strerror) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(str(path), "", "not valid YAML: %s" % getattr(e, "problem", e), line) from None
    return data, node


def line_of(node: Optional[yaml.Node], loc: Sequence[Union[str, int]]) -> Optional[int]:
    """The line of the deepest node along `loc` that exists in the file."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == part), None)
            if nxt is None:
                key = next((k for k, _ in node.value if k.value == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = nxt
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            return line
        line = node.start_mark.line + 1
    return line


def dotted(loc: Sequence[Union[str, int]]) -> str:
    out = ""
    for part in loc:
        out += "[%d]" % part if isinstance(part, int) else ("." if out else "") + str(part)
    return out


def validate(model: type[BaseModel], data: Any, path: Path, node: Optional[yaml.Node],
             prefix: Sequence[Union[str, int]] = ()) -> Any:
    """model.model_validate(data), or InputError naming the file, line and key of the first problem."""
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise error_from(e, path, node, prefix) from None


def error_from(e: ValidationError, path: Path, node: Optional[yaml.Node],
               prefix: Sequence[Union[str, int]] = (), drop: int = 0) -> InputError:
    """`drop` leading parts of pydantic's location are dropped (when the prefix already names them)."""
    err = e.errors()[0]
    own = [p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-"))][drop:]
    loc = list(prefix) + own
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown key"
    elif "input" in err and err["type"] != "missing":
        msg = "%s (got %r)" % (msg, err["input"])
    return InputError(str(path), dotted(loc), msg, line_of(node, loc))
