;; Channels-last BatchNorm loops in wasm SIMD, run on tfjs-backend-wasm's own heap (the memory is imported).
;; x is [m rows, c channels] float32, c a multiple of 4; per-channel sums accumulate in float64.
;; Build: npx wat2wasm bnSimd.wat -o bnSimd.wasm (wabt 1.0.39), then base64 into bnSimdBinary.ts.
(module
  (import "env" "memory" (memory 1))

  ;; s[k] += x[i,k] - center[k];  t[k] += (x[i,k] - center[k])^2        (s, t: f64[c]; center: f32[c])
  (func (export "sums") (param $x i32) (param $center i32) (param $s i32) (param $t i32) (param $m i32) (param $c i32)
    (local $end i32) (local $k i32) (local $d v128) (local $lo v128) (local $hi v128) (local $ps i32) (local $pt i32)
    (local.set $end (i32.add (local.get $x) (i32.mul (i32.mul (local.get $m) (local.get $c)) (i32.const 4))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $cols
          (local.set $d (f32x4.sub (v128.load (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 2))))
                                   (v128.load (i32.add (local.get $center) (i32.shl (local.get $k) (i32.const 2))))))
          (local.set $lo (f64x2.promote_low_f32x4 (local.get $d)))
          (local.set $hi (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $d) (local.get $d))))
          (local.set $ps (i32.add (local.get $s) (i32.shl (local.get $k) (i32.const 3))))
          (local.set $pt (i32.add (local.get $t) (i32.shl (local.get $k) (i32.const 3))))
          (v128.store (local.get $ps) (f64x2.add (v128.load (local.get $ps)) (local.get $lo)))
          (v128.store offset=16 (local.get $ps) (f64x2.add (v128.load offset=16 (local.get $ps)) (local.get $hi)))
          (v128.store (local.get $pt) (f64x2.add (v128.load (local.get $pt)) (f64x2.mul (local.get $lo) (local.get $lo))))
          (v128.store offset=16 (local.get $pt) (f64x2.add (v128.load offset=16 (local.get $pt)) (f64x2.mul (local.get $hi) (local.get $hi))))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br_if $cols (i32.lt_u (local.get $k) (local.get $c))))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
        (br $rows))))

  ;; s[k] += o[i,k];  t[k] += o[i,k] * (x[i,k] - center[k])
  (func (export "dotSums") (param $x i32) (param $o i32) (param $center i32) (param $s i32) (param $t i32) (param $m i32) (param $c i32)
    (local $end i32) (local $k i32) (local $off i32) (local $ov v128) (local $p v128) (local $ps i32) (local $pt i32)
    (local.set $end (i32.add (local.get $x) (i32.mul (i32.mul (local.get $m) (local.get $c)) (i32.const 4))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $cols
          (local.set $off (i32.shl (local.get $k) (i32.const 2)))
          (local.set $ov (v128.load (i32.add (local.get $o) (local.get $off))))
          (local.set $p (f32x4.mul (local.get $ov)
                          (f32x4.sub (v128.load (i32.add (local.get $x) (local.get $off)))
                                     (v128.load (i32.add (local.get $center) (local.get $off))))))
          (local.set $ps (i32.add (local.get $s) (i32.shl (local.get $k) (i32.const 3))))
          (local.set $pt (i32.add (local.get $t) (i32.shl (local.get $k) (i32.const 3))))
          (v128.store (local.get $ps) (f64x2.add (v128.load (local.get $ps)) (f64x2.promote_low_f32x4 (local.get $ov))))
          (v128.store offset=16 (local.get $ps) (f64x2.add (v128.load offset=16 (local.get $ps))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $ov) (local.get $ov)))))
          (v128.store (local.get $pt) (f64x2.add (v128.load (local.get $pt)) (f64x2.promote_low_f32x4 (local.get $p))))
          (v128.store offset=16 (local.get $pt) (f64x2.add (v128.load offset=16 (local.get $pt))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $p) (local.get $p)))))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br_if $cols (i32.lt_u (local.get $k) (local.get $c))))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $o (i32.add (local.get $o) (i32.shl (local.get $c) (i32.const 2))))
        (br $rows))))

  ;; out[i,k] = x[i,k] * a[k] + b[k]   (+ y[i,k] * g[k] when y != 0)
  (func (export "affine") (param $out i32) (param $x i32) (param $a i32) (param $b i32) (param $y i32) (param $g i32) (param $m i32) (param $c i32)
    (local $end i32) (local $k i32) (local $off i32) (local $v v128)
    (local.set $end (i32.add (local.get $x) (i32.mul (i32.mul (local.get $m) (local.get $c)) (i32.const 4))))
    (block $done
      (loop $rows
        (br_if $done (i32.ge_u (local.get $x) (local.get $end)))
        (local.set $k (i32.const 0))
        (loop $cols
          (local.set $off (i32.shl (local.get $k) (i32.const 2)))
          (local.set $v (f32x4.add (f32x4.mul (v128.load (i32.add (local.get $x) (local.get $off)))
                                              (v128.load (i32.add (local.get $a) (local.get $off))))
                                   (v128.load (i32.add (local.get $b) (local.get $off)))))
          (if (local.get $y)
            (then (local.set $v (f32x4.add (local.get $v)
                    (f32x4.mul (v128.load (i32.add (local.get $y) (local.get $off)))
                               (v128.load (i32.add (local.get $g) (local.get $off))))))))
          (v128.store (i32.add (local.get $out) (local.get $off)) (local.get $v))
          (local.set $k (i32.add (local.get $k) (i32.const 4)))
          (br_if $cols (i32.lt_u (local.get $k) (local.get $c))))
        (local.set $x (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
        (local.set $out (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))))
        (if (local.get $y) (then (local.set $y (i32.add (local.get $y) (i32.shl (local.get $c) (i32.const 2))))))
        (br $rows))))
)
