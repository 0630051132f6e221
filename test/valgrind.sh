#!/bin/bash
#
# test/valgrind.sh: the pg_regress suite and the kernel unit tests under
# valgrind memcheck.
#
#   bash test/valgrind.sh          # as root, on Debian 12
#
# memcheck sees overruns inside palloc'd chunks only when PostgreSQL is
# built with USE_VALGRIND (its allocator then tells valgrind where each
# chunk ends), so this builds PostgreSQL 15 from Debian's source package
# (apt-get source postgresql-15, the newest version the mirror has the
# source of, upstream's tarball without Debian's patches, which would
# install into the system's directories; a deb-src entry beside the deb
# entries is added if there is none), with USE_VALGRIND and assertions, once, into
# OMENDB_VALGRIND_CACHE (default /var/cache/omendb/pg15-valgrind; later
# runs reuse it: about 10 minutes saved).  Then:
#   1. omendb is built and installed against that PostgreSQL;
#   2. a throw-away cluster runs under valgrind (every backend, with
#      PostgreSQL's own suppressions), and the pg_regress suite runs
#      against it (make installcheck without the TAP tests);
#   3. the kernel unit tests (test/kernels) run under valgrind;
#   4. every valgrind error is printed; the exit status is 1 if there was
#      one (or a test failed), 0 otherwise.
# It takes long (the regress suite runs 20-50 times slower under
# valgrind), so it is not part of test/run.sh.
#
# Environment:
#   OMENDB_VALGRIND_CACHE   where the PostgreSQL build is kept
#   OMENDB_VALGRIND_REGRESS pg_regress tests to run (default: all)
#   OMENDB_KEEP_TMP=1       keep the work directory (logs) on exit

set -euo pipefail

# shellcheck source=test/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

omendb_init
is_root || die "run as root: it installs packages and builds PostgreSQL"
CACHE=${OMENDB_VALGRIND_CACHE:-/var/cache/omendb/pg15-valgrind}
PREFIX=$CACHE/install
setup_test_user
make_workdir omendb-valgrind

# add_deb_src: a deb-src entry for every Debian deb entry, if none exists.
add_deb_src() {
	if grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list /etc/apt/sources.list.d/; then
		return
	fi
	note "adding deb-src entries"
	if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
		sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources \
			>/etc/apt/sources.list.d/omendb-deb-src.sources
	fi
	if [[ -f /etc/apt/sources.list ]]; then
		sed -n 's/^deb /deb-src /p' /etc/apt/sources.list \
			>/etc/apt/sources.list.d/omendb-deb-src.list
	fi
}

