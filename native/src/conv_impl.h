// Convolution kernels for one instruction set: included once per ISA (conv_generic.cc, conv_avx2.cc,
// conv_avx512.cc) inside its own namespace, with VW (floats per SIMD vector) defined. No standard-library
// code is used here: everything compiled under a target pragma stays internal to its namespace (an inline
// std:: function instantiated with AVX-512 code could otherwise be picked by the linker for every caller).
// Over 400 lines on purpose: every kernel must live inside that per-ISA namespace discipline, so they share one
// header rather than several each included three times.
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
// bps: floats from one packed panel to the next (k * NR when Bp holds exactly these k rows; more when the GEMM's depth
// is a stretch of a taller packed matrix, Bp then pointing at the stretch's first row of panel 0)
template <int MR, int NV>
static void gemm_t(long m, long n, long k, const float* A, long ars, long acs, const float* Bp, float* C, long ldc,
                   bool acc, long bps) {
  constexpr int NR = NV * VW;
  constexpr long KC = 256;
  const long panels = (n + NR - 1) / NR;
  if (bps < 0) bps = k * NR;
  for (long kk = 0; kk < k; kk += KC) {
    const long kc = lmin(KC, k - kk);
    const bool a2 = acc || kk > 0;
    for (long jp = 0; jp < panels; jp++) {
      const float* B = Bp + jp * bps + kk * NR;
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
                 bool acc, long bps = -1) {
  if (nv == 1)
    gemm_t<12, 1>(m, n, k, A, ars, acs, Bp, C, ldc, acc, bps);
  else
    gemm_t<6, 2>(m, n, k, A, ars, acs, Bp, C, ldc, acc, bps);
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
  if (!ep.scale && !ep.bias && !ep.relu && !ep.residual) return;
  for (long q = q0; q < q1; q++) {
    float* o = out + q * co;
    if (ep.scale)
      for (long j = 0; j < co; j++) o[j] *= ep.scale[j];
    if (ep.bias)
      for (long j = 0; j < co; j++) o[j] += ep.bias[j];
    if (ep.residual) {
      const float* r = ep.residual + q * co;
      for (long j = 0; j < co; j++) o[j] += r[j];
    }
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

// ---------------------------------------------------------------- Winograd F(2x2, 3x3)
// A 3x3, stride-1 convolution in 2x2 output tiles: V = B^T d B for each 4x4 input patch d (per channel), U = G g G^T
// for each 3x3 filter g (per channel pair), 16 GEMMs M[xi] = V[xi] (tiles x ci) * U[xi] (ci x co), then Y = A^T M A:
// 16 multiplies per 2x2 outputs and channel pair instead of 36 (2.25x fewer), plus transforms that are passes over the
// tiles' data. Tiles are taken in blocks of T (a task): V and M of a block stay in cache between the three steps.
template <class V>
static inline V ldv(const float* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof(V));
  return v;
}
template <class V>
static inline void stv(float* p, V v) {
  __builtin_memcpy(p, &v, sizeof(V));
}

size_t wino_filter_size(long ci, long co) { return 16 * packed_size(ci, co); }

// Up: the 16 transformed filters, each [ci x co] packed as pack_b does; tmp holds 16 * ci * co floats
void wino_filter(const float* w, long ci, long co, float* Up, float* tmp) {
  for (long c = 0; c < ci; c++)
    for (long o = 0; o < co; o++) {
      float g[3][3], t[4][3];
      for (int kh = 0; kh < 3; kh++)
        for (int kw = 0; kw < 3; kw++) g[kh][kw] = w[((kh * 3 + kw) * ci + c) * co + o];
      for (int j = 0; j < 3; j++) {
        t[0][j] = g[0][j];
        t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
        t[3][j] = g[2][j];
      }
      for (int i = 0; i < 4; i++) {
        const float u[4] = {t[i][0], 0.5f * (t[i][0] + t[i][1] + t[i][2]), 0.5f * (t[i][0] - t[i][1] + t[i][2]), t[i][2]};
        for (int j = 0; j < 4; j++) tmp[((i * 4 + j) * ci + c) * co + o] = u[j];
      }
    }
  const size_t ps = packed_size(ci, co);
  for (int xi = 0; xi < 16; xi++) pack_b(tmp + (size_t)xi * ci * co, co, 1, ci, co, Up + xi * ps);
}

// input transform of one tile for channels [c, c + width of V): d[i][j] = p[i][j][c] (nullptr = zero padding)
template <class V>
static inline void wino_in(const float* const (&p)[4][4], long c, float* dst, long xs) {
  V d[4][4], t[4][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) d[i][j] = p[i][j] ? ldv<V>(p[i][j] + c) : V{};
  for (int j = 0; j < 4; j++) {
    t[0][j] = d[0][j] - d[2][j];
    t[1][j] = d[1][j] + d[2][j];
    t[2][j] = d[2][j] - d[1][j];
    t[3][j] = d[1][j] - d[3][j];
  }
  for (int i = 0; i < 4; i++) {
    stv<V>(dst + (i * 4 + 0) * xs + c, t[i][0] - t[i][2]);
    stv<V>(dst + (i * 4 + 1) * xs + c, t[i][1] + t[i][2]);
    stv<V>(dst + (i * 4 + 2) * xs + c, t[i][2] - t[i][1]);
    stv<V>(dst + (i * 4 + 3) * xs + c, t[i][1] - t[i][3]);
  }
}

// output transform of one tile for channels [c, c + width of V), with the epilogue; q[i][j] = output pixel or nullptr,
// rq[i][j] its residual (when the epilogue has one)
template <class V>
static inline void wino_out(const float* src, long xs, long c, const Epilogue& ep, float* const (&q)[2][2],
                            const float* const (&rq)[2][2]) {
  V m[4][4], t[2][4];
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) m[i][j] = ldv<V>(src + (i * 4 + j) * xs + c);
  for (int j = 0; j < 4; j++) {
    t[0][j] = m[0][j] + m[1][j] + m[2][j];
    t[1][j] = m[1][j] - m[2][j] - m[3][j];
  }
  for (int i = 0; i < 2; i++) {
    V y[2] = {t[i][0] + t[i][1] + t[i][2], t[i][1] - t[i][2] - t[i][3]};
    for (int j = 0; j < 2; j++) {
      if (!q[i][j]) continue;
      V v = y[j];
      if (ep.scale) v = v * ldv<V>(ep.scale + c);
      if (ep.bias) v = v + ldv<V>(ep.bias + c);
      if (ep.residual) v = v + ldv<V>(rq[i][j] + c);
      if (ep.relu) {
        const V z = V{};
        v = v > z ? v : z;
      }
      stv<V>(q[i][j] + c, v);
    }
  }
}

// tiles [t0, t1) (row-major over n, tile row, tile column; T = t1 - t0): V and M scratch of 16 * T * ci and 16 * T * co
void wino_tiles(const ConvShape& s, const float* x, const float* Up, const Epilogue& ep, float* out, long t0, long t1,
                float* Vb, float* Mb) {
  const long th = (s.oh + 1) / 2, tw = (s.ow + 1) / 2, T = t1 - t0, ci = s.ci, co = s.co;
  const long vs = T * ci, ms = T * co;  // stride between the 16 planes
  for (long t = t0; t < t1; t++) {
    const long n = t / (th * tw), r = t % (th * tw), ty = r / tw, tx = r % tw;
    const long iy0 = 2 * ty - s.pt, ix0 = 2 * tx - s.pl;
    const float* p[4][4];
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) {
        const long iy = iy0 + i, ix = ix0 + j;
        p[i][j] = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w ? x + ((n * s.h + iy) * s.w + ix) * ci : nullptr;
      }
    float* dst = Vb + (t - t0) * ci;
    long c = 0;
    for (; c + VW <= ci; c += VW) wino_in<vf>(p, c, dst, vs);
    for (; c < ci; c++) wino_in<float>(p, c, dst, vs);
  }
  const int nv = nv_for(co);
  const size_t ps = packed_size(ci, co);
  for (int xi = 0; xi < 16; xi++) gemm(nv, T, co, ci, Vb + xi * vs, ci, 1, Up + xi * ps, Mb + xi * ms, co, false);
  for (long t = t0; t < t1; t++) {
    const long n = t / (th * tw), r = t % (th * tw), ty = r / tw, tx = r % tw;
    float* q[2][2];
    const float* rq[2][2];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) {
        const long oy = 2 * ty + i, ox = 2 * tx + j, off = ((n * s.oh + oy) * s.ow + ox) * co;
        const bool in = oy < s.oh && ox < s.ow;
        q[i][j] = in ? out + off : nullptr;
        rq[i][j] = in && ep.residual ? ep.residual + off : nullptr;
      }
    const float* src = Mb + (t - t0) * co;
    long c = 0;
    for (; c + VW <= co; c += VW) wino_out<vf>(src, ms, c, ep, q, rq);
    for (; c < co; c++) wino_out<float>(src, ms, c, ep, q, rq);
  }
}

