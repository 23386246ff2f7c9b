"""Import circles among the modules of a package, counting lazy (function-level) imports too.

Usage: python scripts/import_cycles.py cli edgebench.cli
"""

import ast
import sys
from pathlib import Path


def module_name(root: Path, pkg: str, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join([pkg] + parts)


def imports(path: Path, name: str, is_pkg: bool, modules: set[str]) -> set[str]:
    found: set[str] = set()
    base = name.split(".") if is_pkg else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                head = base[: len(base) - node.level + 1]
                mod = ".".join(head + ([mod] if mod else []))
            subs = ["%s.%s" % (mod, a.name) for a in node.names]
            found.update(s for s in subs if s in modules)
            if any(s not in modules for s in subs):  # a name defined in mod itself
                found.add(mod)
    return found


def graph(root: Path, pkg: str) -> dict[str, set[str]]:
    files = {module_name(root, pkg, p): p for p in root.rglob("*.py")}
    g: dict[str, set[str]] = {}
    for name, path in files.items():
        deps = imports(path, name, path.name == "__init__.py", set(files))
        g[name] = {d for d in deps if d in files and d != name}
    return g


def cycles(g: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in sorted(g[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def main() -> int:
    root, pkg = Path(sys.argv[1]), sys.argv[2]
    g = graph(root, pkg)
    found = cycles(g)
    for comp in found:
        print("circle: " + ", ".join(comp))
        for v in comp:
            print("   %s -> %s" % (v, ", ".join(sorted(w for w in g[v] if w in comp))))
    print("%d circle(s)" % len(found))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
