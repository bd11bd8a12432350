"""Demo county for ``make run`` and the benchmarks: builders only, never imported by the app itself."""
