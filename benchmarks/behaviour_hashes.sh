#!/usr/bin/env bash
# What typetool does to fixed inputs, as hashes: run before and after a refactoring and compare the two
# SUMMARY files (`diff OUT_BEFORE/SUMMARY OUT_AFTER/SUMMARY`); any difference is a change of behaviour.
#
#   bash benchmarks/behaviour_hashes.sh OUT
#
# Inputs: the bundled examples (tests/data/projects/inventory, tests/data/ts_projects/shop), pluggy and
# iniconfig from the environment's site-packages, @preact/signals-core 1.14.5 from the npm corpus cache
# (`python -m typetool.ts.npm`). Each copy is stripped, then sliced (JSON), predicted (JSON), checked and
# annotated at every slot kind with the shipped models; every .py/.ts/.tsx file of the result is hashed.
set -u
repo=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
rm -rf "$out/work"; mkdir -p "$out/work"
source "$repo/.venv/bin/activate"
SP=$(python -c 'import pluggy, os; print(os.path.dirname(os.path.dirname(pluggy.__file__)))')
cp -r "$repo/tests/data/projects/inventory" "$out/work/inventory"
cp -r "$repo/tests/data/ts_projects/shop" "$out/work/shop"
cp -r "$SP/pluggy" "$out/work/pluggy"
cp -r "$SP/iniconfig" "$out/work/iniconfig"
cp -r "$repo/.cache/npm/src/preact-signals-core-1.14.5" "$out/work/preact"
find "$out/work" -name __pycache__ -prune -exec rm -rf {} +
find "$out/work" -name node_modules -prune -exec rm -rf {} +
for d in inventory shop pluggy iniconfig preact; do
  cd "$out/work/$d"
  typetool strip . >/dev/null 2>&1
  typetool slices . --format json > "$out/$d.slices.json" 2>/dev/null
  typetool predict . --format json > "$out/$d.predict.json" 2>/dev/null
  typetool check . > "$out/$d.check.txt" 2>&1
  typetool annotate . --sites params,returns,variables,attributes > "$out/$d.annotate.txt" 2>&1
  find . -type f \( -name '*.py' -o -name '*.ts' -o -name '*.tsx' \) | sort | xargs sha256sum > "$out/$d.hashes"
done
cd "$out" && sha256sum *.json *.hashes *.txt > "$out/SUMMARY"
cat "$out/SUMMARY"
