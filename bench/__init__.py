"""repo_digest's benchmarks: `python -m bench` (see bench/run.py and docs/BENCHMARKS.md)."""
