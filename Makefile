# The verbs people expect. Everything runs inside .venv, created on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test test-slow test-stress lint typecheck eval bench ingest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-install only when pyproject.toml changes.
$(VENV)/.runtime: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.runtime

## make run: ingest if the index is missing or stale, then start the main job
## (Slack and/or Discord when their tokens are in .env, otherwise the console advisor).
run: $(VENV)/.runtime
	$(BIN)/career-bot ingest --if-stale
	$(BIN)/career-bot run $(ARGS)

## make test: lint, then the offline test suite.
test: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest $(ARGS)

## make test-slow: the long checks (real Chroma server and bot processes, replicas, the
## benchmark smoke run); CI runs them as a second step.
test-slow: $(VENV)/.dev
	$(BIN)/python -m pytest -m slow $(ARGS)

## make test-stress: the offline suite while STRESS_HOGS busy loops (default: twice the
## cores) take the CPU from it, as on a shared CI machine. A test that guesses how long
## something takes fails here first. ARGS narrows it: make test-stress ARGS=tests/bot/chat/discord
STRESS_HOGS ?= $$(( 2 * $$(nproc) ))
test-stress: $(VENV)/.dev
	@hogs=$(STRESS_HOGS); pids=""; \
	for i in $$(seq $$hogs); do $(BIN)/python -c 'while True: pass' & pids="$$pids $$!"; done; \
	trap 'kill $$pids 2>/dev/null' EXIT INT TERM; \
	echo "test-stress: $$hogs CPU hogs on $$(nproc) cores"; \
	$(BIN)/python -m pytest $(ARGS)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy bot core ingest

ingest: $(VENV)/.runtime
	$(BIN)/career-bot ingest $(ARGS)

eval: $(VENV)/.runtime
	$(BIN)/career-bot ingest --if-stale
	$(BIN)/career-bot eval eval/questions.jsonl --min-score 0.90

## make bench: the performance figures (about 13 minutes; ARGS=--quick for a smoke run,
## ARGS="--state-url postgresql+asyncpg://..." for a scratch PostgreSQL shared by two replicas).
bench: $(VENV)/.dev
	$(BIN)/career-bot ingest --if-stale
	$(BIN)/career-bot bench $(ARGS)

clean:
	rm -rf .data .pytest_cache .ruff_cache .mypy_cache
