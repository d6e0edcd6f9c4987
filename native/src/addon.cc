// daft_native: multi-threaded, vectorised convolution kernels (forward, filter gradient, input gradient) that the
// engine registers on tfjs's wasm backend. They read and write tensors in place on the wasm heap (an ArrayBuffer
// passed with each call), so nothing is copied. Node-API only: the same binary loads in Node and in Electron.
// Over 400 lines on purpose: every entry point's argument checking and thread-pool dispatch in one file, next to the
// pool itself; the arithmetic lives in conv_impl.h.
#include <node_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "conv_api.h"

namespace {

// ---------------------------------------------------------------- ISA dispatch
struct Isa {
  const char* name;
  int (*panel_width)(long);
  size_t (*packed_size)(long, long);
  void (*pack_b)(const float*, long, long, long, long, float*);
  void (*forward_rows)(const ConvShape&, const float*, const float*, const Epilogue&, float*, long, long, float*);
  void (*filter_rows)(const ConvShape&, const float*, const float*, float*, long, long, float*, float*);
  void (*input_direct_rows)(const ConvShape&, const float*, const float*, float*, long, long);
  void (*input_images)(const ConvShape&, const float*, const float*, float*, long, long, long, float*);
  void (*bn_sums)(const float*, const float*, const float*, long, long, long, double*, double*);
  void (*bn_affine)(float*, const float*, const float*, const float*, const float*, const float*, long, long, long);
  void (*relu_grad)(const float*, const float*, float*, long, long);
  int (*direct_segments)(const ConvShape&, const PaddedInput&, DepthSeg*, int*);
  void (*conv_direct_rows)(const ConvShape&, const PaddedInput&, const DepthSeg*, const int*, int, const float*,
                           const Epilogue&, float*, long, long);
  void (*add_range)(const float*, const float*, float*, long, long);
  void (*relu_range)(const float*, float*, long, long);
  void (*copy_floats)(float*, const float*, long);
  void (*dw_forward_rows)(const ConvShape&, const float*, const float*, float*, long, long);
  void (*dw_input_rows)(const ConvShape&, const float*, const float*, float*, long, long);
  void (*dw_filter_rows)(const ConvShape&, const float*, const float*, float*, long, long);
  void (*relu6_range)(const float*, float*, long, long);
  void (*relu6_grad)(const float*, const float*, float*, long, long);
  void (*pack_b_rows)(const float*, long, long, long, long, long, float*);
  void (*filter_cols)(const ConvShape&, const float*, const float*, float*, long, long, float*);
  void (*maxpool_grad_images)(const ConvShape&, const float*, const float*, float*, long, long);
  size_t (*wino_filter_size)(long, long);
  void (*wino_filter)(const float*, long, long, float*, float*);
  void (*wino_tiles)(const ConvShape&, const float*, const float*, const Epilogue&, float*, long, long, float*, float*);
  void (*wino_filter_grad_tiles)(const ConvShape&, const float*, const float*, float*, long, long, float*, float*, float*);
  void (*wino_filter_grad_out)(const float*, long, long, float*);
  void (*bn_act_affine)(float*, const float*, const float*, const float*, const float*, int, long, long, long);
  void (*bn_act_sums)(const float*, const float*, const float*, const float*, const float*, int, const float*, long, long,
                      long, double*, double*);
  void (*bn_act_grad)(float*, const float*, const float*, const float*, float*, const float*, const float*, int,
                      const float*, const float*, const float*, long, long, long);
};

#define DAFT_ISA(ns, label)                                                                                      \
  Isa {                                                                                                          \
    label, ns::panel_width, ns::packed_size, ns::pack_b, ns::conv_forward_rows, ns::conv_filter_rows,            \
        ns::conv_input_direct_rows, ns::conv_input_images, ns::bn_sums, ns::bn_affine, ns::relu_grad, ns::direct_segments, ns::conv_direct_rows, ns::add_range, ns::relu_range, ns::copy_floats, \
        ns::dw_forward_rows, ns::dw_input_rows, ns::dw_filter_rows, ns::relu6_range, ns::relu6_grad,               \
        ns::pack_b_rows, ns::conv_filter_cols, ns::maxpool_grad_images, ns::wino_filter_size, ns::wino_filter,      \
        ns::wino_tiles, ns::wino_filter_grad_tiles, ns::wino_filter_grad_out, ns::bn_act_affine, ns::bn_act_sums,   \
        ns::bn_act_grad                                                                                          \
  }

std::vector<Isa> supportedIsas() {
  std::vector<Isa> out;
#ifndef DAFT_NO_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) out.push_back(DAFT_ISA(isa_avx512, "avx512"));
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) out.push_back(DAFT_ISA(isa_avx2, "avx2"));
#endif
  out.push_back(DAFT_ISA(isa_generic, "generic"));
  return out;
}

Isa g_isa = DAFT_ISA(isa_generic, "generic");

// ---------------------------------------------------------------- thread pool
// cumulative time inside addon calls and inside their parallel sections (info(): the rest of a call runs on one thread)
std::atomic<long> g_addonNs{0}, g_parNs{0};

// Waiting threads may spin (yielding) for up to spinUs microseconds (DAFT_NATIVE_SPIN_US, default 300; 0 = sleep at
// once) before sleeping on the condition variable, but only while the machine has a core to spare. A ResNet-20 step
// makes ~170 parallel calls, most tens of microseconds apart, and a worker woken from sleep joined a call ~35-50 us late
// on this environment's VMs (each call loses that much of a core, and the caller waits for the late worker's last
// task). Measured (npm run bench:pool: in-process A/B, ResNet-20 32 px batch 64 step, 2 cores, 10 alternations): idle,
// no spin 111-124 ms (1.75 cores), 100 us 104-112 ms, 300 us + yield 103-112 ms (1.93 cores); with one other busy
// process, no spin 164 ms, 300 us 211 ms, 300 us + yield 191 ms (the spinning thread takes the core the other needs).
// So the pool watches its workers' wake-up delay (an average over recent calls): above kBusyWakeNs another process is
// competing for the cores (idle: ~10 us spinning, ~40 us sleeping; contended: 150-270 us) and nobody spins.
class Pool {
 public:
  Pool() {
    const char* v = std::getenv("DAFT_NATIVE_SPIN_US");
    spinUs_ = v && *v ? std::max(0L, std::atol(v)) : 300L;
  }
  ~Pool() { resize(0); }

  int size() const { return (int)workers_.size() + 1; }
  void setSpin(long us) { spinUs_ = std::max(0L, us); }
  long spinLimit() const { return spinUs_; }
  bool spinning() const { return spinUs_ > 0 && wakeAvgNs_.load(std::memory_order_relaxed) < kBusyWakeNs; }

  // cumulative diagnostics (info()): parallel calls, the workers' wake-up delay (notify to joining) and the caller's
  // wait for the workers after its own share (load imbalance plus wake-up), in microseconds
  std::atomic<long> calls{0};
  std::atomic<long> wakeNs{0}, tailNs{0};

