#!/usr/bin/env bash
# How long a fresh `make demo` takes, and its longest silent stretch: a clone of this repository's HEAD in a
# temporary folder (no venv), `make demo` through scripts/timestamps.py. uv's download cache is the user's as it
# is (say so with the numbers); `--cold` gives uv an empty one. The numbers go in the README ("How long it takes").
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
if [ "${1:-}" = "--cold" ]; then export UV_CACHE_DIR="$work/uv-cache"; fi
git clone --quiet "$repo" "$work/clone"
cd "$work/clone"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown); $(nproc) cores"
make demo 2>&1 | python3 "$repo/scripts/timestamps.py" > "$work/make-demo.log"
grep -v '[│┃━─]' "$work/make-demo.log" | grep -v "grade capped"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)"
