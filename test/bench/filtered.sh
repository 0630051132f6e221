#!/bin/bash
#
# test/bench/filtered.sh: filtered k-NN search on Fashion-MNIST with its
# class labels (60,000 x 784, L2, k = 10): recall@10, short answers and QPS
# of three filters, through the plain diskann index with the filter applied
# by the executor and through a multi-column diskann index that takes the
# filter column, with a btree index on the label present all the time.
#
#   bash test/bench/filtered.sh                  # own throw-away cluster
#   PGHOST=/tmp PGPORT=5432 bash test/bench/filtered.sh   # reuse a server
#   OMENDB_BENCH_SYSTEM=pgvector PGHOST=/tmp PGPORT=5432 PGDATABASE=pgv \
#       bash test/bench/filtered.sh              # pgvector's hnsw, for comparison
#
# Without PGHOST/PGPORT it does what test/demo.sh does to get a server
# (packages, build, install, throw-away cluster as an unprivileged user,
# removed on exit).  With them it uses that server (current user's
# connection settings) and keeps the loaded tables and the ground truth
# between runs.  It (re)creates the tables fitems, fqueries, ftruth,
# ftruth_meta and fresult, and drops and creates indexes on fitems.
#
# Data: fitems (id int PRIMARY KEY, label int, embedding vector(784)) holds
# the first OMENDB_BENCH_ROWS training images with their classes (0..9,
# 6,000 each in the full set) and a btree index on label; fqueries (qid,
# label, other, idmod, embedding) the first N test images (N =
# OMENDB_BENCH_QUERIES), with other = (label + 5) % 10, a class far from
# the query's own (clothes <-> shoes and bags), and idmod = qid % 10.
#
# The three filters, each in one statement per query:
#   near  label = the query's own class                        (10% of rows)
#   far   label = other                                         (10% of rows)
#   1pct  label = other AND id % 10 = idmod                     ( 1% of rows)
# as
#   SELECT id FROM fitems
#   WHERE label = (SELECT other FROM fqueries WHERE qid = $1)
#     AND id % 10 = (SELECT idmod FROM fqueries WHERE qid = $1)
#   ORDER BY embedding <-> (SELECT embedding FROM fqueries WHERE qid = $1)
#   LIMIT 10
# The filter values come from scalar subqueries (initplans): the planner
# estimates them as it does parameters of a prepared statement.
#
# Measured, for each filter:
#   exact   no vector index (btree and primary key only), so the planner's
#           exact path: ground truth check and reference QPS;
#   A       CREATE INDEX ... USING diskann (embedding vector_l2_ops): the
#           filter is applied to the rows the index returns;
#   B       CREATE INDEX ... USING diskann (embedding vector_l2_ops, label):
#           label is a filter column, evaluated inside the graph walk;
# only one of A and B exists at a time, so the plan is the planner's own
# choice, for each diskann.query_search_list_size in OMENDB_BENCH_SWEEP.
# Each point gives:
#   recall@10  mean over the N queries against the exact top 10 under the
#              same filter (ftruth, computed once by exact search with
#              index scans off, kept on a reused server);
#   short      queries that returned fewer than 10 rows;
#   wrong      queries with a row that fails the filter, or a row twice;
#   unsorted   queries whose rows are not in ascending distance order;
#   QPS        pgbench, 1 client, -M prepared, a random query of 1..N per
#              transaction (the statement above with :qid);
#   plan       the EXPLAIN of the prepared statement, in short: the nodes
#              under Limit (initplans left out) with their index conditions
#              and filters.
# recall, short, wrong and unsorted come from running the same prepared
# statement for queries 1..N in one psql session.  When the planner does
# not use the vector index at a point (it may prefer the btree on label and
# a sort), the point is measured again with enable_sort = off, which leaves
# the vector index as the only plan without a sort (shape "A*" or "B*"),
# to show what the index itself would do.  A shape whose CREATE
# INDEX fails (a diskann without filter columns) is reported as such.
#
# OMENDB_BENCH_SYSTEM=pgvector runs the same against pgvector's hnsw index
# instead (shape A only, with hnsw.iterative_scan = relaxed_order and
# hnsw.ef_search taking the sweep's values); the database must have
# pgvector's vector extension available and not omendb (another database
# of the same server will do).  pgvector is not built or installed here.
#
# Environment:
#   OMENDB_BENCH_SYSTEM          omendb (default) or pgvector
#   OMENDB_BENCH_ROWS            training images (default 60000)
#   OMENDB_BENCH_QUERIES         N, test images used as queries (default 300)
#   OMENDB_BENCH_CASES           filters (default "near far 1pct")
#   OMENDB_BENCH_SHAPES          index shapes (default "A B"; pgvector: "A")
#   OMENDB_BENCH_SWEEP           diskann.query_search_list_size, or for
#                                pgvector hnsw.ef_search (default "40 100")
#   OMENDB_BENCH_SECONDS         pgbench duration per point (default 10), or
#   OMENDB_BENCH_TRANSACTIONS    pgbench transactions per point instead
#   OMENDB_BENCH_SETTINGS        more "-c name=value" for the index points
#                                (e.g. "-c diskann.iterative_scan=relaxed_order")
#   OMENDB_BENCH_FORCE           1 (default): a point whose plan does not use
#                                the vector index is measured once more with
#                                enable_sort = off (shape "A*", "B*"); 0: not
#   OMENDB_INDEX_WITH            diskann index options, "num_neighbors=64, search_list_size=100"
#   OMENDB_HNSW_WITH             hnsw index options, "m = 16, ef_construction = 64"
#   OMENDB_MAINTENANCE_WORK_MEM  for CREATE INDEX (default 2GB)
#   OMENDB_BENCH_JOBS            sessions for the ground truth (default: cores)
#   OMENDB_BENCH_RELOAD=1        reload data and ground truth on a reused server

