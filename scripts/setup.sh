#!/usr/bin/env bash
# Installs everything newsnap and its tests need on a fresh Debian machine:
# Debian's Chromium for the render fallback (when missing, and when we may install it),
# then the npm dependencies (better-sqlite3 compiles from source if no prebuilt binary is reachable),
# then the TypeScript build.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromium >/dev/null 2>&1 && [ "${NEWSNAP_SKIP_CHROMIUM:-0}" != "1" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium for the browser render fallback"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
  else
    echo "setup: chromium not found and cannot apt-get install it; the render fallback and its tests will report it missing" >&2
  fi
fi

# Playwright drives the system Chromium (render.chromiumPath); it must never download its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund
npm run build
