// Convolution kernels for one instruction set: included once per ISA (conv_generic.cc, conv_avx2.cc,
// conv_avx512.cc) inside its own namespace, with VW (floats per SIMD vector) defined. No standard-library
// code is used here: everything compiled under a target pragma stays internal to its namespace (an inline
// std:: function instantiated with AVX-512 code could otherwise be picked by the linker for every caller).
//
// Layouts are TensorFlow's: x and dy NHWC, filters HWIO ([fh, fw, ci, co]), so a convolution is the GEMM
// out[M x CO] = im2col(x)[M x K] * W[K x CO] with M = N*OH*OW rows and K = FH*FW*CI.
#include "conv_api.h"

typedef float vf __attribute__((vector_size(VW * 4)));

static inline long lmin(long a, long b) { return a < b ? a : b; }
static inline long lmax(long a, long b) { return a > b ? a : b; }

template <int MR, int NV>
static inline __attribute__((always_inline)) void zero_tile(vf (&c)[MR][NV]) {
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) c[i][v] = (vf){};
}

// C[MR x ncols] = tile (acc: +=); full panels with vector stores, the last partial panel through a buffer
template <int MR, int NV>
static inline __attribute__((always_inline)) void store_tile(const vf (&c)[MR][NV], float* C, long ldc, int ncols, bool acc) {
  constexpr int NR = NV * VW;
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    float* crow = C + i * ldc;
    if (ncols == NR) {
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) {
        vf r = c[i][v];
        if (acc) {
          vf old;
          __builtin_memcpy(&old, crow + v * VW, sizeof(vf));
          r += old;
        }
        __builtin_memcpy(crow + v * VW, &r, sizeof(vf));
      }
    } else {
      float tmp[NR];
      __builtin_memcpy(tmp, c[i], sizeof(tmp));
      for (int j = 0; j < ncols; j++) crow[j] = acc ? crow[j] + tmp[j] : tmp[j];
    }
  }
}

// C[MR x NV*VW] (+)= A[MR x kc] * B[kc x NV*VW]; A(i, p) = A[i*ars + p*acs]; B is a packed panel (row p at p*NR).
template <int MR, int NV>
static inline __attribute__((always_inline)) void ukernel(long kc, const float* A, long ars, long acs, const float* B,
                                                          float* C, long ldc, int ncols, bool acc) {
  constexpr int NR = NV * VW;
  vf c[MR][NV];
  zero_tile<MR, NV>(c);
  for (long p = 0; p < kc; p++) {
    vf b[NV];
#pragma GCC unroll 4
    for (int v = 0; v < NV; v++) b[v] = *(const vf*)(B + p * NR + v * VW);
    const float* a = A + p * acs;
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const float ai = a[i * ars];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) c[i][v] += ai * b[v];
    }
  }
  store_tile<MR, NV>(c, C, ldc, ncols, acc);
}

// C[m x n] (+)= A[m x k] * B[k x n], B packed by pack_b with panels of NV*VW columns.
template <int MR, int NV>
static void gemm_t(long m, long n, long k, const float* A, long ars, long acs, const float* Bp, float* C, long ldc,
                   bool acc) {
  constexpr int NR = NV * VW;
  constexpr long KC = 256;
  const long panels = (n + NR - 1) / NR;
  for (long kk = 0; kk < k; kk += KC) {
    const long kc = lmin(KC, k - kk);
    const bool a2 = acc || kk > 0;
    for (long jp = 0; jp < panels; jp++) {
      const float* B = Bp + jp * k * NR + kk * NR;
      const int ncols = (int)lmin(NR, n - jp * NR);
      float* Cj = C + jp * NR;
      long i = 0;
      for (; i + MR <= m; i += MR) ukernel<MR, NV>(kc, A + i * ars + kk * acs, ars, acs, B, Cj + i * ldc, ldc, ncols, a2);
      for (; i < m; i++) ukernel<1, NV>(kc, A + i * ars + kk * acs, ars, acs, B, Cj + i * ldc, ldc, ncols, a2);
    }
  }
}

static inline int nv_for(long ncols) { return ncols <= VW ? 1 : 2; }

