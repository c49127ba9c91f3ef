// The selective SSM's recurrence on a CPU, forward and backward, as XLA FFI custom calls
// (kernels/selective_scan.py holds the math, the shapes and the XLA version of the same loops).
//
//   h_t = (1 - r_t) exp(dt_t A) h_{t-1} + u_t B_t^T,      y_t = h_t C_t        (per batch element)
//
// Why a hand-written loop: the recurrence is independent across batch elements and channels, so each block of
// 16 channels of one batch element can run all T steps with its N x 16 state in registers, reading only that
// step's dt, u, B, C. XLA's loops move the whole [B, N, D] state through memory at every step instead, and pay
// for a loop iteration per step. At [T, B, D, N] = [128, 8, 128, 16], forward and backward took 4.2-5.1 ms as
// XLA loops and take 1.3-2.1 ms here.
//
// Layouts (row-major): dt, u, y [T, B, D]; b, c [T, B, N]; a [N, D]; resets [T, B]; states [B, N, D];
// the states entering each chunk of `chunk` steps [K, B, N, D], K = ceil(T / chunk).
// Built by kernels/native/build.py (-O3 -march=native).

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "xla/ffi/api/ffi.h"

namespace ffi = xla::ffi;

namespace {

// A block of 16 channels as one vector (GCC/Clang vector extensions: the compiler maps it onto the machine's
// SIMD registers, two AVX2 or one AVX-512 register). Channels past the last full block run one at a time (Lane =
// float) through the same templates.
typedef float Vec __attribute__((vector_size(64)));
typedef int32_t IntVec __attribute__((vector_size(64)));
constexpr int64_t kBlock = sizeof(Vec) / sizeof(float);

template <typename Lane> inline Lane Load(const float* p) {
  Lane v;
  std::memcpy(&v, p, sizeof(Lane));
  return v;
}
template <typename Lane> inline void Store(float* p, Lane v) { std::memcpy(p, &v, sizeof(Lane)); }
inline float Sum(float v) { return v; }
inline float Sum(Vec v) {
  float total = 0.0f;
  for (int64_t w = 0; w < kBlock; ++w) total += v[w];
  return total;
}
inline int32_t ToInt(float v) { return static_cast<int32_t>(v); }
inline IntVec ToInt(Vec v) { return __builtin_convertvector(v, IntVec); }
inline float FromBits(int32_t bits) {
  float v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}
inline Vec FromBits(IntVec bits) {
  Vec v;
  std::memcpy(&v, &bits, sizeof(v));
  return v;
}

// exp(x) for x <= 0 (here x = dt A), inline and branch-free so that it runs on whole vectors: x = k ln2 + r with
// |r| <= ln2 / 2, exp(r) by Cephes' degree-6 polynomial for expf (about 1 ulp on that range), 2^k written into
// the exponent bits. Calling libmvec's vector expf instead made the forward pass about 1.7x slower.
template <typename Lane> inline Lane ExpNonPositive(Lane x) {
  // Clamped so that 2^k stays a normal number: exp(-87) is near float's smallest normal, and a positive x (A is
  // negative in the layer) saturates near float's largest instead of writing garbage into the exponent.
  x = x < -87.0f ? Lane{} - 87.0f : x;
  x = x > 88.0f ? Lane{} + 88.0f : x;
  // Round to nearest by adding and removing 1.5 * 2^23 (not compiled with -ffast-math, which would fold it).
  const Lane k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const Lane r = x - k * 0.693359375f + k * 2.12194440e-4f;  // ln 2 in two parts
  Lane p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  return p * FromBits((ToInt(k) + 127) << 23);
}

struct Shape {
  int64_t length, batch, width, states, chunk;
};

// Row-major offsets: row (t, b) of the [T, B, ...] inputs, and row n of batch element b's [N, D] state.
inline int64_t Row(const Shape& s, int64_t t, int64_t b) { return t * s.batch + b; }
inline int64_t State(const Shape& s, int64_t b, int64_t n) { return (b * s.states + n) * s.width; }

struct Inputs {
  const float *dt, *u, *b, *c, *a;  // a: [N, D]
  const bool* resets;
};

// All T steps of channels [d0, d0 + lanes) of batch element b; h: scratch for the N state rows.
template <typename Lane>
void ForwardBlock(const Shape& s, const Inputs& in, int64_t b, int64_t d0, const float* h0, float* y, float* last,
                  float* entering, Lane* h) {
  for (int64_t n = 0; n < s.states; ++n) h[n] = Load<Lane>(h0 + State(s, b, n) + d0);
  for (int64_t t = 0; t < s.length; ++t) {
    if (t % s.chunk == 0) {
      float* out = entering + (t / s.chunk) * s.batch * s.states * s.width;
      for (int64_t n = 0; n < s.states; ++n) Store(out + State(s, b, n) + d0, h[n]);
    }
    const int64_t row = Row(s, t, b);
    const Lane dt = Load<Lane>(in.dt + row * s.width + d0), u = Load<Lane>(in.u + row * s.width + d0);
    const float* b_t = in.b + row * s.states;
    const float* c_t = in.c + row * s.states;
    const float keep = in.resets[row] ? 0.0f : 1.0f;
    Lane y_t{};
    for (int64_t n = 0; n < s.states; ++n) {
      h[n] = keep * ExpNonPositive(dt * Load<Lane>(in.a + n * s.width + d0)) * h[n] + u * b_t[n];
      y_t += h[n] * c_t[n];
    }
    Store(y + row * s.width + d0, y_t);
  }
  for (int64_t n = 0; n < s.states; ++n) Store(last + State(s, b, n) + d0, h[n]);
}

struct Cotangents {
  float *dt, *u, *b, *c, *a, *h0;
};

// Scratch of one block's backward pass: one chunk's decays and states, the adjoint flowing back, A's gradient,
// and the per-channel terms of B's and C's gradients for every step of the current batch element (summed over
// the channel blocks, then across the vector once, instead of once per block).
template <typename Lane>
struct BackwardScratch {
  std::vector<Lane> decays, states, flow, grad_a, grad_b, grad_c;
  explicit BackwardScratch(const Shape& s)
      : decays(s.chunk * s.states), states((s.chunk + 1) * s.states), flow(s.states), grad_a(s.states),
        grad_b(s.length * s.states), grad_c(s.length * s.states) {}
};

// Recomputes one chunk's decays and states (states[i]: the state before step start + i; states[steps]: after).
template <typename Lane>
void RecomputeChunk(const Shape& s, const Inputs& in, int64_t b, int64_t d0, int64_t start, int64_t steps,
                    const float* h_in, Lane* decays, Lane* states) {
  for (int64_t n = 0; n < s.states; ++n) states[n] = Load<Lane>(h_in + State(s, b, n) + d0);
  for (int64_t i = 0; i < steps; ++i) {
    const int64_t row = Row(s, start + i, b);
    const Lane dt = Load<Lane>(in.dt + row * s.width + d0), u = Load<Lane>(in.u + row * s.width + d0);
    const float* b_t = in.b + row * s.states;
    const float keep = in.resets[row] ? 0.0f : 1.0f;
    for (int64_t n = 0; n < s.states; ++n) {
      const Lane decay = keep * ExpNonPositive(dt * Load<Lane>(in.a + n * s.width + d0));
      decays[i * s.states + n] = decay;
      states[(i + 1) * s.states + n] = decay * states[i * s.states + n] + u * b_t[n];
    }
  }
}

// The adjoint recurrence of channels [d0, d0 + lanes) of batch element b, chunk by chunk from the end,
//   lam_t = dy_t C_t^T + (1 - r_{t+1}) exp(dt_{t+1} A) lam_{t+1},
// writing dt's, u's and h0's gradients and adding this block's share to A's (grad_a_total) and, in scratch, to
// B's and C's.
template <typename Lane>
void BackwardBlock(const Shape& s, const Inputs& in, int64_t b, int64_t d0, const float* entering, const float* dy,
                   const float* dlast, const Cotangents& out, BackwardScratch<Lane>& scratch, float* grad_a_total) {
  Lane* flow = scratch.flow.data();
  Lane* grad_a = scratch.grad_a.data();
  for (int64_t n = 0; n < s.states; ++n) {
    flow[n] = Load<Lane>(dlast + State(s, b, n) + d0);
    grad_a[n] = Lane{};
  }
  const int64_t chunks = (s.length + s.chunk - 1) / s.chunk;
  for (int64_t k = chunks - 1; k >= 0; --k) {
    const int64_t start = k * s.chunk, steps = std::min(s.chunk, s.length - start);
    Lane* decays = scratch.decays.data();
    Lane* states = scratch.states.data();
    RecomputeChunk(s, in, b, d0, start, steps, entering + k * s.batch * s.states * s.width, decays, states);
    for (int64_t i = steps - 1; i >= 0; --i) {
      const int64_t t = start + i, row = Row(s, t, b);
      const Lane dt = Load<Lane>(in.dt + row * s.width + d0), u = Load<Lane>(in.u + row * s.width + d0);
      const Lane dy_t = Load<Lane>(dy + row * s.width + d0);
      const float* b_t = in.b + row * s.states;
      const float* c_t = in.c + row * s.states;
      Lane grad_dt{}, grad_u{};
      for (int64_t n = 0; n < s.states; ++n) {
        const Lane lam = dy_t * c_t[n] + flow[n];  // d loss / d h_t
        scratch.grad_c[t * s.states + n] += states[(i + 1) * s.states + n] * dy_t;
        scratch.grad_b[t * s.states + n] += lam * u;
        grad_u += lam * b_t[n];
        flow[n] = decays[i * s.states + n] * lam;
        const Lane grad_log_decay = flow[n] * states[i * s.states + n];  // d loss / d (dt_t A)
        grad_dt += grad_log_decay * Load<Lane>(in.a + n * s.width + d0);
        grad_a[n] += grad_log_decay * dt;
      }
      Store(out.dt + row * s.width + d0, grad_dt);
      Store(out.u + row * s.width + d0, grad_u);
    }
  }
  for (int64_t n = 0; n < s.states; ++n) {
    Store(out.h0 + State(s, b, n) + d0, flow[n]);
    float* grad_a_row = grad_a_total + n * s.width + d0;
    Store(grad_a_row, Load<Lane>(grad_a_row) + grad_a[n]);
  }
}

// B's and C's gradients of batch element b: the per-channel terms summed across the vector.
template <typename Lane>
void FlushStateGradients(const Shape& s, int64_t b, const Cotangents& out, BackwardScratch<Lane>& scratch) {
  for (int64_t t = 0; t < s.length; ++t)
    for (int64_t n = 0; n < s.states; ++n) {
      const int64_t i = t * s.states + n, at = Row(s, t, b) * s.states + n;
      out.b[at] += Sum(scratch.grad_b[i]);
      out.c[at] += Sum(scratch.grad_c[i]);
      scratch.grad_b[i] = Lane{};
      scratch.grad_c[i] = Lane{};
    }
}

Shape ShapeOf(ffi::Buffer<ffi::F32>& dt, ffi::Buffer<ffi::F32>& b, int64_t chunk) {
  auto d = dt.dimensions();
  return Shape{d[0], d[1], d[2], b.dimensions()[2], std::max<int64_t>(chunk, 1)};
}

// Below this many state elements (T x B x N x D) a call runs on its own thread. An acting step's 32 x 16 x 128
// takes tens of microseconds, too little to be sure that waking a second thread pays (the threshold is a guess,
// not measured).
constexpr int64_t kParallelElements = 1 << 18;

// Runs `process(b, worker)` for every batch element b in [0, count), on the calling thread and on helper tasks of
// XLA's intra-op thread pool, each taking the next element until none is left; returns when all are done. Each
// thread makes its own `worker` (scratch) when it gets an element, and hands it to `finish` (under a lock) after its
// last. Everything is captured by value: a helper that starts after the caller has returned finds no element left
// and touches nothing else.
template <typename MakeWorker, typename Process, typename Finish>
void ForEachBatchElement(ffi::ThreadPool& pool, int64_t count, bool parallel, MakeWorker make_worker,
                         Process process, Finish finish) {
  struct Progress {
    std::atomic<int64_t> next{0};
    std::mutex mutex;
    std::condition_variable changed;
    int64_t done = 0;
  };
  auto progress = std::make_shared<Progress>();
  auto drain = [=]() {
    int64_t b = progress->next.fetch_add(1);
    if (b >= count) return;
    auto worker = make_worker();
    int64_t processed = 0;
    for (; b < count; b = progress->next.fetch_add(1), ++processed) process(b, worker);
    std::lock_guard<std::mutex> lock(progress->mutex);
    finish(worker);
    progress->done += processed;
    progress->changed.notify_all();
  };
  const int64_t helpers = parallel ? std::min(pool.num_threads(), count - 1) : 0;
  for (int64_t i = 0; i < helpers; ++i) pool.Schedule(std::function<void()>(drain));
  drain();
  std::unique_lock<std::mutex> lock(progress->mutex);
  progress->changed.wait(lock, [&] { return progress->done == count; });
}

Inputs InputsOf(ffi::Buffer<ffi::F32>& dt, ffi::Buffer<ffi::F32>& u, ffi::Buffer<ffi::F32>& b,
                ffi::Buffer<ffi::F32>& c, ffi::Buffer<ffi::F32>& a, ffi::Buffer<ffi::PRED>& resets) {
  return Inputs{dt.typed_data(), u.typed_data(), b.typed_data(), c.typed_data(), a.typed_data(),
                resets.typed_data()};
}

bool WorthSharing(const Shape& s) { return s.length * s.batch * s.states * s.width >= kParallelElements; }

ffi::Error Forward(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> dt, ffi::Buffer<ffi::F32> u,
                   ffi::Buffer<ffi::F32> b, ffi::Buffer<ffi::F32> c, ffi::Buffer<ffi::F32> a,
                   ffi::Buffer<ffi::PRED> resets, ffi::Buffer<ffi::F32> h0, int64_t chunk,
                   ffi::ResultBuffer<ffi::F32> y, ffi::ResultBuffer<ffi::F32> last,
                   ffi::ResultBuffer<ffi::F32> entering) {
  const Shape s = ShapeOf(dt, b, chunk);
  const Inputs in = InputsOf(dt, u, b, c, a, resets);
  const float* h_in = h0.typed_data();
  float *y_out = y->typed_data(), *last_out = last->typed_data(), *entering_out = entering->typed_data();
  struct Worker {
    std::vector<Vec> wide;
    std::vector<float> narrow;
  };
  ForEachBatchElement(
      pool, s.batch, WorthSharing(s),
      [s] { return Worker{std::vector<Vec>(s.states), std::vector<float>(s.states)}; },
      [=](int64_t batch, Worker& worker) {
        int64_t d0 = 0;
        for (; d0 + kBlock <= s.width; d0 += kBlock)
          ForwardBlock(s, in, batch, d0, h_in, y_out, last_out, entering_out, worker.wide.data());
        for (; d0 < s.width; ++d0)
          ForwardBlock(s, in, batch, d0, h_in, y_out, last_out, entering_out, worker.narrow.data());
      },
      [](Worker&) {});
  return ffi::Error::Success();
}

ffi::Error Backward(ffi::ThreadPool pool, ffi::Buffer<ffi::F32> dt, ffi::Buffer<ffi::F32> u,
                    ffi::Buffer<ffi::F32> b, ffi::Buffer<ffi::F32> c, ffi::Buffer<ffi::F32> a,
                    ffi::Buffer<ffi::PRED> resets, ffi::Buffer<ffi::F32> entering, ffi::Buffer<ffi::F32> dy,
                    ffi::Buffer<ffi::F32> dlast, int64_t chunk, ffi::ResultBuffer<ffi::F32> grad_dt,
                    ffi::ResultBuffer<ffi::F32> grad_u, ffi::ResultBuffer<ffi::F32> grad_b,
                    ffi::ResultBuffer<ffi::F32> grad_c, ffi::ResultBuffer<ffi::F32> grad_a,
                    ffi::ResultBuffer<ffi::F32> grad_h0) {
  const Shape s = ShapeOf(dt, b, chunk);
  const Inputs in = InputsOf(dt, u, b, c, a, resets);
  const Cotangents out{grad_dt->typed_data(), grad_u->typed_data(), grad_b->typed_data(),
                       grad_c->typed_data(), grad_a->typed_data(), grad_h0->typed_data()};
  const float *entering_in = entering.typed_data(), *dy_in = dy.typed_data(), *dlast_in = dlast.typed_data();
  std::fill_n(out.b, grad_b->element_count(), 0.0f);
  std::fill_n(out.c, grad_c->element_count(), 0.0f);
  std::fill_n(out.a, grad_a->element_count(), 0.0f);
  struct Worker {
    BackwardScratch<Vec> wide;
    BackwardScratch<float> narrow;
    std::vector<float> grad_a;  // A's gradient summed over this thread's batch elements
  };
  ForEachBatchElement(
      pool, s.batch, WorthSharing(s),
      [s] {
        return Worker{BackwardScratch<Vec>(s), BackwardScratch<float>(s), std::vector<float>(s.states * s.width)};
      },
      [=](int64_t batch, Worker& worker) {
        int64_t d0 = 0;
        for (; d0 + kBlock <= s.width; d0 += kBlock)
          BackwardBlock(s, in, batch, d0, entering_in, dy_in, dlast_in, out, worker.wide, worker.grad_a.data());
        for (; d0 < s.width; ++d0)
          BackwardBlock(s, in, batch, d0, entering_in, dy_in, dlast_in, out, worker.narrow, worker.grad_a.data());
        FlushStateGradients(s, batch, out, worker.wide);
        FlushStateGradients(s, batch, out, worker.narrow);
      },
      [out](Worker& worker) {
        for (size_t i = 0; i < worker.grad_a.size(); ++i) out.a[i] += worker.grad_a[i];
      });
  return ffi::Error::Success();
}

// The arguments both calls begin with: XLA's thread pool, then dt, u, b, c, a [N, D] and resets.
auto BindScanInputs() {
  return ffi::Ffi::Bind()
      .Ctx<ffi::ThreadPool>()
      .Arg<ffi::Buffer<ffi::F32>>()    // dt
      .Arg<ffi::Buffer<ffi::F32>>()    // u
      .Arg<ffi::Buffer<ffi::F32>>()    // b
      .Arg<ffi::Buffer<ffi::F32>>()    // c
      .Arg<ffi::Buffer<ffi::F32>>()    // a [N, D]
      .Arg<ffi::Buffer<ffi::PRED>>();  // resets
}

}  // namespace

