;; atomgp GP prediction kernel: WebAssembly SIMD (f64x2), hand-written.
;;
;; Source of truth for src/gp/wasm/kernel-bytes.ts, which `node --import tsx scripts/gen-wasm.ts` regenerates
;; with wabt (test/gp/wasm.test.ts checks that the two agree byte for byte).
;;
;; For one atomic GP with a product-of-exponentials kernel, one fused pass over the training set:
;;   s_j = s0 + norm_j + Σ_k V_k Y_jk                    (linear segment, k < endY)
;;             + Σ_k C_k wrap(V_k − Y_jk)²               (wrapped segment, endY ≤ k < endW)
;;   a_j = w_j exp(−s_j),   returns Σ_j a_j
;;   and, if withGrad: Acc_k = Σ_j a_j Y_jk (linear), Σ_j a_j wrap(V_k − Y_jk) (wrapped).
;; The host (src/gp/predictor.ts) builds V, s0 and C so that the linear segment holds the squared
;; terms by expansion on centred data and the periodic terms as cos/sin columns, and turns Acc
;; into the gradient. wrap(d) shifts d by ±2π once when |d| > π, exactly as the TypeScript path
;; does for |d| ≤ 3π (the host guarantees that range).
;;
;; Memory layout (all offsets in bytes, 16-byte aligned, chosen by the host):
;;   Y    nBlocks blocks of four rows, a row being [linear segment | wrapped segment] of endW
;;        bytes (zero padded; the linear segment a multiple of 32 bytes). Within a block the rows
;;        are interleaved by f64x2 vector: vector t of row r at 64·t + 16·r, so one moving pointer
;;        with constant offsets reads all four rows.
;;   norm, w   one f64 per row (padding rows have w = 0, so they add exactly 0)
;;   V, C, Acc  endW/8 f64 each
;; Rows are processed four at a time: each V/C/Acc vector loaded once serves four rows; the
;; linear loops take two vectors per iteration with separate accumulators.
(module
  (import "env" "memory" (memory 1))

  ;; exp(x) per lane for x ≤ 709: x = k ln2 + r, |r| ≤ ln2/2, exp(r) by its Taylor series to r¹³
  ;; (truncation < 5e-18 relative), scaled by 2^k built in the exponent bits. Lanes below −708
  ;; (exp < 3.3e-308) give 0.
  (func $expv (param $x v128) (result v128)
    (local $k v128) (local $r v128) (local $p v128) (local $keep v128)
    (local.set $keep (f64x2.ge (local.get $x) (v128.const f64x2 -708 -708)))
    (local.set $x (f64x2.pmax (local.get $x) (v128.const f64x2 -708 -708)))
    (local.set $x (f64x2.pmin (local.get $x) (v128.const f64x2 709 709)))
    (local.set $k (f64x2.nearest (f64x2.mul (local.get $x)
      (v128.const f64x2 1.4426950408889634 1.4426950408889634))))
    ;; Cody-Waite: ln2 = hi + lo, hi with 32 trailing zero bits so k·hi is exact.
    (local.set $r (f64x2.sub
      (f64x2.sub (local.get $x) (f64x2.mul (local.get $k) (v128.const f64x2 0x1.62e42feep-1 0x1.62e42feep-1)))
      (f64x2.mul (local.get $k) (v128.const f64x2 1.90821492927058770002e-10 1.90821492927058770002e-10))))
    (local.set $p (v128.const f64x2 1.6059043836821613e-10 1.6059043836821613e-10))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.08767569878681e-9 2.08767569878681e-9)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.505210838544172e-8 2.505210838544172e-8)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.755731922398589e-7 2.755731922398589e-7)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.7557319223985893e-6 2.7557319223985893e-6)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 2.48015873015873e-5 2.48015873015873e-5)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1.984126984126984e-4 1.984126984126984e-4)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1.388888888888889e-3 1.388888888888889e-3)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 8.333333333333333e-3 8.333333333333333e-3)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 4.1666666666666664e-2 4.1666666666666664e-2)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.16666666666666666 0.16666666666666666)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 0.5 0.5)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1 1)))
    (local.set $p (f64x2.add (f64x2.mul (local.get $p) (local.get $r)) (v128.const f64x2 1 1)))
    ;; 2^k: (k + 1023) << 52 as the bits of a double; k ∈ [−1021, 1023] here.
    (v128.and
      (f64x2.mul (local.get $p)
        (i64x2.shl
          (i64x2.add (i64x2.extend_low_i32x4_s (i32x4.trunc_sat_f64x2_s_zero (local.get $k)))
                     (v128.const i64x2 1023 1023))
          (i32.const 52)))
      (local.get $keep)))

  (func (export "predict")
    (param $pY i32) (param $nBlocks i32) (param $endY i32) (param $endW i32)
    (param $pNorm i32) (param $pW i32) (param $pV i32) (param $pC i32) (param $pAcc i32)
    (param $s0 f64) (param $withGrad i32)
    (result f64)
    (local $p i32) (local $block i32) (local $b i32) (local $k i32) (local $j8 i32)
    (local $d0 v128) (local $d1 v128) (local $d2 v128) (local $d3 v128)
    (local $e0 v128) (local $e1 v128) (local $e2 v128) (local $e3 v128)
    (local $v v128) (local $c v128) (local $t v128)
    (local $a01 v128) (local $a23 v128)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local $eSum v128) (local $s0v v128)
    (local.set $s0v (f64x2.splat (local.get $s0)))
    (local.set $block (local.get $pY))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $b) (local.get $nBlocks)))
        (local.set $d0 (v128.const i64x2 0 0))
        (local.set $d1 (v128.const i64x2 0 0))
        (local.set $d2 (v128.const i64x2 0 0))
        (local.set $d3 (v128.const i64x2 0 0))
        (local.set $e0 (v128.const i64x2 0 0))
        (local.set $e1 (v128.const i64x2 0 0))
        (local.set $e2 (v128.const i64x2 0 0))
        (local.set $e3 (v128.const i64x2 0 0))

        ;; linear segment: d_r += V · Y_r, two vectors per iteration
        (local.set $p (local.get $block))
        (local.set $k (i32.const 0))
        (block $endDot
          (loop $dot
            (br_if $endDot (i32.ge_u (local.get $k) (local.get $endY)))
            (local.set $v (v128.load (i32.add (local.get $pV) (local.get $k))))
            (local.set $d0 (f64x2.add (local.get $d0)
              (f64x2.mul (local.get $v) (v128.load offset=0 (local.get $p)))))
            (local.set $d1 (f64x2.add (local.get $d1)
              (f64x2.mul (local.get $v) (v128.load offset=16 (local.get $p)))))
            (local.set $d2 (f64x2.add (local.get $d2)
              (f64x2.mul (local.get $v) (v128.load offset=32 (local.get $p)))))
            (local.set $d3 (f64x2.add (local.get $d3)
              (f64x2.mul (local.get $v) (v128.load offset=48 (local.get $p)))))
            (local.set $v (v128.load offset=16 (i32.add (local.get $pV) (local.get $k))))
            (local.set $e0 (f64x2.add (local.get $e0)
              (f64x2.mul (local.get $v) (v128.load offset=64 (local.get $p)))))
            (local.set $e1 (f64x2.add (local.get $e1)
              (f64x2.mul (local.get $v) (v128.load offset=80 (local.get $p)))))
            (local.set $e2 (f64x2.add (local.get $e2)
              (f64x2.mul (local.get $v) (v128.load offset=96 (local.get $p)))))
            (local.set $e3 (f64x2.add (local.get $e3)
              (f64x2.mul (local.get $v) (v128.load offset=112 (local.get $p)))))
            (local.set $p (i32.add (local.get $p) (i32.const 128)))
            (local.set $k (i32.add (local.get $k) (i32.const 32)))
            (br $dot)))
        (local.set $d0 (f64x2.add (local.get $d0) (local.get $e0)))
        (local.set $d1 (f64x2.add (local.get $d1) (local.get $e1)))
        (local.set $d2 (f64x2.add (local.get $d2) (local.get $e2)))
        (local.set $d3 (f64x2.add (local.get $d3) (local.get $e3)))

        ;; wrapped segment: d_r += C wrap(V − Y_r)²
        (block $endWrap
          (loop $wrap
            (br_if $endWrap (i32.ge_u (local.get $k) (local.get $endW)))
            (local.set $v (v128.load (i32.add (local.get $pV) (local.get $k))))
            (local.set $c (v128.load (i32.add (local.get $pC) (local.get $k))))
            (local.set $t (f64x2.sub (local.get $v) (v128.load offset=0 (local.get $p))))
            (local.set $t (f64x2.sub (local.get $t)
              (v128.and (f64x2.gt (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
                        (v128.const f64x2 6.283185307179586 6.283185307179586))))
            (local.set $t (f64x2.add (local.get $t)
              (v128.and (f64x2.lt (local.get $t) (v128.const f64x2 -3.141592653589793 -3.141592653589793))
                        (v128.const f64x2 6.283185307179586 6.283185307179586))))
            (local.set $d0 (f64x2.add (local.get $d0) (f64x2.mul (local.get $c) (f64x2.mul (local.get $t) (local.get $t)))))
            (local.set $t (f64x2.sub (local.get $v) (v128.load offset=16 (local.get $p))))
            (local.set $t (f64x2.sub (local.get $t)
              (v128.and (f64x2.gt (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
                        (v128.const f64x2 6.283185307179586 6.283185307179586))))
            (local.set $t (f64x2.add (local.get $t)
              (v128.and (f64x2.lt (local.get $t) (v128.const f64x2 -3.141592653589793 -3.141592653589793))
                        (v128.const f64x2 6.283185307179586 6.283185307179586))))
            (local.set $d1 (f64x2.add (local.get $d1) (f64x2.mul (local.get $c) (f64x2.mul (local.get $t) (local.get $t)))))
            (local.set $t (f64x2.sub (local.get $v) (v128.load offset=32 (local.get $p))))
            (local.set $t (f64x2.sub (local.get $t)
              (v128.and (f64x2.gt (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
                        (v128.const f64x2 6.283185307179586 6.283185307179586))))
            (local.set $t (f64x2.add (local.get $t)
              (v128.and (f64x2.lt (local.get $t) (v128.const f64x2 -3.141592653589793 -3.141592653589793))
                        (v128.const f64x2 6.283185307179586 6.283185307179586))))
            (local.set $d2 (f64x2.add (local.get $d2) (f64x2.mul (local.get $c) (f64x2.mul (local.get $t) (local.get $t)))))
            (local.set $t (f64x2.sub (local.get $v) (v128.load offset=48 (local.get $p))))
            (local.set $t (f64x2.sub (local.get $t)
              (v128.and (f64x2.gt (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
                        (v128.const f64x2 6.283185307179586 6.283185307179586))))
            (local.set $t (f64x2.add (local.get $t)
              (v128.and (f64x2.lt (local.get $t) (v128.const f64x2 -3.141592653589793 -3.141592653589793))
                        (v128.const f64x2 6.283185307179586 6.283185307179586))))
            (local.set $d3 (f64x2.add (local.get $d3) (f64x2.mul (local.get $c) (f64x2.mul (local.get $t) (local.get $t)))))
            (local.set $p (i32.add (local.get $p) (i32.const 64)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $wrap)))

        ;; s = s0 + norm + (lane sums of d); a = w exp(−s), two rows per vector.
        (local.set $j8 (i32.shl (local.get $b) (i32.const 5)))
        (local.set $a01
          (f64x2.mul (v128.load (i32.add (local.get $pW) (local.get $j8)))
            (call $expv (f64x2.neg
              (f64x2.add
                (f64x2.add (local.get $s0v) (v128.load (i32.add (local.get $pNorm) (local.get $j8))))
                (f64x2.add
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $d0) (local.get $d1))
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $d0) (local.get $d1))))))))
        (local.set $a23
          (f64x2.mul (v128.load offset=16 (i32.add (local.get $pW) (local.get $j8)))
            (call $expv (f64x2.neg
              (f64x2.add
                (f64x2.add (local.get $s0v) (v128.load offset=16 (i32.add (local.get $pNorm) (local.get $j8))))
                (f64x2.add
                  (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $d2) (local.get $d3))
                  (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $d2) (local.get $d3))))))))
        (local.set $eSum (f64x2.add (local.get $eSum) (f64x2.add (local.get $a01) (local.get $a23))))

        (if (local.get $withGrad)
          (then
            (local.set $a0 (i8x16.shuffle 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 (local.get $a01) (local.get $a01)))
            (local.set $a1 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $a01) (local.get $a01)))
            (local.set $a2 (i8x16.shuffle 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 (local.get $a23) (local.get $a23)))
            (local.set $a3 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $a23) (local.get $a23)))
            ;; linear segment: Acc += Σ_r a_r Y_r, two vectors per iteration
            (local.set $p (local.get $block))
            (local.set $k (i32.const 0))
            (block $endAxpy
              (loop $axpy
                (br_if $endAxpy (i32.ge_u (local.get $k) (local.get $endY)))
                (v128.store (i32.add (local.get $pAcc) (local.get $k))
                  (f64x2.add (v128.load (i32.add (local.get $pAcc) (local.get $k)))
                    (f64x2.add
                      (f64x2.add
                        (f64x2.mul (local.get $a0) (v128.load (local.get $p)))
                        (f64x2.mul (local.get $a1) (v128.load offset=16 (local.get $p))))
                      (f64x2.add
                        (f64x2.mul (local.get $a2) (v128.load offset=32 (local.get $p)))
                        (f64x2.mul (local.get $a3) (v128.load offset=48 (local.get $p)))))))
                (v128.store offset=16 (i32.add (local.get $pAcc) (local.get $k))
                  (f64x2.add (v128.load offset=16 (i32.add (local.get $pAcc) (local.get $k)))
                    (f64x2.add
                      (f64x2.add
                        (f64x2.mul (local.get $a0) (v128.load offset=64 (local.get $p)))
                        (f64x2.mul (local.get $a1) (v128.load offset=80 (local.get $p))))
                      (f64x2.add
                        (f64x2.mul (local.get $a2) (v128.load offset=96 (local.get $p)))
                        (f64x2.mul (local.get $a3) (v128.load offset=112 (local.get $p)))))))
                (local.set $p (i32.add (local.get $p) (i32.const 128)))
                (local.set $k (i32.add (local.get $k) (i32.const 32)))
                (br $axpy)))
            ;; wrapped segment: Acc += Σ_r a_r wrap(V − Y_r)
            (block $endWaxpy
              (loop $waxpy
                (br_if $endWaxpy (i32.ge_u (local.get $k) (local.get $endW)))
                (local.set $v (v128.load (i32.add (local.get $pV) (local.get $k))))
                (local.set $c (v128.load (i32.add (local.get $pAcc) (local.get $k))))
                (local.set $t (f64x2.sub (local.get $v) (v128.load offset=0 (local.get $p))))
                (local.set $t (f64x2.sub (local.get $t)
                  (v128.and (f64x2.gt (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
                            (v128.const f64x2 6.283185307179586 6.283185307179586))))
                (local.set $t (f64x2.add (local.get $t)
                  (v128.and (f64x2.lt (local.get $t) (v128.const f64x2 -3.141592653589793 -3.141592653589793))
                            (v128.const f64x2 6.283185307179586 6.283185307179586))))
                (local.set $c (f64x2.add (local.get $c) (f64x2.mul (local.get $a0) (local.get $t))))
                (local.set $t (f64x2.sub (local.get $v) (v128.load offset=16 (local.get $p))))
                (local.set $t (f64x2.sub (local.get $t)
                  (v128.and (f64x2.gt (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
                            (v128.const f64x2 6.283185307179586 6.283185307179586))))
                (local.set $t (f64x2.add (local.get $t)
                  (v128.and (f64x2.lt (local.get $t) (v128.const f64x2 -3.141592653589793 -3.141592653589793))
                            (v128.const f64x2 6.283185307179586 6.283185307179586))))
                (local.set $c (f64x2.add (local.get $c) (f64x2.mul (local.get $a1) (local.get $t))))
                (local.set $t (f64x2.sub (local.get $v) (v128.load offset=32 (local.get $p))))
                (local.set $t (f64x2.sub (local.get $t)
                  (v128.and (f64x2.gt (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
                            (v128.const f64x2 6.283185307179586 6.283185307179586))))
                (local.set $t (f64x2.add (local.get $t)
                  (v128.and (f64x2.lt (local.get $t) (v128.const f64x2 -3.141592653589793 -3.141592653589793))
                            (v128.const f64x2 6.283185307179586 6.283185307179586))))
                (local.set $c (f64x2.add (local.get $c) (f64x2.mul (local.get $a2) (local.get $t))))
                (local.set $t (f64x2.sub (local.get $v) (v128.load offset=48 (local.get $p))))
                (local.set $t (f64x2.sub (local.get $t)
                  (v128.and (f64x2.gt (local.get $t) (v128.const f64x2 3.141592653589793 3.141592653589793))
                            (v128.const f64x2 6.283185307179586 6.283185307179586))))
                (local.set $t (f64x2.add (local.get $t)
                  (v128.and (f64x2.lt (local.get $t) (v128.const f64x2 -3.141592653589793 -3.141592653589793))
                            (v128.const f64x2 6.283185307179586 6.283185307179586))))
                (local.set $c (f64x2.add (local.get $c) (f64x2.mul (local.get $a3) (local.get $t))))
                (v128.store (i32.add (local.get $pAcc) (local.get $k)) (local.get $c))
                (local.set $p (i32.add (local.get $p) (i32.const 64)))
                (local.set $k (i32.add (local.get $k) (i32.const 16)))
                (br $waxpy)))))

        ;; next block: four rows of endW bytes
        (local.set $block (i32.add (local.get $block) (i32.shl (local.get $endW) (i32.const 2))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $blocks)))
    (f64.add (f64x2.extract_lane 0 (local.get $eSum)) (f64x2.extract_lane 1 (local.get $eSum))))
)
