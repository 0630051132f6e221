# shellcheck shell=bash
# test/bench/suite_workloads.sh: the write and concurrency stages of
# test/bench/suite.sh (sourced by it).
#
#   pgbench  Fashion-MNIST, 60,000 x 784 (quick: 10,000), with the system's
#            index built by CREATE INDEX.  Three pgbench workloads, each at
#            1, 2 and 4 clients (-c N -j N, -M prepared) for
#            OMENDB_BENCH_SECONDS (default 20, quick 3) per run:
#              knn     test/bench/knn_l2.sql, one k-NN query (k = 10) for a
#                      random query vector, at the system's default search
#                      list size
#              insert  test/bench/insert_item.sql, one single-row INSERT of
#                      a random query vector, ids from a sequence above
#                      the table's, synchronous_commit off
#              mixed   90% knn_l2.sql, 8% insert_item.sql, 2%
#                      delete_item.sql (one existing row), synchronous_commit
#                      off, with "VACUUM items" in a loop beside it
#            TPS, and latency percentiles p50/p95/p99 from pgbench's
#            per-transaction logs.  Before each run with writes the table
#            is put back as it was (rows the runs added deleted, rows they
#            deleted inserted again from a copy, VACUUM), the index kept;
#            after each, diskann_verify's problem count (omendb).
#   curve    time per 1,000 single-row inserts (pgbench -t, 1 client,
#            synchronous_commit off, test/bench/curve_insert.sql) into a
#            table of the first N rows of the million set, with an index,
#            for N = 25,000 .. 1,000,000 (quick: 2,000 .. 20,000, 200
#            inserts each).  The first size gets its index by CREATE INDEX;
#            each next size is reached by INSERT ... SELECT of the next rows
#            into the indexed table when that adds at most
#            OMENDB_CURVE_GROW_ROWS rows (default 100,000), else by a fresh
#            CREATE INDEX over the grown table (growing the index to
#            1,000,000 rows by inserts takes 16 to 23 minutes on a 2-core
#            machine, beyond the stage's budget); both are timed, in rows
#            per second.  diskann_verify after each size (omendb).

# ---------------------------------------------------------------- helpers

# bench_seconds: pgbench seconds per run (OMENDB_BENCH_SECONDS, default 20,
# quick 3).
bench_seconds() {
	if [[ $QUICK == 1 ]]; then
		echo "${OMENDB_BENCH_SECONDS:-3}"
	else
		echo "${OMENDB_BENCH_SECONDS:-20}"
	fi
}

# vacuum_gap: seconds between the mixed runs' VACUUMs (2, quick 1).
vacuum_gap() { if [[ $QUICK == 1 ]]; then echo 1; else echo 2; fi; }

# pgbench_log_dir: an empty directory for pgbench's per-transaction logs
# that the clients' OS user may write; sets PGB_LOG_DIR.
pgbench_log_dir() {
	PGB_LOG_DIR=$WORKDIR/pgbench-log
	rm -rf "$PGB_LOG_DIR"
	as_user mkdir -p "$PGB_LOG_DIR"
}

# latency_percentiles [SCRIPT]: p50, p95 and p99 in ms (nearest rank,
# two decimals) of the transactions in pgbench's logs in PGB_LOG_DIR (all,
# or those of script number SCRIPT, from 0), as "p50 p95 p99"; "- - -"
# when there are none.  The log lines are "client transaction latency_us
# script epoch epoch_us"; failed or skipped ones have no number.
latency_percentiles() {
	local script=${1:-}
	cat "$PGB_LOG_DIR"/run.* 2>/dev/null |
		awk -v s="$script" '$3 ~ /^[0-9]+$/ && (s == "" || $4 == s) { print $3 }' |
		sort -n |
		awk 'function at(q,  i) {
				i = int(q * NR)
				if (i < q * NR) i++
				if (i < 1) i = 1
				return sprintf("%.2f", v[i] / 1000)
			}
			{ v[NR] = $1 }
			END {
				if (NR == 0) print "- - -"
				else print at(0.50), at(0.95), at(0.99)
			}'
}