  void resize(int threads) {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
      gen_.fetch_add(1);
    }
    cv_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
    stop_ = false;
    // new workers start from the current generation (else their first wait would pass at once, into stale work)
    const long start = gen_.load();
    for (int i = 1; i < threads; i++) workers_.emplace_back([this, i, start] { loop(i, start); });
  }

  // fn(task, thread) for task in [0, tasks): the calling thread works too. Workers take tasks from a shared counter;
  // when the caller has run out of tasks it closes the call to workers that have not joined yet and waits only for
  // those inside (a worker still waking up, tens of microseconds, would else hold up every short call twice: its own
  // wake-up and the caller's).
  void parallelFor(long tasks, const std::function<void(long, int)>& fn) {
    if (tasks <= 0) return;
    if (workers_.empty() || tasks == 1) {
      for (long t = 0; t < tasks; t++) fn(t, 0);
      return;
    }
    next_.store(0);
    finished_.store(0);
    struct ParTimer {
      std::chrono::steady_clock::time_point t = std::chrono::steady_clock::now();
      ~ParTimer() { g_parNs.fetch_add((long)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t).count()); }
    } parTimer;
    {
      std::lock_guard<std::mutex> lk(mu_);
      fn_ = &fn;
      tasks_ = tasks;
      posted_ = parTimer.t;
      const long g = gen_.load() + 1;
      door_.store(g << kGenShift);
      gen_.store(g);
    }
    cv_.notify_all();
    work(0);
    const auto t1 = std::chrono::steady_clock::now();
    const long inside = door_.fetch_or(kClosed) & kInside;
    spin([this, inside] { return finished_.load() >= inside; });
    {
      std::unique_lock<std::mutex> lk(mu_);
      done_.wait(lk, [this, inside] { return finished_.load() >= inside; });
      fn_ = nullptr;
    }
    calls.fetch_add(1);
    tailNs.fetch_add((long)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t1).count());
  }

 private:
  static constexpr long kInside = (1L << 20) - 1, kClosed = 1L << 20;
  static constexpr int kGenShift = 21;
  static constexpr long kBusyWakeNs = 90000;

  void work(int thread) {
    for (long t; (t = next_.fetch_add(1)) < tasks_;) (*fn_)(t, thread);
  }

  // until done() or spinUs_ microseconds have passed
  template <class Done>
  void spin(Done done) const {
    if (!spinning() || done()) return;
    const auto end = std::chrono::steady_clock::now() + std::chrono::microseconds(spinUs_);
    while (!done()) {
      for (int i = 0; i < 64; i++) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      }
      if (std::chrono::steady_clock::now() > end) return;
      std::this_thread::yield();
    }
  }

  void loop(int thread, long seen) {
    for (;;) {
      spin([&] { return gen_.load() != seen; });
      {
        std::unique_lock<std::mutex> lk(mu_);
        cv_.wait(lk, [&] { return gen_.load() != seen; });
        seen = gen_.load();
        if (stop_) return;
      }
      // join the call unless the caller has closed it (it finished every task before this thread woke up)
      long d = door_.load();
      bool in = false;
      while ((d >> kGenShift) == seen && !(d & kClosed)) {
        if (door_.compare_exchange_weak(d, d + 1)) {
          in = true;
          break;
        }
      }
      if (!in) continue;
      const long wake = (long)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - posted_).count();
      wakeNs.fetch_add(wake);
      // average over ~16 calls (several workers may race on it: any recent value will do)
      wakeAvgNs_.store(wakeAvgNs_.load(std::memory_order_relaxed) + (wake - wakeAvgNs_.load(std::memory_order_relaxed)) / 16, std::memory_order_relaxed);
      work(thread);
      finished_.fetch_add(1);
      // the caller may be spinning (no lock) or asleep on done_ (notified under the lock: no lost wake-up)
      std::lock_guard<std::mutex> lk(mu_);
      done_.notify_all();
    }
  }

  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable cv_, done_;
  const std::function<void(long, int)>* fn_ = nullptr;
  std::atomic<long> next_{0};
  long tasks_ = 0;
  std::atomic<long> gen_{0};
  // generation << kGenShift | closed bit | workers inside the current call
  std::atomic<long> door_{0};
  std::atomic<long> finished_{0};
  bool stop_ = false;
  long spinUs_ = 0;
  std::atomic<long> wakeAvgNs_{0};
  std::chrono::steady_clock::time_point posted_;
};

Pool g_pool;

// the pool and the scratch buffers are shared: calls from two JS threads (worker_threads loading the addon too) take
// turns instead of racing
std::mutex g_callMutex;
// every entry point: takes the call mutex and counts its time
struct CallGuard {
  std::lock_guard<std::mutex> lk{g_callMutex};
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  ~CallGuard() { g_addonNs.fetch_add((long)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count()); }
};

// 64-byte aligned scratch buffers, grown as needed and kept (one set per thread)
struct Buffer {
  float* p = nullptr;
  size_t n = 0;
  float* get(size_t floats) {
    if (floats > n) {
      std::free(p);
      n = floats;
      p = (float*)std::aligned_alloc(64, ((floats * sizeof(float) + 63) / 64) * 64);
    }
    return p;
  }
};
std::vector<Buffer> g_scratch, g_bscratch, g_partial;
Buffer g_packed;

void ensureThreadBuffers() {
  const size_t n = (size_t)g_pool.size();
  if (g_scratch.size() < n) {
    g_scratch.resize(n);
    g_bscratch.resize(n);
    g_partial.resize(n);
  }
}

// rows per task: a block of im2col rows of ~128 KB (stays in L2 with its share of the filter), a multiple of 12 (both
// micro-kernel heights). Measured on the 2-core AVX-512 machine: 4-32x larger blocks were no faster forward and up to
// 2x slower for the filter gradient (its transposed reads of the block fall out of L2).
long blockRows(long K) { return std::max(12L, std::min(240L, (32768L / std::max(1L, K)) / 12 * 12)); }

bool envFlag(const char* name, bool fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string(v) != "0" : fallback;
}

Buffer g_flipped, g_dyPacked;
bool g_directEnabled = envFlag("DAFT_NATIVE_DIRECT", true);
// the filter gradient's column path (conv_filter_cols): 1 = where it is expected faster, 0 = never, 2 = always
int g_filterCols = envFlag("DAFT_NATIVE_FILTER_COLS", true) ? 1 : 0;

// direct convolution (no im2col) for narrow layers with output rows long enough to fill micro-tiles; im2col + GEMM
// otherwise. Measured (scripts: interleaved A/B in one process, CPU time, AVX-512, 1 thread): 16 channels 91 vs 66
// GFLOP/s forward and 96 vs 64 for the input gradient, 32 channels 125 vs 109; from 64 channels on, im2col was as fast
// or faster (its blocks reuse the filter panel over more rows).
bool useDirect(const ConvShape& s) { return g_directEnabled && !isPointwise(s) && s.ow >= 8 && s.ci <= 32; }

// Winograd F(2x2, 3x3) (conv_impl.h, wino_tiles) for 3x3 stride-1 convolutions: 1 = where measured faster, 0 = never,
// 2 = wherever it applies (tests). Measured (AVX-512, 1 thread, CPU time, batch 64, forward / input gradient): 32
// channels at 16x16 3.2 -> 2.1 ms, 64 at 8x8 2.9 -> 1.8, 64 at 16x16 12.1 -> 6.6, 128 at 8x8 11.7 -> 6.6, 256 at 4x4
// 11.7 -> 9.5; the filter gradient 3.4 -> 2.5, 3.0 -> 1.8, 12.7 -> 7.9, 12.2 -> 6.7, 11.8 -> 8.4 for the same layers.
// Slower for 16 channels (4.0 -> 4.6: 16-deep GEMMs) and for 512 at 2x2 (15.6 -> 21.9: one tile per image, each task
// streams all 16 transformed filters for 12 tiles). Results differ from im2col's by ~1e-6 relative (float rounding).
int g_winograd = envFlag("DAFT_NATIVE_WINOGRAD", true) ? 1 : 0;
Buffer g_winoFilter, g_winoTmp;

bool useWinograd(const ConvShape& s) {
  if (g_winograd == 0 || s.fh != 3 || s.fw != 3 || s.sh != 1 || s.sw != 1 || s.dh != 1 || s.dw != 1) return false;
  return g_winograd == 2 || (s.ci >= 32 && s.co >= 32 && s.ci * s.co <= 256 * 256 && s.oh * s.ow >= 16);
}

// out = conv(x, w) (w HWIO [3, 3, ci, co]) with the epilogue, in blocks of T tiles per task: at most 48, fewer when there
// would be under 4 tasks per thread (at least 12, both micro-kernel heights)
void convWinograd(const ConvShape& s, const float* x, const float* w, const Epilogue& ep, float* out) {
  float* Up = g_winoFilter.get(g_isa.wino_filter_size(s.ci, s.co));
  g_isa.wino_filter(w, s.ci, s.co, Up, g_winoTmp.get((size_t)16 * s.ci * s.co));
  ensureThreadBuffers();
  const long tiles = s.n * ((s.oh + 1) / 2) * ((s.ow + 1) / 2);
  const long want = (tiles + 4L * g_pool.size() - 1) / (4L * g_pool.size());
  const long T = std::max(12L, std::min(48L, (want + 11) / 12 * 12)), tasks = (tiles + T - 1) / T;
  g_pool.parallelFor(tasks, [&](long t, int thread) {
    const long t0 = t * T, t1 = std::min(tiles, t0 + T);
    g_isa.wino_tiles(s, x, Up, ep, out, t0, t1, g_scratch[thread].get((size_t)16 * T * s.ci), g_bscratch[thread].get((size_t)16 * T * s.co));
  });
}

