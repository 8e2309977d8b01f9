#!/usr/bin/env python3
"""Puts the reports of runs at several corpus sizes side by side: how
indexing speed, memory, size and query latency change with the collection.

  scaling.py REPORT.json...      (e.g. build/bench-50/report.json ...)

Prints a Markdown table per engine, one column per corpus size, and the
growth of each figure from the smallest to the largest corpus next to the
growth of the corpus itself.
"""
import json
import sys


def main():
    reports = sorted((json.load(open(path, encoding="utf-8")) for path in sys.argv[1:]),
                     key=lambda r: r["corpus_mib"])
    if len(reports) < 2:
        sys.exit("scaling: give the report.json of at least two corpus sizes")
    sizes = [r["corpus_mib"] for r in reports]
    growth = sizes[-1] / sizes[0]
    engines = [e for e in reports[0]["engines"]
               if all(e in r["engines"] for r in reports)
               and "index_mib_s" in reports[0]["engines"][e]]
    out = []
    for engine in engines:
        figures = [r["engines"][engine] for r in reports]
        rows = [("index MiB/s", "index_mib_s", "{:.1f}"),
                ("indexing seconds", None, "{:.0f}"),
                ("peak RSS MiB", "index_peak_rss_mib", "{:.0f}"),
                ("index % of input", "index_size_pct", "{:.0f}")]
        out += [f"### {engine}", "",
                "| figure | " + " | ".join(f"{s:g} MiB" for s in sizes) +
                f" | growth (corpus {growth:.1f}x) |",
                "| --- |" + " --- |" * (len(sizes) + 1)]
        for label, key, fmt in rows:
            if key is None:
                values = [s / f["index_mib_s"] for s, f in zip(sizes, figures)]
            elif all(key in f for f in figures):
                values = [f[key] for f in figures]
            else:
                continue
            out.append(f"| {label} | " + " | ".join(fmt.format(v) for v in values) +
                       f" | {values[-1] / values[0]:.2f}x |")
        if all("latency_us" in f for f in figures):
            for kind in sorted(figures[0]["latency_us"]):
                values = [f["latency_us"][kind][0] for f in figures]
                out.append(f"| p50 µs, {kind} | " + " | ".join(f"{v:.0f}" for v in values) +
                           f" | {values[-1] / max(values[0], 1):.2f}x |")
        out.append("")
    print("\n".join(out))


if __name__ == "__main__":
    main()
