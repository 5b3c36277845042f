"""Gatepass benchmarks: ``python -m bench`` (``make bench``) runs every suite and writes
``docs/performance.md`` and ``bench/results/latest.json``. See ``bench/method.md``."""
