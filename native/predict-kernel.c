/*
 * atomgp GP prediction kernel, native (C with GCC vector extensions: each 4-wide vector operation
 * becomes one AVX2 instruction, or two SSE2 ones, with fused multiply-adds where the build allows;
 * scripts/build-native.mjs picks the flags).
 *
 * The same computation, arguments and memory layout as the WebAssembly kernel
 * (src/math/wasm/predict-kernel.wat): for one atomic GP with a product-of-exponentials kernel,
 *   s_j = s0 + norm_j + Σ_k V_k Y_jk + Σ_k C_k wrap(V_k − Y_jk)²,  a_j = w_j exp(−s_j),
 * returns Σ_j a_j and, if withGrad, adds Σ_j a_j Y_jk (linear segment) and Σ_j a_j wrap(V_k − Y_jk)
 * (wrapped segment) into Acc. All offsets are bytes from `base` (the kernel's memory).
 *
 * Layout (chosen by the host, see buildWasmPlan in src/gp/predict/predictor.ts): blocks of four
 * training rows; within a block, vector t (two doubles: features 2t, 2t+1) of row r sits at
 * 64·t + 16·r. So the 64 bytes at block + 64·t are exactly eight doubles [r0 k0, r0 k1, r1 k0,
 * r1 k1, r2 k0, r2 k1, r3 k0, r3 k1]: two 4-wide vectors (rows 0-1, rows 2-3). Multiplied by
 * [V_2t, V_2t+1, V_2t, V_2t+1], each adds to two rows' dot products at once (the lane pairs are
 * summed at the end); multiplied by [a_r, a_r, a_r+1, a_r+1] it adds two rows' share of the
 * gradient accumulator (the row pairs are summed after the last block). Two blocks (eight rows)
 * are taken together: eight independent accumulators in the dot product, and exp on two full
 * vectors. Rows of padding carry w = 0.
 *
 * Results agree with the WebAssembly kernel to rounding (the summation order differs, and fused
 * multiply-adds round once), not bit for bit; tests compare both with the TypeScript pass.
 */
#include <stdint.h>
#include <stdlib.h>

typedef double v4d __attribute__((vector_size(32)));
typedef int64_t v4l __attribute__((vector_size(32)));
/* The same type for loads at 16-byte alignment (the layout guarantees no more). */
typedef double v4du __attribute__((vector_size(32), aligned(16)));

#define PI_D 3.141592653589793
#define TWO_PI_D 6.283185307179586

static inline v4d splat(double x) { return (v4d){x, x, x, x}; }

/* wrap(d): d shifted by ∓2π once when |d| > π (the host keeps |d| ≤ 3π). */
static inline v4d wrap(v4d d) {
  const v4l hi = d > splat(PI_D);
  const v4l lo = d < splat(-PI_D);
  return d - (v4d)(hi & (v4l)splat(TWO_PI_D)) + (v4d)(lo & (v4l)splat(TWO_PI_D));
}

/*
 * exp(x) per lane: x = k ln2 + r, |r| ≤ ln2/2, exp(r) by its Taylor series to r¹³ (truncation
 * < 5e-18 relative), times 2^k built in the exponent bits; lanes below −708 give 0 (as the
 * WebAssembly kernel). x is never NaN here (s ≥ 0 up to rounding, finite).
 */
static inline v4d expv(v4d x) {
  const v4l keep = x >= splat(-708.0);
  x = (v4d)((v4l)x & keep) + (v4d)(~keep & (v4l)splat(-708.0));
  const v4l big = x > splat(709.0);
  x = (v4d)(~big & (v4l)x) + (v4d)(big & (v4l)splat(709.0));
  /* k = round(x log2 e): adding and subtracting 1.5·2^52 rounds to nearest (|x log2 e| < 2^51) */
  const v4d magic = splat(6755399441055744.0);
  const v4d k = (x * splat(1.4426950408889634) + magic) - magic;
  const v4d r = (x - k * splat(0x1.62e42feep-1)) - k * splat(1.90821492927058770002e-10);
  v4d p = splat(1.6059043836821613e-10);
  p = p * r + splat(2.08767569878681e-9);
  p = p * r + splat(2.505210838544172e-8);
  p = p * r + splat(2.755731922398589e-7);
  p = p * r + splat(2.7557319223985893e-6);
  p = p * r + splat(2.48015873015873e-5);
  p = p * r + splat(1.984126984126984e-4);
  p = p * r + splat(1.388888888888889e-3);
  p = p * r + splat(8.333333333333333e-3);
  p = p * r + splat(4.1666666666666664e-2);
  p = p * r + splat(0.16666666666666666);
  p = p * r + splat(0.5);
  p = p * r + splat(1.0);
  p = p * r + splat(1.0);
  const v4l ki = __builtin_convertvector(k, v4l);
  const v4d twoK = (v4d)((ki + 1023) << 52);
  return (v4d)((v4l)(p * twoK) & keep);
}

