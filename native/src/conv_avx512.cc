#include "conv_api.h"
#ifndef DAFT_NO_X86
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx512f,avx512vl,avx2,fma"))), apply_to = function)
#else
#pragma GCC target("avx512f,avx512vl,avx2,fma")
#endif
namespace isa_avx512 {
#define VW 16
#include "conv_impl.h"
}
#ifdef __clang__
#pragma clang attribute pop
#endif
#endif
