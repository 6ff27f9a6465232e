// Shared plumbing of the libtorch shim: handle conversion, counters, the catch-all.
#pragma once
#include <ATen/ATen.h>

#include <atomic>
#include <string>

#include "error_channel.h"
#include "xmod_native.h"

namespace xmod {

// Handle accounting: every xmod_tensor is one heap-allocated at::Tensor.
extern std::atomic<int64_t> g_live_tensors;
extern std::atomic<int64_t> g_peak_tensors;

inline xmod_tensor wrap(at::Tensor t) {
  auto* h = new at::Tensor(std::move(t));
  int64_t live = g_live_tensors.fetch_add(1, std::memory_order_relaxed) + 1;
  int64_t peak = g_peak_tensors.load(std::memory_order_relaxed);
  while (live > peak && !g_peak_tensors.compare_exchange_weak(peak, live, std::memory_order_relaxed)) {
  }
  return reinterpret_cast<xmod_tensor>(h);
}

inline at::Tensor& unwrap(xmod_tensor t) {
  if (t == nullptr) throw std::invalid_argument("null tensor handle");
  return *reinterpret_cast<at::Tensor*>(t);
}

inline at::IntArrayRef dims(const int64_t* shape, int32_t ndim) {
  if (ndim < 0) throw std::invalid_argument("negative number of dimensions");
  return at::IntArrayRef(shape, static_cast<size_t>(ndim));
}

// libtorch's c10::Error carries a C++ backtrace in what(); users want the message alone.
void set_error_from_current_exception();

}  // namespace xmod

// Each entry point's body runs inside XMOD_TRY ... XMOD_CATCH(sentinel).
#define XMOD_TRY try {
#define XMOD_CATCH(sentinel)                   \
  }                                            \
  catch (...) {                                \
    ::xmod::set_error_from_current_exception(); \
    return sentinel;                           \
  }