/* Per-thread scratch: V and C as [V_2t, V_2t+1, V_2t, V_2t+1], and the gradient sums per row pair. */
static __thread v4d *scratch = NULL;
static __thread size_t scratchVectors = 0;

static v4d *scratchFor(size_t vectors) {
  if (vectors > scratchVectors) {
    free(scratch);
    scratch = aligned_alloc(32, vectors * sizeof(v4d));
    scratchVectors = scratch ? vectors : 0;
  }
  return scratch;
}

/*
 * 1 when this CPU has every instruction-set extension the compiler was allowed to use (the host
 * checks once before the first call: a library built with -march=native elsewhere is refused).
 */
int32_t atomgp_predict_cpu_ok(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
#if defined(__SSE4_2__)
  if (!__builtin_cpu_supports("sse4.2")) return 0;
#endif
#if defined(__AVX__)
  if (!__builtin_cpu_supports("avx")) return 0;
#endif
#if defined(__AVX2__)
  if (!__builtin_cpu_supports("avx2")) return 0;
#endif
#if defined(__FMA__)
  if (!__builtin_cpu_supports("fma")) return 0;
#endif
#if defined(__BMI2__)
  if (!__builtin_cpu_supports("bmi2")) return 0;
#endif
#if defined(__AVX512F__)
  if (!__builtin_cpu_supports("avx512f")) return 0;
#endif
#if defined(__AVX512VL__)
  if (!__builtin_cpu_supports("avx512vl")) return 0;
#endif
#if defined(__AVX512DQ__)
  if (!__builtin_cpu_supports("avx512dq")) return 0;
#endif
#if defined(__AVX512BW__)
  if (!__builtin_cpu_supports("avx512bw")) return 0;
#endif
#endif
  return 1;
}

#ifndef ATOMGP_SOURCE_SHA256
#define ATOMGP_SOURCE_SHA256 "unknown"
#endif
#ifndef ATOMGP_BUILD
#define ATOMGP_BUILD "unknown"
#endif
/* The sha256 of this file as built (scripts/build-native.mjs passes it; tests compare it with the source). */
const char *atomgp_predict_source_sha256(void) { return ATOMGP_SOURCE_SHA256; }
/* Compiler and flags, for reports. */
const char *atomgp_predict_build(void) { return ATOMGP_BUILD; }