static void gemm(int nv, long m, long n, long k, const float* A, long ars, long acs, const float* Bp, float* C, long ldc,
                 bool acc) {
  if (nv == 1)
    gemm_t<12, 1>(m, n, k, A, ars, acs, Bp, C, ldc, acc);
  else
    gemm_t<6, 2>(m, n, k, A, ars, acs, Bp, C, ldc, acc);
}

int panel_width(long ncols) { return nv_for(ncols) * VW; }

size_t packed_size(long k, long n) {
  const long nr = panel_width(n);
  return (size_t)((n + nr - 1) / nr) * nr * k;
}

// dst[jp][p][j] = src[p*rs + (jp*NR + j)*cs], zero beyond column n.
void pack_b(const float* src, long rs, long cs, long k, long n, float* dst) {
  const long nr = panel_width(n);
  const long panels = (n + nr - 1) / nr;
  for (long jp = 0; jp < panels; jp++) {
    float* d = dst + jp * k * nr;
    const long c0 = jp * nr, nc = lmin(nr, n - c0);
    for (long p = 0; p < k; p++) {
      const float* s = src + p * rs + c0 * cs;
      if (cs == 1) {
        __builtin_memcpy(d + p * nr, s, nc * sizeof(float));
      } else {
        for (long j = 0; j < nc; j++) d[p * nr + j] = s[j * cs];
      }
      for (long j = nc; j < nr; j++) d[p * nr + j] = 0.f;
    }
  }
}

static inline void copy_run(float* d, const float* src, long len) {
  long j = 0;
  for (; j + VW <= len; j += VW) {
    vf v;
    __builtin_memcpy(&v, src + j, sizeof(vf));
    __builtin_memcpy(d + j, &v, sizeof(vf));
  }
  for (; j < len; j++) d[j] = src[j];
}

static inline void add_run(float* d, const float* src, long len) {
  long j = 0;
  for (; j + VW <= len; j += VW) {
    vf a, b;
    __builtin_memcpy(&a, d + j, sizeof(vf));
    __builtin_memcpy(&b, src + j, sizeof(vf));
    a += b;
    __builtin_memcpy(d + j, &a, sizeof(vf));
  }
  for (; j < len; j++) d[j] += src[j];
}

// Walks rows [m0, m1) of the im2col matrix: for each row and filter row kh, calls
// run(colOffset, imageOffset, length) for every stretch of taps that lies inside the image (a whole filter row at
// once when the dilation is 1 and the row is interior), and gap(colOffset, length) for padding. Row indices are
// stepped, not divided, and the per-row work is a few long runs instead of fh*fw short ones.
template <class Run, class Gap>
static inline void walk_rows(const ConvShape& s, long m0, long m1, Run run, Gap gap) {
  const long ci = s.ci, K = (long)s.fh * s.fw * ci, hw = (long)s.oh * s.ow;
  long n = m0 / hw, oy = (m0 % hw) / s.ow, ox = m0 % s.ow;
  for (long r = m0; r < m1; r++) {
    const long col0 = (r - m0) * K;
    const long ix0 = ox * s.sw - s.pl;
    const bool interior = s.dw == 1 && ix0 >= 0 && ix0 + s.fw <= s.w;
    for (long kh = 0; kh < s.fh; kh++) {
      const long iy = oy * s.sh + kh * s.dh - s.pt;
      const long colRow = col0 + kh * s.fw * ci;
      if (iy < 0 || iy >= s.h) {
        gap(colRow, s.fw * ci);
        continue;
      }
      const long rowBase = (n * s.h + iy) * s.w;
      if (interior) {
        run(colRow, (rowBase + ix0) * ci, s.fw * ci);
        continue;
      }
      for (long kw = 0; kw < s.fw; kw++) {
        const long ix = ix0 + kw * s.dw;
        if (ix < 0 || ix >= s.w)
          gap(colRow + kw * ci, ci);
        else
          run(colRow + kw * ci, (rowBase + ix) * ci, ci);
      }
    }
    if (++ox == s.ow) {
      ox = 0;
      if (++oy == s.oh) {
        oy = 0;
        n++;
      }
    }
  }
}

