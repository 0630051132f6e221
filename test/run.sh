#!/bin/bash
#
# test/run.sh: the omendb test suite, from a fresh Debian 12 with the
# PostgreSQL 15 server to a verdict.  CI runs it through .ci/run.
#
#   bash test/run.sh
#
# Steps:
#   1. install missing build/test packages (postgresql-server-dev-15,
#      libipc-run-perl, make, gcc) when root;
#   2. copy the checkout to a temp dir and build there as an unprivileged
#      user (omendb, created if missing), so the checkout stays clean;
#   3. make install (needs root, or write access to PostgreSQL's dirs);
#   4. make kernelcheck (stand-alone distance kernel unit test);
#   5. start a throw-away cluster in the temp dir and run pg_regress
#      (make installcheck, sql/*.sql) against it;
#   6. run the benchmark suite's quick mode against that cluster
#      (test/bench/suite.sh --quick: every stage on small data, a Markdown
#      report with plots) and check the report: every stage's section, every
#      plot a PNG, recall of the unfiltered sweeps above a floor;
#   7. run the TAP tests (make installcheck's prove over test/t/*.pl; they
#      start their own clusters);
#   8. stop the cluster (also on failure or interrupt), print the failure
#      details, the summaries and a last line
#        omendb tests: N passed, M failed
#      counting the kernel test, each pg_regress test, the benchmark
#      suite's quick run and each TAP file.
# Exit status 0 only if everything passed.
#
# Environment: OMENDB_KEEP_TMP=1 keeps the temp dir; OMENDB_TEST_USER,
# PG_CONFIG, OMENDB_PG_CONF: see test/lib.sh.

set -euo pipefail

# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PASSED=0
FAILED=0
KERNEL_SUMMARY=""
REGRESS_SUMMARY=""
BENCH_SUMMARY="benchmark suite (quick): did not run"
TAP_SUMMARY=""
FAILED_TAP=()

# tally PASS FAIL: add to the suite counters.
tally() {
	PASSED=$((PASSED + $1))
	FAILED=$((FAILED + $2))
}

# final_line: the last line of the output, parsed by humans and CI alike.
final_line() {
	echo "omendb tests: $PASSED passed, $FAILED failed"
}

# as_tester CMD...: run CMD as the test user, pointed at the cluster.
as_tester() {
	as_user env PGHOST="$PGHOST" PGPORT="$PGPORT" "$@"
}

# run_logged LOG CMD...: run CMD, output to the terminal and to LOG; return
# CMD's exit status.
run_logged() {
	local log=$1
	shift
	set +e
	"$@" </dev/null 2>&1 | tee "$log"
	local rc=${PIPESTATUS[0]}
	set -e
	return "$rc"
}

# run_kernelcheck: make kernelcheck; one suite.
run_kernelcheck() {
	section "kernel unit test (make kernelcheck)"
	local log=$WORKDIR/kernelcheck.out
	if run_logged "$log" as_user make -C "$SRCDIR" PG_CONFIG="$PG_CONFIG" \
		--no-print-directory --silent kernelcheck; then
		tally 1 0
	else
		tally 0 1
	fi
	KERNEL_SUMMARY=$(grep -E '^kernels: ' "$log" | tail -n 1 || true)
	[[ -n $KERNEL_SUMMARY ]] || KERNEL_SUMMARY="kernels: did not run (see make kernelcheck above)"
}

# run_regress: make installcheck without the TAP part; one suite per
# pg_regress test.
run_regress() {
	section "pg_regress (make installcheck)"
	local tests
	tests=$(compgen -G "$SRCDIR/sql/*.sql" | wc -l || true)
	if [[ $tests -eq 0 ]]; then
		REGRESS_SUMMARY="pg_regress: no tests (sql/*.sql)"
		note "$REGRESS_SUMMARY"
		return 0
	fi
	local log=$WORKDIR/regress.out rc=0
	run_logged "$log" as_tester make -C "$SRCDIR" PG_CONFIG="$PG_CONFIG" \
		--no-print-directory --silent installcheck TAP_TESTS= || rc=$?

	# PostgreSQL 15 prints "test NAME ... ok" (or, in parallel groups,
	# "     NAME ... ok"); "failed (ignored)" does not count as a failure.
	local ok bad
	ok=$(grep -cE '^(test )? *[^ ]+ +\.\.\. (ok|failed \(ignored\))' "$log" || true)
	bad=$(grep -cE '^(test )? *[^ ]+ +\.\.\. FAILED' "$log" || true)
	if [[ $rc -ne 0 && $bad -eq 0 ]]; then
		bad=1 # pg_regress itself failed (connection, extension, ...)
	fi
	tally "$ok" "$bad"
	REGRESS_SUMMARY=$(awk '/^=+ *$/ { n++; print; if (n == 2) exit; next } n == 1' "$log")
	[[ -n $REGRESS_SUMMARY ]] || REGRESS_SUMMARY="pg_regress: did not run (exit status $rc)"
	if [[ $rc -ne 0 && -f $SRCDIR/regression.diffs ]]; then
		section "regression.diffs (first 200 lines)"
		head -n 200 "$SRCDIR/regression.diffs"
	fi
	return 0
}