// dW of a 3x3 stride-1 convolution through Winograd (wino_filter_grad_tiles): blocks of T tiles, each thread's fixed
// contiguous share of the blocks summed into its own dU (16 x ci x co), the shares added in order (deterministic for a
// thread count), then dW = G^T dU G
std::vector<Buffer> g_winoPacked;
void filterWinograd(const ConvShape& s, const float* x, const float* dy, float* dw) {
  ensureThreadBuffers();
  const int threads = g_pool.size();
  if ((int)g_winoPacked.size() < threads) g_winoPacked.resize(threads);
  const long tiles = s.n * ((s.oh + 1) / 2) * ((s.ow + 1) / 2), T = 96;
  const long blocks = (tiles + T - 1) / T, chunks = std::min<long>(threads, blocks), per = (blocks + chunks - 1) / chunks;
  const size_t plane = (size_t)16 * s.ci * s.co;
  for (long c = 0; c < chunks; c++) std::memset(g_partial[c].get(plane), 0, plane * sizeof(float));
  g_pool.parallelFor(chunks, [&](long c, int thread) {
    float* Vb = g_scratch[thread].get((size_t)16 * T * s.ci);
    float* Mb = g_bscratch[thread].get((size_t)16 * T * s.co);
    float* Mp = g_winoPacked[thread].get(16 * g_isa.packed_size(T, s.co));
    for (long b = c * per; b < std::min(blocks, (c + 1) * per); b++)
      g_isa.wino_filter_grad_tiles(s, x, dy, g_partial[c].p, b * T, std::min(tiles, (b + 1) * T), Vb, Mb, Mp);
  });
  float* dU = g_partial[0].p;
  for (long c = 1; c < chunks; c++) {
    const float* src = g_partial[c].p;
    for (size_t i = 0; i < plane; i++) dU[i] += src[i];
  }
  g_isa.wino_filter_grad_out(dU, s.ci, s.co, dw);
}

// the padded extent of x: every tap of every output pixel inside
void paddedExtent(const ConvShape& s, long& hp, long& wp) {
  hp = (s.oh - 1) * s.sh + (s.fh - 1) * s.dh + 1;
  wp = (s.ow - 1) * s.sw + (s.fw - 1) * s.dw + 1;
}

// image n of x zero-padded into img (hp x wp x ci)
void padImage(const ConvShape& s, const float* x, long n, long hp, long wp, float* img) {
  const long cols = std::max(0L, std::min(s.w, wp - s.pl));
  std::memset(img, 0, (size_t)hp * wp * s.ci * sizeof(float));
  for (long iy = 0; iy < s.h; iy++) {
    const long py = iy + s.pt;
    if (py >= hp) break;
    std::memcpy(img + (py * wp + s.pl) * s.ci, x + ((n * s.h + iy) * s.w) * s.ci, (size_t)cols * s.ci * sizeof(float));
  }
}

std::vector<Buffer> g_padImage;

// out = conv(x) through the direct path; Bp is the packed filter ([K x CO] panels). With padding, each task pads one
// image into its thread's buffer and convolves it at once (the image stays in L2; a separate padding pass over the
// batch wrote and re-read a copy of x). 3x3 16 -> 16 at 32x32, batch 64, 2 threads, best of 25, three alternations
// of the two builds: forward 1.94-1.95 -> 1.45-1.58 ms, input gradient 1.85-2.20 -> 1.44-1.72 ms; 3 -> 16 forward
// 0.36-0.59 -> 0.29-0.30 ms (one thread: about the same)
void convDirect(const ConvShape& s, const float* x, const float* Bp, const Epilogue& ep, float* out) {
  long hp, wp;
  paddedExtent(s, hp, wp);
  const bool padded = !(s.pt == 0 && s.pl == 0 && hp <= s.h && wp <= s.w);
  const PaddedInput whole{x, s.h, s.w};
  const PaddedInput shape = padded ? PaddedInput{nullptr, hp, wp} : whole;
  std::vector<DepthSeg> segs((size_t)(s.fh * s.fw * ((s.ci + 255) / 256)));
  std::vector<int> chunkStart(segs.size() + 1);
  const int nchunks = g_isa.direct_segments(s, shape, segs.data(), chunkStart.data());
  if (!padded) {
    const long rows = s.n * s.oh, group = std::max(1L, (96 + s.ow - 1) / s.ow), tasks = (rows + group - 1) / group;
    g_pool.parallelFor(tasks, [&](long t, int) {
      g_isa.conv_direct_rows(s, whole, segs.data(), chunkStart.data(), nchunks, Bp, ep, out, t * group, std::min(rows, (t + 1) * group));
    });
    return;
  }
  if ((int)g_padImage.size() < g_pool.size()) g_padImage.resize(g_pool.size());
  ConvShape one = s;
  one.n = 1;
  const size_t outImage = (size_t)s.oh * s.ow * s.co;
  g_pool.parallelFor(s.n, [&](long n, int thread) {
    float* img = g_padImage[thread].get((size_t)hp * wp * s.ci);
    padImage(s, x, n, hp, wp, img);
    const Epilogue epn{ep.scale, ep.bias, ep.relu, ep.residual ? ep.residual + n * outImage : nullptr};
    g_isa.conv_direct_rows(one, PaddedInput{img, hp, wp}, segs.data(), chunkStart.data(), nchunks, Bp, epn, out + n * outImage, 0, s.oh);
  });
}

// ---------------------------------------------------------------- argument handling
struct Args {
  napi_env env;
  bool ok = true;
  float* heap = nullptr;
  size_t heapBytes = 0;
  double* p = nullptr;
  size_t np = 0;
};

napi_value throwError(napi_env env, const std::string& msg) {
  napi_throw_error(env, nullptr, msg.c_str());
  return nullptr;
}

// (heap: ArrayBuffer, params: Float64Array, ...extra): `expected` parameters; `extra` receives the next `nextra` arguments
// (undefined where not passed)
bool readArgs(napi_env env, napi_callback_info info, Args& a, size_t expected, napi_value* extra = nullptr, size_t nextra = 0) {
  napi_value argv[8];
  size_t argc = 2 + nextra;
  a.env = env;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2) {
    throwError(env, "daft_native: expected (heap: ArrayBuffer, params: Float64Array, ...)");
    return false;
  }
  for (size_t i = 0; i < nextra; i++) {
    if (2 + i < argc)
      extra[i] = argv[2 + i];
    else
      napi_get_undefined(env, &extra[i]);
  }
  void* data = nullptr;
  if (napi_get_arraybuffer_info(env, argv[0], &data, &a.heapBytes) != napi_ok) {
    throwError(env, "daft_native: the first argument must be the wasm heap's ArrayBuffer");
    return false;
  }
  a.heap = (float*)data;
  napi_typedarray_type type;
  size_t length;
  void* pdata;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &pdata, &ab, &off) != napi_ok || type != napi_float64_array) {
    throwError(env, "daft_native: the second argument must be a Float64Array of parameters");
    return false;
  }
  if (length != expected) {
    throwError(env, "daft_native: expected " + std::to_string(expected) + " parameters, got " + std::to_string(length));
    return false;
  }
  a.p = (double*)pdata;
  a.np = length;
  return true;
}

// params[i..i+15): n h w ci fh fw co oh ow sh sw dh dw pt pl
bool readShape(Args& a, size_t i, ConvShape& s) {
  long* f[] = {&s.n, &s.h, &s.w, &s.ci, &s.fh, &s.fw, &s.co, &s.oh, &s.ow, &s.sh, &s.sw, &s.dh, &s.dw, &s.pt, &s.pl};
  for (size_t j = 0; j < 15; j++) *f[j] = (long)a.p[i + j];
  if (s.n < 1 || s.h < 1 || s.w < 1 || s.ci < 1 || s.fh < 1 || s.fw < 1 || s.co < 1 || s.oh < 1 || s.ow < 1 || s.sh < 1 ||
      s.sw < 1 || s.dh < 1 || s.dw < 1) {
    throwError(a.env, "daft_native: invalid convolution shape");
    return false;
  }
  return true;
}

// a float tensor of `count` elements at byte offset params[i] that lies inside the heap
const float* tensorAt(Args& a, size_t i, size_t count) {
  const double off = a.p[i];
  if (off < 0 || (size_t)off % 4 != 0 || (size_t)off + count * 4 > a.heapBytes) {
    a.ok = false;
    return nullptr;
  }
  return a.heap + (size_t)off / 4;
}

// a tensor that may be absent (params[idx] = -1)
#define OPTIONAL_TENSOR(var, idx, count)                                                       \
  float* var = nullptr;                                                                        \
  if (a.p[idx] >= 0) {                                                                         \
    var = const_cast<float*>(tensorAt(a, idx, count));                                         \
    if (!a.ok) return throwError(env, "daft_native: tensor " #var " lies outside the wasm heap"); \
  }

#define TENSOR(var, idx, count)                                                                \
  float* var = const_cast<float*>(tensorAt(a, idx, count));                                    \
  if (!a.ok) return throwError(env, "daft_native: tensor " #var " lies outside the wasm heap");

// a Float32Array / Float64Array argument's data (nullptr for null/undefined when allowed)
template <class T>
T* typedArg(napi_env env, napi_value v, napi_typedarray_type want, size_t minLength, bool nullable, const char* what) {
  napi_valuetype vt;
  napi_typeof(env, v, &vt);
  if (nullable && (vt == napi_null || vt == napi_undefined)) return nullptr;
  napi_typedarray_type type;
  size_t length;
  void* data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, &length, &data, &ab, &off) != napi_ok || type != want || length < minLength) {
    throwError(env, std::string("daft_native: ") + what + " must be a typed array of the channel count");
    return nullptr;
  }
  return (T*)data;
}

