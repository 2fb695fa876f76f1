// Batched matrix product on the native CPU kernels (OpenBLAS when the addon was built with it,
// a blocked loop otherwise), with the tfjs BatchMatMul contract, and its float64 reference.
import { loadNative } from './loader.js';
import { checkInteger } from './validate.js';

export interface MatmulShape {
  /** Batch entries of A and of B; entry b of the result uses A[b % batchA] and B[b % batchB]. */
  batchA: number;
  batchB: number;
  m: number;
  n: number;
  k: number;
  /** A entries are [k, m] (else [m, k]); B entries are [n, k] (else [k, n]). */
  transA?: boolean;
  transB?: boolean;
}

// O(1): runs once per matmul of every training step, so it never touches the data.
function checkShape(a: ArrayLike<number>, b: ArrayLike<number>, s: MatmulShape): number {
  checkInteger(s.batchA, 'batchA', 1);
  checkInteger(s.batchB, 'batchB', 1);
  checkInteger(s.m, 'm', 0);
  checkInteger(s.n, 'n', 0);
  checkInteger(s.k, 'k', 0);
  if (a.length !== s.batchA * s.m * s.k) throw new RangeError(`Expected ${s.batchA * s.m * s.k} elements for a but received ${a.length}`);
  if (b.length !== s.batchB * s.k * s.n) throw new RangeError(`Expected ${s.batchB * s.k * s.n} elements for b but received ${b.length}`);
  return Math.max(s.batchA, s.batchB);
}

/** C = op(A) op(B) per batch entry on the native CPU kernels; returns `out` (or a new array). */
export function matmul(a: Float32Array, b: Float32Array, shape: MatmulShape, out?: Float32Array): Float32Array {
  const batch = checkShape(a, b, shape);
  const c = out ?? new Float32Array(batch * shape.m * shape.n);
  loadNative().matmul(a, b, c, shape.batchA, shape.batchB, shape.m, shape.n, shape.k, shape.transA ?? false, shape.transB ?? false);
  return c;
}

/** The float64 oracle of matmul. */
export function matmulReference(a: ArrayLike<number>, b: ArrayLike<number>, shape: MatmulShape): Float64Array {
  const batch = checkShape(a, b, shape);
  const { m, n, k } = shape;
  const c = new Float64Array(batch * m * n);
  for (let bi = 0; bi < batch; bi++) {
    const ao = (bi % shape.batchA) * m * k;
    const bo = (bi % shape.batchB) * k * n;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let p = 0; p < k; p++) {
          const x = shape.transA ? a[ao + p * m + i]! : a[ao + i * k + p]!;
          const y = shape.transB ? b[bo + j * k + p]! : b[bo + p * n + j]!;
          sum += x * y;
        }
        c[bi * m * n + i * n + j] = sum;
      }
    }
  }
  return c;
}

/** Which BLAS the addon was built with and what the matmul uses. */
export function blasInfo() {
  return loadNative().blasInfo();
}

/** "blocked" forces the portable loop (tests compare it with the BLAS path); "auto" undoes it. */
export function setMatmulImpl(impl: 'auto' | 'blocked'): void {
  loadNative().setMatmulImpl(impl);
}
