#!/usr/bin/env python3
"""Runs the benchmark: builds (or reuses) the corpus and the query set,
indexes the corpus with dksearch and its peers (Xapian, SQLite FTS5)
several times, runs the query set over each index several times, and writes
a Markdown and a JSON report with every figure as a ratio to each peer.

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
# The query set runs this many times in one process and the last pass is
# measured: the first ones bring every engine's index into its caches, as
# on a search server that has been up for a while.
PASSES = 2
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


def corpus(mib, cache=CACHE, text_dir=None):
    """The scaled corpus of `mib` MiB, built from Debian's documentation, or
    from the .txt files of text_dir (the smoke test: nothing to download)."""
    os.makedirs(cache, exist_ok=True)
    real = os.path.join(cache, "real.jsonl")
    builder = os.path.join(HERE, "build-corpus.py")
    if not os.path.exists(real):
        source = ["text", text_dir] if text_dir else ["real", os.path.join(cache, "debs")]
        subprocess.run([sys.executable, builder, *source, real], check=True)
    scaled = os.path.join(cache, f"scaled-{mib:g}mib.jsonl")
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
    if os.path.isfile(path):
        return os.stat(path).st_blocks * 512
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            total += os.stat(os.path.join(root, name)).st_blocks * 512
    return total


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Engine:
    """How to index a corpus and run a query file with one engine."""

    def __init__(self, name, index_argv, query_argv, path):
        self.name, self.index_argv, self.query_argv, self.path = name, index_argv, query_argv, path
        self.index_runs, self.qps, self.answers = [], [], []
        self.last_took = {}
        self.latency = collections.defaultdict(list)  # type -> per run [p50, p95, p99]

    def index(self, corpus_path):
        if os.path.isdir(self.path):
            shutil.rmtree(self.path)
        elif os.path.exists(self.path):
            os.remove(self.path)
        wall, rss, _ = run_measured(self.index_argv(corpus_path))
        self.index_runs.append((os.path.getsize(corpus_path) / 2**20 / wall, rss))

    def search(self, queries, batch, out):
        results = os.path.join(out, f"results-{self.name}.jsonl")
        with open(results, "w") as res:
            wall, _, _ = run_measured(self.query_argv(batch), stdout=res)
        self.qps.append(PASSES * len(queries) / wall)
        took = collections.defaultdict(list)
        with open(results, encoding="utf-8") as f:
            answers = [json.loads(line) for line in f]
        if len(answers) != PASSES * len(queries):
            sys.exit(f"bench: {self.name} answered {len(answers)} of "
                     f"{PASSES * len(queries)} queries")
        self.answers = answers[-len(queries):]
        for (kind, _), answer in zip(queries, self.answers):
            took[kind].append(answer["took_us"])
            took["all"].append(answer["took_us"])
        for kind, values in took.items():
            self.latency[kind].append([percentile(values, p) for p in (50, 95, 99)])
        self.last_took = took

    def query_figures(self):
        return {
            "queries_per_s": statistics.median(self.qps),
            "latency_us": {kind: [statistics.median(run[i] for run in values) for i in range(3)]
                           for kind, values in self.latency.items()},
        }

    def figures(self, corpus_path):
        return {
            "index_mib_s": statistics.median(r[0] for r in self.index_runs),
            "index_mib_s_runs": [r[0] for r in self.index_runs],
            "index_peak_rss_mib": statistics.median(r[1] for r in self.index_runs) / 1024,
            "index_size_pct": 100.0 * disk_bytes(self.path) / os.path.getsize(corpus_path),
            **(self.query_figures() if self.qps else {}),
        }


BINDIR = os.path.join(TOP, "bin")
PEERS = os.path.join(TOP, "build", "bench", "peers")  # where make bench builds them


def engines(out):
    db = os.path.join(out, "dksearch.db")
    db1 = os.path.join(out, "dksearch-1thread.db")
    peers = PEERS
    return [
        # Top 10 as the peers answer it: ids without snippets, no "Mente du"
        # suggestion, and like Xapian's get_mset(0, 10) no exact count of
        # every hit (--count 10: pruning starts as soon as ten are found).
        Engine("dksearch",
               lambda c: [os.path.join(BINDIR, "dksearch-index"), "-q", "--threads", "2",
                          "--db", db, c],
               lambda q: [os.path.join(BINDIR, "dksearch-query"), "--db", db, "--batch", q,
                          "--limit", "10", "--no-snippets", "--no-suggestion", "--count",
                          "10"], db),
        # indexing only: the same work on one thread
        Engine("dksearch 1 thread",
               lambda c: [os.path.join(BINDIR, "dksearch-index"), "-q", "--threads", "1",
                          "--db", db1, c], None, db1),
        Engine("xapian",
               lambda c: [os.path.join(peers, "xapian"), "index", os.path.join(out, "xapian.db"),
                          c],
               lambda q: [os.path.join(peers, "xapian"), "query", os.path.join(out, "xapian.db"),
                          q], os.path.join(out, "xapian.db")),
        Engine("fts5",
               lambda c: [os.path.join(peers, "fts5"), "index", os.path.join(out, "fts5.db"), c],
               lambda q: [os.path.join(peers, "fts5"), "query", os.path.join(out, "fts5.db"), q],
               os.path.join(out, "fts5.db")),
    ]


def read_through(path):
    """Reads a file once, so that no engine's first run is the one that
    reads the corpus from disk into the page cache for all the others."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def run_all(corpus_path, queries, runs, out, peers=True):
    """Every run indexes with each engine in turn, then queries with each:
    engines alternate, so a noisy minute does not land on one of them.
    peers=False: dksearch alone (for the scaling runs at sizes where a
    peer would index for an hour)."""
    batch = os.path.join(out, "queries.txt")
    with open(batch, "w", encoding="utf-8") as f:
        for _ in range(PASSES):
            f.writelines(q + "\n" for _, q in queries)
    all_engines = [e for e in engines(out) if peers or e.name.startswith("dksearch")]
    ours = all_engines[0]
    variants = [
        # the same index, queried as a search page does: snippets, suggestions,
        # hits counted exactly up to 1,000
        Engine("dksearch+snippets", None,
               lambda q: [os.path.join(BINDIR, "dksearch-query"), "--db", ours.path, "--batch",
                          q, "--limit", "10"], ours.path),
        # without dynamic pruning: every hit scored and counted
        Engine("dksearch exhaustive", None,
               lambda q: [os.path.join(BINDIR, "dksearch-query"), "--db", ours.path, "--batch",
                          q, "--limit", "10", "--no-snippets", "--no-suggestion",
                          "--exact-total"], ours.path),
    ]
    limits = []
    read_through(corpus_path)
    for run in range(runs):
        for e in all_engines:
            e.index(corpus_path)
        for e in all_engines + variants:
            if e.query_argv:
                e.search(queries, batch, out)
        limits.append(json.loads(subprocess.run([os.path.join(PEERS, "limits"), corpus_path],
                                                check=True, capture_output=True).stdout))
        print(f"bench: run {run + 1} of {runs} done", file=sys.stderr)
    results = {e.name: e.figures(corpus_path) for e in all_engines}
    for e in variants:
        results[e.name] = e.query_figures()
    results["dksearch exhaustive"]["same_top10"] = same_top10(ours.answers, variants[1].answers)
    plot([e for e in all_engines + variants if e.query_argv], out)
    # the index without the document store (records, ids, stored text),
    # which a peer that returns ids only does not need
    stats = json.loads(subprocess.run([os.path.join(BINDIR, "dksearch-query"), "--db",
                                       ours.path, "--stats"], check=True,
                                      capture_output=True).stdout)
    results["dksearch"]["index_size_no_text_pct"] = (
        100.0 * (disk_bytes(ours.path) - stats["store_bytes"]) / os.path.getsize(corpus_path))
    results["dksearch"]["index_parts_mib"] = {
        part: stats[part + "_bytes"] / 2**20 for part in ("postings", "terms", "store", "text")}
    results["tokenise only (limit)"] = {
        "index_mib_s": statistics.median(l["tokenise_mib_s"] for l in limits)}
    results["cached stemming (limit)"] = {
        "index_mib_s": statistics.median(l["stem_cached_mib_s"] for l in limits)}
    return results