// ---------------------------------------------------------------- kernels
// conv2d(heap, [x, filter, bias(-1 = none), out, relu, ...shape], scale?, shift?, residual?): residual, a byte offset
// on the heap (a tensor of the output's shape, added before the ReLU), -1 or absent for none
napi_value Conv2D(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  ConvShape s;
  napi_value extra[3];
  if (!readArgs(env, info, a, 20, extra, 3) || !readShape(a, 5, s)) return nullptr;
  const long K = s.fh * s.fw * s.ci, M = s.n * s.oh * s.ow;
  TENSOR(x, 0, (size_t)s.n * s.h * s.w * s.ci)
  TENSOR(w, 1, (size_t)K * s.co)
  TENSOR(out, 3, (size_t)M * s.co)
  OPTIONAL_TENSOR(bias, 2, s.co)
  Epilogue ep{nullptr, bias, a.p[4] != 0};
  // optional (scale, shift) Float32Arrays of CO: a folded inference-mode BatchNorm, out = out * scale + shift
  const float* scale = typedArg<float>(env, extra[0], napi_float32_array, s.co, true, "scale");
  const float* shift = typedArg<float>(env, extra[1], napi_float32_array, s.co, true, "shift");
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return nullptr;
  if ((scale == nullptr) != (shift == nullptr) || (scale && bias)) return throwError(env, "daft_native: conv2d takes scale and shift together, without a bias tensor");
  if (scale) ep = Epilogue{scale, shift, ep.relu};
  napi_valuetype rt;
  napi_typeof(env, extra[2], &rt);
  if (rt == napi_number) {
    double off = -1;
    napi_get_value_double(env, extra[2], &off);
    if (off >= 0) {
      if ((size_t)off % 4 != 0 || (size_t)off + (size_t)M * s.co * 4 > a.heapBytes) return throwError(env, "daft_native: tensor residual lies outside the wasm heap");
      ep.residual = a.heap + (size_t)off / 4;
    }
  }
  if (useWinograd(s)) {
    convWinograd(s, x, w, ep, out);
    return nullptr;
  }
  float* Bp = g_packed.get(g_isa.packed_size(K, s.co));
  g_isa.pack_b(w, s.co, 1, K, s.co, Bp);
  ensureThreadBuffers();
  if (useDirect(s)) {
    convDirect(s, x, Bp, ep, out);
    return nullptr;
  }
  const long block = blockRows(K), tasks = (M + block - 1) / block;
  g_pool.parallelFor(tasks, [&](long t, int thread) {
    const long m0 = t * block, m1 = std::min(M, m0 + block);
    g_isa.forward_rows(s, x, Bp, ep, out, m0, m1, g_scratch[thread].get((size_t)block * K));
  });
  return nullptr;
}

// The filter gradient's two ways: by rows (im2col blocks of blockRows(K) rows, each thread summing its share of the rows
// into its own copy of dW, added up at the end) or by columns (conv_filter_cols: each task owns some rows of dW over all
// M rows). By rows reads and writes dW once per block; by columns once per 256 rows, but streams dy (packed, M x CO) and
// gathers x once per task. Measured (AVX-512, 2 threads, interleaved, CPU time): by columns 2.6x faster for 3x3 512->512
// on 2x2 images (batch 64), 1.5x for a 1x1 2048->512 on 7x7 (batch 8), ~1.1x for 3x3 256->256 on 4x4 and 14x14; slower
// wherever blocks have more than the minimum 12 rows (K < ~1400: 3x3 convolutions up to 128 channels, 1x1 up to 1024).
bool useFilterCols(const ConvShape& s) {
  if (g_filterCols != 1) return g_filterCols == 2;
  const long K = s.fh * s.fw * s.ci;
  return blockRows(K) <= 12 && s.co >= 32;
}

void filterByColumns(const ConvShape& s, const float* x, const float* dy, float* dw) {
  const long M = s.n * s.oh * s.ow, taps = s.fh * s.fw;
  const int threads = g_pool.size();
  float* Bp = g_dyPacked.get(g_isa.packed_size(M, s.co));
  const long prow = std::max(1L, 16384 / s.co), ptasks = (M + prow - 1) / prow;
  g_pool.parallelFor(ptasks, [&](long t, int) { g_isa.pack_b_rows(dy, s.co, M, s.co, t * prow, std::min(M, (t + 1) * prow), Bp); });
  // column blocks within one tap: up to 96 channels (a multiple of both micro-kernel heights), fewer when there would
  // be under 4 tasks per thread
  long cb = std::min(s.ci, 96L);
  const long perTap = (4L * threads + taps - 1) / taps;
  if (perTap > 1 && s.ci > 12) cb = std::min(cb, std::max(12L, ((s.ci + perTap - 1) / perTap + 11) / 12 * 12));
  const long blocks = (s.ci + cb - 1) / cb;
  g_pool.parallelFor(taps * blocks, [&](long t, int thread) {
    const long tap = t / blocks, c0 = (t % blocks) * cb, c1 = std::min(s.ci, c0 + cb);
    g_isa.filter_cols(s, x, Bp, dw, tap * s.ci + c0, tap * s.ci + c1, g_scratch[thread].get((size_t)256 * cb));
  });
}

// conv2dBackpropFilter(heap, [x, dy, dw, ...shape])
napi_value Conv2DBackpropFilter(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  ConvShape s;
  if (!readArgs(env, info, a, 18) || !readShape(a, 3, s)) return nullptr;
  const long K = s.fh * s.fw * s.ci, M = s.n * s.oh * s.ow;
  TENSOR(x, 0, (size_t)s.n * s.h * s.w * s.ci)
  TENSOR(dy, 1, (size_t)M * s.co)
  TENSOR(dw, 2, (size_t)K * s.co)
  ensureThreadBuffers();
  const int threads = g_pool.size();
  if (useWinograd(s)) {
    filterWinograd(s, x, dy, dw);
    return nullptr;
  }
  if (useFilterCols(s)) {
    filterByColumns(s, x, dy, dw);
    return nullptr;
  }
  const size_t kc = (size_t)K * s.co;
  for (int t = 0; t < threads; t++) std::memset(g_partial[t].get(kc), 0, kc * sizeof(float));
  // deterministic: chunk c always takes the same contiguous row blocks, in order, into partial[c]
  const long block = blockRows(K), tasks = (M + block - 1) / block;
  const long chunks = std::min<long>(threads, tasks), per = (tasks + chunks - 1) / chunks;
  g_pool.parallelFor(chunks, [&](long c, int thread) {
    for (long t = c * per; t < std::min(tasks, (c + 1) * per); t++) {
      const long m0 = t * block, m1 = std::min(M, m0 + block);
      g_isa.filter_rows(s, x, dy, g_partial[c].p, m0, m1, g_scratch[thread].get((size_t)block * K),
                        g_bscratch[thread].get(g_isa.packed_size(block, s.co)));
    }
  });
  std::memcpy(dw, g_partial[0].p, kc * sizeof(float));
  for (long c = 1; c < chunks; c++) {
    const float* src = g_partial[c].p;
    for (size_t i = 0; i < kc; i++) dw[i] += src[i];
  }
  return nullptr;
}

