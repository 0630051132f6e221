# shellcheck shell=bash
# test/bench/suite_lib.sh: the machinery of test/bench/suite.sh (sourced by
# it): server and databases per system, stage budgets and progress, the
# cache, Markdown fragments, gnuplot plots and the report.  The stages
# themselves are in suite_search.sh, suite_workloads.sh and suite_scripts.sh.
#
# A stage is a function stage_NAME.  It may use:
#   use_db SYSTEM DATASET   connect the clients to SYSTEM's database for
#                           DATASET (created on first use); sets AM (also
#                           as BENCH_AM, for create_diskann), LIST_GUC,
#                           SYS_LABEL
#   progress MSG            a progress line (stage, elapsed, budget left)
#   create_diskann NAME TABLE MEM   (test/lib.sh) the system's index on
#                           TABLE's embedding, timed (BUILD_S)
#   md LINE...              lines of the stage's part of the report
#   md_table HEADER...      a Markdown table header; md_row CELL... its rows
#   data_file NAME          path of a TSV file for the stage's data
#   plot_* ...              PNG plots (see below), shown with md_image
#   cached NAME             path of a cache file (may not exist yet)
# Variables: QUICK (0/1), SYSTEMS (omendb [pgvector]), OUT_DIR, CACHE,
# BENCH_DIR (test/bench, readable by the clients), WORKDIR (scratch), K.

# ---------------------------------------------------------------- budgets

