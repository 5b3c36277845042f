"""Dataclasses' methods compiled when the layer is built (``gatepass.dataclass_code``): a class
made from the stored code is the class ``dataclasses`` makes itself; a text it does not know is
compiled as before; another Python's file, or none, changes nothing."""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import marshal
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gatepass import dataclass_code

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# Every kind of method dataclasses writes: frozen and slots, ordering, keyword-only fields,
# defaults and factories, fields out of repr and compare, InitVar and __post_init__, and a
# module whose annotations are strings.
SAMPLE = """
from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass, field


@dataclass(frozen=True, slots=True, order=True)
class Seat:
    row: str
    number: int = 1


@dataclass(kw_only=True)
class Order:
    buyer: str
    seats: list[Seat] = field(default_factory=list)
    note: str = field(default="", repr=False, compare=False)


@dataclass(eq=False)
class Basket:
    owner: str
    discount: InitVar[int] = 0
    total: int = field(init=False, default=0)

    def __post_init__(self, discount: int) -> None:
        self.total = 100 - discount


CLASSES = (Seat, Order, Basket)
"""


@pytest.fixture
def sample(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "gp_dataclass_sample.py").write_text(SAMPLE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "gp_dataclass_sample"
    sys.modules.pop("gp_dataclass_sample", None)
    dataclass_code.uninstall()


def _fresh(name: str) -> ModuleType:
    sys.modules.pop(name, None)
    return importlib.import_module(name)


def _methods(cls: type) -> dict[str, Any]:
    """Each method dataclasses wrote on ``cls``, as its code and annotations."""
    found = {}
    for name, value in vars(cls).items():
        code = getattr(value, "__code__", None)
        if code is not None and code.co_filename == "<string>":
            found[name] = (code, value.__annotations__, value.__defaults__, value.__kwdefaults__)
    return found


def test_a_class_made_from_the_stored_code_is_the_class_dataclasses_makes(
    sample: str, tmp_path: Path
) -> None:
    # Given the sample's dataclasses as dataclasses makes them, and their methods recorded
    plain = _fresh(sample)
    sys.modules.pop(sample)
    codes, skipped = dataclass_code.record([sample])
    assert skipped == []
    assert len(codes) >= 10
    dataclass_code.write(codes, tmp_path / "codes.marshal")
    # When they are made again with the stored code installed
    assert dataclass_code.install(tmp_path / "codes.marshal")
    stored = _fresh(sample)
    # Then no method was compiled, and every one is the same code with the same annotations
    installed = dataclass_code.installed()
    assert installed is not None
    assert installed.compiled == 0
    for mine, theirs in zip(stored.CLASSES, plain.CLASSES, strict=True):
        assert _methods(mine) == _methods(theirs)
        assert _methods(mine)
        assert [(f.name, f.type, f.default) for f in dataclasses.fields(mine)] == [
            (f.name, f.type, f.default) for f in dataclasses.fields(theirs)
        ]
    # And they behave the same: construction, repr, equality, order, hashing, frozen, post-init
    seat = stored.Seat("B", 2)
    assert repr(seat) == "Seat(row='B', number=2)"
    assert stored.Seat("A") < seat
    assert hash(seat) == hash(stored.Seat("B", 2))
    with pytest.raises(dataclasses.FrozenInstanceError):
        seat.row = "C"  # type: ignore[misc]
    order = stored.Order(buyer="ada", note="x")
    assert order == stored.Order(buyer="ada", note="y")
    assert repr(order) == "Order(buyer='ada', seats=[])"
    with pytest.raises(TypeError):
        stored.Order("ada")
    assert stored.Basket("ada", 30).total == 70
    assert stored.Basket("ada") != stored.Basket("ada")


def test_a_text_it_does_not_know_is_compiled_as_before(tmp_path: Path) -> None:
    # Given stored code for nothing
    dataclass_code.write({}, tmp_path / "empty.marshal")
    assert dataclass_code.install(tmp_path / "empty.marshal")
    try:
        # When a dataclass is defined
        @dataclasses.dataclass
        class Ticket:
            code: str
            used: bool = False

        # Then it is made as always, its methods compiled
        assert Ticket("x") == Ticket("x", False)
        installed = dataclass_code.installed()
        assert installed is not None
        assert installed.compiled >= 3
    finally:
        dataclass_code.uninstall()


def test_another_pythons_file_or_none_changes_nothing(tmp_path: Path) -> None:
    # Given a file written by a Python whose bytecode differs, and no file at all
    other = tmp_path / "other.marshal"
    other.write_bytes(b"\x00\x00\r\n" + marshal.dumps({}))
    assert importlib.util.MAGIC_NUMBER != b"\x00\x00\r\n"
    # Then neither is installed, and dataclasses keeps the builtin exec
    assert dataclass_code.load(other) is None
    assert not dataclass_code.install(other)
    assert not dataclass_code.install(tmp_path / "missing.marshal")
    assert "exec" not in vars(dataclasses)
    assert dataclass_code.installed() is None


def _python(code: str, **env: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": os.pathsep.join(map(str, env.pop("path"))), **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_pydantics_dataclasses_need_no_compiling_in_another_process(tmp_path: Path) -> None:
    # Given pydantic's and annotated-types' dataclasses recorded by one interpreter (as the build)
    stored = tmp_path / "dataclass_code.marshal"
    _python(
        f"""
        import sys
        from gatepass.layer_code import main
        sys.exit(main([{str(tmp_path)!r}, "pydantic.main", "annotated_types"]))
        """,
        path=[ROOT / "layers"],
    )
    # When a fresh one installs them and imports pydantic (as a cold start)
    compiled = _python(
        f"""
        from gatepass import dataclass_code
        assert dataclass_code.install({str(stored)!r})
        import pydantic.main, annotated_types
        print(dataclass_code.installed().compiled)
        """,
        path=[ROOT / "layers"],
    )
    # Then it compiled no method: every text is the same from process to process
    assert compiled == "0"
