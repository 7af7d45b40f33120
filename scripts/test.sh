#!/usr/bin/env bash
# The one test command (see README, `make test`):
#   1. lint (ruff, pylint-odoo),
#   2. the engine package is installed from this checkout (pip install -r requirements.txt),
#   3. the engine suite (pytest tests/),
#   4. the Odoo suite when an Odoo 18 is available: a fresh database, the three addons installed
#      with demo data and --test-enable, failing on any failed test or ERROR/CRITICAL log line,
#      then the database is dropped. Without Odoo 18 it says so loudly and runs the rest.
# Ends with "TOTAL: N passed, N failed" and exits non-zero on any failure.
#
# Environment: ODOO_BIN (an odoo-bin or `odoo` command), ODOO_ADDONS_PATH (Odoo's own addons
# folders, comma-separated), PGHOST/PGPORT/PGUSER (database server; default: local socket),
# CROWD_SKIP_LINT=1, CROWD_SKIP_ODOO=1, CROWD_ODOO_TEST_TAGS (--test-tags; default: our three addons).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PY=${PYTHON:-python3}
ADDONS="crowd_service,crowd_service_portal,crowd_service_payout"
OUT="$ROOT/var/test"
mkdir -p "$OUT"

passed=0
failed=0
failures=()
note() { printf '\n==== %s\n' "$*"; }
ok() { passed=$((passed + $1)); }
ko() { failed=$((failed + $1)); failures+=("$2"); }

# ---------------------------------------------------------------- 1. lint
if [ "${CROWD_SKIP_LINT:-0}" = 1 ]; then
    note "Lint SKIPPED (CROWD_SKIP_LINT=1)"
else
    note "Lint: ruff"
    if $PY -m ruff check . && $PY -m ruff format --check . >/dev/null; then ok 1; else
        $PY -m ruff format --check . ; ko 1 "ruff"; fi
    note "Lint: pylint-odoo"
    if $PY -m pylint --rcfile=.pylintrc crowd_service crowd_service_portal crowd_service_payout; then ok 1; else
        ko 1 "pylint-odoo"; fi
fi

# ---------------------------------------------------------------- 2. the engine is installed
# The addons import the engine package crowd_dispatch, installed by `pip install -r requirements.txt`
# (an editable install of this checkout). Checked from outside the checkout, where the current
# directory cannot stand in for a real install.
note "Engine package: installed from this checkout"
engine_at=$(cd / && $PY -c 'import os, crowd_dispatch; print(os.path.dirname(os.path.dirname(os.path.realpath(crowd_dispatch.__file__))))' 2>/dev/null)
if [ "$engine_at" = "$(realpath "$ROOT")" ]; then
    echo "crowd_dispatch -> $engine_at"; ok 1
else
    echo "crowd_dispatch is ${engine_at:+installed from $engine_at, not from this checkout}${engine_at:-not installed}:"
    echo "run 'pip install -r requirements.txt' in $ROOT"
    ko 1 "engine package not installed from this checkout"
fi

# ---------------------------------------------------------------- 3. engine suite
note "Engine suite: pytest tests/"
$PY -m pytest tests/ -q -p no:cacheprovider --junitxml="$OUT/pytest.xml"
rc=$?
read -r t f e s < <($PY - "$OUT/pytest.xml" <<'PYEOF'
import sys, xml.etree.ElementTree as ET
try:
    root = ET.parse(sys.argv[1]).getroot()
except Exception:
    print(0, 0, 1, 0); raise SystemExit
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
g = lambda k: sum(int(x.get(k, 0)) for x in suites)
print(g("tests"), g("failures"), g("errors"), g("skipped"))
PYEOF
)
ok $((t - f - e - s))
if [ "$rc" -ne 0 ] || [ $((f + e)) -gt 0 ]; then ko $((f + e > 0 ? f + e : 1)) "pytest (exit $rc)"; fi
[ "$t" -eq 0 ] && ko 1 "pytest ran no test"