# build_postgres: PostgreSQL 15 with USE_VALGRIND and assertions into
# $PREFIX, unless it is there already.
build_postgres() {
	if [[ -x $PREFIX/bin/postgres && -x $PREFIX/bin/pg_config ]]; then
		note "PostgreSQL with USE_VALGRIND: $PREFIX (cached)"
		return
	fi
	section "PostgreSQL 15 from Debian's source, with USE_VALGRIND and assertions"
	add_deb_src
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		valgrind dpkg-dev build-essential >/dev/null
	rm -rf "$CACHE/src"
	mkdir -p "$CACHE/src"
	# the newest version whose source the mirror has (a security update's
	# may be missing where its binary package is not); upstream's tarball
	# as it is: Debian's patches put modules and PGXS in /usr/lib/postgresql
	# whatever the prefix, which would overwrite the system's PostgreSQL
	local version fetched="" tarball dir
	for version in $(apt-cache showsrc postgresql-15 | awk '/^Version:/ { print $2 }' | sort -rVu); do
		if (cd "$CACHE/src" &&
			apt-get source --download-only -qq "postgresql-15=$version" >"$CACHE/source.log" 2>&1); then
			fetched=$version
			break
		fi
		note "source of postgresql-15 $version not available, trying an older one"
	done
	[[ -n $fetched ]] || die "apt-get source postgresql-15 failed (see $CACHE/source.log)"
	tarball=$(find "$CACHE/src" -maxdepth 1 -name 'postgresql-15_*.orig.tar.*' | head -1)
	[[ -n $tarball ]] || die "no upstream tarball in $CACHE/src"
	tar -C "$CACHE/src" -xf "$tarball"
	dir=$(find "$CACHE/src" -maxdepth 1 -type d -name 'postgresql-15*' | head -1)
	[[ -n $dir ]] || die "no source tree in $CACHE/src"
	note "postgresql-15 $fetched, upstream source: $dir"
	(cd "$dir" &&
		./configure --prefix="$PREFIX" --enable-cassert --enable-debug \
			--without-readline --without-zlib --without-icu --without-llvm \
			CFLAGS="-O1 -g -fno-omit-frame-pointer -DUSE_VALGRIND" >"$CACHE/configure.log" 2>&1 &&
		make -j"$(nproc)" >"$CACHE/make.log" 2>&1) ||
		die "building PostgreSQL failed (logs in $CACHE)"
	# never install anywhere but under the prefix
	local path
	for path in $(sed -n 's/^#define [A-Z]*DIR[A-Z]* "\(.*\)"$/\1/p' "$dir/src/port/pg_config_paths.h"); do
		[[ $path == "$PREFIX"/* ]] || die "the build would install into $path, outside $PREFIX"
	done
	(cd "$dir" && make install >"$CACHE/install.log" 2>&1) ||
		die "installing PostgreSQL failed (logs in $CACHE)"
	cp "$dir/src/tools/valgrind.supp" "$PREFIX/valgrind.supp"
	note "installed into $PREFIX"
}

build_postgres
command -v valgrind >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null

# From here on, that PostgreSQL.
PG_CONFIG=$PREFIX/bin/pg_config
PGBIN=$PREFIX/bin
USER_PATH="$PGBIN:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"
export PG_CONFIG

copy_source
build_extension

section "cluster under valgrind"
CLUSTER_DATA=$WORKDIR/data
as_user initdb -D "$CLUSTER_DATA" -A trust -E UTF8 --locale=C --no-sync >"$WORKDIR/initdb.log" 2>&1 ||
	die "initdb failed"
PGPORT=$(free_port)
cat >>"$CLUSTER_DATA/postgresql.conf" <<EOF
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$WORKDIR'
fsync = off
max_connections = 20
autovacuum = off
EOF
VGLOG=$WORKDIR/valgrind
mkdir -p "$VGLOG"
chown "$TEST_USER": "$VGLOG"
VALGRIND=(valgrind --quiet --trace-children=yes --track-origins=yes --read-var-info=yes
	--leak-check=no --num-callers=30 --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END
	--suppressions="$PREFIX/valgrind.supp")
as_user bash -c "$(printf '%q ' "${VALGRIND[@]}") --log-file=$VGLOG/postgres.%p.log \
	$PGBIN/postgres -D $CLUSTER_DATA >$WORKDIR/postgres.log 2>&1 &"
for i in $(seq 1 300); do
	as_user pg_isready -q -h "$WORKDIR" -p "$PGPORT" && break
	sleep 1
done
as_user pg_isready -q -h "$WORKDIR" -p "$PGPORT" || die "the server did not start under valgrind"
PGHOST=$WORKDIR
export PGHOST PGPORT
note "server under valgrind: PGHOST=$PGHOST PGPORT=$PGPORT"

section "pg_regress under valgrind"
STATUS=0
start=$(now)
as_user make -C "$SRCDIR" installcheck PG_CONFIG="$PG_CONFIG" PGHOST="$PGHOST" PGPORT="$PGPORT" \
	TAP_TESTS= PROVE_TESTS= ${OMENDB_VALGRIND_REGRESS:+REGRESS="$OMENDB_VALGRIND_REGRESS"} \
	</dev/null >"$WORKDIR/regress.log" 2>&1 || {
	STATUS=1
	tail -n 30 "$WORKDIR/regress.log"
	[[ -f $SRCDIR/regression.diffs ]] && head -n 100 "$SRCDIR/regression.diffs"
}
grep -E '^(ok|not ok|test |     )' "$WORKDIR/regress.log" | sed 's/^/    /' || true
note "pg_regress took $(elapsed "$start") s"
stop_cluster

section "kernel unit tests under valgrind"
as_user make -C "$SRCDIR" test/kernels/test_distance test/kernels/test_quant >/dev/null
for t in test_distance test_quant; do
	as_user "${VALGRIND[@]}" --log-file="$VGLOG/$t.log" "$SRCDIR/test/kernels/$t" \
		>"$WORKDIR/$t.out" 2>&1 || { STATUS=1; tail -n 20 "$WORKDIR/$t.out"; }
	note "$t: $(tail -n 1 "$WORKDIR/$t.out")"
done

section "valgrind errors"
ERRORS=$(cat "$VGLOG"/*.log | grep -c VALGRINDERROR-BEGIN || true)
if [[ $ERRORS -gt 0 ]]; then
	for f in "$VGLOG"/*.log; do
		grep -q VALGRINDERROR-BEGIN "$f" || continue
		echo "--- $f"
		sed -n '/VALGRINDERROR-BEGIN/,/VALGRINDERROR-END/p' "$f" | head -n 200
	done
	STATUS=1
fi
note "valgrind reported $ERRORS error(s)"
[[ $STATUS -eq 0 ]] && note "omendb valgrind: clean" || note "omendb valgrind: FAILED"
exit "$STATUS"
