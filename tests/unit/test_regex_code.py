"""Regular expressions' programs compiled when the layer is built (``gatepass.regex_code``): a
pattern made from its stored program is the pattern ``re`` makes itself; a pattern it does not
know is compiled as before; another Python's file, or none, changes nothing."""

from __future__ import annotations

import marshal
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from gatepass import regex_code

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# Named and numbered groups, a conditional, look-arounds, inline and passed flags, verbose
# patterns with comments, case folding beyond ASCII, and bytes.
PATTERNS: list[tuple[str | bytes, int]] = [
    (r"^(?P<year>\d{4})-(?P<month>\d\d)(?:-(?P<day>\d\d))?$", 0),
    (r"(?i)gate(pass)?", 0),
    (r"^(?![0-9]+$)(?!-)[a-zA-Z0-9-]{,63}(?<!-)$", 0),
    (r"(<)?(\w+@\w+(?:\.\w+)+)(?(1)>|$)", 0),
    (
        r"""
        ^ (?P<code>[A-Z2-7]{16})   # the ticket code, base32
        \s* / \s* (?P<n>\d+) $     # and its number
        """,
        re.VERBOSE,
    ),
    ("straße|ǅ", re.IGNORECASE),
    (r"\w+", re.ASCII),
    (r"^\s+$", re.MULTILINE | re.DOTALL),
    (rb"[\x00-\x1f\\]+(?P<rest>.*)", 0),
    (rb"(?i)^content-type:\s*(.+)$", re.MULTILINE),
]
SUBJECTS = [
    "2026-12",
    "2026-12-03",
    "GATEPASS gate",
    "my-bucket-1",
    "-x",
    "<ada@example.org>",
    "ada@example.org",
    "ABCDEFGHIJKLMNOP / 12",
    "STRASSE ǆ",
    "héllo wörld",
    "   \n  ",
]
BYTE_SUBJECTS = [b"\x01\x02tail", b"Content-Type: text/html\r\nX: y", b"plain"]


@pytest.fixture(autouse=True)
def _restored() -> Iterator[None]:
    yield
    regex_code.uninstall()
    re.purge()


def _fresh(pattern: str | bytes, flags: int) -> re.Pattern[str] | re.Pattern[bytes]:
    re.purge()
    return re.compile(pattern, flags)


def _behaviour(compiled: re.Pattern[str] | re.Pattern[bytes]) -> list[object]:
    subjects: list[str] | list[bytes] = (
        BYTE_SUBJECTS if isinstance(compiled.pattern, bytes) else SUBJECTS
    )
    seen: list[object] = [compiled.flags, compiled.groups, dict(compiled.groupindex)]
    for subject in subjects:
        found = compiled.search(subject)  # type: ignore[arg-type]
        seen.append(None if found is None else (found.span(), found.groups(), found.groupdict()))
        seen.append(compiled.findall(subject))  # type: ignore[arg-type]
    return seen


def _record(path: Path) -> dict[regex_code.Key, regex_code.Program]:
    with regex_code.recording() as programs:
        for pattern, flags in PATTERNS:
            _fresh(pattern, flags)
    regex_code.write(programs, path)
    return programs


def test_a_pattern_made_from_its_stored_program_is_the_pattern_re_makes(tmp_path: Path) -> None:
    # Given the patterns as re makes them, and their programs recorded and stored
    theirs = [_fresh(pattern, flags) for pattern, flags in PATTERNS]
    programs = _record(tmp_path / "programs.marshal")
    assert len(programs) == len(PATTERNS)

    # When the stored programs are installed and the patterns compiled again (re's cache empty)
    assert regex_code.install(tmp_path / "programs.marshal")
    mine = [_fresh(pattern, flags) for pattern, flags in PATTERNS]

    # Then none was compiled: each came from its program
    installed = regex_code.installed()
    assert installed is not None
    assert installed.compiled == 0
    # And each equals re's own (same pattern, flags and program) and behaves the same
    for stored, compiled in zip(mine, theirs, strict=True):
        assert stored == compiled
        assert stored is not compiled
        assert _behaviour(stored) == _behaviour(compiled)
    # And re's cache keeps a stored pattern as it keeps any other
    assert re.compile(*PATTERNS[0]) is re.compile(*PATTERNS[0])


def test_a_pattern_it_does_not_know_is_compiled_as_before(tmp_path: Path) -> None:
    # Given stored programs for other patterns
    _record(tmp_path / "programs.marshal")
    assert regex_code.install(tmp_path / "programs.marshal")

    # When a pattern it does not know is compiled, or a known one with other flags
    unknown = _fresh(r"^seat-(\d+)$", 0)
    other_flags = _fresh(r"(?i)gate(pass)?", re.MULTILINE)

    # Then both are made as always
    installed = regex_code.installed()
    assert installed is not None
    assert installed.compiled == 2
    assert unknown.match("seat-12") is not None
    assert other_flags.flags & re.MULTILINE
    # And a pattern re cannot compile is refused as before
    with pytest.raises(re.error):
        _fresh(r"(unclosed", 0)


def test_recording_keeps_only_what_it_can_replay_and_puts_re_back(tmp_path: Path) -> None:
    # When the recorded block compiles a pattern with DEBUG (which prints its program) and fails
    compile_before = re._compiler.compile  # type: ignore[attr-defined]
    kept: dict[regex_code.Key, regex_code.Program] = {}

    def failing_import() -> None:
        with regex_code.recording() as programs:
            kept.update(programs)
            _fresh(r"seat \d+", re.DEBUG)
            _fresh(r"row \w", 0)
            kept.update(programs)
            raise RuntimeError("the import failed")

    with pytest.raises(RuntimeError):
        failing_import()

    # Then only the plain pattern was kept, and re compiles with its own compiler again
    assert list(kept) == [(r"row \w", 0)]
    assert re._compiler.compile is compile_before  # type: ignore[attr-defined]
    assert re._compiler._sre.__name__ == "_sre"  # type: ignore[attr-defined]


def test_another_pythons_file_or_none_changes_nothing(tmp_path: Path) -> None:
    # Given a file stamped by a Python whose regular-expression engine differs, and no file
    other = tmp_path / "other.marshal"
    magic, sre_magic, codesize, maxunicode = regex_code.STAMP
    other.write_bytes(marshal.dumps(((magic, sre_magic + 1, codesize, maxunicode), {})))
    # Then neither is installed, and re keeps its own compiler
    assert regex_code.load(other) is None
    assert not regex_code.install(other)
    assert not regex_code.install(tmp_path / "missing.marshal")
    assert regex_code.installed() is None


def _python(code: str, path: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": str(path)},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_a_librarys_patterns_need_no_compiling_in_another_process(tmp_path: Path) -> None:
    # Given the patterns botocore and dateutil compile at import, recorded by one interpreter
    # (as the layer's build records them)
    _python(
        f"""
        import sys
        from gatepass.layer_code import main
        sys.exit(main([{str(tmp_path)!r}, "botocore.utils", "dateutil.parser"]))
        """,
        ROOT / "layers",
    )
    # When a fresh one installs them and imports the same (as a cold start)
    compiled = _python(
        f"""
        from gatepass import regex_code
        assert regex_code.install({str(tmp_path / "regex_code.marshal")!r})
        import botocore.utils, dateutil.parser
        print(regex_code.installed().compiled)
        """,
        ROOT / "layers",
    )
    # Then it compiled none: every pattern and its flags are the same from process to process
    assert compiled == "0"