# ---------------------------------------------------------------- 4. Odoo suite
find_odoo() {
    if [ -n "${ODOO_BIN:-}" ]; then echo "$ODOO_BIN"; return 0; fi
    local v
    v=$($PY -c 'import odoo.release as r; print(r.major_version)' 2>/dev/null) || v=""
    if [ "$v" = "18.0" ]; then echo "$PY -m odoo"; return 0; fi
    if command -v odoo >/dev/null 2>&1 && odoo --version 2>/dev/null | grep -q " 18\.0"; then echo odoo; return 0; fi
    return 1
}
odoo_addons_path() {
    if [ -n "${ODOO_ADDONS_PATH:-}" ]; then echo "$ODOO_ADDONS_PATH"; return; fi
    # A source install keeps the addons beside the odoo package; a packaged one inside it.
    $PY - <<'PYEOF' 2>/dev/null
import os, odoo
root = os.path.dirname(os.path.dirname(os.path.abspath(odoo.__file__)))
paths = [p for p in (os.path.join(root, "addons"),) if os.path.isdir(os.path.join(p, "maintenance"))]
print(",".join(paths))
PYEOF
}

if [ "${CROWD_SKIP_ODOO:-0}" = 1 ]; then
    note "Odoo suite SKIPPED: CROWD_SKIP_ODOO=1"
elif ! ODOO=$(find_odoo); then
    note "Odoo suite SKIPPED: no Odoo 18 found (python3 cannot import odoo 18.0, no 'odoo' 18 command)."
    echo "!!!! Odoo suite SKIPPED: install Odoo 18 (source install: pip install -r its requirements.txt and"
    echo "!!!! pip install -e it, or set ODOO_BIN=/path/to/odoo-bin), or run 'docker compose --profile test run --rm tests'."
else
    DB="crowd_test_$(date +%s)_$$"
    PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    EXTRA=$(odoo_addons_path)
    APATH="${EXTRA:+$EXTRA,}$ROOT"
    LOG="$OUT/odoo.log"
    DBARGS=()
    [ -n "${PGHOST:-}" ] && DBARGS+=(--db_host="$PGHOST")
    [ -n "${PGPORT:-}" ] && DBARGS+=(--db_port="$PGPORT")
    [ -n "${PGUSER:-}" ] && DBARGS+=(--db_user="$PGUSER")
    # Only our addons' tests: without tags --test-enable would also run every dependency's own suite.
    TAGS=(--test-tags="${CROWD_ODOO_TEST_TAGS:-/crowd_service,/crowd_service_portal,/crowd_service_payout}")
    note "Odoo suite: $ODOO on database $DB (addons path $APATH), log in $LOG"
    start=$(date +%s)
    # shellcheck disable=SC2086
    # run from outside the checkout: the addons must find the engine as installed, not by the current directory
    (cd "$OUT" && timeout 1500 $ODOO -d "$DB" "${DBARGS[@]}" --addons-path="$APATH" -i "$ADDONS" --test-enable \
        "${TAGS[@]}" --stop-after-init --http-port="$PORT" --gevent-port=0 --max-cron-threads=0 \
        --workers=0 --log-level=info --without-demo= >"$LOG" 2>&1)
    rc=$?
    echo "Odoo exited with $rc after $(( $(date +%s) - start )) s"
    grep -E "odoo\.tests\.(stats|result)|Ran [0-9]+ test" "$LOG" | tail -n 5
    res=$(grep -E "[0-9]+ failed, [0-9]+ error\(s\) of [0-9]+ tests" "$LOG" | tail -n 1)
    if [ -n "$res" ]; then
        of=$(echo "$res" | sed -E 's/.* ([0-9]+) failed, ([0-9]+) error\(s\) of ([0-9]+) tests.*/\1 \2 \3/')
        read -r of oe ot <<<"$of"
        ok $((ot - of - oe))
        [ $((of + oe)) -gt 0 ] && ko $((of + oe)) "Odoo tests"
    else
        ko 1 "Odoo suite reported no test result"
    fi
    errs=$(grep -cE "^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) " "$LOG")
    if [ "$errs" -gt 0 ]; then
        echo "---- ERROR/CRITICAL lines in the Odoo log:"
        grep -E "^[0-9-]+ [0-9:,]+ [0-9]+ (ERROR|CRITICAL) " "$LOG" | head -n 40
        ko 1 "Odoo log has $errs ERROR/CRITICAL line(s)"
    fi
    [ "$rc" -ne 0 ] && ko 1 "Odoo exited with $rc"
    dropdb --if-exists "$DB" 2>/dev/null \
        || $PY -c "import psycopg2; c=psycopg2.connect(dbname='postgres'); c.autocommit=True; c.cursor().execute('DROP DATABASE IF EXISTS \"$DB\"')" \
        || echo "warning: could not drop $DB"
    find "${DATA_DIR:-$HOME/.local/share/Odoo}/filestore/$DB" -maxdepth 0 -exec rm -rf {} + 2>/dev/null
fi

note "Summary"
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "TOTAL: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