// rows [m0, m1) of im2col(x) into dst (row-major, K per row)
static void im2col(const ConvShape& s, const float* x, long m0, long m1, float* dst) {
  walk_rows(
      s, m0, m1, [&](long c, long xi, long len) { copy_run(dst + c, x + xi, len); },
      [&](long c, long len) {
        for (long j = 0; j < len; j++) dst[c + j] = 0.f;
      });
}

// ---------------------------------------------------------------- direct convolution over a padded input
// No im2col: with the input zero-padded so every tap of every output pixel is inside it, the A operand of a micro-tile
// of MR consecutive output pixels of one output row is the padded input itself (row stride sw*ci), shifted per tap.
// The depth (K = taps x ci) is walked as segments, each `len` channels at A offset `aoff` and packed-B row `brow`,
// grouped into chunks of <= KC so a B sub-panel stays in cache across the tiles that use it.
template <int MR, int NV>
static inline __attribute__((always_inline)) void ukernel_segs(const DepthSeg* seg, int nseg, const float* A, long ars,
                                                               const float* B, float* C, long ldc, int ncols, bool acc) {
  constexpr int NR = NV * VW;
  vf c[MR][NV];
  zero_tile<MR, NV>(c);
  for (int g = 0; g < nseg; g++) {
    const float* a = A + seg[g].aoff;
    const float* b = B + seg[g].brow * NR;
    const long len = seg[g].len;
    for (long p = 0; p < len; p++) {
      vf bv[NV];
#pragma GCC unroll 4
      for (int v = 0; v < NV; v++) bv[v] = *(const vf*)(b + p * NR + v * VW);
#pragma GCC unroll 16
      for (int i = 0; i < MR; i++) {
        const float ai = a[i * ars + p];
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) c[i][v] += ai * bv[v];
      }
    }
  }
  store_tile<MR, NV>(c, C, ldc, ncols, acc);
}

template <int NV, int R>
static inline void tile_rem(int rem, const DepthSeg* seg, int nseg, const float* A, long ars, const float* B, float* C,
                            long ldc, int ncols, bool acc) {
  if constexpr (R > 0) {
    if (rem == R) return ukernel_segs<R, NV>(seg, nseg, A, ars, B, C, ldc, ncols, acc);
    tile_rem<NV, R - 1>(rem, seg, nseg, A, ars, B, C, ldc, ncols, acc);
  }
}

template <int MR, int NV>
static void direct_rows(const ConvShape& s, const PaddedInput& xp, const DepthSeg* segs, const int* chunkStart, int nchunks,
                        const float* Bp, float* out, long r0, long r1) {
  constexpr int NR = NV * VW;
  const long K = s.fh * s.fw * s.ci, panels = (s.co + NR - 1) / NR, ars = s.sw * s.ci;
  for (long jp = 0; jp < panels; jp++) {
    const float* B = Bp + jp * K * NR;
    const int ncols = (int)lmin(NR, s.co - jp * NR);
    for (int ch = 0; ch < nchunks; ch++) {
      const DepthSeg* seg = segs + chunkStart[ch];
      const int nseg = chunkStart[ch + 1] - chunkStart[ch];
      const bool acc = ch > 0;
      for (long r = r0; r < r1; r++) {
        const long n = r / s.oh, oy = r % s.oh;
        const float* base = xp.data + ((n * xp.h + oy * s.sh) * xp.w) * s.ci;
        float* crow = out + r * s.ow * s.co + jp * NR;
        long ox = 0;
        for (; ox + MR <= s.ow; ox += MR) ukernel_segs<MR, NV>(seg, nseg, base + ox * ars, ars, B, crow + ox * s.co, s.co, ncols, acc);
        if (ox < s.ow) tile_rem<NV, MR - 1>((int)(s.ow - ox), seg, nseg, base + ox * ars, ars, B, crow + ox * s.co, s.co, ncols, acc);
      }
    }
  }
}