// conv2dBackpropInput(heap, [dy, filter, dx, ...shape])
napi_value Conv2DBackpropInput(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  ConvShape s;
  if (!readArgs(env, info, a, 18) || !readShape(a, 3, s)) return nullptr;
  const long K = s.fh * s.fw * s.ci, M = s.n * s.oh * s.ow;
  TENSOR(dy, 0, (size_t)M * s.co)
  TENSOR(w, 1, (size_t)K * s.co)
  TENSOR(dx, 2, (size_t)s.n * s.h * s.w * s.ci)
  // stride 1: dx is the direct convolution of dy with the spatially flipped, transposed filter
  const ConvShape t{s.n, s.oh, s.ow, s.co, s.fh, s.fw, s.ci, s.h, s.w, 1, 1, s.dh, s.dw, s.dh * (s.fh - 1) - s.pt, s.dw * (s.fw - 1) - s.pl};
  if (s.sh == 1 && s.sw == 1 && t.pt >= 0 && t.pl >= 0 && (useDirect(t) || useWinograd(t))) {
    // W'[kh][kw][co][ci] = W[fh-1-kh][fw-1-kw][ci][co]
    float* wf = g_flipped.get((size_t)K * s.co);
    for (long kh = 0; kh < s.fh; kh++)
      for (long kw = 0; kw < s.fw; kw++) {
        const float* src = w + ((s.fh - 1 - kh) * s.fw + (s.fw - 1 - kw)) * s.ci * s.co;
        float* dst = wf + (kh * s.fw + kw) * s.co * s.ci;
        for (long i = 0; i < s.ci; i++)
          for (long o = 0; o < s.co; o++) dst[o * s.ci + i] = src[i * s.co + o];
      }
    if (useWinograd(t)) {
      convWinograd(t, dy, wf, Epilogue{nullptr, nullptr, 0}, dx);
      return nullptr;
    }
    const long Kt = s.fh * s.fw * s.co;
    float* Bp = g_packed.get(g_isa.packed_size(Kt, s.ci));
    g_isa.pack_b(wf, s.ci, 1, Kt, s.ci, Bp);
    ensureThreadBuffers();
    convDirect(t, dy, Bp, Epilogue{nullptr, nullptr, 0}, dx);
    return nullptr;
  }
  // B = W^T [CO x K]: element (co, k) = w[k * CO + co]
  float* WTp = g_packed.get(g_isa.packed_size(s.co, K));
  g_isa.pack_b(w, 1, s.co, s.co, K, WTp);
  ensureThreadBuffers();
  if (isPointwise(s)) {
    const long block = 240, tasks = (M + block - 1) / block;
    g_pool.parallelFor(tasks, [&](long t, int) { g_isa.input_direct_rows(s, dy, WTp, dx, t * block, std::min(M, t * block + block)); });
    return nullptr;
  }
  // images are split among threads (col2im writes overlap within an image only)
  const long block = blockRows(K);
  const long per = std::max(1L, s.n / (4L * g_pool.size()));
  const long tasks = (s.n + per - 1) / per;
  g_pool.parallelFor(tasks, [&](long t, int thread) {
    const long n0 = t * per, n1 = std::min(s.n, n0 + per);
    g_isa.input_images(s, dy, WTp, dx, n0, n1, block, g_scratch[thread].get((size_t)block * K));
  });
  return nullptr;
}

// ---------------------------------------------------------------- depthwise convolutions (channel multiplier 1)
// shape as for conv2d with ci = co = C; at most 64 filter taps
bool depthwiseShape(Args& a, size_t i, ConvShape& s) {
  if (!readShape(a, i, s)) return false;
  if (s.ci != s.co || s.fh * s.fw > 64) {
    throwError(a.env, "daft_native: depthwise convolutions take a channel multiplier of 1 and at most 64 filter taps");
    return false;
  }
  return true;
}

// rows of ~`target` floats of output per task
long rowsPerTask(long rowFloats, long target = 16384) { return std::max(1L, target / std::max(1L, rowFloats)); }

// depthwiseConv2d(heap, [x, filter, out, ...shape])
napi_value DepthwiseConv2D(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  ConvShape s;
  if (!readArgs(env, info, a, 18) || !depthwiseShape(a, 3, s)) return nullptr;
  TENSOR(x, 0, (size_t)s.n * s.h * s.w * s.ci)
  TENSOR(w, 1, (size_t)s.fh * s.fw * s.ci)
  TENSOR(out, 2, (size_t)s.n * s.oh * s.ow * s.co)
  const long rows = s.n * s.oh, per = rowsPerTask(s.ow * s.co), tasks = (rows + per - 1) / per;
  g_pool.parallelFor(tasks, [&](long t, int) { g_isa.dw_forward_rows(s, x, w, out, t * per, std::min(rows, (t + 1) * per)); });
  return nullptr;
}

// depthwiseConv2dBackpropInput(heap, [dy, filter, dx, ...shape])
napi_value DepthwiseBackpropInput(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  ConvShape s;
  if (!readArgs(env, info, a, 18) || !depthwiseShape(a, 3, s)) return nullptr;
  TENSOR(dy, 0, (size_t)s.n * s.oh * s.ow * s.co)
  TENSOR(w, 1, (size_t)s.fh * s.fw * s.ci)
  TENSOR(dx, 2, (size_t)s.n * s.h * s.w * s.ci)
  const long rows = s.n * s.h, per = rowsPerTask(s.w * s.ci), tasks = (rows + per - 1) / per;
  g_pool.parallelFor(tasks, [&](long t, int) { g_isa.dw_input_rows(s, dy, w, dx, t * per, std::min(rows, (t + 1) * per)); });
  return nullptr;
}

// depthwiseConv2dBackpropFilter(heap, [x, dy, dw, ...shape]): fixed row chunks per thread, summed in order
// (deterministic for a given thread count)
napi_value DepthwiseBackpropFilter(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  ConvShape s;
  if (!readArgs(env, info, a, 18) || !depthwiseShape(a, 3, s)) return nullptr;
  TENSOR(x, 0, (size_t)s.n * s.h * s.w * s.ci)
  TENSOR(dy, 1, (size_t)s.n * s.oh * s.ow * s.co)
  TENSOR(dw, 2, (size_t)s.fh * s.fw * s.ci)
  ensureThreadBuffers();
  const long rows = s.n * s.oh;
  const size_t kc = (size_t)s.fh * s.fw * s.ci;
  const long chunks = std::max(1L, std::min<long>(g_pool.size(), rows)), per = (rows + chunks - 1) / chunks;
  for (long c = 0; c < chunks; c++) std::memset(g_partial[c].get(kc), 0, kc * sizeof(float));
  g_pool.parallelFor(chunks, [&](long c, int) {
    const long r0 = c * per, r1 = std::min(rows, r0 + per);
    if (r0 < r1) g_isa.dw_filter_rows(s, x, dy, g_partial[c].p, r0, r1);
  });
  std::memcpy(dw, g_partial[0].p, kc * sizeof(float));
  for (long c = 1; c < chunks; c++) {
    const float* src = g_partial[c].p;
    for (size_t i = 0; i < kc; i++) dw[i] += src[i];
  }
  return nullptr;
}

// maxPoolGrad(heap, [x, dy, dx, ...shape]): shape as for conv2d with ci = co = C (dilation 1 in tfjs), at most 64 taps;
// images split over the threads (windows overlap within an image only)
napi_value MaxPoolGrad(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  ConvShape s;
  if (!readArgs(env, info, a, 18) || !depthwiseShape(a, 3, s)) return nullptr;
  TENSOR(x, 0, (size_t)s.n * s.h * s.w * s.ci)
  TENSOR(dy, 1, (size_t)s.n * s.oh * s.ow * s.co)
  TENSOR(dx, 2, (size_t)s.n * s.h * s.w * s.ci)
  g_pool.parallelFor(s.n, [&](long n, int) { g_isa.maxpool_grad_images(s, x, dy, dx, n, n + 1); });
  return nullptr;
}

// rows per chunk of the channel loops: chunks are fixed by the thread count, so sums are reproducible
long bnChunks(long rows) { return std::max(1L, std::min<long>(g_pool.size(), rows / 64)); }

// bnSums(heap, [x, o (-1 = none), rows, c], center: Float32Array, s: Float64Array, t: Float64Array)
napi_value BnSums(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  napi_value argv[3];
  if (!readArgs(env, info, a, 4, argv, 3)) return nullptr;
  const long rows = (long)a.p[2], c = (long)a.p[3];
  if (rows < 1 || c < 1) return throwError(env, "daft_native: invalid BatchNorm shape");
  const size_t n = (size_t)rows * c;
  TENSOR(x, 0, n)
  OPTIONAL_TENSOR(o, 1, n)
  const float* center = typedArg<float>(env, argv[0], napi_float32_array, c, false, "center");
  double* s = center ? typedArg<double>(env, argv[1], napi_float64_array, c, false, "s") : nullptr;
  double* t = s ? typedArg<double>(env, argv[2], napi_float64_array, c, false, "t") : nullptr;
  if (!t) return nullptr;
  const long chunks = bnChunks(rows), per = (rows + chunks - 1) / chunks;
  std::vector<double> part((size_t)chunks * 2 * c, 0.0);
  g_pool.parallelFor(chunks, [&](long k, int) {
    const long r0 = k * per, r1 = std::min(rows, r0 + per);
    if (r0 < r1) g_isa.bn_sums(x, o, center, r0, r1, c, &part[(size_t)k * 2 * c], &part[(size_t)k * 2 * c + c]);
  });
  for (long j = 0; j < c; j++) s[j] = t[j] = 0.0;
  for (long k = 0; k < chunks; k++)
    for (long j = 0; j < c; j++) {
      s[j] += part[(size_t)k * 2 * c + j];
      t[j] += part[(size_t)k * 2 * c + c + j];
    }
  return nullptr;
}

