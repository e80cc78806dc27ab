#!/usr/bin/env bash
# Builds every libFuzzer target (Fuzz/*Fuzzer.swift) over the package's sources with -O (never
# -Ounchecked, so Swift's own overflow and bounds checks trap) and -sanitize=fuzzer,address, outside
# the package so a plain `swift build` stays clean; then runs each for FUZZ_SECONDS (default 60) and
# prints runs and findings per target. A finding is any crash, sanitizer report, broken invariant
# (`broken(...)` in Fuzz/FuzzSupport.swift), allocation above -malloc_limit_mb (2048) or 10 s timeout;
# after one, the target restarts for the rest of its time. Inputs are in $out/findings/<target>/.
#
#   FUZZ_SECONDS=60 FUZZ_TARGETS="json idx-raw" scripts/fuzz.sh
#
# Targets: model (.bsm image and container, then Interpreter.init and invoke on a guarded arena),
# safetensors, idx-raw, idx-gzip, cifar, binarynet (state dict to image), json. Seeds:
# scripts/fuzz_seeds.py (spec/golden and its bare images for model, small generated files for the rest).
set -euo pipefail
cd "$(dirname "$0")/.."
out="${BUILD_DIR:-.build}/fuzz"
seconds="${FUZZ_SECONDS:-60}"
targets=(${FUZZ_TARGETS:-model safetensors idx-raw idx-gzip cifar binarynet json})
mkdir -p "$out/seeds" "$out/corpus" "$out/findings"
rm -rf "$out/logs" && mkdir -p "$out/logs"

san=(-sanitize=fuzzer,address -parse-as-library -O)
zlib=(-Xcc -fmodule-map-file=Sources/CZlib/module.modulemap)
blas=(-Xcc -fmodule-map-file=Sources/CBLAS/module.modulemap)

# Every .swift file under a module's folder, recursively (new files and subfolders are followed).
swift_files() { find "$1" -name '*.swift' -type f | LC_ALL=C sort; }

# One object and module per library, in dependency order.
module() {
    local name=$1; shift
    echo "fuzz: building $name"
    swiftc "${san[@]}" -wmo -module-name "$name" -I "$out" "$@" \
        -emit-module -emit-module-path "$out/$name.swiftmodule" -c -o "$out/$name.o"
}
module ModelFormat $(swift_files Sources/ModelFormat)
module JSONReader $(swift_files Sources/JSONReader)
module ModelFile "${zlib[@]}" $(swift_files Sources/ModelFile)
module Inference $(swift_files Sources/Inference)
module Datasets "${zlib[@]}" $(swift_files Sources/Datasets)
module Trainer "${zlib[@]}" "${blas[@]}" -Xcc -fno-math-errno $(swift_files Sources/Trainer)
objects=("$out"/{ModelFormat,JSONReader,ModelFile,Inference,Datasets,Trainer}.o)

source_of() {
    case $1 in
        model) echo Fuzz/ModelFileFuzzer.swift ;;
        safetensors) echo Fuzz/SafeTensorsFuzzer.swift ;;
        idx-raw) echo Fuzz/IDXRawFuzzer.swift ;;
        idx-gzip) echo Fuzz/IDXGzipFuzzer.swift ;;
        cifar) echo Fuzz/CIFARFuzzer.swift ;;
        binarynet) echo Fuzz/BinaryNetFuzzer.swift ;;
        json) echo Fuzz/JSONReaderFuzzer.swift ;;
        *) echo "fuzz: unknown target $1" >&2; exit 64 ;;
    esac
}

for t in "${targets[@]}"; do
    echo "fuzz: linking $t"
    # gold warns once per ASan helper symbol; the log keeps them, a failure prints it.
    swiftc "${san[@]}" -module-name "Fuzz_${t//-/_}" -I "$out" "${zlib[@]}" "${blas[@]}" \
        Fuzz/FuzzSupport.swift "$(source_of "$t")" "${objects[@]}" -lz -lopenblas -o "$out/$t-fuzzer" \
        >"$out/logs/link-$t.log" 2>&1 || { cat "$out/logs/link-$t.log"; exit 1; }
done

rm -rf "$out/seeds"
python3 scripts/fuzz_seeds.py "$out/seeds"

# libFuzzer reports crashes itself; Swift's backtracer would only slow each one down and can linger.
export SWIFT_BACKTRACE=enable=no
summary=()
for t in "${targets[@]}"; do
    corpus="$out/corpus/$t" findings="$out/findings/$t/"
    mkdir -p "$corpus" "$findings"
    runs=0 found=0 restarts=0
    signatures="$out/logs/$t-findings.txt"
    : >"$signatures"
    deadline=$((SECONDS + seconds))
    while (( SECONDS < deadline && restarts < 50 )); do
        log="$out/logs/$t-$restarts.log"
        rc=0
        "$out/$t-fuzzer" -max_total_time=$((deadline - SECONDS)) -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
            -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$findings" "$corpus" "$out/seeds/$t" \
            >"$log" 2>&1 || rc=$?
        n=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
        runs=$((runs + ${n:-0}))
        restarts=$((restarts + 1))
        if (( rc != 0 )); then
            found=$((found + 1))
            sig=$(grep -m1 -E 'fuzz invariant broken|Fatal error|ERROR: (AddressSanitizer|libFuzzer)|SUMMARY|out-of-memory|timeout' "$log" || echo "exit $rc")
            printf '%s\t%s\n' "${sig:0:240}" "$log" >>"$signatures"
        fi
    done
    unique=$(cut -f1 "$signatures" | sort -u | grep -c . || true)
    line=$(printf '%-12s runs %10d  findings %d (%d distinct)' "$t" "$runs" "$found" "$unique")
    echo "fuzz: $line"
    # A target's own counters, printed at exit (the model target's accepted/invoked/skipped images).
    cat "$out/logs/$t"-[0-9]*.log | grep "^$t-fuzzer:" | sed 's/^/    /' || true
    # Each distinct message once, with how often it came and its first log.
    cut -f1 "$signatures" | sort | uniq -c | while read -r count sig; do
        printf '    %3d x %s (log %s)\n' "$count" "$sig" "$(grep -m1 -F "$sig" "$signatures" | cut -f2)"
    done
    summary+=("$line")
done
echo "fuzz: summary (${seconds} s per target)"
printf '  %s\n' "${summary[@]}"
