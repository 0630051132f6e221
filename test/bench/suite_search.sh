# shellcheck shell=bash
# test/bench/suite_search.sh: the search stages of test/bench/suite.sh
# (sourced by it) and the datasets they load.
#
#   fmnist   Fashion-MNIST, 60,000 x 784 (quick: 10,000), 1,000 queries
#   million  1,000,000 x 128 from test/bench/gen_mixture.c (quick: 20,000)
#            with 1,000 held-apart queries
#   lowmem   CREATE INDEX of the million set at maintenance_work_mem 64MB
#            (quick: 1MB), beside the in-memory build of the million stage
#
# For each system, fmnist and million measure the table size, the exact
# scan's QPS (pgbench, index disabled), CREATE INDEX time and size, and for
# each point of a sweep of the search list size (diskann's
# query_search_list_size, hnsw's ef_search) recall@10 over the queries and
# QPS with pgbench (1 client, -M prepared, test/bench/knn_l2.sql).

# ---------------------------------------------------------------- data

# ensure_fmnist [nogt]: items and queries hold Fashion-MNIST in the
# current database (reused when already there), gt the exact top-K (unless
# nogt).  Sets ROWS_FMNIST and NQ_FMNIST.
ensure_fmnist() {
	ROWS_FMNIST=60000 NQ_FMNIST=1000
	[[ $QUICK == 1 ]] && ROWS_FMNIST=10000 NQ_FMNIST=100
	if ! table_has items "$ROWS_FMNIST" 784; then
		progress "loading Fashion-MNIST ($ROWS_FMNIST rows)"
		load_fashion_mnist "$ROWS_FMNIST" >/dev/null
	fi
	[[ ${1:-} == nogt ]] && return 0
	cache_ground_truth "fmnist_gt_${ROWS_FMNIST}_${NQ_FMNIST}_k$K.tsv" "$NQ_FMNIST"
}

# table_has TABLE ROWS DIM: TABLE exists with ROWS rows of DIM-dimensional
# vectors (and queries exists too).
table_has() {
	[[ $(sql1 "SELECT to_regclass('$1') IS NOT NULL AND to_regclass('queries') IS NOT NULL") == t ]] ||
		return 1
	[[ $(sql1 "SELECT count(*) || ':' || coalesce(max(vector_dims(embedding)), 0) FROM $1") == "$2:$3" ]]
}

# mixture_files ROWS NQ: generate (once, into the cache) ROWS base vectors,
# NQ queries and their exact top-K with test/bench/gen_mixture.c; sets
# MIX_BASE, MIX_QUERIES, MIX_GT.
mixture_files() {
	local gen prefix src=$REPO_ROOT/test/bench/gen_mixture.c
	gen=$(cached gen_mixture)
	if [[ ! -x $gen || $src -nt $gen ]]; then
		cc -O2 -march=native -Wall -Wextra -o "$gen" "$src" -lm -lpthread ||
			die "cannot build $src"
	fi
	prefix=$(cached "mixture_${1}_q${2}_s42")
	MIX_BASE=$prefix.base.bin MIX_QUERIES=$prefix.queries.bin MIX_GT=$prefix.gt$K.tsv
	[[ -s $MIX_BASE && -s $MIX_QUERIES && -s $MIX_GT ]] && return 0
	progress "generating $1 x 128 vectors, $2 queries and their ground truth (cached in $CACHE)"
	"$gen" --rows "$1" --queries "$2" --seed 42 --k "$K" --base "$MIX_BASE.tmp" \
		--queries-out "$MIX_QUERIES.tmp" --gt "$MIX_GT.tmp" 2>&1 |
		sed 's/^/      /' || die "gen_mixture failed"
	mv "$MIX_BASE.tmp" "$MIX_BASE"
	mv "$MIX_QUERIES.tmp" "$MIX_QUERIES"
	mv "$MIX_GT.tmp" "$MIX_GT"
}

