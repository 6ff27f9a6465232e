// AdamW and global-norm gradient clipping, as fused loops over the parameter list so that a
// training step costs one call from managed code instead of a dozen per parameter.
#include <c10/core/GradMode.h>

#include <cmath>

#include "common.h"

using namespace xmod;

namespace {
struct AdamW {
  std::vector<at::Tensor> params, exp_avg, exp_avg_sq;
  std::vector<double> weight_decay;
  double beta1, beta2, eps;
  int64_t step = 0;
};
}  // namespace

extern "C" {

xmod_adamw xmod_adamw_new(const xmod_tensor* params, const double* weight_decay, int32_t n,
                          double beta1, double beta2, double eps) {
  XMOD_TRY
  TORCH_CHECK(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1,
              "AdamW betas must lie in [0, 1), got (", beta1, ", ", beta2, ")");
  TORCH_CHECK(eps > 0, "AdamW eps must be positive, got ", eps);
  auto opt = std::make_unique<AdamW>();
  opt->beta1 = beta1;
  opt->beta2 = beta2;
  opt->eps = eps;
  c10::NoGradGuard no_grad;
  for (int32_t k = 0; k < n; k++) {
    auto& p = unwrap(params[k]);
    TORCH_CHECK(p.is_floating_point(), "AdamW parameter ", k, " is not floating point");
    opt->params.push_back(p);
    // Moments in float32 at least, so bfloat16 parameters do not lose their updates.
    auto state_type = p.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
    opt->exp_avg.push_back(at::zeros(p.sizes(), p.options().dtype(state_type)));
    opt->exp_avg_sq.push_back(at::zeros(p.sizes(), p.options().dtype(state_type)));
    opt->weight_decay.push_back(weight_decay == nullptr ? 0.0 : weight_decay[k]);
  }
  return reinterpret_cast<xmod_adamw>(opt.release());
  XMOD_CATCH(nullptr)
}

int32_t xmod_adamw_step(xmod_adamw h, double lr) {
  XMOD_TRY
  auto& opt = *reinterpret_cast<AdamW*>(h);
  c10::NoGradGuard no_grad;
  opt.step += 1;
  const double bc1 = 1.0 - std::pow(opt.beta1, static_cast<double>(opt.step));
  const double bc2 = 1.0 - std::pow(opt.beta2, static_cast<double>(opt.step));
  for (size_t k = 0; k < opt.params.size(); k++) {
    auto& p = opt.params[k];
    const auto& g0 = p.grad();
    if (!g0.defined()) continue;
    auto g = g0.scalar_type() == opt.exp_avg[k].scalar_type() ? g0 : g0.to(opt.exp_avg[k].scalar_type());
    auto& m = opt.exp_avg[k];
    auto& v = opt.exp_avg_sq[k];
    // torch.optim.AdamW's single-tensor update, operation for operation (same numerics).
    if (opt.weight_decay[k] != 0.0) p.mul_(1.0 - lr * opt.weight_decay[k]);
    m.mul_(opt.beta1).add_(g, 1.0 - opt.beta1);
    v.mul_(opt.beta2).addcmul_(g, g, 1.0 - opt.beta2);
    auto denom = (v.sqrt() / std::sqrt(bc2)).add_(opt.eps);
    if (p.scalar_type() == m.scalar_type()) {
      p.addcdiv_(m, denom, -lr / bc1);
    } else {
      p.sub_((m / denom).mul_(lr / bc1).to(p.scalar_type()));
    }
  }
  return 0;
  XMOD_CATCH(-1)
}

int64_t xmod_adamw_get_step(xmod_adamw h) { return reinterpret_cast<AdamW*>(h)->step; }

int32_t xmod_adamw_set_step(xmod_adamw h, int64_t step) {
  XMOD_TRY
  TORCH_CHECK(step >= 0, "AdamW step must be >= 0, got ", step);
  reinterpret_cast<AdamW*>(h)->step = step;
  return 0;
  XMOD_CATCH(-1)
}

int32_t xmod_adamw_state(xmod_adamw h, int32_t index, xmod_tensor* exp_avg,
                         xmod_tensor* exp_avg_sq) {
  XMOD_TRY
  auto& opt = *reinterpret_cast<AdamW*>(h);
  TORCH_CHECK(index >= 0 && static_cast<size_t>(index) < opt.params.size(), "AdamW has ",
              opt.params.size(), " parameters, no index ", index);
  *exp_avg = wrap(opt.exp_avg[index]);
  *exp_avg_sq = wrap(opt.exp_avg_sq[index]);
  return 0;
  XMOD_CATCH(-1)
}

void xmod_adamw_free(xmod_adamw h) { delete reinterpret_cast<AdamW*>(h); }

double xmod_clip_grad_norm(const xmod_tensor* params, int32_t n, double max_norm) {
  XMOD_TRY
  c10::NoGradGuard no_grad;
  std::vector<at::Tensor> grads;
  for (int32_t k = 0; k < n; k++) {
    const auto& g = unwrap(params[k]).grad();
    if (g.defined()) grads.push_back(g);
  }
  if (grads.empty()) return 0.0;
  std::vector<at::Tensor> norms;
  norms.reserve(grads.size());
  for (auto& g : grads) norms.push_back(g.norm(2).to(at::kDouble));
  double total = at::stack(norms).norm(2).item<double>();
  if (std::isfinite(total) && total > max_norm) {
    double scale = max_norm / (total + 1e-6);
    for (auto& g : grads) g.mul_(scale);
  }
  return total;
  XMOD_CATCH(std::numeric_limits<double>::quiet_NaN())
}

}  // extern "C"
