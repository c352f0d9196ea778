#!/usr/bin/env bash
# Packs what the GPU tests need into .device/ (git-ignored), for a GPU machine that has neither Maven
# nor a JDK (the device tool carries at most 64 MiB):
#   .device/jre/                 jlink'd Java 17 runtime
#   .device/lib/*.jar            JavaCPP, OpenBLAS, SLF4J and Jackson (+YAML) only: the packed suites
#                                (CudaVsCpuTest, CudaTrainingVsCpuTest) compare against the CPU
#                                backend, so libtorch (test scope, far too large) and the
#                                tokenizer/CLI libraries stay behind
#   .device/classes/             main classes with libtune4j_{native,cuda} and their JNI glue
#   .device/test-classes/
#   .device/junit-console.jar    org.junit.platform:junit-platform-console-standalone
#   .device/bin/t4jc_bench       the CUDA microbenchmarks
# Run here (nvcc needed, no GPU needed), then on the device: scripts/gpu-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=.device
JUNIT_VERSION=1.11.4
NATIVE=java/target/classes/io/tune4j/runtime/linux-x86_64

mvn -B -q -o -pl java test-compile
if [[ ! -f $NATIVE/libjniCudaLib.so ]]; then
    echo "pack-device: $NATIVE/libjniCudaLib.so is missing: CUDA was not built (is nvcc on PATH?)" >&2
    exit 1
fi

rm -rf "$OUT"
mkdir -p "$OUT/lib" "$OUT/bin"
mvn -B -q -o -pl java dependency:copy-dependencies -DincludeScope=runtime \
    -DincludeArtifactIds=javacpp,openblas,slf4j-api,slf4j-simple,jackson-core,jackson-databind,jackson-annotations,jackson-dataformat-yaml,snakeyaml -DoutputDirectory="$PWD/$OUT/lib"
# the CPU backend loads openblas_nolapack: the full builds' JNI libraries and the headers stay behind (~10 MiB)
zip -q -d "$OUT"/lib/openblas-*-linux-x86_64.jar \
    'org/bytedeco/openblas/linux-x86_64/libjniopenblas.so' 'org/bytedeco/openblas/linux-x86_64/libjniopenblas_full.so' \
    'org/bytedeco/openblas/linux-x86_64/include/*'
# the console launcher bundles JUnit Jupiter, so the test-scope JUnit jars are not copied
mvn -B -q dependency:copy -Dartifact=org.junit.platform:junit-platform-console-standalone:$JUNIT_VERSION \
    -DoutputDirectory="$PWD/$OUT" -Dmdep.stripVersion=true
mv "$OUT/junit-platform-console-standalone.jar" "$OUT/junit-console.jar"
cp -r java/target/classes "$OUT/classes"
cp -r java/target/test-classes "$OUT/test-classes"
[[ -x java/target/cmake/bench-cuda/t4jc_bench ]] && cp java/target/cmake/bench-cuda/t4jc_bench "$OUT/bin/"

# java.logging for JUnit, jdk.unsupported for JavaCPP (sun.misc.Unsafe)
jlink --add-modules java.base,java.logging,jdk.unsupported,java.management \
    --strip-debug --no-header-files --no-man-pages --compress=2 --output "$OUT/jre"
strip --strip-unneeded "$OUT/jre/lib/server/libjvm.so" 2>/dev/null || true

du -sh "$OUT"/* | sort -h
total=$(du -sm "$OUT" | cut -f1)
echo "pack-device: $OUT holds ${total} MiB (the device tool carries at most 64 MiB)"
(( total <= 64 )) || { echo "pack-device: too large to carry" >&2; exit 1; }
