# spoold: top-level Makefile.
#
#   make                 bin/spoold, bin/spoolctl, build/libspoold.a
#   make check           unit + integration tests, then again under ASan+UBSan
#   make fuzz            libFuzzer harnesses (clang), FUZZ_SECONDS per target
#   make install         PREFIX=/usr/local DESTDIR=
#   make SANITIZE=address,undefined ...   any target with sanitizers
#   make CC=clang        clang build (gcc and clang are both kept warning-free)
#
# Missing Debian packages are installed by scripts/install-deps the first time
# pkg-config cannot find a dependency.

PREFIX   ?= /usr/local
DESTDIR  ?=
CC       ?= cc
SANITIZE ?=
# Builds inside make check and check-fault use every core; tests run one
# at a time (they time their own waits).
NPROC := $(shell nproc 2>/dev/null || echo 2)
FUZZ_SECONDS ?= 30

PKGS := libcurl openssl sqlite3 libxml-2.0 libcjson inih

ifeq ($(filter clean distclean,$(MAKECMDGOALS)),)
DEPS_OK := $(shell pkg-config --exists $(PKGS) 2>/dev/null && \
             test -d /usr/share/json-schema-test-suite/tests/draft7 && \
             test -x /usr/bin/fiu-run && test -x /usr/bin/faketime && echo yes)
ifneq ($(DEPS_OK),yes)
$(info spoold: installing missing build dependencies (scripts/install-deps))
DEPS_RC := $(shell scripts/install-deps >&2; echo $$?)
ifneq ($(DEPS_RC),0)
$(error scripts/install-deps failed; see the messages above)
endif
endif
endif

# Test hooks (named crash points, lib/util/testhook.h) exist only in test
# builds: the sanitizer build of make check and the fault build of
# make check-fault.  Release builds (make, make install) never have them.
TEST_HOOKS ?=
ifneq ($(SANITIZE)$(TEST_HOOKS),)
HOOKFLAGS := -DSPOOLD_TEST_HOOKS
else
HOOKFLAGS :=
endif

ifeq ($(SANITIZE),)
B ?= build
SANFLAGS :=
else
B ?= build-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

WARN := -Wall -Wextra -Werror -Wformat=2 -Wvla -Wshadow -Wpointer-arith \
        -Wstrict-prototypes -Wmissing-prototypes -Wmissing-declarations \
        -Wwrite-strings -Wundef -Wno-unused-parameter
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

CFLAGS  ?= -O2 -g
ALL_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -D_FILE_OFFSET_BITS=64 $(WARN) $(CFLAGS) \
             -DSPOOLD_SCHEMA_DIR='"$(PREFIX)/share/spoold/schemas"' \
             $(SANFLAGS) $(HOOKFLAGS) -Ilib $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)
LIBS = $(PKG_LIBS) -lm
# The audit verifies signatures on a thread pool (lib/spool/audit.c).
ALL_CFLAGS += -pthread
LIBS += -pthread

LIB_SRC  := $(sort $(wildcard lib/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
LIBA     := $(B)/libspoold.a

PROGS    := spoold spoolctl
SPOOLCTL_SRC := $(sort $(wildcard spoold/spoolctl*.c spoold/cmd_*.c))
SPOOLD_SRC   := spoold/spoold.c

UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/t/%)
# Benchmarks (tests/bench/bench_*.c): built and run at a small size by
# make check like the unit tests (so they never rot; no timing is
# asserted anywhere), at full size by make bench.
BENCH_SRC := $(sort $(wildcard tests/bench/bench_*.c))
BENCH_BIN := $(BENCH_SRC:tests/bench/%.c=$(B)/t/%)
UNIT_BIN += $(BENCH_BIN)
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
REPLAY_BIN := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=$(B)/t/replay_%)

BINDIR_OUT := $(if $(filter build,$(B)),bin,$(B)/bin)

