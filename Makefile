# The two commands a newcomer needs: `make run` and `make test` (see README.md).
.PHONY: run stop test venv lint bench db-stop clean demo-company

# The virtualenv with the test tools (lint, bench, and helpers' worktrees use it).
venv:
	scripts/bootstrap.sh test

# Installs only what running needs, after checking that no instance is running already.
run:
	scripts/run.sh

# One more demo company next to `make run`'s (docs/tenancy.md); COMPANY, NAME to change.
demo-company:
	scripts/demo_company.sh "$(or $(COMPANY),demo2)" "$(or $(NAME),Demo Company 2)"

test:
	scripts/bootstrap.sh test
	scripts/test.sh $(PYTEST_ARGS)

lint: venv
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/lint-imports
	.venv/bin/mypy

bench: venv
	scripts/bench.sh

# Stops what `make run` started in the background (the scheduler) and the API, by the
# pids in .run/; the database keeps running (make db-stop).
stop:
	scripts/run.sh stop

db-stop:
	scripts/pg.sh stop .pgdata

clean: db-stop
	rm -rf .venv .pgdata .run
