"""Hub benchmarks against real hub processes: ``python -m bench`` (see bench/README.md)."""
