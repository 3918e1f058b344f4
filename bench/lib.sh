# bench/lib.sh: shared by the benchmark scripts (sourced, not run).
#
#   bench_repo                 sets REPO (the repository root) and cds there
#   bench_export REV           git-archives REV into the cache, prints the source dir
#   bench_context [REV]        prints the "date / commit / host" lines for BENCHMARKS.md
#   bench_build DIR ON|OFF     builds rrvm + the test kernel in DIR (static with ON)
#   bench_where                native (this host's /dev/kvm works) or lane
#   BENCH_STATS_PY             python3 source defining summ(xs) -> (median, min, max, n)
#                              and fmt(x, unit) used by the scripts' inline helpers

bench_repo() {
  REPO=$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)
  cd "$REPO"
}

bench_context() {   # [REV: the figures are of that exported commit]
  local commit dirty cpu
  commit=$(git -C "$REPO" rev-parse --short=12 "${1:-HEAD}" 2>/dev/null || echo unknown)
  dirty=" (exported with git archive: a clean tree)"
  if [[ -z ${1:-} ]]; then
    dirty=""
    git -C "$REPO" diff --quiet HEAD -- core tests/guests CMakeLists.txt 2>/dev/null || dirty=" plus uncommitted edits in core/ or tests/guests/ (working tree)"
  fi
  cpu=$(grep -m1 'model name' /proc/cpuinfo | sed 's/.*: //')
  echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- git commit: $commit$dirty"
  if [[ -d /sys/module/kvm_pvm ]]; then
    echo "- host: $(nproc) cores, $cpu; /dev/kvm is a nested paravirtual KVM (kvm_pvm; ../shared/HOST.md): guest ring 0 emulated, ring 3 native"
  else
    echo "- host: $(nproc) cores, $cpu; /dev/kvm: $( [[ -e /dev/kvm ]] && echo present || echo absent)"
  fi
}

# shellcheck disable=SC2034
BENCH_STATS_PY='
import statistics
def summ(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return (None, None, None, 0)
    return (statistics.median(xs), min(xs), max(xs), len(xs))
def fmt(x, unit="s"):
    if x is None:
        return "-"
    if unit == "ms":
        return "%.0f" % (x * 1e3) if x >= 0.1 else "%.1f" % (x * 1e3)
    if unit == "s":
        return "%.2f" % x
    if unit == "x":
        return "%.2f" % x
    return "%.0f" % x
def cell(xs, unit="ms"):
    m, lo, hi, n = summ(xs)
    if n == 0:
        return "-"
    return "%s (%s-%s)" % (fmt(m, unit), fmt(lo, unit), fmt(hi, unit))
'

# bench_export REV: exports commit REV (git archive: no worktree, no index change)
# to <cache>/bench/<sha>/src once and prints that directory. Benchmarks of a
# commit then do not pick up other people's uncommitted edits in the tree.
bench_export() {
  local sha dir
  sha=$(git -C "$REPO" rev-parse --verify "$1^{commit}") || return 1
  dir=${RRVM_CACHE:-$REPO/.cache}/bench/${sha:0:12}
  if [[ ! -f $dir/src/.complete ]]; then
    rm -rf "$dir/src"; mkdir -p "$dir/src"
    git -C "$REPO" archive "$sha" | tar -x -C "$dir/src" && touch "$dir/src/.complete" || return 1
  fi
  echo "$dir/src"
}

# bench_build DIR ON|OFF: configures DIR once (RelWithDebInfo, RRVM_STATIC=ON|OFF), builds rrvm and the
# test kernel there (one builder per DIR at a time), and for ON checks the binary is static (the lane
# has no libraries). Needs a `say` function.
bench_build() {
  mkdir -p .cache
  exec 9>".cache/$(basename "$1").lock"
  flock 9
  { [[ -f $1/CMakeCache.txt ]] || cmake -S . -B "$1" -DRRVM_STATIC="$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo; } >.cache/bench-build.log 2>&1 \
    && cmake --build "$1" --target rrvm testkernel -j "$(nproc)" >>.cache/bench-build.log 2>&1 \
    || { tail -n 30 .cache/bench-build.log >&2; say "build of $1 failed"; exit 1; }
  flock -u 9
  if [[ $2 == ON ]] && readelf -l "$1/rrvm" 2>/dev/null | grep -q 'program interpreter'; then
    say "$1/rrvm is not static (the lane has no libraries): configure it with -DRRVM_STATIC=ON"; exit 1
  fi
}

# bench_where: "native" when this host's /dev/kvm can be opened by rrvm, else "lane" (tools/svm-lane)
bench_where() {
  if [[ -c /dev/kvm && -r /dev/kvm && -w /dev/kvm ]]; then echo native; else echo lane; fi
}
