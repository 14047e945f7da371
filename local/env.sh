#!/usr/bin/env bash
# Local services for the gateway proxy: an AWS-compatible endpoint, Redis and PostgreSQL, on loopback.
#
#   bash local/env.sh up       start what is not running (installing it first if needed), wait, prepare
#   bash local/env.sh status   print what answers where; exit 1 if something does not
#   bash local/env.sh down     stop what this script started (services someone else runs are left alone)
#
# Idempotent: `up` twice changes nothing. If something already answers on a port (LocalStack on 4566,
# a system Redis or PostgreSQL), it is used as it is. When a service cannot start, the script says which
# and why, and exits non-zero.
#
# AWS emulator: MiniStack, chosen by measurement over moto server (docs/emulator-choice.md).
set -uo pipefail

MINISTACK_VERSION="1.5.33"
AWS_ENDPOINT_URL="${AWS_ENDPOINT_URL:-http://127.0.0.1:4566}"
REDIS_HOST=127.0.0.1
REDIS_PORT="${REDIS_PORT:-6379}"
# a second Redis that demands a password (AUTH), as ElastiCache does in AWS; the password is only in
# $STATE_DIR/redis-auth.password, and local/redis-auth.ts puts it in the emulator's Secrets Manager
REDIS_AUTH_PORT="${REDIS_AUTH_PORT:-6380}"
PG_HOST=127.0.0.1
PG_PORT="${PG_PORT:-5432}"
PG_DB=gateway_proxy
STATE_DIR="${GATEWAY_PROXY_STATE_DIR:-$HOME/.local/state/discord-gateway-proxy}"
PYTHON="${PYTHON:-python3}"

mkdir -p "$STATE_DIR"
say() { printf '%s\n' "$*"; }
fail() { printf 'local/env.sh: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi
}
as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; elif [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else sudo -n -u postgres "$@"; fi
}
apt_install() {
  say "  installing Debian packages: $*"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >"$STATE_DIR/apt.log" 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$STATE_DIR/apt.log" 2>&1
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >>"$STATE_DIR/apt.log" 2>&1 ||
      fail "could not install $* (needs root or passwordless sudo): see $STATE_DIR/apt.log"
  fi
}
# wait_for <seconds> <command...>: retry until the command succeeds
wait_for() {
  local t=$1; shift
  local i
  for ((i = 0; i < t * 4; i++)); do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  return 1
}

