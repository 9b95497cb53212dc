# Workshop, ingestion with Airflow. Runs after the first run, in the project folder, with the UI still up.

# --8<-- [start:rerun]
make ingest
# --8<-- [end:rerun]
# expect: added 0, changed 0, deleted 0, unchanged 7, chunks written 0

# --8<-- [start:edit]
printf '\nWho maintains this project?\nThe platform team.\n' >> sample_docs/faq.txt
make ingest
# --8<-- [end:edit]
# expect: added 0, changed 1, deleted 0, unchanged 6

# --8<-- [start:ask-new]
uv run ask_docs ask "Who maintains this project?"
# --8<-- [end:ask-new]
# expect: The platform team

# --8<-- [start:broken]
printf 'PK\003\004 a slide deck, not a document\000\001' > sample_docs/slides.md
make ingest
# --8<-- [end:broken]
# expect: skipped 1, failed 0
# expect: skipped local:slides\.md: binary content

# --8<-- [start:params]
RAG_INGEST_BATCH_SIZE=2 make ingest CONF='{"chunking": "sentence", "chunk_size": 128}'
# --8<-- [end:params]
# expect: added 0, changed 7, deleted 0, unchanged 0
# expect: map_index=3

# --8<-- [start:remove]
rm sample_docs/slides.md sample_docs/models.md
make ingest
# --8<-- [end:remove]
# expect: added 0, changed 6, deleted 1, unchanged 0
