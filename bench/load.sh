#!/bin/sh
# The search page's server under load: dksearch-serve on loopback over the
# benchmark corpus's index, and wrk with 64 connections asking the queries
# of the benchmark's query set as the page asks them (ten hits with
# snippets), for a bounded time.  Prints requests/s and the latency
# percentiles, and fails on any error or a p99 over the limit.
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
with open(sys.argv[2], "w") as f:
    f.write("paths = {\n")
    for p in paths:
        f.write('  "%s",\n' % p)
    f.write("}\n")
    f.write("counter = 0\n")
    f.write("request = function()\n"
            "  counter = counter + 1\n"
            "  return wrk.format(\"GET\", paths[(counter % #paths) + 1])\n"
            "end\n")
PY

"$top/bin/dksearch-serve" --db "$db" --listen 127.0.0.1:0 --quiet 2> "$out/serve.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT INT TERM
port=''
for _ in $(seq 100); do
    port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$out/serve.log")
    [ -n "$port" ] && break
    sleep 0.1
done
[ -n "$port" ] || { cat "$out/serve.log" >&2; exit 1; }
url="http://127.0.0.1:$port"
# one pass over the queries first: the index in the page cache, as on a
# server that has been up for a while
wrk -t 1 -c 1 -d 3s -s "$out/paths.lua" "$url" > /dev/null
wrk -t 2 -c "$connections" -d "${seconds}s" --latency -s "$out/paths.lua" "$url" \
    | tee "$out/wrk.txt"
rps=$(awk '/^Requests\/sec/ {print $2}' "$out/wrk.txt")
p99=$(awk '$1 == "99%" {print $2}' "$out/wrk.txt")
errors=$(awk '/Non-2xx|Socket errors/ {print}' "$out/wrk.txt")
p99_ms=$(echo "$p99" | awk '/ms$/ {sub("ms",""); print; next} /us$/ {sub("us",""); print $1/1000; next} /s$/ {sub("s",""); print $1*1000}')
echo "load: $connections connections, ${seconds} s: $rps requests/s, p99 $p99"
if [ -n "$errors" ]; then
    echo "load: errors: $errors" >&2
    exit 1
fi
awk -v p="$p99_ms" -v l="$limit_ms" 'BEGIN { exit !(p <= l) }' ||
    { echo "load: p99 $p99 is over ${limit_ms} ms" >&2; exit 1; }
