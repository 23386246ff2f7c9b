"""YAML with line numbers, and pydantic errors turned into 'file:line: key: expected ...'."""

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from pydantic import BaseModel, ValidationError

from .errors import InputError

MAX_BYTES = 1 << 20  # 1 MiB: our largest matrix or profile is ~5 KB; a 50 MB one took a minute to plan
MAX_NODES = 200_000  # values after aliases are expanded: a 700-byte alias bomb expands to ~10^9
MAX_DEPTH = 64  # nesting: our files nest 4 deep
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml where built: 10x faster, same nodes
_MERGE = "tag:yaml.org,2002:merge"


def load(path: Path) -> tuple[Any, Optional[yaml.Node]]:
    """The parsed data and its node tree (for line numbers). Refused with InputError: files past MAX_BYTES,
    bytes that are not UTF-8, YAML past MAX_NODES values (aliases expanded) or MAX_DEPTH levels, recursive
    aliases, and a key given twice in one mapping."""
    text = read_text(path)
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is not None:
            check_nodes(node, path, loader)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        if line is None and isinstance(e, yaml.reader.ReaderError):
            line = text.count("\n", 0, e.position) + 1
        what = e.reason if isinstance(e, yaml.reader.ReaderError) else getattr(e, "problem", e)
        raise InputError(str(path), "", "not valid YAML: %s" % what, line) from None
    finally:
        loader.dispose()
    return data, node


def read_text(path: Path, limit: int = MAX_BYTES) -> str:
    """The file's text; InputError past `limit` bytes or at the first byte that is not UTF-8."""
    try:
        with open(path, "rb") as f:
            raw = f.read(limit + 1)
            size = os.fstat(f.fileno()).st_size
    except OSError as e:
        raise InputError(str(path), "", "cannot read: %s" % e.strerror) from None
    if len(raw) > limit:
        raise InputError(str(path), "", "%d bytes, past the limit of %d for a matrix or device profile (ours are "
                         "under 5 KB)" % (max(size, len(raw)), limit))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        raise InputError(str(path), "", "byte %d (0x%02x) is not UTF-8 (save the file as UTF-8)"
                         % (e.start, raw[e.start]), line) from None


def check_nodes(root: yaml.Node, path: Path, loader: Any, max_nodes: int = MAX_NODES,
                max_depth: int = MAX_DEPTH) -> int:
    """The number of values in the tree once aliases are expanded, computed on the composed graph (an
    alias is a shared node, so this costs one visit per distinct node); InputError past the limits, for a
    recursive alias, or for a key given twice in one mapping (both lines named)."""
    size: dict[int, int] = {}  # node id -> expanded size, once known
    open_: set[int] = set()  # nodes on the current path (a recursive alias meets one again)
    stack: list[tuple[yaml.Node, tuple[Union[str, int], ...], bool]] = [(root, (), False)]
    while stack:
        node, loc, done = stack.pop()
        key = id(node)
        kids = _children(node, loc)
        line = node.start_mark.line + 1
        if done:
            open_.discard(key)
            size[key] = 1 + sum(size[id(k)] for k, _ in kids)
            if size[key] > max_nodes:
                raise InputError(str(path), dotted(loc), "%s values once aliases are expanded, past the limit of %d"
                                 % (size[key] if key == id(root) else "more than %d" % max_nodes, max_nodes), line)
            continue
        if key in size:
            continue
        if key in open_:
            raise InputError(str(path), dotted(loc), "a recursive alias (a value that contains itself)", line)
        if len(loc) > max_depth:
            raise InputError(str(path), dotted(loc[:3]) + "...", "nested more than %d levels deep" % max_depth, line)
        if isinstance(node, yaml.MappingNode):
            _no_duplicate_keys(node, loc, path, loader)
        open_.add(key)
        stack.append((node, loc, True))
        stack.extend((k, kloc, False) for k, kloc in kids if id(k) not in size)
    return size[id(root)]


def _children(node: yaml.Node, loc: tuple[Union[str, int], ...]) -> list[tuple[yaml.Node, tuple[Union[str, int], ...]]]:
    if isinstance(node, yaml.SequenceNode):
        return [(n, loc + (i,)) for i, n in enumerate(node.value)]
    if isinstance(node, yaml.MappingNode):
        out: list[tuple[yaml.Node, tuple[Union[str, int], ...]]] = []
        for k, v in node.value:
            out += [(k, loc), (v, loc + (str(k.value) if isinstance(k, yaml.ScalarNode) else "?",))]
        return out
    return []


def _no_duplicate_keys(node: yaml.MappingNode, loc: tuple[Union[str, int], ...], path: Path, loader: Any) -> None:
    first: dict[Any, yaml.Node] = {}
    for knode, _ in node.value:
        if not isinstance(knode, yaml.ScalarNode) or knode.tag == _MERGE:
            continue
        k = loader.construct_object(knode)
        try:
            earlier = first.setdefault(k, knode)
        except TypeError:  # unhashable: the constructor says so later
            continue
        if earlier is not knode:
            raise InputError(str(path), dotted(loc + (str(knode.value),)), "key given twice in one mapping "
                             "(lines %d and %d)" % (earlier.start_mark.line + 1, knode.start_mark.line + 1),
                             knode.start_mark.line + 1)


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
