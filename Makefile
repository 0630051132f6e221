# omendb: PGXS build.
#
#   make                 build omendb.so and the install script
#   make install         install into the PostgreSQL that pg_config names
#   make installcheck    pg_regress (sql/, expected/) and the TAP tests
#                        (test/t/*.pl) against an installed omendb
#
# The whole suite, including the set-up of a throw-away cluster, is
# "bash test/run.sh" (see README.md).

EXTENSION = omendb
EXTVERSION = 0.1.0

MODULE_big = omendb
OBJS = $(patsubst %.c,%.o,$(sort $(wildcard src/*.c)))
HEADERS = $(wildcard src/*.h)

# The install script is assembled from one file per module.
SQL_PARTS = $(sort $(wildcard sql/ext/*.sql))
DATA_built = $(EXTENSION)--$(EXTVERSION).sql

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

# -Wextra for our code; PostgreSQL's fmgr conventions leave parameters unused
# and its headers use partial initialisers, so those two are switched off.
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers \
	-Wno-sign-compare -Wno-cast-function-type

EXTRA_CLEAN = $(DATA_built) test/kernels/test_distance test/kernels/test_quant

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# the TAP tests' shared helpers (test/perl/DiskannTest.pm)
PG_PROVE_FLAGS += -I $(srcdir)/test/perl

# Every object depends on the headers (PGXS does not track them).
$(OBJS): $(HEADERS)

$(EXTENSION)--$(EXTVERSION).sql: $(SQL_PARTS)
	cat $^ > $@

# Stand-alone unit test of the distance kernels against a double reference.
test/kernels/test_distance: test/kernels/test_distance.c src/distance.c src/distance_half.c src/distance_sq8.c src/distance.h
	$(CC) -O2 -Wall -Wextra -Isrc -o $@ test/kernels/test_distance.c src/distance.c src/distance_half.c src/distance_sq8.c -lm

# Stand-alone unit test of the RaBitQ-style quantiser (rotation, kernels,
# estimator and its error bound).
test/kernels/test_quant: test/kernels/test_quant.c src/quant.c src/quant.h
	$(CC) -O2 -Wall -Wextra -Isrc -o $@ test/kernels/test_quant.c src/quant.c -lm

.PHONY: kernelcheck
kernelcheck: test/kernels/test_distance test/kernels/test_quant
	test/kernels/test_distance
	test/kernels/test_quant
