# shellcheck shell=bash
# test/bench/suite_scripts.sh: the stages of test/bench/suite.sh (sourced
# by it) that run the stand-alone benchmarks against the suite's server:
#
#   churn     test/bench/churn.sh, parts churn and indexfirst: rounds of
#             deletes, inserts and VACUUM on a bulk-built index (recall,
#             VACUUM time, size per round, then REINDEX), and an index
#             created on an empty table filled by COPY against COPY and
#             CREATE INDEX
#   filtered  test/bench/filtered.sh: filtered k-NN (near, far, 1%) through
#             the plain index and, for omendb, a multi-column index
#
# Each runs once per system in its own database, with the sizes cut down
# under --quick.

# run_script SCRIPT LOG ENV...: run test/bench/SCRIPT for the current
# system (use_db) against the suite's server and database, with ENV
# (NAME=VALUE words) added; its output goes to LOG.
run_script() {
	local script=$1 log=$2
	shift 2
	local user=${PGUSER:-}
	[[ -n ${CLUSTER_DATA:-} ]] && user=$TEST_USER
	if ! env PGHOST="$PGHOST" PGPORT="${PGPORT:-}" PGUSER="$user" PGDATABASE="$PGDATABASE" \
		OMENDB_BENCH_SYSTEM="$SYSTEM" PG_CONFIG="$PG_CONFIG" "$@" \
		bash "$REPO_ROOT/test/bench/$script" </dev/null >"$log" 2>&1; then
		tail -n 40 "$log" >&2
		die "$script failed for $SYSTEM (log: $log)"
	fi
}

# follow LOG PID: print LOG's section headers as progress lines while PID
# runs.  (No command here may fail: under set -e that would end the suite,
# and its EXIT trap would stop the server under the running script.)
follow() {
	local seen=0 n line
	while kill -0 "$2" 2>/dev/null; do
		sleep 2
		n=$(wc -l <"$1" 2>/dev/null || echo 0)
		if [[ $n -gt $seen ]]; then
			sed -n "$((seen + 1)),${n}p" "$1" | { grep '^==> ' || true; } | while read -r line; do
				progress "$SYSTEM: ${line#==> }"
			done
			seen=$n
		fi
	done
}

# run_followed SCRIPT LOG ENV...: run_script, its section headers shown
# as progress lines.
run_followed() {
	local pid
	: >"$2"
	run_script "$@" &
	pid=$!
	follow "$2" "$pid"
	wait "$pid" || die "$1 failed for $SYSTEM"
}

# results_block LOG: the results section of a script's output (from its
# "==> results" header on), for the report.
results_block() {
	md '```'
	sed -n '/^==> results/,$p' "$1" | sed '/^    benchmark took/d' >>"$STAGE_MD"
	md '```'
}

# ---------------------------------------------------------------- churn

stage_churn() {
	local sys log env tsvdir
	env=()
	if [[ $QUICK == 1 ]]; then
		env=(OMENDB_BENCH_ROWS=12000 OMENDB_CHURN_ROUNDS=3 OMENDB_BENCH_QUERIES=50
			OMENDB_BENCH_SWEEP="20 40" OMENDB_BENCH_SECONDS=2)
	fi
	printf 'series\tround\tvalue\n' >"$(data_file churn_recall)"
	printf 'series\tround\tvalue\n' >"$(data_file churn_vacuum)"
	md "## Churn and index-first loading" ""
	for sys in "${SYSTEMS[@]}"; do
		use_db "$sys" churn
		log=$WORKDIR/churn_$sys.log
		tsvdir=$WORKDIR/churn_$sys
		rm -rf "$tsvdir"
		mkdir -p "$tsvdir"
		chmod 777 "$tsvdir"
		run_followed churn.sh "$log" OMENDB_BENCH_PARTS="churn indexfirst" \
			OMENDB_BENCH_TSV_DIR="$tsvdir" "${env[@]}"
		churn_data "$sys" "$tsvdir"
		md "### $SYS_LABEL" ""
		results_block "$log"
	done
	churn_compare
	plot_series "$OUT_DIR/churn_recall.png" "Churn: recall@$K after each round (0: fresh build)" \
		round "recall@$K" "$(data_file churn_recall)" "set xtics 1"
	plot_series "$OUT_DIR/churn_vacuum.png" "Churn: VACUUM time per round" \
		round "seconds" "$(data_file churn_vacuum)" "set xtics 1; set key top right"
	md_image churn_recall.png "churn recall per round"
	md_image churn_vacuum.png "VACUUM time per round"
}

