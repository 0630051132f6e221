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

# ---------------------------------------------------------------- measurements

# data_is_loaded: a reused server already has ROWS items and the queries.
data_is_loaded() {
	[[ ${OMENDB_BENCH_RELOAD:-0} != 1 ]] || return 1
	[[ $(sql1 "SELECT to_regclass('items') IS NOT NULL AND to_regclass('queries') IS NOT NULL") == t ]] || return 1
	[[ $(sql1 "SELECT count(*) FROM items") == "$ROWS" ]]
}

# measure_exact: QPS of the exact scan (index disabled).
measure_exact() {
	section "exact scan: pgbench, $EXACT_Q queries, enable_indexscan = off"
	knn_pgbench "$NQ" "-c enable_indexscan=off -c enable_bitmapscan=off" -t "$EXACT_Q"
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
	section "ground truth: exact top-$K for $NQ queries (sequential scan, $(bench_jobs) sessions)"
	local t0
	t0=$(now)
	upsql -c "DROP TABLE IF EXISTS bench_gt_meta"
	exact_topk bench_gt "$NQ" "$K"
	upsql -c "CREATE TABLE bench_gt_meta AS SELECT $ROWS::bigint AS nrows, $NQ AS nq, $K AS k"
	note "computed in $(elapsed "$t0") s"
}

# build_index: CREATE INDEX with OMENDB_INDEX_WITH, timed, with progress.
build_index() {
	local with=""
	[[ -n ${OMENDB_INDEX_WITH:-} ]] && with="WITH ($OMENDB_INDEX_WITH)"
	section "CREATE INDEX $INDEX ON items USING diskann (embedding vector_l2_ops) $with"
	upsql -c "DROP INDEX IF EXISTS $INDEX"
	create_diskann "$INDEX" items
	upsql -c "ANALYZE items"
	INDEX_BYTES=$(sql1 "SELECT pg_relation_size('$INDEX')")
	note "built in $BUILD_S s, $(sql1 "SELECT pg_size_pretty($INDEX_BYTES::bigint)")"
	if ! index_scan_used "$INDEX" "$K"; then
		note "WARNING: at the default diskann.query_search_list_size the planner does not use $INDEX"
	fi
}

# sweep: recall@K and QPS for each diskann.query_search_list_size.
sweep() {
	local l line
	for l in $SWEEP; do
		section "diskann.query_search_list_size = $l"
		sweep_point "$INDEX" "$l" bench_gt "$NQ" "$K"
		line=$(printf '%-8s %10s %10s %12s %10s  %s' "$l" "$POINT_RECALL" "$(fmt1 "$TPS")" \
			"$LAT_MS" "$(ratio "$TPS" "$EXACT_TPS")" "$POINT_PLAN")
		note "recall@$K $POINT_RECALL, $(fmt1 "$TPS") QPS, $LAT_MS ms"
		RESULTS+=("$line")
	done
}

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
	bench_server omendb-bench
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
