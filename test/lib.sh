# test/lib.sh: shell helpers shared by test/run.sh, test/demo.sh and the
# benchmarks test/bench/*.sh.  Source it; it defines functions and a few
# variables and runs nothing by itself.
#
# What the helpers do, in the order the scripts call them:
#   omendb_init            locate the repository and PostgreSQL 15
#   ensure_packages        apt-get install what a fresh Debian 12 lacks (root)
#   setup_test_user        pick the unprivileged user that builds and runs servers
#   make_workdir           fresh temp dir owned by that user, removed on exit
#   copy_source            copy the checkout (tracked + untracked, not ignored)
#   build_extension        make (as the test user), make install (as root)
#   start_cluster          initdb + pg_ctl start in the temp dir, stopped on exit
#   bench_server           for a benchmark: the caller's server, or all of the above
#
# Environment overrides:
#   PG_CONFIG            pg_config to build against (default PostgreSQL 15's)
#   OMENDB_TEST_USER     unprivileged user when running as root (default omendb)
#   OMENDB_KEEP_TMP=1    keep the temp dir (sources, cluster, logs) on exit
#   OMENDB_PG_CONF       extra postgresql.conf lines for the throw-away cluster

# ---------------------------------------------------------------- messages

# Section header, so a long CI log can be skimmed.
section() { printf '\n==> %s\n' "$*"; }

# Informational line.
note() { printf '    %s\n' "$*"; }

# Error message and exit (the EXIT trap cleans up).
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# Seconds since the epoch with fractions, for timings.
now() { date +%s.%N; }

# elapsed START [DECIMALS]: seconds since START, with one decimal or DECIMALS.
elapsed() { awk -v a="$1" -v b="$(now)" -v d="${2:-1}" 'BEGIN { printf "%." d "f", b - a }'; }

# ---------------------------------------------------------------- set-up

# omendb_init: set REPO_ROOT, PG_CONFIG, PGBIN, USER_PATH.  The caller's
# connection settings are kept in CALLER_PG* (for use_caller_server).
omendb_init() {
	REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	if [[ -z "${PG_CONFIG:-}" ]]; then
		if [[ -x /usr/lib/postgresql/15/bin/pg_config ]]; then
			PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
		else
			PG_CONFIG=pg_config
		fi
	fi
	if command -v "$PG_CONFIG" >/dev/null 2>&1; then
		PGBIN=$("$PG_CONFIG" --bindir)
	else
		PGBIN=/usr/lib/postgresql/15/bin
	fi
	# PATH for commands run as the test user: PostgreSQL's binaries first,
	# and nothing from the caller's (possibly root-only) directories.
	USER_PATH="$PGBIN:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
	export PG_CONFIG
	CALLER_PGHOST=${PGHOST:-}
	CALLER_PGPORT=${PGPORT:-}
	CALLER_PGUSER=${PGUSER:-}
	CALLER_PGDATABASE=${PGDATABASE:-}
	CALLER_PGOPTIONS=${PGOPTIONS:-}
	# Server settings from the caller's environment must not leak into
	# the throw-away cluster's clients.
	unset PGHOST PGPORT PGUSER PGDATABASE PGOPTIONS PGSERVICE PGPASSWORD \
		PGHOSTADDR PGSSLMODE PGDATA 2>/dev/null || true
	WORKDIR=""
	CLUSTER_DATA=""
}

# is_root: true when running as root.
is_root() { [[ $(id -u) -eq 0 ]]; }

