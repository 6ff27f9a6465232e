// Autograd entry points and the thread-local grad / inference modes.
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include <new>
#include <thread>

#include "common.h"

using namespace xmod;

namespace {
// The modes are thread-local: only the entering thread may restore them. A guard freed elsewhere
// (by a finalizer, after its owner forgot it) is only deleted, without touching that thread.
struct InferenceGuard {
  std::thread::id thread = std::this_thread::get_id();
  // Constructed in place and destroyed only by exit(), so deleting the guard on another thread
  // does not run ~InferenceMode there (its members own no memory).
  alignas(c10::InferenceMode) unsigned char mode[sizeof(c10::InferenceMode)];
  InferenceGuard() { new (mode) c10::InferenceMode(true); }
  void exit() { reinterpret_cast<c10::InferenceMode*>(mode)->~InferenceMode(); }
};

struct AutocastGuard {
  std::thread::id thread;
  bool enabled;          // autocast state before the guard
  at::ScalarType dtype;
};
}  // namespace

extern "C" {

int32_t xmod_backward(xmod_tensor t, xmod_tensor grad_or_null, int32_t retain_graph) {
  XMOD_TRY
  std::vector<at::Tensor> grads;
  if (grad_or_null != nullptr) grads.push_back(unwrap(grad_or_null));
  torch::autograd::backward({unwrap(t)}, grads, retain_graph != 0, /*create_graph=*/false);
  return 0;
  XMOD_CATCH(-1)
}

int32_t xmod_tensor_grad(xmod_tensor t, xmod_tensor* out) {
  XMOD_TRY
  const auto& g = unwrap(t).grad();
  *out = g.defined() ? wrap(g) : nullptr;
  return 0;
  XMOD_CATCH(-1)
}

int32_t xmod_tensor_zero_grad(xmod_tensor t) {
  XMOD_TRY
  unwrap(t).mutable_grad().reset();
  return 0;
  XMOD_CATCH(-1)
}

int32_t xmod_grad_enabled(void) { return c10::GradMode::is_enabled() ? 1 : 0; }

void xmod_set_grad_enabled(int32_t enabled) { c10::GradMode::set_enabled(enabled != 0); }

xmod_inference_guard xmod_inference_mode_enter(void) {
  XMOD_TRY
  return reinterpret_cast<xmod_inference_guard>(new InferenceGuard());
  XMOD_CATCH(nullptr)
}

void xmod_inference_guard_free(xmod_inference_guard g) {
  if (g == nullptr) return;
  auto* guard = reinterpret_cast<InferenceGuard*>(g);
  if (guard->thread == std::this_thread::get_id()) guard->exit();
  delete guard;
}

xmod_autocast_guard xmod_autocast_enter(int32_t dtype) {
  XMOD_TRY
  auto type = static_cast<at::ScalarType>(dtype);
  TORCH_CHECK(type == at::kBFloat16, "CPU autocast supports bfloat16 only, not ", type);
  auto* guard = new AutocastGuard{std::this_thread::get_id(), at::autocast::is_cpu_enabled(),
                                  at::autocast::get_autocast_cpu_dtype()};
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(type);
  at::autocast::increment_nesting();
  return reinterpret_cast<xmod_autocast_guard>(guard);
  XMOD_CATCH(nullptr)
}

void xmod_autocast_guard_free(xmod_autocast_guard g) {
  if (g == nullptr) return;
  auto* guard = reinterpret_cast<AutocastGuard*>(g);
  if (guard->thread == std::this_thread::get_id()) {
    // Casts of weights are cached while autocast is on; the outermost exit drops them.
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(guard->enabled);
    at::autocast::set_autocast_cpu_dtype(guard->dtype);
  }
  delete guard;
}

}  // extern "C"
