#!/usr/bin/env bash
# A landed migration never changes (issue 8, item 5). A project that already ran `supabase db push`
# never sees an edit to a file it applied, and the next push fails or silently diverges, so:
#   1. migrations.sha256 (repo root) pins every landed migration: a file listed there that is edited,
#      deleted or renamed fails this check (as Flyway's checksums or Graphile Worker's hashes do);
#   2. against a base ref (MIGRATIONS_BASE_REF, default `main` when it exists and is not HEAD): every
#      migration on the base must be byte-identical in HEAD, so a branch cannot rewrite what landed.
# Git history is not the reference: several commits land together by fast-forward, so the first
# commit that added a file may hold a version that was never on main by itself.
#
#   scripts/check-migrations-immutable.sh            check (CI: .ci/run)
#   scripts/check-migrations-immutable.sh --update   pin new migration files (append only; run when landing)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
LOCK=migrations.sha256
fail=0

if [ "${1:-}" = "--update" ]; then
  touch "$LOCK"
  for f in migrations/*.sql; do
    grep -q "  $f\$" "$LOCK" || sha256sum "$f" >> "$LOCK"
  done
  sort -k2 -o "$LOCK" "$LOCK"
fi

if [ ! -f "$LOCK" ]; then echo "migrations: $LOCK is missing (run $0 --update)"; exit 1; fi

# 1. Pinned files: unchanged and present.
while read -r sum file; do
  if [ ! -f "$file" ]; then
    echo "migrations: $file landed and is gone (deleted or renamed); restore it and add a new migration instead"
    fail=1
  elif [ "$(sha256sum "$file" | cut -d' ' -f1)" != "$sum" ]; then
    echo "migrations: $file landed and was changed; restore it (git checkout <landed commit> -- $file) and fix forward in a new migration"
    fail=1
  fi
done < "$LOCK"

# 2. Against the base ref, when there is one.
base=${MIGRATIONS_BASE_REF:-}
if [ -z "$base" ] && git rev-parse -q --verify main >/dev/null && [ "$(git rev-parse main)" != "$(git rev-parse HEAD)" ]; then base=main; fi
if [ -n "$base" ]; then
  while read -r file; do
    [ -n "$file" ] || continue
    if ! git cat-file -e "HEAD:$file" 2>/dev/null; then
      echo "migrations: $file is on $base and gone here (deleted or renamed)"
      fail=1
    elif [ "$(git rev-parse "$base:$file")" != "$(git rev-parse "HEAD:$file")" ]; then
      echo "migrations: $file differs from $base's; a landed migration never changes"
      fail=1
    fi
  done < <(git ls-tree -r --name-only "$base" -- migrations/ | grep '\.sql$' || true)
fi

if [ "$fail" -ne 0 ]; then exit 1; fi
echo "migrations: $(wc -l < "$LOCK") landed migrations unchanged${base:+, and none of those on $base rewritten}"
