"""Paths a matrix or an option names: campaign folders that stay inside the results root, and image
folders or weights files that are not the host's system folders.

A campaign folder is `results_root / name`, so a name is one plain folder name; the folder, once
resolved (symlinks followed), must still lie inside the results root. Image folders are bound into
containers: one that is, holds or lies inside a system folder, or holds a socket, a device node or a
FIFO (a bound /var/run hands a run the host's docker.sock), is refused at plan time.
"""

import os
import re
import stat
from pathlib import Path

from .errors import InputError

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,99}\Z")
NAME_RULE = ("1 to 100 letters, digits, '.', '_', '-' or '+', starting with a letter or digit "
             "(one folder name: no '/', not '.' or '..')")

# Folders whose contents are the host's, not data: refused as image folders, and so is anything inside them
# or any folder that contains one (binding / or /var would bind them too).
SYSTEM_TREES = {
    "/proc": "the kernel's process file system",
    "/sys": "the kernel's device and driver file system",
    "/dev": "device nodes",
    "/run": "runtime state of the host's services (sockets such as docker.sock)",
    "/var/run": "runtime state of the host's services (sockets such as docker.sock)",
    "/etc": "the host's configuration (accounts, keys, credentials)",
    "/boot": "the kernel and boot loader",
    "/var/lib/docker": "the Docker engine's own state",
    "/var/lib/containerd": "containerd's own state",
}
# Folders refused as themselves (their sub-folders can hold data, e.g. /root/datasets/val).
SYSTEM_ROOTS = {
    "/root": "root's home folder (keys, credentials)",
    "/home": "every user's home folder",
    "/usr": "the host's programs", "/bin": "the host's programs", "/sbin": "the host's programs",
    "/lib": "the host's libraries", "/lib32": "the host's libraries", "/lib64": "the host's libraries",
    "/var": "the host's variable state", "/tmp": "the host's shared temporary folder",
}
WALK_LIMIT = 200_000  # entries looked at in an image folder; ImageNet's validation set is 50,000 files
# What a weights file starts with: a zip (torch.save since 1.6, .keras), a pickle (older torch.save), HDF5 (Keras).
WEIGHTS_MAGIC = {b"PK\x03\x04": "zip", b"\x80": "pickle", b"\x89HDF\r\n\x1a\n": "HDF5"}


def name_problem(name: str) -> str:
    """Why `name` cannot be a campaign folder name; empty when it can."""
    if NAME_RE.match(name):
        return ""
    return "%r is not a campaign name: use %s" % (name, NAME_RULE)


def check_campaign_name(name: str, where: str) -> str:
    """`name`, or InputError naming `where` (an option such as --campaign)."""
    problem = name_problem(name)
    if problem:
        raise InputError(where, "", problem)
    return name


def campaign_dir(results_root: Path, name: str, where: str = "--campaign") -> Path:
    """The folder campaign `name` is written to, refused unless it lies inside the results root."""
    check_campaign_name(name, where)
    folder = results_root / name
    if folder.is_symlink() or folder.exists():
        real, root = folder.resolve(), results_root.resolve()
        if not real.is_relative_to(root) or real == root:
            raise InputError(str(folder), "", "resolves to %s, outside the results root %s; campaigns are written "
                             "inside it only (remove the link or pick another --campaign)" % (real, root))
        if folder.exists() and not folder.is_dir():
            raise InputError(str(folder), "", "is not a folder (a campaign folder goes here)")
    return folder


def system_problem(path: Path) -> str:
    """Why `path` (absolute) is a system folder or inside one; empty when it is not."""
    for p in dict.fromkeys((Path(os.path.normpath(path)), path.resolve())):
        for tree, why in SYSTEM_TREES.items():
            t = Path(tree)
            if p == t or p.is_relative_to(t):
                return "%s is %s%s: %s; not bound into a run" % (p, "" if p == t else "inside ", tree, why)
            if t.is_relative_to(p):
                return "%s contains %s (%s); not bound into a run" % (p, tree, why)
        if str(p) in SYSTEM_ROOTS:
            return "%s is %s; not bound into a run (name a folder of images inside it)" % (p, SYSTEM_ROOTS[str(p)])
    return ""


def _kind(mode: int) -> str:
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device node"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    return ""


def folder_problem(folder: Path, limit: int = WALK_LIMIT) -> str:
    """Why `folder` may not be bound into a container: a system folder, or it holds a socket, a device node
    or a FIFO (walked without following links, `limit` entries at most); empty when it may."""
    problem = system_problem(folder)
    if problem:
        return problem
    seen, stack = 0, [str(folder)]
    while stack:
        top = stack.pop()
        try:
            entries = list(os.scandir(top))
        except OSError as e:
            return "cannot read %s: %s" % (top, e.strerror)
        for entry in entries:
            seen += 1
            if seen > limit:
                return "%s holds more than %d entries; give a smaller image folder" % (folder, limit)
            mode = entry.stat(follow_symlinks=False).st_mode
            kind = _kind(mode)
            if kind:
                return "%s holds %s (%s); image folders hold files only" % (folder, kind, entry.path)
            if stat.S_ISDIR(mode):
                stack.append(entry.path)
    return ""


def weights_problem(path: Path) -> str:
    """Why `path` cannot be a weights file: a system file, not a regular file, or not zip/pickle/HDF5."""
    problem = system_problem(path)
    if problem:
        return problem.replace("not bound into a run", "not read as weights")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        return "cannot read %s: %s" % (path, e.strerror)
    if not any(head.startswith(m) for m in WEIGHTS_MAGIC):
        return ("%s is not a weights file: expected a torch state dict (zip or pickle) or Keras weights (HDF5), "
                "got a file starting %r" % (path, head))
    return ""
