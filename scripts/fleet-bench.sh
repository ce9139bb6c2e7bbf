#!/usr/bin/env bash
# Fleet benchmark (issue 14): N SQLite databases (and, with
# AURORA_TEST_POSTGRES_URL set, M PostgreSQL schemas) taken from base to the
# bundled project's head by `aurora fleet`, at --jobs 1, 2, 4, 8, against
# N x one target's time (one `aurora upgrade head`, the median of 5).
#
#   scripts/fleet-bench.sh [BIN] [N_SQLITE] [M_PG_SCHEMAS]
#
# Defaults: target/release/aurora, 200, 50. Run it niced.
set -euo pipefail
BIN=$(realpath "${1:-target/release/aurora}")
N=${2:-200}
M=${3:-50}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cp -r "$ROOT/alembic.ini" "$ROOT/env.py" "$ROOT/script.py.mako" "$ROOT/versions" "$WORK/"
cd "$WORK"
export AURORA_CACHE_DIR=$WORK/cache

now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }

one=()
for i in 1 2 3 4 5; do
    rm -f one.db
    t0=$(now); AURORA_URL=sqlite:///$WORK/one.db "$BIN" -q upgrade head >/dev/null 2>&1; t1=$(now)
    one+=("$(secs "$t0" "$t1")")
done
ONE=$(printf '%s\n' "${one[@]}" | sort -n | sed -n 3p)
echo "sqlite: one target $ONE s (median of 5); $N targets"
for i in $(seq 1 "$N"); do echo "sqlite:///$WORK/db/t$i.db"; done > sqlite.txt
for jobs in 1 2 4 8; do
    rm -rf db; mkdir db
    t0=$(now); "$BIN" -q fleet sqlite.txt --jobs "$jobs" upgrade head >/dev/null 2>&1 || true; t1=$(now)
    total=$(secs "$t0" "$t1")
    echo "sqlite jobs=$jobs: $total s; N x one = $(echo "$N * $ONE" | bc) s; ratio $(echo "scale=2; $total / ($N * $ONE)" | bc)"
done

if [[ -n ${AURORA_TEST_POSTGRES_URL:-} ]]; then
    url=$AURORA_TEST_POSTGRES_URL
    psql=/usr/lib/postgresql/15/bin/psql
    reset() {
        for i in $(seq 1 "$M"); do echo "DROP SCHEMA IF EXISTS t$i CASCADE; CREATE SCHEMA t$i;"; done | "$psql" -q "$url" >/dev/null 2>&1
    }
    for i in $(seq 1 "$M"); do echo "schema=t$i"; done > pg.txt
    one=()
    for i in 1 2 3 4 5; do
        reset
        echo "schema=t1" > pg1.txt
        t0=$(now); "$BIN" -q fleet pg1.txt --url "$url" upgrade head >/dev/null 2>&1; t1=$(now)
        one+=("$(secs "$t0" "$t1")")
    done
    ONE=$(printf '%s\n' "${one[@]}" | sort -n | sed -n 3p)
    echo "postgresql: one schema $ONE s (median of 5, a fleet of one); $M schemas"
    for jobs in 1 2 4 8; do
        reset
        t0=$(now); "$BIN" -q fleet pg.txt --url "$url" --jobs "$jobs" upgrade head >/dev/null 2>&1 || true; t1=$(now)
        total=$(secs "$t0" "$t1")
        echo "postgresql jobs=$jobs: $total s; M x one = $(echo "$M * $ONE" | bc) s; ratio $(echo "scale=2; $total / ($M * $ONE)" | bc)"
    done
fi
