# async.h - build, test and benchmark.  `make help` lists the targets.
CC      ?= cc
CXX     ?= c++
CFLAGS  ?= -O2 -g
STD     ?= -std=c99
WARN    := -Wall -Wextra -Wpedantic -Werror
PREFIX  ?= /usr/local
DESTDIR ?=
BUILD   := build

EXAMPLES := $(patsubst examples/%.c,$(BUILD)/%,$(wildcard examples/*.c))
TEST_SRC := $(wildcard tests/test_*.c)
# valgrind follows the forked test workers and the examples they run (not
# the compiler one test runs); each process logs to its own file, and a
# non-empty log is a failure.  Leaks are
# counted when definite or indirect (Criterion's runner keeps some buffers).
VALGRIND := valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --trace-children=yes \
            --trace-children-skip='*/cc,*/c++,*gcc*,*g++*,*clang*,*/nm' \
            --log-file=$(BUILD)/valgrind/%p.log
LSAN     := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp
SAN      := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# Install a Debian package when a file it provides is missing: apt-get as root,
# otherwise stop with the command to run.  $(1) = file to test, $(2) = package.
define need
	@test -e $(1) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing $(2) (needed for $(1))"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2) >/dev/null; } || exit 1; \
	  else echo "missing $(2): run 'sudo apt-get install $(2)'"; exit 1; fi; }
endef

.PHONY: all examples test posix linkage cmake-test compile-time check demo bench install uninstall clean clean-san help deps-test deps-check compile-matrix soak fuzz lint portability

all: examples

help:
	@echo "make examples   build every examples/NAME.c into build/NAME"
	@echo "make test       Criterion test suite (both coroutine backends) + compile matrix"
	@echo "make linkage    split mode (ASYNC_EXTERN/ASYNC_IMPLEMENTATION) builds; mismatches fail to link (in make test)"
	@echo "make cmake-test CMake package: build, install, find_package(async_h) from another project (in make test)"
	@echo "make compile-time  compile times of both linkage modes (hyperfine), a Markdown table"
	@echo "make posix      the suite and examples with POSIX.1-2008 only, Linux-only names poisoned"
	@echo "make check      test, then again under ASan+UBSan and under valgrind"
	@echo "make demo       countsync vs countasync with hyperfine"
	@echo "make bench      benchmarks against peers, writes bench/RESULTS.md (QUICK=1: smoke run)"
	@echo "make soak       10M tasks, then 10M timers, through one loop: each once, memory flat"
	@echo "make fuzz       libFuzzer against the reference model (FUZZ_SECONDS=60)"
	@echo "make lint       cppcheck + clang-tidy (checks in tests/clang-tidy.yaml); any finding fails"
	@echo "make portability  gcc/clang C99-C2x, g++/clang++ C++11/20, -m32, Cortex-M0, tcc (installs its tools)"
	@echo "make install    install async.h and async.pc under \$$(DESTDIR)\$$(PREFIX)"
	@echo "make curl-test  libcurl adapter + areq/areq_sync tests against local servers (in make test)"
	@echo "make curl-check the same under ASan+UBSan and valgrind (in make check)"
	@echo "make crawl-demo areq vs areq_sync on a local site of slow pages (hyperfine)"
	@echo "make arm64      the suite for aarch64 under qemu-aarch64, 3 backends (installs its tools)"
	@echo "make wasm       examples, model test and a host-driven loop under emscripten + node"
	@echo "make windows    the suite without I/O and the examples, mingw-w64 under wine64"
	@echo "make mcu        bare-metal Cortex-M3 tasks under qemu-system-arm, with flash/RAM figures"

$(BUILD) $(BUILD)/tests:
	@mkdir -p $@

examples: $(EXAMPLES) $(BUILD)/split

$(BUILD)/%: examples/%.c async.h | $(BUILD)
	$(CC) $(STD) $(WARN) $(CFLAGS) -I. $< -o $@ $(LDFLAGS)

# A program of several files in split mode (examples/split/kitchen.h): one
# object per file, and only async_impl.c compiles the library.
SPLIT_OBJ := $(patsubst examples/split/%.c,$(BUILD)/obj/split/%.o,$(wildcard examples/split/*.c))
$(BUILD)/obj/split/%.o: examples/split/%.c examples/split/kitchen.h async.h
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) $(CFLAGS) -I. -c $< -o $@
$(BUILD)/split: $(SPLIT_OBJ)
	$(CC) $(CFLAGS) $(SPLIT_OBJ) -o $@ $(LDFLAGS)

# ---- tests -----------------------------------------------------------------

deps-test:
	$(call need,/usr/include/criterion/criterion.h,libcriterion-dev)
	$(call need,/usr/bin/pkg-config,pkg-config)
	$(call need,/usr/bin/clang,clang)

# One binary per backend, same sources: one object per test file and
# variant (build/tests/VARIANT.d/), with the headers each one includes
# tracked (-MMD), so `make -j` rebuilds only what a change touches.
# $(1) = variant, $(2) = its flags, $(3) = its test files (default: all).
define suite_rule
$(BUILD)/tests/$(1).d/%.o: tests/%.c async.h tests/helpers.h | $(BUILD)/tests deps-test
	@mkdir -p $$(@D)
	$$(CC) $$(STD) $$(WARN) $(2) -MMD -MP -I. -c $$< -o $$@
$(BUILD)/tests/$(1): $(patsubst tests/%.c,$(BUILD)/tests/$(1).d/%.o,$(or $(3),$(TEST_SRC)))
	$$(CC) $(2) $$(filter %.o,$$^) -o $$@ -lcriterion
-include $(wildcard $(BUILD)/tests/$(1).d/*.d)
endef
$(eval $(call suite_rule,suite,$(CFLAGS)))
$(eval $(call suite_rule,suite-labels,$(CFLAGS) -DASYNC_LABELS=1))
# ...and the poll() I/O backend instead of epoll.
$(eval $(call suite_rule,suite-poll,$(CFLAGS) -DASYNC_POLL=1))
# make posix: POSIX.1-2008 only, every Linux-only name poisoned
# (tests/posix_only.h); the fault tests, which intercept Linux's own calls,
# are left out.
POSIX_FLAGS := -D_POSIX_C_SOURCE=200809L -DASYNC_POSIX_ONLY=1 -include tests/posix_only.h
$(eval $(call suite_rule,suite-posix,$(CFLAGS) $(POSIX_FLAGS),$(filter-out tests/test_faults.c,$(TEST_SRC))))
# ...and the timer heap alone (ASYNC_TIMER_HEAP), with the tests of timers.
HEAP_TESTS := $(addprefix tests/,test_heap.c test_core.c test_timeout.c test_model.c test_edge.c test_asyncio.c)
$(eval $(call suite_rule,suite-heap,$(CFLAGS) -DASYNC_TIMER_HEAP=1,$(HEAP_TESTS)))
# make check: ASan + UBSan, both coroutine backends.
$(eval $(call suite_rule,suite-san,-O1 -g $(SAN)))
$(eval $(call suite_rule,suite-san-labels,-O1 -g $(SAN) -DASYNC_LABELS=1))

# Every public macro in every language mode, with both backends and compilers.
compile-matrix: | $(BUILD)/tests deps-test
	@sh tests/compile_matrix.sh $(BUILD)/tests

# Split mode: the kitchen built in each setting; mismatched files must not link.
linkage: | $(BUILD)/tests deps-test
	@sh tests/linkage.sh $(BUILD)/tests

# CMake: the INTERFACE target, its install, find_package(async_h) from another project.
cmake-test: | $(BUILD)/tests
	$(call need,/usr/bin/cmake,cmake)
	@sh tests/cmake.sh $(BUILD)/tests

test: examples $(BUILD)/tests/suite $(BUILD)/tests/suite-labels $(BUILD)/tests/suite-poll $(BUILD)/tests/suite-heap compile-matrix linkage cmake-test
	$(BUILD)/tests/suite --jobs 2
	ASYNC_TEST_LABELS=1 $(BUILD)/tests/suite-labels --jobs 2
	$(BUILD)/tests/suite-poll --jobs 2
	$(BUILD)/tests/suite-heap --jobs 2

# The suite and the examples as macOS and the BSDs build them (see above).
posix: deps-test
	$(MAKE) --no-print-directory examples BUILD=$(BUILD)/posix CFLAGS="$(CFLAGS) $(POSIX_FLAGS)"
	$(MAKE) --no-print-directory $(BUILD)/tests/suite-posix
	ASYNC_EXAMPLES=$(BUILD)/posix $(BUILD)/tests/suite-posix --jobs 2
	@for f in examples/*.c; do clang $(STD) $(WARN) $(POSIX_FLAGS) -I. -fsyntax-only $$f || exit 1; done
	@for n in epoll_create1 epoll_wait timerfd_create eventfd accept4 pipe2 clock_nanosleep \
	          sigtimedwait MSG_NOSIGNAL SOCK_NONBLOCK SOCK_CLOEXEC CLOCK_BOOTTIME TIMER_ABSTIME; do \
	  printf '#include "async.h"\nlong f(void) { return (long)%s; }\n' $$n > $(BUILD)/posix/poisoned.c; \
	  $(CC) $(STD) $(POSIX_FLAGS) -I. -c $(BUILD)/posix/poisoned.c -o /dev/null 2>&1 | grep -q poisoned || \
	    { echo "posix: $$n compiles: it is not poisoned"; exit 1; }; done
	@echo "posix: the suite and examples pass with POSIX.1-2008 alone; examples also build with clang; 14 Linux-only names refused"

deps-check: deps-test
	$(call need,/usr/bin/valgrind,valgrind)

check: test deps-check
	$(MAKE) --no-print-directory clean-san
	$(MAKE) --no-print-directory examples BUILD=$(BUILD)/san CFLAGS="-O1 -g $(SAN)" LDFLAGS="$(SAN)"
	$(MAKE) --no-print-directory $(BUILD)/tests/suite-san $(BUILD)/tests/suite-san-labels
	$(LSAN) ASYNC_EXAMPLES=$(BUILD)/san $(BUILD)/tests/suite-san --jobs 2
	$(LSAN) ASYNC_EXAMPLES=$(BUILD)/san ASYNC_TEST_LABELS=1 $(BUILD)/tests/suite-san-labels --jobs 2
	$(CC) $(STD) $(WARN) -O1 -g -fsanitize=thread -I. tests/tsan_threads.c -o $(BUILD)/tests/tsan_threads
	$(BUILD)/tests/tsan_threads
	$(CC) $(STD) $(WARN) -O1 -g -fsanitize=thread -I. examples/to_thread.c -o $(BUILD)/tests/to_thread-tsan
	$(BUILD)/tests/to_thread-tsan > /dev/null
	@rm -rf $(BUILD)/valgrind && mkdir -p $(BUILD)/valgrind
	ASYNC_VALGRIND=1 $(VALGRIND) $(BUILD)/tests/suite --jobs 1
	ASYNC_VALGRIND=1 ASYNC_TEST_LABELS=1 $(VALGRIND) $(BUILD)/tests/suite-labels --jobs 1
	@if find $(BUILD)/valgrind -name '*.log' -size +0 | grep -q .; then \
	  cat $(BUILD)/valgrind/*.log; echo "check: valgrind found errors (logs in $(BUILD)/valgrind)"; exit 1; fi
	@echo "check: tests clean under ASan+UBSan, ThreadSanitizer (threads) and valgrind"

clean-san:
	@rm -rf $(BUILD)/san

# ---- demo and benchmarks --------------------------------------------------

demo: examples
	$(call need,/usr/bin/hyperfine,hyperfine)
	hyperfine --warmup 1 --runs 5 $(BUILD)/countsync $(BUILD)/countasync

bench: examples
	CC="$(CC)" QUICK="$(QUICK)" bash bench/run.sh

# 10,000,000 tasks through one loop, then 10,000,000 timers armed and mostly
# cancelled at random; each fails if anything is lost or memory grows
# (SOAK_TASKS=N, SOAK_TIMERS=N).
soak: | $(BUILD)
	$(CC) $(STD) $(WARN) -O2 -I. bench/soak.c -o $(BUILD)/soak
	$(BUILD)/soak $(SOAK_TASKS)
	$(CC) $(STD) $(WARN) -O2 -I. bench/soak_timers.c -o $(BUILD)/soak_timers
	$(BUILD)/soak_timers $(SOAK_TIMERS)

# libFuzzer: any byte string is a model case (tests/model.h); a divergence
# aborts after printing a shrunk reproduction.  FUZZ_SECONDS (default 60),
# FUZZ_FLAGS (e.g. -DASYNC_LABELS=1); the corpus grows in build/fuzz-corpus.
FUZZ_SECONDS ?= 60
fuzz: | $(BUILD)
	$(call need,/usr/bin/clang,clang)
	$(call need,$(shell clang -print-file-name=libclang_rt.fuzzer-x86_64.a 2>/dev/null || echo /nonexistent),libclang-rt-14-dev)
	clang $(STD) $(WARN) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	  $(FUZZ_FLAGS) -I. tests/fuzz_model.c -o $(BUILD)/fuzz_model
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/fuzz_model -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $(BUILD)/fuzz-corpus

# Static analysis: clang-tidy and cppcheck over compile_all.c, the examples
# and the soak program; the tools install themselves on Debian when missing.
lint:
	sh tests/lint.sh

# The suite per compiler and language standard, -m32, the freestanding core
# for a Cortex-M0 and with tcc; each cell's log is in $(BUILD)/port/logs.
portability: | $(BUILD)
	bash tests/portability.sh $(BUILD)/port

# ---- install ----------------------------------------------------------------

compile-time:
	$(call need,/usr/bin/hyperfine,hyperfine)
	@sh bench/compile_time.sh $(BUILD)/compile-time README.md

install: $(BUILD)/async.pc
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 async.h $(DESTDIR)$(PREFIX)/include/async.h
	install -m 644 $(BUILD)/async.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/async.pc

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/include/async.h $(DESTDIR)$(PREFIX)/lib/pkgconfig/async.pc

$(BUILD)/async.pc: async.h | $(BUILD)
	@v=$$(for p in MAJOR MINOR PATCH; do sed -n "s/^#define ASYNC_VERSION_$$p \([0-9]*\)$$/\1/p" async.h; done | paste -sd.); \
	printf 'prefix=%s\nincludedir=$${prefix}/include\n\nName: async\nDescription: stackless coroutines and an asyncio-style event loop for C (header only)\nVersion: %s\nCflags: -I$${includedir}\n' \
	  "$(PREFIX)" "$$v" > $@

clean:
	rm -rf $(BUILD)

# Optional parts (integrations, platforms) keep their rules in mk/*.mk.
-include $(wildcard mk/*.mk)