// The filter gradient the same way: dU[xi] (ci x co) += V[xi]^T (ci x T) * dM[xi] (T x co) with dM = A dY A^T the 2x2
// output-gradient tile brought to 4x4, then (wino_filter_grad_out) dW = G^T dU G. dU accumulates over blocks of tiles
// (acc: its caller's partial sums); Vb: 16 * T * ci floats, Mb: 16 * T * co, Mp: 16 * packed_size(T, co).
template <class V>
static inline void wino_dy(const float* const (&p)[2][2], long c, float* dst, long xs) {
  V g[2][2], t[4][2];
  for (int i = 0; i < 2; i++)
    for (int j = 0; j < 2; j++) g[i][j] = p[i][j] ? ldv<V>(p[i][j] + c) : V{};
  for (int b = 0; b < 2; b++) {
    t[0][b] = g[0][b];
    t[1][b] = g[0][b] + g[1][b];
    t[2][b] = g[0][b] - g[1][b];
    t[3][b] = V{} - g[1][b];
  }
  for (int i = 0; i < 4; i++) {
    stv<V>(dst + (i * 4 + 0) * xs + c, t[i][0]);
    stv<V>(dst + (i * 4 + 1) * xs + c, t[i][0] + t[i][1]);
    stv<V>(dst + (i * 4 + 2) * xs + c, t[i][0] - t[i][1]);
    stv<V>(dst + (i * 4 + 3) * xs + c, V{} - t[i][1]);
  }
}

