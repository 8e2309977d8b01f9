#!/bin/sh
# The search page's server under load: dksearch-serve on loopback over the
# benchmark corpus's index, and wrk with 64 connections asking the queries
# of the benchmark's query set as the page asks them (ten hits with
# snippets), for a bounded time: once with every search run afresh
# (--cache-mib 0), once as served, with repeated searches answered from
# the server's cache; and the completions of the words' first letters,
# afresh.  Prints requests/s and the latency percentiles of
# both, and fails on any error, or on a p99 over the limit as served.
#   bench/load.sh [SECONDS] [CONNECTIONS] [P99_LIMIT_MS]
set -eu
seconds=${1:-20}
connections=${2:-64}
limit_ms=${3:-10}
top=$(cd "$(dirname "$0")/.." && pwd)
corpus="$top/bench/cache/scaled-200mib.jsonl"
queries="$top/bench/cache/scaled-200mib-queries.tsv"
db="$top/build/load/index.db"
out="$top/build/load"
mkdir -p "$out"
if [ ! -s "$corpus" ] || [ ! -s "$queries" ]; then
    python3 "$top/bench/run.py" --corpus-only
fi
if ! "$top/bin/dksearch-query" --db "$db" --stats > /dev/null 2>&1; then
    rm -rf "$db"
    "$top/bin/dksearch-index" -q --db "$db" "$corpus"
fi

# The page's requests: a search for each query of the set, percent-encoded.
python3 - "$queries" "$out/paths.lua" <<'PY'
import sys, urllib.parse
kinds = {}
paths = []
for line in open(sys.argv[1], encoding="utf-8"):
    kind, _, q = line.rstrip("\n").partition("\t")
    if q:
        paths.append("/api/search?q=" + urllib.parse.quote(q, safe=""))
# and what the page asks while a word is typed: the completions of each
# first one to four letters of the queries' words
prefixes = []
for line in open(sys.argv[1], encoding="utf-8"):
    for word in line.rstrip("\n").partition("\t")[2].split():
        word = word.strip('"*~()').lower()
        for n in range(1, min(4, len(word)) + 1):
            if word[:n] not in prefixes:
                prefixes.append(word[:n])
def script(name, paths):
    with open(name, "w") as f:
        f.write("paths = {\n")
        for p in paths:
            f.write('  "%s",\n' % p)
        f.write("}\n")
        f.write("counter = 0\n")
        f.write("request = function()\n"
                "  counter = counter + 1\n"
                "  return wrk.format(\"GET\", paths[(counter % #paths) + 1])\n"
                "end\n")
script(sys.argv[2], paths)
script(sys.argv[2].replace("paths", "suggest"),
       ["/api/suggest?q=" + urllib.parse.quote(p, safe="") for p in prefixes])
PY

# One measurement: a server of its own with the given options, a warm-up
# pass over the queries (the index in the page cache, as on a server that
# has been up for a while), then wrk; sets rps, p99, p99_ms and errors.
server=''
trap 'if [ -n "$server" ]; then kill $server 2>/dev/null; wait $server 2>/dev/null || true; fi' \
    EXIT INT TERM
measure() {
    name=$1
    shift
    "$top/bin/dksearch-serve" --db "$db" --listen 127.0.0.1:0 --quiet "$@" 2> "$out/serve.log" &
    server=$!
    port=''
    for _ in $(seq 100); do
        port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$out/serve.log")
        [ -n "$port" ] && break
        sleep 0.1
    done
    [ -n "$port" ] || { cat "$out/serve.log" >&2; exit 1; }
    url="http://127.0.0.1:$port"
    wrk -t 1 -c 1 -d 3s -s "$out/$script" "$url" > /dev/null
    echo "load: $name"
    wrk -t 2 -c "$connections" -d "${seconds}s" --latency -s "$out/$script" "$url" \
        | tee "$out/wrk-$name.txt"
    kill $server
    wait $server 2>/dev/null || true
    server=''
    rps=$(awk '/^Requests\/sec/ {print $2}' "$out/wrk-$name.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$out/wrk-$name.txt")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' "$out/wrk-$name.txt")
    p99_ms=$(echo "$p99" | awk '/ms$/ {sub("ms",""); print; next} /us$/ {sub("us",""); print $1/1000; next} /s$/ {sub("s",""); print $1*1000}')
    if [ -n "$errors" ]; then
        echo "load: $name: errors: $errors" >&2
        exit 1
    fi
}

# Searched afresh every time: what the engine itself sustains, for a
# server whose requests never repeat.
script=suggest.lua
measure suggest --cache-mib 0
suggest="$rps requests/s, p99 $p99"
script=paths.lua
measure uncached --cache-mib 0
uncached="$rps requests/s, p99 $p99"
# As the page is used: the same searches come again, and the server
# answers them from its cache until the index changes.
measure cached
echo "load: $connections connections, ${seconds} s: $rps requests/s, p99 $p99" \
    "(every search afresh: $uncached; completions afresh: $suggest)"
awk -v p="$p99_ms" -v l="$limit_ms" 'BEGIN { exit !(p <= l) }' ||
    { echo "load: p99 $p99 is over ${limit_ms} ms" >&2; exit 1; }