# pgbench_logged PGOPTIONS ARGS...: pgbench_tps with per-transaction logs
# into PGB_LOG_DIR (emptied first); sets TPS, LAT_MS, P50, P95, P99 (all
# transactions) and, for a mix, Q_P99 (those of the first script).
pgbench_logged() {
	local opts=$1
	shift
	rm -f "$PGB_LOG_DIR"/run.*
	pgbench_tps "$opts" --log --log-prefix="$PGB_LOG_DIR/run" "$@"
	read -r P50 P95 P99 < <(latency_percentiles)
	read -r _ _ Q_P99 < <(latency_percentiles 0)
}

# ---------------------------------------------------------------- pgbench

# items_restore NROWS: put items back as items_orig holds it (ids
# 1..NROWS): delete the rows above NROWS, insert the deleted originals
# again, restart the id sequence, VACUUM (which also cleans the index);
# RESTORE_S is its time.
items_restore() {
	local t0
	t0=$(now)
	upsql <<-EOF
		DELETE FROM items WHERE id > $1;
		INSERT INTO items (id, embedding)
			SELECT o.id, o.embedding FROM items_orig o
			WHERE NOT EXISTS (SELECT FROM items i WHERE i.id = o.id);
		ALTER SEQUENCE items_bench_id RESTART WITH $(($1 + 1));
	EOF
	upsql -c "VACUUM items"
	RESTORE_S=$(elapsed "$t0")
}

# pgbench_prepare: the current database's items as ensure_fmnist made it
# (undoing a run of this stage that was interrupted), its copy items_orig,
# the id sequence items_bench_id and the index items_bench_idx (BUILD_S).
pgbench_prepare() {
	upsql -c "SET client_min_messages = warning; DROP INDEX IF EXISTS items_bench_idx"
	if [[ $(sql1 "SELECT to_regclass('items_orig') IS NOT NULL AND to_regclass('items') IS NOT NULL") == t ]]; then
		upsql -c "SET client_min_messages = warning; CREATE SEQUENCE IF NOT EXISTS items_bench_id"
		items_restore "$(sql1 "SELECT max(id) FROM items_orig")"
	fi
	ensure_fmnist nogt
	upsql <<-EOF
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS items_orig;
		CREATE TABLE items_orig AS SELECT id, embedding FROM items;
		DROP SEQUENCE IF EXISTS items_bench_id;
		CREATE SEQUENCE items_bench_id START $((ROWS_FMNIST + 1));
	EOF
	[[ $(sql1 "SELECT max(id) FROM items") == "$ROWS_FMNIST" ]] ||
		die "items' ids are not 1..$ROWS_FMNIST"
	progress "$SYS_LABEL: CREATE INDEX on $ROWS_FMNIST rows"
	create_diskann items_bench_idx items 2GB >/dev/null
}

# pgbench_cleanup: items back as it was, without the index, its copy or the
# sequence.
pgbench_cleanup() {
	upsql -c "DROP INDEX items_bench_idx"
	items_restore "$ROWS_FMNIST"
	upsql -c "DROP TABLE items_orig" -c "DROP SEQUENCE items_bench_id"
}

# vacuum_loop_start GAP: "VACUUM items" in the background, GAP seconds
# after the start and after each, until vacuum_loop_stop.
vacuum_loop_start() {
	VACUUM_DONE=$WORKDIR/vacuums-done
	VACUUM_STOP=$WORKDIR/vacuums-stop
	: >"$VACUUM_DONE"
	rm -f "$VACUUM_STOP"
	(
		set +e
		local ticks
		while true; do
			# The pause in steps of 0.1 s, so that a stop is seen at once.
			for ((ticks = $(awk -v g="$1" 'BEGIN { printf "%d", g * 10 }'); ticks > 0; ticks--)); do
				[[ -e $VACUUM_STOP ]] && exit 0
				sleep 0.1
			done
			client psql -X -q -c "VACUUM items" >/dev/null 2>&1 &&
				echo vacuumed >>"$VACUUM_DONE"
		done
	) &
	VACUUM_PID=$!
	BACKGROUND_PIDS+=("$VACUUM_PID")
}

# vacuum_loop_stop: stop the loop, cancelling a VACUUM still running; sets
# VACUUMS, the number that completed.
vacuum_loop_stop() {
	touch "$VACUUM_STOP"
	sql1 "SELECT count(pg_cancel_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()
			AND query = 'VACUUM items'" >/dev/null
	wait "$VACUUM_PID" 2>/dev/null || true
	VACUUMS=$(wc -l <"$VACUUM_DONE")
}

