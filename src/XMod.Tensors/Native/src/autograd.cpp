// Autograd entry points and the thread-local grad / inference modes.
#include <ATen/autocast_mode.h>
#include <c10/core/InferenceMode.h>
#include <torch/csrc/autograd/autograd.h>

#include "common.h"

using namespace xmod;

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

xmod_guard xmod_inference_mode_enter(void) {
  XMOD_TRY
  return reinterpret_cast<xmod_guard>(new c10::InferenceMode(true));
  XMOD_CATCH(nullptr)
}

void xmod_guard_exit(xmod_guard g) { delete reinterpret_cast<c10::InferenceMode*>(g); }

namespace {
struct AutocastState {
  bool enabled;
  at::ScalarType dtype;
};
}  // namespace

xmod_guard xmod_autocast_enter(int32_t dtype) {
  XMOD_TRY
  auto type = static_cast<at::ScalarType>(dtype);
  TORCH_CHECK(type == at::kBFloat16, "CPU autocast supports bfloat16 only, not ", type);
  auto* previous = new AutocastState{at::autocast::is_cpu_enabled(), at::autocast::get_autocast_cpu_dtype()};
  at::autocast::set_cpu_enabled(true);
  at::autocast::set_autocast_cpu_dtype(type);
  at::autocast::increment_nesting();
  return reinterpret_cast<xmod_guard>(previous);
  XMOD_CATCH(nullptr)
}

void xmod_autocast_exit(xmod_guard g) {
  auto* previous = reinterpret_cast<AutocastState*>(g);
  // Casts of weights are cached while autocast is on; the outermost exit drops them.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_cpu_enabled(previous->enabled);
  at::autocast::set_autocast_cpu_dtype(previous->dtype);
  delete previous;
}

}  // extern "C"
