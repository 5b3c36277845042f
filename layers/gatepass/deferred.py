"""A module that is imported but not run until something reads from it.

For a library that imports, at its own import, a heavy module that Gatepass's use of it never
reads: PyJWT imports ``cryptography.x509`` for keys given as certificates (decision 0081).
``defer(name)`` puts the module in ``sys.modules`` (and on its package) holding only what the
import system reads (``__spec__``, ``__path__``, ``__file__``...). The first read of anything
else runs the module's code, once, under a lock; the module is then an ordinary module.

Not ``importlib.util.LazyLoader``: its module loads at any attribute read, the import system's
own included, so the next statement that imports it by name (PyJWT's ``from cryptography import
x509``) loads it at once; and before Python 3.12.3 two threads that read it first at the same
time could see it half made.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
import threading
import types

_LOCK = "_gatepass_deferred_lock"
_LOADING = "_gatepass_deferred_loading"
_PYTHON_LOADERS = (importlib.machinery.SourceFileLoader, importlib.machinery.SourcelessFileLoader)


class _Deferred(types.ModuleType):
    """A module whose code has not run yet; reached only for attributes it does not hold."""

    def __getattr__(self, name: str) -> object:
        state = self.__dict__
        lock = state.get(_LOCK)
        if lock is not None:
            with lock:
                # The first reader runs the code; others wait here, then find the module made.
                if type(self) is _Deferred and not state[_LOADING]:
                    _run(self)
        if type(self) is _Deferred:
            # A read while its own code runs (its imports of its submodules ask whether it holds
            # them yet): as for any module being imported, what it has not defined is missing.
            raise AttributeError(f"partially initialised module {self.__name__!r} has no {name!r}")
        return getattr(self, name)


def _run(module: types.ModuleType) -> None:
    state = module.__dict__
    spec = module.__spec__
    # Both set by defer(), from a spec its finder found with a loader of Python code.
    assert spec is not None
    assert spec.loader is not None
    state[_LOADING] = True
    try:
        spec.loader.exec_module(module)
    except BaseException:
        # As a failed import: the reader gets the error; the next read tries again.
        state[_LOADING] = False
        raise
    # Made: an ordinary module from here on, before its lock goes (a reader that finds no lock
    # must find it made).
    module.__class__ = types.ModuleType
    del state[_LOADING], state[_LOCK]


def defer(name: str) -> None:
    """Import ``name`` deferred: its code runs at the first read of something it defines.

    A module already imported, or one that is not Python source (an extension), is left alone.
    Its package is imported as usual.
    """
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    if name in sys.modules or not isinstance(spec.loader, _PYTHON_LOADERS):
        return
    module = importlib.util.module_from_spec(spec)
    module.__dict__[_LOCK] = threading.RLock()
    module.__dict__[_LOADING] = False
    module.__class__ = _Deferred
    sys.modules[name] = module
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, module)
