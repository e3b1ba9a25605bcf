#!/usr/bin/env bash
# Installs everything newsnap and its tests need on a fresh Debian machine:
# Debian's Chromium for the render fallback, Debian's prometheus for promtool and
# python3-feedparser for the feed checks (when missing, and when we may install them), then the npm dependencies (better-sqlite3 compiles from source if no prebuilt binary is reachable),
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

# promtool (Debian's prometheus package) lints /metrics in the tests. policy-rc.d keeps the
# package from starting a Prometheus server of its own.
if ! command -v promtool >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian's prometheus for promtool (metrics lint in the tests)"
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || apt-get update -qq
  own_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# Debian's python3-feedparser reads the Atom feeds in the tests, as a feed reader would (the system
# Python's, whatever python3 is first on PATH).
if ! /usr/bin/python3 -c 'import feedparser' >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing Debian's python3-feedparser (Atom feed checks in the tests)"
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-feedparser >/dev/null
fi

# GNU time measures the benchmarks' processes (wall, CPU, peak RSS).
if [ ! -x /usr/bin/time ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing GNU time (the benchmarks measure their processes with it)"
  [ -n "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -print -quit 2>/dev/null)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null
fi

# Playwright drives the system Chromium (render.chromiumPath); it must never download its own.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm ci --no-audit --no-fund
npm run build