set -euo pipefail

# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

SYSTEM=${OMENDB_BENCH_SYSTEM:-omendb}
ROWS=${OMENDB_BENCH_ROWS:-60000}
NQ=${OMENDB_BENCH_QUERIES:-300}
CASES=${OMENDB_BENCH_CASES:-near far 1pct}
SWEEP=${OMENDB_BENCH_SWEEP:-40 100}
SETTINGS=${OMENDB_BENCH_SETTINGS:-}
FORCE=${OMENDB_BENCH_FORCE:-1}
K=10
# Bump when the filters or the query set change: cached ground truth is
# then recomputed.
TRUTH_VERSION=1
LABEL_INDEX=fitems_label_idx
declare -A RESULT_LINES=()
BUILD_LINES=()

case $SYSTEM in
omendb)
	SHAPES=${OMENDB_BENCH_SHAPES:-A B}
	LIST_GUC=diskann.query_search_list_size
	;;
pgvector)
	SHAPES=${OMENDB_BENCH_SHAPES:-A}
	LIST_GUC=hnsw.ef_search
	;;
*) die "OMENDB_BENCH_SYSTEM must be omendb or pgvector" ;;
esac

# ---------------------------------------------------------------- server

# connect: the caller's server or a throw-away one, the extension of
# SYSTEM in the database, and WORKDIR for the pgbench scripts.
connect() {
	if [[ $SYSTEM == pgvector && (-n $CALLER_PGHOST || -n $CALLER_PGPORT) ]]; then
		use_caller_server ''	# pgvector's extension: created below
	else
		bench_server omendb-filtered
	fi
	if [[ -z ${WORKDIR:-} ]]; then
		# A scratch directory on a reused server too.
		TEST_USER=$(id -un)
		make_workdir omendb-filtered
	fi
	if [[ $SYSTEM == omendb ]]; then
		upsql -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS omendb"
		has_diskann || die "the diskann access method is not installed"
		return 0
	fi
	[[ $(sql1 "SELECT count(*) FROM pg_extension WHERE extname = 'omendb'") == 0 ]] ||
		die "omendb is installed in this database: use another one for pgvector (PGDATABASE)"
	[[ $(sql1 "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == 1 ]] ||
		die "pgvector's vector extension is not available on this server"
	upsql -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS vector"
	[[ $(sql1 "SELECT count(*) FROM pg_am WHERE amname = 'hnsw'") == 1 ]] ||
		die "no hnsw access method: is this pgvector's vector extension?"
	note "pgvector $(sql1 "SELECT extversion FROM pg_extension WHERE extname = 'vector'")"
}

# ---------------------------------------------------------------- data

# data_is_loaded: a reused server already has ROWS fitems and NQ fqueries.
data_is_loaded() {
	[[ ${OMENDB_BENCH_RELOAD:-0} != 1 ]] || return 1
	[[ $(sql1 "SELECT to_regclass('fitems') IS NOT NULL AND to_regclass('fqueries') IS NOT NULL") == t ]] || return 1
	# DROP EXTENSION ... CASCADE leaves the tables without their vectors.
	[[ $(sql1 "SELECT count(*) FROM pg_attribute
		WHERE attrelid IN ('fitems'::regclass, 'fqueries'::regclass)
		  AND attname IN ('embedding', 'label') AND NOT attisdropped") == 4 ]] || return 1
	[[ $(sql1 "SELECT count(*) FROM fitems") == "$ROWS" &&
		$(sql1 "SELECT count(*) FROM fqueries") == "$NQ" ]]
}

# load_data: fitems and fqueries from the dataset, with labels.
load_data() {
	local loader=$REPO_ROOT/test/fashion_mnist.pl t0
	[[ -f $FASHION_MNIST_DIR/train-labels-idx1-ubyte.gz ]] ||
		die "Fashion-MNIST not found in $FASHION_MNIST_DIR (apt-get install dataset-fashion-mnist)"
	section "load Fashion-MNIST with labels: $ROWS training images into fitems, $NQ test images into fqueries"
	t0=$(now)
	upsql <<-'EOF'
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS fitems, fqueries, ftruth, ftruth_meta, fresult CASCADE;
		CREATE TABLE fitems (id int, label int NOT NULL, embedding vector(784));
		CREATE TABLE fqueries (qid int, label int NOT NULL, other int, idmod int,
			embedding vector(784));
	EOF
	perl "$loader" --labels --set train --limit "$ROWS" |
		upsql -c "COPY fitems (id, label, embedding) FROM STDIN"
	perl "$loader" --labels --set test --limit "$NQ" |
		upsql -c "COPY fqueries (qid, label, embedding) FROM STDIN"
	upsql <<-'EOF'
		UPDATE fqueries SET other = (label + 5) % 10, idmod = qid % 10;
		ALTER TABLE fitems ADD PRIMARY KEY (id);
		ALTER TABLE fqueries ADD PRIMARY KEY (qid);
		VACUUM ANALYZE fitems;
		VACUUM ANALYZE fqueries;
	EOF
	note "loaded in $(elapsed "$t0") s"
}

# prepare_tables: the btree on label, no other index on fitems but the
# primary key, and the result table.
prepare_tables() {
	upsql <<-EOF
		SET client_min_messages = warning;
		DO \$\$
		DECLARE
			r record;
		BEGIN
			FOR r IN SELECT x.indexrelid::regclass AS idx
					FROM pg_index x
					WHERE x.indrelid = 'fitems'::regclass
					  AND NOT x.indisprimary
					  AND x.indexrelid <> coalesce(to_regclass('$LABEL_INDEX'), 0)
			LOOP
				RAISE NOTICE 'dropping index %', r.idx;
				EXECUTE format('DROP INDEX %s', r.idx);
			END LOOP;
		END \$\$;
		CREATE INDEX IF NOT EXISTS $LABEL_INDEX ON fitems (label);
		ANALYZE fitems;
		DROP TABLE IF EXISTS fresult;
		CREATE UNLOGGED TABLE fresult (pos bigint GENERATED ALWAYS AS IDENTITY,
			qid int, id int);
	EOF
}

# ---------------------------------------------------------------- queries

# case_where CASE QID: the WHERE clause of filter CASE in the benchmark
# statement, for the query QID (":qid" for pgbench, "$1" prepared).
case_where() {
	local other="(SELECT other FROM fqueries WHERE qid = $2)"
	case $1 in
	near) echo "label = (SELECT label FROM fqueries WHERE qid = $2)" ;;
	far) echo "label = $other" ;;
	1pct) echo "label = $other AND id % 10 = (SELECT idmod FROM fqueries WHERE qid = $2)" ;;
	*) die "unknown case $1 (near, far, 1pct)" ;;
	esac
}

# case_cond CASE: filter CASE on a row i of fitems for a query q of fqueries.
case_cond() {
	case $1 in
	near) echo "i.label = q.label" ;;
	far) echo "i.label = q.other" ;;
	1pct) echo "i.label = q.other AND i.id % 10 = q.idmod" ;;
	esac
}

