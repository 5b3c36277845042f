"""The cyclic garbage collector during a Lambda environment's init.

A cold start allocates a few hundred thousand objects (the SDK's models and handlers, pydantic's
validators, the function's modules and settings) and frees almost none of them: they live as
long as the environment. CPython's collector nevertheless runs a pass every 700 net allocations,
and every tenth and hundredth pass walks the older survivors again, finding nothing to free:
about a sixteenth of a cold start's instructions (docs/performance.md).

So, in a Lambda environment (``AWS_LAMBDA_RUNTIME_API`` is set), the package's first import
pauses the collector (``pause``), and the end of the first invocation resumes it (``resume``,
called by ``gatepass.observability``'s handler wrapper, which every function has). Before
resuming it freezes what is alive (``gc.freeze``): the environment's long-lived objects go to
the permanent generation, which later passes do not walk, so warm invocations collect only what
they allocate. This is the pattern CPython documents for ``gc.freeze`` (disable early, freeze
once the long-lived state is built). Any cycle the init left unreachable stays allocated: a
bounded, once-per-environment cost. Reference counting still frees everything else at once.

Elsewhere (tests, ``make dev``, the web service) the variable is unset and nothing changes.
"""

from __future__ import annotations

import gc
import os

_paused = False


def pause() -> bool:
    """Pause collection until ``resume``, in a Lambda environment only; answers if it did."""
    global _paused
    if _paused or not os.environ.get("AWS_LAMBDA_RUNTIME_API") or not gc.isenabled():
        return False
    gc.disable()
    _paused = True
    return True


def resume() -> bool:
    """Freeze what the init and the first event built, and collect again; answers if it did."""
    global _paused
    if not _paused:
        return False
    _paused = False
    gc.freeze()
    gc.enable()
    return True