# ---------- AWS endpoint ----------
aws_answers() { curl -s -o /dev/null -m 2 -w '%{http_code}' "$AWS_ENDPOINT_URL/_localstack/health" | grep -q '^200$'; }
aws_port() { local p=${AWS_ENDPOINT_URL##*:}; echo "${p%%/*}"; }
aws_up() {
  if aws_answers; then return 0; fi
  case "$AWS_ENDPOINT_URL" in
    http://127.0.0.1:* | http://localhost:*) ;;
    *) fail "nothing answers at AWS_ENDPOINT_URL=$AWS_ENDPOINT_URL and it is not local: start it, or unset AWS_ENDPOINT_URL" ;;
  esac
  local venv="$STATE_DIR/ministack-$MINISTACK_VERSION"
  if [ ! -x "$venv/bin/ministack" ]; then
    say "  installing MiniStack $MINISTACK_VERSION from PyPI into $venv"
    "$PYTHON" -m venv "$venv" >"$STATE_DIR/pip.log" 2>&1 || fail "python3 -m venv failed (install python3-venv): see $STATE_DIR/pip.log"
    "$venv/bin/pip" install -q "ministack==$MINISTACK_VERSION" >>"$STATE_DIR/pip.log" 2>&1 ||
      fail "pip install ministack==$MINISTACK_VERSION failed: see $STATE_DIR/pip.log"
  fi
  say "  starting MiniStack on 127.0.0.1:$(aws_port)"
  # S3 data under the state dir, not /tmp; no Docker here, so Lambdas (unused locally) would run as subprocesses.
  (cd "$STATE_DIR" && BIND_HOST=127.0.0.1 GATEWAY_PORT="$(aws_port)" S3_DATA_DIR="$STATE_DIR/ministack-s3" LOG_LEVEL=WARNING \
    nohup setsid "$venv/bin/ministack" >"$STATE_DIR/ministack.log" 2>&1 & echo $! >"$STATE_DIR/ministack.pid")
  wait_for 60 aws_answers || fail "MiniStack did not answer at $AWS_ENDPOINT_URL within 60 s: see $STATE_DIR/ministack.log"
}
aws_down() {
  local f="$STATE_DIR/ministack.pid"
  if [ -f "$f" ]; then kill -- -"$(cat "$f")" 2>/dev/null || kill "$(cat "$f")" 2>/dev/null; rm -f "$f"; say "  stopped MiniStack"; fi
}

# ---------- Redis ----------
redis_answers() {
  if command -v redis-cli >/dev/null; then redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG
  else exec 3<>"/dev/tcp/$REDIS_HOST/$REDIS_PORT" && printf 'PING\r\n' >&3 && timeout 2 head -c 5 <&3 | grep -q PONG; fi
}
redis_up() {
  if redis_answers; then return 0; fi
  command -v redis-server >/dev/null || apt_install redis-server
  # the package's own service may start (or fail to) under systemd; we run our own instance either way
  redis_answers && return 0
  mkdir -p "$STATE_DIR/redis"
  say "  starting redis-server on $REDIS_HOST:$REDIS_PORT"
  redis-server --bind "$REDIS_HOST" --port "$REDIS_PORT" --daemonize yes --dir "$STATE_DIR/redis" \
    --pidfile "$STATE_DIR/redis.pid" --logfile "$STATE_DIR/redis.log" --save '' --appendonly no >/dev/null ||
    fail "redis-server did not start: see $STATE_DIR/redis.log"
  wait_for 20 redis_answers || fail "Redis did not answer PING on $REDIS_HOST:$REDIS_PORT: see $STATE_DIR/redis.log"
}
redis_down() {
  local f="$STATE_DIR/redis.pid"
  if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null; rm -f "$f"; say "  stopped Redis"; fi
}

# ---------- Redis with AUTH ----------
redis_auth_answers() {
  command -v redis-cli >/dev/null || return 1
  REDISCLI_AUTH="$(cat "$STATE_DIR/redis-auth.password" 2>/dev/null)" redis-cli -h "$REDIS_HOST" -p "$REDIS_AUTH_PORT" ping 2>/dev/null | grep -q PONG
}
redis_auth_up() {
  [ -s "$STATE_DIR/redis-auth.password" ] || (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$STATE_DIR/redis-auth.password")
  if redis_auth_answers; then return 0; fi
  mkdir -p "$STATE_DIR/redis-auth"
  say "  starting redis-server with a password (requirepass) on $REDIS_HOST:$REDIS_AUTH_PORT"
  # the password goes in through stdin (a config file on stdin), never on the command line
  printf 'requirepass %s\n' "$(cat "$STATE_DIR/redis-auth.password")" | redis-server - --bind "$REDIS_HOST" --port "$REDIS_AUTH_PORT" --daemonize yes \
    --dir "$STATE_DIR/redis-auth" --pidfile "$STATE_DIR/redis-auth.pid" --logfile "$STATE_DIR/redis-auth.log" --save '' --appendonly no >/dev/null ||
    fail "redis-server (AUTH) did not start: see $STATE_DIR/redis-auth.log"
  wait_for 20 redis_auth_answers || fail "Redis (AUTH) did not answer on $REDIS_HOST:$REDIS_AUTH_PORT: see $STATE_DIR/redis-auth.log"
}
redis_auth_down() {
  local f="$STATE_DIR/redis-auth.pid"
  if [ -f "$f" ]; then kill "$(cat "$f")" 2>/dev/null; rm -f "$f"; say "  stopped Redis (AUTH)"; fi
}

# ---------- PostgreSQL ----------
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
pg_answers() { "$(pg_bin)/pg_isready" -q -h "$PG_HOST" -p "$PG_PORT"; }
pg_up() {
  [ -n "$(pg_bin)" ] || apt_install postgresql
  local bin; bin=$(pg_bin)
  [ -x "$bin/pg_isready" ] || fail "PostgreSQL binaries not found under /usr/lib/postgresql after install"
  if ! pg_answers; then
    local ver; ver=$(basename "$(dirname "$bin")")
    if command -v pg_lsclusters >/dev/null && pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2" "$3}' | grep -q "^$ver main $PG_PORT$"; then
      say "  starting PostgreSQL cluster $ver/main on port $PG_PORT"
      as_root pg_ctlcluster "$ver" main start >"$STATE_DIR/postgres.log" 2>&1 ||
        fail "pg_ctlcluster $ver main start failed: see $STATE_DIR/postgres.log and /var/log/postgresql/"
    elif command -v pg_createcluster >/dev/null && ! pg_lsclusters -h 2>/dev/null | grep -q "^$ver main "; then
      say "  creating PostgreSQL cluster $ver/main on port $PG_PORT"
      as_root pg_createcluster "$ver" main --port "$PG_PORT" --start >"$STATE_DIR/postgres.log" 2>&1 ||
        fail "pg_createcluster $ver main failed: see $STATE_DIR/postgres.log"
    else
      fail "PostgreSQL is installed but no cluster 'main' listens on port $PG_PORT: run pg_lsclusters and start one there, or set PG_PORT"
    fi
    wait_for 30 pg_answers || fail "PostgreSQL did not answer on $PG_HOST:$PG_PORT within 30 s: see /var/log/postgresql/"
  fi
  # Database and roles (idempotent). The owner runs migrations; the worker is not the owner and cannot
  # bypass row-level security.
  pg_roles
}
# as the postgres superuser over the local socket (peer authentication)
pg_roles() {
  as_postgres psql -q -p "$PG_PORT" -d postgres -v ON_ERROR_STOP=1 >>"$STATE_DIR/psql.log" 2>&1 <<'SQL' ||
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gateway_owner') THEN
    CREATE ROLE gateway_owner LOGIN PASSWORD 'gateway_owner';
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'gateway_worker') THEN
    CREATE ROLE gateway_worker LOGIN PASSWORD 'gateway_worker' NOSUPERUSER NOBYPASSRLS;
  END IF;
END $$;
SELECT 'CREATE DATABASE gateway_proxy OWNER gateway_owner' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'gateway_proxy')\gexec
GRANT CONNECT ON DATABASE gateway_proxy TO gateway_worker;
SQL
    fail "could not create the database $PG_DB and its roles as the postgres user: see $STATE_DIR/psql.log"
}
pg_check_login() {
  PGPASSWORD=gateway_worker "$(pg_bin)/psql" -h "$PG_HOST" -p "$PG_PORT" -U gateway_worker -d "$PG_DB" -tAc 'select 1' 2>/dev/null | grep -q 1
}
pg_down() {
  local bin ver; bin=$(pg_bin); [ -n "$bin" ] || return 0
  ver=$(basename "$(dirname "$bin")")
  if [ -f "$STATE_DIR/postgres.started" ]; then
    as_root pg_ctlcluster "$ver" main stop >/dev/null 2>&1; rm -f "$STATE_DIR/postgres.started"; say "  stopped PostgreSQL $ver/main"
  fi
}

