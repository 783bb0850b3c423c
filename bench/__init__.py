"""Benchmarks of wagate against real processes on this machine.

Run them with ``make bench`` (``python -m bench``); they write their figures to
``docs/benchmarks.md``. The modules that run are listed in :mod:`bench.registry`.
"""
