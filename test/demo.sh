#!/bin/bash
#
# test/demo.sh: omendb on real data, from a fresh Debian 12 with the
# PostgreSQL 15 server.
#
#   bash test/demo.sh
#
# Installs what is missing (build packages, dataset-fashion-mnist; needs
# root for that and for make install), builds and installs omendb from a
# temp copy of the checkout, starts a throw-away cluster as an unprivileged
# user, loads Fashion-MNIST (60,000 x 784 training images into items, the
# 10,000 test images into queries) and then
#   - with the diskann access method: builds the index (timed, with
#     progress), runs the first OMENDB_DEMO_QUERIES test images through the
#     index and through an exact sequential scan, and reports recall@10,
#     latencies, the speed-up and the sizes;
#   - without it: runs an exact nearest-neighbour query and says so.
# The cluster and temp dir are removed on exit.
#
# Environment:
#   OMENDB_DEMO_ROWS      training images to load (default 60000)
#   OMENDB_DEMO_QUERIES   test images to query (default 100)
#   OMENDB_INDEX_WITH     index options, e.g. "num_neighbors=64, search_list_size=100"
#   OMENDB_PG_CONF        extra postgresql.conf lines; see also test/lib.sh

set -euo pipefail

# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROWS=${OMENDB_DEMO_ROWS:-60000}
NQ=${OMENDB_DEMO_QUERIES:-100}
K=10
SUMMARY=()

# summarize LABEL VALUE: remember a line for the final summary.
summarize() { SUMMARY+=("$(printf '  %-22s %s' "$1" "$2")"); }

# exact_only: what the demo shows before the index exists.
exact_only() {
	section "exact nearest neighbours of test image 1 (sequential scan)"
	upsql <<-EOF
		\\timing on
		SELECT i.id, round((i.embedding <-> q.embedding)::numeric, 1) AS l2_distance
		FROM items i, queries q
		WHERE q.id = 1
		ORDER BY i.embedding <-> q.embedding
		LIMIT $K;
	EOF
	local ms
	ms=$(sql1 "SELECT round(avg(ms)::numeric, 1) FROM knn_run($NQ, $K)")
	note "exact k-NN over $NQ test images: $ms ms per query"
	summarize "exact scan" "$ms ms/query ($NQ queries, k=$K)"
	summarize "diskann index" "not built: the diskann access method is not installed yet"
}

# with_index: build the diskann index and compare it with the exact scan.
with_index() {
	local with="" t0 build_s
	[[ -n ${OMENDB_INDEX_WITH:-} ]] && with="WITH ($OMENDB_INDEX_WITH)"

	section "CREATE INDEX ON items USING diskann (embedding vector_l2_ops) $with"
	start_progress_monitor
	t0=$(now)
	upsql -c "CREATE INDEX items_embedding_idx ON items USING diskann (embedding vector_l2_ops) $with"
	build_s=$(elapsed "$t0")
	stop_progress_monitor
	upsql -c "ANALYZE items"
	note "index built in $build_s s"

	section "query plan"
	local plan used=""
	plan=$(upsql -c "EXPLAIN (COSTS OFF) SELECT id FROM items
		ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 1) LIMIT $K")
	echo "$plan"
	if ! grep -q "Index Scan using items_embedding_idx" <<<"$plan"; then
		note "WARNING: the planner does not use the diskann index for this query"
		used=" (planner did not use the index!)"
	fi

	section "$NQ queries through the index and through an exact sequential scan"
	# Separate sessions: PL/pgSQL keeps its cached plans across SETs.
	upsql <<-EOF
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS demo_index, demo_exact;
		CREATE TABLE demo_index AS SELECT * FROM knn_run($NQ, $K);
	EOF
	upsql <<-EOF
		SET enable_indexscan = off;
		SET enable_bitmapscan = off;
		CREATE TABLE demo_exact AS SELECT * FROM knn_run($NQ, $K);
	EOF
	local line recall idx_ms exact_ms speedup
	line=$(sql1 "SELECT round(avg(recall(i.ids, e.ids))::numeric, 4),
			round(avg(i.ms)::numeric, 2), round(avg(e.ms)::numeric, 2),
			round((avg(e.ms) / nullif(avg(i.ms), 0))::numeric, 1)
		FROM demo_index i JOIN demo_exact e USING (qid)")
	IFS='|' read -r recall idx_ms exact_ms speedup <<<"$line"

	summarize "index build" "$build_s s ${with:-(default options)}"
	summarize "index size" "$(sql1 "SELECT pg_size_pretty(pg_relation_size('items_embedding_idx'))")"
	local l
	l=$(sql1 "LOAD 'omendb'; SELECT current_setting('diskann.query_search_list_size', true)")
	summarize "recall@$K" "$recall ($NQ queries, diskann.query_search_list_size = ${l:-?})"
	summarize "index scan" "$idx_ms ms/query$used"
	summarize "exact scan" "$exact_ms ms/query"
	summarize "speed-up" "${speedup}x"
}

main() {
	local t0
	t0=$(now)
	omendb_init
	section "omendb demo: Fashion-MNIST, $ROWS x 784, L2"
	own_server omendb-demo
	load_fashion_mnist "$ROWS"
	create_knn_helpers

	summarize "rows" "$ROWS x 784 (loaded in $LOAD_SECONDS s)"
	summarize "table size" "$(sql1 "SELECT pg_size_pretty(pg_table_size('items'))") (items, with TOAST; raw float32: $(sql1 "SELECT pg_size_pretty($ROWS::bigint * 784 * 4)"))"
	if has_diskann; then
		with_index
	else
		note "the diskann access method does not exist yet: exact search only"
		exact_only
	fi

	section "summary ($(elapsed "$t0") s in all)"
	printf '%s\n' "${SUMMARY[@]}"
}

main "$@"
