"""Benchmarks (`make bench`, `python -m bench.run`): not tests, they measure and write docs/benchmarks.md."""