# churn_data SYSTEM DIR: the per-round recall and VACUUM time of SYSTEM's
# churn rounds (DIR/churn_rounds.tsv: round, rows, recall, MiB, vacuum s,
# insert rows/s) into the plot data.
churn_data() {
	awk -F'\t' -v s="$1" '{ print s "\t" $1 "\t" $3 }' "$2/churn_rounds.tsv" >>"$(data_file churn_recall)"
	awk -F'\t' -v s="$1" '$5 != "-" { print s "\t" $1 "\t" $5 }' "$2/churn_rounds.tsv" >>"$(data_file churn_vacuum)"
	cp "$2/churn_rounds.tsv" "$(data_file "churn_rounds_$1")"
	[[ -f $2/churn_indexfirst.tsv ]] && cp "$2/churn_indexfirst.tsv" "$(data_file "churn_indexfirst_$1")"
	return 0
}

# churn_compare: with two systems, mean VACUUM time and last round's
# recall side by side, and the index-first COPY rates.
churn_compare() {
	[[ ${#SYSTEMS[@]} -ge 2 ]] || return 0
	local other=${SYSTEMS[1]} va vb ra rb ca cb
	va=$(awk -F'\t' -v s=omendb '$1 == s && $2 > 0 { t += $3; n++ } END { if (n) printf "%.1f", t / n }' "$(data_file churn_vacuum)")
	vb=$(awk -F'\t' -v s="$other" '$1 == s && $2 > 0 { t += $3; n++ } END { if (n) printf "%.1f", t / n }' "$(data_file churn_vacuum)")
	ra=$(awk -F'\t' -v s=omendb '$1 == s { r = $3 } END { print r }' "$(data_file churn_recall)")
	rb=$(awk -F'\t' -v s="$other" '$1 == s { r = $3 } END { print r }' "$(data_file churn_recall)")
	ca=$(awk -F'\t' '{ print $3 }' "$(data_file churn_indexfirst_omendb)" 2>/dev/null || true)
	cb=$(awk -F'\t' '{ print $3 }' "$(data_file "churn_indexfirst_$other")" 2>/dev/null || true)
	md "" "omendb / $other, same run: mean VACUUM time per round ${va:-?} s / ${vb:-?} s = $(ratio_or_dash "$va" "$vb")x;" \
		"recall after the last round ${ra:-?} / ${rb:-?} (each at its own list size: not a like-for-like recall comparison);" \
		"index-first COPY ${ca:-?} / ${cb:-?} rows/s = $(ratio_or_dash "$ca" "$cb")x."
}

# ---------------------------------------------------------------- filtered

stage_filtered() {
	local sys log env
	env=()
	if [[ $QUICK == 1 ]]; then
		env=(OMENDB_BENCH_ROWS=10000 OMENDB_BENCH_QUERIES=50 OMENDB_BENCH_SWEEP=40
			OMENDB_BENCH_SECONDS=2)
	fi
	md "## Filtered search" "" \
		"Fashion-MNIST with its class labels, a btree on the label present; near: the query's own class," \
		"far: another class, 1%: another class and a tenth of the ids (see \`test/bench/filtered.sh\`)."
	for sys in "${SYSTEMS[@]}"; do
		use_db "$sys" filtered
		log=$WORKDIR/filtered_$sys.log
		run_followed filtered.sh "$log" "${env[@]}"
		md "" "### $SYS_LABEL" ""
		results_block "$log"
	done
}