def same_top10(pruned, exhaustive):
    """How many queries the pruned search answers with the exhaustive
    search's hits, in its order and with its scores."""
    def page(a):
        return [(h["id"], h["score"]) for h in a["hits"]]
    return sum(page(a) == page(b) for a, b in zip(pruned, exhaustive))


def plot(engines_run, out):
    """One PNG a query type: each engine's latencies of the last run as a
    cumulative distribution (log scale), drawn by gnuplot."""
    plots = os.path.join(out, "plots")
    os.makedirs(plots, exist_ok=True)
    kinds = sorted(engines_run[0].last_took)
    for kind in kinds:
        curves = []
        for i, e in enumerate(engines_run):
            values = sorted(e.last_took.get(kind, []))
            if not values:
                continue
            data = os.path.join(plots, f"{kind}-{i}.dat")
            with open(data, "w") as f:
                for j, v in enumerate(values):
                    f.write(f"{max(v, 1)} {(j + 1) / len(values)}\n")
            curves.append(f"'{data}' using 1:2 with steps lw 2 title '{e.name}'")
        script = "\n".join([
            "set terminal pngcairo size 800,500 font 'sans,10'",
            f"set output '{os.path.join(plots, kind + '.png')}'",
            f"set title 'Top-10 latency, {kind} queries (last run)'",
            "set logscale x", "set xlabel 'latency (µs)'",
            "set ylabel 'share of queries answered'", "set yrange [0:1]",
            "set key bottom right", "set grid",
            "plot " + ", ".join(curves), ""])
        subprocess.run(["gnuplot"], input=script.encode(), check=True)
    return [os.path.join(plots, k + ".png") for k in kinds]


