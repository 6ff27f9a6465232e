// Tensor handles: creation from and copies into managed memory, metadata, accounting.
#include <cstring>
#include <sstream>

#include "common.h"

namespace xmod {
std::atomic<int64_t> g_live_tensors{0};
std::atomic<int64_t> g_peak_tensors{0};

namespace {
at::TensorOptions options(int32_t dtype, int32_t device_type, int32_t device_index) {
  return at::TensorOptions()
      .dtype(static_cast<at::ScalarType>(dtype))
      .device(at::Device(static_cast<at::DeviceType>(device_type),
                         static_cast<c10::DeviceIndex>(device_index)));
}
}  // namespace
}  // namespace xmod

using namespace xmod;

extern "C" {

xmod_tensor xmod_tensor_from_data(const void* data, int32_t dtype, const int64_t* shape,
                                  int32_t ndim, int32_t device_type, int32_t device_index) {
  XMOD_TRY
  auto cpu = at::empty(dims(shape, ndim), options(dtype, 0, -1));
  if (cpu.numel() > 0) std::memcpy(cpu.data_ptr(), data, cpu.numel() * cpu.element_size());
  if (device_type != 0) return wrap(cpu.to(options(dtype, device_type, device_index).device()));
  return wrap(std::move(cpu));
  XMOD_CATCH(nullptr)
}

xmod_tensor xmod_tensor_from_blob(void* data, int32_t dtype, const int64_t* shape, int32_t ndim,
                                  void (*deleter)(void*), void* ctx) {
  XMOD_TRY
  auto t = at::from_blob(
      data, dims(shape, ndim), [deleter, ctx](void*) { if (deleter != nullptr) deleter(ctx); },
      options(dtype, 0, -1));
  return wrap(std::move(t));
  XMOD_CATCH(nullptr)
}

xmod_tensor xmod_tensor_empty(int32_t dtype, const int64_t* shape, int32_t ndim,
                              int32_t device_type, int32_t device_index) {
  XMOD_TRY
  return wrap(at::empty(dims(shape, ndim), options(dtype, device_type, device_index)));
  XMOD_CATCH(nullptr)
}

int32_t xmod_tensor_copy_out(xmod_tensor h, void* dst, int64_t nbytes) {
  XMOD_TRY
  auto t = unwrap(h).detach().to(at::kCPU).contiguous();
  int64_t have = t.numel() * static_cast<int64_t>(t.element_size());
  if (have != nbytes)
    throw std::invalid_argument("copy_out: tensor holds " + std::to_string(have) +
                                " bytes, destination has " + std::to_string(nbytes));
  if (have > 0) std::memcpy(dst, t.data_ptr(), static_cast<size_t>(have));
  return 0;
  XMOD_CATCH(-1)
}

void* xmod_tensor_data_ptr(xmod_tensor h) {
  XMOD_TRY
  auto& t = unwrap(h);
  TORCH_CHECK(t.device().is_cpu(), "data_ptr needs a CPU tensor, this one is on ", t.device());
  TORCH_CHECK(t.is_contiguous(), "data_ptr needs a contiguous tensor; call contiguous() first");
  return t.data_ptr();
  XMOD_CATCH(nullptr)
}

xmod_tensor xmod_tensor_share(xmod_tensor h) {
  XMOD_TRY
  return wrap(unwrap(h));
  XMOD_CATCH(nullptr)
}

void xmod_tensor_free(xmod_tensor h) {
  if (h == nullptr) return;
  delete reinterpret_cast<at::Tensor*>(h);
  g_live_tensors.fetch_sub(1, std::memory_order_relaxed);
}

int32_t xmod_tensor_dim(xmod_tensor h) {
  XMOD_TRY
  return static_cast<int32_t>(unwrap(h).dim());
  XMOD_CATCH(-1)
}

int32_t xmod_tensor_shape(xmod_tensor h, int64_t* out, int32_t cap) {
  XMOD_TRY
  auto sizes = unwrap(h).sizes();
  for (size_t i = 0; i < sizes.size() && i < static_cast<size_t>(cap); i++) out[i] = sizes[i];
  return static_cast<int32_t>(sizes.size());
  XMOD_CATCH(-1)
}

int32_t xmod_tensor_strides(xmod_tensor h, int64_t* out, int32_t cap) {
  XMOD_TRY
  auto strides = unwrap(h).strides();
  for (size_t i = 0; i < strides.size() && i < static_cast<size_t>(cap); i++) out[i] = strides[i];
  return static_cast<int32_t>(strides.size());
  XMOD_CATCH(-1)
}

int64_t xmod_tensor_numel(xmod_tensor h) {
  XMOD_TRY
  return unwrap(h).numel();
  XMOD_CATCH(-1)
}

int32_t xmod_tensor_dtype(xmod_tensor h) {
  XMOD_TRY
  return static_cast<int32_t>(unwrap(h).scalar_type());
  XMOD_CATCH(-1)
}

int32_t xmod_tensor_device(xmod_tensor h, int32_t* device_index) {
  XMOD_TRY
  auto d = unwrap(h).device();
  if (device_index != nullptr) *device_index = d.index();
  return static_cast<int32_t>(d.type());
  XMOD_CATCH(-1)
}

int32_t xmod_tensor_is_contiguous(xmod_tensor h) {
  XMOD_TRY
  return unwrap(h).is_contiguous() ? 1 : 0;
  XMOD_CATCH(-1)
}

int32_t xmod_tensor_requires_grad(xmod_tensor h) {
  XMOD_TRY
  return unwrap(h).requires_grad() ? 1 : 0;
  XMOD_CATCH(-1)
}

int32_t xmod_tensor_set_requires_grad(xmod_tensor h, int32_t requires_grad) {
  XMOD_TRY
  unwrap(h).set_requires_grad(requires_grad != 0);
  return 0;
  XMOD_CATCH(-1)
}

double xmod_tensor_item(xmod_tensor h) {
  XMOD_TRY
  return unwrap(h).item<double>();
  XMOD_CATCH(std::numeric_limits<double>::quiet_NaN())
}

xmod_tensor xmod_tensor_to(xmod_tensor h, int32_t dtype, int32_t device_type, int32_t device_index,
                           int32_t copy) {
  XMOD_TRY
  auto& t = unwrap(h);
  auto target = at::Device(static_cast<at::DeviceType>(device_type),
                           static_cast<c10::DeviceIndex>(device_index));
  return wrap(t.to(target, static_cast<at::ScalarType>(dtype), /*non_blocking=*/false, copy != 0));
  XMOD_CATCH(nullptr)
}

const char* xmod_tensor_to_string(xmod_tensor h) {
  XMOD_TRY
  std::ostringstream s;
  s << unwrap(h);
  return keep_string(s.str());
  XMOD_CATCH(nullptr)
}

int64_t xmod_tensor_live_count(void) { return g_live_tensors.load(); }
int64_t xmod_tensor_peak_count(void) { return g_peak_tensors.load(); }
void xmod_tensor_reset_peak(void) { g_peak_tensors.store(g_live_tensors.load()); }

}  // extern "C"
