#!/usr/bin/env bash
# Builds tune4j-core and the benchmarks, then runs BenchMain: every tune4j benchmark next to its
# libtorch counterpart, table on stdout and in bench/target/results.md.
#
#   bench/run.sh                                   # everything, default iterations
#   bench/run.sh -Dbench.include='RmsNorm|Decode'  # a subset (regex over benchmark class names)
#   bench/run.sh -Dbench.warmup=1 -Dbench.iterations=1 -Dbench.time=0.2   # quick smoke run
#
# Arguments go to the JVM before the main class, so -Dbench.* properties (see bench/README.md)
# and JVM flags both work. MVN_FLAGS adds Maven flags to the build (e.g. MVN_FLAGS=-o offline).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q ${MVN_FLAGS:-} -pl bench -am package -DskipTests
# both sides (tune4j and libtorch use libgomp) run under the same OpenMP wait: the launcher's short
# spin unless the caller set a policy (OMP_WAIT_POLICY=PASSIVE bench/run.sh measures libtorch's
# better setting on some hosts; RESULTS.md quotes both)
if [ -z "${OMP_WAIT_POLICY:-}" ] && [ -z "${GOMP_SPINCOUNT:-}" ]; then
  export GOMP_SPINCOUNT=10000
fi
# OPENBLAS_THREAD_TIMEOUT is left at OpenBLAS's default here: the libtorch peer also runs on
# OpenBLAS and slows down ~5x with short thread timeouts (see RESULTS.md), and both sides share
# the environment of one run.
# a JavaCPP cache of this checkout's own: another checkout's libtune4j_native.so must not be measured
exec java -Xss4m -Dorg.bytedeco.javacpp.cachedir="$PWD/java/target/javacpp-cache" "$@" -cp "bench/target/classes:$(cat bench/target/classpath.txt)" io.tune4j.bench.BenchMain
