"""Real peers for tests: servers started from tests and benchmarks."""
