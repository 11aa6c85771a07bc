#!/usr/bin/env bash
# Writes the bundled sample corpus, data/sample/kjv.txt, from Debian's bible-kjv package
# (the King James Bible, public domain). One verse per line, one chapter per document,
# a blank line between documents: the input format electra-prep expects.
set -euo pipefail
cd "$(dirname "$0")/.."
out=data/sample/kjv.txt
[ -s "$out" ] && exit 0
command -v bible >/dev/null || { echo "make-sample-corpus: the 'bible' command is missing: apt-get install bible-kjv" >&2; exit 1; }
mkdir -p data/sample
# `bible` prints "Genesis 1" headings, then "  N verse text" lines, blank lines between chapters.
bible -l100000 'gen1:1-rev22:21' | awk '
  /^[[:space:]]+[0-9]+ / { sub(/^[[:space:]]+[0-9]+ /, ""); print; inchapter = 1; next }
  /^[[:space:]]*$/ { next }
  { if (inchapter) print ""; inchapter = 0 }   # a heading starts a new document
' > "$out.tmp"
mv "$out.tmp" "$out"
echo "make-sample-corpus: wrote $out ($(wc -c < "$out") bytes, $(grep -c '^$' "$out") document breaks)"