int direct_segments(const ConvShape& s, const PaddedInput& xp, DepthSeg* segs, int* chunkStart) {
  const long KC = 256;
  int n = 0, nchunks = 0;
  long depth = KC;  // forces a new chunk at the first segment
  for (long kh = 0; kh < s.fh; kh++)
    for (long kw = 0; kw < s.fw; kw++) {
      const long tap = kh * s.fw + kw, aoff = (kh * s.dh * xp.w + kw * s.dw) * s.ci;
      for (long c0 = 0; c0 < s.ci; c0 += KC) {
        const long len = lmin(KC, s.ci - c0);
        if (depth + len > KC) {
          chunkStart[nchunks++] = n;
          depth = 0;
        }
        segs[n++] = DepthSeg{aoff + c0, tap * s.ci + c0, len};
        depth += len;
      }
    }
  chunkStart[nchunks] = n;
  return nchunks;
}

static void apply_epilogue(const Epilogue& ep, float* out, long q0, long q1, long co) {
  if (!ep.scale && !ep.bias && !ep.relu) return;
  for (long q = q0; q < q1; q++) {
    float* o = out + q * co;
    if (ep.scale)
      for (long j = 0; j < co; j++) o[j] *= ep.scale[j];
    if (ep.bias)
      for (long j = 0; j < co; j++) o[j] += ep.bias[j];
    if (ep.relu)
      for (long j = 0; j < co; j++) o[j] = o[j] > 0.f ? o[j] : 0.f;
  }
}

void conv_direct_rows(const ConvShape& s, const PaddedInput& xp, const DepthSeg* segs, const int* chunkStart, int nchunks,
                      const float* Bp, const Epilogue& ep, float* out, long r0, long r1) {
  if (nv_for(s.co) == 1)
    direct_rows<12, 1>(s, xp, segs, chunkStart, nchunks, Bp, out, r0, r1);
  else
    direct_rows<6, 2>(s, xp, segs, chunkStart, nchunks, Bp, out, r0, r1);
  apply_epilogue(ep, out, r0 * s.ow, r1 * s.ow, s.co);
}

void conv_forward_rows(const ConvShape& s, const float* x, const float* Bp, const Epilogue& ep, float* out, long m0,
                       long m1, float* scratch) {
  const long K = (long)s.fh * s.fw * s.ci, rows = m1 - m0;
  const int nv = nv_for(s.co);
  if (isPointwise(s)) {
    gemm(nv, rows, s.co, K, x + m0 * s.ci, s.ci, 1, Bp, out + m0 * s.co, s.co, false);
  } else {
    im2col(s, x, m0, m1, scratch);
    gemm(nv, rows, s.co, K, scratch, K, 1, Bp, out + m0 * s.co, s.co, false);
  }
  apply_epilogue(ep, out, m0, m1, s.co);
}

// dw[K x CO] += im2col(x)[rows]^T * dy[rows]; bscratch holds the packed dy rows, scratch the im2col rows.
void conv_filter_rows(const ConvShape& s, const float* x, const float* dy, float* dw, long m0, long m1, float* scratch,
                      float* bscratch) {
  const long K = (long)s.fh * s.fw * s.ci, rows = m1 - m0;
  pack_b(dy + m0 * s.co, s.co, 1, rows, s.co, bscratch);
  const int nv = nv_for(s.co);
  if (isPointwise(s)) {
    gemm(nv, K, s.co, rows, x + m0 * s.ci, 1, s.ci, bscratch, dw, s.co, true);
  } else {
    im2col(s, x, m0, m1, scratch);
    gemm(nv, K, s.co, rows, scratch, 1, K, bscratch, dw, s.co, true);
  }
}

// dx rows: direct (1x1, stride 1, no padding) convolutions only: dx[rows] = dy[rows] * W^T
void conv_input_direct_rows(const ConvShape& s, const float* dy, const float* WTp, float* dx, long m0, long m1) {
  gemm(nv_for(s.ci), m1 - m0, s.ci, s.co, dy + m0 * s.co, s.co, 1, WTp, dx + m0 * s.ci, s.ci, false);
}

