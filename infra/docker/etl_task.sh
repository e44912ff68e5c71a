#!/bin/sh
# The ETL task for one S3 upload (ECS, started by EventBridge; modules/etl).
# EventBridge passes the object as DSS_BUCKET and DSS_KEY; the key is
# <prefix>/<scenario_id>/<file>.dss, so the scenario id is the folder name
# (never the file's F part: every CalSim3 study carries the same one).
# Loads the file (all-or-nothing, recorded in ops.ingest_runs), then builds
# (recorded in ops.dbt_runs). Any failure exits non-zero, which the
# monitoring module turns into an alarm.
# With COEQWAL_TASK=audit (the nightly schedule of modules/etl) it runs
# `coeqwal audit` instead: every data test on every scenario.
set -eu

if [ "${COEQWAL_TASK:-}" = "audit" ]; then
    exec coeqwal audit
fi

: "${DSS_BUCKET:?DSS_BUCKET is not set}"
: "${DSS_KEY:?DSS_KEY is not set}"

scenario=$(printf '%s\n' "$DSS_KEY" | awk -F/ 'NF >= 3 { print $(NF-1) }')
case "$scenario" in
    "" | *[!A-Za-z0-9_-]*)
        echo "coeqwal: upload key $DSS_KEY is not <prefix>/<scenario_id>/<file>.dss" >&2
        exit 2
        ;;
esac

coeqwal ingest dss --scenario "$scenario" "s3://$DSS_BUCKET/$DSS_KEY"
coeqwal build
