#!/usr/bin/env bash
# Starts a throwaway PostgreSQL 15 for aurora's tests, or stops it.
#
#   scripts/start-postgres.sh          start; prints the settings
#   scripts/start-postgres.sh --stop   stop the server started before, by its pid
#
# Start makes a fresh cluster in a temporary folder owned by the `postgres`
# user (initdb refuses to run as root), listening on 127.0.0.1 on a free port
# with password authentication and TLS, and creates the database `aurora_test`.
# It writes the settings to $AURORA_PG_ENV (default /tmp/aurora-postgres.env),
# a file to `source`:
#
#   export AURORA_TEST_POSTGRES_URL=postgresql://postgres:...@127.0.0.1:PORT/aurora_test
#   export AURORA_TEST_POSTGRES_PID=...
#   export AURORA_TEST_POSTGRES_DIR=...        (its socket directory too)
#   export AURORA_TEST_POSTGRES_ROOT_CERT=...  (the throwaway CA that signed the server's
#                                               certificate, issued to `localhost` only)
#   export AURORA_TEST_POSTGRES_CLIENT_CERT=... (a client certificate for the role
#   export AURORA_TEST_POSTGRES_CLIENT_KEY=...   `aurora_cert`, and its key)
#
# Two more roles serve the TLS tests: `aurora_cert` may log in over TLS with
# its client certificate only, and `aurora_sslonly` (same password) over TLS
# only.
#
# On a machine without the server binaries or the `postgres` user, they are
# installed from Debian's packages first (needs root and the package registry).
set -euo pipefail

PG_VERSION=15
PG_BIN=/usr/lib/postgresql/$PG_VERSION/bin
ENV_FILE=${AURORA_PG_ENV:-/tmp/aurora-postgres.env}
DB_NAME=aurora_test
DB_PASSWORD=aurora-test-pw

log() { echo "start-postgres: $*" >&2; }

stop() {
    if [[ ! -f $ENV_FILE ]]; then
        log "nothing to stop: $ENV_FILE is missing"
        return 0
    fi
    # shellcheck disable=SC1090
    source "$ENV_FILE"
    local pid=${AURORA_TEST_POSTGRES_PID:-}
    if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
        # SIGINT is PostgreSQL's "fast shutdown".
        kill -INT "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            log "server $pid did not stop; sending SIGQUIT"
            kill -QUIT "$pid" || true
        fi
    fi
    if [[ -n ${AURORA_TEST_POSTGRES_DIR:-} && -d $AURORA_TEST_POSTGRES_DIR ]]; then
        rm -rf "$AURORA_TEST_POSTGRES_DIR"
    fi
    rm -f "$ENV_FILE"
    log "stopped"
}

# Runs a command as the postgres user (or as ourselves when not root).
as_postgres() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

install_if_missing() {
    if [[ -x $PG_BIN/initdb && -x $PG_BIN/pg_ctl ]] && { [[ $(id -u) -ne 0 ]] || id postgres >/dev/null 2>&1; }; then
        return 0
    fi
    if [[ $(id -u) -ne 0 ]]; then
        log "PostgreSQL $PG_VERSION is not installed in $PG_BIN and we are not root to install it"
        exit 1
    fi
    log "installing PostgreSQL $PG_VERSION from Debian's packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # The Debian package creates the postgres user and a default cluster; the
    # default cluster is not used (and is left stopped where there is no init).
    apt-get install -y -qq "postgresql-$PG_VERSION" >/dev/null
    if ! id postgres >/dev/null 2>&1; then
        useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
}

free_port() {
    python3 - <<'EOF' 2>/dev/null || echo $((20000 + RANDOM % 30000))
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
EOF
}

