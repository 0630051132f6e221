#!/bin/bash
#
# test/bench/suite.sh: the benchmark suite in one command.  Builds and
# installs omendb, starts a throw-away cluster (or uses the caller's server
# when PGHOST or PGPORT is set), runs the stages, and writes a Markdown
# report with PNG plots (gnuplot) into the output directory.
#
#   bash test/bench/suite.sh                      # every stage, full size
#   bash test/bench/suite.sh --quick              # small sizes, < 5 minutes (CI)
#   bash test/bench/suite.sh --stage million      # one stage (repeatable)
#   bash test/bench/suite.sh --compare pgvector   # also pgvector's hnsw
#   bash test/bench/suite.sh --list               # stages and their budgets
#
# Options:
#   --quick             small data everywhere (the CI run)
#   --stage NAME        run only the named stages (repeat; default all)
#   --compare pgvector  run the same workloads against pgvector's vector
#                       extension, which must be installed in the server's
#                       PostgreSQL (this repository never builds it), in
#                       separate databases of the same server; the report
#                       puts both systems side by side and quotes ratios
#   --out DIR           report directory (default bench-report)
#   --list              print the stages with their time budgets and exit
#
# Stages (in this order):
#   fmnist     Fashion-MNIST 60,000 x 784: build time, sizes, exact scan,
#              recall@10 and QPS over a sweep of the search list size
#   million    the same on 1,000,000 x 128 vectors from a deterministic
#              embedding-like mixture (test/bench/gen_mixture.c)
#   lowmem     CREATE INDEX of the million set at maintenance_work_mem 64MB
#   curve      time per 1,000 single-row inserts at growing table sizes
#   pgbench    pgbench workloads: k-NN queries, single-row inserts, and a
#              90/8/2 query/insert/delete mix with VACUUM beside it, at 1, 2
#              and 4 clients (TPS, latency percentiles)
#   churn      test/bench/churn.sh: delete/insert/VACUUM rounds; index-first
#              COPY against bulk build
#   filtered   test/bench/filtered.sh: filtered search, near/far/1%
#
# Every dataset lives in its own database per system (omendb_fmnist,
# pgvector_fmnist, ...), with the tables items (id, embedding) and queries
# (id, embedding), so the pgbench scripts and helpers work on any of them.
# Generated data and ground truth are cached in OMENDB_BENCH_CACHE (default
# /var/tmp/omendb-bench-cache) and reused across runs; on a reused server
# the loaded tables are reused too.
#
# Environment: OMENDB_BENCH_CACHE, OMENDB_BENCH_SECONDS (pgbench seconds
# per measurement), and what test/lib.sh reads (PG_CONFIG, OMENDB_PG_CONF,
# OMENDB_KEEP_TMP).

set -euo pipefail

# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

ALL_STAGES=(fmnist million lowmem curve pgbench churn filtered)
K=10

# ---------------------------------------------------------------- options

usage() {
	sed -n '3,/^$/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit "${1:-0}"
}

parse_args() {
	QUICK=0
	COMPARE=""
	OUT_DIR=""
	LIST_ONLY=0
	STAGES=()
	while [[ $# -gt 0 ]]; do
		case $1 in
		--quick) QUICK=1 ;;
		--compare)
			[[ ${2:-} == pgvector ]] || die "--compare takes 'pgvector'"
			COMPARE=pgvector
			shift
			;;
		--stage)
			[[ " ${ALL_STAGES[*]} " == *" ${2:-} "* ]] ||
				die "--stage: unknown stage '${2:-}' (${ALL_STAGES[*]})"
			STAGES+=("$2")
			shift
			;;
		--out)
			[[ -n ${2:-} ]] || die "--out needs a directory"
			OUT_DIR=$2
			shift
			;;
		--list) LIST_ONLY=1 ;;
		-h | --help) usage 0 ;;
		*) die "unknown option '$1' (see --help)" ;;
		esac
		shift
	done
	[[ ${#STAGES[@]} -gt 0 ]] || STAGES=("${ALL_STAGES[@]}")
	OUT_DIR=$(mkdir -p "${OUT_DIR:-bench-report}" && cd "${OUT_DIR:-bench-report}" && pwd)
	CACHE=${OMENDB_BENCH_CACHE:-/var/tmp/omendb-bench-cache}
	SYSTEMS=(omendb)
	[[ -n $COMPARE ]] && SYSTEMS+=("$COMPARE")
	return 0
}

# ---------------------------------------------------------------- stages

# shellcheck source=test/bench/suite_lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/suite_lib.sh"
# shellcheck source=test/bench/suite_search.sh
source "$(dirname "${BASH_SOURCE[0]}")/suite_search.sh"
# shellcheck source=test/bench/suite_workloads.sh
source "$(dirname "${BASH_SOURCE[0]}")/suite_workloads.sh"
# shellcheck source=test/bench/suite_scripts.sh
source "$(dirname "${BASH_SOURCE[0]}")/suite_scripts.sh"

main() {
	SUITE_ARGS="$*"
	parse_args "$@"
	omendb_init
	if [[ $LIST_ONLY == 1 ]]; then
		list_stages
		exit 0
	fi
	SUITE_T0=$(now)
	suite_server
	prepare_output
	local i=0 stage
	for stage in "${STAGES[@]}"; do
		i=$((i + 1))
		stage_begin "$stage" "$i" "${#STAGES[@]}"
		"stage_$stage"
		stage_end "$stage"
	done
	write_report
	section "report: $OUT_DIR/report.md ($(elapsed "$SUITE_T0") s in all)"
}

main "$@"
