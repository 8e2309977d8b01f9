#!/usr/bin/env python3
"""Builds the benchmark corpora as JSON Lines.

  build-corpus.py real   CACHE_DIR OUT.jsonl
      Danish passages of 100-300 words from Debian's Danish documentation
      (libreoffice-help-da, gimp-help-da, debian-edu-doc-da, manpages-da),
      fetched with `apt-get download` and unpacked into CACHE_DIR, never
      installed.

  build-corpus.py text   DIR OUT.jsonl
      The same passages from the .txt files under DIR, for a smoke test
      that must not download anything.

  build-corpus.py scaled REAL.jsonl WORDLIST MIB OUT.jsonl
      A deterministic corpus of about MIB MiB: documents of 100-300 words
      resampled from the real passages' sentences.  Resampling alone keeps
      the vocabulary frozen, which flatters dictionaries and caches, so one
      word in twelve is replaced by a word of WORDLIST drawn at a
      Zipf-distributed rank: the number of distinct words then grows with
      the corpus as it does in real text.  Prints the distinct-word count.
"""
import glob
import gzip
import html.parser
import json
import os
import random
import re
import subprocess
import sys

PACKAGES = ["libreoffice-help-da", "gimp-help-da", "debian-edu-doc-da", "manpages-da"]
MIN_WORDS, MAX_WORDS = 100, 300
# The share of words drawn from the word list instead of the sentences.
WORDLIST_SHARE = 1 / 12
SEED = 20261129
HERE = os.path.dirname(os.path.abspath(__file__))
# Much of gimp-help-da is untranslated: a passage counts as Danish when
# Danish stop words clearly outnumber English ones.
ENGLISH_MARKERS = {"the", "of", "and", "to", "is", "in", "you", "for", "this", "that",
                   "with", "are", "it", "be", "can", "or", "an", "on", "as", "by"}


def danish_stopwords():
    with open(os.path.join(HERE, "..", "stemmer-data", "danish-stopwords.txt"),
              encoding="utf-8") as f:
        return {w.split("|")[0].strip() for w in f if w.split("|")[0].strip()}


def is_danish(text, stopwords):
    words = [w.strip(".,;:!?()\"'“”").lower() for w in text.split()]
    danish = sum(w in stopwords for w in words)
    english = sum(w in ENGLISH_MARKERS for w in words)
    return danish >= 0.15 * len(words) and danish > 3 * english


