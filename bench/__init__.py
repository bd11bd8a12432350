"""Benchmarks (``make bench``, ``python manage.py bench``): one module per area, outside the apps.

bench/ may import every app; no app imports bench/ (tests/test_architecture.py holds that line).
:mod:`bench.runner` lists the sections in the order they run and prints the table.
"""
