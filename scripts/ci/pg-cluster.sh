#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the integration tier and CI.
#
#   eval "$(scripts/ci/pg-cluster.sh start)"   # starts one; prints `export DATABASE_URL=...` etc. on stdout
#   scripts/ci/pg-cluster.sh env [PORT]         # prints the exports of a running cluster again
#   scripts/ci/pg-cluster.sh status [PORT]
#   scripts/ci/pg-cluster.sh stop [PORT]        # stops it and deletes its data (ACTP_PG_KEEP=1 keeps it)
#
# The cluster lives in /tmp/actp-pg-PORT (data/, run/ for the socket, postgresql.log, env), listens on
# 127.0.0.1 only, has pg_cron preloaded (cron.database_name = $ACTP_PG_CRON_DB, default postgres) and
# password (scram) auth over TCP for the superuser postgres, so
#   DATABASE_URL=postgres://postgres:postgres@127.0.0.1:PORT/postgres
# works. initdb refuses to run as root, so as root the server runs as the postgres user.
# Settings (environment):
#   ACTP_PG_PORT      port (default 55432; if that one is busy and the variable was not set, the next free one)
#   ACTP_PG_PASSWORD  password of postgres (default postgres; percent-encoded in DATABASE_URL)
#   ACTP_PG_CRON_DB   cron.database_name (default postgres; created if it does not exist)
# Needs scripts/ci/install-postgres.sh to have run (PostgreSQL 15, pg_cron, pgvector, pgTAP, plpgsql_check).
# Extensions are only checked here (in a scratch database that is dropped again, pg_cron in a rolled-back
# transaction): creating what it needs is the project's own code's job.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
PGBIN=/usr/lib/postgresql/$PG_MAJOR/bin
DEFAULT_PORT=55432
PASSWORD=${ACTP_PG_PASSWORD:-postgres}
CRON_DB=${ACTP_PG_CRON_DB:-postgres}

log() { printf '[pg-cluster] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
usage() { sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ -x "$PGBIN/pg_ctl" ] || die "$PGBIN/pg_ctl not found: run scripts/ci/install-postgres.sh first"

# Run a command as the database owner: the postgres user when we are root, ourselves otherwise.
# From / so that a work tree the postgres user cannot read (e.g. under /root) does not matter.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "no postgres user (is postgresql-$PG_MAJOR installed?)"
    (cd / && runuser -u postgres -- "$@")
  else
    (cd / && "$@")
  fi
}

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
cluster_dir() { echo "/tmp/actp-pg-$1"; }
running() { [ -f "$1/data/postmaster.pid" ] && as_owner "$PGBIN/pg_ctl" -D "$1/data" status >/dev/null 2>&1; }

urlencode() {
  local s=$1 out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case "$c" in [A-Za-z0-9._~-]) out+=$c ;; *) out+=$(printf '%%%02X' "'$c") ;; esac
  done
  printf '%s' "$out"
}
url_for() { echo "postgres://postgres:$(urlencode "$PASSWORD")@127.0.0.1:$1/postgres"; }

exports() { # PORT DIR
  local url
  url=$(url_for "$1")
  printf "export DATABASE_URL='%s'\nexport ACTP_PG_PORT='%s'\nexport ACTP_PG_DIR='%s'\n" "$url" "$1" "$2"
}

psql_owner() { # DB SQL...   (over the private unix socket, trust auth)
  local db=$1; shift
  as_owner "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$DIR/run" -p "$PORT" -U postgres -d "$db" "$@"
}