// dx of images [n0, n1) (zeroed here): col = dy * W^T block by block, scattered back (col2im).
void conv_input_images(const ConvShape& s, const float* dy, const float* WTp, float* dx, long n0, long n1, long block,
                       float* scratch) {
  const long K = (long)s.fh * s.fw * s.ci, hw = (long)s.oh * s.ow;
  const int nv = nv_for(K);
  __builtin_memset(dx + n0 * s.h * s.w * s.ci, 0, (size_t)(n1 - n0) * s.h * s.w * s.ci * sizeof(float));
  for (long m0 = n0 * hw; m0 < n1 * hw; m0 += block) {
    const long m1 = lmin(m0 + block, n1 * hw);
    gemm(nv, m1 - m0, K, s.co, dy + m0 * s.co, s.co, 1, WTp, scratch, K, false);
    walk_rows(
        s, m0, m1, [&](long c, long xi, long len) { add_run(dx + xi, scratch + c, len); }, [](long, long) {});
  }
}

// ---------------------------------------------------------------- BatchNorm channel loops (x viewed as [rows, c])
// sums: s[k] += x - center, t[k] += (x - center)^2; with o: s[k] += o, t[k] += o * (x - center). Blocks of up to 32 rows
// are summed in float (vectorised, no conversions per element), each block's sums added to the float64 totals.
void bn_sums(const float* x, const float* o, const float* center, long r0, long r1, long c, double* s, double* t) {
  constexpr long KB = 512, RB = 32;
  float fs[KB], ft[KB];
  for (long k0 = 0; k0 < c; k0 += KB) {
    const long kc = lmin(KB, c - k0);
    const float* cen = center + k0;
    for (long i0 = r0; i0 < r1; i0 += RB) {
      const long i1 = lmin(r1, i0 + RB);
      for (long k = 0; k < kc; k++) fs[k] = ft[k] = 0.f;
      for (long i = i0; i < i1; i++) {
        const float* xr = x + i * c + k0;
        if (o) {
          const float* orow = o + i * c + k0;
          for (long k = 0; k < kc; k++) {
            const float d = xr[k] - cen[k], ov = orow[k];
            fs[k] += ov;
            ft[k] += ov * d;
          }
        } else {
          for (long k = 0; k < kc; k++) {
            const float d = xr[k] - cen[k];
            fs[k] += d;
            ft[k] += d * d;
          }
        }
      }
      for (long k = 0; k < kc; k++) {
        s[k0 + k] += fs[k];
        t[k0 + k] += ft[k];
      }
    }
  }
}

// out = x * a + b per channel, plus y * g when y is given
void bn_affine(float* out, const float* x, const float* a, const float* b, const float* y, const float* g, long r0, long r1,
               long c) {
  for (long i = r0; i < r1; i++) {
    float* orow = out + i * c;
    const float* xr = x + i * c;
    if (y) {
      const float* yr = y + i * c;
      for (long k = 0; k < c; k++) orow[k] = yr[k] * g[k] + xr[k] * a[k] + b[k];
    } else {
      for (long k = 0; k < c; k++) orow[k] = xr[k] * a[k] + b[k];
    }
  }
}

// out[i] = x[i] > 0 ? dy[i] : 0 for i in [i0, i1): branch-free (signs are random: a branch mispredicts half the time)
void relu_grad(const float* dy, const float* x, float* out, long i0, long i1) {
  typedef int vi __attribute__((vector_size(VW * 4)));
  const vf zero = (vf){};
  long i = i0;
  for (; i + VW <= i1; i += VW) {
    vf xv, dv;
    __builtin_memcpy(&xv, x + i, sizeof(vf));
    __builtin_memcpy(&dv, dy + i, sizeof(vf));
    const vi keep = xv > zero;
    const vf r = (vf)((vi)dv & keep);
    __builtin_memcpy(out + i, &r, sizeof(vf));
  }
  for (; i < i1; i++) out[i] = x[i] > 0.f ? dy[i] : 0.f;
}

// out = a + b, out = max(x, 0) over [i0, i1)
void add_range(const float* a, const float* b, float* out, long i0, long i1) {
  long i = i0;
  for (; i + VW <= i1; i += VW) {
    vf u, v;
    __builtin_memcpy(&u, a + i, sizeof(vf));
    __builtin_memcpy(&v, b + i, sizeof(vf));
    u += v;
    __builtin_memcpy(out + i, &u, sizeof(vf));
  }
  for (; i < i1; i++) out[i] = a[i] + b[i];
}

