# The two commands a newcomer needs: `make run` and `make test` (see README.md).
.PHONY: run test venv lint bench db-stop clean

venv:
	scripts/bootstrap.sh

run: venv
	scripts/run.sh

test: venv
	scripts/test.sh $(PYTEST_ARGS)

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

bench: venv
	scripts/bench.sh

db-stop:
	scripts/pg.sh stop .pgdata

clean: db-stop
	rm -rf .venv .pgdata .run
