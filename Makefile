# dksearch - Danish full-text search on LMDB.  See README.md.
#
#   make            build bin/dksearch-index, bin/dksearch-query and the library
#   make demo       install what is missing, build, index seeds/, run example queries
#   make test       unit and end-to-end tests, then the same under ASan+UBSan
#   make asan       only the sanitizer build and its tests
#   make tsan       the writer's analysis thread under ThreadSanitizer
#   make valgrind   the unit tests and the binaries under valgrind
#   make eval       Danish matching measured on judged queries (also in make test)
#   make test-browser  the search page in headless Chromium (also in make test)
#   make fuzz       each libFuzzer harness for FUZZ_SECONDS (clang; also briefly in make test)
#   make install    binaries, libdksearch (static and shared), header, pkg-config
#                   file and man pages under $(DESTDIR)$(PREFIX); make uninstall
#   make clean
#
# Your CFLAGS/LDFLAGS are appended to ours, never replaced.

ifeq ($(origin CC),default)
CC = gcc
endif
CFLAGS ?= -O2 -g
VERSION := 0.6.0
SOVERSION := 0
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
BUILD ?= build
BIN ?= bin
SAN ?= 0

PKGS := lmdb libutf8proc jansson libzstd libxml-2.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null || echo -I/usr/include/libxml2)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -llmdb -lutf8proc -ljansson -lzstd -lxml2)

DKS_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -pthread -Wall -Wextra -Werror -Wshadow -Wvla \
	-Iinclude -Isrc -I$(BUILD)/gen $(PKG_CFLAGS)
DKS_LIBS := $(PKG_LIBS) -lstemmer -lm -pthread
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
endif
ifeq ($(SAN),thread)
SAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
endif
# The library instrumented for libFuzzer's harnesses (tests/fuzz/), which
# link the fuzzer itself: clang only.
ifeq ($(SAN),fuzz)
CC = clang
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
endif
ALL_CFLAGS = $(DKS_CFLAGS) $(SAN_FLAGS) $(CFLAGS)
ALL_LDFLAGS = $(SAN_FLAGS) $(LDFLAGS)

