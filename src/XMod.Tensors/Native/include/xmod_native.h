// The flat C API of the XMod native shim over libtorch (libxmod_native.so); SentencePiece has
// its own library and header (xmod_spm.h).
//
// Every handle is opaque. No C++ exception crosses this boundary: each entry point catches into a
// thread-local message and returns a sentinel (NULL, -1 or NaN as documented); the managed side
// reads the message with xmod_last_error() and throws from one place. Strings returned by the shim
// live in a thread-local buffer that stays valid until the next shim call on the same thread.
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XMOD_API __attribute__((visibility("default")))

typedef struct xmod_tensor_s* xmod_tensor;   // owns one reference to an at::Tensor
typedef struct xmod_op_s* xmod_op;           // a resolved c10::OperatorHandle (never freed)
typedef struct xmod_adamw_s* xmod_adamw;     // AdamW state over a fixed parameter list
// Thread-local modes held open across calls, one type each (they free different objects).
typedef struct xmod_inference_guard_s* xmod_inference_guard;  // c10::InferenceMode
typedef struct xmod_autocast_guard_s* xmod_autocast_guard;    // CPU autocast on, previous state kept

// ---- errors ---------------------------------------------------------------------------------
XMOD_API const char* xmod_last_error(void);  // NULL when the last failing call left no message
XMOD_API void xmod_clear_error(void);

// ---- tensors --------------------------------------------------------------------------------
// dtype codes are c10::ScalarType values (float32 = 6, float64 = 7, int64 = 4, bool = 11,
// bfloat16 = 15); device types are c10::DeviceType values (cpu = 0, cuda = 1).
XMOD_API xmod_tensor xmod_tensor_from_data(const void* data, int32_t dtype, const int64_t* shape,
                                           int32_t ndim, int32_t device_type, int32_t device_index);
// Zero-copy view of external memory; deleter(ctx) runs when libtorch drops the storage.
XMOD_API xmod_tensor xmod_tensor_from_blob(void* data, int32_t dtype, const int64_t* shape,
                                           int32_t ndim, void (*deleter)(void*), void* ctx);
XMOD_API xmod_tensor xmod_tensor_empty(int32_t dtype, const int64_t* shape, int32_t ndim,
                                       int32_t device_type, int32_t device_index);
XMOD_API int32_t xmod_tensor_copy_out(xmod_tensor t, void* dst, int64_t nbytes);
XMOD_API void* xmod_tensor_data_ptr(xmod_tensor t);  // contiguous CPU tensors only
XMOD_API xmod_tensor xmod_tensor_share(xmod_tensor t);  // a second handle on the same tensor
XMOD_API void xmod_tensor_free(xmod_tensor t);
XMOD_API int32_t xmod_tensor_dim(xmod_tensor t);
XMOD_API int32_t xmod_tensor_shape(xmod_tensor t, int64_t* out, int32_t cap);
XMOD_API int32_t xmod_tensor_strides(xmod_tensor t, int64_t* out, int32_t cap);
XMOD_API int64_t xmod_tensor_numel(xmod_tensor t);
XMOD_API int32_t xmod_tensor_dtype(xmod_tensor t);
XMOD_API int32_t xmod_tensor_device(xmod_tensor t, int32_t* device_index);
XMOD_API int32_t xmod_tensor_is_contiguous(xmod_tensor t);
XMOD_API int32_t xmod_tensor_requires_grad(xmod_tensor t);
XMOD_API int32_t xmod_tensor_set_requires_grad(xmod_tensor t, int32_t requires_grad);
XMOD_API double xmod_tensor_item(xmod_tensor t);  // NaN + error when not a one-element tensor
XMOD_API xmod_tensor xmod_tensor_to(xmod_tensor t, int32_t dtype, int32_t device_type,
                                    int32_t device_index, int32_t copy);
XMOD_API const char* xmod_tensor_to_string(xmod_tensor t);
// Native handle accounting, for leak tests: handles created and not yet freed.
XMOD_API int64_t xmod_tensor_live_count(void);
XMOD_API int64_t xmod_tensor_peak_count(void);
XMOD_API void xmod_tensor_reset_peak(void);

