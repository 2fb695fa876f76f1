#!/bin/bash
# Fills .gpu/ (git-ignored) with what tools/gpu/check.sh needs on a GPU machine without
# Node.js or network: the node binary, the test dependencies, Node's headers (to rebuild the
# addon there if the prebuilt one does not load) and the benchmark as one bundle. The addon
# itself travels from native/build/Release. Run from the repository root after `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p .gpu
npm run build:native
xz -T0 -6 -c "$(command -v node)" > .gpu/node.xz
# Everything vitest needs; tfjs, Nx and TypeScript stay behind (the bundle carries what the
# benchmark uses).
tar -cJf .gpu/nm.tar.xz --exclude='node_modules/@tensorflow' --exclude='node_modules/nx' \
  --exclude='node_modules/@nx' --exclude='node_modules/typescript' --exclude='node_modules/core-js' \
  --exclude='node_modules/@types' --exclude='node_modules/cmake-js' --exclude='node_modules/axios' \
  --exclude='node_modules/@rapo' --exclude='node_modules/.cache' node_modules
node_include="$(dirname "$(command -v node)")/../include"
tar -cJf .gpu/node-headers.tar.xz -C "$node_include" node
# The @rapo libs are bundled from source (the rapo-source export condition; "module" is what
# esbuild adds when no conditions are given).
npx esbuild tools/bench/kernels.ts --bundle --platform=node --format=esm --target=node20 --conditions=rapo-source,module \
  --outfile=.gpu/bench.mjs --external:@tensorflow/tfjs-node --external:@tensorflow/tfjs-node-gpu \
  --external:@tensorflow/tfjs-backend-wasm --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
du -sh .gpu native/build/Release
echo "carry: native/build/Release and .gpu; run: bash tools/gpu/check.sh"
