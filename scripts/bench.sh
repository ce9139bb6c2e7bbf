#!/usr/bin/env bash
# Benchmarks aurora against Python Alembic (when installed) and against the
# floor (reading the same files) on repositories made by
# ../shared/bench/gen_repo.py. Prints hyperfine medians; nothing here is a test.
#
#   scripts/bench.sh [OUT_DIR]
#
# Environment: ALEMBIC=/path/to/alembic (optional), RUNS (default 5).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GEN=${GEN:-$ROOT/../shared/bench/gen_repo.py}
OUT=${1:-${TMPDIR:-/tmp}/aurora-bench}
RUNS=${RUNS:-5}
AURORA=$ROOT/target/release/aurora
ALEMBIC=${ALEMBIC:-}
command -v hyperfine >/dev/null || { echo "hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
[[ -x $AURORA ]] || (cd "$ROOT" && cargo build --release)
mkdir -p "$OUT"

gen() { # shape n
    local dir=$OUT/$1_$2
    [[ -d $dir ]] || python3 "$GEN" --revisions "$2" --shape "$1" --seed 1 --out "$dir" >/dev/null
    echo "$dir"
}

peak_kib() { /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; }

echo "## start-up"
hyperfine -N --warmup 3 --runs 20 "$AURORA --version" --export-markdown /dev/stdout | tail -n +3

for shape in linear branchy; do
    for n in 1000 10000; do
        dir=$(gen "$shape" "$n")
        cd "$dir"
        echo "## $shape, $n revisions"
        cmds=("find alembic/versions -name '*.py' -exec cat {} + >/dev/null" "$AURORA heads" "$AURORA history" "$AURORA upgrade head --sql")
        if [[ -n $ALEMBIC && $n -le ${ALEMBIC_MAX_N:-10000} ]]; then
            cmds+=("$ALEMBIC heads" "$ALEMBIC history" "$ALEMBIC upgrade head --sql")
        fi
        hyperfine --warmup 1 --runs "$RUNS" "${cmds[@]}" --export-markdown /dev/stdout 2>/dev/null | tail -n +3
        echo "peak RSS (KiB): heads $(peak_kib "$AURORA" heads), history $(peak_kib "$AURORA" history), upgrade --sql $(peak_kib "$AURORA" upgrade head --sql)"
    done
done
