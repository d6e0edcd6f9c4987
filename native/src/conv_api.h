// What addon.cc calls in each ISA namespace (see conv_impl.h).
#pragma once
#include <stddef.h>

struct ConvShape {
  long n, h, w, ci, fh, fw, co, oh, ow, sh, sw, dh, dw, pt, pl;
};

// a 1x1, stride-1, unpadded convolution: x itself is the im2col matrix
inline bool isPointwise(const ConvShape& s) {
  return s.fh == 1 && s.fw == 1 && s.sh == 1 && s.sw == 1 && s.pt == 0 && s.pl == 0 && s.oh == s.h && s.ow == s.w;
}

// the input of a direct convolution, zero-padded so that every tap of every output pixel lies inside it
struct PaddedInput {
  const float* data;
  long h, w;
};

// `len` input channels of one tap: A offset from an output pixel's base in the padded input, first packed-B row
struct DepthSeg {
  long aoff, brow, len;
};

// what a forward convolution does to its output: out = relu?(out * scale + bias + residual) per output channel (each
// optional; scale carries a folded inference-mode BatchNorm, residual [rows x co] a ResNet block's shortcut)
struct Epilogue {
  const float* scale;
  const float* bias;
  int relu;
  const float* residual = nullptr;
};

#define DAFT_CONV_API                                                                                              \
  int panel_width(long ncols);                                                                                     \
  size_t packed_size(long k, long n);                                                                              \
  void pack_b(const float* src, long rs, long cs, long k, long n, float* dst);                                     \
  void conv_forward_rows(const ConvShape& s, const float* x, const float* Bp, const Epilogue& ep, float* out,     \
                         long m0, long m1, float* scratch);                                            \
  void conv_filter_rows(const ConvShape& s, const float* x, const float* dy, float* dw, long m0, long m1,           \
                        float* scratch, float* bscratch);                                                          \
  void conv_input_direct_rows(const ConvShape& s, const float* dy, const float* WTp, float* dx, long m0, long m1);  \
  void conv_input_images(const ConvShape& s, const float* dy, const float* WTp, float* dx, long n0, long n1,       \
                         long block, float* scratch);                                                        \
  void bn_sums(const float* x, const float* o, const float* center, long r0, long r1, long c, double* s, double* t); \
  void bn_affine(float* out, const float* x, const float* a, const float* b, const float* y, const float* g,        \
                 long r0, long r1, long c);                                                                     \
  int direct_segments(const ConvShape& s, const PaddedInput& xp, DepthSeg* segs, int* chunkStart);             \
  void conv_direct_rows(const ConvShape& s, const PaddedInput& xp, const DepthSeg* segs, const int* chunkStart,   \
                        int nchunks, const float* Bp, const Epilogue& ep, float* out, long r0, long r1);         \
  void relu_grad(const float* dy, const float* x, float* out, long i0, long i1);                                  \
  void add_range(const float* a, const float* b, float* out, long i0, long i1);                                   \
  void relu_range(const float* x, float* out, long i0, long i1);                                                 \
  void copy_floats(float* dst, const float* src, long len);                                                      \
  void dw_forward_rows(const ConvShape& s, const float* x, const float* w, float* out, long r0, long r1);          \
  void dw_input_rows(const ConvShape& s, const float* dy, const float* w, float* dx, long r0, long r1);            \
  void dw_filter_rows(const ConvShape& s, const float* x, const float* dy, float* dw, long r0, long r1);          \
  void relu6_range(const float* x, float* out, long i0, long i1);                                                \
  void relu6_grad(const float* dy, const float* x, float* out, long i0, long i1);                                 \
  void pack_b_rows(const float* src, long rs, long k, long n, long p0, long p1, float* dst);                      \
  void conv_filter_cols(const ConvShape& s, const float* x, const float* Bp, float* dw, long k0, long k1,          \
                        float* scratch);                                                                           \
  size_t wino_filter_size(long ci, long co);                                                                       \
  void wino_filter(const float* w, long ci, long co, float* Up, float* tmp);                                       \
  void wino_tiles(const ConvShape& s, const float* x, const float* Up, const Epilogue& ep, float* out, long t0,    \
                  long t1, float* Vb, float* Mb);                                                                  \
  void wino_filter_grad_tiles(const ConvShape& s, const float* x, const float* dy, float* dU, long t0, long t1,     \
                              float* Vb, float* Mb, float* Mp);                                                   \
  void wino_filter_grad_out(const float* dU, long ci, long co, float* dw);                                         \
  void maxpool_grad_images(const ConvShape& s, const float* x, const float* dy, float* dx, long n0, long n1);      \
  void bn_act_affine(float* out, const float* x, const float* res, const float* a, const float* b, int act, long r0, \
                     long r1, long c);                                                                             \
  void bn_act_sums(const float* x, const float* dy, const float* res, const float* a, const float* b, int act,      \
                   const float* center, long r0, long r1, long c, double* s, double* t);                          \
  void bn_act_grad(float* out, const float* x, const float* dy, const float* res, float* dres, const float* a,     \
                   const float* b, int act, const float* k1, const float* k2, const float* k3, long r0, long r1,    \
                   long c);

namespace isa_generic { DAFT_CONV_API }
#ifndef DAFT_NO_X86
namespace isa_avx2 { DAFT_CONV_API }
namespace isa_avx512 { DAFT_CONV_API }
#endif