# stage_budget NAME: the stage's expected seconds on a 2-core machine, for
# this run's size and systems (the progress lines count down from it).
stage_budget() {
	local full quick
	case $1 in
	fmnist) full=420 quick=40 ;;
	million) full=600 quick=40 ;;
	lowmem) full=1500 quick=45 ;;
	curve) full=600 quick=30 ;;
	pgbench) full=420 quick=45 ;;
	churn) full=900 quick=40 ;;
	filtered) full=420 quick=40 ;;
	*) full=60 quick=10 ;;
	esac
	if [[ $QUICK == 1 ]]; then
		echo $((quick * ${#SYSTEMS[@]}))
	else
		echo $((full * ${#SYSTEMS[@]}))
	fi
}

# list_stages: the stages of this run with their budgets.
list_stages() {
	local stage total=0 b
	for stage in "${STAGES[@]}"; do
		b=$(stage_budget "$stage")
		total=$((total + b))
		printf '  %-10s ~%s\n' "$stage" "$(mmss "$b")"
	done
	printf '  %-10s ~%s\n' total "$(mmss "$total")"
}

# mmss SECONDS: "m:ss".
mmss() { awk -v s="$1" 'BEGIN { s = int(s + 0.5); printf "%d:%02d", s / 60, s % 60 }'; }

# stage_begin NAME I N: announce stage I of N with its budget.
stage_begin() {
	STAGE=$1
	STAGE_T0=$(now)
	STAGE_BUDGET=$(stage_budget "$1")
	STAGE_MD=$OUT_DIR/$1.md
	: >"$STAGE_MD"
	local rest=0 s seen=0
	for s in "${STAGES[@]}"; do
		[[ $s == "$1" ]] && seen=1
		[[ $seen == 1 ]] && rest=$((rest + $(stage_budget "$s")))
	done
	section "stage $2/$3: $1 (budget ~$(mmss "$STAGE_BUDGET"); suite so far $(mmss "$(elapsed "$SUITE_T0")"), ~$(mmss "$rest") left)"
}

# stage_end NAME: the stage's time, beside its budget.
stage_end() {
	local took
	took=$(elapsed "$STAGE_T0")
	note "stage $1 took $(mmss "$took") (budget ~$(mmss "$STAGE_BUDGET"))"
	STAGE_TIMES+=("$1 $took $STAGE_BUDGET")
}
STAGE_TIMES=()

# progress MSG: a progress line with the stage's elapsed time and what is
# left of its budget.
progress() {
	local took left
	took=$(elapsed "$STAGE_T0" 0)
	left=$((STAGE_BUDGET - took))
	[[ $left -lt 0 ]] && left=0
	printf '    [%s %s, ~%s left] %s\n' "$STAGE" "$(mmss "$took")" "$(mmss "$left")" "$*"
}

# ---------------------------------------------------------------- server

# suite_server: the caller's server (PGHOST/PGPORT set) or a throw-away one
# with omendb built and installed; checks for pgvector when comparing.
suite_server() {
	if [[ -n $CALLER_PGHOST || -n $CALLER_PGPORT ]]; then
		ensure_packages plot dataset
		CALLER_PGDATABASE=${CALLER_PGDATABASE:-postgres}
		use_caller_server ''
		TEST_USER=$(id -un)
		make_workdir omendb-suite
		BENCH_DIR=$REPO_ROOT/test/bench
	else
		ensure_packages plot dataset
		local sb=4GB
		[[ $QUICK == 1 ]] && sb=512MB
		OMENDB_PG_CONF="shared_buffers = $sb
${OMENDB_PG_CONF:-}"
		own_server omendb-suite
		BENCH_DIR=$SRCDIR/test/bench
	fi
	upsql -c "SELECT 1" >/dev/null
	if [[ -n $COMPARE ]]; then
		[[ $(PGDATABASE=postgres sql1 "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'") == 1 ]] ||
			die "--compare pgvector: pgvector's vector extension is not installed in this PostgreSQL"
	fi
	mkdir -p "$CACHE"
	chmod 755 "$CACHE"
}

# use_db SYSTEM DATASET: point the clients at database SYSTEM_DATASET
# (created with SYSTEM's extension if missing) and set the system's index
# vocabulary: AM (exported as BENCH_AM, which create_diskann builds),
# LIST_GUC, SYS_LABEL.
use_db() {
	local db=$1_$2 ext
	case $1 in
	omendb)
		ext=omendb AM=diskann LIST_GUC=diskann.query_search_list_size
		SYS_LABEL="omendb diskann"
		;;
	pgvector)
		ext=vector AM=hnsw LIST_GUC=hnsw.ef_search
		SYS_LABEL="pgvector hnsw"
		;;
	*) die "unknown system $1" ;;
	esac
	SYSTEM=$1
	VECTOR_EXTENSION=$ext
	if [[ $(PGDATABASE=postgres sql1 "SELECT count(*) FROM pg_database WHERE datname = '$db'") == 0 ]]; then
		PGDATABASE=postgres upsql -c "CREATE DATABASE $db"
	fi
	export PGDATABASE=$db
	upsql -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS $ext"
	export LIST_GUC BENCH_AM=$AM
}

# relation_mb RELATION: its size (with TOAST for tables) in MB, one decimal.
relation_mb() { sql1 "SELECT round(pg_total_relation_size('$1') / 1048576.0, 1)"; }

# ---------------------------------------------------------------- cache

# cached NAME: the path of cache file NAME.
cached() { echo "$CACHE/$1"; }

# load_ground_truth FILE: (re)create table gt (qid, ids) from FILE, COPY
# text lines "qid<TAB>{id,...}".
load_ground_truth() {
	upsql <<-EOF
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS gt;
		CREATE TABLE gt (qid int PRIMARY KEY, ids int[] NOT NULL);
	EOF
	upsql -c "COPY gt FROM STDIN" <"$1"
}

# cache_ground_truth NAME NQ: table gt (qid, ids) with the exact top-K of
# queries 1..NQ over items, from cache file NAME if present, else computed
# by exact_topk and saved there.
cache_ground_truth() {
	local file
	file=$(cached "$1")
	if [[ -s $file ]]; then
		load_ground_truth "$file"
		progress "ground truth from the cache ($file)"
		return 0
	fi
	local t0
	t0=$(now)
	progress "ground truth: exact top-$K of $2 queries ($(bench_jobs) sessions)"
	exact_topk gt "$2" "$K"
	upsql -c "COPY gt TO STDOUT" >"$file.tmp"
	mv "$file.tmp" "$file"
	progress "ground truth computed in $(elapsed "$t0") s, cached in $file"
}

# ---------------------------------------------------------------- report

# md LINE...: append lines to the stage's part of the report.
md() { printf '%s\n' "$@" >>"$STAGE_MD"; }

# md_table HEADER...: a Markdown table header.  md_row CELL...: a row.
md_table() {
	local IFS='|'
	md "" "|$*|" "|$(printf -- '---|%.0s' "$@")"
}
md_row() {
	local IFS='|'
	md "|$*|"
}

# md_image FILE TITLE: show plot FILE (in OUT_DIR) in the report.
md_image() { md "" "![$2]($1)" ""; }

# data_file NAME: the path of data file NAME.tsv in OUT_DIR/data.
data_file() {
	mkdir -p "$OUT_DIR/data"
	echo "$OUT_DIR/data/$1.tsv"
}

# prepare_output: fresh stage fragments and data for this run.
prepare_output() {
	mkdir -p "$OUT_DIR/data"
	local stage
	for stage in "${STAGES[@]}"; do
		rm -f "$OUT_DIR/$stage.md" "$OUT_DIR/data/$stage"_* "$OUT_DIR/$stage"_*.png
	done
}

# machine_md: the machine, PostgreSQL and its settings, as Markdown.
machine_md() {
	local cpu mem settings commit
	cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
	mem=$(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
	commit=$(git -c safe.directory='*' -C "$REPO_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
	settings=$(PGDATABASE=postgres sql1 "SELECT string_agg(name || ' = ' || current_setting(name),
			', ' ORDER BY name) FROM pg_settings
		WHERE name IN ('shared_buffers', 'work_mem', 'maintenance_work_mem',
			'max_parallel_maintenance_workers', 'max_parallel_workers_per_gather',
			'synchronous_commit', 'fsync', 'full_page_writes', 'jit', 'effective_cache_size')")
	printf '%s\n' \
		"| | |" "|---|---|" \
		"| CPU | ${cpu:-unknown}, $(nproc) cores |" \
		"| memory | $mem |" \
		"| OS | Debian $(cat /etc/debian_version 2>/dev/null || echo '?'), kernel $(uname -r) |" \
		"| PostgreSQL | $(PGDATABASE=postgres sql1 "SELECT version()") |" \
		"| settings | $settings |" \
		"| omendb | commit $commit |"
	if [[ -n $COMPARE ]]; then
		echo "| pgvector | $(PGDATABASE=postgres sql1 "SELECT default_version FROM pg_available_extensions WHERE name = 'vector'") (installed on the machine, not part of this repository) |"
	fi
}

# earlier_sections: a line naming the stages whose sections come from
# earlier runs into OUT_DIR (not run by this command), if any.
earlier_sections() {
	local stage old=()
	for stage in "${ALL_STAGES[@]}"; do
		[[ -s $OUT_DIR/$stage.md && " ${STAGES[*]} " != *" $stage "* ]] && old+=("$stage")
	done
	[[ ${#old[@]} -eq 0 ]] && return 0
	echo
	echo "The sections of ${old[*]} are from earlier runs into this directory."
}

# write_report: OUT_DIR/report.md from the machine, the stage times and the
# stages' fragments (stages not run this time keep their last fragment).
write_report() {
	local report=$OUT_DIR/report.md stage line
	{
		echo "# omendb benchmark report"
		echo
		echo "$(date -u '+%Y-%m-%d %H:%M UTC'), \`bash test/bench/suite.sh ${SUITE_ARGS:-}\`$([[ $QUICK == 1 ]] && echo ' (quick: small data, not for quoting)')"
		echo
		echo "## Machine"
		echo
		machine_md
		echo
		echo "Stage times this run (budget in parentheses):"
		for line in "${STAGE_TIMES[@]}"; do
			read -r stage took budget <<<"$line"
			echo "$stage $(mmss "$took") ($(mmss "$budget"))"
		done | paste -sd ',' | sed 's/,/, /g'
		earlier_sections
		for stage in "${ALL_STAGES[@]}"; do
			[[ -s $OUT_DIR/$stage.md ]] || continue
			echo
			cat "$OUT_DIR/$stage.md"
		done
	} >"$report"
}

# ---------------------------------------------------------------- plots

# split_series TSV: one file TSV.SERIES per value of the first column
# (header line skipped); prints the series in order of appearance.
split_series() {
	rm -f "$1".series.*
	awk -F'\t' -v base="$1" 'NR > 1 {
		f = base ".series." $1
		if (!(f in seen)) { seen[f] = 1; print $1 }
		print > f
	}' "$1"
}

# gnuplot_run PNG SCRIPT: render SCRIPT (gnuplot commands) into PNG.
gnuplot_run() {
	local png=$1
	shift
	gnuplot <<-EOF || die "gnuplot failed for $png"
		set terminal pngcairo size 900,560 noenhanced font ",11"
		set output '$png'
		set grid
		set key bottom left box opaque
		$*
	EOF
}

# plot_recall_qps PNG TITLE TSV EXACT_TSV: recall@K (x) against QPS (y,
# log scale), a line per system (TSV: system, L, recall, qps) with its
# points labelled by list size, and each
# system's exact scan as a horizontal dashed line (EXACT_TSV: system, qps).
plot_recall_qps() {
	local png=$1 title=$2 tsv=$3 exact=$4 plots=() s q i=1
	while read -r s; do
		plots+=("'$tsv.series.$s' using 3:4 with linespoints lw 2 pt 7 lc $i title '$s'"
			"'$tsv.series.$s' using 3:4:2 with labels offset char 0,0.9 font ',9' tc lt $i notitle")
		i=$((i + 1))
	done < <(split_series "$tsv")
	i=1
	while IFS=$'\t' read -r s q; do
		[[ $s == system ]] && continue
		plots+=("$q with lines dt 2 lw 2 lc $i title '$s exact scan ($(fmt1 "$q") QPS)'")
		i=$((i + 1))
	done <"$exact"
	local IFS=,
	gnuplot_run "$png" "set title '$title'
		set datafile separator tab
		set xlabel 'recall@$K'
		set ylabel 'queries per second (1 client)'
		set logscale y
		plot ${plots[*]}"
}

# plot_series PNG TITLE XLABEL YLABEL TSV [SET]: a line per series (TSV:
# series, x, y); SET: extra gnuplot settings (e.g. "set logscale x").
plot_series() {
	local png=$1 title=$2 xl=$3 yl=$4 tsv=$5 extra=${6:-} plots=() s i=1
	while read -r s; do
		plots+=("'$tsv.series.$s' using 2:3 with linespoints lw 2 pt 7 lc $i title '$s'")
		i=$((i + 1))
	done < <(split_series "$tsv")
	local IFS=,
	gnuplot_run "$png" "set title '$title'
		set datafile separator tab
		set xlabel '$xl'
		set ylabel '$yl'
		set key top left
		$extra
		plot ${plots[*]}"
}
