#!/usr/bin/env bash
# The headless browser the HTML tests load reports in: Debian's chromium (no browser download, which cannot work
# here). Idempotent; needs root and apt-get (as on this project's machines and CI). Elsewhere it says what to do
# and the browser tests skip, except under CI=true where they fail.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-browser: no chromium; install Debian's 'chromium' package (the HTML browser tests skip without it)" >&2
  exit 0
fi
echo "install-browser: installing Debian's chromium (about a minute, once)..."
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -q --no-install-recommends chromium >/tmp/hygiene-install-browser.log 2>&1 || {
  apt-get update -q >>/tmp/hygiene-install-browser.log 2>&1
  apt-get install -y -q --no-install-recommends chromium >>/tmp/hygiene-install-browser.log 2>&1 || {
    tail -20 /tmp/hygiene-install-browser.log >&2
    exit 1
  }
}
echo "install-browser: $(chromium --version 2>/dev/null | head -1)"