# verify_problems: diskann_verify's problem count for items_bench_idx
# (omendb), "n/a" for other systems.
verify_problems() {
	if [[ $SYSTEM == omendb ]]; then
		sql1 "SELECT count(*) FROM diskann_verify('items_bench_idx')"
	else
		echo n/a
	fi
}

# default_list_size: the session default of the system's search list size
# (loading the extension's library first, which defines the setting).
default_list_size() {
	upsql -At -c "SELECT '[1]'::vector IS NOT NULL" -c "SHOW $LIST_GUC" | tail -n 1
}

# pgbench_system SYSTEM TSV: the three workloads at each client count on
# SYSTEM, a line per run appended to TSV (workload, system, clients, tps,
# p50, p95, p99, query p99, vacuums, verify problems, restore s).
pgbench_system() {
	local tsv=$2 secs w c opts dirty=0 scripts
	secs=$(bench_seconds)
	use_db "$1" pgbench
	pgbench_prepare
	PGB_BUILD[$1]=$BUILD_S
	PGB_LIST[$1]=$(default_list_size)
	progress "$SYS_LABEL: index built in $BUILD_S s; $LIST_GUC = ${PGB_LIST[$1]}"
	for w in knn insert mixed; do
		case $w in
		knn)
			opts=""
			scripts=(-f "$BENCH_DIR/knn_l2.sql")
			;;
		insert)
			opts="-c synchronous_commit=off"
			scripts=(-f "$BENCH_DIR/insert_item.sql")
			;;
		mixed)
			opts="-c synchronous_commit=off"
			scripts=(-f "$BENCH_DIR/knn_l2.sql@90" -f "$BENCH_DIR/insert_item.sql@8"
				-f "$BENCH_DIR/delete_item.sql@2")
			;;
		esac
		for c in 1 2 4; do
			RESTORE_S=-
			if [[ $dirty == 1 ]]; then
				items_restore "$ROWS_FMNIST"
			fi
			VACUUMS=- PROBLEMS=-
			[[ $w == mixed ]] && vacuum_loop_start "$(vacuum_gap)"
			pgbench_logged "$opts" -M prepared -c "$c" -j "$c" -T "$secs" \
				-D nqueries="$NQ_FMNIST" -D nrows="$ROWS_FMNIST" "${scripts[@]}"
			[[ $w == mixed ]] && vacuum_loop_stop
			[[ $w == mixed ]] || Q_P99=-
			if [[ $w != knn ]]; then
				dirty=1
				PROBLEMS=$(verify_problems)
			fi
			progress "$SYS_LABEL $w, -c $c: $(fmt1 "$TPS") TPS, p50/p95/p99 $P50/$P95/$P99 ms$([[ $w == mixed ]] && echo ", $VACUUMS VACUUMs")$([[ $PROBLEMS =~ ^[0-9]+$ ]] && echo ", diskann_verify: $PROBLEMS problems")"
			printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$1" "$c" "$TPS" \
				"$P50" "$P95" "$P99" "$Q_P99" "$VACUUMS" "$PROBLEMS" "$RESTORE_S" >>"$tsv"
		done
	done
	pgbench_cleanup
}