void wino_filter_grad_tiles(const ConvShape& s, const float* x, const float* dy, float* dU, long t0, long t1, float* Vb,
                            float* Mb, float* Mp) {
  const long th = (s.oh + 1) / 2, tw = (s.ow + 1) / 2, T = t1 - t0, ci = s.ci, co = s.co;
  const long vs = T * ci, ms = T * co;
  for (long t = t0; t < t1; t++) {
    const long n = t / (th * tw), r = t % (th * tw), ty = r / tw, tx = r % tw;
    const long iy0 = 2 * ty - s.pt, ix0 = 2 * tx - s.pl;
    const float* p[4][4];
    for (int i = 0; i < 4; i++)
      for (int j = 0; j < 4; j++) {
        const long iy = iy0 + i, ix = ix0 + j;
        p[i][j] = iy >= 0 && iy < s.h && ix >= 0 && ix < s.w ? x + ((n * s.h + iy) * s.w + ix) * ci : nullptr;
      }
    float* dst = Vb + (t - t0) * ci;
    long c = 0;
    for (; c + VW <= ci; c += VW) wino_in<vf>(p, c, dst, vs);
    for (; c < ci; c++) wino_in<float>(p, c, dst, vs);
    const float* q[2][2];
    for (int i = 0; i < 2; i++)
      for (int j = 0; j < 2; j++) {
        const long oy = 2 * ty + i, ox = 2 * tx + j;
        q[i][j] = oy < s.oh && ox < s.ow ? dy + ((n * s.oh + oy) * s.ow + ox) * co : nullptr;
      }
    float* md = Mb + (t - t0) * co;
    c = 0;
    for (; c + VW <= co; c += VW) wino_dy<vf>(q, c, md, ms);
    for (; c < co; c++) wino_dy<float>(q, c, md, ms);
  }
  const int nv = nv_for(co);
  const size_t pt = packed_size(T, co);
  for (int xi = 0; xi < 16; xi++) {
    pack_b(Mb + xi * ms, co, 1, T, co, Mp + xi * pt);
    gemm(nv, ci, co, T, Vb + xi * vs, 1, ci, Mp + xi * pt, dU + (size_t)xi * ci * co, co, true);
  }
}