# run_bench_quick: test/bench/suite.sh --quick against the running cluster,
# then check_bench_report; one suite.
run_bench_quick() {
	section "benchmark suite, quick (test/bench/suite.sh --quick)"
	local out=$WORKDIR/bench-report log=$WORKDIR/bench.out rc=0
	run_logged "$log" env PGHOST="$PGHOST" PGPORT="$PGPORT" PGUSER="$TEST_USER" \
		PG_CONFIG="$PG_CONFIG" OMENDB_BENCH_CACHE="$WORKDIR/bench-cache" \
		bash "$SRCDIR/test/bench/suite.sh" --quick --out "$out" || rc=$?
	if [[ $rc -eq 0 ]] && check_bench_report "$out"; then
		BENCH_SUMMARY="benchmark suite (quick): report and plots complete ($out/report.md)"
		tally 1 0
	else
		BENCH_SUMMARY="benchmark suite (quick): FAILED (exit status $rc; see above)"
		tally 0 1
	fi
}

# check_bench_report DIR: the quick report in DIR has every stage's
# section, every plot it shows is a PNG file, and the unfiltered sweeps
# reach recall@10 0.9 at their largest list size.
check_bench_report() {
	local dir=$1 ok=0 heading png stage best
	for heading in "## Fashion-MNIST" "## Embedding-like mixture" "## CREATE INDEX with little memory" \
		"## Insert-cost curve" "## pgbench workloads" "## Churn and index-first loading" "## Filtered search"; do
		if ! grep -q "^$heading" "$dir/report.md"; then
			note "report: no section '$heading'"
			ok=1
		fi
	done
	for png in $(sed -n 's/^!\[[^]]*\](\([^)]*\))$/\1/p' "$dir/report.md"); do
		if [[ $(head -c 4 "$dir/$png" 2>/dev/null | od -An -c | tr -d ' ') != '211PNG' ]]; then
			note "report: $png is not a PNG file"
			ok=1
		fi
	done
	for stage in fmnist million; do
		best=$(awk -F'\t' 'NR > 1 && $3 > best { best = $3 } END { print best + 0 }' \
			"$dir/data/${stage}_sweep.tsv" 2>/dev/null || echo 0)
		if ! awk -v b="$best" 'BEGIN { exit !(b >= 0.9) }'; then
			note "report: $stage sweep reaches recall@10 $best only"
			ok=1
		fi
	done
	return "$ok"
}

# run_tap: make installcheck's prove part; one suite per test/t/*.pl file.
run_tap() {
	section "TAP tests (make installcheck, prove test/t/*.pl)"
	local files=() f
	for f in "$SRCDIR"/test/t/*.pl; do
		[[ -f $f ]] && files+=("test/t/${f##*/}")
	done
	if [[ ${#files[@]} -eq 0 ]]; then
		TAP_SUMMARY="prove: no TAP tests (test/t/*.pl)"
		note "$TAP_SUMMARY"
		return 0
	fi
	local log=$WORKDIR/tap.out rc=0
	run_logged "$log" as_user make -C "$SRCDIR" PG_CONFIG="$PG_CONFIG" \
		--no-print-directory --silent installcheck REGRESS= PROVE_FLAGS=--timer || rc=$?

	# A file passed if prove printed "test/t/NAME.pl .. ok" for it.
	local ok=0
	FAILED_TAP=()
	for f in "${files[@]}"; do
		if grep -qE "^(\[[0-9:]+\] )?${f//./\\.} \.+ ok" "$log"; then
			ok=$((ok + 1))
		else
			FAILED_TAP+=("$f")
		fi
	done
	tally "$ok" "${#FAILED_TAP[@]}"
	TAP_SUMMARY=$(sed -n '/^\(All tests successful\|Test Summary Report\)/,/^Result:/p' "$log")
	[[ -n $TAP_SUMMARY ]] || TAP_SUMMARY="prove: did not finish (exit status $rc)"
	[[ ${#FAILED_TAP[@]} -eq 0 ]] || show_tap_logs
	return 0
}

# show_tap_logs: the end of each failed TAP file's logs, so CI shows why.
show_tap_logs() {
	local f name log
	for f in "${FAILED_TAP[@]}"; do
		name=$(basename "$f" .pl)
		for log in "$SRCDIR/tmp_check/log/regress_log_$name" \
			"$SRCDIR"/tmp_check/log/"${name}"_*.log; do
			[[ -f $log ]] || continue
			section "tail of ${log#"$SRCDIR"/}"
			tail -n 60 "$log"
		done
	done
}

main() {
	local t0
	t0=$(now)
	omendb_init
	section "omendb test suite ($PG_CONFIG: $("$PG_CONFIG" --version 2>/dev/null || echo missing))"
	ensure_packages build tap
	setup_test_user
	check_install_access
	make_workdir omendb-test
	note "test user $TEST_USER, temp dir $WORKDIR"
	copy_source
	if ! (build_extension); then
		tally 0 1
		final_line
		exit 1
	fi

	run_kernelcheck
	start_cluster
	run_regress
	run_bench_quick
	stop_cluster
	run_tap

	section "summary ($(elapsed "$t0") s)"
	echo "$KERNEL_SUMMARY"
	echo "$REGRESS_SUMMARY"
	echo "$BENCH_SUMMARY"
	echo "$TAP_SUMMARY"
	final_line
	[[ $FAILED -eq 0 ]]
}

main "$@"
