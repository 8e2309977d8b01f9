#!/usr/bin/env python3
"""Runs the benchmark: builds (or reuses) the corpus and the query set,
indexes the corpus with dksearch several times, runs the query set over the
index several times, and writes a Markdown and a JSON report.

  run.py [--quick] [--mib N] [--runs N] [--out DIR]

Every figure is the median over the runs, because the machine is noisy.
The corpus and the query set are cached in bench/cache/ between runs.
"""
import argparse
import collections
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(HERE)
CACHE = os.path.join(HERE, "cache")
WORDLIST = "/usr/share/dict/danish"
QUERIES_PER_TYPE = 20
FIXED_QUERIES = ["velfærdsalliance", "telemedicin"]


def run_measured(argv, stdin=None, stdout=subprocess.DEVNULL):
    """Runs argv; returns (wall seconds, peak RSS in KiB, exit status)."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit(f"bench: {' '.join(argv)} exited {code}: {err}")
    return wall, usage.ru_maxrss, code


def corpus(mib):
    os.makedirs(CACHE, exist_ok=True)
    real = os.path.join(CACHE, "real.jsonl")
    builder = os.path.join(HERE, "build-corpus.py")
    if not os.path.exists(real):
        subprocess.run([sys.executable, builder, "real", os.path.join(CACHE, "debs"), real],
                       check=True)
    scaled = os.path.join(CACHE, f"scaled-{mib:g}mib.jsonl")
    if not os.path.exists(scaled):
        subprocess.run([sys.executable, builder, "scaled", real, WORDLIST, str(mib), scaled],
                       check=True)
    return scaled


WORD = re.compile(r"[^\W\d_]{3,}")


def stopwords():
    with open(os.path.join(TOP, "stemmer-data", "danish-stopwords.txt"), encoding="utf-8") as f:
        return {line.split("|")[0].strip() for line in f}


def query_set(corpus_path):
    """Generates the queries by type from the corpus's own statistics,
    deterministically; cached beside the corpus."""
    path = corpus_path.replace(".jsonl", "-queries.tsv")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            return [tuple(line.rstrip("\n").split("\t", 1)) for line in f]
    stop = stopwords()
    df = collections.Counter()
    bigrams = collections.Counter()
    docs = 0
    with open(corpus_path, encoding="utf-8") as f:
        for line in f:
            words = [w.lower() for w in WORD.findall(json.loads(line)["body"])]
            df.update(set(words))
            if docs < 20000:  # phrases from a sample: plenty, and fast
                bigrams.update(zip(words, words[1:]))
            docs += 1
    content = [(w, n) for w, n in df.items() if w not in stop and len(w) >= 4]
    rng = random.Random(7)

    def band(lo, hi):
        words = sorted(w for w, n in content if lo <= n <= hi)
        return rng.sample(words, min(QUERIES_PER_TYPE * 3, len(words)))

    rare = band(2, 10)
    medium = band(max(11, docs // 1000), max(12, docs // 50))
    frequent = band(max(13, docs // 20), docs)
    queries = [("rare", w) for w in rare[:QUERIES_PER_TYPE]]
    queries += [("medium", w) for w in medium[:QUERIES_PER_TYPE]]
    queries += [("frequent", w) for w in frequent[:QUERIES_PER_TYPE]]
    pairs = list(zip(medium, frequent))
    queries += [("and2", f"{a} {b}") for a, b in pairs[:QUERIES_PER_TYPE]]
    triples = list(zip(medium, frequent, medium[QUERIES_PER_TYPE:] + frequent))
    queries += [("or3", f"{a} OR {b} OR {c}") for a, b, c in triples[:QUERIES_PER_TYPE]]
    phrases = sorted((a, b) for (a, b), n in bigrams.items()
                     if n >= 5 and a not in stop and b not in stop)
    queries += [("phrase", f'"{a} {b}"')
                for a, b in rng.sample(phrases, min(QUERIES_PER_TYPE, len(phrases)))]
    queries += [("prefix", w[:max(4, len(w) - 3)] + "*") for w in medium[:QUERIES_PER_TYPE]]
    queries += [("fixed", q) for q in FIXED_QUERIES]
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        for kind, q in queries:
            f.write(f"{kind}\t{q}\n")
    os.replace(path + ".tmp", path)
    return queries


def disk_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.stat(os.path.join(root, name)).st_blocks * 512
    return total


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_dksearch(corpus_path, queries, runs, out):
    bindir = os.path.join(TOP, "bin")
    db = os.path.join(out, "dksearch.db")
    size = os.path.getsize(corpus_path)
    index_runs = []
    for _ in range(runs):
        shutil.rmtree(db, ignore_errors=True)
        wall, rss, _ = run_measured([os.path.join(bindir, "dksearch-index"), "-q", "--db", db,
                                     corpus_path])
        index_runs.append((size / 2**20 / wall, rss))
    batch = os.path.join(out, "queries.txt")
    with open(batch, "w", encoding="utf-8") as f:
        f.writelines(q + "\n" for _, q in queries)
    per_type = collections.defaultdict(list)  # type -> per run [p50, p95, p99]
    qps = []
    for _ in range(runs):
        results = os.path.join(out, "results.jsonl")
        with open(results, "w") as res:
            wall, _, _ = run_measured([os.path.join(bindir, "dksearch-query"), "--db", db,
                                       "--batch", batch, "--limit", "10"], stdout=res)
        qps.append(len(queries) / wall)
        took = collections.defaultdict(list)
        with open(results, encoding="utf-8") as f:
            for (kind, _), line in zip(queries, f):
                took[kind].append(json.loads(line)["took_us"])
                took["all"].append(json.loads(line)["took_us"])
        for kind, values in took.items():
            per_type[kind].append([percentile(values, p) for p in (50, 95, 99)])
    return {
        "index_mib_s": statistics.median(r[0] for r in index_runs),
        "index_peak_rss_mib": statistics.median(r[1] for r in index_runs) / 1024,
        "index_size_pct": 100.0 * disk_bytes(db) / size,
        "queries_per_s": statistics.median(qps),
        "latency_us": {kind: [statistics.median(run[i] for run in values) for i in range(3)]
                       for kind, values in per_type.items()},
    }


def report(mib, corpus_path, queries, results, out):
    lines = [f"# dksearch benchmark: {mib:g} MiB corpus", "",
             f"Corpus: `{os.path.relpath(corpus_path, TOP)}`, "
             f"{os.path.getsize(corpus_path) / 2**20:.1f} MiB; {len(queries)} queries.", "",
             "| engine | index MiB/s | peak RSS MiB | index % of input | queries/s |",
             "| --- | --- | --- | --- | --- |"]
    for engine, r in results.items():
        lines.append(f"| {engine} | {r['index_mib_s']:.1f} | {r['index_peak_rss_mib']:.0f} | "
                     f"{r['index_size_pct']:.0f} % | {r['queries_per_s']:.0f} |")
    lines += ["", "| engine | query type | p50 µs | p95 µs | p99 µs |",
              "| --- | --- | --- | --- | --- |"]
    for engine, r in results.items():
        for kind, (p50, p95, p99) in sorted(r["latency_us"].items()):
            lines.append(f"| {engine} | {kind} | {p50:.0f} | {p95:.0f} | {p99:.0f} |")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "report.md"), "w", encoding="utf-8") as f:
        f.write(text)
    with open(os.path.join(out, "report.json"), "w", encoding="utf-8") as f:
        json.dump({"corpus_mib": mib, "queries": len(queries), "engines": results}, f,
                  indent=1, ensure_ascii=False)
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a 5 MiB corpus and 2 runs")
    ap.add_argument("--mib", type=float, default=200, help="corpus size (default 200)")
    ap.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    ap.add_argument("--out", default=os.path.join(TOP, "build", "bench"))
    args = ap.parse_args()
    if args.quick:
        args.mib, args.runs = 5, 2
    os.makedirs(args.out, exist_ok=True)
    corpus_path = corpus(args.mib)
    queries = query_set(corpus_path)
    results = {"dksearch": bench_dksearch(corpus_path, queries, args.runs, args.out)}
    report(args.mib, corpus_path, queries, results, args.out)


if __name__ == "__main__":
    main()
