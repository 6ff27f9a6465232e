// Data-parallel collectives over libtorch's own c10d process groups (Gloo on CPU; NCCL on CUDA
// where the shim was built against a CUDA libtorch, XMOD_WITH_NCCL) with a TCPStore
// or FileStore rendezvous. There is no C++ DDP class: the training loop all-reduces its gradients
// after backward through xmod_dist_all_reduce, which flattens them into buckets so that a model
// of a few hundred tensors costs a few large messages instead of hundreds of small ones.
//
// Compiled with XMOD_WITH_GLOO only where libgloo-dev's headers were found (CMakeLists.txt);
// otherwise every entry point reports how to get distributed support and the rest of the shim
// works as before.
#include "common.h"

#ifdef XMOD_WITH_GLOO
#include <c10/core/GradMode.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef XMOD_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <cstdlib>
#include <functional>
#include <map>
#include <sstream>
#endif

using namespace xmod;

#ifndef XMOD_WITH_GLOO

namespace {
constexpr const char* kUnavailable =
    "distributed training needs libgloo-dev: this libxmod_native was built without Gloo; install "
    "it (scripts/install-deps) and rebuild (dotnet build)";
}

extern "C" {
int32_t xmod_dist_available(void) { return 0; }
xmod_process_group xmod_dist_init_tcp(const char*, int32_t, int32_t, int32_t, int64_t, int32_t) {
  set_error(kUnavailable);
  return nullptr;
}
xmod_process_group xmod_dist_init_file(const char*, int32_t, int32_t, int64_t, int32_t) {
  set_error(kUnavailable);
  return nullptr;
}
int32_t xmod_dist_all_reduce(xmod_process_group, const xmod_tensor*, int32_t, int32_t, int64_t) {
  set_error(kUnavailable);
  return -1;
}
int32_t xmod_dist_broadcast(xmod_process_group, const xmod_tensor*, int32_t, int32_t, int64_t) {
  set_error(kUnavailable);
  return -1;
}
int32_t xmod_dist_barrier(xmod_process_group) {
  set_error(kUnavailable);
  return -1;
}
void xmod_dist_destroy(xmod_process_group) {}
}  // extern "C"

#else

namespace {

struct Group {
  c10::intrusive_ptr<c10d::Store> store;
  // Exactly one of these is set. (In libtorch 1.x both derive from ProcessGroup, in 2.x from
  // Backend: the collectives below reach them through for_backend, not a common base.)
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
#ifdef XMOD_WITH_NCCL
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  int rank = 0;
  int size = 1;
  std::chrono::milliseconds timeout{0};
  // The first collective failure; Gloo's context is unusable afterwards, so later calls repeat it
  // instead of hanging on a peer that has gone.
  std::string broken;
};

// Calls f with the group's backend (Gloo or NCCL); the two have the same collective signatures.
template <class F>
auto for_backend(Group& g, F&& f) {
#ifdef XMOD_WITH_NCCL
  if (g.nccl) return f(g.nccl);
#endif
  return f(g.pg);
}

constexpr const char* kNoNccl =
    "the NCCL backend (--device cuda) needs a libxmod_native built against a CUDA libtorch: this one "
    "was built against a CPU-only libtorch; rebuild with LIBTORCH_DIR=/path/to/cuda/libtorch (README, "
    "'GPU build')";

void check_backend(int32_t backend) {
  TORCH_CHECK(backend == XMOD_BACKEND_GLOO || backend == XMOD_BACKEND_NCCL, "unknown backend ",
              backend, " (0 = Gloo, 1 = NCCL)");
#ifndef XMOD_WITH_NCCL
  TORCH_CHECK(backend != XMOD_BACKEND_NCCL, kNoNccl);
#endif
}

Group& group_of(xmod_process_group h) {
  if (h == nullptr) throw std::invalid_argument("null process group handle");
  return *reinterpret_cast<Group*>(h);
}

std::string message_of(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const c10::Error& c) {
    return c.what_without_backtrace();
  } catch (const std::exception& s) {
    return s.what();
  } catch (...) {
    return "unknown error";
  }
}