# case_title CASE: one line for the report.
case_title() {
	case $1 in
	near) echo "near: label = the query's own class" ;;
	far) echo "far: label = (the query's class + 5) % 10" ;;
	1pct) echo "1pct: label = (the query's class + 5) % 10 AND id % 10 = qid % 10" ;;
	esac
}

# knn_sql CASE QID [COLUMNS]: the k-NN statement of filter CASE.
knn_sql() {
	echo "SELECT ${3:-id} FROM fitems WHERE $(case_where "$1" "$2")" \
		"ORDER BY embedding <-> (SELECT embedding FROM fqueries WHERE qid = $2) LIMIT $K"
}

# ---------------------------------------------------------------- ground truth

# ground_truth: ftruth (kind, qid, ids), the exact top K of every query
# under every filter, computed once (kept on a reused server while the data
# is unchanged).  Index scans are off, so a vector index could not be used
# even if one existed; bitmap scans of the btree on label are exact.
ground_truth() {
	local meta="$ROWS rows, $NQ queries, k $K, filters v$TRUTH_VERSION"
	if [[ ${DATA_RELOADED:-1} == 0 &&
		$(sql1 "SELECT to_regclass('ftruth_meta') IS NOT NULL") == t &&
		$(sql1 "SELECT count(*) FROM ftruth_meta WHERE what = '$meta'") == 1 ]]; then
		section "ground truth: reusing ftruth ($meta)"
		return 0
	fi
	local jobs j c pid pids=() failed=0 t0
	jobs=$(bench_jobs)
	section "ground truth: exact top-$K for $NQ queries and 3 filters ($jobs sessions)"
	t0=$(now)
	upsql <<-'EOF'
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS ftruth, ftruth_meta;
		CREATE TABLE ftruth (kind text, qid int, ids int[] NOT NULL,
			PRIMARY KEY (kind, qid));
	EOF
	for ((j = 0; j < jobs; j++)); do
		{
			echo "SET enable_indexscan = off;"
			echo "SET max_parallel_workers_per_gather = 0;"
			for c in near far 1pct; do
				echo "INSERT INTO ftruth (kind, qid, ids)
					SELECT '$c', q.qid,
						ARRAY(SELECT i.id FROM fitems i WHERE $(case_cond $c)
							  ORDER BY i.embedding <-> q.embedding, i.id LIMIT $K)
					FROM fqueries q WHERE q.qid % $jobs = $j;"
			done
		} | upsql &
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || failed=1
	done
	[[ $failed == 0 ]] || die "ground truth query failed"
	upsql -c "CREATE TABLE ftruth_meta AS SELECT text '$meta' AS what"
	note "computed in $(elapsed "$t0") s"
}