// ---- memory-mapped files (mapping.cpp) -------------------------------------------------------
// A file mapped copy-on-write: tensors viewing it share the pages (no copy), writes to them stay
// private, and the file is unmapped when the handle and every tensor made from it are gone.
typedef struct xmod_mapping_s* xmod_mapping;
XMOD_API xmod_mapping xmod_mapping_open(const char* path, int64_t* length);
XMOD_API void* xmod_mapping_data(xmod_mapping m);
// A CPU tensor over [offset, offset + bytes) of the mapping; offset must be element-aligned.
XMOD_API xmod_tensor xmod_mapping_tensor(xmod_mapping m, int64_t offset, int32_t dtype,
                                         const int64_t* shape, int32_t ndim);
XMOD_API void xmod_mapping_close(xmod_mapping m);
XMOD_API int64_t xmod_mapping_live_count(void);  // mappings not yet unmapped
XMOD_API int64_t xmod_mapping_bytes(void);       // bytes they span

// ---- ATen operators through the c10 dispatcher --------------------------------------------
enum {
  XMOD_ARG_NONE = 0,      // None, for optional arguments
  XMOD_ARG_TENSOR = 1,    // p = xmod_tensor
  XMOD_ARG_INT = 2,       // i
  XMOD_ARG_DOUBLE = 3,    // d
  XMOD_ARG_BOOL = 4,      // i != 0
  XMOD_ARG_INTS = 5,      // p = const int64_t*, n
  XMOD_ARG_TENSORS = 6,   // p = const xmod_tensor*, n
  XMOD_ARG_DTYPE = 7,     // i = scalar type code
  XMOD_ARG_STRING = 8,    // p = const char* (UTF-8, NUL-terminated)
  XMOD_ARG_DEVICE = 9,    // i = device type, n = device index
  XMOD_ARG_DOUBLES = 10,  // p = const double*, n
  XMOD_ARG_DEFAULT = 11,  // the schema's default value for this position
};

typedef struct {
  int32_t tag;
  int32_t reserved;
  int64_t i;
  double d;
  const void* p;
  int64_t n;
} xmod_arg;

// Resolves "aten::name" + overload ("" for the default) once; the handle is valid forever.
XMOD_API xmod_op xmod_op_find(const char* name, const char* overload);
XMOD_API const char* xmod_op_schema(xmod_op op);
// Calls the operator with nargs leading arguments; trailing ones take their schema defaults.
// Tensor results (a Tensor, a tuple of them or a Tensor[]) are written to outs; scalar results
// become 0-dim tensors. Returns the number of results, or -1 on error.
XMOD_API int32_t xmod_op_call(xmod_op op, const xmod_arg* args, int32_t nargs, xmod_tensor* outs,
                              int32_t cap);

// ---- distributed (distributed.cpp) ---------------------------------------------------------
// c10d process groups over Gloo with a TCPStore (rank 0 hosts it) or FileStore rendezvous. Each
// collective is blocking and must be called by every rank in the same order with the same tensor
// list (checked: a mismatch fails on every rank). A rank that dies or stalls makes the others'
// collective fail after timeout_ms with a message naming it; the group is unusable afterwards.
typedef struct xmod_process_group_s* xmod_process_group;
enum { XMOD_REDUCE_SUM = 0, XMOD_REDUCE_AVG = 1 };
// Backends: Gloo (CPU tensors) and, in a build against a CUDA libtorch, NCCL (CUDA tensors).
enum { XMOD_BACKEND_GLOO = 0, XMOD_BACKEND_NCCL = 1 };
// Bit 0: this build has Gloo; bit 1: it has NCCL. 0 when every xmod_dist_* call fails with how
// to get distributed support.
XMOD_API int32_t xmod_dist_available(void);
XMOD_API xmod_process_group xmod_dist_init_tcp(const char* host, int32_t port, int32_t rank,
                                               int32_t world_size, int64_t timeout_ms,
                                               int32_t backend);
