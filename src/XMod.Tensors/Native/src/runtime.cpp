// Process-wide settings and build facts: seed, threads, devices, versions.
#include <ATen/Parallel.h>
#include <ATen/Version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/csrc/api/include/torch/version.h>

#include "common.h"

extern "C" {

void xmod_manual_seed(uint64_t seed) {
  // Seeds the CPU generator and, when present, every CUDA generator (as torch.manual_seed does).
  at::manual_seed(seed);
}

int32_t xmod_set_num_threads(int32_t n) {
  XMOD_TRY
  TORCH_CHECK(n > 0, "thread count must be positive, got ", n);
  at::set_num_threads(n);
  return 0;
  XMOD_CATCH(-1)
}

int32_t xmod_get_num_threads(void) { return at::get_num_threads(); }

int32_t xmod_cuda_device_count(void) {
  XMOD_TRY
  return at::detail::getCUDAHooks().hasCUDA()
             ? static_cast<int32_t>(at::detail::getCUDAHooks().getNumGPUs())
             : 0;
  XMOD_CATCH(-1)
}

const char* xmod_torch_version(void) { return TORCH_VERSION; }

const char* xmod_torch_config(void) {
  XMOD_TRY
  return xmod::keep_string(at::show_config());
  XMOD_CATCH(nullptr)
}

const char* xmod_parallel_info(void) {
  XMOD_TRY
  return xmod::keep_string(at::get_parallel_info());
  XMOD_CATCH(nullptr)
}

int32_t xmod_abi_version(void) { return 3; }

}  // extern "C"