# ---------------------------------------------------------------- measurements

# plan_summary: EXPLAIN text on stdin to one line: the nodes under Limit,
# initplans left out, with their index conditions and filters.
plan_summary() {
	awk '
		BEGIN { skip = -1; out = "" }
		{
			match($0, /^ */); ind = RLENGTH; line = substr($0, ind + 1)
			if (skip >= 0 && ind > skip) next
			skip = -1
		}
		line ~ /^InitPlan/ { skip = ind; next }
		NR == 1 && line ~ /^Limit/ { next }
		line ~ /^->/ {
			sub(/^-> +/, "", line); sub(/ on fitems$/, "", line)
			out = out (out == "" ? "" : " > ") line; next
		}
		line ~ /^(Index Cond|Filter):/ { out = out " [" line "]" }
		END { print out }'
}

# point CASE SHAPE L OPTIONS: one measurement of filter CASE in the
# current index shape, the sessions' settings OPTIONS ("-c a=b ...");
# appends a line to RESULT_LINES[CASE].
point() {
	local c=$1 shape=$2 l=$3 opts=$4 stmt plan stats recall short wrong unsorted nrows
	stmt=$(knn_sql "$c" "\$1")
	plan=$(CLIENT_PGOPTIONS="$opts" sql1 "PREPARE fq(int) AS $stmt;
		EXPLAIN (COSTS OFF) EXECUTE fq(1)" | plan_summary)

	# The same prepared statement for queries 1..N, rows into fresult in
	# the order returned.
	upsql -c "TRUNCATE fresult RESTART IDENTITY"
	{
		echo "PREPARE fq(int) AS $(knn_sql "$c" "\$1" "\$1::int AS qid, id");"
		seq -f 'EXECUTE fq(%.0f);' 1 "$NQ"
	} | CLIENT_PGOPTIONS="$opts" upsql -At -F $'\t' |
		upsql -c "COPY fresult (qid, id) FROM STDIN"
	stats=$(sql1 "
		WITH r AS (
			SELECT f.pos, f.qid, f.id, coalesce($(case_cond "$c"), false) AS ok,
				   i.embedding <-> q.embedding AS d
			FROM fresult f JOIN fqueries q ON q.qid = f.qid
			LEFT JOIN fitems i ON i.id = f.id
		), o AS (
			SELECT r.*, lag(d) OVER (PARTITION BY qid ORDER BY pos) AS prev FROM r
		), per AS (
			SELECT t.qid, cardinality(t.ids) AS nt,
				   count(o.id) AS n,
				   count(DISTINCT o.id) FILTER (WHERE o.id = ANY (t.ids)) AS hits,
				   count(*) FILTER (WHERE NOT o.ok) AS bad,
				   count(o.id) - count(DISTINCT o.id) AS dup,
				   count(*) FILTER (WHERE o.d < o.prev * (1 - 1e-6)) AS down
			FROM ftruth t LEFT JOIN o ON o.qid = t.qid
			WHERE t.kind = '$c'
			GROUP BY t.qid, t.ids
		)
		SELECT concat_ws(' ',
			round(avg(hits::numeric / greatest(nt, 1)), 4),
			count(*) FILTER (WHERE n < $K),
			count(*) FILTER (WHERE bad > 0 OR dup > 0),
			count(*) FILTER (WHERE down > 0),
			sum(n),
			-- the first few queries of each kind of trouble, or -
			coalesce((array_agg(qid ORDER BY qid) FILTER (WHERE n < $K))[1:5]::text, '-'),
			coalesce((array_agg(qid ORDER BY qid) FILTER (WHERE bad > 0 OR dup > 0))[1:5]::text, '-'),
			coalesce((array_agg(qid ORDER BY qid) FILTER (WHERE down > 0))[1:5]::text, '-'))
		FROM per")
	read -r recall short wrong unsorted nrows short_q wrong_q unsorted_q <<<"$stats"

	# shellcheck disable=SC2046
	pgbench_tps "$opts" -M prepared -c 1 -f "$WORKDIR/filtered_$c.sql" \
		-D nqueries="$NQ" $(duration_args)
	note "$c, $shape${l:+, $LIST_GUC = $l}: recall@$K $recall, $short short," \
		"$wrong wrong, $unsorted unsorted ($nrows rows), $(fmt1 "$TPS") QPS, $LAT_MS ms"
	note "  plan: $plan"
	POINT_PLAN=$plan
	[[ $short == 0 ]] || note "  short: queries $short_q ..."
	[[ $wrong == 0 ]] ||
		note "  WARNING: $wrong queries returned rows that fail the filter or twice: $wrong_q ..."
	[[ $unsorted == 0 ]] || note "  unsorted: queries $unsorted_q ..."
	RESULT_LINES[$c]+=$(printf '%-6s %5s %9s %6s %6s %9s %9s %10s  %s' \
		"$shape" "${l:--}" "$recall" "$short" "$wrong" "$unsorted" \
		"$(fmt1 "$TPS")" "$LAT_MS" "$plan")$'\n'
}

# write_pgbench_scripts: WORKDIR/filtered_CASE.sql for every case.
write_pgbench_scripts() {
	local c
	for c in $CASES; do
		{
			echo "-- pgbench script: filtered k-NN ($c) for a random query of 1..nqueries"
			echo "\\set qid random(1, :nqueries)"
			echo "$(knn_sql "$c" :qid);"
		} >"$WORKDIR/filtered_$c.sql"
		chmod 644 "$WORKDIR/filtered_$c.sql"
	done
}

# exact_points: every case without a vector index.
exact_points() {
	local c
	section "exact: no vector index (btree on label and primary key only)"
	for c in $CASES; do
		point "$c" exact "" ""
	done
}

# shape_index SHAPE: the CREATE INDEX of SHAPE ("" when SYSTEM has none).
shape_index() {
	local with
	if [[ $SYSTEM == pgvector ]]; then
		with=${OMENDB_HNSW_WITH:+ WITH ($OMENDB_HNSW_WITH)}
		[[ $1 == A ]] && echo "CREATE INDEX fitems_embedding_hnsw_idx ON fitems USING hnsw (embedding vector_l2_ops)$with"
		return 0
	fi
	with=${OMENDB_INDEX_WITH:+ WITH ($OMENDB_INDEX_WITH)}
	case $1 in
	A) echo "CREATE INDEX fitems_embedding_idx ON fitems USING diskann (embedding vector_l2_ops)$with" ;;
	B) echo "CREATE INDEX fitems_embedding_label_idx ON fitems USING diskann (embedding vector_l2_ops, label)$with" ;;
	esac
}

