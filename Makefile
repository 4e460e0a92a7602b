# The two commands of the README: `make demo` runs camwatch on its embedded default,
# `make test` runs the tests. Both set everything up first (idempotent).
.PHONY: setup demo test bench

setup:
	bash .ci/setup

demo: setup
	bash .ci/demo

test: setup
	.venv/bin/python -m pytest -q

bench: setup
	.venv/bin/python bench/import_inventory.py --rows 100000
