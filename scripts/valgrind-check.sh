#!/bin/sh
# Runs the real binaries under valgrind's memcheck on the fixture corpora:
# indexing, re-indexing (deletes), updates of changed and vanished files,
# deletes by id, the integrity check, compaction, queries of every kind
# (single and in a batch), JSON and analysis.
# Fails on any memory error or leak, which ASan misses for reads of
# uninitialised stack memory.
#   scripts/valgrind-check.sh BINDIR
set -eu
bin=$1
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

vg() {
    # 0, 1 and 2 are the programs' own answers (hits, none, refused);
    # 99 is valgrind finding an error, 128 and up a crash.
    status=0
    valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=99 "$@" > "$tmp/out" 2> "$tmp/err" || status=$?
    if [ "$status" -eq 99 ] || grep -q '^==[0-9]*==' "$tmp/err"; then
        echo "valgrind: errors in: $*" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
    if [ "$status" -gt 2 ]; then
        echo "valgrind-check: $* exited $status" >&2
        cat "$tmp/err" >&2
        exit 1
    fi
}

db="$tmp/db"
vg "$bin/dksearch-index" -q --db "$db" "$top/seeds" "$top/tests/fixtures/corpus" \
    "$top/tests/fixtures/danish"
vg "$bin/dksearch-index" -q --db "$db" --reindex "$top/tests/fixtures/corpus"
cp -r "$top/tests/fixtures/corpus" "$tmp/corpus"
vg "$bin/dksearch-index" -q --db "$db" "$tmp/corpus"
echo "Ny side om telemedicin og velfærdsalliancer i kommunerne." >> "$tmp/corpus/klima/aarhus.txt"
rm -r "$tmp/corpus/skoler"
vg "$bin/dksearch-index" -q --db "$db" --delete-missing "$tmp/corpus"
vg "$bin/dksearch-index" -q --db "$db" --delete velfaerdsalliancer.txt no-such-id
vg "$bin/dksearch-index" -q --db "$db" --compact
vg "$bin/dksearch-index" -q --db "$db" --check
# Hostile input, small (tests/e2e/hostile.c has the big cases): invalid
# UTF-8 and NUL bytes in each format, deep JSON, blank and binary files,
# malformed HTML in Latin-1 and in a charset that fails to convert, and
# the HTML fixture pages.
h="$tmp/hostile"
mkdir "$h"
printf 'Titel \300\257 ord\n\200 \355\240\200 slut \346\227' > "$h/utf8.txt"
printf '{"id":"a","body":"\300\257"}\n{"id":"b","body":"nul \\u0000 ok"}\n' > "$h/lines.jsonl"
printf '%3000s\n' '' | tr ' ' '[' >> "$h/lines.jsonl"
printf 't1\tnul \000 her\nt\000x\ty\n  \nt3\t\377 ord\n' > "$h/lines.tsv"
printf ' \n\t\n' > "$h/blank.txt"
cp /bin/true "$h/true.txt"
printf '<html lang=da><meta charset=iso-8859-1><title>Bl\345</title><nav>menu</nav>' > "$h/side.html"
printf '<p>gr\370d &aelig;&#8211;&bogus; <b>uafsluttet <div><img alt="billede"><<>' >> "$h/side.html"
printf '<meta charset=windows-1252><p>f\370r \201 efter</p>' > "$h/cp1252.htm"
printf '<html><script>x()</script></html>' > "$h/markup.html"
cp /bin/true "$h/true.html"
vg "$bin/dksearch-index" -q --db "$tmp/hostile.db" "$h" "$top/tests/fixtures/html"
vg "$bin/dksearch-query" --db "$tmp/hostile.db" --filter lang=da --json grød
for q in velfærdsalliance telemedicin alliance energiministeren velfaerdsalliance \
    Aarhus sundhedsvæsnet havde '"i dag"' '"§ 12"' 'L 146' H.C. offentlig-private \
    'kommune -borgmester' '(klima OR borgmester) AND kommune' 'og' '(velfærd' xyzzy; do
    vg "$bin/dksearch-query" --db "$db" "$q"
    vg "$bin/dksearch-query" --db "$db" --json --limit 3 --offset 1 "$q"
done
# Every query kind in one process, as a benchmark or a server runs them: a
# leak per search shows up here many times over.
printf '%s\n' velfærdsalliance 'telemed*' 'velfærd*' 'telemedecin~' 'kommunerne~' \
    '"offentlige sektor"~3' '"den offentlige sektor"' title:telemedicin \
    'party:Venstre OR party:Socialdemokratiet' telemedecin 'kat OR OR hund' '(((' \
    > "$tmp/queries"
vg "$bin/dksearch-query" --db "$db" --batch "$tmp/queries" --explain
vg "$bin/dksearch-query" --db "$db" --batch "$tmp/queries" --facet party --sort -id --limit 2
vg "$bin/dksearch-query" --db "$db" --as-you-type --filter party=Venstre --json "vi velfærdsal"
vg "$bin/dksearch-query" --analyze "Klima-, energi- og forsyningsministeren sagde i 2022, at L 146 og H.C. 1.000,50"
echo "valgrind-check: 0 memory errors and 0 leaks (indexing, re-indexing, updates, deletes," \
    "check, compaction, hostile input, 35 single queries," \
    "2 batches of 12 with explain, facets and sorting, analysis)"