// dW (HWIO [3, 3, ci, co]) = G^T dU G per channel pair, dU [16][ci][co]
void wino_filter_grad_out(const float* dU, long ci, long co, float* dw) {
  const size_t plane = (size_t)ci * co;
  for (size_t k = 0; k < plane; k++) {
    float u[4][4], r[3][4];
    for (int xi = 0; xi < 16; xi++) u[xi / 4][xi % 4] = dU[xi * plane + k];
    for (int j = 0; j < 4; j++) {
      r[0][j] = u[0][j] + 0.5f * (u[1][j] + u[2][j]);
      r[1][j] = 0.5f * (u[1][j] - u[2][j]);
      r[2][j] = 0.5f * (u[1][j] + u[2][j]) + u[3][j];
    }
    for (int a = 0; a < 3; a++) {
      dw[(a * 3 + 0) * plane + k] = r[a][0] + 0.5f * (r[a][1] + r[a][2]);
      dw[(a * 3 + 1) * plane + k] = 0.5f * (r[a][1] - r[a][2]);
      dw[(a * 3 + 2) * plane + k] = 0.5f * (r[a][1] + r[a][2]) + r[a][3];
    }
  }
}

// ---------------------------------------------------------------- filter gradient by columns of dW
// rows [p0, p1) of src (k x n, row stride rs) into pack_b's layout of all k rows (panels of panel_width(n) columns)
void pack_b_rows(const float* src, long rs, long k, long n, long p0, long p1, float* dst) {
  const long nr = panel_width(n), panels = (n + nr - 1) / nr;
  for (long jp = 0; jp < panels; jp++) {
    float* d = dst + jp * k * nr;
    const long c0 = jp * nr, nc = lmin(nr, n - c0);
    for (long p = p0; p < p1; p++) {
      copy_run(d + p * nr, src + p * rs + c0, nc);
      for (long j = nc; j < nr; j++) d[p * nr + j] = 0.f;
    }
  }
}

// dW rows [k0, k1) -- one filter tap, input channels c0 .. c0 + (k1 - k0) -- for every output channel, summed over all
// M = N*OH*OW rows: dW[k][co] = sum_m x[pixel(m, tap)][c] * dy[m][co]. Those im2col columns are gathered KCF rows of depth
// at a time into scratch (kc x cb, row-major: contiguous channel runs of x); Bp is dy packed over all M rows. Every dW
// row belongs to one call and is summed in row order: no partial sums to add up, deterministic for any thread count.
// Where dW is large and M small (deep, narrow-image layers) this reads and writes dW once per KCF rows instead of once
// per im2col block of blockRows(K) rows (12 rows at K = 4608).
void conv_filter_cols(const ConvShape& s, const float* x, const float* Bp, float* dw, long k0, long k1, float* scratch) {
  constexpr long KCF = 256;
  const long M = s.n * s.oh * s.ow, hw = s.oh * s.ow, cb = k1 - k0;
  const long tap = k0 / s.ci, c0 = k0 % s.ci, kh = tap / s.fw, kw = tap % s.fw;
  const int nv = nv_for(s.co);
  const long nr = (long)nv * VW;
  for (long m0 = 0; m0 < M; m0 += KCF) {
    const long kc = lmin(KCF, M - m0);
    long n = m0 / hw, oy = (m0 % hw) / s.ow, ox = m0 % s.ow;
    for (long p = 0; p < kc; p++) {
      float* d = scratch + p * cb;
      const long iy = oy * s.sh + kh * s.dh - s.pt, ix = ox * s.sw + kw * s.dw - s.pl;
      if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) {
        for (long j = 0; j < cb; j++) d[j] = 0.f;
      } else {
        copy_run(d, x + ((n * s.h + iy) * s.w + ix) * s.ci + c0, cb);
      }
      if (++ox == s.ow) {
        ox = 0;
        if (++oy == s.oh) {
          oy = 0;
          n++;
        }
      }
    }
    gemm(nv, cb, s.co, kc, scratch, 1, cb, Bp + m0 * nr, dw + k0 * s.co, s.co, m0 > 0, M * nr);
  }
}

