#!/usr/bin/env bash
# busy.sh N COMMAND...: run COMMAND with N processes beside it that keep a core each busy, as on a
# shared CI runner or a laptop that builds something else; the busy processes end with the command.
set -euo pipefail
hogs=$1
shift
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq "$hogs"); do
    python3 -c 'while True: pass' &
    pids+=($!)
done
"$@"
