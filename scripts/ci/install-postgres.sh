#!/usr/bin/env bash
# Installs what the PostgreSQL integration tier (and CI) needs, on Debian bookworm, as root:
#   - postgresql-15 with postgresql-15-cron, postgresql-15-pgtap, postgresql-15-plpgsql-check (Debian packages)
#   - build tools and postgresql-server-dev-15
#   - pgvector 0.8.x, built from Debian trixie's *source* package (bookworm has no pgvector 0.8 binary)
# The machine's apt sources are left as they are: trixie's deb-src is read from a throwaway sources
# file and package-list directory. Idempotent: a second run with everything in place takes a second.
# No cluster is created here (see scripts/ci/pg-cluster.sh); Debian's default "main" cluster is not
# created on a fresh install (create_main_cluster = false) and is not used if it already exists.
set -euo pipefail

PG_MAJOR=${PG_MAJOR:-15}
PGVECTOR_WANT=${PGVECTOR_WANT:-0.8.0}
PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
export DEBIAN_FRONTEND=noninteractive

log() { printf '[install-postgres] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "must run as root (it uses apt-get and installs into /usr)"
command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian bookworm"

PACKAGES=(
  postgresql-$PG_MAJOR postgresql-client-$PG_MAJOR
  postgresql-$PG_MAJOR-cron postgresql-$PG_MAJOR-pgtap postgresql-$PG_MAJOR-plpgsql-check
  postgresql-server-dev-$PG_MAJOR build-essential dpkg-dev xz-utils ca-certificates
)

is_installed() { dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed; }

APT_UPDATED=0
apt_update_once() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    apt-get update -qq
    APT_UPDATED=1
  fi
}
apt_install() {
  # --no-install-recommends keeps pgtap's perl/doc recommends and friends out.
  apt-get install -y -qq --no-install-recommends -o Dpkg::Use-Pty=0 "$@"
}

# While apt runs, keep maintainer scripts from starting services (the Docker-style policy-rc.d);
# only if the machine has none of its own, and removed again on exit.
POLICY_RC=/usr/sbin/policy-rc.d
CREATED_POLICY_RC=0
TMP=""
cleanup() {
  if [ "$CREATED_POLICY_RC" -eq 1 ]; then rm -f "$POLICY_RC"; fi
  if [ -n "$TMP" ]; then rm -rf "$TMP"; fi
}
trap cleanup EXIT

# Do not let the postgresql-NN packages create (and start) a default cluster.
no_main_cluster() {
  local f=/etc/postgresql-common/createcluster.conf
  [ -f "$f" ] || return 0
  if grep -Eq '^[[:space:]]*create_main_cluster[[:space:]]*=[[:space:]]*false' "$f"; then return 0; fi
  if grep -Eq '^[#[:space:]]*create_main_cluster[[:space:]]*=' "$f"; then
    sed -ri 's/^[#[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' "$f"
  else
    printf '\ncreate_main_cluster = false\n' >>"$f"
  fi
  log "set create_main_cluster = false in $f"
}

# ---------------------------------------------------------------- 1. Debian packages
missing=()
for p in "${PACKAGES[@]}"; do is_installed "$p" || missing+=("$p"); done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing: ${missing[*]}"
  if [ ! -e "$POLICY_RC" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$POLICY_RC"; chmod 755 "$POLICY_RC"; CREATED_POLICY_RC=1
  fi
  apt_update_once
  # postgresql-common first (it owns createcluster.conf), then turn the default cluster off,
  # then the rest.
  if ! is_installed postgresql-common; then apt_install postgresql-common; fi
  no_main_cluster
  apt_install "${missing[@]}"
  if [ "$CREATED_POLICY_RC" -eq 1 ]; then rm -f "$POLICY_RC"; CREATED_POLICY_RC=0; fi
else
  log "Debian packages already installed"
  no_main_cluster
fi
[ -x "$PG_CONFIG" ] || die "$PG_CONFIG not found after install"

# ---------------------------------------------------------------- 2. pgvector from trixie's source
EXTDIR="$("$PG_CONFIG" --sharedir)/extension"
if [ -f "$EXTDIR/vector.control" ]; then
  have=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "$EXTDIR/vector.control")
  log "pgvector already installed (default_version $have)"
  case "$have" in
    0.8.*|0.9.*|[1-9].*) ;;
    *) log "WARNING: pgvector $have is older than the wanted $PGVECTOR_WANT; delete $EXTDIR/vector.control to rebuild" ;;
  esac
else
  TMP=$(mktemp -d /tmp/actp-pgvector.XXXXXX)
  mkdir -p "$TMP/lists/partial" "$TMP/cache/archives/partial" "$TMP/src"
  echo "deb-src http://deb.debian.org/debian trixie main" >"$TMP/sources.list"
  APT_TRIXIE=(
    -o "Dir::Etc::sourcelist=$TMP/sources.list" -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$TMP/lists" -o "Dir::Cache=$TMP/cache"
    -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache="
    -o "APT::Get::List-Cleanup=0"
  )
  # apt drops privileges to _apt for downloads; let it write where it downloads to.
  chmod 755 "$TMP"
  if id _apt >/dev/null 2>&1; then chown -R _apt "$TMP/lists" "$TMP/src"; fi
  log "fetching trixie's Sources index (throwaway lists dir $TMP/lists)"
  apt-get "${APT_TRIXIE[@]}" update -qq
  log "downloading the pgvector source package"
  (cd "$TMP/src" && apt-get "${APT_TRIXIE[@]}" source --download-only -qq pgvector)
  dsc=$(ls "$TMP"/src/pgvector_*.dsc | head -n1)
  [ -n "$dsc" ] || die "no pgvector .dsc downloaded"
  log "unpacking $(basename "$dsc")"
  (cd "$TMP/src" && dpkg-source --no-check -x "$(basename "$dsc")" build >/dev/null)
  got=$(sed -n "s/^default_version *= *'\(.*\)'.*/\1/p" "$TMP/src/build/vector.control")
  [ "$got" = "$PGVECTOR_WANT" ] || log "WARNING: trixie has pgvector $got, not $PGVECTOR_WANT; building $got"
  log "building pgvector $got against $PG_CONFIG"
  # OPTFLAGS= : no -march=native, as Debian builds it (the .so may outlive this CPU).
  make -C "$TMP/src/build" -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" OPTFLAGS="" >/dev/null
  make -C "$TMP/src/build" -s PG_CONFIG="$PG_CONFIG" OPTFLAGS="" install >/dev/null
  [ -f "$EXTDIR/vector.control" ] || die "pgvector install did not produce $EXTDIR/vector.control"
  log "pgvector $got installed"
fi

# ---------------------------------------------------------------- 3. check
for ext in vector pg_cron plpgsql_check pgtap; do
  [ -f "$EXTDIR/$ext.control" ] || die "extension $ext missing from $EXTDIR"
done
log "ok: $("$PG_CONFIG" --version); extensions vector, pg_cron, plpgsql_check, pgtap available"
