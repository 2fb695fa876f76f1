#!/bin/bash
# Runs on a GPU machine that has no Node.js and no network, from the repository root, after
# tools/gpu/prepare.sh filled .gpu/ on a development machine: unpacks Node and the test
# dependencies, loads (or, failing that, builds) the addon, runs the vitest suite (CUDA tests
# included) and the kernel benchmark. Results land in $OUT (default .gpu/out).
set -u
cd "$(dirname "$0")/../.."
OUT=${OUT:-$PWD/.gpu/out}
mkdir -p "$OUT"
START=$(date +%s)
stamp() { echo "== $1 (t=$(( $(date +%s) - START ))s)"; }
unxz_to() { xz -dc "$1" > "$2" 2>/dev/null || python3 -c "import lzma,sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())" "$1" > "$2"; }
untar_xz() { tar -xJf "$1" -C "$2" 2>/dev/null || python3 -c "import tarfile,sys; tarfile.open(sys.argv[1]).extractall(sys.argv[2])" "$1" "$2"; }
mkdir -p /tmp/nb && unxz_to .gpu/node.xz /tmp/nb/node && chmod +x /tmp/nb/node && export PATH=/tmp/nb:$PATH
node --version
# The workspace packages, as npm ci links them (each lib's folder is named as its package; the
# kernels' tests import @rapo/random too).
untar_xz .gpu/nm.tar.xz . && mkdir -p node_modules/@rapo && ln -sfn ../../native node_modules/@rapo/native
for lib in libs/*/; do lib=${lib%/}; ln -sfn "../../$lib" "node_modules/@rapo/${lib#libs/}"; done
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm,clocks.max.mem,driver_version --format=csv
echo "cpus: $(nproc) $(grep -m1 'model name' /proc/cpuinfo)"
stamp "addon info"
if ! node -e "const a=require('./native/build/Release/rapo.node'); console.log(JSON.stringify({b:a.buildInfo(),c:a.cpuInfo(),g:a.cudaInfo()}))"; then
  stamp "prebuilt addon did not load: building here"
  mkdir -p /tmp/nh && untar_xz .gpu/node-headers.tar.xz /tmp/nh
  cmake -S native -B native/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DNODE_INCLUDE_DIR=/tmp/nh/node \
    -DNODE_ADDON_API_DIR=$PWD/node_modules/node-addon-api -DRAPO_CUDA=ON -DRAPO_CUDA_ARCHS=90 > /tmp/cmake.log 2>&1 \
    && cmake --build native/build -j 16 > /tmp/build.log 2>&1 && mkdir -p native/build/Release && cp native/build/rapo.node native/build/Release/ 2>/dev/null
  tail -5 /tmp/build.log
  node -e "const a=require('./native/build/Release/rapo.node'); console.log(JSON.stringify({b:a.buildInfo(),c:a.cpuInfo(),g:a.cudaInfo()}))"
fi
stamp "tests"
(cd libs/kernels && timeout 240 node ../../node_modules/vitest/vitest.mjs run > $OUT/tests.txt 2>&1; echo "vitest exit $?" >> $OUT/tests.txt)
grep -E "FAIL|AssertionError|Error:|Test Files|Tests |vitest exit|skipped" $OUT/tests.txt | grep -v "^\s*$" | head -60
stamp "bench full grid (native)"
export RAPO_NATIVE_PATH=$PWD/native/build/Release/rapo.node
timeout 300 node .gpu/bench.mjs --impl native-cuda,native-cuda-e2e,native-cpu --min-time 0.3 --out $OUT > $OUT/bench-full.txt 2>&1
echo "bench exit $?"
grep -vE "^  (mi|lo)" $OUT/bench-full.txt | grep -v "^$" | tail -70
stamp "bench quick (with tfjs)"
timeout 90 node .gpu/bench.mjs --quick --out $OUT > $OUT/bench-quick.txt 2>&1
echo "quick exit $?"
grep -A30 "^op " $OUT/bench-quick.txt | head -40
stamp "done"
