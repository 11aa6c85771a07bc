#!/usr/bin/env bash
# The main job on the bundled sample corpus: set up, learn the vocabulary, and tokenize.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh
prep=.build/release/electra-prep
$prep --help
