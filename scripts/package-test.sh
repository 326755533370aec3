#!/usr/bin/env bash
# Build a wheel, install it (not editable) into a throwaway venv, and run it from outside the checkout:
# the built-in checks, policies, templates and schema must all ship inside the package. It installs as the README
# says to install the scanner elsewhere: the locked dependencies (requirements/app.txt, with hashes), then the
# wheel without dependencies, and checks that the lock satisfies every dependency the wheel declares.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
uv() { "$repo/.venv/bin/uv" pip "$1" --python "$work/venv/bin/python" --quiet "${@:2}"; }
# --no-isolation: the build back-end is the one locked in .venv, nothing is fetched
"$repo/.venv/bin/python" -m build --wheel --no-isolation --outdir "$work/dist" "$repo" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
python3 -m venv --without-pip "$work/venv"
uv install --require-hashes -r "$repo/requirements/app.txt"
uv install --no-deps "$work"/dist/*.whl
uv check || { echo "package-test: requirements/app.txt does not satisfy the wheel's dependencies (make lock)"; exit 1; }
cd "$work"
"$work/venv/bin/hygiene" checks list --json > checks.json
count=$("$work/venv/bin/python" -c 'import json; print(len(json.load(open("checks.json"))))')
[ "$count" -ge 11 ] || { echo "package-test: only $count checks found in the installed package"; exit 1; }
"$work/venv/bin/hygiene" policies list | grep -q cyber-essentials
# the scanner's wheel carries no sandbox: the demo must say how to get it
status=0
"$work/venv/bin/hygiene" demo --output "$work/demo-no-sandbox" > no-sandbox.log 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q "hygiene\[demo\]" no-sandbox.log || { echo "package-test: demo without the sandbox:"; cat no-sandbox.log; exit 1; }
if "$work/venv/bin/python" -c 'import hygiene_sandbox' 2>/dev/null; then echo "package-test: the hygiene wheel ships the sandbox"; exit 1; fi
# the sandbox distribution without its moto extra: the AWS part is unavailable, the demo says how to get it and runs without it
"$repo/.venv/bin/python" -m build --wheel --no-isolation --outdir "$work/dist-sandbox" "$repo/sandbox" >"$work/build.log" 2>&1 || { cat "$work/build.log"; exit 1; }
uv install --no-deps "$work"/dist-sandbox/*.whl
uv check || { echo "package-test: requirements/app.txt does not satisfy the sandbox's own dependencies"; exit 1; }
status=0
"$work/venv/bin/hygiene" demo --output "$work/demo-no-moto" > no-moto.log 2>&1 || status=$?
[ "$status" -eq 2 ] && grep -q "hygiene\[demo\]" no-moto.log || { echo "package-test: demo without moto:"; cat no-moto.log; exit 1; }
"$work/venv/bin/hygiene" demo --no-aws --output "$work/demo" > demo.log 2>&1 || { cat demo.log; exit 1; }
test -s "$work/demo/report.html" && test -s "$work/demo/report.json" && test -s "$work/demo/snapshot.json.gz"
"$work/venv/bin/hygiene" evaluate "$work/demo/snapshot.json.gz" > /dev/null || [ $? -eq 1 ]
echo "package-test: wheel installs and runs ($count checks; demo report written)"
