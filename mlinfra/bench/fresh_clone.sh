#!/usr/bin/env bash
# Time `make <target>` on fresh clones: how docs/benchmarks.md measured the first run of `make plan`
# and `make test` before and after the move to uv. One line per run (tab-separated) on stdout:
# label, target, cache, run, wall seconds, exit status, load average (1, 5, 15 min) before and after.
#
#   mlinfra/bench/fresh_clone.sh LABEL SOURCE TARGET cold|warm RUNS
#
# SOURCE is any git repository or path (`git clone -q SOURCE /tmp/...`). cold: empty pip and uv
# caches for every run (PIP_CACHE_DIR, UV_CACHE_DIR in a new temporary folder); warm: the user's
# caches as they are. Each clone and temporary cache is removed after its run.
set -euo pipefail
label=$1 source=$2 target=$3 cache=$4 runs=$5
for run in $(seq 1 "$runs"); do
  clone=$(mktemp -d "/tmp/fresh-$label-$target-XXXX")
  git clone -q "$source" "$clone"
  caches=()
  scratch=""
  if [ "$cache" = cold ]; then
    scratch=$(mktemp -d /tmp/fresh-cache-XXXX)
    caches=(PIP_CACHE_DIR="$scratch/pip" UV_CACHE_DIR="$scratch/uv")
  fi
  load_before=$(cut -d' ' -f1-3 /proc/loadavg)
  start=$(date +%s.%N)
  status=0
  (cd "$clone" && env "${caches[@]}" make "$target" >/dev/null 2>&1) || status=$?
  end=$(date +%s.%N)
  load_after=$(cut -d' ' -f1-3 /proc/loadavg)
  printf '%s\t%s\t%s\t%d\t%.1f\t%d\t%s\t%s\n' "$label" "$target" "$cache" "$run" \
    "$(echo "$end - $start" | bc)" "$status" "$load_before" "$load_after"
  rm -rf "$clone" ${scratch:+"$scratch"}
done
