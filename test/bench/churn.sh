#!/bin/bash
#
# test/bench/churn.sh: the diskann index under changing data, on
# Fashion-MNIST (60,000 x 784, L2, k = 10): deletes, VACUUM and inserts into
# an existing index, against a freshly built one.
#
#   bash test/bench/churn.sh                  # own throw-away cluster
#   PGHOST=/tmp PGPORT=5432 bash test/bench/churn.sh   # reuse a server
#
# Without PGHOST/PGPORT it does what test/demo.sh does to get a server
# (packages, build, install, throw-away cluster as an unprivileged user,
# removed on exit).  With them it uses that server (omendb installed there,
# current user's connection settings) and keeps the training images in
# train between runs.  It (re)creates the tables train, queries, items,
# ins, churn_stage, churn_gt and load_gt and the functions knn_run and
# recall.  N rows (OMENDB_BENCH_ROWS, default 60,000) training images are
# used; the sizes below are for 60,000 and scale with N.
#
# Three parts (OMENDB_BENCH_PARTS, default "churn indexfirst inserts"):
#
#   churn       items holds the first 50,000 images, with a diskann index
#               built by CREATE INDEX.  Then each round deletes 5,000
#               random rows (seeded, so runs are comparable), inserts 5,000
#               images that are not in the table (one INSERT ... SELECT
#               from a staging table, timed) and runs VACUUM (INDEX_CLEANUP
#               on) (timed).  After the build and after each round: recall@10
#               at diskann.query_search_list_size OMENDB_CHURN_L over the
#               queries, against an exact search of the rows live then
#               (sequential scans in parallel sessions), the index size and
#               diskann_stats' live_nodes and free_slots.  After the last
#               round diskann_verify's problem count, then REINDEX and the
#               fresh index's recall (same ground truth) and size.
#   indexfirst  an empty items with the diskann index, then COPY of all N
#               images (timed: rows/s) and diskann_verify; then the same
#               rows through COPY without the index and CREATE INDEX
#               (timed).  For both indexes, recall@10 and QPS (pgbench, 1
#               client, -M prepared, test/bench/knn_l2.sql) for each
#               diskann.query_search_list_size of the sweep, side by side.
#   inserts     for 1, 2 and 4 clients in turn: ins holds the first 20,000
#               images with a diskann index built by CREATE INDEX, then
#               pgbench (-M prepared, test/bench/insert_row.sql) inserts
#               one random training image per transaction for
#               OMENDB_INSERT_SECONDS, with synchronous_commit off: TPS,
#               average latency, TPS(2 clients) / TPS(1 client), and
#               diskann_verify afterwards.
#
# The tables have autovacuum off, so that only the benchmark's VACUUMs run.
#
# OMENDB_BENCH_SYSTEM=pgvector runs the same against pgvector's hnsw index
# (default options; hnsw.ef_search takes the list sizes' values; no
# diskann_stats or diskann_verify columns), in a database with pgvector's
# vector extension and not omendb.  With OMENDB_BENCH_TSV_DIR set, the
# churn rounds and the index-first figures are also written there as TSV
# (churn_rounds.tsv, churn_indexfirst.tsv) for test/bench/suite.sh.
#
# Environment:
#   OMENDB_BENCH_SYSTEM          omendb (default) or pgvector
#   OMENDB_BENCH_TSV_DIR         directory for the TSV files (default: none)
#   OMENDB_BENCH_ROWS            N, training images used (default 60000)
#   OMENDB_BENCH_QUERIES         test images used as queries (default 100)
#   OMENDB_BENCH_PARTS           parts to run (default "churn indexfirst inserts")
#   OMENDB_INDEX_WITH            index options, "num_neighbors=64, search_list_size=100"
#   OMENDB_MAINTENANCE_WORK_MEM  for CREATE INDEX and REINDEX (default 2GB)
#   OMENDB_CHURN_BASE            rows in the churned table (default 5N/6)
#   OMENDB_CHURN_DELETE          rows deleted and inserted per round (default N/12)
#   OMENDB_CHURN_ROUNDS          rounds (default 10)
#   OMENDB_CHURN_L               diskann.query_search_list_size of the churn
#                                recall (default 20)
#   OMENDB_BENCH_SEED            seed of the rows chosen (default 1)
#   OMENDB_BENCH_SWEEP           list sizes of the indexfirst sweep (default "10 20 40 100")
#   OMENDB_BENCH_SECONDS         pgbench duration per sweep point (default 10), or
#   OMENDB_BENCH_TRANSACTIONS    pgbench transactions per sweep point instead
#   OMENDB_INSERT_BASE           rows in ins before the inserts (default N/3)
#   OMENDB_INSERT_CLIENTS        client counts (default "1 2 4")
#   OMENDB_INSERT_SECONDS        pgbench duration per client count (default 20)
#   OMENDB_BENCH_JOBS            sessions for the ground truth (default: cores)
#   OMENDB_BENCH_RELOAD=1        reload train and queries on a reused server