// bnAffine(heap, [out, x, y (-1 = none), rows, c], a: Float32Array, b: Float32Array, g: Float32Array | null)
napi_value BnAffine(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  napi_value argv[3];
  if (!readArgs(env, info, a, 5, argv, 3)) return nullptr;
  const long rows = (long)a.p[3], c = (long)a.p[4];
  if (rows < 1 || c < 1) return throwError(env, "daft_native: invalid BatchNorm shape");
  const size_t n = (size_t)rows * c;
  TENSOR(out, 0, n)
  TENSOR(x, 1, n)
  OPTIONAL_TENSOR(y, 2, n)
  const float* va = typedArg<float>(env, argv[0], napi_float32_array, c, false, "a");
  const float* vb = va ? typedArg<float>(env, argv[1], napi_float32_array, c, false, "b") : nullptr;
  if (!vb) return nullptr;
  const float* vg = typedArg<float>(env, argv[2], napi_float32_array, c, true, "g");
  if (y && !vg) return throwError(env, "daft_native: bnAffine with y needs g");
  const long chunk = std::max(1L, 16384 / c), tasks = (rows + chunk - 1) / chunk;
  g_pool.parallelFor(tasks, [&](long k, int) {
    const long r0 = k * chunk, r1 = std::min(rows, r0 + chunk);
    g_isa.bn_affine(out, x, va, vb, y, vg, r0, r1, c);
  });
  return nullptr;
}

// ---------------------------------------------------------------- BatchNorm + activation (act 0 none, 1 ReLU, 2 ReLU6)
bool readAct(Args& a, size_t i, int& act) {
  act = (int)a.p[i];
  if (act < 0 || act > 2) {
    throwError(a.env, "daft_native: activation must be 0 (none), 1 (relu) or 2 (relu6)");
    return false;
  }
  return true;
}

// bnActAffine(heap, [out, x, rows, c, act, res (-1 = none)], a, b): out = act(x * a + b (+ res)) per channel
napi_value BnActAffine(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  napi_value argv[2];
  int act = 0;
  if (!readArgs(env, info, a, 6, argv, 2) || !readAct(a, 4, act)) return nullptr;
  const long rows = (long)a.p[2], c = (long)a.p[3];
  if (rows < 1 || c < 1) return throwError(env, "daft_native: invalid BatchNorm shape");
  const size_t n = (size_t)rows * c;
  TENSOR(out, 0, n)
  TENSOR(x, 1, n)
  OPTIONAL_TENSOR(res, 5, n)
  const float* va = typedArg<float>(env, argv[0], napi_float32_array, c, false, "a");
  const float* vb = va ? typedArg<float>(env, argv[1], napi_float32_array, c, false, "b") : nullptr;
  if (!vb) return nullptr;
  const long chunk = std::max(1L, 16384 / c), tasks = (rows + chunk - 1) / chunk;
  g_pool.parallelFor(tasks, [&](long k, int) { g_isa.bn_act_affine(out, x, res, va, vb, act, k * chunk, std::min(rows, (k + 1) * chunk), c); });
  return nullptr;
}

// bnActSums(heap, [x, dy, rows, c, act, res (-1 = none)], a, b, center, s, t): g = dy where the activation of
// y = x * a + b (+ res) passes it; s = sum(g), t = sum(g * (x - center)) per channel (float64; fixed row chunks per
// thread count, as bnSums)
napi_value BnActSums(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  napi_value argv[5];
  int act = 0;
  if (!readArgs(env, info, a, 6, argv, 5) || !readAct(a, 4, act)) return nullptr;
  const long rows = (long)a.p[2], c = (long)a.p[3];
  if (rows < 1 || c < 1) return throwError(env, "daft_native: invalid BatchNorm shape");
  const size_t n = (size_t)rows * c;
  TENSOR(x, 0, n)
  TENSOR(dy, 1, n)
  OPTIONAL_TENSOR(res, 5, n)
  const float* va = typedArg<float>(env, argv[0], napi_float32_array, c, false, "a");
  const float* vb = va ? typedArg<float>(env, argv[1], napi_float32_array, c, false, "b") : nullptr;
  const float* center = vb ? typedArg<float>(env, argv[2], napi_float32_array, c, false, "center") : nullptr;
  double* s = center ? typedArg<double>(env, argv[3], napi_float64_array, c, false, "s") : nullptr;
  double* t = s ? typedArg<double>(env, argv[4], napi_float64_array, c, false, "t") : nullptr;
  if (!t) return nullptr;
  const long chunks = bnChunks(rows), per = (rows + chunks - 1) / chunks;
  std::vector<double> part((size_t)chunks * 2 * c, 0.0);
  g_pool.parallelFor(chunks, [&](long k, int) {
    const long r0 = k * per, r1 = std::min(rows, r0 + per);
    if (r0 < r1) g_isa.bn_act_sums(x, dy, res, va, vb, act, center, r0, r1, c, &part[(size_t)k * 2 * c], &part[(size_t)k * 2 * c + c]);
  });
  for (long j = 0; j < c; j++) s[j] = t[j] = 0.0;
  for (long k = 0; k < chunks; k++)
    for (long j = 0; j < c; j++) {
      s[j] += part[(size_t)k * 2 * c + j];
      t[j] += part[(size_t)k * 2 * c + c + j];
    }
  return nullptr;
}

// bnActGrad(heap, [out, x, dy, rows, c, act, res (-1 = none), dres (with res)], a, b, k1, k2, k3):
// out = g * k1 + x * k2 + k3, g as in bnActSums; dres = g
napi_value BnActGrad(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  napi_value argv[5];
  int act = 0;
  if (!readArgs(env, info, a, 8, argv, 5) || !readAct(a, 5, act)) return nullptr;
  const long rows = (long)a.p[3], c = (long)a.p[4];
  if (rows < 1 || c < 1) return throwError(env, "daft_native: invalid BatchNorm shape");
  const size_t n = (size_t)rows * c;
  TENSOR(out, 0, n)
  TENSOR(x, 1, n)
  TENSOR(dy, 2, n)
  OPTIONAL_TENSOR(res, 6, n)
  OPTIONAL_TENSOR(dres, 7, n)
  if ((res == nullptr) != (dres == nullptr)) return throwError(env, "daft_native: bnActGrad takes res and dres together");
  const float* v[5] = {nullptr, nullptr, nullptr, nullptr, nullptr};
  const char* names[5] = {"a", "b", "k1", "k2", "k3"};
  for (int i = 0; i < 5; i++) {
    v[i] = typedArg<float>(env, argv[i], napi_float32_array, c, false, names[i]);
    if (!v[i]) return nullptr;
  }
  const long chunk = std::max(1L, 16384 / c), tasks = (rows + chunk - 1) / chunk;
  g_pool.parallelFor(tasks, [&](long k, int) {
    g_isa.bn_act_grad(out, x, dy, res, dres, v[0], v[1], act, v[2], v[3], v[4], k * chunk, std::min(rows, (k + 1) * chunk), c);
  });
  return nullptr;
}

// elementwise(heap, [op, a, b (-1 for unary), out, n]): op 0 = a + b, 1 = relu(a), 2 = the ReLU gradient
// (a = dy where b = x > 0; one pass where tfjs runs Step, Cast and Multiply), 3 = relu6(a), 4 = the ReLU6 gradient
// (a = dy where 0 < b = x <= 6)
napi_value Elementwise(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  if (!readArgs(env, info, a, 5)) return nullptr;
  const int op = (int)a.p[0];
  const double count = a.p[4];
  if (op < 0 || op > 4 || !(count >= 0)) return throwError(env, "daft_native: invalid elementwise operation");
  const size_t n = (size_t)count;
  TENSOR(x, 1, n)
  OPTIONAL_TENSOR(y, 2, n)
  if (op != 1 && op != 3 && !y) return throwError(env, "daft_native: this operation needs two tensors");
  TENSOR(out, 3, n)
  const long chunk = 1 << 16, tasks = (long)((n + chunk - 1) / chunk);
  g_pool.parallelFor(tasks, [&](long t, int) {
    const long i0 = t * chunk, i1 = std::min<long>((long)n, i0 + chunk);
    if (op == 0)
      g_isa.add_range(x, y, out, i0, i1);
    else if (op == 1)
      g_isa.relu_range(x, out, i0, i1);
    else if (op == 2)
      g_isa.relu_grad(x, y, out, i0, i1);
    else if (op == 3)
      g_isa.relu6_range(x, out, i0, i1);
    else
      g_isa.relu6_grad(x, y, out, i0, i1);
  });
  return nullptr;
}

// one range of sgdStep: every product and sum rounded on its own (no FMA contraction), as tfjs's Multiply / Add / Sub
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
void sgdRange(const float* __restrict p, float* __restrict out, const float* __restrict g, float* __restrict buf, bool first, float m, float lr, float wd, long i0, long i1) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  for (long i = i0; i < i1; i++) {
    float d = g[i];
    if (wd != 0.0f) d = d + wd * p[i];
    if (buf) {
      if (!first) d = m * buf[i] + d;
      buf[i] = d;
    }
    out[i] = p[i] - lr * d;
  }
}

