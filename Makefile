# Sluice: nginx module, controld, tests.  `make help` lists the targets.

SHELL       := /bin/bash
TOP         := $(CURDIR)
BUILD       := $(TOP)/build
NGX_SRC     := /usr/share/nginx/src
NGX_BUILD   := $(BUILD)/nginx
MODULE      := $(NGX_BUILD)/ngx_http_sluice_module.so

VERSION     := 0.1.0
GIT_COMMIT  := $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
BUILD_TIME  := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)

PKGS        := lmdb libevent jansson hiredis libpq openssl libcurl
CC          ?= gcc
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Werror -g -O2 -Ingx_module \
               -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql)
ifeq ($(SAN),1)
SANFLAGS    := -fsanitize=address,undefined -fno-omit-frame-pointer
endif
CTLD_CFLAGS := $(CFLAGS_BASE) $(SANFLAGS) \
               -DCTLD_VERSION='"$(VERSION)"' \
               -DCTLD_COMMIT='"$(GIT_COMMIT)"' \
               -DCTLD_BUILD_TIME='"$(BUILD_TIME)"'
CTLD_LIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -levent_pthreads -lm

CTLD_SRCS   := $(wildcard controld/*.c)
CTLD_MAIN   := $(filter-out controld/sluice_cli.c,$(CTLD_SRCS))
SHARED_SRCS := ngx_module/sluice_table.c
MODULE_SRCS := $(wildcard ngx_module/*.c ngx_module/*.h) config

UNIT_SRCS   := $(wildcard t/unit/test_*.c)
UNIT_BINS   := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
CORE_SRCS   := $(wildcard ngx_module/sluice_*.c)

.PHONY: all help deps module controld cli unit test run stop lint clean bench san \
        fuzz

all: deps module controld cli

help:
	@echo "make          build the nginx module, controld and the sluice CLI"
	@echo "make run      start the local stack under var/ (writes var/demo.env)"
	@echo "make stop     stop everything make run started"
	@echo "make test     unit and integration tests (prove)"
	@echo "make lint     style checks"
	@echo "make fuzz     fuzz the parsers and translators (FUZZ_SECONDS=60 each)"
	@echo "make bench    Sluice against plain nginx (QUICK=1: a short run)"
	@echo "make SAN=1    build controld and unit tests with ASan/UBSan"
	@echo "make san      integration tests against an ASan/UBSan module"

deps:
	@scripts/deps.sh

module: $(MODULE)

$(NGX_BUILD)/Makefile: config
	@mkdir -p $(NGX_BUILD)
	cd $(NGX_SRC) && . ./conf_flags && ./configure \
	    --with-cc-opt="$$(dpkg-buildflags --get CFLAGS) -fPIC $(SANFLAGS)" \
	    --with-ld-opt="$$(dpkg-buildflags --get LDFLAGS) -fPIC $(SANFLAGS) -Wl,-Bsymbolic-functions" \
	    "$${NGX_CONF_FLAGS[@]}" --add-dynamic-module=$(TOP) \
	    --builddir=$(NGX_BUILD) > $(NGX_BUILD)/configure.log 2>&1 \
	    || { tail -30 $(NGX_BUILD)/configure.log; exit 1; }

$(MODULE): $(NGX_BUILD)/Makefile $(MODULE_SRCS)
	$(MAKE) -f $(NGX_BUILD)/Makefile -C $(NGX_SRC) modules

controld: $(BUILD)/controld

$(BUILD)/controld: $(CTLD_MAIN) $(SHARED_SRCS) $(wildcard controld/*.h) \
                   ngx_module/sluice_table.h
	@mkdir -p $(BUILD)
	$(CC) $(CTLD_CFLAGS) -o $@ $(CTLD_MAIN) $(SHARED_SRCS) $(CTLD_LIBS)

cli: $(BUILD)/sluice

$(BUILD)/sluice: controld/sluice_cli.c
	@mkdir -p $(BUILD)
	$(CC) $(CTLD_CFLAGS) -o $@ $< $(CTLD_LIBS)

$(BUILD)/unit/%: t/unit/%.c $(CORE_SRCS) $(wildcard ngx_module/sluice_*.h)
	@mkdir -p $(BUILD)/unit
	$(CC) $(CFLAGS_BASE) $(SANFLAGS) -It/unit -o $@ $< $(CORE_SRCS) \
	    $(CTLD_LIBS)

unit: $(UNIT_BINS)

test: all unit
	@scripts/test.sh $(UNIT_BINS)

run: all
	@scripts/run.sh

stop:
	@scripts/stop.sh

lint:
	@scripts/lint.sh

# libFuzzer targets: the dialect translators, one binary per kind
# (requests, answers, streams, seeded from t/xlate and the client
# fixtures), then the JSON scanner and the table format, then the token
# estimator (checked against the JSON scanner, seeded with the request
# bodies), then the SSE splitter's fast path against its line parser and
# its skipping against feeding everything,
# then the usage reader (one pass over the usage object, from a whole
# answer's end, skimmed, or in a stream event) against the generic skim
# kept as its reference; FUZZ_SECONDS each.
FUZZ_SECONDS ?= 60
FUZZ_KINDS  := request response stream
JSON_SRCS   := ngx_module/sluice_json.c ngx_module/sluice_json_skim.c \
               ngx_module/sluice_json_text.c

fuzz:
	@mkdir -p $(BUILD)/fuzz
	t/fuzz/seed.sh $(BUILD)/fuzz/seed
	@set -eo pipefail; mode=0; for kind in $(FUZZ_KINDS); do \
	    clang -std=gnu11 -g -O1 -Wall -Wextra -Ingx_module \
	        -DSLUICE_FUZZ_MODE=$$mode \
	        -fsanitize=fuzzer,address,undefined \
	        -fno-sanitize-recover=undefined \
	        -o $(BUILD)/fuzz/fuzz_xlate_$$kind t/fuzz/fuzz_xlate.c \
	        $(CORE_SRCS) $(CTLD_LIBS); \
	    mkdir -p $(BUILD)/fuzz/corpus-$$kind; \
	    echo "fuzz: $$kind for $(FUZZ_SECONDS) s"; \
	    $(BUILD)/fuzz/fuzz_xlate_$$kind -max_total_time=$(FUZZ_SECONDS) \
	        -max_len=262144 -print_final_stats=1 \
	        $(BUILD)/fuzz/corpus-$$kind $(BUILD)/fuzz/seed/$$kind \
	        2>&1 | tail -15; \
	    mode=$$((mode + 1)); \
	done
	@set -eo pipefail; \
	clang -std=gnu11 -g -O1 -Ingx_module \
	    -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined \
	    -o $(BUILD)/fuzz/fuzz_json t/fuzz/fuzz_json.c $(JSON_SRCS); \
	mkdir -p $(BUILD)/fuzz/corpus-json; \
	echo "fuzz: json for $(FUZZ_SECONDS) s"; \
	$(BUILD)/fuzz/fuzz_json -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 $(BUILD)/fuzz/corpus-json 2>&1 | tail -3
	@set -eo pipefail; \
	clang -std=gnu11 -g -O1 -Ingx_module \
	    -fsanitize=fuzzer,address,undefined \
	    -o $(BUILD)/fuzz/fuzz_table t/fuzz/fuzz_table.c \
	    ngx_module/sluice_table.c; \
	mkdir -p $(BUILD)/fuzz/corpus-table; \
	echo "fuzz: table for $(FUZZ_SECONDS) s"; \
	$(BUILD)/fuzz/fuzz_table -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 $(BUILD)/fuzz/corpus-table 2>&1 | tail -3
	@set -eo pipefail; \
	clang -std=gnu11 -g -O1 -Wall -Wextra -Ingx_module \
	    -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined \
	    -o $(BUILD)/fuzz/fuzz_estimate t/fuzz/fuzz_estimate.c \
	    ngx_module/sluice_estimate.c $(JSON_SRCS); \
	mkdir -p $(BUILD)/fuzz/corpus-estimate; \
	echo "fuzz: estimate for $(FUZZ_SECONDS) s"; \
	$(BUILD)/fuzz/fuzz_estimate -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=262144 -print_final_stats=1 \
	    $(BUILD)/fuzz/corpus-estimate $(BUILD)/fuzz/seed/estimate \
	    2>&1 | tail -15
	@set -eo pipefail; \
	clang -std=gnu11 -g -O1 -Wall -Wextra -Ingx_module \
	    -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined \
	    -o $(BUILD)/fuzz/fuzz_sse t/fuzz/fuzz_sse.c \
	    ngx_module/sluice_sse.c ngx_module/sluice_usage_json.c \
	    $(JSON_SRCS); \
	mkdir -p $(BUILD)/fuzz/corpus-sse; \
	echo "fuzz: sse for $(FUZZ_SECONDS) s"; \
	$(BUILD)/fuzz/fuzz_sse -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 -print_final_stats=1 \
	    $(BUILD)/fuzz/corpus-sse $(BUILD)/fuzz/seed/sse 2>&1 | tail -15
	@set -eo pipefail; \
	clang -std=gnu11 -g -O1 -Wall -Wextra -Ingx_module \
	    -fsanitize=fuzzer,address,undefined \
	    -fno-sanitize-recover=undefined \
	    -o $(BUILD)/fuzz/fuzz_usage t/fuzz/fuzz_usage.c \
	    ngx_module/sluice_usage_json.c $(JSON_SRCS) -ljansson; \
	mkdir -p $(BUILD)/fuzz/corpus-usage; \
	echo "fuzz: usage for $(FUZZ_SECONDS) s"; \
	$(BUILD)/fuzz/fuzz_usage -max_total_time=$(FUZZ_SECONDS) \
	    -max_len=65536 -print_final_stats=1 -dict=t/fuzz/usage.dict \
	    $(BUILD)/fuzz/corpus-usage $(BUILD)/fuzz/seed/response \
	    2>&1 | tail -15

# the integration tests against an ASan/UBSan build of the module
san: all
	@scripts/san.sh

# Sluice against plain nginx proxy_pass in one run (t/bench/bench.pl):
# Markdown on stdout, var/bench/latest.json.  QUICK=1: a few seconds per
# load, a 20k-key table (var/bench/latest-quick.json); CI runs it.
bench: all
	@perl t/bench/bench.pl $(if $(filter 1 y yes,$(QUICK)),--quick)

clean:
	rm -rf $(BUILD)
