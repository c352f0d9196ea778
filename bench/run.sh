#!/usr/bin/env bash
# Builds tune4j-core and the benchmarks, then runs BenchMain: every tune4j benchmark next to its
# libtorch counterpart, table on stdout and in bench/target/results.md.
#
#   bench/run.sh                                   # everything, default iterations
#   bench/run.sh -Dbench.include='RmsNorm|Decode'  # a subset (regex over benchmark class names)
#   bench/run.sh -Dbench.warmup=1 -Dbench.iterations=1 -Dbench.time=0.2   # quick smoke run
#
# Arguments go to the JVM before the main class, so -Dbench.* properties (see bench/README.md)
# and JVM flags both work. MVN_FLAGS replaces the default offline flag (-o) of the build.
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q ${MVN_FLAGS--o} -pl bench -am package -DskipTests
exec java -Xss4m "$@" -cp "bench/target/classes:$(cat bench/target/classpath.txt)" io.tune4j.bench.BenchMain
