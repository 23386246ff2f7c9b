"""Errors the CLI turns into a clear message and exit code 2 (bad input)."""

from typing import Optional


class InputError(Exception):
    """Bad input: names the file, the line where known, the key and what was expected."""

    def __init__(self, file: str, key: str, message: str, line: Optional[int] = None) -> None:
        self.file, self.key, self.line, self.message = file, key, line, message
        where = "%s:%d" % (file, line) if line else file
        super().__init__("%s: %s: %s" % (where, key, message) if key else "%s: %s" % (where, message))