start() {
    if [[ -f $ENV_FILE ]]; then
        log "a server seems to run already ($ENV_FILE exists); stopping it first"
        stop
    fi
    install_if_missing

    local dir
    dir=$(mktemp -d /tmp/aurora-postgres.XXXXXX)
    chmod 755 "$dir"
    if [[ $(id -u) -eq 0 ]]; then
        chown postgres: "$dir"
    fi
    printf '%s\n' "$DB_PASSWORD" >"$dir/pwfile"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/pwfile"

    as_postgres "$PG_BIN/initdb" -D "$dir/data" -U postgres --pwfile="$dir/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C --no-sync >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    rm -f "$dir/pwfile"

    # TLS with a self-signed certificate for the name `localhost` only, so
    # tests can check sslmode=require, verify-ca and verify-full for real.
    if ! command -v openssl >/dev/null 2>&1; then
        if [[ $(id -u) -eq 0 ]]; then
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null
        else
            log "openssl is missing: cannot make the test server's certificate"
            exit 1
        fi
    fi
    # A throwaway CA and a server certificate it signs (CN and SAN localhost,
    # not a CA itself), as a real deployment has them: rustls, like browsers,
    # refuses a CA certificate presented as the server's own.
    {
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=aurora test CA" \
            -keyout "$dir/ca.key" -out "$dir/root.crt" &&
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout "$dir/data/server.key" -out "$dir/server.csr" &&
        printf 'subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' >"$dir/server.ext" &&
        openssl x509 -req -in "$dir/server.csr" -CA "$dir/root.crt" -CAkey "$dir/ca.key" -CAcreateserial \
            -days 2 -extfile "$dir/server.ext" -out "$dir/data/server.crt" &&
        # A client certificate for the role `aurora_cert` (the CN is the role),
        # which pg_hba.conf below lets in by certificate alone.
        openssl req -newkey rsa:2048 -nodes -subj "/CN=aurora_cert" \
            -keyout "$dir/client.key" -out "$dir/client.csr" &&
        printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' >"$dir/client.ext" &&
        openssl x509 -req -in "$dir/client.csr" -CA "$dir/root.crt" -CAkey "$dir/ca.key" -CAcreateserial \
            -days 2 -extfile "$dir/client.ext" -out "$dir/client.crt"
    } >"$dir/openssl.log" 2>&1 || { cat "$dir/openssl.log" >&2; exit 1; }
    rm -f "$dir/ca.key" "$dir/server.csr" "$dir/client.csr"
    # The client key belongs to whoever runs the tests, readable by them only
    # (libpq's rule, which aurora keeps).
    chmod 600 "$dir/client.key"
    cp "$dir/root.crt" "$dir/data/client-ca.crt"
    # Rules for the TLS tests, ahead of initdb's own: `aurora_cert` logs in
    # with its certificate only; `aurora_sslonly` only over TLS (a clear-text
    # connection is rejected, as a `hostssl`-only server does).
    {
        printf 'hostssl   all aurora_cert    127.0.0.1/32 cert\n'
        printf 'hostnossl all aurora_sslonly 127.0.0.1/32 reject\n'
        printf 'hostssl   all aurora_sslonly 127.0.0.1/32 scram-sha-256\n'
        cat "$dir/data/pg_hba.conf"
    } >"$dir/pg_hba.new" && mv "$dir/pg_hba.new" "$dir/data/pg_hba.conf"
    chmod 600 "$dir/data/server.key"
    chmod 644 "$dir/root.crt"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$dir/data/server.key" "$dir/data/server.crt" \
        "$dir/data/client-ca.crt" "$dir/data/pg_hba.conf"

    local port pid=""
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        # fsync off: a throwaway server for tests needs no durability.
        if as_postgres "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c full_page_writes=off -c ssl=on -c ssl_ca_file=client-ca.crt" \
            start >/dev/null 2>&1; then
            pid=$(head -n 1 "$dir/data/postmaster.pid")
            break
        fi
        log "could not start on port $port; trying another"
    done
    if [[ -z $pid ]]; then
        cat "$dir/server.log" >&2 || true
        exit 1
    fi

    as_postgres "$PG_BIN/psql" -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE DATABASE $DB_NAME" \
        -c "CREATE ROLE aurora_cert LOGIN" \
        -c "CREATE ROLE aurora_sslonly LOGIN PASSWORD '$DB_PASSWORD'" >/dev/null

    local url="postgresql://postgres:$DB_PASSWORD@127.0.0.1:$port/$DB_NAME"
    cat >"$ENV_FILE" <<EOF
export AURORA_TEST_POSTGRES_URL=$url
export AURORA_TEST_POSTGRES_PID=$pid
export AURORA_TEST_POSTGRES_DIR=$dir
export AURORA_TEST_POSTGRES_ROOT_CERT=$dir/root.crt
export AURORA_TEST_POSTGRES_CLIENT_CERT=$dir/client.crt
export AURORA_TEST_POSTGRES_CLIENT_KEY=$dir/client.key
EOF
    cat "$ENV_FILE"
    log "PostgreSQL $PG_VERSION running, pid $pid, port $port; settings in $ENV_FILE"
}

case ${1:-} in
    "" | --start) start ;;
    --stop) stop ;;
    *)
        echo "usage: $0 [--start|--stop]" >&2
        exit 2
        ;;
esac