print_where() {
  say "AWS endpoint  $AWS_ENDPOINT_URL  (credentials test/test, region us-east-1)"
  say "Redis         redis://$REDIS_HOST:$REDIS_PORT"
  say "Redis (AUTH)  redis://$REDIS_HOST:$REDIS_AUTH_PORT  (password in $STATE_DIR/redis-auth.password; tests read it from Secrets Manager)"
  say "PostgreSQL    postgres://gateway_worker:gateway_worker@$PG_HOST:$PG_PORT/$PG_DB  (owner: gateway_owner/gateway_owner)"
  say "state, logs   $STATE_DIR"
}

status() {
  local rc=0
  if aws_answers; then say "up    AWS endpoint at $AWS_ENDPOINT_URL"; else say "down  AWS endpoint at $AWS_ENDPOINT_URL"; rc=1; fi
  if redis_answers; then say "up    Redis at $REDIS_HOST:$REDIS_PORT"; else say "down  Redis at $REDIS_HOST:$REDIS_PORT"; rc=1; fi
  if redis_auth_answers; then say "up    Redis (AUTH) at $REDIS_HOST:$REDIS_AUTH_PORT"; else say "down  Redis (AUTH) at $REDIS_HOST:$REDIS_AUTH_PORT"; rc=1; fi
  if [ -n "$(pg_bin)" ] && pg_answers; then
    if pg_check_login; then say "up    PostgreSQL at $PG_HOST:$PG_PORT (database $PG_DB, role gateway_worker logs in)"
    else say "up    PostgreSQL at $PG_HOST:$PG_PORT, but gateway_worker cannot log in to $PG_DB (run: bash local/env.sh up)"; rc=1; fi
  else say "down  PostgreSQL at $PG_HOST:$PG_PORT"; rc=1; fi
  return $rc
}

case "${1:-}" in
  up)
    say "local services:"
    aws_up
    redis_up
    redis_auth_up
    pg_answers 2>/dev/null || touch "$STATE_DIR/postgres.started"
    pg_up
    pg_check_login || fail "PostgreSQL answers but gateway_worker cannot log in to $PG_DB over TCP: check pg_hba.conf allows md5/scram on 127.0.0.1"
    print_where
    ;;
  status) status ;;
  down)
    aws_down; redis_down; redis_auth_down; pg_down
    ;;
  *)
    say "usage: bash local/env.sh up|status|down"; exit 2 ;;
esac
