# Workshop, measuring retrieval. Runs after the ingestion module, in the project folder.

# --8<-- [start:eval]
uv run ask_docs eval
# --8<-- [end:eval]
# expect: questions: 16 questions, retrieval p50 \d+ ms
# expect: all +\d\.\d\d +\d\.\d\d +\d\.\d\d +\d\.\d\d +\d\.\d{3} +16

# --8<-- [start:compare]
make evaluate CONF='{"configurations": [{}, {"hybrid_search": false}, {"chunk_size": 128}]}'
# --8<-- [end:compare]
# expect: configuration \{\}:
# expect: configuration \{'hybrid_search': False\}:
# expect: configuration \{'chunk_size': 128\}:

# --8<-- [start:stop]
kill $UI
make stop
# --8<-- [end:stop]
# expect: stopped
