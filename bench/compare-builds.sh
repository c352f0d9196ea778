#!/usr/bin/env bash
# tune4j against itself, commit against commit ("no slowdown"): builds the benchmarks of OLD_COMMIT and
# NEW_COMMIT (default HEAD), each in its own git worktree under bench/target/compare/ with its own
# tune4j-core and native library, then times tune4j alone (no libtorch) in rounds that alternate old and
# new, and prints a markdown table of medians, new/old and PASS within 3%.
#
#   bench/compare-builds.sh 424c3d0                  # 424c3d0 against HEAD, every row
#   bench/compare-builds.sh 424c3d0 7f322ff
#   ROUNDS=1 WARMUP=0 ITERATIONS=1 TIME=0.2 BENCHES=decode SHAPES=stories15m bench/compare-builds.sh 424c3d0
#
# Rows: BENCHES (default "loraStep fullStep decode") x SHAPES (default "smollm2-135m stories15m"), all of
# io.tune4j.bench.BuildCompareBench. That one source file is copied from this checkout into both worktrees
# before their build, so both builds run the same harness against their own code (see bench/README.md).
#
# Settings (environment): ROUNDS (5), WARMUP (2) and ITERATIONS (3) JMH iterations of TIME (1) seconds,
# THREADS (all cores) intra-op threads for both builds, MVN_FLAGS (-o) for the builds, REBUILD=1 to remove
# and re-create the worktrees, OUT (bench/target/compare/results-OLD-NEW.md).
# The environment is the same for both builds: OpenBLAS's defaults (no OPENBLAS_THREAD_TIMEOUT) and the
# launcher's OpenMP spin (GOMP_SPINCOUNT=10000) unless the caller set a wait policy, as bench/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

if [ $# -lt 1 ] || [ $# -gt 2 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
OLD=$(git rev-parse --verify "$1^{commit}")
NEW=$(git rev-parse --verify "${2:-HEAD}^{commit}")
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-2}
ITERATIONS=${ITERATIONS:-3}
TIME=${TIME:-1}
THREADS=${THREADS:-$(nproc)}
BENCHES=${BENCHES:-"loraStep fullStep decode"}
SHAPES=${SHAPES:-"smollm2-135m stories15m"}
MVN_FLAGS=${MVN_FLAGS:--o}
TIME_MS=$(awk -v t="$TIME" 'BEGIN { ms = int(t * 1000 + 0.5); print (ms < 1 ? 1 : ms) }')
DIR=$ROOT/bench/target/compare
OUT=${OUT:-$DIR/results-${OLD:0:7}-${NEW:0:7}.md}
HARNESS=bench/src/main/java/io/tune4j/bench/BuildCompareBench.java
[ -f "$HARNESS" ] || { echo "missing $HARNESS in this checkout" >&2; exit 1; }
for b in $BENCHES; do
  case $b in loraStep|fullStep|decode) ;; *) echo "BENCHES: unknown '$b' (loraStep, fullStep, decode)" >&2; exit 2;; esac
done
for s in $SHAPES; do
  case $s in smollm2-135m|stories15m) ;; *) echo "SHAPES: unknown '$s' (smollm2-135m, stories15m)" >&2; exit 2;; esac
done
mkdir -p "$DIR"

# one worktree per commit, named by its hash; this checkout's harness copied in, then the bench module built
build() {
  local commit=$1 wt=$DIR/${1:0:12}
  if [ -n "${REBUILD:-}" ] && [ -d "$wt" ]; then git worktree remove --force "$wt"; fi
  if [ -d "$wt" ] && [ "$(git -C "$wt" rev-parse HEAD 2>/dev/null)" != "$commit" ]; then
    git worktree remove --force "$wt"
  fi
  if [ ! -d "$wt" ]; then
    git worktree prune
    git worktree add --detach --force "$wt" "$commit" >/dev/null
  fi
  cp "$HARNESS" "$wt/$HARNESS"
  echo "building ${commit:0:12} in ${wt#$ROOT/} (log: ${wt#$ROOT/}.build.log)" >&2
  if ! (cd "$wt" && mvn -B -q $MVN_FLAGS -pl bench -am package -DskipTests) >"$wt.build.log" 2>&1; then
    tail -30 "$wt.build.log" >&2
    echo "build of ${commit:0:12} failed" >&2
    exit 1
  fi
}
build "$OLD"
build "$NEW"

if [ -z "${OMP_WAIT_POLICY:-}" ] && [ -z "${GOMP_SPINCOUNT:-}" ]; then
  export GOMP_SPINCOUNT=10000
fi
unset OPENBLAS_THREAD_TIMEOUT

RAW=$DIR/raw-${OLD:0:7}-${NEW:0:7}
rm -rf "$RAW"
mkdir -p "$RAW"

