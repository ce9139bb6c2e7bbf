#!/usr/bin/env bash
# Lints every public conformance case's project (on a copy, so nothing in
# the cases changes) and the bundled project; prints one line per case and a
# summary of the rules that fired. A case fails when aurora lint exits with
# anything but 0 (clean or warnings) or 255 (error-severity findings).
set -u
bin=${1:-target/debug/aurora}
bin=$(realpath "$bin")
cases=${CASES:-/work/shared/conformance/cases}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
: >"$tmp/all"
for case in "$cases"/*/; do
  name=$(basename "$case")
  rm -rf "$tmp/p" && cp -r "$case/project" "$tmp/p"
  out=$(cd "$tmp/p" && env -u DATABASE_URL "$bin" lint 2>&1)
  rc=$?
  n=$(grep -cE '^[^ ].*:[0-9]+:[0-9]+: (error|warning|info)\[' <<<"$out")
  if [ $rc -ne 0 ] && [ $rc -ne 255 ]; then
    bad=$((bad + 1))
    echo "FAIL $name (exit $rc): $(head -c 300 <<<"$out")"
  else
    echo "ok   $name exit=$rc findings=$n"
  fi
  grep -oE '(error|warning|info)\[[a-z-]+\]' <<<"$out" >>"$tmp/all"
done
root=$(git rev-parse --show-toplevel)
out=$(cd "$root" && env -u DATABASE_URL "$bin" lint 2>&1); rc=$?
echo "bundled project: exit=$rc"; echo "$out"
[ $rc -ne 0 ] && [ $rc -ne 255 ] && bad=$((bad + 1))
echo "== findings by rule over all cases"
sort "$tmp/all" | uniq -c | sort -rn
echo "== cases that failed to lint: $bad"
[ $bad -eq 0 ]
