# Workshop, monitor and improve. Runs after the feedback module, in the project folder, with the UI up.
# Steps named by-hand-* are what a participant does in the browser; the page describes them, and the
# template's tests do them with Chromium (tests/workshop_browser.py).

# --8<-- [start:passages]
kill $UI; wait $UI || true
uv run ask_docs serve > ui.log 2>&1 &
UI=$!
until curl -fs http://127.0.0.1:7860/readyz; do kill -0 $UI || break; sleep 2; done
# --8<-- [end:passages]
# expect: "status":"ready"

# --8<-- [start:traffic]
cat > questions.txt <<'QUESTIONS'
How do I add my own documents?
Can I ingest a folder of Markdown files?
Which file types can be ingested?
How do I change the embedding model?
Which embedding models can I use?
How do I recover after losing the server's disk?
Is there a disaster recovery plan?
How long does recovery take after an outage?
How do we recover from a disaster?
How do I recover from a hardware failure?
QUESTIONS
uv run python scripts/ask_as_visitors.py questions.txt --visitors 4
# --8<-- [end:traffic]
# expect: asked 10 questions as 4 visitors: 40 answers, [1-9]\d* saying the documentation does not seem to cover the question

# --8<-- [start:topics]
uv run ask_docs topics --since 1h
# --8<-- [end:topics]
# expect: ^- .*recover.*: \d+ questions from 4 people, unrated, [1-9]\d*% not covered by the docs

# --8<-- [start:gaps]
uv run ask_docs gaps
# --8<-- [end:gaps]
# expect: ^- .*recover.*: \d+ questions from 4 people
# expect: e\.g\. .*recover

# --8<-- [start:maintainer]
kill $UI; wait $UI || true
HASH=$(printf '%s\n' "$MAINTAINER_PASSWORD" | uv run ask_docs hash-password --password-stdin)
export RAG_AUTH_USERS="{\"maintainer\": {\"password_hash\": \"$HASH\", \"groups\": [\"maintainers\"]}}"
uv run ask_docs serve > ui.log 2>&1 &
UI=$!
until curl -fs http://127.0.0.1:7860/readyz; do kill -0 $UI || break; sleep 2; done
# --8<-- [end:maintainer]
# expect: "status":"ready"

# --8<-- [start:by-hand-maintainers-page]
.venv/bin/python "$TEMPLATE/tests/workshop_browser.py" maintainers maintainer "$MAINTAINER_PASSWORD"
# --8<-- [end:by-hand-maintainers-page]
# expect: Where the docs fall short
# expect: recover

# --8<-- [start:write-the-page]
cat > sample_docs/disaster-recovery.md <<'PAGE'
# Disaster recovery

What to do when the machine, its disk or the whole host is lost: a disaster recovery plan in three
steps.

Everything the app keeps lives in the data folder, `.data/`: the index, the keyword index and the
feedback database. Copy it every night to another machine (a `tar -czf` of `.data` from cron or an
Airflow DAG). After a disk failure, a crash or an outage, recover on a new server: install the
project, put the last copy back as `.data/`, and start the app. Recovery takes minutes. Without a
copy, `make ingest` rebuilds the index from the documents, but the feedback is lost.
PAGE
make ingest
# --8<-- [end:write-the-page]
# expect: added 1, changed 0, deleted 0

# --8<-- [start:ask-again]
kill $UI; wait $UI || true
unset RAG_AUTH_USERS
uv run ask_docs serve > ui.log 2>&1 &
UI=$!
until curl -fs http://127.0.0.1:7860/readyz; do kill -0 $UI || break; sleep 2; done
SINCE=$(date -u +%Y-%m-%dT%H:%M:%S)
uv run python scripts/ask_as_visitors.py questions.txt --visitors 4
uv run ask_docs topics --since $SINCE
# --8<-- [end:ask-again]
# expect: asked 10 questions as 4 visitors: 40 answers, 0 saying the documentation does not seem to cover the question
# expect: ^- .*recover.*: \d+ questions from 4 people, unrated, 0% not covered by the docs
