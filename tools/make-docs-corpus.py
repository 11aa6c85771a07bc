#!/usr/bin/env python3
"""Builds a corpus of text we did not write, from Debian's documentation packages, in the three
shapes users hand us: OUT/lines.txt (each document with its own line breaks, a blank line after
it), OUT/docs.jsonl (one {"text": ...} record per document, its newlines kept) and
OUT/oneline.txt (one document per line, its newlines turned into spaces).

Sources: the Python 3.11 HTML documentation (python3.11-doc, tags stripped), the Perl POD
manuals (perl-doc) and the fortune cookies (fortunes: each cookie a document), read in sorted
order; missing packages are skipped. Usage: tools/make-docs-corpus.py OUT [MAX_MB]
(apt-get install python3.11-doc perl-doc fortunes first)."""
import glob
import html.parser
import json
import os
import re
import sys


class TextOf(html.parser.HTMLParser):
    """The text of an HTML page: script and style dropped, block elements end lines."""
    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "tr", "dt", "dd", "section"}

    def __init__(self):
        super().__init__()
        self.parts, self.skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self.skip += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip = max(0, self.skip - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(data)


def tidy(text):
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def python_docs():
    for path in sorted(glob.glob("/usr/share/doc/python3.11/html/**/*.html", recursive=True)):
        parser = TextOf()
        parser.feed(open(path, encoding="utf-8", errors="replace").read())
        yield tidy("".join(parser.parts))


def perl_docs():
    for path in sorted(glob.glob("/usr/share/perl/5.*/pod/*.pod")):
        text = open(path, encoding="utf-8", errors="replace").read()
        yield tidy(re.sub(r"^=\w+\s*", "", text, flags=re.M))


def fortunes():
    for path in sorted(glob.glob("/usr/share/games/fortunes/*")):
        if os.path.isdir(path) or "." in os.path.basename(path):
            continue
        for cookie in open(path, encoding="utf-8", errors="replace").read().split("\n%\n"):
            yield tidy(cookie)


def documents(limit):
    """Python's documentation up to half of `limit` bytes, then Perl's and the fortunes."""
    size = 0
    for source, share in ((python_docs, 0.5), (perl_docs, 0.9), (fortunes, 1.0)):
        for doc in source():
            if doc:
                yield doc
                size += len(doc.encode())
                if size >= share * limit:
                    break


def main():
    out = sys.argv[1]
    limit = float(sys.argv[2]) * 1e6 if len(sys.argv) > 2 else float("inf")
    os.makedirs(out, exist_ok=True)
    size = 0
    with open(f"{out}/lines.txt", "w") as lines, open(f"{out}/docs.jsonl", "w") as jsonl, \
            open(f"{out}/oneline.txt", "w") as oneline:
        for n, doc in enumerate(documents(limit)):
            lines.write(doc + "\n\n")
            jsonl.write(json.dumps({"text": doc}) + "\n")
            oneline.write(" ".join(doc.split()) + "\n")
            size += len(doc.encode())
    print(f"{out}: {n + 1} documents, {size / 1e6:.1f} MB of text")


if __name__ == "__main__":
    main()