XMOD_API xmod_process_group xmod_dist_init_file(const char* path, int32_t rank,
                                                int32_t world_size, int64_t timeout_ms,
                                                int32_t backend);
// In place, flattened into buckets of at most bucket_bytes per element type (half and bfloat16
// are summed in float32). Returns 0, or -1 on error.
XMOD_API int32_t xmod_dist_all_reduce(xmod_process_group pg, const xmod_tensor* tensors,
                                      int32_t n, int32_t op, int64_t bucket_bytes);
// Copies root's tensors into every other rank's (same list on every rank). Returns 0 or -1.
XMOD_API int32_t xmod_dist_broadcast(xmod_process_group pg, const xmod_tensor* tensors,
                                     int32_t n, int32_t root, int64_t bucket_bytes);
XMOD_API int32_t xmod_dist_barrier(xmod_process_group pg);
XMOD_API void xmod_dist_destroy(xmod_process_group pg);

// ---- autograd ------------------------------------------------------------------------------
XMOD_API int32_t xmod_backward(xmod_tensor t, xmod_tensor grad_or_null, int32_t retain_graph);
// *out = NULL when the tensor has no gradient. Returns 0, or -1 on error.
XMOD_API int32_t xmod_tensor_grad(xmod_tensor t, xmod_tensor* out);
XMOD_API int32_t xmod_tensor_zero_grad(xmod_tensor t);  // drops the gradient (set_to_none)
XMOD_API int32_t xmod_grad_enabled(void);
XMOD_API void xmod_set_grad_enabled(int32_t enabled);
// A guard's free function restores the previous mode when called on the thread that entered it;
// on any other thread (a finalizer's) it only frees the guard and leaves that thread's modes alone.
XMOD_API xmod_inference_guard xmod_inference_mode_enter(void);
XMOD_API void xmod_inference_guard_free(xmod_inference_guard g);
// CPU autocast (mixed precision) on this thread until the guard is freed; dtype: bfloat16.
XMOD_API xmod_autocast_guard xmod_autocast_enter(int32_t dtype);
XMOD_API void xmod_autocast_guard_free(xmod_autocast_guard g);

// ---- optimisation --------------------------------------------------------------------------
// AdamW (decoupled weight decay, Loshchilov & Hutter) with one weight decay per parameter.
XMOD_API xmod_adamw xmod_adamw_new(const xmod_tensor* params, const double* weight_decay,
                                   int32_t n, double beta1, double beta2, double eps);
XMOD_API int32_t xmod_adamw_step(xmod_adamw opt, double lr);  // skips parameters without grad
XMOD_API int64_t xmod_adamw_get_step(xmod_adamw opt);
XMOD_API int32_t xmod_adamw_set_step(xmod_adamw opt, int64_t step);
// New handles on a parameter's moment tensors (exp_avg, exp_avg_sq), for checkpoints.
XMOD_API int32_t xmod_adamw_state(xmod_adamw opt, int32_t index, xmod_tensor* exp_avg,
                                  xmod_tensor* exp_avg_sq);
XMOD_API void xmod_adamw_free(xmod_adamw opt);
// Scales gradients so their global L2 norm is at most max_norm; returns the norm before clipping
// (NaN + error on failure).
XMOD_API double xmod_clip_grad_norm(const xmod_tensor* params, int32_t n, double max_norm);

// ---- runtime -------------------------------------------------------------------------------
XMOD_API void xmod_manual_seed(uint64_t seed);
XMOD_API int32_t xmod_set_num_threads(int32_t n);
XMOD_API int32_t xmod_get_num_threads(void);
XMOD_API int32_t xmod_cuda_device_count(void);  // 0 without CUDA, -1 on error
XMOD_API const char* xmod_torch_version(void);
XMOD_API const char* xmod_torch_config(void);   // at::show_config()
XMOD_API const char* xmod_parallel_info(void);  // at::get_parallel_info()
XMOD_API int32_t xmod_abi_version(void);  // bumped whenever this header changes incompatibly

#ifdef __cplusplus
}
#endif