// one range of blendStats: r = r * keep + b * take, each product and the sum rounded on its own
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("fp-contract=off")))
#endif
void blendRange(const float* __restrict r, const float* __restrict b, float* __restrict out, float keep, float take, float scale, long n) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
  if (scale == 1.0f)
    for (long i = 0; i < n; i++) out[i] = r[i] * keep + b[i] * take;
  else
    for (long i = 0; i < n; i++) {
      const float bs = b[i] * scale;
      out[i] = r[i] * keep + bs * take;
    }
}

// (heap, [count, head - 1 more values, then `per` values per item]) for the calls over many tensors: checks the
// Float64Array's length against the count it starts with, then reads the arguments as readArgs; false (an error
// thrown) when anything does not match
bool readCountedArgs(napi_env env, napi_callback_info info, Args& a, const char* name, size_t head, size_t per, long& count) {
  size_t argc = 2;
  napi_value argv[2];
  const std::string fn = std::string("daft_native: ") + name;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc < 2) {
    throwError(env, fn + "(heap, params)");
    return false;
  }
  napi_typedarray_type type;
  size_t length = 0;
  void* data;
  napi_value ab;
  size_t off;
  if (napi_get_typedarray_info(env, argv[1], &type, &length, &data, &ab, &off) != napi_ok || type != napi_float64_array || length < head) {
    throwError(env, fn + " expects a Float64Array of parameters");
    return false;
  }
  const double c = ((double*)data)[0];
  if (!(c >= 0) || length != head + per * (size_t)c) {
    throwError(env, fn + ": parameter count does not match");
    return false;
  }
  count = (long)c;
  return readArgs(env, info, a, length);
}

// blendStats(heap, [count, (r, b, n, keep, take, out, scale) x count]): out = r * keep + (b * scale) * take for every
// item in one call (BatchNorm's running statistics, running = (1 - momentum) * running + momentum * batch, the batch
// variance made unbiased by scale = n / (n - 1), as tfjs's Multiply, Multiply, Multiply and Add round them). Channel
// vectors are short: one thread.
napi_value BlendStats(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  long count = 0;
  if (!readCountedArgs(env, info, a, "blendStats", 1, 7, count)) return nullptr;
  for (long t = 0; t < count; t++) {
    const size_t k = 1 + 7 * (size_t)t;
    const double n = a.p[k + 2];
    if (!(n >= 0)) return throwError(env, "daft_native: blendStats: invalid element count");
    const float* r = tensorAt(a, k, (size_t)n);
    const float* b = tensorAt(a, k + 1, (size_t)n);
    float* out = const_cast<float*>(tensorAt(a, k + 5, (size_t)n));
    if (!a.ok) return throwError(env, "daft_native: blendStats: a tensor lies outside the wasm heap");
    blendRange(r, b, out, (float)a.p[k + 3], (float)a.p[k + 4], (float)a.p[k + 6], (long)n);
  }
  return nullptr;
}

// sgdStep(heap, [count, momentum, (p, g, buf (-1 = none), n, lr, weightDecay, first, out) x count]): PyTorch's SGD
// (dampening 0, no Nesterov) over many parameters in one call, in the arithmetic of the tfjs ops it replaces (float32,
// each product and sum rounded): d = g + wd * p; buf = first ? d : momentum * buf + d (the buffer in place);
// out = p - lr * buf (without a buffer: out = p - lr * d). The new parameter goes to a new tensor, never over p: tfjs
// kernels may cache what they derive from a tensor (packed weights) for as long as the tensor lives. Work is split
// into chunks of at most 16384 elements over the threads.
napi_value SgdStep(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  long k = 0;
  if (!readCountedArgs(env, info, a, "sgdStep", 2, 8, k)) return nullptr;
  const float m = (float)a.p[1];
  struct Item {
    const float *p, *g;
    float *buf, *out;
    long n;
    float lr, wd;
    bool first;
  };
  std::vector<Item> items((size_t)k);
  struct Chunk {
    long item, i0, i1;
  };
  std::vector<Chunk> chunks;
  const long chunk = 16384;
  for (long t = 0; t < k; t++) {
    const size_t b = 2 + 8 * (size_t)t;
    const double n = a.p[b + 3];
    if (!(n >= 0)) return throwError(env, "daft_native: sgdStep: invalid element count");
    Item& it = items[(size_t)t];
    it.n = (long)n;
    it.p = tensorAt(a, b, (size_t)it.n);
    it.g = tensorAt(a, b + 1, (size_t)it.n);
    it.out = const_cast<float*>(tensorAt(a, b + 7, (size_t)it.n));
    it.buf = a.p[b + 2] >= 0 ? const_cast<float*>(tensorAt(a, b + 2, (size_t)it.n)) : nullptr;
    if (!a.ok) return throwError(env, "daft_native: sgdStep: a tensor lies outside the wasm heap");
    it.lr = (float)a.p[b + 4];
    it.wd = (float)a.p[b + 5];
    it.first = a.p[b + 6] != 0;
    for (long i0 = 0; i0 < it.n; i0 += chunk) chunks.push_back({t, i0, std::min(it.n, i0 + chunk)});
  }
  g_pool.parallelFor((long)chunks.size(), [&](long c, int) {
    const Chunk& ch = chunks[(size_t)c];
    const Item& it = items[(size_t)ch.item];
    sgdRange(it.p, it.out, it.g, it.buf, it.first, m, it.lr, it.wd, ch.i0, ch.i1);
  });
  return nullptr;
}