# shape_points SHAPE: build SHAPE's index, the sweep for every case, drop it.
shape_points() {
	local shape=$1 create idx t0 out secs l c opts
	create=$(shape_index "$shape")
	if [[ -z $create ]]; then
		note "WARNING: no shape $shape for $SYSTEM, skipped"
		return 0
	fi
	idx=$(awk '{ print $3 }' <<<"$create")
	section "shape $shape: $create"
	start_progress_monitor
	t0=$(now)
	if ! out=$(upsql -c "SET maintenance_work_mem = '${OMENDB_MAINTENANCE_WORK_MEM:-2GB}'" \
		-c "$create" 2>&1); then
		stop_progress_monitor
		out=$(tr '\n' ' ' <<<"$out")
		note "CREATE INDEX failed: $out"
		BUILD_LINES+=("$shape: $create: FAILED: $out")
		for c in $CASES; do
			RESULT_LINES[$c]+=$(printf '%-6s  CREATE INDEX failed, not measured' "$shape")$'\n'
		done
		return 0
	fi
	secs=$(elapsed "$t0")
	stop_progress_monitor
	upsql -c "ANALYZE fitems"
	note "built in $secs s, $(sql1 "SELECT pg_size_pretty(pg_relation_size('$idx'))")"
	BUILD_LINES+=("$shape: $create: $secs s, $(sql1 "SELECT pg_size_pretty(pg_relation_size('$idx'))")")
	for l in $SWEEP; do
		if [[ $SYSTEM == pgvector ]]; then
			opts="-c hnsw.ef_search=$l -c hnsw.iterative_scan=relaxed_order $SETTINGS"
		else
			opts="-c diskann.query_search_list_size=$l $SETTINGS"
		fi
		for c in $CASES; do
			point "$c" "$shape" "$l" "$opts"
			if [[ $FORCE == 1 && $POINT_PLAN != *"Index Scan using $idx"* ]]; then
				note "  the planner did not use $idx: again with enable_sort = off"
				point "$c" "$shape*" "$l" "$opts -c enable_sort=off"
			fi
		done
	done
	upsql -c "DROP INDEX $idx"
}

