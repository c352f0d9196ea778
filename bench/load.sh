#!/usr/bin/env bash
# Builds the server and the benchmarks, then runs the load generator: it writes a stories15M-shaped
# random model, starts `./tune4j serve` on it as a separate process on 127.0.0.1 and drives it with
# concurrent streaming clients. Table on stdout and in bench/target/load-results.md.
#
#   bench/load.sh                               # 1, 4, 16, 64 clients and the 8-adapter case
#   bench/load.sh --clients 1,16 --adapters 0   # a subset
#   bench/load.sh --help                        # every option
#
# Arguments go to the load generator. MVN_FLAGS adds Maven flags to the build (e.g. MVN_FLAGS=-o).
set -euo pipefail
cd "$(dirname "$0")/.."
mvn -B -q ${MVN_FLAGS:-} -pl server,bench -am package -DskipTests
# the client side is light; the server process gets the launcher's settings (OpenMP wait, OpenBLAS threads)
exec java -Xss4m ${LOADGEN_JAVA_OPTS:-} -cp "bench/target/classes:$(cat bench/target/classpath.txt)" \
    io.tune4j.bench.load.LoadGen "$@"
