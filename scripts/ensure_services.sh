#!/usr/bin/env bash
# Makes sure what the tests use is there: PostgreSQL on 127.0.0.1:5432 (storage tests
# run against it as well as SQLite). This machine kind starts it before the session; start it
# again if it has stopped.
set -euo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "Starting PostgreSQL ..."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

# The widget's browser tests drive Debian's Chromium (Playwright never downloads a browser here).
if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests ..."
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -q chromium >/dev/null || { $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium >/dev/null; }
fi
chromium --version