# missing_packages WHAT...: print the Debian packages needed for WHAT that
# are not installed.  WHAT is any of: build tap dataset plot.
missing_packages() {
	local what pkgs=()
	for what in "$@"; do
		case $what in
		build)
			# PGXS makefiles come with the server headers.
			if ! command -v "$PG_CONFIG" >/dev/null 2>&1 ||
				[[ ! -f $("$PG_CONFIG" --pgxs 2>/dev/null || echo /nonexistent) ]]; then
				pkgs+=(postgresql-server-dev-15)
			fi
			command -v make >/dev/null 2>&1 || pkgs+=(make)
			command -v gcc >/dev/null 2>&1 || pkgs+=(gcc)
			;;
		tap)
			perl -MIPC::Run -e 1 >/dev/null 2>&1 || pkgs+=(libipc-run-perl)
			command -v prove >/dev/null 2>&1 || pkgs+=(perl)
			;;
		dataset)
			[[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ]] ||
				pkgs+=(dataset-fashion-mnist)
			;;
		plot)
			command -v gnuplot >/dev/null 2>&1 || pkgs+=(gnuplot-nox)
			;;
		esac
	done
	if [[ ${#pkgs[@]} -gt 0 ]]; then
		printf '%s\n' "${pkgs[@]}"
	fi
}

# ensure_packages WHAT...: install what missing_packages reports, quietly.
# Needs root; as a normal user, fail with the command to run.
ensure_packages() {
	local pkgs
	mapfile -t pkgs < <(missing_packages "$@")
	[[ ${#pkgs[@]} -eq 0 ]] && return 0
	if ! is_root; then
		die "missing Debian packages: ${pkgs[*]}
       run this script as root (it installs them), or first run:
       sudo apt-get install -y ${pkgs[*]}"
	fi
	section "installing ${pkgs[*]}"
	local aptlog
	aptlog=$(mktemp /tmp/omendb-apt.XXXXXX)
	# Quiet on success; the whole apt output on failure.
	if ! { DEBIAN_FRONTEND=noninteractive apt-get update -q &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			--no-install-recommends "${pkgs[@]}"; } >"$aptlog" 2>&1; then
		cat "$aptlog" >&2
		rm -f "$aptlog"
		die "apt-get install ${pkgs[*]} failed"
	fi
	rm -f "$aptlog"
	# PG_CONFIG may only exist now.
	omendb_init_pgbin
	note "installed"
}

# omendb_init_pgbin: recompute PGBIN after packages were installed.
omendb_init_pgbin() {
	if command -v "$PG_CONFIG" >/dev/null 2>&1; then
		PGBIN=$("$PG_CONFIG" --bindir)
		USER_PATH="$PGBIN:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
	fi
}

# setup_test_user: set TEST_USER.  As root, the unprivileged user that
# builds and runs the servers (created if missing); otherwise the caller.
setup_test_user() {
	if is_root; then
		TEST_USER=${OMENDB_TEST_USER:-omendb}
		if ! id "$TEST_USER" >/dev/null 2>&1; then
			note "creating user $TEST_USER"
			useradd --create-home --shell /bin/bash "$TEST_USER" ||
				die "useradd $TEST_USER failed"
		fi
	else
		TEST_USER=$(id -un)
	fi
}

# as_user CMD...: run CMD as the test user with a clean PATH.  Variables
# are passed with env: as_user env PGPORT=5 psql ...
as_user() {
	if is_root; then
		runuser -u "$TEST_USER" -- env PATH="$USER_PATH" "$@"
	else
		env PATH="$USER_PATH" "$@"
	fi
}

# check_install_access: a normal user can only "make install" into
# directories it can write.
check_install_access() {
	is_root && return 0
	local libdir extdir
	libdir=$("$PG_CONFIG" --pkglibdir)
	extdir=$("$PG_CONFIG" --sharedir)/extension
	if [[ ! -w $libdir || ! -w $extdir ]]; then
		die "make install needs root or write access to $libdir and $extdir
       run as root (e.g. sudo bash $0); the build and the test servers
       then run as the unprivileged user '${OMENDB_TEST_USER:-omendb}'"
	fi
}

# make_workdir PREFIX: create WORKDIR, owned by the test user, and install
# the EXIT trap that stops the cluster and removes WORKDIR.
make_workdir() {
	WORKDIR=$(mktemp -d "/tmp/${1:-omendb}.XXXXXX")
	chmod 755 "$WORKDIR"
	is_root && chown "$TEST_USER": "$WORKDIR"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# cleanup: EXIT trap.  Stops background jobs we started, the cluster, and
# removes the temp dir.  Keeps the script's exit status.
cleanup() {
	local rc=$?
	set +e
	local pid
	for pid in "${BACKGROUND_PIDS[@]:-}"; do
		[[ -n $pid ]] && kill "$pid" 2>/dev/null
	done
	stop_cluster
	if [[ -n ${WORKDIR:-} && -d $WORKDIR ]]; then
		if [[ ${OMENDB_KEEP_TMP:-0} == 1 ]]; then
			note "kept $WORKDIR (OMENDB_KEEP_TMP=1)"
		else
			rm -rf "$WORKDIR"
		fi
	fi
	exit "$rc"
}
BACKGROUND_PIDS=()

# copy_source: copy the checkout into $WORKDIR/src (tracked files plus
# untracked ones that are not ignored), so builds never touch the checkout.
copy_source() {
	SRCDIR=$WORKDIR/src
	mkdir -p "$SRCDIR"
	if command -v git >/dev/null 2>&1 &&
		git -c safe.directory='*' -C "$REPO_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		# Files deleted in the working tree are still listed by ls-files -c.
		(cd "$REPO_ROOT" &&
			git -c safe.directory='*' ls-files -z -co --exclude-standard |
			while IFS= read -r -d '' f; do
				[[ -e $f ]] && printf '%s\0' "$f"
			done | tar --null -T - -cf -) | tar -C "$SRCDIR" -xf -
	else
		(cd "$REPO_ROOT" && tar --exclude=.git -cf - .) | tar -C "$SRCDIR" -xf -
	fi
	is_root && chown -R "$TEST_USER": "$SRCDIR"
	note "sources copied to $SRCDIR"
}

# build_extension: make as the test user (warnings visible), make install
# as root (or as the caller if it may write the install directories).
build_extension() {
	section "build (make)"
	# stdin from /dev/null: the install-script rule runs "cat" on its
	# parts, which must never wait on a terminal.
	as_user make -C "$SRCDIR" PG_CONFIG="$PG_CONFIG" -j"$(nproc)" </dev/null ||
		die "make failed"
	section "install (make install)"
	env PATH="$USER_PATH" make -C "$SRCDIR" PG_CONFIG="$PG_CONFIG" install \
		</dev/null >"$WORKDIR/install.log" 2>&1 || {
		cat "$WORKDIR/install.log" >&2
		die "make install failed"
	}
	note "installed into $("$PG_CONFIG" --pkglibdir) and $("$PG_CONFIG" --sharedir)/extension"
}

# free_port: print a TCP port nothing listens on.  The cluster listens on
# a unix socket in its own directory only, but a free port keeps clients
# from confusing it with anything else.
free_port() {
	local port tries
	for tries in $(seq 1 100); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	die "no free port found"
}

# start_cluster: initdb + start a throw-away server in $WORKDIR/data with
# its unix socket in $WORKDIR.  Exports PGHOST and PGPORT.
start_cluster() {
	CLUSTER_DATA=$WORKDIR/data
	section "start throw-away cluster"
	as_user initdb -D "$CLUSTER_DATA" -A trust -E UTF8 --locale=C --no-sync \
		>"$WORKDIR/initdb.log" 2>&1 || {
		cat "$WORKDIR/initdb.log" >&2
		die "initdb failed"
	}
	PGPORT=$(free_port)
	# Speed over durability: this cluster is thrown away.
	cat >>"$CLUSTER_DATA/postgresql.conf" <<-EOF

		# omendb test cluster
		port = $PGPORT
		listen_addresses = ''
		unix_socket_directories = '$WORKDIR'
		fsync = off
		synchronous_commit = off
		full_page_writes = off
		max_wal_size = 4GB
		${OMENDB_PG_CONF:-}
	EOF
	as_user pg_ctl -D "$CLUSTER_DATA" -l "$WORKDIR/postgres.log" -w -t 60 start \
		>/dev/null || {
		tail -n 50 "$WORKDIR/postgres.log" >&2
		CLUSTER_DATA=""
		die "server did not start"
	}
	PGHOST=$WORKDIR
	export PGHOST PGPORT
	note "server running: PGHOST=$PGHOST PGPORT=$PGPORT (log $WORKDIR/postgres.log)"
}

# stop_cluster: stop the throw-away server if it runs.
stop_cluster() {
	[[ -n ${CLUSTER_DATA:-} && -f $CLUSTER_DATA/postmaster.pid ]] || return 0
	as_user pg_ctl -D "$CLUSTER_DATA" -m fast -w stop >/dev/null 2>&1 ||
		as_user pg_ctl -D "$CLUSTER_DATA" -m immediate -w stop >/dev/null 2>&1
	CLUSTER_DATA=""
}

# client CMD...: run a PostgreSQL client program (psql, pgbench) against the
# current server: our throw-away cluster (as the test user), or, when none
# was started, whatever the caller's PGHOST/PGPORT/... name.  CLIENT_PGOPTIONS
# adds to PGOPTIONS (e.g. "-c enable_indexscan=off").
client() {
	if [[ -n ${CLUSTER_DATA:-} ]]; then
		as_user env PGHOST="$PGHOST" PGPORT="$PGPORT" \
			PGDATABASE="${PGDATABASE:-postgres}" \
			PGOPTIONS="${CLIENT_PGOPTIONS:-}" "$@"
	else
		env PGOPTIONS="${PGOPTIONS:-} ${CLIENT_PGOPTIONS:-}" "$@"
	fi
}

# upsql ARGS...: quiet psql that stops at the first error.
upsql() { client psql -X -q -v ON_ERROR_STOP=1 "$@"; }

# sql1 QUERY: the single value QUERY returns.
sql1() { upsql -At -c "$1"; }

# ---------------------------------------------------------------- data

FASHION_MNIST_DIR=/usr/share/datasets/fashion-mnist

# load_fashion_mnist ROWS: (re)create items(id, embedding vector(784)) with
# the first ROWS training images and queries(id, embedding) with all 10,000
# test images, then VACUUM ANALYZE both.  Creates the extension that
# defines vector if missing: VECTOR_EXTENSION (default omendb).
load_fashion_mnist() {
	local rows=$1 loader=$REPO_ROOT/test/fashion_mnist.pl t0
	[[ -f $FASHION_MNIST_DIR/train-images-idx3-ubyte.gz ]] ||
		die "Fashion-MNIST not found in $FASHION_MNIST_DIR (apt-get install dataset-fashion-mnist)"
	section "load Fashion-MNIST: $rows training images into items, 10000 test images into queries"
	t0=$(now)
	upsql <<-EOF
		SET client_min_messages = warning;
		CREATE EXTENSION IF NOT EXISTS ${VECTOR_EXTENSION:-omendb};
		DROP TABLE IF EXISTS items, queries CASCADE;
		CREATE TABLE items (id int, embedding vector(784));
		CREATE TABLE queries (id int, embedding vector(784));
	EOF
	# The loader runs as the caller (it reads the dataset), psql as the
	# test user; the data goes through the pipe.
	perl "$loader" --set train --limit "$rows" |
		upsql -c "COPY items (id, embedding) FROM STDIN"
	perl "$loader" --set test |
		upsql -c "COPY queries (id, embedding) FROM STDIN"
	finish_items_queries
	LOAD_SECONDS=$(elapsed "$t0")
	note "loaded $(sql1 'SELECT count(*) FROM items') rows in $LOAD_SECONDS s"
}

# finish_items_queries: primary keys on the freshly loaded items and
# queries, then VACUUM ANALYZE both.
finish_items_queries() {
	upsql <<-'EOF'
		ALTER TABLE items ADD PRIMARY KEY (id);
		ALTER TABLE queries ADD PRIMARY KEY (id);
		VACUUM ANALYZE items;
		VACUUM ANALYZE queries;
	EOF
}

# create_knn_helpers: knn_run(nq, k) runs the k-NN query for queries 1..nq
# one at a time, as an application would, and returns each query's result
# ids and its latency in ms.  Whether the index is used is up to the
# session's settings (enable_indexscan, diskann.query_search_list_size):
# each query is planned afresh (force_custom_plan), with its own vector and
# k, as an application's ad-hoc query would be, so the latency includes
# planning, and a SET between calls is never hidden by a cached plan.
create_knn_helpers() {
	upsql <<-'EOF'
		CREATE OR REPLACE FUNCTION knn_run(nq int, k int,
			OUT qid int, OUT ids int[], OUT ms float8)
		RETURNS SETOF record LANGUAGE plpgsql
		SET plan_cache_mode = force_custom_plan AS $$
		DECLARE
			v vector;
			t0 timestamptz;
		BEGIN
			FOR qid, v IN SELECT q.id, q.embedding FROM queries q
					WHERE q.id <= nq ORDER BY q.id LOOP
				t0 := clock_timestamp();
				ids := ARRAY(SELECT i.id FROM items i
							 ORDER BY i.embedding <-> v LIMIT k);
				ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
				RETURN NEXT;
			END LOOP;
		END $$;

		-- recall(result, truth): |result ∩ truth| / |truth|
		CREATE OR REPLACE FUNCTION recall(result int[], truth int[])
		RETURNS float8 LANGUAGE sql IMMUTABLE AS $$
			SELECT count(*)::float8 / cardinality(truth)
			FROM unnest(result) AS r(id) WHERE r.id = ANY (truth)
		$$;
	EOF
}

# has_diskann: true when the diskann access method exists.
has_diskann() {
	[[ $(sql1 "SELECT count(*) FROM pg_am WHERE amname = 'diskann'") == 1 ]]
}

# start_progress_monitor: print CREATE INDEX progress every few seconds
# from a second connection, in the background, until stop_progress_monitor.
start_progress_monitor() {
	(
		set +e
		while sleep "${OMENDB_PROGRESS_INTERVAL:-5}"; do
			client psql -X -At -F ' ' -c "
				SELECT 'progress: ' || phase
				       || CASE WHEN tuples_total > 0 THEN format(', tuples %s/%s (%s%%)',
				              tuples_done, tuples_total, 100 * tuples_done / tuples_total) ELSE '' END
				       || CASE WHEN blocks_total > 0 THEN format(', blocks %s/%s',
				              blocks_done, blocks_total) ELSE '' END
				FROM pg_stat_progress_create_index" 2>/dev/null |
				sed 's/^/    /'
		done
	) &
	PROGRESS_PID=$!
	BACKGROUND_PIDS+=("$PROGRESS_PID")
}

stop_progress_monitor() {
	[[ -n ${PROGRESS_PID:-} ]] || return 0
	kill "$PROGRESS_PID" 2>/dev/null || true
	wait "$PROGRESS_PID" 2>/dev/null || true
	PROGRESS_PID=""
}

# ---------------------------------------------------------------- benchmarks
# Used by test/bench/*.sh.  The k-NN helpers work on the tables items and
# queries and need create_knn_helpers.

# use_caller_server [EXTENSION]: connect to the server the caller's PG*
# variables name and create EXTENSION there (default omendb, which must be
# installed there; an empty name creates none).
use_caller_server() {
	local ext=${1-omendb}
	[[ -n $CALLER_PGHOST ]] && export PGHOST=$CALLER_PGHOST
	[[ -n $CALLER_PGPORT ]] && export PGPORT=$CALLER_PGPORT
	[[ -n $CALLER_PGUSER ]] && export PGUSER=$CALLER_PGUSER
	[[ -n $CALLER_PGDATABASE ]] && export PGDATABASE=$CALLER_PGDATABASE
	[[ -n $CALLER_PGOPTIONS ]] && export PGOPTIONS=$CALLER_PGOPTIONS
	export PATH="$PGBIN:$PATH"
	section "using the server at PGHOST=${PGHOST:-default} PGPORT=${PGPORT:-default}"
	sql1 "SELECT version()" >/dev/null || die "cannot connect"
	[[ -n $ext ]] || return 0
	upsql -c "SET client_min_messages = warning; CREATE EXTENSION IF NOT EXISTS $ext" ||
		die "$ext is not installed on that server (make install)"
}

# own_server PREFIX: packages, build, install, and a throw-away cluster
# with room for the data and the index builds (temp dir PREFIX.XXXXXX).
own_server() {
	ensure_packages build dataset
	setup_test_user
	check_install_access
	make_workdir "$1"
	copy_source
	build_extension
	OMENDB_PG_CONF="shared_buffers = 1GB
maintenance_work_mem = 2GB
${OMENDB_PG_CONF:-}"
	start_cluster
}

# bench_server PREFIX: the caller's server when PGHOST or PGPORT was set
# (with VECTOR_EXTENSION, default omendb), else own_server PREFIX.  Sets
# BENCH_DIR, test/bench where the clients can read it (the throw-away
# cluster's run as the test user: the copied sources).
bench_server() {
	if [[ -n $CALLER_PGHOST || -n $CALLER_PGPORT ]]; then
		use_caller_server "${VECTOR_EXTENSION:-omendb}"
		BENCH_DIR=$REPO_ROOT/test/bench
	else
		own_server "$1"
		BENCH_DIR=$SRCDIR/test/bench
	fi
}

# fmt1 X: X with one decimal.  ratio A B: A / B with one decimal.
fmt1() { awk -v a="$1" 'BEGIN { printf "%.1f", a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "-" }'; }

# duration_args: pgbench's -t or -T for one measurement:
# OMENDB_BENCH_TRANSACTIONS transactions, else OMENDB_BENCH_SECONDS (10).
duration_args() {
	if [[ -n ${OMENDB_BENCH_TRANSACTIONS:-} ]]; then
		echo "-t $OMENDB_BENCH_TRANSACTIONS"
	else
		echo "-T ${OMENDB_BENCH_SECONDS:-10}"
	fi
}

# pgbench_tps PGOPTIONS ARGS...: pgbench -n ARGS, PGOPTIONS added to the
# sessions' settings; sets TPS and LAT_MS (average latency in ms).  Any
# failure, including an aborted client, stops with pgbench's output.
pgbench_tps() {
	local opts=$1 out
	shift
	if ! out=$(CLIENT_PGOPTIONS="$opts" client pgbench -n "$@" 2>&1); then
		printf '%s\n' "$out" >&2
		die "pgbench failed"
	fi
	TPS=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
	LAT_MS=$(sed -n 's/^latency average = \([0-9.]*\) ms.*/\1/p' <<<"$out")
	[[ -n $TPS ]] || {
		printf '%s\n' "$out" >&2
		die "no tps in pgbench output"
	}
}

# knn_pgbench NQ PGOPTIONS ARGS...: QPS of test/bench/knn_l2.sql, one
# client, prepared statements, random queries among 1..NQ; ARGS give the
# duration (-t N or -T S).  Sets TPS and LAT_MS.
knn_pgbench() {
	local nq=$1 opts=$2
	shift 2
	pgbench_tps "$opts" -M prepared -c 1 -f "$BENCH_DIR/knn_l2.sql" \
		-D nqueries="$nq" "$@"
}

# bench_jobs: sessions for the ground truth (OMENDB_BENCH_JOBS, default
# one per core).
bench_jobs() { echo "${OMENDB_BENCH_JOBS:-$(nproc)}"; }

# exact_topk TABLE NQ K: (re)create TABLE (qid, ids) holding, for each of
# queries 1..NQ, the ids of the K rows of items nearest by L2, found by
# sequential scans in bench_jobs sessions that share out the queries.
exact_topk() {
	local table=$1 nq=$2 k=$3 jobs j pid pids=() failed=0
	jobs=$(bench_jobs)
	upsql <<-EOF
		SET client_min_messages = warning;
		DROP TABLE IF EXISTS $table;
		CREATE TABLE $table (qid int PRIMARY KEY, ids int[] NOT NULL);
	EOF
	for ((j = 0; j < jobs; j++)); do
		upsql <<-EOF &
			SET enable_indexscan = off;
			SET enable_bitmapscan = off;
			SET max_parallel_workers_per_gather = 0;
			INSERT INTO $table (qid, ids)
			SELECT q.id, ARRAY(SELECT i.id FROM items i
							   ORDER BY i.embedding <-> q.embedding LIMIT $k)
			FROM queries q
			WHERE q.id <= $nq AND q.id % $jobs = $j;
		EOF
		pids+=($!)
	done
	for pid in "${pids[@]}"; do
		wait "$pid" || failed=1
	done
	[[ $failed == 0 ]] || die "ground truth query failed"
}

# The setting a sweep varies: diskann.query_search_list_size, or another
# index's (hnsw.ef_search) when LIST_GUC says so.
list_guc() { echo "${LIST_GUC:-diskann.query_search_list_size}"; }

# recall_at L GT NQ K: mean recall@K of queries 1..NQ run through knn_run
# at list_guc L, against the ids in table GT (as exact_topk makes it), to 4
# decimals.
recall_at() {
	sql1 "SET $(list_guc) = $1;
		SELECT round(avg(recall(r.ids, g.ids))::numeric, 4)
		FROM knn_run($3, $4) r JOIN $2 g USING (qid)"
}

# index_scan_used INDEX K [L]: true when the planner answers a k-NN query
# on items (LIMIT K) with an index scan using INDEX, at list_guc L if given.
index_scan_used() {
	local set="" plan
	[[ -n ${3:-} ]] && set="SET $(list_guc) = $3;"
	plan=$(sql1 "$set EXPLAIN (COSTS OFF) SELECT id FROM items
		ORDER BY embedding <-> (SELECT embedding FROM queries WHERE id = 1) LIMIT $2")
	grep -q "Index Scan using $1" <<<"$plan"
}

# sweep_point INDEX L GT NQ K: one point of a sweep of list_guc:
# POINT_RECALL, recall_at L over NQ
# queries; TPS and LAT_MS, knn_pgbench for duration_args; POINT_PLAN,
# "index", or "NO-INDEX" (with a warning) when the planner does not use
# INDEX at L.
sweep_point() {
	local index=$1 l=$2 gt=$3 nq=$4 k=$5
	POINT_PLAN=index
	if ! index_scan_used "$index" "$k" "$l"; then
		POINT_PLAN=NO-INDEX
		note "WARNING: the planner does not use $index at this setting"
	fi
	POINT_RECALL=$(recall_at "$l" "$gt" "$nq" "$k")
	# shellcheck disable=SC2046
	knn_pgbench "$nq" "-c $(list_guc)=$l" $(duration_args)
}

# create_diskann INDEX TABLE [MEM]: CREATE INDEX INDEX ON TABLE USING
# diskann (embedding vector_l2_ops), WITH (OMENDB_INDEX_WITH) if set, under
# maintenance_work_mem MEM (default OMENDB_MAINTENANCE_WORK_MEM, else 2GB),
# showing progress; BUILD_S is its time in seconds.  BENCH_AM=hnsw builds
# pgvector's index instead, with its default options.  Returns non-zero
# if CREATE INDEX fails (so that callers in a condition see it).
create_diskann() {
	local with="" t0 am=${BENCH_AM:-diskann}
	[[ $am == diskann && -n ${OMENDB_INDEX_WITH:-} ]] && with="WITH ($OMENDB_INDEX_WITH)"
	start_progress_monitor
	t0=$(now)
	if ! upsql <<-EOF; then
		SET maintenance_work_mem = '${3:-${OMENDB_MAINTENANCE_WORK_MEM:-2GB}}';
		CREATE INDEX $1 ON $2 USING $am (embedding vector_l2_ops) $with;
	EOF
		stop_progress_monitor
		return 1
	fi
	BUILD_S=$(elapsed "$t0")
	stop_progress_monitor
}