set -euo pipefail

# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ROWS=${OMENDB_BENCH_ROWS:-60000}
NQ=${OMENDB_BENCH_QUERIES:-100}
PARTS=${OMENDB_BENCH_PARTS:-churn indexfirst inserts}
CHURN_BASE=${OMENDB_CHURN_BASE:-$((ROWS * 5 / 6))}
CHURN_D=${OMENDB_CHURN_DELETE:-$((ROWS / 12))}
ROUNDS=${OMENDB_CHURN_ROUNDS:-10}
CHURN_L=${OMENDB_CHURN_L:-20}
SEED=${OMENDB_BENCH_SEED:-1}
SWEEP=${OMENDB_BENCH_SWEEP:-10 20 40 100}
INS_BASE=${OMENDB_INSERT_BASE:-$((ROWS / 3))}
INS_CLIENTS=${OMENDB_INSERT_CLIENTS:-1 2 4}
INS_SECONDS=${OMENDB_INSERT_SECONDS:-20}
K=10
REPORT=()
SYSTEM=${OMENDB_BENCH_SYSTEM:-omendb}
TSV_DIR=${OMENDB_BENCH_TSV_DIR:-}
case $SYSTEM in
omendb) ;;
pgvector)
	export BENCH_AM=hnsw LIST_GUC=hnsw.ef_search VECTOR_EXTENSION=vector
	;;
*) die "OMENDB_BENCH_SYSTEM must be omendb or pgvector" ;;
esac

# ---------------------------------------------------------------- helpers

# want PART: PART is in OMENDB_BENCH_PARTS.
want() { [[ " $PARTS " == *" $1 "* ]]; }

# per_second N SECONDS: N / SECONDS, no decimals.
per_second() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }

# mib RELATION: its size in MiB, one decimal.
mib() { sql1 "SELECT round(pg_relation_size('$1') / 1048576.0, 1)"; }

# timed SQL: run SQL, set SECONDS_TAKEN (3 decimals).
timed() {
	local t0
	t0=$(now)
	upsql -c "$1"
	SECONDS_TAKEN=$(elapsed "$t0" 3)
}

# tsv FILE FIELD...: append a tab-separated line to TSV_DIR/FILE (when
# OMENDB_BENCH_TSV_DIR is set).
tsv() {
	[[ -n $TSV_DIR ]] || return 0
	local file=$TSV_DIR/$1
	shift
	(IFS=$'\t'; echo "$*") >>"$file"
}

# report LINE...: lines for the final summary.
report() { REPORT+=("$@"); }

# new_items TABLE: (re)create TABLE (id, embedding), empty, autovacuum off.
new_items() {
	upsql <<-EOF
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS $1 CASCADE;
		CREATE TABLE $1 (id int, embedding vector(784)) WITH (autovacuum_enabled = off);
	EOF
}

# verify INDEX: print diskann_verify's problem count ("-" for pgvector);
# when there are any, the first ones go to stderr.
verify() {
	local n
	if [[ $SYSTEM != omendb ]]; then
		echo -
		return 0
	fi
	n=$(sql1 "SELECT count(*) FROM diskann_verify('$1')")
	if [[ $n != 0 ]]; then
		note "WARNING: diskann_verify('$1') reports $n problems, the first:" >&2
		sql1 "SELECT * FROM diskann_verify('$1') LIMIT 10" | sed 's/^/      /' >&2
	fi
	echo "$n"
}