void relu_range(const float* x, float* out, long i0, long i1) {
  typedef int vi __attribute__((vector_size(VW * 4)));
  const vf zero = (vf){};
  long i = i0;
  for (; i + VW <= i1; i += VW) {
    vf u;
    __builtin_memcpy(&u, x + i, sizeof(vf));
    const vi keep = u > zero;
    const vf r = (vf)((vi)u & keep);
    __builtin_memcpy(out + i, &r, sizeof(vf));
  }
  for (; i < i1; i++) out[i] = x[i] > 0.f ? x[i] : 0.f;
}

// copies contiguous runs of `len` floats (Slice / PadV2 regions)
void copy_floats(float* dst, const float* src, long len) { copy_run(dst, src, len); }

// ---------------------------------------------------------------- depthwise convolution (channel multiplier 1)
// x [N,H,W,C], w [fh,fw,C,1], out [N,OH,OW,C]; every kernel is vectorised over channels (VW at a time, a scalar
// tail for C % VW). Per pixel the taps that fall inside the image are listed once (offsets into the two operands),
// then each channel block sums over them in a register.

// acc over `nt` taps of (a[ao[t] + c], b[bo[t] + c]) for channels [c0, C), stored to dst[c]
static inline void dw_taps_store(const long* ao, const long* bo, int nt, const float* a, const float* b, float* dst, long C) {
  long c = 0;
  for (; c + 2 * VW <= C; c += 2 * VW) {
    vf acc0 = (vf){}, acc1 = (vf){};
    for (int t = 0; t < nt; t++) {
      vf x0, x1, w0, w1;
      __builtin_memcpy(&x0, a + ao[t] + c, sizeof(vf));
      __builtin_memcpy(&x1, a + ao[t] + c + VW, sizeof(vf));
      __builtin_memcpy(&w0, b + bo[t] + c, sizeof(vf));
      __builtin_memcpy(&w1, b + bo[t] + c + VW, sizeof(vf));
      acc0 += x0 * w0;
      acc1 += x1 * w1;
    }
    __builtin_memcpy(dst + c, &acc0, sizeof(vf));
    __builtin_memcpy(dst + c + VW, &acc1, sizeof(vf));
  }
  for (; c + VW <= C; c += VW) {
    vf acc = (vf){};
    for (int t = 0; t < nt; t++) {
      vf xv, wv;
      __builtin_memcpy(&xv, a + ao[t] + c, sizeof(vf));
      __builtin_memcpy(&wv, b + bo[t] + c, sizeof(vf));
      acc += xv * wv;
    }
    __builtin_memcpy(dst + c, &acc, sizeof(vf));
  }
  for (; c < C; c++) {
    float acc = 0.f;
    for (int t = 0; t < nt; t++) acc += a[ao[t] + c] * b[bo[t] + c];
    dst[c] = acc;
  }
}

// rows [r0, r1) of the output, a row being (n, oy). Pixels whose taps all lie inside the row's valid filter rows use
// one offset list for the whole row (relative to the pixel's first tap); border pixels list their own taps.
void dw_forward_rows(const ConvShape& s, const float* x, const float* w, float* out, long r0, long r1) {
  const long C = s.ci;
  long xo[64], wo[64], rel[64], relw[64];
  // interior pixels: ix of every tap inside [0, w)
  const long ox_lo = lmin(s.ow, (s.pl + s.sw - 1) / s.sw);
  const long last = s.w - 1 + s.pl - (s.fw - 1) * s.dw;  // ox*sw <= last
  const long ox_hi = last < 0 ? 0 : lmin(s.ow, last / s.sw + 1);
  for (long r = r0; r < r1; r++) {
    const long n = r / s.oh, oy = r % s.oh;
    int nr = 0;
    for (long kh = 0; kh < s.fh; kh++) {
      const long iy = oy * s.sh - s.pt + kh * s.dh;
      if (iy < 0 || iy >= s.h) continue;
      for (long kw = 0; kw < s.fw; kw++) {
        rel[nr] = ((n * s.h + iy) * s.w + kw * s.dw) * C;
        relw[nr++] = (kh * s.fw + kw) * C;
      }
    }
    for (long ox = 0; ox < s.ow; ox++) {
      float* dst = out + (r * s.ow + ox) * C;
      if (ox >= ox_lo && ox < ox_hi) {
        dw_taps_store(rel, relw, nr, x + (ox * s.sw - s.pl) * C, w, dst, C);
        continue;
      }
      int nt = 0;
      for (long kh = 0; kh < s.fh; kh++) {
        const long iy = oy * s.sh - s.pt + kh * s.dh;
        if (iy < 0 || iy >= s.h) continue;
        for (long kw = 0; kw < s.fw; kw++) {
          const long ix = ox * s.sw - s.pl + kw * s.dw;
          if (ix < 0 || ix >= s.w) continue;
          xo[nt] = ((n * s.h + iy) * s.w + ix) * C;
          wo[nt++] = (kh * s.fw + kw) * C;
        }
      }
      dw_taps_store(xo, wo, nt, x, w, dst, C);
    }
  }
}

