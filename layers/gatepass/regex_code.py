"""Regular expressions' programs, compiled when the layer is built instead of at every cold start.

``re.compile`` parses a pattern and assembles its program in pure Python (``re._parser`` and
``re._compiler``) before ``_sre`` makes the pattern object from it. No bytecode file can hold a
compiled pattern, so every cold start does that work again for each pattern its modules compile
at import: some 130 for a function that sells a ticket (botocore, urllib3, dateutil, pydantic,
Powertools and Gatepass), about a tenth of the cold-start floor on Python 3.11 (decision 0088).

``recording`` watches the patterns compiled meanwhile and keeps, for each ``(pattern, flags)``,
the arguments ``re._compiler`` passed to ``_sre.compile``: the pattern's flags, its program,
its groups and their names, all plain values. ``write`` stores them with ``marshal`` beside this
module (``layers/Makefile`` records them with the dataclasses' methods, ``gatepass.layer_code``).
``install`` (run by ``gatepass/__init__``) gives ``re._compiler`` a ``compile`` that makes a
pattern it knows straight from its stored program and compiles any other as before. The pattern
is the one ``re`` would have made (equal, program and all), and ``re``'s own cache keeps it as
before. A file written by another Python (its bytecode's magic number, or another ``_sre``) is not
used; where there is no file (a checkout, ``make dev``, the web service) nothing changes.
"""

from __future__ import annotations

import importlib.util
import marshal
import os
import re
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

_compiler: Any = re._compiler  # type: ignore[attr-defined]
_compile = _compiler.compile
_sre: Any = _compiler._sre  # the engine's C module

FILE = os.path.join(os.path.dirname(__file__), "regex_code.marshal")
# What a stored program is valid for: this Python's bytecode and its regular-expression engine.
STAMP = (importlib.util.MAGIC_NUMBER, _sre.MAGIC, _sre.CODESIZE, sys.maxunicode)
_DEBUG = re.DEBUG.value

Key = tuple[str | bytes, int]
# _sre.compile's arguments after the pattern: flags, program, groups, group index, index group.
Program = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]


class _StoredCompile:
    """``re._compiler.compile``: a stored program for a pattern it knows, else compiled."""

    def __init__(self, programs: Mapping[Key, Program]) -> None:
        self.programs = programs
        self.compiled = 0  # patterns it did not know, compiled as before

    def __call__(self, p: Any, flags: int = 0) -> Any:
        if isinstance(p, str | bytes):
            program = self.programs.get((p, flags))
            if program is not None:
                return _sre.compile(p, *program)
            self.compiled += 1
        return _compile(p, flags)


class _Watching:
    """Stands in for ``_sre`` inside ``re._compiler`` while recording: keeps what it compiles."""

    def __init__(self, programs: dict[Key, Program]) -> None:
        self.programs = programs
        self.key: Key | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(_sre, name)

    def compile(self, pattern: Any, *program: Any) -> Any:
        if self.key is not None and pattern == self.key[0]:
            flags, code, groups, groupindex, indexgroup = program
            # Plain ints: the program's opcodes are int subclasses, which marshal refuses.
            self.programs.setdefault(
                self.key,
                (
                    int(flags),
                    [int(c) for c in code],
                    int(groups),
                    {str(k): int(v) for k, v in groupindex.items()},
                    tuple(indexgroup),
                ),
            )
        return _sre.compile(pattern, *program)


@contextmanager
def recording() -> Iterator[dict[Key, Program]]:
    """The programs of the patterns ``re`` compiles until the block ends."""
    programs: dict[Key, Program] = {}
    watching = _Watching(programs)

    def compile(p: Any, flags: int = 0) -> Any:
        known = isinstance(p, str | bytes) and not flags & _DEBUG
        watching.key = (p, int(flags)) if known else None
        try:
            return _compile(p, flags)
        finally:
            watching.key = None

    _compiler._sre, _compiler.compile = watching, compile
    try:
        yield programs
    finally:
        _compiler._sre, _compiler.compile = _sre, _compile


def load(path: str | os.PathLike[str] = FILE) -> dict[Key, Program] | None:
    """The stored programs in ``path``; None when there is none, or it is another Python's."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return None
    # The layer's own file, written by its build: as trusted as the bytecode beside it.
    stamp, programs = marshal.loads(data)  # noqa: S302
    if tuple(stamp) != STAMP:
        return None
    return dict(programs)


def write(programs: Mapping[Key, Program], path: str | os.PathLike[str] = FILE) -> None:
    ordered = dict(sorted(programs.items(), key=lambda item: (repr(item[0][0]), item[0][1])))
    with open(path, "wb") as file:
        file.write(marshal.dumps((STAMP, ordered)))


def install(path: str | os.PathLike[str] = FILE) -> bool:
    """Give ``re`` the stored programs in ``path``; False (and nothing changed) where there are
    none for this Python."""
    programs = load(path)
    if programs is None:
        return False
    _compiler.compile = _StoredCompile(programs)
    return True


def uninstall() -> None:
    """``re`` compiles every pattern again (tests)."""
    _compiler.compile = _compile


def installed() -> _StoredCompile | None:
    found = _compiler.compile
    return found if isinstance(found, _StoredCompile) else None