# check_plan INDEX L: warn when the planner does not use INDEX at list
# size L (the recall would then be the exact scan's).
check_plan() {
	index_scan_used "$1" "$K" "$2" ||
		note "WARNING: the planner does not use $1 at $(list_guc) = $2"
}

# ---------------------------------------------------------------- data

# load_data: train (id, embedding) with the first ROWS training images and
# queries with the test images; kept on a reused server.
load_data() {
	if [[ ${OMENDB_BENCH_RELOAD:-0} != 1 &&
		$(sql1 "SELECT to_regclass('train') IS NOT NULL AND to_regclass('queries') IS NOT NULL") == t &&
		$(sql1 "SELECT count(*) FROM train") == "$ROWS" ]]; then
		section "reusing train ($ROWS rows) and queries"
		return 0
	fi
	upsql -c "SET client_min_messages = warning; DROP TABLE IF EXISTS train CASCADE"
	load_fashion_mnist "$ROWS"
	upsql <<-'EOF'
		ALTER TABLE items RENAME TO train;
		ALTER INDEX items_pkey RENAME TO train_pkey;
	EOF
	note "items renamed to train: the images the benchmark tables draw from"
}

# ---------------------------------------------------------------- churn

# churn_state ROUND INSERT_RATE VACUUM_S: ground truth of the live rows,
# recall at CHURN_L, size and node counts of the churned index, one row of
# the churn table.
churn_state() {
	local t0 recall size stats live free deleted rows line
	t0=$(now)
	exact_topk churn_gt "$NQ" "$K"
	check_plan items_churn_idx "$CHURN_L"
	recall=$(recall_at "$CHURN_L" churn_gt "$NQ" "$K")
	size=$(mib items_churn_idx)
	stats="-|-|-"
	[[ $SYSTEM == omendb ]] &&
		stats=$(sql1 "SELECT live_nodes, free_slots, deleted_nodes FROM diskann_stats('items_churn_idx')")
	IFS='|' read -r live free deleted <<<"$stats"
	rows=$(sql1 "SELECT count(*) FROM items")
	line=$(printf '%7s %8s %10s %10s %9s %14s %11s %11s %8s' "$1" "$rows" "$recall" \
		"$size" "$3" "$2" "$live" "$free" "$deleted")
	printf '  %s\n' "$line"
	CHURN_LINES+=("$line")
	tsv churn_rounds.tsv "$1" "$rows" "$recall" "$size" "$3" "$2"
	CHURN_RECALL=$recall
	CHURN_MIB=$size
	note "(ground truth and recall took $(elapsed "$t0") s)"
}