report() {
	local c
	section "results: Fashion-MNIST $ROWS x 784 with labels, L2, k=$K, $NQ queries, $SYSTEM," \
		"pgbench 1 client -M prepared"
	note "btree index $LABEL_INDEX on fitems (label) in every row; L = $LIST_GUC"
	if [[ $SYSTEM == pgvector ]]; then
		note "exact: no vector index; A: hnsw on embedding, the filter applied to its rows"
	else
		note "exact: no vector index; A: diskann on embedding, the filter applied to its rows;" \
			"B: diskann on (embedding, label), label inside the graph walk"
	fi
	[[ $SYSTEM == pgvector ]] && note "hnsw.iterative_scan = relaxed_order"
	[[ $FORCE == 1 ]] && note "A*, B*: the same with enable_sort = off (the planner chose another plan)"
	[[ -n $SETTINGS ]] && note "settings: $SETTINGS"
	local b
	for b in "${BUILD_LINES[@]}"; do
		note "$b"
	done
	for c in $CASES; do
		printf '\n  %s\n' "$(case_title "$c")"
		printf '  %-6s %5s %9s %6s %6s %9s %9s %10s  %s\n' shape L "recall@$K" short wrong \
			unsorted QPS "latency ms" plan
		printf '%s' "${RESULT_LINES[$c]:-}" | sed 's/^/  /'
	done
}

main() {
	local t0 c s
	t0=$(now)
	LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
	for c in $CASES; do
		[[ $c == near || $c == far || $c == 1pct ]] ||
			die "OMENDB_BENCH_CASES: unknown case '$c' (near, far, 1pct)"
	done
	for s in $SHAPES; do
		[[ $s == A || $s == B ]] || die "OMENDB_BENCH_SHAPES: unknown shape '$s' (A, B)"
	done
	[[ $NQ -ge 1 && $NQ -le 10000 ]] || die "OMENDB_BENCH_QUERIES must be 1..10000"
	[[ $ROWS -ge 1 && $ROWS -le 60000 ]] || die "OMENDB_BENCH_ROWS must be 1..60000"
	omendb_init
	connect

	if data_is_loaded; then
		section "reusing fitems ($ROWS rows) and fqueries ($NQ)"
		DATA_RELOADED=0
	else
		load_data
		DATA_RELOADED=1
	fi
	prepare_tables
	ground_truth
	write_pgbench_scripts

	exact_points
	for s in $SHAPES; do
		shape_points "$s"
	done
	report
	note "benchmark took $(elapsed "$t0") s; load average at the start $LOAD_START, now $(cut -d' ' -f1-3 /proc/loadavg)"
}

main "$@"