# one JMH run: one benchmark at one shape on one build, one forked JVM; JSON result and log kept in $RAW
measure() {
  local side=$1 commit=$2 bench=$3 shape=$4 round=$5 wt=$DIR/${2:0:12}
  local name=$RAW/$round-$side-$bench-$shape
  local cache=$wt/java/target/javacpp-cache
  java -Xss4m -Dorg.bytedeco.javacpp.cachedir="$cache" \
      -cp "$wt/bench/target/classes:$(cat "$wt/bench/target/classpath.txt")" org.openjdk.jmh.Main \
      "^io\.tune4j\.bench\.BuildCompareBench\.$bench\$" -p shape="$shape" \
      -f 1 -t 1 -bm sample -tu ms -wi "$WARMUP" -i "$ITERATIONS" -w "${TIME_MS}ms" -r "${TIME_MS}ms" -foe true \
      -jvmArgsAppend "-Xss4m -Xmx4g -Dbench.threads=$THREADS -Dorg.bytedeco.javacpp.cachedir=$cache" \
      -rf json -rff "$name.json" >"$name.log" 2>&1 || { tail -30 "$name.log" >&2; echo "run failed: $name" >&2; exit 1; }
  # the fork must have mapped this worktree's own native library, not another checkout's
  local lib
  lib=$(grep -o -m1 't4j-native-library: .*' "$name.log" | sed 's/^t4j-native-library: //' || true)
  case $lib in
    "$wt"/*) ;;
    *) echo "$name: the fork loaded '$lib', not a library of $wt" >&2; exit 1;;
  esac
  echo "$side ${commit:0:7} round $round $bench $shape: $(jq -r '.[0].primaryMetric.scorePercentiles["50.0"]' "$name.json") ms/op" >&2
}

start=$(date +%s)
for round in $(seq 1 "$ROUNDS"); do
  for bench in $BENCHES; do
    for shape in $SHAPES; do
      measure old "$OLD" "$bench" "$shape" "$round"
      measure new "$NEW" "$bench" "$shape" "$round"
    done
  done
done
elapsed=$(( $(date +%s) - start ))

python3 - "$RAW" "$OUT" "$OLD" "$NEW" "$ROUNDS" "$WARMUP" "$ITERATIONS" "$TIME" "$THREADS" "$elapsed" \
    "$BENCHES" "$SHAPES" <<'EOF'
import glob, json, os, platform, statistics, subprocess, sys
raw, out, old, new, rounds, warmup, iters, time_s, threads, elapsed, benches, shapes = sys.argv[1:]
labels = {"loraStep": "LoRA training step (r=16, 7 projections, 4x256 tokens)",
          "fullStep": "full fine-tuning step (4x256 tokens)",
          "decode": "greedy decode (16-token prompt + 128 tokens)"}
def scores(side, bench, shape):
    s = []
    for f in sorted(glob.glob(f"{raw}/*-{side}-{bench}-{shape}.json")):
        s.append(json.load(open(f))[0]["primaryMetric"]["scorePercentiles"]["50.0"])
    return s
def cpu():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"): return line.split(":", 1)[1].strip()
    except OSError: pass
    return platform.processor()
def subject(c):
    return subprocess.run(["git", "log", "-1", "--format=%h %s", c], capture_output=True, text=True).stdout.strip()[:90]
rows, misses = [], 0
for bench in benches.split():
    for shape in shapes.split():
        o, n = scores("old", bench, shape), scores("new", bench, shape)
        if not o or not n:
            rows.append(f"| {labels[bench]} | {shape} | failed | failed | n/a | ERROR |"); misses += 1; continue
        mo, mn = statistics.median(o), statistics.median(n)
        spread = lambda v: f" ({min(v):.3f}-{max(v):.3f})" if len(v) > 1 else ""
        if bench == "decode":
            # scores are ms per token: report tokens/s; PASS when new tok/s >= 0.97 x old
            to, tn = 1000 / mo, 1000 / mn
            ok = tn >= 0.97 * to
            rows.append(f"| {labels[bench]} | {shape} | {to:.1f} tok/s | {tn:.1f} tok/s | {tn / to:.3f} (tok/s) "
                        f"| {'PASS' if ok else 'MISS'} |")
        else:
            ok = mn <= 1.03 * mo
            rows.append(f"| {labels[bench]} | {shape} | {mo:.1f} ms{spread(o)} | {mn:.1f} ms{spread(n)} | {mn / mo:.3f} "
                        f"| {'PASS' if ok else 'MISS'} |")
        misses += 0 if ok else 1
table = ["| benchmark | shape | old (median) | new (median) | new/old | within 3% |", "|---|---|---|---|---|---|"] + rows
md = [f"# tune4j {old[:7]} against {new[:7]}", "",
      f"- old: {subject(old)}", f"- new: {subject(new)}",
      f"- CPU: {cpu()}, {os.cpu_count()} logical cores; intra-op threads {threads}; "
      f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', '(unset)')}, OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY', '(unset)')}, "
      "OpenBLAS defaults",
      f"- {rounds} rounds, old then new for each row within a round, each run one forked JVM of JMH sample-time, "
      f"{warmup} warm-up + {iters} measured iterations of {time_s} s; a cell is the median over the rounds of each "
      f"run's median (range of the rounds in brackets); {elapsed} s of measurement",
      "- PASS: new time <= 1.03 x old (decode: new tok/s >= 0.97 x old)", ""] + table
text = "\n".join(md) + "\n"
os.makedirs(os.path.dirname(out), exist_ok=True)
open(out, "w").write(text)
print(); print(text); print(f"written to {out}")
sys.exit(1 if misses else 0)
EOF
