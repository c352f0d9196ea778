#!/usr/bin/env bash
# Single-stream greedy decode, tune4j against Jlama 0.8.4 and llama.cpp (java-llama.cpp 4.2.0), on the
# same random-weight models (stories15M and SmolLM2-135M shapes). Every measurement is its own JVM on
# JDK 21+ (Jlama's Vector API); sides alternate within each round. Table on stdout and in
# bench/peers/target/results.md.
#
#   bench/peers/run.sh                       # ROUNDS=3 TOKENS=128
#   ROUNDS=1 TOKENS=16 bench/peers/run.sh    # smoke run
#   BATCH=0 / SINGLE=0                        # skip the 16-stream / the single-stream rows
#
# JDK: JAVA21_HOME, else /usr/lib/jvm/temurin-25-jdk-amd64. MVN_FLAGS adds Maven flags (e.g. -o).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
JDK=${JAVA21_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}
ROUNDS=${ROUNDS:-3}
TOKENS=${TOKENS:-128}
THREADS=${THREADS:-2}
OUT=bench/peers/target
mkdir -p "$OUT/classes" "$OUT/models"
mvn -B -q ${MVN_FLAGS:-} -pl bench -am package -DskipTests
mvn -B -q ${MVN_FLAGS:-} -f bench/peers/pom.xml dependency:build-classpath -Dmdep.outputFile="$ROOT/$OUT/peers-cp.txt"
CP="bench/target/classes:$(cat bench/target/classpath.txt):$(cat $OUT/peers-cp.txt)"
"$JDK/bin/javac" --release 21 -nowarn -cp "$CP" -d "$OUT/classes" $(find bench/peers/src -name '*.java')
CP="$OUT/classes:$CP"
JAVA=("$JDK/bin/java" -Xss4m -Xmx8g --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
      -Dorg.bytedeco.javacpp.cachedir="$ROOT/java/target/javacpp-cache" -Dpeers.tokens="$TOKENS"
      -Dpeers.threads="$THREADS" -Djlama.physical_cores="$THREADS" -cp "$CP")
if [ ! -f "$OUT/models/SMOLLM2_135M-q8_0.gguf" ]; then
  "${JAVA[@]}" -Dpeers.tokenizer="${TUNE4J_FIXTURES:-../shared/fixtures}/tokenizers/llama2" \
    io.tune4j.bench.peers.PeersMain prepare "$OUT/models"
fi
LOG=$OUT/results.log
: > "$LOG"
for r in $(seq 1 "$ROUNDS"); do
  for shape in STORIES15M SMOLLM2_135M; do
    for prec in $([ "${SINGLE:-1}" = 1 ] && echo f32 bf16 q8_0); do
      for side in tune4j jlama llamacpp; do
        [ "$prec" = q8_0 ] && [ "$side" = jlama ] && continue
        [ "$prec" = q8_0 ] && [ "$side" = tune4j ] && continue   # tune4j's bf16 row is its best path
        env=()
        [ "$side" = tune4j ] && env=(GOMP_SPINCOUNT=10000)   # what ./tune4j sets for its own kernels
        line=$(env "${env[@]}" timeout 300 "${JAVA[@]}" io.tune4j.bench.peers.PeersMain run "$side" "$shape" "$prec" "$OUT/models" 2>"$OUT/last-$side.err" \
               | grep '^RESULT' || echo "FAILED $side $shape $prec")
        echo "round $r: $line" >&2
        echo "$line" >> "$LOG"
      done
    done
    if [ "${BATCH:-1}" = 1 ]; then
      for prec in f32 bf16; do
        for side in tune4j-batch llamacpp-batch; do
          env=()
          [ "$side" = tune4j-batch ] && env=(GOMP_SPINCOUNT=10000)
          line=$(env "${env[@]}" timeout 600 "${JAVA[@]}" io.tune4j.bench.peers.PeersMain run "$side" "$shape" "$prec" "$OUT/models" \
                 2>"$OUT/last-$side.err" | grep '^RESULT' || echo "FAILED $side $shape $prec")
          echo "round $r: $line" >&2
          echo "$line" >> "$LOG"
        done
      done
    fi
  done
done
{
  echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $THREADS threads each side"
  echo "JDK: $("$JDK/bin/java" -version 2>&1 | head -1); commit $(git rev-parse --short HEAD); rounds $ROUNDS, $TOKENS new tokens, 16-token warm-up"
  echo
  "${JAVA[@]}" io.tune4j.bench.peers.PeersMain table "$LOG"
} | tee "$OUT/results.md"
