"""What the layer's build compiles once so that no cold start compiles it again: dataclasses'
methods (``gatepass.dataclass_code``) and regular expressions' programs
(``gatepass.regex_code``), both recorded while every gatepass module is imported.

``layers/Makefile`` (and the bench, which builds the layer the same way) runs ``main`` with
``python -S -P -c``: ``-m`` would run this module a second time, after ``gatepass/__init__``
imported it.
"""

from __future__ import annotations

import os
import sys

from gatepass import dataclass_code, regex_code


def main(argv: list[str]) -> int:
    """``FOLDER MODULE...``: record while importing the modules, and write both files (under
    their usual names) into the folder."""
    if len(argv) < 2:
        print("usage: gatepass.layer_code.main([FOLDER, MODULE, ...])", file=sys.stderr)
        return 2
    folder, modules = argv[0], argv[1:]
    with dataclass_code.recording() as texts, regex_code.recording() as programs:
        skipped = dataclass_code.import_all(modules)
    dataclass_code.write(texts, os.path.join(folder, os.path.basename(dataclass_code.FILE)))
    regex_code.write(programs, os.path.join(folder, os.path.basename(regex_code.FILE)))
    print(
        f"{len(texts)} dataclass method sources and {len(programs)} regular expressions "
        f"compiled; not importable here: {skipped}"
    )
    return 0
