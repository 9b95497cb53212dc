# cookiecutter-airflow-rag: `make demo` and `make test` set up everything they need.
SHELL := /bin/bash
.DEFAULT_GOAL := help
BUILD := $(CURDIR)/build

# LlamaIndex's bundled NLTK data refuses hard-linked files, so uv must copy.
export UV_LINK_MODE := copy
export GRADIO_ANALYTICS_ENABLED := False

# uv does not read pip's settings: where pip is pointed at a local folder of wheels that holds a torch
# build (an offline or CPU-only machine), the environments the tests build with `uv pip` take that build.
# (Generated projects see the same folder themselves: their `make setup` installs from it.)
LOCAL_TORCH := $(firstword $(foreach dir,$(subst :, ,$(PIP_FIND_LINKS)),$(wildcard $(dir)/torch-*.whl)))
ifneq ($(LOCAL_TORCH),)
export UV_FIND_LINKS := $(PIP_FIND_LINKS)
export UV_CONSTRAINT := $(BUILD)/uv-constraints.txt
endif

# Programs of the system that `make test` needs; it installs everything else itself. The preflight
# names each one missing with its install command, within a second instead of a failure far into the
# run (the README lists them with `make requirements`). No C++ compiler when LLM_BASE_URL names a server.
PREFLIGHT := python3 '$(CURDIR)/{{cookiecutter.project_slug}}/scripts/preflight.py'
TEST_NEEDS := make uv git curl chromium redis-server $(if $(LLM_BASE_URL),,c++)

.PHONY: help preflight requirements tools demo test check test-busy docs lint benchmark

help:
	@echo "make demo       generate the default project, ingest its documents with Airflow, start the UI"
	@echo "make test       run the template's tests (bakes every option combination), then make docs"
	@echo "make check      the contributors' quick loop: bake every combination, lint, type-check, unit tests"
	@echo "make test-busy  the generated suites with the cores kept busy beside them (SUITES=, HOG=)"
	@echo "make docs       build the documentation site into build/site, with strict checks"
	@echo "make benchmark  ingestion speed, memory and retrieval quality on the PostgreSQL 15 manual"

preflight:
	@$(PREFLIGHT) --for "make test" $(TEST_NEEDS)

requirements:
	@$(PREFLIGHT) --markdown $(TEST_NEEDS)

tools:
	@command -v uv >/dev/null || { $(PREFLIGHT) uv && python3 -m pip install --quiet uv; }
	@mkdir -p $(BUILD)
ifneq ($(LOCAL_TORCH),)
	@echo "torch==$$(basename $(LOCAL_TORCH) | cut -d- -f2)" > $(UV_CONSTRAINT)
endif
	uv sync --quiet

demo: tools
	bash scripts/demo.sh $(BUILD)/demo

test: preflight tools
	uv run pytest
	$(MAKE) docs

# The contributors' quick loop: every combination baked and checked (files, markers, ruff, mypy), the
# generated unit tests, the docs and deployment checks; no generated suite, browser or LLM.
check: tools lint
	uv run pytest -m "not slow"

# make test-busy [SUITES=chroma-local-openai] [HOG=2]: the generated projects' suites with HOG processes
# keeping the cores busy beside them: what they check must not depend on how busy the machine is.
HOG ?= 2
test-busy: preflight tools
	bash scripts/busy.sh $(HOG) uv run pytest tests/test_generated_suites.py $(if $(SUITES),-k "$(SUITES)")

# Strict: a broken link or reference fails the build. The UI screenshots come from the last `make test`.
docs: tools
	NO_MKDOCS_2_WARNING=1 uv run mkdocs build --strict --site-dir $(BUILD)/site

benchmark: tools
	bash scripts/benchmark.sh $(BUILD)/benchmark

lint: tools
	uv run ruff check tests docs/hooks
	uv run ruff format --check tests docs/hooks