.SECONDARY:
.PHONY: demo all check check-unit check-build test-san fuzz install clean lint
all: $(BINDIR_OUT)/spoold $(BINDIR_OUT)/spoolctl $(LIBA)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBA): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BINDIR_OUT)/spoold: $(SPOOLD_SRC:%.c=$(B)/%.o) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BINDIR_OUT)/spoolctl: $(SPOOLCTL_SRC:%.c=$(B)/%.o) $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/t/test_%: $(B)/tests/unit/test_%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Fuzz harnesses built as plain programs that replay files (corpus and
# crash regressions) through LLVMFuzzerTestOneInput; see tests/fuzz/README.
$(B)/t/replay_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/replay_main.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/t/bench_%: $(B)/tests/bench/bench_%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

check-build: all $(UNIT_BIN) $(REPLAY_BIN)

# One pass of every test against the binaries of build dir $(B).
check-unit: check-build
	@SPOOLD_BIN=$(abspath $(BINDIR_OUT)) BUILD_DIR=$(abspath $(B)) \
	  tests/run-tests $(UNIT_BIN) -- $(REPLAY_BIN)

check:
	@rm -f .check-summary
	@echo "== clang build (warnings as errors)"
	@$(MAKE) --no-print-directory -s -j$(NPROC) CC=clang B=build-clang all
	@echo "== gcc build and tests"
	@$(MAKE) --no-print-directory -j$(NPROC) check-build
	@$(MAKE) --no-print-directory check-unit SUMMARY=$(abspath .check-summary)
	@echo "== the same tests under AddressSanitizer + UndefinedBehaviorSanitizer"
	@$(MAKE) --no-print-directory -j$(NPROC) check-build SANITIZE=address,undefined
	@$(MAKE) --no-print-directory check-unit SANITIZE=address,undefined \
	  SUMMARY=$(abspath .check-summary)
	@tests/summarize .check-summary

export SUMMARY

# The fault suite (tests/fault/*.sh, docs/testing.md) at full size, against
# a build with the test hooks; ends with the summary table.  make check
# runs the same scenarios reduced.
.PHONY: check-fault
check-fault:
	@$(MAKE) --no-print-directory -j$(NPROC) B=build-fault TEST_HOOKS=1 check-build
	@SPOOLD_BIN=$(abspath build-fault/bin) BUILD_DIR=$(abspath build-fault) \
	  SPOOLD_FAULT_FULL=1 tests/run-fault

# libFuzzer: clang only. Each harness runs FUZZ_SECONDS; new crashes land in
# tests/fuzz/crashes/<target>/ and are replayed by `make check` from then on.
FUZZ_B := build-fuzz
FUZZ_CFLAGS = -std=c11 -D_DEFAULT_SOURCE -g -O1 -Ilib $(PKG_CFLAGS) \
              -fsanitize=fuzzer-no-link,address,undefined
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_B)/%.o)
$(FUZZ_B)/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -c -o $@ $<
$(FUZZ_B)/fuzz_%: $(FUZZ_B)/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	clang -fsanitize=fuzzer,address,undefined -o $@ $^ $(LIBS)
fuzz: $(FUZZ_SRC:tests/fuzz/%.c=$(FUZZ_B)/%)
	@for f in $^; do n=$$(basename $$f); t=$${n#fuzz_}; \
	  mkdir -p tests/fuzz/crashes/$$n tests/fuzz/work/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    -artifact_prefix=tests/fuzz/crashes/$$n/ \
	    tests/fuzz/work/$$n tests/fuzz/corpus/$$t || exit 1; \
	done

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/spoold/schemas
	install -m 0755 bin/spoold bin/spoolctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 schemas/receipt.schema.json schemas/receipt.xsd \
	  $(DESTDIR)$(PREFIX)/share/spoold/schemas/
	install -d $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 0644 docs/man/spoold.8 docs/man/spoolctl.8 \
	  $(DESTDIR)$(PREFIX)/share/man/man8/

# Full-size benchmarks (e.g. the audit over 100,000 signed receipts);
# BENCH_ARGS are passed to every benchmark program.
.PHONY: bench
BENCH_ARGS ?= --full
bench: all $(BENCH_BIN)
	@for b in $(BENCH_BIN); do $$b $(BENCH_ARGS) || exit 1; done

demo: all
	@scripts/demo

clean:
	rm -rf build build-san build-clang build-fuzz build-fault bin .check-summary

# Every object's header dependencies (lib, programs, tests, fuzz harnesses).
-include $(LIB_OBJ:.o=.d) $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%.d) \
	$(SPOOLCTL_SRC:%.c=$(B)/%.d) $(SPOOLD_SRC:%.c=$(B)/%.d) \
	$(FUZZ_SRC:%.c=$(B)/%.d) $(B)/tests/fuzz/replay_main.d \
	$(BENCH_SRC:tests/bench/%.c=$(B)/tests/bench/%.d)