churn() {
	[[ $CHURN_D -ge 1 && $CHURN_BASE -ge $CHURN_D && $((ROWS - CHURN_BASE)) -ge $CHURN_D ]] ||
		die "churn needs 1 <= OMENDB_CHURN_DELETE ($CHURN_D) <= OMENDB_CHURN_BASE ($CHURN_BASE) and <= rows not in the table ($((ROWS - CHURN_BASE)))"
	section "churn: $CHURN_BASE rows, CREATE INDEX, then $ROUNDS rounds of $CHURN_D deletes, $CHURN_D inserts, VACUUM"
	new_items items
	upsql <<-EOF
		INSERT INTO items SELECT id, embedding FROM train WHERE id <= $CHURN_BASE;
		VACUUM ANALYZE items;
	EOF
	create_diskann items_churn_idx items
	note "index built in $BUILD_S s: $(mib items_churn_idx) MiB"
	CHURN_LINES=()
	local header
	header=$(printf '%7s %8s %10s %10s %9s %14s %11s %11s %8s' round rows "recall@$K" \
		"index MiB" "vacuum s" "insert rows/s" live_nodes free_slots deleted)
	printf '  %s\n' "$header"
	churn_state 0 - -
	local r rate vacuum_s
	for ((r = 1; r <= ROUNDS; r++)); do
		# Rows to insert: images not in the table at the start of the round.
		upsql <<-EOF
			SET client_min_messages = warning;
			DROP TABLE IF EXISTS churn_stage;
			CREATE TABLE churn_stage AS
			SELECT t.id, t.embedding FROM train t
			WHERE NOT EXISTS (SELECT 1 FROM items i WHERE i.id = t.id)
			ORDER BY md5(concat($SEED, ':', $r, ':insert:', t.id))
			LIMIT $CHURN_D;
			DELETE FROM items WHERE id IN (
				SELECT id FROM items
				ORDER BY md5(concat($SEED, ':', $r, ':delete:', id))
				LIMIT $CHURN_D);
		EOF
		timed "INSERT INTO items (id, embedding) SELECT id, embedding FROM churn_stage"
		rate=$(per_second "$CHURN_D" "$SECONDS_TAKEN")
		timed "VACUUM (INDEX_CLEANUP on) items"
		vacuum_s=$(fmt1 "$SECONDS_TAKEN")
		churn_state "$r" "$rate" "$vacuum_s"
	done
	local problems churned_recall churned_mib fresh_recall fresh_mib
	problems=$(verify items_churn_idx)
	note "diskann_verify after $ROUNDS rounds: $problems problems"
	churned_recall=$CHURN_RECALL
	churned_mib=$CHURN_MIB

	section "churn: REINDEX of the churned index"
	local t0 reindex_s
	t0=$(now)
	upsql <<-EOF
		SET maintenance_work_mem = '${OMENDB_MAINTENANCE_WORK_MEM:-2GB}';
		REINDEX INDEX items_churn_idx;
	EOF
	reindex_s=$(elapsed "$t0")
	check_plan items_churn_idx "$CHURN_L"
	fresh_recall=$(recall_at "$CHURN_L" churn_gt "$NQ" "$K")
	fresh_mib=$(mib items_churn_idx)
	note "REINDEX $reindex_s s: recall@$K $fresh_recall, $fresh_mib MiB"
	tsv churn_summary.tsv "$problems" "$churned_recall" "$churned_mib" "$reindex_s" \
		"$fresh_recall" "$fresh_mib"

	report "churn: $CHURN_BASE rows, bulk-built index (${OMENDB_INDEX_WITH:-default options}), $ROUNDS rounds of" \
		"  $CHURN_D deletes + $CHURN_D inserts + VACUUM (INDEX_CLEANUP on); recall@$K at L = $CHURN_L over $NQ queries" \
		"" "  $header"
	report "${CHURN_LINES[@]/#/  }"
	report "" \
		"  $(printf '%-28s %s' "diskann_verify" "$problems problems after round $ROUNDS")" \
		"  $(printf '%-28s %s' "churned (round $ROUNDS)" "recall@$K $churned_recall, $churned_mib MiB")" \
		"  $(printf '%-28s %s' "after REINDEX ($reindex_s s)" "recall@$K $fresh_recall, $fresh_mib MiB")" \
		"  $(printf '%-28s %s' "churned - fresh recall" "$(awk -v a="$churned_recall" -v b="$fresh_recall" 'BEGIN { printf "%+.4f", a - b }')")" \
		"  $(printf '%-28s %s' "size churned / fresh" "$(awk -v a="$churned_mib" -v b="$fresh_mib" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "-" }')")"
}

# ---------------------------------------------------------------- index-first

# sweep_into INDEX: sweep_point for each list size; SWEEP_OUT[L] holds
# "recall QPS latency plan".
sweep_into() {
	local l
	SWEEP_OUT=()
	for l in $SWEEP; do
		sweep_point "$1" "$l" load_gt "$NQ" "$K"
		note "L = $l: recall@$K $POINT_RECALL, $(fmt1 "$TPS") QPS, $LAT_MS ms"
		SWEEP_OUT[l]="$POINT_RECALL $(fmt1 "$TPS") $LAT_MS $POINT_PLAN"
	done
}

