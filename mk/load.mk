# mk/load.mk - the load test (issue 17, item 4): 10,000 concurrent echo
# connections through an echo server written with async.h, driven by a
# client process also written with async.h (bench/load_echo.c; the runs and
# the report by bench/load_run.py).
#
#   make load           3 runs of 10,000 connections doing 64-byte round trips
#                       for 3 s, plus a slow reader, each run followed by a
#                       control run without it; the medians go into
#                       bench/RESULTS.md between <!-- load:begin --> and
#                       <!-- load:end --> (the rest of the file is kept)
#   make load QUICK=1   1,000 connections for 1 s, once, slow reader included
#                       (for CI): fails like the full run, writes nothing
#   make load-san       the QUICK run built with ASan+UBSan
#
# A run fails on any error (connect or I/O error, a short or wrong echo, a
# connection without a round trip for over 1 s, an error the server saw) and
# if the server's RSS grows by 4 MiB during the load; never on speed.
# LOAD_RUNS, LOAD_CONNS and LOAD_SECONDS change the full run's shape.  Each
# process raises its own RLIMIT_NOFILE (one descriptor per connection).

LOAD_SRC     := bench/load_echo.c async.h
LOAD_RUNS    ?= 3
LOAD_CONNS   ?= 10000
LOAD_SECONDS ?= 3
LOAD_QUICK   := --runs 1 --conns 1000 --seconds 1

.PHONY: load load-san

# Explicit rules: these take precedence over the examples' pattern rule.
$(BUILD)/load_echo: $(LOAD_SRC) | $(BUILD)
	$(CC) $(STD) $(WARN) -O2 -I. $< -o $@
$(BUILD)/load_echo-san: $(LOAD_SRC) | $(BUILD)
	$(CC) $(STD) $(WARN) -O1 -g $(SAN) -I. $< -o $@

# The CI run fits the machine's hard fd limit (each process needs one per
# connection and a few more).
ifeq ($(QUICK),1)
load: $(BUILD)/load_echo
	@h=$$(ulimit -Hn); if [ "$$h" != unlimited ] && [ "$$h" -lt 1100 ]; then \
	  n=$$((h - 100)); echo "load: hard fd limit $$h: $$n connections"; \
	else n=1000; fi; \
	python3 bench/load_run.py $(BUILD)/load_echo --runs 1 --conns $$n --seconds 1
else
load: $(BUILD)/load_echo
	python3 bench/load_run.py $(BUILD)/load_echo --runs $(LOAD_RUNS) --conns $(LOAD_CONNS) \
	  --seconds $(LOAD_SECONDS) --compare --cc "$(CC)" --report bench/RESULTS.md
endif

load-san: $(BUILD)/load_echo-san
	$(LSAN) python3 bench/load_run.py $(BUILD)/load_echo-san $(LOAD_QUICK)