// copyRegion(heap, [src, dst, rank, srcShape[r], dstShape[r], srcBegin[r], dstBegin[r], size[r], srcStep[r], fill]):
// dst[dstBegin + i] = src[srcBegin + i * srcStep] for i < size (4-byte elements, rank <= 6; Slice, StridedSlice,
// PadV2); with a fill value (not NaN) the rest of dst is set to it first. Rows are split over the threads. An optional
// dstStep[r] after the fill scatters instead: dst[dstBegin + i * dstStep] (the StridedSlice gradient).
napi_value CopyRegion(napi_env env, napi_callback_info info) {
  CallGuard serial;
  Args a;
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  napi_typedarray_type type;
  size_t length = 0;
  void* pdata;
  napi_value ab;
  size_t off;
  if (argc < 2 || napi_get_typedarray_info(env, argv[1], &type, &length, &pdata, &ab, &off) != napi_ok || length < 4)
    return throwError(env, "daft_native: copyRegion(heap, params)");
  const long rank = (long)((double*)pdata)[2];
  if (rank < 1 || rank > 6) return throwError(env, "daft_native: copyRegion supports rank 1 to 6");
  // optional dstStep[r] after the fill: dst[dstBegin + i * dstStep] (the StridedSlice gradient's scatter)
  const bool dstStepped = length == (size_t)(4 + 7 * rank);
  if (!readArgs(env, info, a, dstStepped ? 4 + 7 * rank : 4 + 6 * rank)) return nullptr;
  long srcShape[6], dstShape[6], sb[6], db[6], size[6], step[6], dstep[6];
  size_t srcN = 1, dstN = 1;
  for (long d = 0; d < rank; d++) {
    srcShape[d] = (long)a.p[3 + d];
    dstShape[d] = (long)a.p[3 + rank + d];
    sb[d] = (long)a.p[3 + 2 * rank + d];
    db[d] = (long)a.p[3 + 3 * rank + d];
    size[d] = (long)a.p[3 + 4 * rank + d];
    step[d] = (long)a.p[3 + 5 * rank + d];
    dstep[d] = dstStepped ? (long)a.p[4 + 6 * rank + d] : 1;
    if (srcShape[d] < 0 || dstShape[d] < 0 || sb[d] < 0 || db[d] < 0 || size[d] < 0 || step[d] < 1 || dstep[d] < 1 ||
        (size[d] > 0 && sb[d] + (size[d] - 1) * step[d] >= srcShape[d]) ||
        (size[d] > 0 && db[d] + (size[d] - 1) * dstep[d] >= dstShape[d]))
      return throwError(env, "daft_native: copyRegion region out of bounds");
    srcN *= (size_t)srcShape[d];
    dstN *= (size_t)dstShape[d];
  }
  TENSOR(src, 0, srcN)
  TENSOR(dst, 1, dstN)
  const double fill = a.p[3 + 6 * rank];
  long srcStride[6], dstStride[6];
  srcStride[rank - 1] = dstStride[rank - 1] = 1;
  for (long d = rank - 2; d >= 0; d--) {
    srcStride[d] = srcStride[d + 1] * srcShape[d + 1];
    dstStride[d] = dstStride[d + 1] * dstShape[d + 1];
  }
  bool anyDstep = false;
  for (long d = 0; d < rank; d++) anyDstep = anyDstep || dstep[d] > 1;
  if (fill == fill && anyDstep) {
    // a scatter: all of dst first (the region is a quarter or less of it for a stride-2 subsampling's gradient)
    const float v = (float)fill;
    const long chunk = 1 << 16, tasks = (long)((dstN + chunk - 1) / chunk);
    g_pool.parallelFor(tasks, [&](long t, int) {
      for (long i = t * chunk; i < std::min<long>((long)dstN, (t + 1) * chunk); i++) dst[i] = v;
    });
  } else if (fill == fill) {
    // only what the region does not cover: dst rows (all axes but the last) outside the region on a leading axis
    // whole, the others before and after the region's run on the last axis (a pad writes its output once, not twice)
    const float v = (float)fill;
    const long last = dstShape[rank - 1];
    long dstRows = 1;
    for (long d = 0; d < rank - 1; d++) dstRows *= dstShape[d];
    const long lo = db[rank - 1], hi = db[rank - 1] + size[rank - 1];
    const long chunk = std::max(1L, 16384 / std::max(1L, last)), tasks = (dstRows + chunk - 1) / chunk;
    g_pool.parallelFor(tasks, [&](long t, int) {
      for (long r = t * chunk; r < std::min(dstRows, (t + 1) * chunk); r++) {
        bool inside = true;
        for (long d = rank - 2, rem = r; d >= 0; d--) {
          const long idx = rem % dstShape[d];
          rem /= dstShape[d];
          if (idx < db[d] || idx >= db[d] + size[d]) inside = false;
        }
        float* row = dst + (size_t)r * last;
        if (!inside || size[rank - 1] == 0) {
          for (long j = 0; j < last; j++) row[j] = v;
        } else {
          for (long j = 0; j < lo; j++) row[j] = v;
          for (long j = hi; j < last; j++) row[j] = v;
        }
      }
    });
  }
  for (long d = 0; d < rank; d++)
    if (size[d] == 0) return nullptr;
  // one run per index of the axes before `inner`: trailing axes copied whole with step 1 merge into the run
  long inner = rank - 1;
  long run = size[rank - 1];
  const bool contiguous = (step[rank - 1] == 1 && dstep[rank - 1] == 1) || size[rank - 1] == 1;
  while (contiguous && inner > 0 && step[inner] == 1 && step[inner - 1] == 1 && dstep[inner] == 1 && dstep[inner - 1] == 1 && size[inner] == srcShape[inner] &&
         size[inner] == dstShape[inner] && sb[inner] == 0 && db[inner] == 0) {
    inner--;
    run *= size[inner];
  }
  if (!contiguous) {
    inner = rank;  // element by element along a stepped last axis
    run = 1;
  }
  long rows = 1;
  for (long d = 0; d < std::min(inner, rank); d++) rows *= size[d];
  const long base = inner < rank ? sb[inner] * srcStride[inner] : 0, dbase = inner < rank ? db[inner] * dstStride[inner] : 0;
  const long chunk = std::max(1L, 16384 / std::max(1L, run)), tasks = (rows + chunk - 1) / chunk;
  g_pool.parallelFor(tasks, [&](long t, int) {
    for (long r = t * chunk; r < std::min(rows, (t + 1) * chunk); r++) {
      long rem = r, so = base, dof = dbase;
      for (long d = std::min(inner, rank) - 1; d >= 0; d--) {
        const long idx = rem % size[d];
        rem /= size[d];
        so += (sb[d] + idx * step[d]) * srcStride[d];
        dof += (db[d] + idx * dstep[d]) * dstStride[d];
      }
      if (run == 1)
        dst[dof] = src[so];
      else
        g_isa.copy_floats(dst + dof, src + so, run);
    }
  });
  return nullptr;
}

// info() -> { isa, threads, isas: [...] }
napi_value Info(napi_env env, napi_callback_info) {
  napi_value obj, v, arr;
  napi_create_object(env, &obj);
  napi_create_string_utf8(env, g_isa.name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, obj, "isa", v);
  napi_create_int32(env, g_pool.size(), &v);
  napi_set_named_property(env, obj, "threads", v);
  napi_get_boolean(env, g_directEnabled, &v);
  napi_set_named_property(env, obj, "direct", v);
  napi_create_int32(env, g_filterCols, &v);
  napi_set_named_property(env, obj, "filterCols", v);
  napi_create_int32(env, g_winograd, &v);
  napi_set_named_property(env, obj, "winograd", v);
  napi_create_double(env, (double)g_pool.spinLimit(), &v);
  napi_set_named_property(env, obj, "spinUs", v);
  napi_get_boolean(env, g_pool.spinning(), &v);
  napi_set_named_property(env, obj, "spinning", v);
  napi_create_double(env, (double)g_pool.calls.load(), &v);
  napi_set_named_property(env, obj, "poolCalls", v);
  napi_create_double(env, g_pool.wakeNs.load() / 1e3, &v);
  napi_set_named_property(env, obj, "poolWakeUs", v);
  napi_create_double(env, g_pool.tailNs.load() / 1e3, &v);
  napi_set_named_property(env, obj, "poolTailUs", v);
  napi_create_double(env, g_addonNs.load() / 1e3, &v);
  napi_set_named_property(env, obj, "addonUs", v);
  napi_create_double(env, g_parNs.load() / 1e3, &v);
  napi_set_named_property(env, obj, "parallelUs", v);
  auto isas = supportedIsas();
  napi_create_array_with_length(env, isas.size(), &arr);
  for (size_t i = 0; i < isas.size(); i++) {
    napi_create_string_utf8(env, isas[i].name, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, arr, i, v);
  }
  napi_set_named_property(env, obj, "isas", arr);
  return obj;
}

// configure(threads (0 = keep), isa ('' = keep), direct (-1 = keep, 0 = im2col only, 1 = direct where it applies),
// filterCols (-1 = keep, 0 = the filter gradient by rows only, 1 = by columns where expected faster, 2 = always),
// winograd (-1 = keep, 0 = off, 1 = where expected faster, 2 = wherever it applies), spinUs (-1 = keep, 0 = never
// spin, else the most a waiting thread spins while the machine has a core to spare))
napi_value Configure(napi_env env, napi_callback_info info) {
  CallGuard serial;
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  if (argc >= 1) {
    int32_t threads = 0;
    if (napi_get_value_int32(env, argv[0], &threads) == napi_ok && threads > 0) g_pool.resize(std::min(threads, 64));
  }
  if (argc >= 2) {
    char name[32] = {0};
    size_t len = 0;
    if (napi_get_value_string_utf8(env, argv[1], name, sizeof(name), &len) == napi_ok && len > 0) {
      bool found = false;
      for (auto& isa : supportedIsas())
        if (std::string(isa.name) == name) {
          g_isa = isa;
          found = true;
        }
      if (!found) return throwError(env, std::string("daft_native: instruction set '") + name + "' is not supported by this CPU");
    }
  }
  if (argc >= 3) {
    int32_t direct = -1;
    if (napi_get_value_int32(env, argv[2], &direct) == napi_ok && direct >= 0) g_directEnabled = direct != 0;
  }
  if (argc >= 4) {
    int32_t cols = -1;
    if (napi_get_value_int32(env, argv[3], &cols) == napi_ok && cols >= 0 && cols <= 2) g_filterCols = cols;
  }
  if (argc >= 5) {
    int32_t wino = -1;
    if (napi_get_value_int32(env, argv[4], &wino) == napi_ok && wino >= 0 && wino <= 2) g_winograd = wino;
  }
  if (argc >= 6) {
    int32_t spinUs = -1;
    if (napi_get_value_int32(env, argv[5], &spinUs) == napi_ok && spinUs >= 0) g_pool.setSpin(spinUs);
  }

  return Info(env, info);
}

napi_value Init(napi_env env, napi_value exports) {
  g_isa = supportedIsas().front();
  unsigned hw = std::thread::hardware_concurrency();
  g_pool.resize((int)std::max(1u, std::min(hw, 64u)));
  napi_property_descriptor props[] = {
      {"conv2d", nullptr, Conv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropFilter", nullptr, Conv2DBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"conv2dBackpropInput", nullptr, Conv2DBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseConv2d", nullptr, DepthwiseConv2D, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseConv2dBackpropInput", nullptr, DepthwiseBackpropInput, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"depthwiseConv2dBackpropFilter", nullptr, DepthwiseBackpropFilter, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnSums", nullptr, BnSums, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnAffine", nullptr, BnAffine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnActAffine", nullptr, BnActAffine, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnActSums", nullptr, BnActSums, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"bnActGrad", nullptr, BnActGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"maxPoolGrad", nullptr, MaxPoolGrad, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"elementwise", nullptr, Elementwise, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"copyRegion", nullptr, CopyRegion, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"sgdStep", nullptr, SgdStep, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"blendStats", nullptr, BlendStats, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"info", nullptr, Info, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"configure", nullptr, Configure, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
