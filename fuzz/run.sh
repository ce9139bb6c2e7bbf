#!/usr/bin/env bash
# Builds aurora's fuzz targets and runs each for a fixed number of inputs,
# seeded from the revision files of the test fixtures and, when present, the
# conformance corpus beside the checkout. For CI:  bash fuzz/run.sh
#
#   FUZZ_RUNS=20000 (default) inputs per target; FUZZ_JOBS is not used: one
#   process per target keeps the run within a few minutes on 2 cores.
#
# cargo-fuzz needs nightly-only flags; RUSTC_BOOTSTRAP=1 lets the stable
# toolchain accept them. Without a sanitizer the build stays quick (aurora
# forbids unsafe code, so AddressSanitizer would find little).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
runs=${FUZZ_RUNS:-20000}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz/run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz --locked
fi

seed() {
    local target=$1
    local dir=$here/corpus/$target
    mkdir -p "$dir"
    local n=0
    while IFS= read -r -d '' file; do
        cp "$file" "$dir/seed_$n.py"
        n=$((n + 1))
    done < <(find "$root/tests/fixtures" "$root/versions" "$root/../shared/conformance/cases" \
        \( -path '*/versions/*' -o -path '*/fixtures/python/*' \) -name '*.py' -print0 2>/dev/null || true)
    echo "fuzz/run.sh: $target seeded with $n revision files" >&2
}

# Seeds for the ini, URL and graph targets: the configuration files of the
# fixtures, the URL list of the URL tests, a few graphs (`id parents : deps`).
seed_files() {
    local target=$1
    shift
    local dir=$here/corpus/$target
    mkdir -p "$dir"
    local n=0
    while IFS= read -r -d '' file; do
        cp "$file" "$dir/seed_$n"
        n=$((n + 1))
    done < <(find "$@" -print0 2>/dev/null || true)
    echo "fuzz/run.sh: $target seeded with $n files" >&2
}

cd "$here"
for target in body_render header_roundtrip parse_time; do
    seed "$target"
    cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
        -runs="$runs" -max_len=8192 -timeout=10 -rss_limit_mb=2048
done

seed_files ini_parse "$root" -maxdepth 1 -name '*.ini'
seed_files ini_parse "$root/../shared/conformance/cases" -name 'alembic.ini'
mkdir -p corpus/url_parse corpus/graph_build
n=0
while IFS= read -r line; do
    printf '%s' "${line%%$'\t'*}" > "corpus/url_parse/seed_$n"
    n=$((n + 1))
done < "$root/tests/fixtures/db/urls.tsv"
printf 'a\nb a\nc b\nd b\ne c d\n' > corpus/graph_build/seed_merge
printf 'a\nb a\nx\ny x : b\nz y a\n' > corpus/graph_build/seed_deps
printf 'a\nb a\nc b\na c\n' > corpus/graph_build/seed_cycle
printf 'ya\nb a\nc b\nd\ne c d\nx\ny x : b\nz y a\na e\n' > corpus/graph_build/seed_reachable_cycle
for target in ini_parse url_parse graph_build; do
    cargo fuzz run --sanitizer none "$target" "corpus/$target" -- \
        -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=2048
done