// rows [r0, r1) of dx, a row being (n, iy): dx[iy, ix] = sum of dy[oy, ox] * w[kh, kw] over the taps that read it.
// Interior pixels (every tap that matches the stride phase lands inside dy) share one offset list per phase
// (ix + pl) % sw (strides <= 4); border pixels list their own taps.
void dw_input_rows(const ConvShape& s, const float* dy, const float* w, float* dx, long r0, long r1) {
  const long C = s.ci;
  long yo[64], wo[64], rel[4][64], relw[4][64];
  int nrel[4];
  const bool fast = s.sw <= 4;
  const long ix_lo = lmax(0, (s.fw - 1) * s.dw - s.pl), ix_hi = lmin(s.w, s.ow * s.sw - s.pl);  // interior ix range
  for (long r = r0; r < r1; r++) {
    const long n = r / s.h, iy = r % s.h;
    if (fast) {
      for (long q = 0; q < s.sw; q++) {
        int nr = 0;
        for (long kh = 0; kh < s.fh; kh++) {
          const long ty = iy + s.pt - kh * s.dh;
          if (ty < 0 || ty % s.sh) continue;
          const long oy = ty / s.sh;
          if (oy >= s.oh) continue;
          for (long kw = 0; kw < s.fw; kw++) {
            const long d = q - kw * s.dw;
            if (d % s.sw) continue;
            rel[q][nr] = ((n * s.oh + oy) * s.ow + d / s.sw) * C;
            relw[q][nr++] = (kh * s.fw + kw) * C;
          }
        }
        nrel[q] = nr;
      }
    }
    for (long ix = 0; ix < s.w; ix++) {
      float* dst = dx + (r * s.w + ix) * C;
      if (fast && ix >= ix_lo && ix < ix_hi) {
        const long q = (ix + s.pl) % s.sw;
        dw_taps_store(rel[q], relw[q], nrel[q], dy + ((ix + s.pl - q) / s.sw) * C, w, dst, C);
        continue;
      }
      int nt = 0;
      for (long kh = 0; kh < s.fh; kh++) {
        const long ty = iy + s.pt - kh * s.dh;
        if (ty < 0 || ty % s.sh) continue;
        const long oy = ty / s.sh;
        if (oy >= s.oh) continue;
        for (long kw = 0; kw < s.fw; kw++) {
          const long tx = ix + s.pl - kw * s.dw;
          if (tx < 0 || tx % s.sw) continue;
          const long ox = tx / s.sw;
          if (ox >= s.ow) continue;
          yo[nt] = ((n * s.oh + oy) * s.ow + ox) * C;
          wo[nt++] = (kh * s.fw + kw) * C;
        }
      }
      dw_taps_store(yo, wo, nt, dy, w, dst, C);
    }
  }
}

