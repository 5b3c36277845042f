"""Dataclasses' generated methods, compiled when the layer is built instead of at every cold start.

``@dataclass`` writes the source of a class's ``__init__``, ``__repr__``, ``__eq__`` and the
rest and compiles it with ``exec`` when the class is defined. Bytecode files cannot hold that
code, so every cold start compiles it again: pydantic and annotated-types define some 50
dataclasses at import, Gatepass a few more, and on Python 3.11 compiling their methods was about
a tenth of a function's cold start (decision 0086).

``recording`` watches ``dataclasses``' ``exec`` and keeps each source text it was given, compiled;
``write`` stores them in a file beside this module (``layers/Makefile`` records them while it
imports every gatepass module, with the layer's libraries and the functions' own:
``gatepass.layer_code``). ``install`` (run by
``gatepass/__init__``, before any model module is imported) reads that file and gives
``dataclasses`` an ``exec`` that runs the compiled code for a text it has and compiles any other
text as before. The code is what
``exec`` would have compiled from the same text, with no compiler flags inherited, so a class is
the same class either way; a file written by another Python (its bytecode's magic number) is not
used. Where there is no file (a checkout, ``make dev``, the web service) nothing changes.
"""

from __future__ import annotations

import builtins
import dataclasses
import importlib
import importlib.util
import marshal
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from types import CodeType
from typing import Any

# Where layers/Makefile writes the file, inside the gatepass package.
FILE = os.path.join(os.path.dirname(__file__), "dataclass_code.marshal")
_exec = builtins.exec


class _CompiledExec:
    """``exec`` for ``dataclasses``: the compiled code of a source text it knows, else ``exec``."""

    def __init__(self, codes: Mapping[str, CodeType]) -> None:
        self.codes = codes
        self.compiled = 0  # texts it did not know, compiled as before

    def __call__(self, source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            code = self.codes.get(source)
            if code is None:
                self.compiled += 1
            else:
                source = code
        _exec(source, globals, locals)


def compile_text(text: str) -> CodeType:
    """``text`` compiled as ``exec(text)`` inside ``dataclasses`` compiles it (no future flags:
    the module that compiles it here must not lend it its own ``from __future__`` imports)."""
    return compile(text, "<string>", "exec", dont_inherit=True)


def load(path: str | os.PathLike[str] = FILE) -> dict[str, CodeType] | None:
    """The compiled texts in ``path``; None when there is none, or it is another Python's."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except FileNotFoundError:
        return None
    magic = importlib.util.MAGIC_NUMBER
    if not data.startswith(magic):
        return None
    # The layer's own file, written by its build: as trusted as the bytecode beside it.
    codes: dict[str, CodeType] = marshal.loads(data[len(magic) :])  # noqa: S302
    return codes


def install(path: str | os.PathLike[str] = FILE) -> bool:
    """Give ``dataclasses`` the compiled texts in ``path``; False (and nothing changed) where
    there are none for this Python."""
    codes = load(path)
    if codes is None:
        return False
    dataclasses.exec = _CompiledExec(codes)  # type: ignore[attr-defined]
    return True


def uninstall() -> None:
    """``dataclasses`` compiles every text again (tests)."""
    vars(dataclasses).pop("exec", None)


def installed() -> _CompiledExec | None:
    found = vars(dataclasses).get("exec")
    return found if isinstance(found, _CompiledExec) else None


@contextmanager
def recording() -> Iterator[dict[str, CodeType]]:
    """Every text ``dataclasses`` compiles until the block ends, compiled."""
    texts: dict[str, CodeType] = {}

    def watching(source: Any, globals: Any = None, locals: Any = None) -> None:
        if isinstance(source, str):
            texts.setdefault(source, compile_text(source))
        _exec(source, globals, locals)

    dataclasses.exec = watching  # type: ignore[attr-defined]
    try:
        yield texts
    finally:
        uninstall()


def record(modules: Iterable[str]) -> tuple[dict[str, CodeType], list[str]]:
    """Import ``modules`` (a package's modules too) and answer every text ``dataclasses``
    compiled meanwhile, compiled, and the modules that could not be imported."""
    with recording() as texts:
        skipped = import_all(modules)
    return texts, skipped


def import_all(modules: Iterable[str]) -> list[str]:
    """Import ``modules`` and, for a package, its modules; answer those that could not be
    imported (a library only some functions ship, say), which are left out."""
    skipped: list[str] = []
    for name in modules:
        for module in _with_submodules(name, skipped):
            try:
                importlib.import_module(module)
            except ImportError:
                skipped.append(module)
    return skipped


def _with_submodules(name: str, skipped: list[str]) -> Iterable[str]:
    import pkgutil

    yield name
    module = sys.modules.get(name)
    if module is None or not hasattr(module, "__path__"):
        return
    for info in pkgutil.walk_packages(module.__path__, f"{name}.", onerror=skipped.append):
        yield info.name


def write(codes: Mapping[str, CodeType], path: str | os.PathLike[str] = FILE) -> None:
    with open(path, "wb") as file:
        file.write(importlib.util.MAGIC_NUMBER + marshal.dumps(dict(sorted(codes.items()))))