// Gloo's messages start with the source location ("[../gloo/transport/tcp/pair.cc:598] ...").
std::string without_location(std::string m) {
  if (!m.empty() && m[0] == '[') {
    auto close = m.find("] ");
    if (close != std::string::npos) m = m.substr(close + 2);
  }
  while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
  return m;
}

std::string seconds(std::chrono::milliseconds t) {
  std::ostringstream s;
  s << static_cast<double>(t.count()) / 1000.0 << " s";
  return s.str();
}

bool is_loopback(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The Gloo transport device: GLOO_SOCKET_IFNAME as in torch.distributed; loopback when the
// rendezvous is on this machine's loopback (no hostname resolution needed); otherwise the address
// this machine's hostname resolves to.
std::shared_ptr<gloo::transport::Device> make_device(const std::string& store_host) {
  const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
  if (ifname != nullptr && *ifname != '\0') {
    return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
  }
  if (is_loopback(store_host)) return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

void check_rank(int32_t rank, int32_t world_size) {
  TORCH_CHECK(world_size >= 1 && world_size <= 65536, "world size must lie in [1, 65536], got ",
              world_size);
  TORCH_CHECK(rank >= 0 && rank < world_size, "rank ", rank, " is outside [0, ", world_size, ")");
}

std::chrono::milliseconds check_timeout(int64_t timeout_ms) {
  TORCH_CHECK(timeout_ms > 0 && timeout_ms <= 7LL * 24 * 3600 * 1000,
              "timeout must lie in (0, 7 days], got ", timeout_ms, " ms");
  return std::chrono::milliseconds(timeout_ms);
}

xmod_process_group connect(std::unique_ptr<Group> g, const std::string& host,
                           const std::string& where, int32_t backend) {
  try {
#ifdef XMOD_WITH_NCCL
    if (backend == XMOD_BACKEND_NCCL) {
      // A dead peer must fail the others' collectives after the timeout rather than hang them:
      // NCCL honours the timeout only in blocking-wait mode (the variable's 1.x and 2.x names).
      setenv("NCCL_BLOCKING_WAIT", "1", 0);
      setenv("TORCH_NCCL_BLOCKING_WAIT", "1", 0);
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = g->timeout;
      g->nccl = c10::make_intrusive<c10d::ProcessGroupNCCL>(g->store, g->rank, g->size, options);
      return reinterpret_cast<xmod_process_group>(g.release());
    }
#endif
    auto options = c10d::ProcessGroupGloo::Options::create(g->timeout);
    options->devices.push_back(make_device(host));
    g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(g->store, g->rank, g->size, options);
  } catch (...) {
    throw std::runtime_error("rank " + std::to_string(g->rank) + " of " + std::to_string(g->size) +
                             " could not connect to the other ranks through " + where + " within " +
                             seconds(g->timeout) + ": " +
                             without_location(message_of(std::current_exception())));
  }
  return reinterpret_cast<xmod_process_group>(g.release());
}

// Gloo reduces these element types; half and bfloat16 travel as float32 (exact for broadcast,
// more accurate for sums), bool as uint8 (broadcast only).
c10::optional<at::ScalarType> wire_type(at::ScalarType t, bool reduce) {
  switch (t) {
    case at::kFloat:
    case at::kDouble:
    case at::kLong:
    case at::kInt:
    case at::kChar:
    case at::kByte:
      return t;
    case at::kHalf:
    case at::kBFloat16:
      return at::kFloat;
    case at::kBool:
      if (!reduce) return at::kByte;
      return c10::nullopt;
    default:
      return c10::nullopt;
  }
}

struct Bucket {
  at::ScalarType wire;
  at::Device device;
  std::vector<size_t> members;
  int64_t numel = 0;
  at::Tensor flat;
  c10::intrusive_ptr<c10d::Work> work;
};

// Buckets of at most cap_bytes (a larger tensor gets one of its own), one open bucket per element
// type and device, members in list order: every rank given the same list builds the same buckets.
std::vector<Bucket> plan(const std::vector<at::Tensor>& ts, int64_t cap_bytes, bool reduce,
                         const char* what) {
  std::vector<Bucket> buckets;
  std::map<std::pair<int, std::string>, size_t> open;
  for (size_t k = 0; k < ts.size(); k++) {
    const auto& t = ts[k];
    TORCH_CHECK(t.defined(), what, ": tensor ", k, " is undefined");
    TORCH_CHECK(t.layout() == at::kStrided, what, ": tensor ", k, " is not dense");
    auto wire = wire_type(t.scalar_type(), reduce);
    TORCH_CHECK(wire.has_value(), what, " cannot ", reduce ? "reduce " : "send ", t.scalar_type(),
                " tensors (tensor ", k, ")");
    if (t.numel() == 0) continue;
    const int64_t bytes = t.numel() * static_cast<int64_t>(c10::elementSize(*wire));
    auto key = std::make_pair(static_cast<int>(*wire), t.device().str());
    auto it = open.find(key);
    if (it == open.end() ||
        (buckets[it->second].numel * static_cast<int64_t>(c10::elementSize(*wire)) + bytes >
         cap_bytes)) {
      buckets.push_back(Bucket{*wire, t.device(), {}, 0, {}, {}});
      open[key] = buckets.size() - 1;
      it = open.find(key);
    }
    auto& b = buckets[it->second];
    b.members.push_back(k);
    b.numel += t.numel();
  }
  return buckets;
}

void flatten(Bucket& b, const std::vector<at::Tensor>& ts) {
  b.flat = at::empty({b.numel}, at::TensorOptions().dtype(b.wire).device(b.device));
  int64_t offset = 0;
  for (auto k : b.members) {
    const auto& t = ts[k];
    b.flat.narrow(0, offset, t.numel()).view(t.sizes()).copy_(t);
    offset += t.numel();
  }
}

void unflatten(const Bucket& b, const std::vector<at::Tensor>& ts) {
  int64_t offset = 0;
  for (auto k : b.members) {
    auto& t = const_cast<at::Tensor&>(ts[k]);
    t.copy_(b.flat.narrow(0, offset, t.numel()).view(t.sizes()));
    offset += t.numel();
  }
}

std::vector<at::Tensor> tensors_of(const xmod_tensor* handles, int32_t n) {
  TORCH_CHECK(n >= 0, "negative tensor count ", n);
  TORCH_CHECK(n == 0 || handles != nullptr, "null tensor list");
  std::vector<at::Tensor> ts;
  ts.reserve(static_cast<size_t>(n));
  for (int32_t k = 0; k < n; k++) ts.push_back(unwrap(handles[k]));
  return ts;
}

// FNV-1a over what decides the bucket layout; 62 bits so that its negation is exact.
int64_t layout_signature(const std::vector<at::Tensor>& ts, int64_t a, int64_t b) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&h](uint64_t v) {
    for (int i = 0; i < 8; i++) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  mix(ts.size());
  mix(static_cast<uint64_t>(a));
  mix(static_cast<uint64_t>(b));
  for (const auto& t : ts) {
    mix(static_cast<uint64_t>(t.defined() ? t.scalar_type() : at::ScalarType::Undefined));
    mix(static_cast<uint64_t>(t.defined() ? t.numel() : -1));
  }
  return static_cast<int64_t>(h & ((1ull << 62) - 1));
}

void fail(Group& g, const char* what, const std::exception_ptr& e) {
  auto m = without_location(message_of(e));
  g.broken = std::string(what) + " failed on rank " + std::to_string(g.rank) + " of " +
             std::to_string(g.size) + ": " + m +
             " (another rank stopped, or did not reach the same collective within " +
             seconds(g.timeout) + ")";
  throw std::runtime_error(g.broken);
}

void wait(Group& g, const c10::intrusive_ptr<c10d::Work>& work, const char* what) {
  try {
    work->wait();
  } catch (...) {
    fail(g, what, std::current_exception());
  }
}

c10::intrusive_ptr<c10d::Work> start(Group& g, const char* what,
                                     const std::function<c10::intrusive_ptr<c10d::Work>()>& op) {
  try {
    return op();
  } catch (...) {
    fail(g, what, std::current_exception());
  }
  return {};  // unreachable: fail throws
}

void check_usable(const Group& g) {
  if (!g.broken.empty()) {
    throw std::runtime_error("the process group failed earlier and cannot be used again: " +
                             g.broken);
  }
}

// Every rank must hand over the same list (count, element types, sizes) and options, or the
// buckets would not line up and the sums would be silently wrong: one small all-reduce of the
// layout signature's maximum and negated minimum catches it on every rank.
void agree_on_layout(Group& g, const std::vector<at::Tensor>& ts, int64_t a, int64_t b,
                     const char* what) {
  if (g.size == 1) return;
  const int64_t sig = layout_signature(ts, a, b);
  // NCCL sends device tensors only: the probe travels on the first tensor's device.
  auto probe = at::empty({2}, at::TensorOptions().dtype(at::kLong).device(
                                  ts.empty() ? at::Device(at::kCPU) : ts.front().device()));
  probe[0] = sig;
  probe[1] = -sig;
  std::vector<at::Tensor> io{probe};
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::MAX;
  wait(g, start(g, what, [&] { return for_backend(g, [&](auto& pg) { return pg->allreduce(io, opts); }); }), what);
  probe = probe.cpu();
  const int64_t max = probe[0].item<int64_t>();
  const int64_t min = -probe[1].item<int64_t>();
  if (max != sig || min != sig) {
    g.broken = std::string(what) +
               ": the ranks passed different tensor lists or options (count, element types or "
               "sizes differ); every rank must pass the same tensors in the same order";
    throw std::runtime_error(g.broken);
  }
}

int64_t check_bucket_bytes(int64_t bucket_bytes) {
  TORCH_CHECK(bucket_bytes > 0, "bucket size must be positive, got ", bucket_bytes, " bytes");
  return bucket_bytes;
}

}  // namespace