# pgbench_tables TSV: the report's table for each workload from TSV.
pgbench_tables() {
	local tsv=$1 w c sys line tps p50 p95 p99 qp99 vac prob cells base
	declare -A tps_of
	while IFS=$'\t' read -r w sys c tps _; do
		tps_of[$w $sys $c]=$tps
	done <"$tsv"
	for w in knn insert mixed; do
		case $w in
		knn) md "" "**k-NN queries** (test/bench/knn_l2.sql, search list size at the default)" ;;
		insert) md "" "**Single-row inserts** (test/bench/insert_item.sql, synchronous_commit off)" ;;
		mixed) md "" "**Mixed**: 90% k-NN queries, 8% inserts, 2% deletes (synchronous_commit off), \`VACUUM items\` in a loop beside it" ;;
		esac
		base=(clients)
		[[ ${#SYSTEMS[@]} -gt 1 ]] && base+=(system)
		base+=(TPS "p50 ms" "p95 ms" "p99 ms")
		[[ $w == mixed ]] && base+=("k-NN p99 ms" "VACUUMs done")
		[[ $w != knn ]] && base+=("diskann_verify problems")
		[[ ${#SYSTEMS[@]} -gt 1 ]] && base+=("TPS omendb / pgvector")
		md_table "${base[@]}"
		for c in 1 2 4; do
			for sys in "${SYSTEMS[@]}"; do
				line=$(awk -F'\t' -v w="$w" -v s="$sys" -v c="$c" \
					'$1 == w && $2 == s && $3 == c' "$tsv")
				[[ -n $line ]] || continue
				IFS=$'\t' read -r _ _ _ tps p50 p95 p99 qp99 vac prob _ <<<"$line"
				cells=("$c")
				[[ ${#SYSTEMS[@]} -gt 1 ]] && cells+=("$sys")
				cells+=("$(fmt1 "$tps")" "$p50" "$p95" "$p99")
				[[ $w == mixed ]] && cells+=("$qp99" "$vac")
				[[ $w != knn ]] && cells+=("$prob")
				if [[ ${#SYSTEMS[@]} -gt 1 ]]; then
					if [[ $sys == omendb ]]; then
						cells+=("$(ratio "$tps" "${tps_of[$w pgvector $c]:-0}")")
					else
						cells+=("")
					fi
				fi
				md_row "${cells[@]}"
			done
		done
	done
}

# stage_pgbench: k-NN, insert and mixed workloads at 1, 2 and 4 clients
# (see the top of this file).
stage_pgbench() {
	local tsv sys plot secs restores w
	declare -gA PGB_BUILD=() PGB_LIST=()
	secs=$(bench_seconds)
	tsv=$WORKDIR/pgbench_runs.tsv
	: >"$tsv"
	pgbench_log_dir
	for sys in "${SYSTEMS[@]}"; do
		pgbench_system "$sys" "$tsv"
	done
	rm -rf "$PGB_LOG_DIR"

	plot=$(data_file pgbench_tps)
	{
		printf 'series\tclients\ttps\n'
		for w in knn insert mixed; do
			for sys in "${SYSTEMS[@]}"; do
				awk -F'\t' -v w="$w" -v s="$sys" '$1 == w && $2 == s {
					printf "%s %s\t%s\t%s\n", $1, $2, $3, $4 }' "$tsv"
			done
		done
	} >"$plot"
	{
		printf 'workload\tsystem\tclients\ttps\tp50_ms\tp95_ms\tp99_ms\tknn_p99_ms\tvacuums\tverify_problems\trestore_s\n'
		cat "$tsv"
	} >"$(data_file pgbench_runs)"
	plot_series "$OUT_DIR/pgbench_tps.png" "pgbench: TPS by clients (Fashion-MNIST, $ROWS_FMNIST rows)" \
		clients "transactions per second" "$plot" "		set xtics (1, 2, 4)
		set xrange [0.8:4.2]
		set yrange [0:*]
		set key bottom right"

	md "## pgbench workloads" "" \
		"Fashion-MNIST, $ROWS_FMNIST x 784 in items, $NQ_FMNIST query vectors in queries, L2." \
		"Each workload runs at 1, 2 and 4 clients (\`pgbench -M prepared -c N -j N -T $secs\`)." \
		"TPS is pgbench's (without connection time); latencies are percentiles (nearest rank)" \
		"of every transaction in pgbench's per-transaction log (\`--log\`)." \
		"The k-NN query draws its vector from queries by a random id (\`\\set\`)," \
		"inserts insert a random query vector under an id from a sequence above the table's ids," \
		"deletes delete the first row at or above a random id among the original ones."
	for sys in "${SYSTEMS[@]}"; do
		restores=$(awk -F'\t' -v s="$sys" '$2 == s && $11 != "-" { n++; t += $11 }
			END { printf "%d restores of the table took %.1f s in all", n, t }' "$tsv")
		case $sys in
		omendb) md "- omendb diskann: index built in ${PGB_BUILD[$sys]} s (maintenance_work_mem 2GB), diskann.query_search_list_size = ${PGB_LIST[$sys]} (its default); $restores" ;;
		pgvector) md "- pgvector hnsw: index built in ${PGB_BUILD[$sys]} s (maintenance_work_mem 2GB), hnsw.ef_search = ${PGB_LIST[$sys]} (its default); $restores" ;;
		esac
	done
	md "" "Runs that write start from the same table: before each one, the rows earlier runs inserted" \
		"are deleted, the rows they deleted inserted again from a copy (items_orig), and VACUUM" \
		"cleans table and index; the index is the same one throughout (built once, updated in place)." \
		"The mixed runs have a VACUUM loop beside them (\`VACUUM items\` through psql, a pause of" \
		"$(vacuum_gap) s before each); \"VACUUMs done\" counts those that completed during the run" \
		"(one still running when pgbench ends is cancelled). diskann_verify runs after each run" \
		"with writes (pgvector has no such check)."
	if [[ ${#SYSTEMS[@]} -gt 1 ]]; then
		md "" "The systems' default search list sizes differ, and so do their recalls: the fmnist stage" \
			"measures recall and single-client QPS over a sweep of both settings."
	fi
	pgbench_tables "$tsv"
	md_image "pgbench_tps.png" "pgbench TPS by clients"
}

# ---------------------------------------------------------------- curve

# curve_sizes: the table sizes of the curve (quick: 2,000 .. 20,000).
curve_sizes() {
	if [[ $QUICK == 1 ]]; then
		echo 2000 5000 10000 20000
	else
		echo 25000 100000 250000 500000 1000000
	fi
}

# curve_system SYSTEM TSV: the curve on SYSTEM, a line per size appended to
# TSV (system, rows, ms per 1,000 inserts, inserts/s, how the size was
# reached: grow or build, rows added or indexed, their rows/s,
# diskann_verify's problem count or n/a).
curve_system() {
	local tsv=$2 per=1000 grow_max=${OMENDB_CURVE_GROW_ROWS:-100000} n prev=0 t0 how rate rows ms problems
	[[ $QUICK == 1 ]] && per=200
	use_db "$1" million
	ensure_million
	upsql <<-EOF
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS curve;
		CREATE TABLE curve (id int, embedding vector(128)) WITH (autovacuum_enabled = off);
	EOF
	for n in $(curve_sizes); do
		[[ $n -le $ROWS_MILLION ]] || continue
		if [[ $prev -gt 0 && $((n - prev)) -le $grow_max ]]; then
			progress "$SYS_LABEL: INSERT ... SELECT of rows $((prev + 1))..$n into the indexed table"
			t0=$(now)
			upsql -c "INSERT INTO curve SELECT id, embedding FROM items WHERE id > $prev AND id <= $n"
			rows=$((n - prev))
			rate=$(awk -v r="$rows" -v s="$(elapsed "$t0" 3)" 'BEGIN { printf "%.0f", r / s }')
			how=grow
		else
			upsql -c "SET client_min_messages = warning; DROP INDEX IF EXISTS curve_idx"
			upsql -c "INSERT INTO curve SELECT id, embedding FROM items WHERE id > $prev AND id <= $n"
			rows=$(sql1 "SELECT count(*) FROM curve")
			progress "$SYS_LABEL: CREATE INDEX on $rows rows"
			create_diskann curve_idx curve 2GB >/dev/null
			rate=$(awk -v r="$rows" -v s="$BUILD_S" 'BEGIN { printf "%.0f", r / s }')
			how=build
		fi
		pgbench_tps "-c synchronous_commit=off" -M prepared -c 1 -t "$per" \
			-D nqueries="$NQ_MILLION" -f "$BENCH_DIR/curve_insert.sql"
		ms=$(awk -v t="$TPS" 'BEGIN { printf "%.0f", 1e6 / t }')
		problems=n/a
		[[ $1 == omendb ]] && problems=$(sql1 "SELECT count(*) FROM diskann_verify('curve_idx')")
		progress "$SYS_LABEL at $n rows: $ms ms per 1,000 inserts ($(fmt1 "$TPS")/s); $how of $rows rows at $rate rows/s$([[ $problems != n/a ]] && echo "; diskann_verify: $problems problems")"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$n" "$ms" \
			"$(awk -v t="$TPS" 'BEGIN { printf "%.0f", t }')" "$how" "$rows" "$rate" "$problems" >>"$tsv"
		prev=$n
	done
	upsql -c "DROP TABLE curve"
}

# stage_curve: time per 1,000 single-row inserts at growing table sizes
# (see the top of this file).
stage_curve() {
	local tsv sys plot per=1000 line n ms ips how rows rate problems first last r est cells
	[[ $QUICK == 1 ]] && per=200
	tsv=$WORKDIR/curve.tsv
	: >"$tsv"
	for sys in "${SYSTEMS[@]}"; do
		curve_system "$sys" "$tsv"
	done
	{
		printf 'system\trows\tms_per_1000\tinserts_per_s\treached_by\trows_added_or_indexed\trows_per_s\tverify_problems\n'
		cat "$tsv"
	} >"$(data_file curve_points)"
	plot=$(data_file curve_cost)
	{
		printf 'series\trows\tms\n'
		awk -F'\t' '{ printf "%s\t%s\t%s\n", $1, $2, $3 }' "$tsv"
	} >"$plot"
	plot_series "$OUT_DIR/curve_cost.png" "Insert cost by table size (million set, 128 dimensions)" \
		"rows in the table" "ms per 1,000 single-row inserts (1 client)" "$plot" "set logscale x
		set yrange [0:*]
		set format x '%.0s%c'
		set key bottom right"

	md "## Insert-cost curve" "" \
		"Time per 1,000 single-row inserts, one INSERT per transaction (\`pgbench -M prepared -c 1 -t $per\`," \
		"synchronous_commit off, test/bench/curve_insert.sql: a random query vector), into a table" \
		"(curve, autovacuum off) holding the first N rows of the million set with the system's index.$([[ $per != 1000 ]] && echo " $per inserts per size, scaled to 1,000.")" \
		"The table also keeps the inserts measured at the smaller sizes." \
		"The first size gets its index by CREATE INDEX (maintenance_work_mem 2GB). The next size is" \
		"reached by INSERT ... SELECT of the next rows into the indexed table (\"grow\", one statement," \
		"timed) when that adds at most ${OMENDB_CURVE_GROW_ROWS:-100000} rows (OMENDB_CURVE_GROW_ROWS), else by adding the rows" \
		"without the index and a fresh CREATE INDEX (\"build\", timed): growing the index all the way" \
		"to 1,000,000 rows by inserts takes longer than the stage's budget (on a 2-core machine, 50,000" \
		"to 100,000 rows grew at 1,050 rows/s for omendb and 715 for pgvector: 16 and 23 minutes for" \
		"975,000 rows)."
	local hdr=(rows)
	[[ ${#SYSTEMS[@]} -gt 1 ]] && hdr+=(system)
	hdr+=("ms per 1,000 inserts" "inserts/s" "size reached by" "rows/s" "diskann_verify problems")
	md_table "${hdr[@]}"
	for n in $(curve_sizes); do
		for sys in "${SYSTEMS[@]}"; do
			line=$(awk -F'\t' -v s="$sys" -v n="$n" '$1 == s && $2 == n' "$tsv")
			[[ -n $line ]] || continue
			IFS=$'\t' read -r _ _ ms ips how rows rate problems <<<"$line"
			case $how in
			grow) how="grow: INSERT of $rows rows" ;;
			build) how="build: CREATE INDEX on $rows rows" ;;
			esac
			cells=("$n")
			[[ ${#SYSTEMS[@]} -gt 1 ]] && cells+=("$sys")
			cells+=("$ms" "$ips" "$how" "$rate" "$problems")
			md_row "${cells[@]}"
		done
	done
	md ""
	for sys in "${SYSTEMS[@]}"; do
		first=$(awk -F'\t' -v s="$sys" '$1 == s { print $3; exit }' "$tsv")
		last=$(awk -F'\t' -v s="$sys" '$1 == s { v = $3 } END { print v }' "$tsv")
		[[ -n $first ]] || continue
		r=$(awk -v a="$last" -v b="$first" 'BEGIN { printf "%.2f", a / b }')
		md "- $sys: cost at the largest size / cost at the smallest = **${r}x** (the target: at most 2x, no insert-throughput cliff past 25,000 rows: $(awk -v r="$r" 'BEGIN { print (r <= 2 ? "met" : "NOT met") }'))"
		# When sizes were built: what growing by inserts alone would have
		# cost, at this run's slowest growth rate.
		est=$(awk -F'\t' -v s="$sys" '$1 == s && $5 == "grow" && (m == "" || $7 < m) { m = $7 }
			$1 == s { if (f == "") f = $2; l = $2 }
			$1 == s && $5 == "build" && $2 != f { b = 1 }
			END { if (b && m > 0 && l > f) printf "%.1f", (l - f) / m / 60 }' "$tsv")
		[[ -n $est ]] && md "  (growing from the smallest to the largest size by inserts alone, at the slowest growth rate above: ~$est min)"
	done
	md_image "curve_cost.png" "Insert cost by table size"
}
