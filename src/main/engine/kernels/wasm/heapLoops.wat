;; Loops that run on tfjs-backend-wasm's own heap (the memory is imported), used by the custom kernels:
;;  - channels-last BatchNorm (x is [m rows, c channels] float32, c a multiple of 4; sums in float64), SIMD
;;  - im2colT: the transposed patch matrix of a convolution, for the filter gradient as one matrix product
;; Build: wat2wasm heapLoops.wat -o heapLoops.wasm (wabt 1.0.39; SIMD and bulk memory are on by default),
;; then base64 into heapLoopsBinary.ts (see the command in heapLoops.ts).
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
;; Rows of the transposed patch matrix for one filter tap: for every row r of src [rows, h, w] (rows = C*N of the
  ;; channel-major input) and output position (i, j) of [ho, wo]: dst[r, i, j] = src[r, i*sh + dh, j*sw + dw], or 0
  ;; outside the input (dh = tap row - pad top, dw = tap column - pad left).
  (func (export "im2colT") (param $src i32) (param $dst i32) (param $rows i32) (param $h i32) (param $w i32)
      (param $ho i32) (param $wo i32) (param $dh i32) (param $dw i32) (param $sh i32) (param $sw i32)
    (local $r i32) (local $i i32) (local $j i32) (local $hi i32) (local $wj i32) (local $row i32)
    (local $jlo i32) (local $jhi i32) (local $n i32)
    ;; columns j with 0 <= j*sw + dw < w: jlo = max(0, ceil(-dw / sw)), jhi = min(wo, ceil((w - dw) / sw))
    (local.set $jlo (i32.const 0))
    (if (i32.lt_s (local.get $dw) (i32.const 0))
      (then (local.set $jlo (i32.div_s (i32.sub (i32.add (i32.sub (i32.const 0) (local.get $dw)) (local.get $sw)) (i32.const 1)) (local.get $sw)))))
    (local.set $jhi (i32.div_s (i32.sub (i32.add (i32.sub (local.get $w) (local.get $dw)) (local.get $sw)) (i32.const 1)) (local.get $sw)))
    (if (i32.gt_s (local.get $jhi) (local.get $wo)) (then (local.set $jhi (local.get $wo))))
    (if (i32.lt_s (local.get $jhi) (local.get $jlo)) (then (local.set $jhi (local.get $jlo))))
    (if (i32.gt_s (local.get $jlo) (local.get $wo)) (then (local.set $jlo (local.get $wo)) (local.set $jhi (local.get $wo))))
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $i (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_u (local.get $i) (local.get $ho)))
        (local.set $hi (i32.add (i32.mul (local.get $i) (local.get $sh)) (local.get $dh)))
        (if (i32.or (i32.lt_s (local.get $hi) (i32.const 0)) (i32.ge_s (local.get $hi) (local.get $h)))
          (then (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $wo) (i32.const 2))))
          (else
            ;; src row start (element index of column 0 of input row hi)
            (local.set $row (i32.add (local.get $src) (i32.shl (i32.mul (i32.add (i32.mul (local.get $r) (local.get $h)) (local.get $hi)) (local.get $w)) (i32.const 2))))
            (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $jlo) (i32.const 2)))
            (memory.fill (i32.add (local.get $dst) (i32.shl (local.get $jhi) (i32.const 2))) (i32.const 0)
                         (i32.shl (i32.sub (local.get $wo) (local.get $jhi)) (i32.const 2)))
            (if (i32.eq (local.get $sw) (i32.const 1))
              (then
                (memory.copy (i32.add (local.get $dst) (i32.shl (local.get $jlo) (i32.const 2)))
                             (i32.add (local.get $row) (i32.shl (i32.add (local.get $jlo) (local.get $dw)) (i32.const 2)))
                             (i32.shl (i32.sub (local.get $jhi) (local.get $jlo)) (i32.const 2))))
              (else
                (local.set $j (local.get $jlo))
                (block $jdone (loop $jloop
                  (br_if $jdone (i32.ge_s (local.get $j) (local.get $jhi)))
                  (local.set $wj (i32.add (i32.mul (local.get $j) (local.get $sw)) (local.get $dw)))
                  (f32.store (i32.add (local.get $dst) (i32.shl (local.get $j) (i32.const 2)))
                             (f32.load (i32.add (local.get $row) (i32.shl (local.get $wj) (i32.const 2)))))
                  (local.set $j (i32.add (local.get $j) (i32.const 1)))
                  (br $jloop)))))))
        (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $wo) (i32.const 2))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop))));; im2colT for a stride-1 convolution whose output is the input's size (h x w): per row r the tap is a shift of the
  ;; flat [h*w] plane by dh*w + dw, so one memory.copy per row, then zeros where the shift crossed the borders.
  (func (export "im2colTSame") (param $src i32) (param $dst i32) (param $rows i32) (param $h i32) (param $w i32)
      (param $dh i32) (param $dw i32)
    (local $r i32) (local $n i32) (local $off i32) (local $klo i32) (local $khi i32) (local $i i32) (local $j i32)
    (local $plane i32) (local $row i32) (local $jlo i32) (local $jhi i32)
    (local.set $n (i32.mul (local.get $h) (local.get $w)))
    (local.set $plane (i32.shl (local.get $n) (i32.const 2)))
    (local.set $off (i32.add (i32.mul (local.get $dh) (local.get $w)) (local.get $dw)))
    ;; flat indices k with 0 <= k + off < n
    (local.set $klo (select (i32.sub (i32.const 0) (local.get $off)) (i32.const 0) (i32.lt_s (local.get $off) (i32.const 0))))
    (local.set $khi (select (i32.sub (local.get $n) (local.get $off)) (local.get $n) (i32.gt_s (local.get $off) (i32.const 0))))
    (if (i32.gt_s (local.get $klo) (local.get $n)) (then (local.set $klo (local.get $n))))
    (if (i32.lt_s (local.get $khi) (local.get $klo)) (then (local.set $khi (local.get $klo))))
    ;; valid columns: 0 <= j + dw < w
    (local.set $jlo (select (i32.sub (i32.const 0) (local.get $dw)) (i32.const 0) (i32.lt_s (local.get $dw) (i32.const 0))))
    (local.set $jhi (select (i32.sub (local.get $w) (local.get $dw)) (local.get $w) (i32.gt_s (local.get $dw) (i32.const 0))))
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $rows)))
      (memory.fill (local.get $dst) (i32.const 0) (i32.shl (local.get $klo) (i32.const 2)))
      (memory.copy (i32.add (local.get $dst) (i32.shl (local.get $klo) (i32.const 2)))
                   (i32.add (local.get $src) (i32.shl (i32.add (local.get $klo) (local.get $off)) (i32.const 2)))
                   (i32.shl (i32.sub (local.get $khi) (local.get $klo)) (i32.const 2)))
      (memory.fill (i32.add (local.get $dst) (i32.shl (local.get $khi) (i32.const 2))) (i32.const 0)
                   (i32.shl (i32.sub (local.get $n) (local.get $khi)) (i32.const 2)))
      ;; rows whose source row is outside the input, and the border columns of the others
      (local.set $i (i32.const 0))
      (block $idone (loop $iloop
        (br_if $idone (i32.ge_s (local.get $i) (local.get $h)))
        (local.set $row (i32.add (local.get $dst) (i32.shl (i32.mul (local.get $i) (local.get $w)) (i32.const 2))))
        (if (i32.or (i32.lt_s (i32.add (local.get $i) (local.get $dh)) (i32.const 0))
                    (i32.ge_s (i32.add (local.get $i) (local.get $dh)) (local.get $h)))
          (then (memory.fill (local.get $row) (i32.const 0) (i32.shl (local.get $w) (i32.const 2))))
          (else
            (local.set $j (i32.const 0))
            (block $a (loop $al
              (br_if $a (i32.ge_s (local.get $j) (local.get $jlo)))
              (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $al)))
            (local.set $j (select (local.get $jhi) (i32.const 0) (i32.gt_s (local.get $jhi) (i32.const 0))))
            (block $b (loop $bl
              (br_if $b (i32.ge_s (local.get $j) (local.get $w)))
              (f32.store (i32.add (local.get $row) (i32.shl (local.get $j) (i32.const 2))) (f32.const 0))
              (local.set $j (i32.add (local.get $j) (i32.const 1)))
              (br $bl)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $iloop)))
      (local.set $src (i32.add (local.get $src) (local.get $plane)))
      (local.set $dst (i32.add (local.get $dst) (local.get $plane)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop)))))