extern "C" {

int32_t xmod_dist_available(void) {
#ifdef XMOD_WITH_NCCL
  return 3;
#else
  return 1;
#endif
}

xmod_process_group xmod_dist_init_tcp(const char* host, int32_t port, int32_t rank,
                                      int32_t world_size, int64_t timeout_ms, int32_t backend) {
  XMOD_TRY
  check_backend(backend);
  TORCH_CHECK(host != nullptr && *host != '\0', "the rendezvous host is empty");
  TORCH_CHECK(port > 0 && port <= 65535, "the rendezvous port must lie in [1, 65535], got ", port);
  check_rank(rank, world_size);
  auto g = std::make_unique<Group>();
  g->rank = rank;
  g->size = world_size;
  g->timeout = check_timeout(timeout_ms);
  const std::string where = "the TCP store at " + std::string(host) + ":" + std::to_string(port);
  try {
    c10d::TCPStoreOptions opts;
    opts.port = static_cast<uint16_t>(port);
    opts.isServer = rank == 0;  // rank 0 hosts the store, as torchrun's MASTER_ADDR
    opts.numWorkers = static_cast<size_t>(world_size);
    opts.waitWorkers = true;
    opts.timeout = g->timeout;
    g->store = c10::make_intrusive<c10d::TCPStore>(host, opts);
  } catch (...) {
    throw std::runtime_error(
        "rank " + std::to_string(rank) + " of " + std::to_string(world_size) +
        (rank == 0 ? " could not host " : " could not reach ") + where + " within " +
        seconds(g->timeout) + ": " + without_location(message_of(std::current_exception())) +
        (rank == 0 ? " (is the port free, and did every rank start?)"
                   : " (is rank 0 running, and are MASTER_ADDR/MASTER_PORT right?)"));
  }
  return connect(std::move(g), host, where, backend);
  XMOD_CATCH(nullptr)
}

xmod_process_group xmod_dist_init_file(const char* path, int32_t rank, int32_t world_size,
                                       int64_t timeout_ms, int32_t backend) {
  XMOD_TRY
  check_backend(backend);
  TORCH_CHECK(path != nullptr && *path != '\0', "the rendezvous file path is empty");
  check_rank(rank, world_size);
  auto g = std::make_unique<Group>();
  g->rank = rank;
  g->size = world_size;
  g->timeout = check_timeout(timeout_ms);
  const std::string where = "the file store " + std::string(path);
  try {
    g->store = c10::make_intrusive<c10d::FileStore>(path, world_size);
    g->store->setTimeout(g->timeout);
  } catch (...) {
    throw std::runtime_error("rank " + std::to_string(rank) + " cannot use " + where + ": " +
                             without_location(message_of(std::current_exception())));
  }
  // A file store is usually a shared file system between machines; bind to this host's address.
  return connect(std::move(g), "", where, backend);
  XMOD_CATCH(nullptr)
}

int32_t xmod_dist_all_reduce(xmod_process_group h, const xmod_tensor* tensors, int32_t n,
                             int32_t op, int64_t bucket_bytes) {
  XMOD_TRY
  auto& g = group_of(h);
  check_usable(g);
  TORCH_CHECK(op == XMOD_REDUCE_SUM || op == XMOD_REDUCE_AVG, "unknown reduce op ", op);
  check_bucket_bytes(bucket_bytes);
  c10::NoGradGuard no_grad;
  auto ts = tensors_of(tensors, n);
  auto buckets = plan(ts, bucket_bytes, true, "all-reduce");
  if (op == XMOD_REDUCE_AVG) {
    for (const auto& b : buckets) {
      TORCH_CHECK(at::isFloatingType(b.wire), "all-reduce: the average of ", b.wire,
                  " tensors is not defined; use the sum");
    }
  }
  agree_on_layout(g, ts, op, bucket_bytes, "all-reduce");
  if (g.size == 1) return 0;
  // All buckets are queued before the first wait, so Gloo's worker threads send one while the
  // next is being flattened; results are copied back in order as they complete.
  c10d::AllreduceOptions opts;
  opts.reduceOp = c10d::ReduceOp::SUM;
  for (auto& b : buckets) {
    flatten(b, ts);
    std::vector<at::Tensor> io{b.flat};
    b.work = start(g, "all-reduce", [&] { return for_backend(g, [&](auto& pg) { return pg->allreduce(io, opts); }); });
  }
  for (auto& b : buckets) {
    wait(g, b.work, "all-reduce");
    if (op == XMOD_REDUCE_AVG) b.flat.div_(static_cast<double>(g.size));
    unflatten(b, ts);
  }
  return 0;
  XMOD_CATCH(-1)
}

int32_t xmod_dist_broadcast(xmod_process_group h, const xmod_tensor* tensors, int32_t n,
                            int32_t root, int64_t bucket_bytes) {
  XMOD_TRY
  auto& g = group_of(h);
  check_usable(g);
  TORCH_CHECK(root >= 0 && root < g.size, "broadcast root ", root, " is outside [0, ", g.size,
              ")");
  check_bucket_bytes(bucket_bytes);
  c10::NoGradGuard no_grad;
  auto ts = tensors_of(tensors, n);
  auto buckets = plan(ts, bucket_bytes, false, "broadcast");
  agree_on_layout(g, ts, root, bucket_bytes, "broadcast");
  if (g.size == 1) return 0;
  c10d::BroadcastOptions opts;
  opts.rootRank = root;
  for (auto& b : buckets) {
    if (g.rank == root) {
      flatten(b, ts);
    } else {
      b.flat = at::empty({b.numel}, at::TensorOptions().dtype(b.wire).device(b.device));
    }
    std::vector<at::Tensor> io{b.flat};
    b.work = start(g, "broadcast", [&] { return for_backend(g, [&](auto& pg) { return pg->broadcast(io, opts); }); });
  }
  for (auto& b : buckets) {
    wait(g, b.work, "broadcast");
    if (g.rank != root) unflatten(b, ts);
  }
  return 0;
  XMOD_CATCH(-1)
}

int32_t xmod_dist_barrier(xmod_process_group h) {
  XMOD_TRY
  auto& g = group_of(h);
  check_usable(g);
  if (g.size == 1) return 0;
  wait(g, start(g, "barrier", [&] { return for_backend(g, [&](auto& pg) { return pg->barrier(); }); }), "barrier");
  return 0;
  XMOD_CATCH(-1)
}

void xmod_dist_destroy(xmod_process_group h) {
  // Gloo's destructor joins its worker threads; nothing is queued here because every entry point
  // waits for its own work.
  try {
    delete reinterpret_cast<Group*>(h);
  } catch (...) {
  }
}

}  // extern "C"

#endif  // XMOD_WITH_GLOO
