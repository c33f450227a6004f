#!/usr/bin/env bash
# System packages the test suite needs, installed only when missing (Debian's apt-get).
# Chromium drives the widget browser tests (Playwright with executable_path, no browser download);
# node and npm run the front end's unit tests (vitest).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v npm >/dev/null 2>&1 || need+=(nodejs npm)  # the front end's unit tests
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system_deps: missing ${need[*]} and no apt-get; browser tests will fail" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "system_deps: installing ${need[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
