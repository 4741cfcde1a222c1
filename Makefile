.PHONY: run test test-fast install lint fmt bench stop

run:        ## the whole system on SQLite, with Kafka and Kannel; Ctrl-C stops everything
	bash deploy/run.sh

test:       ## install, start Kafka/PostgreSQL/Kannel, run the whole suite
	bash deploy/test.sh $(ARGS)

test-fast:  ## the tests that need no broker and no database server, in about a minute
	bash deploy/install.sh --test && .venv/bin/python -m pytest -m "not broker and not slow" $(ARGS)

install:
	bash deploy/install.sh --test

lint:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .

fmt:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .

bench:      ## the whole pipeline under load (~3-4 min): docs/benchmarks/pipeline.md
	bash deploy/install.sh && .venv/bin/python bench/pipeline.py --make

stop:       ## stop anything a previous run left behind
	-bash deploy/run.sh stop