double atomgp_predict(char *base, int32_t pY, int32_t nBlocks, int32_t endY, int32_t endW, int32_t pNorm, int32_t pW, int32_t pV,
                      int32_t pC, int32_t pAcc, double s0, int32_t withGrad) {
  const int nY = endY / 16; /* f64x2 vectors of a row's linear segment (even) */
  const int nW = endW / 16; /* … of the whole row */
  v4d *sc = scratchFor(4 * (size_t)nW);
  if (!sc) return __builtin_nan("");
  v4d *vb = sc, *cb = sc + nW, *acc = sc + 2 * nW; /* acc: two per vector (rows 0-1, rows 2-3) */
  const double *V = (const double *)(base + pV), *C = (const double *)(base + pC);
  for (int t = 0; t < nW; t++) {
    vb[t] = (v4d){V[2 * t], V[2 * t + 1], V[2 * t], V[2 * t + 1]};
    cb[t] = (v4d){C[2 * t], C[2 * t + 1], C[2 * t], C[2 * t + 1]};
    acc[2 * t] = acc[2 * t + 1] = splat(0.0);
  }
  const double *norm = (const double *)(base + pNorm), *w = (const double *)(base + pW);
  const size_t blockBytes = 4 * (size_t)endW;
  v4d eSum = splat(0.0);
  for (int b = 0; b < nBlocks; b += 2) {
    const int two = b + 1 < nBlocks;
    /* y0: block b, y1: block b+1 (block b again when there is none; its weights are then 0) */
    const v4du *y0 = (const v4du *)(base + pY + (size_t)b * blockBytes);
    const v4du *y1 = two ? (const v4du *)((const char *)y0 + blockBytes) : y0;
    v4d d0 = splat(0.0), d1 = d0, d2 = d0, d3 = d0, e0 = d0, e1 = d0, e2 = d0, e3 = d0;
    int t = 0;
    for (; t < nY; t += 2) {
      const v4d v = vb[t], u = vb[t + 1];
      d0 += y0[2 * t] * v;
      d1 += y0[2 * t + 1] * v;
      d2 += y1[2 * t] * v;
      d3 += y1[2 * t + 1] * v;
      e0 += y0[2 * t + 2] * u;
      e1 += y0[2 * t + 3] * u;
      e2 += y1[2 * t + 2] * u;
      e3 += y1[2 * t + 3] * u;
    }
    d0 += e0;
    d1 += e1;
    d2 += e2;
    d3 += e3;
    for (; t < nW; t++) {
      const v4d q0 = wrap(vb[t] - y0[2 * t]), q1 = wrap(vb[t] - y0[2 * t + 1]);
      const v4d q2 = wrap(vb[t] - y1[2 * t]), q3 = wrap(vb[t] - y1[2 * t + 1]);
      d0 += cb[t] * q0 * q0;
      d1 += cb[t] * q1 * q1;
      d2 += cb[t] * q2 * q2;
      d3 += cb[t] * q3 * q3;
    }
    /* s of rows 0-3 of block b, then of block b+1: lane pairs summed */
    const int j = 4 * b;
    const v4d lo = {d0[0] + d0[1], d0[2] + d0[3], d1[0] + d1[1], d1[2] + d1[3]};
    const v4d hi = {d2[0] + d2[1], d2[2] + d2[3], d3[0] + d3[1], d3[2] + d3[3]};
    const v4d n0 = {norm[j], norm[j + 1], norm[j + 2], norm[j + 3]};
    const v4d w0 = {w[j], w[j + 1], w[j + 2], w[j + 3]};
    const v4d a0 = w0 * expv(-(splat(s0) + n0 + lo));
    v4d a1 = splat(0.0);
    if (two) {
      const v4d n1 = {norm[j + 4], norm[j + 5], norm[j + 6], norm[j + 7]};
      const v4d w1 = {w[j + 4], w[j + 5], w[j + 6], w[j + 7]};
      a1 = w1 * expv(-(splat(s0) + n1 + hi));
    }
    eSum += a0 + a1;
    if (withGrad) {
      const v4d r01 = {a0[0], a0[0], a0[1], a0[1]}, r23 = {a0[2], a0[2], a0[3], a0[3]};
      const v4d r45 = {a1[0], a1[0], a1[1], a1[1]}, r67 = {a1[2], a1[2], a1[3], a1[3]};
      for (t = 0; t < nY; t++) {
        acc[2 * t] += y0[2 * t] * r01 + y1[2 * t] * r45;
        acc[2 * t + 1] += y0[2 * t + 1] * r23 + y1[2 * t + 1] * r67;
      }
      for (; t < nW; t++) {
        acc[2 * t] += r01 * wrap(vb[t] - y0[2 * t]) + r45 * wrap(vb[t] - y1[2 * t]);
        acc[2 * t + 1] += r23 * wrap(vb[t] - y0[2 * t + 1]) + r67 * wrap(vb[t] - y1[2 * t + 1]);
      }
    }
  }
  if (withGrad) {
    double *A = (double *)(base + pAcc);
    for (int t = 0; t < nW; t++) {
      const v4d q = acc[2 * t] + acc[2 * t + 1];
      A[2 * t] += q[0] + q[2];
      A[2 * t + 1] += q[1] + q[3];
    }
  }
  return (eSum[0] + eSum[1]) + (eSum[2] + eSum[3]);
}