class TextOfHtml(html.parser.HTMLParser):
    """The visible text of a page, a line per block element."""

    BLOCKS = {"p", "div", "li", "h1", "h2", "h3", "h4", "h5", "h6", "td", "th", "br",
              "tr", "dt", "dd", "pre", "title", "section", "table"}
    HIDDEN = {"script", "style", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.out.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.out.append(data)


def html_paragraphs(path):
    parser = TextOfHtml()
    with open(path, encoding="utf-8", errors="replace") as f:
        parser.feed(f.read())
    return "".join(parser.out).split("\n")


TROFF_ESCAPES = re.compile(r"\\f[BIRP]|\\f\(..|\\\(..|\\[&|^e-]|\\s[-+]?\d")


def macro_argument(line):
    parts = line.split(None, 1)
    return parts[1] if len(parts) == 2 else ""


def man_paragraphs(path):
    """Text lines of a man page: macros dropped, their arguments kept."""
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    paragraphs, current = [], []
    for line in lines:
        if line.startswith(('.\\"', "'\\\"")):
            continue
        if line.startswith((".PP", ".P", ".LP", ".SH", ".SS", ".TP", ".IP", ".sp", ".br")):
            paragraphs.append(" ".join(current))
            current = []
            line = macro_argument(line)
        elif line.startswith("."):
            line = macro_argument(line)
        current.append(TROFF_ESCAPES.sub("", line).replace("\\", ""))
    paragraphs.append(" ".join(current))
    return paragraphs


def passages(paragraphs):
    """Joins paragraphs into passages of MIN_WORDS..MAX_WORDS words."""
    words = []
    for p in paragraphs:
        p = " ".join(p.split())
        if len(p.split()) < 4:  # headings, menu paths and table cells
            continue
        words.extend(p.split())
        while len(words) >= MAX_WORDS:
            yield " ".join(words[:MAX_WORDS])
            words = words[MAX_WORDS:]
        if len(words) >= MIN_WORDS:
            yield " ".join(words)
            words = []


def sources(top):
    """(name, paragraphs) of each HTML page and man page under top; the .txt
    files, short texts each, run together as one source."""
    texts = []
    for root, _, files in sorted(os.walk(top)):
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.endswith((".html", ".htm", ".xhtml")):
                yield os.path.relpath(path, top), html_paragraphs(path)
            elif "/man/" in path and name.endswith(".gz"):
                yield os.path.relpath(path, top), man_paragraphs(path)
            elif name.endswith(".txt"):
                with open(path, encoding="utf-8", errors="replace") as f:
                    texts.extend(f.read().split("\n"))
    if texts:
        yield "texts", texts


def build_real(cache, out_path, fetch=True):
    os.makedirs(cache, exist_ok=True)
    unpacked = os.path.join(cache, "unpacked") if fetch else cache
    if fetch and not os.path.isdir(unpacked):
        if subprocess.run(["apt-get", "download", *PACKAGES], cwd=cache).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], check=True)  # stale package lists
            subprocess.run(["apt-get", "download", *PACKAGES], cwd=cache, check=True)
        for deb in glob.glob(os.path.join(cache, "*.deb")):
            subprocess.run(["dpkg-deb", "-x", deb, unpacked], check=True)
    seen = set()
    stopwords = danish_stopwords()
    count = size = skipped = 0
    with open(out_path + ".tmp", "w", encoding="utf-8") as out:
        for rel, paragraphs in sources(unpacked):
            for i, text in enumerate(passages(paragraphs)):
                if text in seen:  # the same page ships in several manuals
                    continue
                if not is_danish(text, stopwords):
                    skipped += 1
                    continue
                seen.add(text)
                line = json.dumps({"id": f"{rel}#{i}", "title": " ".join(text.split()[:8]),
                                   "body": text}, ensure_ascii=False)
                out.write(line + "\n")
                count += 1
                size += len(line.encode()) + 1
    os.replace(out_path + ".tmp", out_path)
    print(f"real corpus: {count} Danish passages ({skipped} in other languages left out), "
          f"{size / 2**20:.1f} MiB -> {out_path}")


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÆØÅ0-9])")


def build_scaled(real_path, wordlist_path, mib, out_path):
    rng = random.Random(SEED)
    sentences = []
    with open(real_path, encoding="utf-8") as f:
        for line in f:
            for s in SENTENCE_END.split(json.loads(line)["body"]):
                if len(s.split()) >= 3:
                    sentences.append(s.split())
    with open(wordlist_path, encoding="utf-8") as f:
        vocabulary = [w.strip() for w in f if w.strip() and " " not in w.strip()]
    vocabulary.sort()
    rng.shuffle(vocabulary)  # a fixed, arbitrary order: rank r is vocabulary[r]
    cumulative, total = [], 0.0
    for rank in range(1, len(vocabulary) + 1):
        total += 1.0 / rank
        cumulative.append(total)
    target = mib * 2**20
    size = count = 0
    distinct = set()
    with open(out_path + ".tmp", "w", encoding="utf-8") as out:
        while size < target:
            want = rng.randint(MIN_WORDS, MAX_WORDS)
            words = []
            while len(words) < want:
                words.extend(sentences[rng.randrange(len(sentences))])
            words = words[:want]
            picks = [i for i in range(want) if rng.random() < WORDLIST_SHARE]
            drawn = rng.choices(vocabulary, cum_weights=cumulative, k=len(picks))
            for i, w in zip(picks, drawn):
                words[i] = w
            for w in words:
                distinct.add(w.strip(".,;:!?()\"'").lower())
            line = json.dumps({"id": f"s{count:08d}", "title": " ".join(words[:8]),
                               "body": " ".join(words)}, ensure_ascii=False)
            out.write(line + "\n")
            size += len(line.encode()) + 1
            count += 1
    os.replace(out_path + ".tmp", out_path)
    print(f"scaled corpus: {count} documents, {size / 2**20:.1f} MiB, "
          f"{len(distinct)} distinct words -> {out_path}")


def main(argv):
    if len(argv) == 4 and argv[1] in ("real", "text"):
        build_real(argv[2], argv[3], fetch=argv[1] == "real")
    elif len(argv) == 6 and argv[1] == "scaled":
        build_scaled(argv[2], argv[3], float(argv[4]), argv[5])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
