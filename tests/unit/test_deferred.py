"""Deferred modules (gatepass.deferred): imported, found by every import statement, and run once,
at the first read of something they define, even when threads read them first together; and
PyJWT through gatepass.pyjwt, which defers cryptography's certificate support."""

from __future__ import annotations

import importlib
import sys
import threading
import types
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatepass import deferred
from tests.support.fresh import run_fresh

pytestmark = pytest.mark.unit


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package of its own name with a subpackage ``heavy``, which records every run of its
    code in the package's ``RUNS`` and takes a moment between its first and last definitions."""
    name = f"deferred_{uuid.uuid4().hex}"
    root = tmp_path / name
    (root / "heavy").mkdir(parents=True)
    (root / "__init__.py").write_text("RUNS = []\n")
    (root / "heavy" / "__init__.py").write_text(
        "import threading, time\n"
        f"from {name} import RUNS\n"
        f"from {name}.heavy import part\n"
        "RUNS.append(threading.get_ident())\n"
        "FIRST = 1\n"
        "time.sleep(0.05)\n"
        "def answer():\n"
        "    return part.VALUE\n"
    )
    (root / "heavy" / "part.py").write_text("VALUE = 42\n")
    (root / "user.py").write_text(f"from {name}.heavy import answer\n")
    (root / "broken.py").write_text(
        f"from {name} import RUNS\nRUNS.append('broken')\nraise RuntimeError('cannot load')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[module]


def test_a_deferred_module_is_found_by_imports_but_runs_at_the_first_read(package: str) -> None:
    # Given a module deferred
    deferred.defer(f"{package}.heavy")
    parent = sys.modules[package]

    # When it is imported by name, from its package, and read for what the import system reads
    heavy = importlib.import_module(f"{package}.heavy")
    assert heavy is parent.heavy is sys.modules[f"{package}.heavy"]
    assert heavy.__name__ == f"{package}.heavy"
    assert heavy.__spec__ is not None
    assert heavy.__path__

    # Then its code has not run
    assert parent.RUNS == []

    # When something it defines is read, Then it runs, once, and is an ordinary module
    assert heavy.answer() == 42
    assert heavy.FIRST == 1
    assert len(parent.RUNS) == 1
    assert type(heavy) is types.ModuleType
    assert not [key for key in vars(heavy) if key.startswith("_gatepass_deferred")]


def test_importing_a_name_from_a_deferred_module_runs_it(package: str) -> None:
    deferred.defer(f"{package}.heavy")

    user = importlib.import_module(f"{package}.user")

    assert user.answer() == 42
    assert len(sys.modules[package].RUNS) == 1


def test_a_name_it_does_not_define_is_missing_once_it_has_run(package: str) -> None:
    deferred.defer(f"{package}.heavy")
    heavy = sys.modules[f"{package}.heavy"]

    assert not hasattr(heavy, "nothing_of_the_kind")
    with pytest.raises(AttributeError):
        _ = heavy.nothing_of_the_kind
    assert len(sys.modules[package].RUNS) == 1


def test_threads_that_read_it_first_together_all_find_it_made_and_it_runs_once(
    package: str,
) -> None:
    # Given a deferred module whose code takes a moment between its definitions
    deferred.defer(f"{package}.heavy")
    heavy = sys.modules[f"{package}.heavy"]
    start = threading.Barrier(8)
    answers: list[object] = []

    def read() -> None:
        start.wait(10)
        try:
            answers.append(heavy.answer())
        except Exception as exc:  # recorded, to fail below with what a thread saw
            answers.append(exc)

    # When eight threads read it first at the same moment
    threads = [threading.Thread(target=read) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    # Then every one found it made, and its code ran once
    assert answers == [42] * 8
    assert len(sys.modules[package].RUNS) == 1


def test_a_module_that_fails_raises_to_its_reader_and_tries_again_at_the_next_read(
    package: str,
) -> None:
    deferred.defer(f"{package}.broken")
    broken = sys.modules[f"{package}.broken"]

    for _ in range(2):
        with pytest.raises(RuntimeError, match="cannot load"):
            _ = broken.anything
    assert sys.modules[package].RUNS == ["broken", "broken"]


def test_a_module_already_imported_or_compiled_is_left_as_it_is(package: str) -> None:
    heavy = importlib.import_module(f"{package}.heavy")
    deferred.defer(f"{package}.heavy")
    assert sys.modules[f"{package}.heavy"] is heavy

    # An extension module's code is not Python: it is not deferred, nor imported
    deferred.defer("_decimal")
    assert type(sys.modules.get("_decimal", types.ModuleType("x"))) is types.ModuleType


def test_a_module_that_does_not_exist_is_an_import_error(package: str) -> None:
    with pytest.raises(ModuleNotFoundError):
        deferred.defer(f"{package}.absent")


def test_pyjwt_signs_and_verifies_without_running_cryptographys_certificate_code() -> None:
    code = """
import gatepass.tokens, gatepass.federation
from gatepass.pyjwt import jwt
from cryptography.hazmat.primitives.asymmetric import ec
key = ec.generate_private_key(ec.SECP256R1())
token = jwt.encode({"sub": "ann"}, key, algorithm="ES256")
assert jwt.decode(token, key.public_key(), algorithms=["ES256"]) == {"sub": "ann"}
print(sorted(m for m in sys.modules if m.startswith('cryptography.x509.')))
from cryptography import x509
print(x509.Certificate.__name__)
"""

    # When, in a fresh interpreter with what a function ships, session tokens are imported and
    # PyJWT signs and verifies an ES256 token
    printed = run_fresh(code)

    # Then none of cryptography's certificate modules ran, and they still load when read
    assert printed.splitlines() == ["[]", "Certificate"]