# ensure_million: items and queries hold the generated mixture in the
# current database (reused when already there), gt its exact top-K.  Sets
# ROWS_MILLION and NQ_MILLION.
ensure_million() {
	ROWS_MILLION=1000000 NQ_MILLION=1000
	[[ $QUICK == 1 ]] && ROWS_MILLION=20000 NQ_MILLION=100
	mixture_files "$ROWS_MILLION" "$NQ_MILLION"
	if ! table_has items "$ROWS_MILLION" 128; then
		local t0
		t0=$(now)
		progress "loading $ROWS_MILLION x 128 vectors"
		upsql <<-EOF
			SET client_min_messages = warning;
			DROP TABLE IF EXISTS items, queries, gt CASCADE;
			CREATE TABLE items (id int, embedding vector(128));
			CREATE TABLE queries (id int, embedding vector(128));
		EOF
		upsql -c "COPY items FROM STDIN (FORMAT binary)" <"$MIX_BASE"
		upsql -c "COPY queries FROM STDIN (FORMAT binary)" <"$MIX_QUERIES"
		finish_items_queries
		progress "loaded in $(elapsed "$t0") s"
	fi
	load_ground_truth "$MIX_GT"
}

# drop_vector_indexes: drop every index on items but its primary key.
drop_vector_indexes() {
	local idx
	for idx in $(sql1 "SELECT indexrelid::regclass FROM pg_index
		WHERE indrelid = 'items'::regclass AND NOT indisprimary"); do
		upsql -c "DROP INDEX $idx"
	done
}

# ---------------------------------------------------------------- measuring

# search_stage STAGE DATASET TITLE SWEEP: the measurements of the file's
# header for each system on DATASET (ensure_DATASET loads it), on
# Fashion-MNIST also for omendb's plain storage (system omendb-plain; omendb
# is the default, compressed storage); data files STAGE_sweep, STAGE_exact,
# STAGE_build; the report's tables and plot.
search_stage() {
	local stage=$1 dataset=$2 title=$3 sweep=$4 sys
	local sweep_tsv exact_tsv build_tsv
	sweep_tsv=$(data_file "${stage}_sweep")
	exact_tsv=$(data_file "${stage}_exact")
	build_tsv=$(data_file "${stage}_build")
	printf 'system\tL\trecall\tqps\tlatency_ms\n' >"$sweep_tsv"
	printf 'system\tqps\n' >"$exact_tsv"
	printf 'system\trows\tbuild_s\tindex_mb\ttable_mb\texact_qps\n' >"$build_tsv"
	for sys in "${SYSTEMS[@]}"; do
		use_db "$sys" "$dataset"
		"ensure_$dataset"
		search_system "$sys" "$sweep" "$sweep_tsv" "$exact_tsv" "$build_tsv" ""
		# omendb's other storage, on the same data (the storage column)
		if [[ $sys == omendb && $stage == fmnist && -z ${OMENDB_INDEX_WITH:-} ]]; then
			OMENDB_INDEX_WITH="storage = plain" \
				search_system omendb-plain "$sweep" "$sweep_tsv" "$exact_tsv" "$build_tsv" "$EXACT_QPS"
		fi
	done
	search_report "$stage" "$title" "$sweep_tsv" "$exact_tsv" "$build_tsv" "$(sql1 "SELECT count(*) FROM gt")"
}

# search_system LABEL SWEEP SWEEP_TSV EXACT_TSV BUILD_TSV [EXACT_QPS]: in
# the current database, the exact scan's QPS (measured unless given), the
# index build and the sweep, as rows labelled LABEL; sets EXACT_QPS.
search_system() {
	local sys=$1 sweep=$2 sweep_tsv=$3 exact_tsv=$4 build_tsv=$5 rows nq l
	rows=$(sql1 "SELECT count(*) FROM items")
	nq=$(sql1 "SELECT count(*) FROM gt")
	create_knn_helpers
	drop_vector_indexes

	EXACT_QPS=$6
	if [[ -z $EXACT_QPS ]]; then
		progress "$sys: exact scan (index disabled)"
		knn_pgbench "$nq" "-c enable_indexscan=off -c enable_bitmapscan=off" -t "$(exact_queries)"
		EXACT_QPS=$TPS
	fi
	printf '%s\t%s\n' "$sys" "$EXACT_QPS" >>"$exact_tsv"

	progress "$sys: CREATE INDEX USING $AM ${OMENDB_INDEX_WITH:+WITH ($OMENDB_INDEX_WITH) }, maintenance_work_mem 2GB"
	create_diskann items_vec_idx items 2GB
	upsql -c "ANALYZE items"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$sys" "$rows" "$BUILD_S" "$(relation_mb items_vec_idx)" \
		"$(sql1 "SELECT round(pg_table_size('items') / 1048576.0, 1)")" "$EXACT_QPS" >>"$build_tsv"
	progress "$sys: built in $BUILD_S s, $(relation_mb items_vec_idx) MB"

	for l in $sweep; do
		sweep_point items_vec_idx "$l" gt "$nq" "$K"
		[[ $POINT_PLAN == index ]] || die "$sys: the planner does not use the index at $LIST_GUC = $l"
		printf '%s\t%s\t%s\t%s\t%s\n' "$sys" "$l" "$POINT_RECALL" "$(fmt1 "$TPS")" "$LAT_MS" >>"$sweep_tsv"
		progress "$sys: $LIST_GUC = $l: recall@$K $POINT_RECALL, $(fmt1 "$TPS") QPS"
	done
}

exact_queries() { if [[ $QUICK == 1 ]]; then echo 10; else echo 50; fi; }

# best_qps TSV SYSTEM MIN_RECALL: the highest QPS of SYSTEM's sweep points
# with recall at least MIN_RECALL ("-" if none).
best_qps() {
	awk -F'\t' -v s="$2" -v r="$3" 'NR > 1 && $1 == s && $3 >= r && $4 > best { best = $4 }
		END { if (best > 0) print best; else print "-" }' "$1"
}

# search_report STAGE TITLE SWEEP_TSV EXACT_TSV BUILD_TSV NQ: the stage's
# part of the report.
search_report() {
	local stage=$1 title=$2 sweep_tsv=$3 exact_tsv=$4 build_tsv=$5 nq=$6
	local sys rows build index table exact
	md "## $title" "" \
		"L2, k = $K, $nq queries; QPS: pgbench, 1 client, \`-M prepared\`, $(knn_seconds) s per point;" \
		"index built with \`maintenance_work_mem = 2GB\` (omendb: ${OMENDB_INDEX_WITH:-default options, compressed storage}; omendb-plain: \`storage = plain\`; pgvector: hnsw defaults)."
	md_table system rows "CREATE INDEX s" "index MB" "table MB" "exact scan QPS"
	while IFS=$'\t' read -r sys rows build index table exact; do
		[[ $sys == system ]] && continue
		md_row "$sys" "$rows" "$build" "$index" "$table" "$(fmt1 "$exact")"
	done <"$build_tsv"
	md_table system "list size" "recall@$K" QPS "latency ms" "QPS / exact scan"
	local l recall qps lat
	while IFS=$'\t' read -r sys l recall qps lat; do
		[[ $sys == system ]] && continue
		exact=$(awk -F'\t' -v s="$sys" '$1 == s { print $2 }' "$exact_tsv")
		md_row "$sys" "$l" "$recall" "$qps" "$lat" "$(ratio "$qps" "$exact")"
	done <"$sweep_tsv"
	compare_lines "$sweep_tsv" "$build_tsv"
	plain_line "$sweep_tsv" "$build_tsv"
	plot_recall_qps "$OUT_DIR/${stage}_recall_qps.png" "$title: recall@$K against QPS" \
		"$sweep_tsv" "$exact_tsv"
	md_image "${stage}_recall_qps.png" "$title: recall against QPS"
}

# compare_lines SWEEP_TSV BUILD_TSV: with two systems, the ratios
# omendb / other at equal recall, and of build time and index size.
compare_lines() {
	[[ ${#SYSTEMS[@]} -ge 2 ]] || return 0
	local other=${SYSTEMS[1]} r a b line=()
	for r in 0.9 0.95 0.99; do
		a=$(best_qps "$1" omendb "$r")
		b=$(best_qps "$1" "$other" "$r")
		line+=("QPS at recall >= $r: $a / $b = $(ratio_or_dash "$a" "$b")x")
	done
	a=$(awk -F'\t' '$1 == "omendb" { print $3, $4 }' "$2")
	b=$(awk -F'\t' -v s="$other" '$1 == s { print $3, $4 }' "$2")
	line+=("CREATE INDEX time: $(ratio_or_dash "${a% *}" "${b% *}")x" \
		"index size: $(ratio_or_dash "${a#* }" "${b#* }")x")
	md "" "omendb / $other, same run: $(IFS=';'; echo "${line[*]}" | sed 's/;/; /g')."
}

# plain_line SWEEP_TSV BUILD_TSV: omendb's compressed storage against its
# plain storage, when both were measured.
plain_line() {
	grep -q '^omendb-plain	' "$2" || return 0
	local r a b line=()
	for r in 0.95 0.99; do
		a=$(best_qps "$1" omendb "$r")
		b=$(best_qps "$1" omendb-plain "$r")
		line+=("QPS at recall >= $r: $a / $b = $(ratio_or_dash "$a" "$b")x")
	done
	a=$(awk -F'\t' '$1 == "omendb" { print $3, $4 }' "$2")
	b=$(awk -F'\t' '$1 == "omendb-plain" { print $3, $4 }' "$2")
	line+=("CREATE INDEX time: $(ratio_or_dash "${a% *}" "${b% *}")x" \
		"index size: $(ratio_or_dash "${a#* }" "${b#* }")x")
	md "" "omendb compressed / plain storage, same run: $(IFS=';'; echo "${line[*]}" | sed 's/;/; /g')."
}

# ratio_or_dash A B: A / B to two decimals, "-" when either is missing.
ratio_or_dash() {
	awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'
}

# knn_seconds: pgbench seconds per sweep point.
knn_seconds() { echo "${OMENDB_BENCH_SECONDS:-$([[ $QUICK == 1 ]] && echo 2 || echo 10)}"; }

# ---------------------------------------------------------------- stages

stage_fmnist() {
	local sweep="10 20 40 60 80 100 150 200"
	[[ $QUICK == 1 ]] && sweep="10 40 100"
	OMENDB_BENCH_SECONDS=$(knn_seconds) \
		search_stage fmnist fmnist "Fashion-MNIST ($([[ $QUICK == 1 ]] && echo 10,000 || echo 60,000) x 784)" "$sweep"
}

stage_million() {
	# up to 400: pgvector's hnsw at its defaults reaches recall 0.95 here
	# only past ef_search 200 (0.9404 there)
	local sweep="10 20 40 60 100 150 200 300 400"
	[[ $QUICK == 1 ]] && sweep="10 40 100"
	OMENDB_BENCH_SECONDS=$(knn_seconds) \
		search_stage million million "Embedding-like mixture ($([[ $QUICK == 1 ]] && echo 20,000 || echo 1,000,000) x 128)" "$sweep"
}

# stage_lowmem: CREATE INDEX of the million set at a small
# maintenance_work_mem, time, size and recall at one list size, beside the
# in-memory build of the million stage when it ran.
stage_lowmem() {
	local mem=64MB sys tsv l=40 recall
	[[ $QUICK == 1 ]] && mem=1MB
	tsv=$(data_file lowmem_build)
	printf 'system\tmem\tbuild_s\tindex_mb\trecall\n' >"$tsv"
	for sys in "${SYSTEMS[@]}"; do
		use_db "$sys" million
		ensure_million
		create_knn_helpers
		drop_vector_indexes
		progress "$sys: CREATE INDEX USING $AM, maintenance_work_mem $mem"
		create_diskann items_lowmem_idx items "$mem" 2>"$WORKDIR/lowmem.err" ||
			die "$(cat "$WORKDIR/lowmem.err")"
		[[ $sys == omendb ]] && LOWMEM_NEED=$(memory_needed "$WORKDIR/lowmem.err" "$mem" "$ROWS_MILLION")
		upsql -c "ANALYZE items"
		recall=$(recall_at "$l" gt "$NQ_MILLION" "$K")
		printf '%s\t%s\t%s\t%s\t%s\n' "$sys" "$mem" "$BUILD_S" "$(relation_mb items_lowmem_idx)" \
			"$recall" >>"$tsv"
		progress "$sys: built in $BUILD_S s at $mem, recall@$K $recall at $LIST_GUC = $l"
		drop_vector_indexes
	done
	lowmem_report "$tsv" "$l"
}

# memory_needed ERRFILE MEM ROWS: from omendb's NOTICE in ERRFILE ("no
# longer fits into maintenance_work_mem after N tuples"), about how much
# maintenance_work_mem an in-memory build of ROWS rows needs, in MB
# ("-" without the NOTICE).
memory_needed() {
	local fit mb
	fit=$(sed -n 's/.*no longer fits into maintenance_work_mem after \([0-9]*\) tuples.*/\1/p' "$1" | head -n 1)
	mb=$(sql1 "SELECT pg_size_bytes('$2') / 1048576.0")
	awk -v f="${fit:-0}" -v m="$mb" -v r="$3" 'BEGIN { if (f > 0) printf "%.0f", m * r / f; else print "-" }'
}

# lowmem_report TSV L: the lowmem stage's part of the report.
lowmem_report() {
	local sys mem build index recall inmem setting=""
	LOWMEM_NEED=${LOWMEM_NEED:-}
	md "## CREATE INDEX with little memory" "" \
		"The embedding-like set ($ROWS_MILLION x 128) built at a small \`maintenance_work_mem\`; recall@$K at list size $2" \
		"(diskann.query_search_list_size / hnsw.ef_search).  In-memory build time from the million stage of this run, if it ran."
	md_table system maintenance_work_mem "CREATE INDEX s" "index MB" "recall@$K" "in-memory build s"
	while IFS=$'\t' read -r sys mem build index recall; do
		[[ $sys == system ]] && continue
		inmem=-
		[[ -f $OUT_DIR/data/million_build.tsv ]] &&
			inmem=$(awk -F'\t' -v s="$sys" -v r="$ROWS_MILLION" '$1 == s && $2 == r { print $3 }' \
				"$OUT_DIR/data/million_build.tsv")
		md_row "$sys" "$mem" "$build" "$index" "$recall" "${inmem:--}"
		setting=$mem
	done <"$1"
	if [[ ${#SYSTEMS[@]} -ge 2 ]]; then
		local a b
		a=$(awk -F'\t' '$1 == "omendb" { print $3 }' "$1")
		b=$(awk -F'\t' -v s="${SYSTEMS[1]}" '$1 == s { print $3 }' "$1")
		md "" "omendb / ${SYSTEMS[1]} build time at this setting: $(ratio_or_dash "$a" "$b")x."
	fi
	md "" "omendb's in-memory build of these $ROWS_MILLION rows needs \`maintenance_work_mem\` of about" \
		"${LOWMEM_NEED:--} MB (from the rows that fitted into $setting before the build went to disk)."
	return 0
}