indexfirst() {
	local dump=$WORKDIR/train.copy t0 copy_s rate problems if_mib
	section "index-first: empty table with the vector index, COPY of $ROWS rows"
	upsql -c "COPY (SELECT id, embedding FROM train ORDER BY id) TO STDOUT" >"$dump"
	new_items items
	create_diskann items_indexfirst_idx items
	t0=$(now)
	upsql -c "COPY items (id, embedding) FROM STDIN" <"$dump"
	copy_s=$(elapsed "$t0" 3)
	rate=$(per_second "$ROWS" "$copy_s")
	upsql -c "ANALYZE items"
	if_mib=$(mib items_indexfirst_idx)
	note "COPY $(fmt1 "$copy_s") s, $rate rows/s; index $if_mib MiB"
	[[ $SYSTEM == omendb ]] &&
		note "diskann_stats: $(sql1 "SELECT format('%s nodes, %s live, %s free slots, average out-degree %s',
			nodes, live_nodes, free_slots, round(avg_out_degree::numeric, 1)) FROM diskann_stats('items_indexfirst_idx')")"
	problems=$(verify items_indexfirst_idx)
	note "diskann_verify: $problems problems"

	section "index-first: ground truth, exact top-$K for $NQ queries ($(bench_jobs) sessions)"
	t0=$(now)
	exact_topk load_gt "$NQ" "$K"
	note "computed in $(elapsed "$t0") s"

	section "index-first: sweep of $(list_guc) on the index-first index"
	sweep_into items_indexfirst_idx
	local -a if_out=()
	local l
	for l in $SWEEP; do if_out[l]=${SWEEP_OUT[l]}; done

	section "bulk: the same rows through COPY without the index, then CREATE INDEX"
	local bulk_copy_s bulk_mib
	upsql -c "DROP INDEX items_indexfirst_idx; TRUNCATE items"
	t0=$(now)
	upsql -c "COPY items (id, embedding) FROM STDIN" <"$dump"
	bulk_copy_s=$(elapsed "$t0")
	rm -f "$dump"
	create_diskann items_bulk_idx items
	upsql -c "ANALYZE items"
	bulk_mib=$(mib items_bulk_idx)
	note "COPY $bulk_copy_s s, CREATE INDEX $BUILD_S s; index $bulk_mib MiB"

	section "bulk: sweep of $(list_guc) on the bulk-built index"
	sweep_into items_bulk_idx

	local per_point="${OMENDB_BENCH_SECONDS:-10} s"
	[[ -n ${OMENDB_BENCH_TRANSACTIONS:-} ]] && per_point="$OMENDB_BENCH_TRANSACTIONS transactions"
	report "index-first load: $ROWS rows (${OMENDB_INDEX_WITH:-default options}); recall@$K over $NQ queries," \
		"  QPS with pgbench (1 client, -M prepared, $per_point per point)" "" \
		"  $(printf '%-30s %s' "index-first COPY" "$(fmt1 "$copy_s") s, $rate rows/s; index $if_mib MiB; diskann_verify $problems problems")" \
		"  $(printf '%-30s %s' "bulk COPY + CREATE INDEX" "$bulk_copy_s s + $BUILD_S s = $(awk -v a="$bulk_copy_s" -v b="$BUILD_S" 'BEGIN { printf "%.1f", a + b }') s; index $bulk_mib MiB")" "" \
		"  $(printf '%6s | %-32s | %s' "" "index-first (COPY into the index)" "bulk-built (CREATE INDEX)")" \
		"  $(printf '%6s | %10s %9s %11s | %10s %9s %11s' L "recall@$K" QPS "latency ms" "recall@$K" QPS "latency ms")"
	tsv churn_indexfirst.tsv "$ROWS" "$copy_s" "$rate" "$if_mib" "$problems" "$bulk_copy_s" \
		"$BUILD_S" "$bulk_mib"
	local a_rec a_qps a_lat a_plan b_rec b_qps b_lat b_plan flag
	for l in $SWEEP; do
		read -r a_rec a_qps a_lat a_plan <<<"${if_out[l]}"
		read -r b_rec b_qps b_lat b_plan <<<"${SWEEP_OUT[l]}"
		tsv churn_indexfirst_sweep.tsv "$l" "$a_rec" "$a_qps" "$b_rec" "$b_qps"
		flag=""
		[[ $a_plan == index && $b_plan == index ]] || flag="  (planner did not use an index)"
		report "  $(printf '%6s | %10s %9s %11s | %10s %9s %11s' "$l" "$a_rec" "$a_qps" "$a_lat" \
			"$b_rec" "$b_qps" "$b_lat")$flag"
	done
}

