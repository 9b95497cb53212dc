# Workshop, deploying the stack. Runs after the pgvector module, back in the first project's folder.

# --8<-- [start:files]
ls deploy deploy/helm deploy/kubernetes
# --8<-- [end:files]
# expect: ^docker-compose\.yaml$
# expect: ^values\.yaml$
# expect: ^ui\.yaml$

# --8<-- [start:validate]
uvx check-jsonschema --builtin-schema vendor.compose-spec deploy/docker-compose.yaml
uvx kubernetes-validate --strict deploy/kubernetes/ui.yaml
# --8<-- [end:validate]
# expect: ok -- validation done
# expect: passed for resource deployment/ask-docs-ui

# --8<-- [start:health]
uv run ask_docs serve > ui.log 2>&1 &
UI=$!
until curl -fs http://127.0.0.1:7860/readyz; do kill -0 $UI || break; sleep 2; done
echo
curl -s http://127.0.0.1:7860/healthz
# --8<-- [end:health]
# expect: "status":"ready"
# expect: "status":"ok"

# --8<-- [start:stop]
kill $UI
make stop
# --8<-- [end:stop]
# expect: stopped
