#!/usr/bin/env bash
# Makes sure what the tests use is there: PostgreSQL on 127.0.0.1:5432 (storage tests run
# against it as well as SQLite), Redis on 127.0.0.1:6379 (scale-out tests) and Chromium (browser
# tests). This machine kind starts PostgreSQL and Redis before the session; they are started
# again if they have stopped.
set -euo pipefail
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  echo "Starting PostgreSQL ..."
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432

# Redis on 127.0.0.1:6379 for the scale-out tests (Rasa's Redis lock store).
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "Starting Redis ..."
  command -v redis-server >/dev/null 2>&1 || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"; $SUDO apt-get install -y -q redis-server >/dev/null; }
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" >/dev/null
  for _ in $(seq 1 20); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
redis-cli -h 127.0.0.1 -p 6379 ping

# The widget's browser tests drive Debian's Chromium (Playwright never downloads a browser here).
if ! command -v chromium >/dev/null 2>&1; then
  echo "Installing Debian's chromium for the browser tests ..."
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -q chromium >/dev/null || { $SUDO apt-get update -q && $SUDO apt-get install -y -q chromium >/dev/null; }
fi
chromium --version

# nginx is the load balancer of the cluster (make cluster) and of its tests.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  echo "Installing Debian's nginx for the cluster ..."
  export DEBIAN_FRONTEND=noninteractive
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get install -y -q nginx-light >/dev/null || { $SUDO apt-get update -q && $SUDO apt-get install -y -q nginx-light >/dev/null; }
fi
/usr/sbin/nginx -v