def ratio(peer, ours):
    return f"{peer / ours:.1f}x" if ours > 0 else "-"


def report(mib, corpus_path, queries, results, out):
    ours = results["dksearch"]
    peers = [name for name in results if not name.startswith("dksearch")]  # and limits
    lines = [f"# Benchmark: {mib:g} MiB corpus", "",
             f"Corpus `{os.path.relpath(corpus_path, TOP)}`, "
             f"{os.path.getsize(corpus_path) / 2**20:.1f} MiB; {len(queries)} queries, top 10. "
             "Medians of the runs; a ratio is how many times better dksearch is "
             "(above 1x: dksearch wins).", "",
             "| engine | index MiB/s | peak RSS MiB | index % of input | without document store "
             "| queries/s |",
             "| --- | --- | --- | --- | --- | --- |"]

    def cell(r, key, fmt):
        return fmt.format(r[key]) if key in r else ""
    for engine, r in results.items():
        lines.append(f"| {engine} | {cell(r, 'index_mib_s', '{:.1f}')} | "
                     f"{cell(r, 'index_peak_rss_mib', '{:.0f}')} | "
                     f"{cell(r, 'index_size_pct', '{:.0f} %')} | "
                     f"{cell(r, 'index_size_no_text_pct', '{:.0f} %')} | "
                     f"{cell(r, 'queries_per_s', '{:.0f}')} |")
    for peer in peers:
        r = results[peer]
        if "queries_per_s" not in r:
            continue  # a limit, not an engine
        lines.append(f"| dksearch vs {peer} | {ratio(ours['index_mib_s'], r['index_mib_s'])} | "
                     f"{ratio(r['index_peak_rss_mib'], ours['index_peak_rss_mib'])} | "
                     f"{ratio(r['index_size_pct'], ours['index_size_pct'])} | "
                     f"{ratio(r['index_size_pct'], ours['index_size_no_text_pct'])} | "
                     f"{ratio(ours['queries_per_s'], r['queries_per_s'])} |")
    one = results["dksearch 1 thread"]["index_mib_s"]
    limit = results["cached stemming (limit)"]["index_mib_s"]
    # the two run one after the other in each run: their ratio within a run
    # says more than the ratio of medians on a machine whose speed drifts
    paired = ", ".join(f"{a / b:.2f}x" for a, b in zip(
        ours["index_mib_s_runs"], results["dksearch 1 thread"]["index_mib_s_runs"]))
    lines += ["", f"Indexing: two threads give {ours['index_mib_s'] / one:.2f}x one thread "
              f"(run by run: {paired}); "
              f"one thread reaches {100 * one / limit:.0f} % of the cached-stemming limit "
              f"(two: {100 * ours['index_mib_s'] / limit:.0f} %).  The limits time only their "
              "loop over texts already in memory (bench/limits.c)."]
    peers = [p for p in peers if "queries_per_s" in results[p]]
    engines_q = {e: r for e, r in results.items() if "latency_us" in r}
    header = "| query type | " + " | ".join(
        f"{e} p50 / p95 / p99 µs" for e in engines_q) + " | " + " | ".join(
        f"vs {p} p50 / p99" for p in peers) + " |"
    lines += ["", header, "|" + " --- |" * (1 + len(engines_q) + len(peers))]
    for kind in sorted(ours["latency_us"]):
        cells = []
        for e in engines_q.values():
            p50, p95, p99 = e["latency_us"][kind]
            cells.append(f"{p50:.0f} / {p95:.0f} / {p99:.0f}")
        for peer in peers:
            theirs = results[peer]["latency_us"][kind]
            mine = ours["latency_us"][kind]
            cells.append(f"{ratio(theirs[0], mine[0])} / {ratio(theirs[2], mine[2])}")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    lines += ["", f"Every engine returns the ten best ids; the query set runs {PASSES} times "
              "in one process and the last pass is measured. The ratios are against dksearch "
              "as the peers answer (no snippets, no suggestion, pruning from the tenth hit on, "
              "like Xapian's get_mset(0, 10)); dksearch+snippets answers as a search page "
              "asks: ten snippets with highlights, a suggestion when nothing is found, hits "
              "counted exactly up to 1,000; dksearch exhaustive scores and counts every hit "
              "(no pruning) and gave the "
              f"same ten hits, order and scores for {results['dksearch exhaustive']['same_top10']}"
              f" of {len(queries)} queries."]
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
    ap.add_argument("--smoke", action="store_true",
                    help="a 1 MiB corpus from the test texts, 1 run: checks that it works")
    ap.add_argument("--mib", type=float, default=200, help="corpus size (default 200)")
    ap.add_argument("--runs", type=int, default=5, help="runs per figure (default 5)")
    ap.add_argument("--out", default=os.path.join(TOP, "build", "bench"))
    ap.add_argument("--no-peers", action="store_true",
                    help="dksearch alone: for scaling runs on large corpora")
    ap.add_argument("--corpus-only", action="store_true",
                    help="build the corpus and its query set (cached), nothing else")
    args = ap.parse_args()
    if args.quick:
        args.mib, args.runs = 5, 2
    os.makedirs(args.out, exist_ok=True)
    if args.smoke:
        args.mib, args.runs = 1, 1
        corpus_path = corpus(1, os.path.join(args.out, "cache"),
                             os.path.join(TOP, "tests", "eval", "corpus"))
    else:
        corpus_path = corpus(args.mib)
    queries = query_set(corpus_path)
    if args.corpus_only:
        return
    results = run_all(corpus_path, queries, args.runs, args.out, not args.no_peers)
    report(args.mib, corpus_path, queries, results, args.out)


if __name__ == "__main__":
    main()
