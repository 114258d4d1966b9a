# mk/curl.mk - libcurl on async.h's loop: integrations/async_curl.h, the
# crawler examples built on it (areq, areq_sync), their tests and demo.
#
#   make curl-test    the adapter's and the crawlers' tests (Criterion), against
#                     local servers the tests start (tests/curl/server.py), with
#                     epoll and the switch backend, then poll and labels; and the
#                     header compiled by gcc/clang as C99/C11, g++/clang++ as C++
#   make curl-check   the same tests under ASan+UBSan, then under valgrind
#   make crawl-demo   areq against areq_sync on a local site of slow pages (hyperfine)
#
# `make examples` builds areq and areq_sync with -lcurl, `make test` runs
# curl-test, `make check` runs curl-check.  Debian packages are installed when
# missing: libcurl4-openssl-dev (the examples), nghttp2-server (the HTTP/2
# test's server), openssl (the test CA), hyperfine (the demo).

CURL_HDR   := $(firstword $(wildcard /usr/include/*/curl/curl.h /usr/include/curl/curl.h) /usr/include/curl/curl.h)
CURL_TESTS := $(wildcard tests/curl/*.c)
CURL_SRC   := $(CURL_TESTS) tests/curl/helpers.h integrations/async_curl.h examples/http_util.h async.h
CURL_SAN   := $(BUILD)/curl-san

.PHONY: deps-curl deps-curl-test curl-test curl-matrix curl-check crawl-demo

deps-curl:
	$(call need,$(CURL_HDR),libcurl4-openssl-dev)

deps-curl-test: deps-curl deps-test
	$(call need,/usr/sbin/nghttpd,nghttp2-server)
	$(call need,/usr/bin/openssl,openssl)

# These two link libcurl: they override the examples' pattern rule.
$(BUILD)/areq: examples/areq.c examples/http_util.h integrations/async_curl.h async.h | $(BUILD) deps-curl
	$(CC) $(STD) $(WARN) $(CFLAGS) -I. $< -o $@ $(LDFLAGS) -lcurl
$(BUILD)/areq_sync: examples/areq_sync.c examples/http_util.h | $(BUILD) deps-curl
	$(CC) $(STD) $(WARN) $(CFLAGS) -I. $< -o $@ $(LDFLAGS) -lcurl

$(BUILD)/curl/suite: $(CURL_SRC) | deps-curl-test
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) $(CFLAGS) -I. $(CURL_TESTS) -o $@ -lcriterion -lcurl
$(BUILD)/curl/suite-poll-labels: $(CURL_SRC) | deps-curl-test
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) $(CFLAGS) -DASYNC_POLL=1 -DASYNC_LABELS=1 -I. $(CURL_TESTS) -o $@ -lcriterion -lcurl

# The header and the tests in every language mode, both compilers (no link).
curl-matrix: | deps-curl-test
	@for c in "gcc -std=c99" "gcc -std=c11" "clang -std=c99" "clang -std=c11" \
	          "g++ -x c++ -std=c++11" "g++ -x c++ -std=c++20" \
	          "clang++ -x c++ -std=c++11" "clang++ -x c++ -std=c++20"; do \
	  for f in $(CURL_TESTS) examples/areq.c examples/areq_sync.c; do \
	    $$c $(WARN) -fsyntax-only -I. $$f || { echo "curl-matrix: $$c $$f failed"; exit 1; }; \
	  done; \
	done; echo "curl-matrix: gcc/clang C99/C11, g++/clang++ C++11/C++20: clean"

curl-test: $(BUILD)/curl/suite $(BUILD)/curl/suite-poll-labels $(BUILD)/areq $(BUILD)/areq_sync curl-matrix
	ASYNC_EXAMPLES=$(BUILD) $(BUILD)/curl/suite --jobs 2
	ASYNC_EXAMPLES=$(BUILD) ASYNC_TEST_LABELS=1 $(BUILD)/curl/suite-poll-labels --jobs 2 --filter 'adapter*/*'

# ASan+UBSan: the suite and the two crawlers it runs; then valgrind on the
# plain build (the forked test workers and the crawlers, not python/openssl).
curl-check: $(BUILD)/curl/suite $(BUILD)/areq $(BUILD)/areq_sync | deps-curl-test
	$(call need,/usr/bin/valgrind,valgrind)
	@mkdir -p $(CURL_SAN)
	$(CC) $(STD) $(WARN) -O1 -g $(SAN) -I. $(CURL_TESTS) -o $(CURL_SAN)/suite -lcriterion -lcurl
	$(CC) $(STD) $(WARN) -O1 -g $(SAN) -I. examples/areq.c -o $(CURL_SAN)/areq -lcurl
	$(CC) $(STD) $(WARN) -O1 -g $(SAN) -I. examples/areq_sync.c -o $(CURL_SAN)/areq_sync -lcurl
	$(LSAN) ASYNC_EXAMPLES=$(CURL_SAN) $(CURL_SAN)/suite --jobs 2
	@rm -rf $(BUILD)/curl-valgrind && mkdir -p $(BUILD)/curl-valgrind
	ASYNC_VALGRIND=1 ASYNC_EXAMPLES=$(BUILD) valgrind -q --leak-check=full \
	  --show-leak-kinds=definite,indirect --errors-for-leak-kinds=definite,indirect \
	  --trace-children=yes --trace-children-skip='*python*,*openssl*,*nghttpd*' \
	  --log-file=$(BUILD)/curl-valgrind/%p.log $(BUILD)/curl/suite --jobs 2
	@if find $(BUILD)/curl-valgrind -name '*.log' -size +0 | grep -q .; then \
	  cat $(BUILD)/curl-valgrind/*.log; echo "curl-check: valgrind found errors"; exit 1; fi
	@echo "curl-check: adapter and crawler tests clean under ASan+UBSan and valgrind"

# areq against areq_sync on a local HTTPS site whose pages answer slowly.
crawl-demo: $(BUILD)/areq $(BUILD)/areq_sync | deps-curl-test
	$(call need,/usr/bin/hyperfine,hyperfine)
	bash tests/curl/crawl_demo.sh $(BUILD)

test: curl-test
check: curl-check
