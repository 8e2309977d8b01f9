#!/bin/sh
# Runs libFuzzer harnesses built by `make fuzz-build` (tests/fuzz/), one
# after another, for `make fuzz` and `make fuzz-smoke`:
#   scripts/fuzz.sh BUILD_DIR SECONDS NAME...
# Each harness first runs every input of tests/fuzz/regressions/NAME/ once,
# then fuzzes for SECONDS from its seeds (tests/fuzz/seeds/NAME/) and the
# corpus of earlier runs, writing new inputs to BUILD_DIR/corpus/NAME and
# crashes to BUILD_DIR/crashes/NAME/.  A crash, leak, hang or sanitizer
# report fails the run: the report, the crashing file's path and its bytes
# (base64) are printed.  The full log of each run is BUILD_DIR/logs/NAME.log.
set -u

build=$1
seconds=$2
shift 2

# libFuzzer's own limits: a single input may take this long (a hang is a
# failure) and the process this much memory.
timeout=10
rss_mb=2048

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

failed=''
for name in "$@"; do
    bin=$build/fuzz_$name
    corpus=$build/corpus/$name
    crashes=$build/crashes/$name
    log=$build/logs/$name.log
    mkdir -p "$corpus" "$crashes" "$build/logs"
    dict=''
    [ -f "tests/fuzz/$name.dict" ] && dict="-dict=tests/fuzz/$name.dict"

    # regression inputs: each must run without a report
    regressions=$(find "tests/fuzz/regressions/$name" -type f 2>/dev/null | sort)
    if [ -n "$regressions" ]; then
        # shellcheck disable=SC2086
        if ! "$bin" -timeout=$timeout -rss_limit_mb=$rss_mb -artifact_prefix="$crashes/" \
                $regressions > "$log" 2>&1; then
            tail -n 60 "$log"
            echo "fuzz: $name fails on the regression input" \
                "$(sed -n 's/^Running: //p' "$log" | tail -n 1)"
            failed="$failed $name"
            continue
        fi
        echo "fuzz: $name: $(echo "$regressions" | wc -l) regression input(s) pass"
    fi

    before=$(find "$crashes" -type f)
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$seconds" -timeout=$timeout -rss_limit_mb=$rss_mb \
        -print_final_stats=1 -artifact_prefix="$crashes/" $dict \
        "$corpus" "tests/fuzz/seeds/$name" > "$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
    if [ $rc -ne 0 ]; then
        tail -n 60 "$log"
        for f in "$crashes"/*; do
            [ -f "$f" ] || continue
            echo "$before" | grep -qxF "$f" && continue
            echo "fuzz: $name: crash file $f, base64:"
            head -c 65536 "$f" | base64
        done
        echo "fuzz: $name FAILED (exit $rc) after ${runs:-?} runs; log in $log"
        failed="$failed $name"
        continue
    fi
    echo "fuzz: $name: ${runs:-?} runs in $seconds s (${speed:-?}/s), no crash;" \
        "corpus $(find "$corpus" -type f | wc -l) inputs"
done

if [ -n "$failed" ]; then
    echo "fuzz: failed:$failed"
    exit 1
fi
