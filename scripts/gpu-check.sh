#!/usr/bin/env bash
# Runs the CUDA tests on a GPU machine from the folder made by scripts/pack-device.sh (no Maven, no JDK
# needed there). Fails if CUDA turns out to be unavailable, since skipping would prove nothing.
#   scripts/gpu-check.sh            CudaAvailabilityTest, CudaVsCpuTest (ops) and CudaTrainingVsCpuTest (models)
#   scripts/gpu-check.sh bench      also the CUDA microbenchmarks (bench/cuda)
#   scripts/gpu-check.sh -- ARGS    extra JUnit console arguments (e.g. --select-method ...)
set -euo pipefail
cd "$(dirname "$0")/.."
D=.device
[[ -x $D/jre/bin/java ]] || { echo "gpu-check: $D/jre is missing: run scripts/pack-device.sh first and carry .device" >&2; exit 1; }
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || true

bench=0
extra=()
while (($#)); do
    case $1 in
        bench) bench=1 ;;
        --) shift; extra=("$@"); break ;;
        *) echo "gpu-check: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done

cp="$D/classes:$D/test-classes"
for j in "$D"/lib/*.jar; do cp="$cp:$j"; done
log=$(mktemp)
export OMP_WAIT_POLICY=PASSIVE
set +e
"$D/jre/bin/java" -Xss4m -jar "$D/junit-console.jar" execute --class-path "$cp" --disable-banner \
    --details=tree --select-class io.tune4j.ops.cuda.CudaAvailabilityTest \
    --select-class io.tune4j.ops.cuda.CudaVsCpuTest --select-class io.tune4j.train.CudaTrainingVsCpuTest \
    "${extra[@]}" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
if grep -q "CUDA tests skipped" "$log"; then
    echo "gpu-check: CUDA was not available on this machine" >&2
    rc=1
fi
if ((bench)) && [[ -x $D/bin/t4jc_bench ]]; then
    LD_LIBRARY_PATH="$D/classes/io/tune4j/runtime/linux-x86_64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$D/bin/t4jc_bench" 20
fi
exit "$rc"
