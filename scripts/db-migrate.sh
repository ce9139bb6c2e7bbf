#!/bin/sh
# Aurora-X database migrations: the commands of the original db-migrate.sh, run by aurora.
#
#   ./scripts/db-migrate.sh <command> [arguments]
#
# Commands: status, create MESSAGE, upgrade [REVISION], downgrade [STEPS|all|REVISION],
# history, current, upgrade-to REVISION, downgrade-to REVISION, show-sql [REVISION],
# stamp REVISION, reset. Anything else is passed to aurora unchanged.
#
# The aurora binary is taken from $AURORA, else from PATH, else from target/release/aurora
# (then target/debug/aurora) in this repository. Commands run from the repository root, where
# alembic.ini lives, unless ALEMBIC_CONFIG or -c says otherwise.

set -eu

script_dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
repo_dir=$(dirname -- "$script_dir")

find_aurora() {
    if [ -n "${AURORA:-}" ]; then
        printf '%s\n' "$AURORA"
    elif command -v aurora >/dev/null 2>&1; then
        command -v aurora
    elif [ -x "$repo_dir/target/release/aurora" ]; then
        printf '%s\n' "$repo_dir/target/release/aurora"
    elif [ -x "$repo_dir/target/debug/aurora" ]; then
        printf '%s\n' "$repo_dir/target/debug/aurora"
    else
        echo "db-migrate.sh: cannot find aurora; build it with 'cargo build --release' or put it on PATH" >&2
        exit 127
    fi
}

usage() {
    cat <<'EOF'
Usage: ./scripts/db-migrate.sh <command> [arguments]

Commands:
  status                  Show current migration version and history
  create <message>        Create a new migration from the models (autogenerate)
  upgrade [revision]      Apply migrations (default: head)
  downgrade [steps|all|revision]
                          Roll back (default: one step; 'all' goes to base)
  history                 Show the migration history
  current                 Show the current migration version
  upgrade-to <revision>   Upgrade to a specific revision
  downgrade-to <revision> Downgrade to a specific revision
  show-sql [revision]     Print the SQL of an upgrade without running it (default: head)
  stamp <revision>        Record a revision without running migrations
  reset                   Downgrade to base, then upgrade to head (deletes all data)
EOF
}

aurora=$(find_aurora)
cd "$repo_dir"

if [ $# -eq 0 ]; then
    usage
    exit 1
fi

command=$1
shift

case "$command" in
    help | -h | --help)
        usage
        ;;
    upgrade)
        if [ $# -eq 0 ]; then
            exec "$aurora" upgrade head
        fi
        exec "$aurora" upgrade "$@"
        ;;
    downgrade)
        if [ $# -eq 0 ]; then
            exec "$aurora" downgrade -1
        fi
        exec "$aurora" downgrade "$@"
        ;;
    create)
        if [ $# -eq 0 ]; then
            echo "db-migrate.sh: create needs a message, e.g. create \"Add user preferences table\"" >&2
            exit 1
        fi
        exec "$aurora" create "$@"
        ;;
    *)
        exec "$aurora" "$command" "$@"
        ;;
esac