XLA_FFI_DEFINE_HANDLER_SYMBOL(SelectiveScanForward, Forward,
                              BindScanInputs()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // h0
                                  .Attr<int64_t>("chunk")
                                  .Ret<ffi::Buffer<ffi::F32>>()  // y
                                  .Ret<ffi::Buffer<ffi::F32>>()  // last state
                                  .Ret<ffi::Buffer<ffi::F32>>());  // states entering each chunk

XLA_FFI_DEFINE_HANDLER_SYMBOL(SelectiveScanBackward, Backward,
                              BindScanInputs()
                                  .Arg<ffi::Buffer<ffi::F32>>()  // states entering each chunk
                                  .Arg<ffi::Buffer<ffi::F32>>()  // dy
                                  .Arg<ffi::Buffer<ffi::F32>>()  // d loss / d last state
                                  .Attr<int64_t>("chunk")
                                  .Ret<ffi::Buffer<ffi::F32>>()  // grad dt
                                  .Ret<ffi::Buffer<ffi::F32>>()  // grad u
                                  .Ret<ffi::Buffer<ffi::F32>>()  // grad b
                                  .Ret<ffi::Buffer<ffi::F32>>()  // grad c
                                  .Ret<ffi::Buffer<ffi::F32>>()  // grad a [N, D]
                                  .Ret<ffi::Buffer<ffi::F32>>());  // grad h0