LIB_SRC := $(wildcard src/*.c)
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/lexicon_data.o

# The Danish lexicon is built once from Debian's word list and Hunspell
# dictionary (tools/mklexicon.c) and shared by every build directory.
WORDLIST := /usr/share/dict/danish
HUNSPELL_DA := /usr/share/hunspell/da_DK
LEXICON := build/lexicon/lexicon.bin
LIB := $(BUILD)/libdksearch.a
SHLIB := $(BUILD)/libdksearch.so.$(VERSION)
PROGS := $(BIN)/dksearch-index $(BIN)/dksearch-query $(BIN)/dksearch-serve
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
E2E_SRC := $(wildcard tests/e2e/*.c)
E2E_BIN := $(E2E_SRC:tests/e2e/%.c=$(BUILD)/tests/%)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all deps test check asan tsan valgrind eval fuzz fuzz-smoke fuzz-build demo peers bench \
	bench-smoke clean install uninstall install-check serve load browser-deps test-browser
all: $(PROGS) $(SHLIB) $(BUILD)/dksearch.pc

# Installs missing Debian packages; returns at once when all are there.
deps:
	@scripts/install-deps.sh

$(BUILD)/gen/stopwords.inc: stemmer-data/danish-stopwords.txt | deps
	@mkdir -p $(@D)
	LC_ALL=C sort -u $< | sed -n 's/^\([^"\\]*\)$$/"\1",/p' > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/stopwords.o: $(BUILD)/gen/stopwords.inc

# lemma<TAB>term lines become {"lemma", "term"}, entries
$(BUILD)/gen/kept_apart.inc: stemmer-data/danish-kept-apart.tsv | deps
	@mkdir -p $(@D)
	LC_ALL=C sort $< | sed -n 's/^\([^#"\\	][^"\\	]*\)	\([^"\\	]*\)$$/{"\1", "\2"},/p' > $@.tmp && mv $@.tmp $@

$(BUILD)/obj/analyze.o: $(BUILD)/gen/kept_apart.inc

build/lexicon/mklexicon: tools/mklexicon.c src/utf8.c src/buf.c src/dks_int.h | deps
	@mkdir -p $(@D)
	$(CC) $(DKS_CFLAGS) -O2 tools/mklexicon.c src/utf8.c src/buf.c -o $@ -lhunspell $(PKG_LIBS)

# Rebuilt when the generator's source changes, not whenever a header does.
$(LEXICON): tools/mklexicon.c stemmer-data/danish-lemma-exceptions.tsv | build/lexicon/mklexicon deps
	build/lexicon/mklexicon $(WORDLIST) $(HUNSPELL_DA).aff $(HUNSPELL_DA).dic \
		stemmer-data/danish-lemma-exceptions.tsv $@.tmp && mv $@.tmp $@

$(BUILD)/obj/lexicon_data.o: src/lexicon_data.S $(LEXICON)
	@mkdir -p $(@D)
	$(CC) -c -DDKS_LEXICON_FILE='"$(CURDIR)/$(LEXICON)"' $< -o $@

# -fPIC: the same objects make the static and the shared library.
$(BUILD)/obj/%.o: src/%.c | deps
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fPIC -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	$(AR) rcs $@ $^

# The shared library exports the functions of include/dksearch.h and
# nothing else: every name the header declares is listed in a version
# script made from it.
$(BUILD)/gen/libdksearch.map: include/dksearch.h
	@mkdir -p $(@D)
	{ echo '{ global:'; grep -o '\bdks_[a-z0-9_]*(' $< | tr -d '(' | sort -u | sed 's/$$/;/'; \
	  echo 'local: *; };'; } > $@.tmp && mv $@.tmp $@

$(SHLIB): $(LIB_OBJ) $(BUILD)/gen/libdksearch.map
	$(CC) -shared -Wl,-soname,libdksearch.so.$(SOVERSION) \
		-Wl,--version-script=$(BUILD)/gen/libdksearch.map -Wl,--no-undefined \
		$(ALL_LDFLAGS) $(LIB_OBJ) -o $@ $(DKS_LIBS)

$(BUILD)/dksearch.pc: Makefile
	@mkdir -p $(@D)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
		'Name: dksearch' 'Description: Danish full-text search on LMDB' \
		'Version: $(VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -ldksearch' \
		'Requires.private: lmdb libutf8proc libzstd libxml-2.0' 'Libs.private: -lstemmer -lm -pthread' > $@

$(BIN)/dksearch-index: indexer/main.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $(BUILD)/obj/main-indexer.d $< -o $@ $(LIB) $(ALL_LDFLAGS) $(DKS_LIBS)

$(BIN)/dksearch-query: query/main.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -MF $(BUILD)/obj/main-query.d $< -o $@ $(LIB) $(ALL_LDFLAGS) $(DKS_LIBS)

# The server embeds the search page's files (web/) in its binary.
$(BUILD)/gen/web_files.c: $(wildcard web/*) scripts/embed-web.sh
	@mkdir -p $(@D)
	scripts/embed-web.sh web > $@.tmp && mv $@.tmp $@

SERVE_SRC := server/main.c server/page.c server/cache.c
$(BIN)/dksearch-serve: $(SERVE_SRC) server/serve.h server/cache.h cli/options.h server/web_files.h $(BUILD)/gen/web_files.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iserver $(SERVE_SRC) $(BUILD)/gen/web_files.c -o $@ $(LIB) \
		$(ALL_LDFLAGS) $(DKS_LIBS) -lmicrohttpd

# The search page on the demo index: http://127.0.0.1:8080/
serve: $(PROGS)
	test -d $(DEMO_DB) || $(BIN)/dksearch-index -q --db $(DEMO_DB) seeds/ tests/fixtures/corpus
	$(BIN)/dksearch-serve --db $(DEMO_DB) --listen 127.0.0.1:8080 --facet party

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LIB) $(ALL_LDFLAGS) $(DKS_LIBS) -lcmocka

# The server's cache of answers, tested on its own.
$(BUILD)/tests/test_cache: tests/unit/test_cache.c server/cache.c server/cache.h
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Iserver $< server/cache.c -o $@ $(ALL_LDFLAGS) -pthread -lcmocka

$(BUILD)/tests/%: tests/e2e/%.c tests/e2e/e2e_util.h tests/unit/test_util.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LIB) $(ALL_LDFLAGS) $(DKS_LIBS) -lcmocka

$(BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer $< -o $@ $(LIB) $(ALL_LDFLAGS) -fsanitize=fuzzer $(DKS_LIBS)

$(BUILD)/eval: tests/eval/eval.c tests/unit/test_util.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $< -o $@ $(LIB) $(ALL_LDFLAGS) $(DKS_LIBS) -lm

# Danish matching measured: judged queries, compound splits, conflation.
eval: $(BUILD)/eval
	$(BUILD)/eval relevance tests/eval/corpus tests/eval/queries.tsv
	@echo
	$(BUILD)/eval splits $(WORDLIST) tests/eval/splits-judged.tsv
	@echo
	$(BUILD)/eval conflation tests/eval/lemmas.tsv

# The search page in headless Chromium (tests/browser/search.test.mjs) against
# the real server on the fixture corpus.  Chromium, Node.js and npm come from
# install-deps.sh browser, playwright-core from the lockfile into
# build/browser (never the source tree), where the screenshots go too.
BROWSER_DIR := build/browser
BROWSER_MODULES := $(BROWSER_DIR)/node_modules/.package-lock.json
browser-deps: deps
	@scripts/install-deps.sh browser

$(BROWSER_MODULES): tests/browser/package.json tests/browser/package-lock.json | browser-deps
	@mkdir -p $(BROWSER_DIR)
	cp tests/browser/package.json tests/browser/package-lock.json $(BROWSER_DIR)/
	cd $(BROWSER_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

test-browser: browser-deps $(PROGS) $(BIN)/dksearch-serve $(BROWSER_MODULES)
	DKS_TOP=$(CURDIR) DKS_BIN=$(CURDIR)/$(BIN) BROWSER_DIR=$(CURDIR)/$(BROWSER_DIR) \
		node tests/browser/search.test.mjs

# Runs every test program of this build; fails if any fails.
check: $(PROGS) $(UNIT_BIN) $(E2E_BIN)
	@failed=0; \
	for t in $(UNIT_BIN) $(E2E_BIN); do \
		echo "== $$t"; \
		DKS_TOP=$(CURDIR) DKS_BIN=$(CURDIR)/$(BIN) $$t || failed=$$((failed + 1)); \
	done; \
	if [ $$failed -ne 0 ]; then echo "$$failed test program(s) failed"; exit 1; fi

test: check
	$(MAKE) install-check
	$(MAKE) test-browser
	$(MAKE) eval
	$(MAKE) asan
	$(MAKE) tsan
	$(MAKE) valgrind
	$(MAKE) fuzz-smoke
	$(MAKE) bench-smoke

# Every unit test program, and the binaries on the fixture corpora, under
# valgrind's memcheck: no error and no leak.
valgrind: $(PROGS) $(UNIT_BIN)
	@for t in $(UNIT_BIN); do \
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=99 $$t > $(BUILD)/valgrind.log 2>&1 || \
			{ cat $(BUILD)/valgrind.log; echo "valgrind: $$t failed"; exit 1; }; \
	done; echo "valgrind: $(words $(UNIT_BIN)) unit test programs, no memory error or leak"
	scripts/valgrind-check.sh $(BIN)

asan:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
	$(MAKE) BUILD=build/asan BIN=build/asan/bin SAN=1 check

# The code that runs threads, under ThreadSanitizer: the writer's analysis
# thread (unit tests, and the indexer on the end-to-end corpora), and
# searches from several threads on one index handle.
TSAN_TESTS := test_writer test_threads
tsan:
	$(MAKE) BUILD=build/tsan BIN=build/tsan/bin SAN=thread \
		$(TSAN_TESTS:%=build/tsan/tests/%) build/tsan/bin/dksearch-index
	set -e; for t in $(TSAN_TESTS); do TSAN_OPTIONS=halt_on_error=1 build/tsan/tests/$$t; done
	rm -rf build/tsan/e2e.db
	TSAN_OPTIONS=halt_on_error=1 build/tsan/bin/dksearch-index --threads 2 -q \
		--db build/tsan/e2e.db tests/fixtures/corpus tests/fixtures/danish tests/eval/corpus

# libFuzzer harnesses (tests/fuzz/), built with clang into build/fuzz.  Each
# first runs its regression inputs, then fuzzes for the time given, its new
# corpus in build/fuzz/corpus/NAME; a crash fails the target and is kept in
# build/fuzz/crashes/NAME.  FUZZ=query runs one harness.
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ ?= $(FUZZ_NAMES)
fuzz-build:
	$(MAKE) BUILD=build/fuzz BIN=build/fuzz/bin SAN=fuzz $(FUZZ:%=build/fuzz/fuzz_%)

fuzz: fuzz-build
	scripts/fuzz.sh build/fuzz $(FUZZ_SECONDS) $(FUZZ)

# The same for a short time each: part of make test.
fuzz-smoke: fuzz-build
	scripts/fuzz.sh build/fuzz $(FUZZ_SMOKE_SECONDS) $(FUZZ)

DEMO_DB := $(BUILD)/demo.db
DEMO_QUERIES := velfærdsalliance telemedicin '"offentlige sektor"' \
	'sundhedsvæsenet OR telemedicin' 'partnerskaber -hospital'
demo: $(PROGS)
	rm -rf $(DEMO_DB)
	$(BIN)/dksearch-index --db $(DEMO_DB) seeds/
	@for q in $(DEMO_QUERIES); do \
		echo; echo "\$$ dksearch-query --db $(DEMO_DB) '$$q'"; \
		$(BIN)/dksearch-query --db $(DEMO_DB) "$$q" || exit 1; \
	done
	@echo; echo "\$$ dksearch-query --db $(DEMO_DB) --json telemedicin"
	@$(BIN)/dksearch-query --db $(DEMO_DB) --json telemedicin

# The benchmark: BENCH_ARGS=--quick for a 5 MiB run, --mib N for another size.
# Its corpus is cached in bench/cache/, which `make clean` keeps.
# The peers are built where bench/run.py looks for them.
PEERS := build/bench/peers
peers: $(LIB)
	@scripts/install-deps.sh bench
	@mkdir -p $(PEERS)
	$(CC) $(DKS_CFLAGS) -O2 bench/peers/fts5.c -o $(PEERS)/fts5 -lsqlite3 -ljansson
	g++ -std=c++17 -Wall -Wextra -Werror -O2 bench/peers/xapian.cc -o $(PEERS)/xapian \
		-lxapian -ljansson
	$(CC) $(DKS_CFLAGS) -O2 bench/limits.c -o $(PEERS)/limits $(LIB) $(DKS_LIBS)

bench: $(PROGS) peers
	python3 bench/run.py $(BENCH_ARGS)

# The search page's server under load: wrk, 64 connections, the benchmark's
# queries over its 200 MiB corpus (bench/load.sh).
load: $(PROGS)
	@scripts/install-deps.sh bench
	bench/load.sh $(LOAD_ARGS)

# The benchmark end to end on a 1 MiB corpus made from the test texts, one
# run: proves the report is produced, not its numbers.
bench-smoke: $(PROGS) peers
	python3 bench/run.py --smoke --out build/bench-smoke > /dev/null
	@for engine in dksearch xapian fts5 "dksearch 1 thread" "cached stemming (limit)"; do \
		grep -q "^| $$engine | " build/bench-smoke/report.md || \
			{ echo "bench-smoke: no $$engine row in the report"; exit 1; }; \
	done
	@for kind in all rare medium frequent and2 or3 phrase prefix fixed; do \
		test -s build/bench-smoke/plots/$$kind.png || \
			{ echo "bench-smoke: no plot for $$kind queries"; exit 1; }; \
	done
	@echo "bench-smoke: report with every engine, limit and plot in build/bench-smoke/"

MANPAGES := $(wildcard docs/man/*.1)
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man1
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHLIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libdksearch.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libdksearch.so.$(SOVERSION)
	ln -sf libdksearch.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libdksearch.so
	install -m 644 include/dksearch.h $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(BUILD)/dksearch.pc $(DESTDIR)$(LIBDIR)/pkgconfig/
	install -m 644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(PROGS:$(BIN)/%=$(DESTDIR)$(PREFIX)/bin/%) \
		$(DESTDIR)$(LIBDIR)/libdksearch.a $(DESTDIR)$(LIBDIR)/libdksearch.so.$(VERSION) \
		$(DESTDIR)$(LIBDIR)/libdksearch.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libdksearch.so \
		$(DESTDIR)$(INCLUDEDIR)/dksearch.h $(DESTDIR)$(LIBDIR)/pkgconfig/dksearch.pc \
		$(MANPAGES:docs/man/%=$(DESTDIR)$(MANDIR)/man1/%)

# Installs into a scratch DESTDIR, builds examples/search.c against the
# installed header, shared library and pkg-config file alone, runs it on
# the demo index, and uninstalls, checking nothing is left behind.
STAGE := $(CURDIR)/build/stage
install-check: $(PROGS)
	rm -rf $(STAGE)
	$(MAKE) install DESTDIR=$(STAGE) PREFIX=/usr/local
	PKG_CONFIG_PATH=$(STAGE)/usr/local/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$(STAGE) \
		sh -c '$(CC) -std=c11 -Wall -Wextra -Werror examples/search.c \
		$$(pkg-config --cflags --libs dksearch) -o $(STAGE)/search'
	rm -rf $(STAGE)/demo.db
	$(BIN)/dksearch-index -q --db $(STAGE)/demo.db seeds/
	LD_LIBRARY_PATH=$(STAGE)/usr/local/lib $(STAGE)/search $(STAGE)/demo.db telemedicin \
		> $(STAGE)/out.txt
	grep -q '^1\. velfaerdsalliancer.txt' $(STAGE)/out.txt
	grep -q '\[telemedicin\]' $(STAGE)/out.txt
	LD_LIBRARY_PATH=$(STAGE)/usr/local/lib ldd $(STAGE)/search | grep -q '$(STAGE)/usr/local/lib/libdksearch.so.$(SOVERSION)'
	test -s $(STAGE)/usr/local/share/man/man1/dksearch-query.1
	$(MAKE) uninstall DESTDIR=$(STAGE) PREFIX=/usr/local
	test -z "$$(find $(STAGE)/usr/local -type f -o -type l)"
	@echo "install-check: examples/search.c built and run against the installed library"

clean:
	rm -rf build bin

-include $(wildcard $(BUILD)/obj/*.d)
