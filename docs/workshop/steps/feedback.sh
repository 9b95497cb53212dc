# Workshop, the feedback loop. Runs after the ingestion module, in the project folder, with the UI up.
# Steps named by-hand-* are what a participant does in the browser; the page describes them, and the
# template's tests do them with Chromium (tests/workshop_browser.py).

# --8<-- [start:llm]
kill $UI; wait $UI || true
RAG_LLM_BASE_URL=$ROOM_LLM OPENAI_API_KEY=${ROOM_LLM_KEY:-none} uv run ask_docs serve > ui.log 2>&1 &
UI=$!
until curl -fs http://127.0.0.1:7860/readyz; do kill -0 $UI || break; sleep 2; done
# --8<-- [end:llm]
# expect: "status":"ready"

# --8<-- [start:by-hand-ask-and-rate]
.venv/bin/python "$TEMPLATE/tests/workshop_browser.py" ask-and-rate "How do I add my own documents?"
# --8<-- [end:by-hand-ask-and-rate]
# expect: rated helpful

# --8<-- [start:review]
uv run ask_docs review
# --8<-- [end:review]
# expect: ^\d+  net \+1, 1 raters  How do I add my own documents\?

# --8<-- [start:approve]
ANSWER=$(uv run ask_docs review | awk 'NR == 1 {print $1}')
uv run ask_docs approve $ANSWER
# --8<-- [end:approve]
# expect: approved answer \d+

# --8<-- [start:by-hand-landing]
.venv/bin/python "$TEMPLATE/tests/workshop_browser.py" landing "How do I add my own documents?"
# --8<-- [end:by-hand-landing]
# expect: How do I add my own documents\?

# --8<-- [start:loop]
make feedback
# --8<-- [end:loop]
# expect: verified answers: promoted 1, unchanged 0, withdrawn 0
# expect: 1 questions \(llm 1\), 1 helpful and 0 not helpful ratings
# expect: documents rated through answers: \{'documents': \d+, 'raised': \d+

# --8<-- [start:verified]
uv run ask_docs ask "How do I add my own documents?"
# --8<-- [end:verified]
# expect: A verified answer: people found this answer to “How do I add my own documents\?” helpful

# --8<-- [start:propose]
uv run ask_docs propose-eval-cases --min-net-score 1
tail -n 1 eval/proposed.jsonl
# --8<-- [end:propose]
# expect: 1 new proposals in eval/proposed\.jsonl
# expect: "question": "How do I add my own documents\?"