// dw[kh, kw, c] += sum over output rows [r0, r1) (row = (n, oy)) and ox of x[iy, ix, c] * dy[oy, ox, c]
void dw_filter_rows(const ConvShape& s, const float* x, const float* dy, float* dw, long r0, long r1) {
  const long C = s.ci;
  for (long r = r0; r < r1; r++) {
    const long n = r / s.oh, oy = r % s.oh;
    const float* dyr = dy + r * s.ow * C;
    for (long kh = 0; kh < s.fh; kh++) {
      const long iy = oy * s.sh - s.pt + kh * s.dh;
      if (iy < 0 || iy >= s.h) continue;
      const float* xr = x + (n * s.h + iy) * s.w * C;
      for (long kw = 0; kw < s.fw; kw++) {
        // ox such that 0 <= ox*sw - pl + kw*dw < w
        const long off = kw * s.dw - s.pl;
        const long ox0 = off >= 0 ? 0 : (-off + s.sw - 1) / s.sw;
        const long ox1 = lmin(s.ow, s.w - 1 - off < 0 ? 0 : (s.w - 1 - off) / s.sw + 1);
        if (ox0 >= ox1) continue;
        float* d = dw + (kh * s.fw + kw) * C;
        const long xs = s.sw * C;
        long c = 0;
        for (; c + 2 * VW <= C; c += 2 * VW) {
          vf a0 = (vf){}, a1 = (vf){};
          const float* xp = xr + (ox0 * s.sw + off) * C + c;
          const float* yp = dyr + ox0 * C + c;
          for (long ox = ox0; ox < ox1; ox++, xp += xs, yp += C) {
            vf x0, x1, y0, y1;
            __builtin_memcpy(&x0, xp, sizeof(vf));
            __builtin_memcpy(&x1, xp + VW, sizeof(vf));
            __builtin_memcpy(&y0, yp, sizeof(vf));
            __builtin_memcpy(&y1, yp + VW, sizeof(vf));
            a0 += x0 * y0;
            a1 += x1 * y1;
          }
          vf o0, o1;
          __builtin_memcpy(&o0, d + c, sizeof(vf));
          __builtin_memcpy(&o1, d + c + VW, sizeof(vf));
          o0 += a0;
          o1 += a1;
          __builtin_memcpy(d + c, &o0, sizeof(vf));
          __builtin_memcpy(d + c + VW, &o1, sizeof(vf));
        }
        for (; c + VW <= C; c += VW) {
          vf a0 = (vf){};
          const float* xp = xr + (ox0 * s.sw + off) * C + c;
          const float* yp = dyr + ox0 * C + c;
          for (long ox = ox0; ox < ox1; ox++, xp += xs, yp += C) {
            vf x0, y0;
            __builtin_memcpy(&x0, xp, sizeof(vf));
            __builtin_memcpy(&y0, yp, sizeof(vf));
            a0 += x0 * y0;
          }
          vf o0;
          __builtin_memcpy(&o0, d + c, sizeof(vf));
          o0 += a0;
          __builtin_memcpy(d + c, &o0, sizeof(vf));
        }
        for (; c < C; c++) {
          float a0 = 0.f;
          for (long ox = ox0; ox < ox1; ox++) a0 += xr[(ox * s.sw + off) * C + c] * dyr[ox * C + c];
          d[c] += a0;
        }
      }
    }
  }
}

// out = min(max(x, 0), 6); the gradient: dy where 0 < x <= 6 (tfjs-core's step(x) * (x <= 6)), else 0
void relu6_range(const float* x, float* out, long i0, long i1) {
  const vf zero = (vf){}, six = zero + 6.f;
  long i = i0;
  for (; i + VW <= i1; i += VW) {
    vf u;
    __builtin_memcpy(&u, x + i, sizeof(vf));
    u = u > zero ? u : zero;
    u = u < six ? u : six;
    __builtin_memcpy(out + i, &u, sizeof(vf));
  }
  for (; i < i1; i++) out[i] = x[i] > 0.f ? (x[i] < 6.f ? x[i] : 6.f) : 0.f;
}

void relu6_grad(const float* dy, const float* x, float* out, long i0, long i1) {
  typedef int vi __attribute__((vector_size(VW * 4)));
  const vf zero = (vf){}, six = zero + 6.f;
  long i = i0;
  for (; i + VW <= i1; i += VW) {
    vf xv, dv;
    __builtin_memcpy(&xv, x + i, sizeof(vf));
    __builtin_memcpy(&dv, dy + i, sizeof(vf));
    const vi keep = (xv > zero) & (xv <= six);
    const vf r = (vf)((vi)dv & keep);
    __builtin_memcpy(out + i, &r, sizeof(vf));
  }
  for (; i < i1; i++) out[i] = x[i] > 0.f && x[i] <= 6.f ? dy[i] : 0.f;
}
