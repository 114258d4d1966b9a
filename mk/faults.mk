# mk/faults.mk - fault injection for async.h's I/O layer (issue 17): the
# scenarios of tests/faults/ (an echo server with clients over TCP and a
# pipe, an HTTP crawl, a worker pool) under a fault layer that interrupts,
# shortens, resets, runs out of fds and wakes spuriously (tests/faults/fault.h).
#
#   make faults       the driver built four ways (epoll / -DASYNC_POLL, switch /
#                     -DASYNC_LABELS) into build/faults/driver-*, each run over
#                     FAULT_SEEDS seeds per scenario (default 5000); then the
#                     planted bugs (each must be caught), the SIGALRM storm on
#                     FAULT_SEEDS/10 seeds (no faults; results must not change)
#                     and fcntl faults beyond the kernel's contract
#                     on FAULT_SEEDS/5.  The four builds run at once (they mostly
#                     wait on I/O).  Logs in build/faults.
#   make faults-san   the same scenarios under ASan+UBSan, FAULT_SAN_SEEDS seeds
#                     (default 300), epoll+switch and poll+labels.
#
# Any failed seed fails the target; its log line says how to rerun it alone
# (driver -s SCENARIO -f SEED -n 1).  `make test` runs a smaller budget of the
# same scenarios (tests/test_faults.c).

FAULT_SEEDS     ?= 5000
FAULT_SAN_SEEDS ?= 300
FAULT_DIR       := $(BUILD)/faults
FAULT_SRC       := tests/faults/driver.c tests/faults/fault.h tests/faults/scenarios.h async.h
FAULT_VARIANTS  := epoll-switch epoll-labels poll-switch poll-labels
# $(1) = a variant: its flags
fault_flags = $(if $(filter poll-%,$(1)),-DASYNC_POLL=1) $(if $(filter %-labels,$(1)),-DASYNC_LABELS=1)

.PHONY: faults faults-san

$(FAULT_DIR)/driver-%: $(FAULT_SRC)
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) $(CFLAGS) $(call fault_flags,$*) -I. tests/faults/driver.c -o $@ -lpthread

$(FAULT_DIR)/san-driver-%: $(FAULT_SRC)
	@mkdir -p $(@D)
	$(CC) $(STD) $(WARN) -O1 -g $(SAN) $(call fault_flags,$*) -I. tests/faults/driver.c -o $@ -lpthread

# One build's series, into $(FAULT_DIR)/PREFIX-VARIANT.log, exit status 0 or 1:
# the seeds; the planted bugs, each of which must make the driver fail; the
# storm; the faults beyond the contract (fcntl EINTR: with the poll backend
# they found a hang in async_loop_prepare, fixed in 0.5.0).
# $(1) = driver prefix (driver- or san-driver-), $(2) = seeds.
define fault_series
	d=$(FAULT_DIR)/$(1)$$v; rc=0; missed=""; \
	$$d -n $(2) -q || rc=1; \
	$$d -P short -s echo -n 5 -p 0 -q > $$d.plant-short-echo.log 2>&1 && missed="$$missed short-write/echo"; \
	$$d -P short -s http -n 5 -p 0 -t 1 -q > $$d.plant-short-http.log 2>&1 && missed="$$missed short-write/http"; \
	$$d -P lost -s echo -n 2 -p 0 -t 1 -q > $$d.plant-lost-echo.log 2>&1 && missed="$$missed lost-wake-up/echo"; \
	if [ -n "$$missed" ]; then echo "faults [$$v]: planted bugs NOT caught:$$missed"; rc=1; \
	else echo "faults [$$v]: planted bugs caught (short write: echo, http; lost wake-up: echo)"; fi; \
	$$d -S -n $$(( $(2) / 10 + 1 )) || rc=1; \
	$$d -u -n $$(( $(2) / 5 + 1 )) -q || rc=1; \
	exit $$rc
endef

# The builds run at once (they mostly wait on I/O), each into its own log;
# then the logs are shown in order.  $(1) = prefix, $(2) = variants, $(3) = seeds.
define fault_run
	@rc=0; t0=$$(date +%s); \
	for v in $(2); do \
	  ( ( $(call fault_series,$(1),$(3)) ) > $(FAULT_DIR)/$(1)$$v.log 2>&1; \
	    echo $$? > $(FAULT_DIR)/$(1)$$v.rc ) & \
	done; wait; \
	for v in $(2); do cat $(FAULT_DIR)/$(1)$$v.log; [ "$$(cat $(FAULT_DIR)/$(1)$$v.rc)" = 0 ] || rc=1; done; \
	echo "faults: $(words $(2)) builds, $(3) seeds per scenario, $$(( $$(date +%s) - t0 )) s: $$([ $$rc = 0 ] && echo all passed || echo FAILED)"; \
	exit $$rc
endef

faults: $(addprefix $(FAULT_DIR)/driver-,$(FAULT_VARIANTS))
	$(call fault_run,driver-,$(FAULT_VARIANTS),$(FAULT_SEEDS))

faults-san: $(FAULT_DIR)/san-driver-epoll-switch $(FAULT_DIR)/san-driver-poll-labels
	$(call fault_run,san-driver-,epoll-switch poll-labels,$(FAULT_SAN_SEEDS))