cmd_start() {
  if [ -n "${ACTP_PG_PORT:-}" ]; then
    PORT=$ACTP_PG_PORT
    port_busy "$PORT" && die "port $PORT (ACTP_PG_PORT) is already in use"
  else
    PORT=$DEFAULT_PORT
    while port_busy "$PORT"; do
      PORT=$((PORT + 1))
      [ "$PORT" -lt $((DEFAULT_PORT + 100)) ] || die "no free port in $DEFAULT_PORT..$PORT"
    done
  fi
  DIR=$(cluster_dir "$PORT")
  if [ -d "$DIR" ]; then
    running "$DIR" && die "a cluster is already running in $DIR"
    log "removing stale $DIR"
    rm -rf "$DIR"
  fi
  mkdir -p "$DIR/run"
  chmod 755 "$DIR"
  # If anything below fails, do not leave a half-made cluster running.
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed: cleaning up $DIR"; cleanup_failed_start; fi' EXIT
  printf '%s\n' "$PASSWORD" >"$DIR/pwfile"
  [ "$(id -u)" -ne 0 ] || chown -R postgres:postgres "$DIR"

  local t0=$SECONDS
  log "initdb in $DIR/data (port $PORT)"
  as_owner "$PGBIN/initdb" -D "$DIR/data" -U postgres --pwfile="$DIR/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 --no-sync \
    >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
  rm -f "$DIR/pwfile"

  cat >>"$DIR/data/postgresql.conf" <<CONF

# ---- actp throwaway cluster (scripts/ci/pg-cluster.sh)
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR/run'
max_connections = 200
timezone = 'UTC'
log_timezone = 'UTC'
shared_preload_libraries = 'pg_cron'
cron.database_name = '$CRON_DB'
# pg_cron runs its jobs through libpq: point it at the private socket (trust auth) instead of TCP.
cron.host = '$DIR/run'
# Fast and unsafe: it is thrown away anyway.
fsync = off
synchronous_commit = off
full_page_writes = off
CONF
  # pg_cron >= 1.5 reads cron.timezone; Debian bookworm ships 1.4.2, which always runs in GMT (= UTC)
  # and would warn about an unknown cron.* setting.
  if ls /usr/share/postgresql/"$PG_MAJOR"/extension/pg_cron--1.4--1.5.sql >/dev/null 2>&1; then
    echo "cron.timezone = 'UTC'" >>"$DIR/data/postgresql.conf"
  fi

  log "starting (log: $DIR/postgresql.log)"
  as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/postgresql.log" -w -t 60 start >/dev/null \
    || die "server did not start"

  if [ "$CRON_DB" != postgres ]; then
    if [ -z "$(psql_owner postgres -tAc "select 1 from pg_database where datname = '$CRON_DB'")" ]; then
      psql_owner postgres -c "create database \"$CRON_DB\""
    fi
  fi

  log "checking extensions (scratch database, dropped afterwards)"
  psql_owner postgres -c "create database actp_ci_scratch"
  psql_owner actp_ci_scratch >/dev/null <<'SQL'
create extension vector;
select '[1,2,3]'::vector <-> '[3,2,1]'::vector;
create extension plpgsql_check;
create extension pgtap;
select * from no_plan();
select ok(true, 'pgtap works');
select * from finish();
SQL
  psql_owner postgres -c "drop database actp_ci_scratch"
  psql_owner "$CRON_DB" >/dev/null <<'SQL'
begin;
create extension if not exists pg_cron;
select cron.schedule('actp-ci-probe', '* * * * *', 'select 1');
rollback;
SQL
  [ "$(psql_owner postgres -tAc 'show shared_preload_libraries')" = pg_cron ] || die "pg_cron is not preloaded"

  # The URL must work over TCP with the password.
  "$PGBIN/psql" -X -q -tA -v ON_ERROR_STOP=1 "$(url_for "$PORT")" -c 'select 1' >/dev/null \
    || die "cannot connect to $(url_for "$PORT")"

  trap - EXIT
  exports "$PORT" "$DIR" >"$DIR/env"
  [ "$(id -u)" -ne 0 ] || chown postgres:postgres "$DIR/env"
  chmod 644 "$DIR/env"
  log "ready in $((SECONDS - t0))s: $("$PGBIN/postgres" --version), port $PORT, cron.database_name=$CRON_DB"
  log "DATABASE_URL=$(url_for "$PORT")"
  exports "$PORT" "$DIR"
}

cleanup_failed_start() {
  if [ -f "$DIR/data/postmaster.pid" ]; then
    as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  if [ -f "$DIR/postgresql.log" ]; then tail -n 30 "$DIR/postgresql.log" >&2 || true; fi
  rm -rf "$DIR"
}

pick_port() { PORT=${1:-${ACTP_PG_PORT:-$DEFAULT_PORT}}; DIR=$(cluster_dir "$PORT"); }

cmd_stop() {
  pick_port "${1:-}"
  if [ ! -d "$DIR" ]; then log "no cluster in $DIR: nothing to stop"; return 0; fi
  if running "$DIR"; then
    log "stopping the cluster on port $PORT"
    as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -m fast -w -t 60 stop >/dev/null \
      || as_owner "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null || true
  fi
  if [ "${ACTP_PG_KEEP:-0}" = 1 ]; then
    log "kept $DIR"
  else
    rm -rf "$DIR"
    log "removed $DIR"
  fi
}

cmd_status() {
  pick_port "${1:-}"
  if [ -d "$DIR" ] && running "$DIR"; then log "running: port $PORT, $DIR"; else log "not running: port $PORT"; return 3; fi
}

cmd_env() {
  pick_port "${1:-}"
  { [ -d "$DIR" ] && running "$DIR"; } || die "no cluster running on port $PORT"
  cat "$DIR/env"
}

case "${1:-}" in
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  status) shift; cmd_status "$@" ;;
  env) shift; cmd_env "$@" ;;
  *) usage ;;
esac