// ---------------------------------------------------------------- max pooling's gradient
// images [n0, n1) of dx (zeroed here): each dy goes to the first maximum of its window (strictly greater, row-major over
// the taps inside the image), the position tfjs's cpu backend picks; a window with nothing above -inf passes nothing.
void maxpool_grad_images(const ConvShape& s, const float* x, const float* dy, float* dx, long n0, long n1) {
  typedef int vi __attribute__((vector_size(VW * 4)));
  const long C = s.ci;
  long off[64];
  __builtin_memset(dx + n0 * s.h * s.w * C, 0, (size_t)(n1 - n0) * s.h * s.w * C * sizeof(float));
  for (long n = n0; n < n1; n++)
    for (long oy = 0; oy < s.oh; oy++)
      for (long ox = 0; ox < s.ow; ox++) {
        int nt = 0;
        for (long kh = 0; kh < s.fh; kh++) {
          const long iy = oy * s.sh - s.pt + kh * s.dh;
          if (iy < 0 || iy >= s.h) continue;
          for (long kw = 0; kw < s.fw; kw++) {
            const long ix = ox * s.sw - s.pl + kw * s.dw;
            if (ix < 0 || ix >= s.w) continue;
            off[nt++] = ((n * s.h + iy) * s.w + ix) * C;
          }
        }
        const float* g = dy + ((n * s.oh + oy) * s.ow + ox) * C;
        long c = 0;
        for (; c + VW <= C; c += VW) {
          vf best = (vf){} - __builtin_inff();
          vi idx = (vi){} - 1;
          for (int t = 0; t < nt; t++) {
            vf v;
            __builtin_memcpy(&v, x + off[t] + c, sizeof(vf));
            const vi gt = v > best;
            best = gt ? v : best;
            idx = gt ? (vi){} + t : idx;
          }
          for (int j = 0; j < VW; j++)
            if (idx[j] >= 0) dx[off[idx[j]] + c + j] += g[c + j];
        }
        for (; c < C; c++) {
          float best = -__builtin_inff();
          int idx = -1;
          for (int t = 0; t < nt; t++) {
            const float v = x[off[t] + c];
            if (v > best) {
              best = v;
              idx = t;
            }
          }
          if (idx >= 0) dx[off[idx] + c] += g[c];
        }
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

// ---------------------------------------------------------------- BatchNorm (+ residual) + activation (act 0 = none, 1 = ReLU,
// 2 = ReLU6)
// The activation of y = x * a + b (+ res, a residual added before it: a ResNet block's tail), and the gradient it passes (tfjs-core's: ReLU where y > 0, ReLU6 where 0 < y <= 6).
// The backward recomputes y from x with the same a, b and the same expression as the forward, so its mask is the
// forward's exactly and neither y nor the activation's output needs to be kept.
template <int ACT>
static inline float act_of(float y) {
  if (ACT == 0) return y;
  y = y > 0.f ? y : 0.f;
  if (ACT == 2) y = y < 6.f ? y : 6.f;
  return y;
}

template <int ACT>
static inline float act_pass(float y, float d) {
  if (ACT == 1) return y > 0.f ? d : 0.f;
  if (ACT == 2) return (y > 0.f) & (y <= 6.f) ? d : 0.f;
  return d;
}

template <int ACT>
static void bn_act_affine_t(float* out, const float* x, const float* res, const float* a, const float* b, long r0, long r1,
                            long c) {
  for (long i = r0; i < r1; i++) {
    float* o = out + i * c;
    const float* xr = x + i * c;
    if (res) {
      const float* rr = res + i * c;
      for (long k = 0; k < c; k++) o[k] = act_of<ACT>(xr[k] * a[k] + b[k] + rr[k]);
    } else {
      for (long k = 0; k < c; k++) o[k] = act_of<ACT>(xr[k] * a[k] + b[k]);
    }
  }
}

// g = the activation's gradient of dy at y = x * a + b (+ res): s[k] += g, t[k] += g * (x - center) (float blocks of 32
// rows into the float64 totals, as bn_sums)
template <int ACT>
static void bn_act_sums_t(const float* x, const float* dy, const float* res, const float* a, const float* b,
                          const float* center, long r0, long r1, long c, double* s, double* t) {
  constexpr long KB = 512, RB = 32;
  float fs[KB], ft[KB];
  for (long k0 = 0; k0 < c; k0 += KB) {
    const long kc = lmin(KB, c - k0);
    const float *cen = center + k0, *ak = a + k0, *bk = b + k0;
    for (long i0 = r0; i0 < r1; i0 += RB) {
      const long i1 = lmin(r1, i0 + RB);
      for (long k = 0; k < kc; k++) fs[k] = ft[k] = 0.f;
      for (long i = i0; i < i1; i++) {
        const float* xr = x + i * c + k0;
        const float* dr = dy + i * c + k0;
        if (res) {
          const float* rr = res + i * c + k0;
          for (long k = 0; k < kc; k++) {
            const float g = act_pass<ACT>(xr[k] * ak[k] + bk[k] + rr[k], dr[k]);
            fs[k] += g;
            ft[k] += g * (xr[k] - cen[k]);
          }
        } else {
          for (long k = 0; k < kc; k++) {
            const float g = act_pass<ACT>(xr[k] * ak[k] + bk[k], dr[k]);
            fs[k] += g;
            ft[k] += g * (xr[k] - cen[k]);
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

// out = g * k1 + x * k2 + k3, g the activation's gradient of dy at y = x * a + b (+ res); with res, dres = g
template <int ACT>
static void bn_act_grad_t(float* out, const float* x, const float* dy, const float* res, float* dres, const float* a,
                          const float* b, const float* k1, const float* k2, const float* k3, long r0, long r1, long c) {
  for (long i = r0; i < r1; i++) {
    float* o = out + i * c;
    const float* xr = x + i * c;
    const float* dr = dy + i * c;
    if (res) {
      const float* rr = res + i * c;
      float* gr = dres + i * c;
      for (long k = 0; k < c; k++) {
        const float xv = xr[k];
        const float g = act_pass<ACT>(xv * a[k] + b[k] + rr[k], dr[k]);
        gr[k] = g;
        o[k] = g * k1[k] + xv * k2[k] + k3[k];
      }
    } else {
      for (long k = 0; k < c; k++) {
        const float xv = xr[k];
        const float g = act_pass<ACT>(xv * a[k] + b[k], dr[k]);
        o[k] = g * k1[k] + xv * k2[k] + k3[k];
      }
    }
  }
}

void bn_act_affine(float* out, const float* x, const float* res, const float* a, const float* b, int act, long r0,
                   long r1, long c) {
  if (act == 1)
    bn_act_affine_t<1>(out, x, res, a, b, r0, r1, c);
  else if (act == 2)
    bn_act_affine_t<2>(out, x, res, a, b, r0, r1, c);
  else
    bn_act_affine_t<0>(out, x, res, a, b, r0, r1, c);
}

void bn_act_sums(const float* x, const float* dy, const float* res, const float* a, const float* b, int act,
                 const float* center, long r0, long r1, long c, double* s, double* t) {
  if (act == 1)
    bn_act_sums_t<1>(x, dy, res, a, b, center, r0, r1, c, s, t);
  else if (act == 2)
    bn_act_sums_t<2>(x, dy, res, a, b, center, r0, r1, c, s, t);
  else
    bn_act_sums_t<0>(x, dy, res, a, b, center, r0, r1, c, s, t);
}

void bn_act_grad(float* out, const float* x, const float* dy, const float* res, float* dres, const float* a,
                 const float* b, int act, const float* k1, const float* k2, const float* k3, long r0, long r1, long c) {
  if (act == 1)
    bn_act_grad_t<1>(out, x, dy, res, dres, a, b, k1, k2, k3, r0, r1, c);
  else if (act == 2)
    bn_act_grad_t<2>(out, x, dy, res, dres, a, b, k1, k2, k3, r0, r1, c);
  else
    bn_act_grad_t<0>(out, x, dy, res, dres, a, b, k1, k2, k3, r0, r1, c);
}