# ---------------------------------------------------------------- inserts

inserts() {
	local c lines=() tps1="" tps2="" added problems
	for c in $INS_CLIENTS; do
		section "concurrent inserts: pgbench -c $c for $INS_SECONDS s into $INS_BASE rows with a vector index"
		upsql <<-EOF
			SET client_min_messages = warning;
			DROP TABLE IF EXISTS ins;
			CREATE TABLE ins (id bigint GENERATED BY DEFAULT AS IDENTITY, embedding vector(784))
				WITH (autovacuum_enabled = off);
			INSERT INTO ins (embedding) SELECT embedding FROM train WHERE id <= $INS_BASE ORDER BY id;
			VACUUM ANALYZE ins;
		EOF
		create_diskann ins_embedding_idx ins
		note "index built in $BUILD_S s"
		pgbench_tps "-c synchronous_commit=off" -M prepared -c "$c" -j "$c" -T "$INS_SECONDS" \
			-f "$BENCH_DIR/insert_row.sql" -D nrows="$ROWS"
		added=$(sql1 "SELECT count(*) - $INS_BASE FROM ins")
		problems=$(verify ins_embedding_idx)
		note "$(fmt1 "$TPS") TPS, $LAT_MS ms average latency, $added rows added; diskann_verify $problems problems"
		lines+=("  $(printf '%8s %10s %12s %11s %15s' "$c" "$(fmt1 "$TPS")" "$LAT_MS" "$added" "$problems")")
		[[ $c == 1 ]] && tps1=$TPS
		[[ $c == 2 ]] && tps2=$TPS
	done
	report "concurrent inserts: one row per transaction into $INS_BASE rows with a bulk-built index," \
		"  pgbench -M prepared, $INS_SECONDS s per client count, synchronous_commit off" "" \
		"  $(printf '%8s %10s %12s %11s %15s' clients TPS "latency ms" "rows added" "verify problems")" \
		"${lines[@]}"
	if [[ -n $tps1 && -n $tps2 ]]; then
		report "" "  $(printf '%-22s %s' "TPS(2) / TPS(1)" "$(awk -v a="$tps2" -v b="$tps1" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')")"
	fi
}

# ---------------------------------------------------------------- main

main() {
	local t0 part
	t0=$(now)
	for part in $PARTS; do
		[[ $part == churn || $part == indexfirst || $part == inserts ]] ||
			die "OMENDB_BENCH_PARTS: unknown part '$part' (churn, indexfirst, inserts)"
	done
	[[ $NQ -ge 1 && $NQ -le 10000 ]] || die "OMENDB_BENCH_QUERIES must be 1..10000"
	[[ $ROWS -ge 1 && $ROWS -le 60000 ]] || die "OMENDB_BENCH_ROWS must be 1..60000"
	omendb_init
	bench_server omendb-churn
	if [[ -z ${WORKDIR:-} ]]; then
		# A scratch directory on a reused server too.
		TEST_USER=$(id -un)
		make_workdir omendb-churn
	fi
	load_data
	[[ $SYSTEM != omendb ]] || has_diskann || die "the diskann access method is not installed"
	create_knn_helpers

	want churn && churn
	want indexfirst && indexfirst
	want inserts && inserts

	section "results: Fashion-MNIST, $ROWS training images x 784, L2, k=$K ($(elapsed "$t0") s in all)"
	local line
	for line in "${REPORT[@]}"; do
		if [[ -z $line ]]; then
			echo
		elif [[ $line != " "* ]]; then
			printf '\n  %s\n' "$line"
		else
			printf '  %s\n' "$line"
		fi
	done
}

main "$@"
