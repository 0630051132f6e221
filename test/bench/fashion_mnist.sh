#!/bin/bash
#
# test/bench/fashion_mnist.sh: recall@10 and QPS of the diskann index on
# Fashion-MNIST (60,000 x 784, L2), against the exact sequential scan.
#
#   bash test/bench/fashion_mnist.sh                 # own throw-away cluster
#   PGHOST=/tmp PGPORT=5432 bash test/bench/fashion_mnist.sh   # reuse a server
#
# Without PGHOST/PGPORT it does what test/demo.sh does to get a server
# (packages, build, install, throw-away cluster as an unprivileged user,
# removed on exit).  With them it uses that server (omendb installed there,
# current user's connection settings), and keeps the loaded tables and the
# ground truth between runs.  It (re)creates the tables items, queries,
# bench_gt and bench_gt_meta and the functions knn_run and recall.
#
# Measures:
#   - table size, and after CREATE INDEX the build time and index size, as
#     ratios to the raw float32 data (rows * 784 * 4 bytes);
#   - the exact scan: pgbench (1 client, -M prepared, test/bench/knn_l2.sql)
#     with the index disabled, OMENDB_BENCH_EXACT_QUERIES transactions;
#   - ground truth for queries 1..N by exact search, stored in bench_gt;
#   - for each diskann.query_search_list_size in the sweep: recall@10 over
#     the N queries (compared with bench_gt) and QPS with pgbench, as a
#     ratio to the exact scan's QPS.
# The index part runs only when the diskann access method exists.
#
# Environment:
#   OMENDB_BENCH_ROWS            training images (default 60000)
#   OMENDB_BENCH_QUERIES         N, test images used as queries (default 1000)
#   OMENDB_BENCH_SWEEP           list sizes (default "10 20 40 60 80 100 150 200")
#   OMENDB_BENCH_SECONDS         pgbench duration per point (default 10), or
#   OMENDB_BENCH_TRANSACTIONS    pgbench transactions per point instead
#   OMENDB_BENCH_EXACT_QUERIES   transactions for the exact scan (default 50)
#   OMENDB_INDEX_WITH            index options, "num_neighbors=64, search_list_size=100"
#   OMENDB_MAINTENANCE_WORK_MEM  for CREATE INDEX (default 2GB)
#   OMENDB_BENCH_RELOAD=1        reload data and ground truth on a reused server

set -euo pipefail

# The caller's server, if any; omendb_init clears PG* variables.
CALLER_PGHOST=${PGHOST:-}
CALLER_PGPORT=${PGPORT:-}
CALLER_PGUSER=${PGUSER:-}
CALLER_PGDATABASE=${PGDATABASE:-}
CALLER_PGOPTIONS=${PGOPTIONS:-}

# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ROWS=${OMENDB_BENCH_ROWS:-60000}
NQ=${OMENDB_BENCH_QUERIES:-1000}
SWEEP=${OMENDB_BENCH_SWEEP:-10 20 40 60 80 100 150 200}
EXACT_Q=${OMENDB_BENCH_EXACT_QUERIES:-50}
K=10
INDEX=items_embedding_diskann_idx
RAW_BYTES=$((ROWS * 784 * 4))
RESULTS=()

# ---------------------------------------------------------------- server

# use_caller_server: connect to the server the caller's PG* variables name.
use_caller_server() {
	[[ -n $CALLER_PGHOST ]] && export PGHOST=$CALLER_PGHOST
	[[ -n $CALLER_PGPORT ]] && export PGPORT=$CALLER_PGPORT
	[[ -n $CALLER_PGUSER ]] && export PGUSER=$CALLER_PGUSER
	[[ -n $CALLER_PGDATABASE ]] && export PGDATABASE=$CALLER_PGDATABASE
	[[ -n $CALLER_PGOPTIONS ]] && export PGOPTIONS=$CALLER_PGOPTIONS
	export PATH="$PGBIN:$PATH"
	section "using the server at PGHOST=${PGHOST:-default} PGPORT=${PGPORT:-default}"
	sql1 "SELECT version()" >/dev/null || die "cannot connect"
	upsql -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS omendb" ||
		die "omendb is not installed on that server (make install)"
}

# own_server: packages, build, install, throw-away cluster.
own_server() {
	ensure_packages build dataset
	setup_test_user
	check_install_access
	make_workdir omendb-bench
	copy_source
	build_extension
	OMENDB_PG_CONF="shared_buffers = 1GB
maintenance_work_mem = 2GB
${OMENDB_PG_CONF:-}"
	start_cluster
}

# ---------------------------------------------------------------- measurements

