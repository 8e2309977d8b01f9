#!/bin/sh
# Installs the Debian packages dksearch needs to build and test (for make
# fuzz, clang and libclang-rt-14-dev, the libFuzzer runtime that clang only
# recommends), with the argument "bench" also what the benchmark needs (its
# corpus builder and its peers), and with "browser" what the search page's
# browser test needs (Chromium, Node.js and npm, which fetches playwright-core).
# Called by the Makefile before every build; it returns at once when
# everything is present, so a fresh Debian 12 machine needs no other step.
#   scripts/install-deps.sh [bench|browser]
set -eu

# header or program that proves a package is installed -> package name
needs='
/usr/include/stdio.h:libc6-dev
/usr/bin/gcc:gcc
/usr/bin/pkg-config:pkg-config
/usr/include/libstemmer.h:libstemmer-dev
/usr/include/lmdb.h:liblmdb-dev
/usr/include/cmocka.h:libcmocka-dev
/usr/include/utf8proc.h:libutf8proc-dev
/usr/include/jansson.h:libjansson-dev
/usr/include/zstd.h:libzstd-dev
/usr/include/microhttpd.h:libmicrohttpd-dev
/usr/include/libxml2/libxml/HTMLparser.h:libxml2-dev
/usr/include/hunspell/hunspell.h:libhunspell-dev
/usr/share/hunspell/da_DK.dic:hunspell-da
/usr/share/dict/danish:wdanish
/usr/bin/valgrind:valgrind
/usr/bin/clang:clang
/usr/lib/llvm-14/lib/clang/14.0.6/include/fuzzer/FuzzedDataProvider.h:libclang-rt-14-dev
'
if [ "${1:-}" = bench ]; then
    needs="$needs
/usr/bin/python3:python3
/usr/bin/dpkg-deb:dpkg
/usr/bin/g++:g++
/usr/include/xapian.h:libxapian-dev
/usr/include/sqlite3.h:libsqlite3-dev
/usr/bin/gnuplot:gnuplot-nox
/usr/bin/wrk:wrk
"
fi
# Node.js and npm are proved by their programs, whichever package put them
# there (a nodejs from elsewhere brings its own npm).
if [ "${1:-}" = browser ]; then
    needs="$needs
/usr/bin/chromium:chromium
/usr/bin/node:nodejs
/usr/bin/npm:npm
"
fi

missing=''
for pair in $needs; do
    file=${pair%%:*}
    pkg=${pair#*:}
    [ -e "$file" ] || missing="$missing $pkg"
done

[ -z "$missing" ] && exit 0

echo "install-deps: installing$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    sudo=''
elif command -v sudo >/dev/null 2>&1; then
    sudo='sudo'
else
    echo "install-deps: need root or sudo to install:$missing" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing >&2
