# The two commands of the README: `make demo` runs camwatch on its embedded default,
# `make test` runs the tests. Both set everything up first (idempotent).
.PHONY: setup demo test lint bench

setup:
	bash .ci/setup

demo: setup
	bash .ci/demo

# the quality gates first (seconds), then the suite (minutes)
test: setup lint
	.venv/bin/python -m pytest -q -n auto --maxprocesses=4 --dist loadfile

lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy

bench: setup
	.venv/bin/python bench/import_inventory.py --rows 100000