# data_is_loaded: a reused server already has ROWS items and the queries.
data_is_loaded() {
	[[ ${OMENDB_BENCH_RELOAD:-0} != 1 ]] || return 1
	[[ $(sql1 "SELECT to_regclass('items') IS NOT NULL AND to_regclass('queries') IS NOT NULL") == t ]] || return 1
	[[ $(sql1 "SELECT count(*) FROM items") == "$ROWS" ]]
}

# pgbench_run PGOPTIONS DURATION_ARGS...: run the k-NN script; sets TPS
# and LAT_MS.
pgbench_run() {
	local opts=$1 out
	shift
	if ! out=$(CLIENT_PGOPTIONS="$opts" client pgbench -n -M prepared -c 1 \
		-f "$BENCH_SCRIPT" -D nqueries="$NQ" "$@" 2>&1); then
		printf '%s\n' "$out" >&2
		die "pgbench failed"
	fi
	TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	LAT_MS=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out")
	[[ -n $TPS ]] || {
		printf '%s\n' "$out" >&2
		die "no tps in pgbench output"
	}
}

# duration_args: pgbench's -T or -t for one sweep point.
duration_args() {
	if [[ -n ${OMENDB_BENCH_TRANSACTIONS:-} ]]; then
		echo "-t $OMENDB_BENCH_TRANSACTIONS"
	else
		echo "-T ${OMENDB_BENCH_SECONDS:-10}"
	fi
}

# measure_exact: QPS of the exact scan (index disabled).
measure_exact() {
	section "exact scan: pgbench, $EXACT_Q queries, enable_indexscan = off"
	pgbench_run "-c enable_indexscan=off -c enable_bitmapscan=off" -t "$EXACT_Q"
	EXACT_TPS=$TPS
	EXACT_LAT=$LAT_MS
	note "$EXACT_LAT ms per query, $EXACT_TPS QPS"
	RESULTS+=("$(printf '%-8s %10s %10s %12s %10s  %s' exact 1.0000 "$(fmt1 "$EXACT_TPS")" "$EXACT_LAT" 1.0 "seq scan")")
}

# ground_truth: exact top-K ids of queries 1..NQ in bench_gt, computed
# once (kept on a reused server while rows and N are unchanged).
ground_truth() {
	local have
	have=$(sql1 "SELECT to_regclass('bench_gt_meta') IS NOT NULL") || true
	if [[ $have == t && ${OMENDB_BENCH_RELOAD:-0} != 1 && ${DATA_RELOADED:-1} == 0 &&
		$(sql1 "SELECT count(*) FROM bench_gt_meta WHERE nrows = $ROWS AND nq = $NQ AND k = $K") == 1 ]]; then
		section "ground truth: reusing bench_gt ($NQ queries)"
		return 0
	fi
	local jobs
	jobs=${OMENDB_BENCH_JOBS:-$(nproc)}
	section "ground truth: exact top-$K for $NQ queries (sequential scan, $jobs sessions)"
	local t0
	t0=$(now)
	upsql <<-EOF
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS bench_gt, bench_gt_meta;
		CREATE TABLE bench_gt (qid int PRIMARY KEY, ids int[] NOT NULL);
	EOF
	# One session per core, each taking every jobs-th query.
	local j pids=() pid failed=0
	for ((j = 0; j < jobs; j++)); do
		upsql <<-EOF &
			SET enable_indexscan = off;
			SET enable_bitmapscan = off;
			SET max_parallel_workers_per_gather = 0;
			INSERT INTO bench_gt (qid, ids)
			SELECT q.id, ARRAY(SELECT i.id FROM items i
							   ORDER BY i.embedding <-> q.embedding LIMIT $K)
			FROM queries q
			WHERE q.id <= $NQ AND q.id % $jobs = $j;
		EOF
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || failed=1
	done
	[[ $failed == 0 ]] || die "ground truth query failed"
	upsql -c "CREATE TABLE bench_gt_meta AS SELECT $ROWS::bigint AS nrows, $NQ AS nq, $K AS k"
	note "computed in $(elapsed "$t0") s"
}

# build_index: CREATE INDEX with OMENDB_INDEX_WITH, timed, with progress.
build_index() {
	local with=""
	[[ -n ${OMENDB_INDEX_WITH:-} ]] && with="WITH ($OMENDB_INDEX_WITH)"
	section "CREATE INDEX $INDEX ON items USING diskann (embedding vector_l2_ops) $with"
	upsql -c "DROP INDEX IF EXISTS $INDEX"
	start_progress_monitor
	local t0
	t0=$(now)
	upsql <<-EOF
		SET maintenance_work_mem = '${OMENDB_MAINTENANCE_WORK_MEM:-2GB}';
		CREATE INDEX $INDEX ON items USING diskann (embedding vector_l2_ops) $with;
	EOF
	BUILD_S=$(elapsed "$t0")
	stop_progress_monitor
	upsql -c "ANALYZE items"
	INDEX_BYTES=$(sql1 "SELECT pg_relation_size('$INDEX')")
	note "built in $BUILD_S s, $(sql1 "SELECT pg_size_pretty($INDEX_BYTES::bigint)")"
	if ! upsql -At -c "EXPLAIN (COSTS OFF) SELECT id FROM items
		ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 1) LIMIT $K" |
		grep -q "Index Scan using $INDEX"; then
		note "WARNING: at the default diskann.query_search_list_size the planner does not use $INDEX"
	fi
}

# sweep: recall@K and QPS for each diskann.query_search_list_size.
sweep() {
	local l line recall plan
	for l in $SWEEP; do
		section "diskann.query_search_list_size = $l"
		# The planner may prefer the sequential scan at some settings; say so.
		plan=index
		if ! sql1 "SET diskann.query_search_list_size = $l;
			EXPLAIN (COSTS OFF) SELECT id FROM items
			ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 1) LIMIT $K" |
			grep -q "Index Scan using $INDEX"; then
			plan=NO-INDEX
			note "WARNING: the planner does not use $INDEX at this setting"
		fi
		recall=$(sql1 "SET diskann.query_search_list_size = $l;
			SELECT round(avg(recall(r.ids, g.ids))::numeric, 4)
			FROM knn_run($NQ, $K) r JOIN bench_gt g USING (qid)")
		# shellcheck disable=SC2046
		pgbench_run "-c diskann.query_search_list_size=$l" $(duration_args)
		line=$(printf '%-8s %10s %10s %12s %10s  %s' "$l" "$recall" "$(fmt1 "$TPS")" \
			"$LAT_MS" "$(ratio "$TPS" "$EXACT_TPS")" "$plan")
		note "recall@$K $recall, $(fmt1 "$TPS") QPS, $LAT_MS ms"
		RESULTS+=("$line")
	done
}

# fmt1 X: X with one decimal.  ratio A B: A / B with one decimal.
fmt1() { awk -v a="$1" 'BEGIN { printf "%.1f", a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }

# size_line BYTES: "123 MB (0.69x raw)".
size_line() {
	echo "$(sql1 "SELECT pg_size_pretty($1::bigint)") ($(awk -v a="$1" -v b="$RAW_BYTES" 'BEGIN { printf "%.2f", a / b }')x raw float32)"
}

report() {
	section "results: Fashion-MNIST $ROWS x 784, L2, k=$K, $NQ queries, pgbench 1 client -M prepared"
	printf '  %-22s %s\n' "raw float32 data" "$(sql1 "SELECT pg_size_pretty($RAW_BYTES::bigint)") ($ROWS * 784 * 4 bytes)"
	printf '  %-22s %s\n' "table size" "$(size_line "$TABLE_BYTES") (with TOAST)"
	if [[ -n ${BUILD_S:-} ]]; then
		printf '  %-22s %s\n' "index build" "$BUILD_S s ${OMENDB_INDEX_WITH:+(WITH $OMENDB_INDEX_WITH)}"
		printf '  %-22s %s\n' "index size" "$(size_line "$INDEX_BYTES")"
	else
		printf '  %-22s %s\n' "diskann index" "not measured: the diskann access method is not installed yet"
	fi
	printf '  %-22s %s\n' "exact scan" "$EXACT_LAT ms/query, $(fmt1 "$EXACT_TPS") QPS ($EXACT_Q queries)"
	echo
	printf '  %-8s %10s %10s %12s %10s  %s\n' "L" "recall@$K" "QPS" "latency ms" "QPS/exact" "plan"
	printf '  %s\n' "${RESULTS[@]}"
}

main() {
	local t0
	t0=$(now)
	omendb_init
	if [[ -n $CALLER_PGHOST || -n $CALLER_PGPORT ]]; then
		use_caller_server
		BENCH_SCRIPT=$REPO_ROOT/test/bench/knn_l2.sql
	else
		own_server
		BENCH_SCRIPT=$SRCDIR/test/bench/knn_l2.sql
	fi
	[[ $NQ -ge 1 && $NQ -le 10000 ]] || die "OMENDB_BENCH_QUERIES must be 1..10000"

	if data_is_loaded; then
		section "reusing items ($ROWS rows) and queries"
		DATA_RELOADED=0
	else
		load_fashion_mnist "$ROWS"
		DATA_RELOADED=1
	fi
	create_knn_helpers
	TABLE_BYTES=$(sql1 "SELECT pg_table_size('items')")

	measure_exact
	ground_truth
	if has_diskann; then
		build_index
		sweep
	else
		section "the diskann access method does not exist yet: index build and sweep skipped"
	fi
	report
	note "benchmark took $(elapsed "$t0") s"
}

main "$@"
