// Read-only files mapped into memory, and tensors that view them without a copy (memory-mapped
// weights). A mapping is reference counted: its handle holds one reference and every tensor made
// from it holds one (captured by the storage's deleter), so the region is unmapped when the last
// of them goes, whichever that is.
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "common.h"

namespace xmod {
namespace {
std::atomic<int64_t> g_live_mappings{0};
std::atomic<int64_t> g_mapped_bytes{0};

struct Mapping {
  void* base = nullptr;
  size_t length = 0;
  Mapping(void* b, size_t n) : base(b), length(n) {
    g_live_mappings.fetch_add(1);
    g_mapped_bytes.fetch_add(static_cast<int64_t>(n));
  }
  ~Mapping() {
    if (base != nullptr && length > 0) munmap(base, length);
    g_live_mappings.fetch_sub(1);
    g_mapped_bytes.fetch_sub(static_cast<int64_t>(length));
  }
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
};

using MappingRef = std::shared_ptr<Mapping>;

MappingRef& unwrap_mapping(xmod_mapping h) {
  if (h == nullptr) throw std::invalid_argument("null mapping handle");
  return *reinterpret_cast<MappingRef*>(h);
}
}  // namespace
}  // namespace xmod

using namespace xmod;

extern "C" {

xmod_mapping xmod_mapping_open(const char* path, int64_t* length) {
  XMOD_TRY
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(std::string("cannot open ") + path + ": " + std::strerror(errno));
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    throw std::runtime_error(std::string("cannot stat ") + path + ": " + std::strerror(e));
  }
  size_t n = static_cast<size_t>(st.st_size);
  void* base = nullptr;
  if (n > 0) {
    // MAP_PRIVATE with write permission: pages are copy-on-write, so an in-place update of a
    // mapped parameter (training a trunk opened this way) gets a private copy and the file is
    // never written. Read-only protection would turn such an update into a crash instead.
    base = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (base == MAP_FAILED) {
      int e = errno;
      close(fd);
      throw std::runtime_error(std::string("cannot map ") + path + ": " + std::strerror(e));
    }
  }
  close(fd);  // the mapping keeps the file's pages; the descriptor is not needed
  auto* ref = new MappingRef(std::make_shared<Mapping>(base, n));
  if (length != nullptr) *length = static_cast<int64_t>(n);
  return reinterpret_cast<xmod_mapping>(ref);
  XMOD_CATCH(nullptr)
}

void* xmod_mapping_data(xmod_mapping h) {
  XMOD_TRY
  return unwrap_mapping(h)->base;
  XMOD_CATCH(nullptr)
}

xmod_tensor xmod_mapping_tensor(xmod_mapping h, int64_t offset, int32_t dtype, const int64_t* shape,
                                int32_t ndim) {
  XMOD_TRY
  auto& ref = unwrap_mapping(h);
  auto type = static_cast<at::ScalarType>(dtype);
  int64_t numel = 1;
  for (int32_t i = 0; i < ndim; i++) {
    TORCH_CHECK(shape[i] >= 0, "negative dimension ", shape[i]);
    numel *= shape[i];
  }
  int64_t element = static_cast<int64_t>(c10::elementSize(type));
  int64_t bytes = numel * element;
  TORCH_CHECK(offset >= 0 && bytes >= 0 && offset <= static_cast<int64_t>(ref->length) &&
                  bytes <= static_cast<int64_t>(ref->length) - offset,
              "tensor at offset ", offset, " of ", bytes, " bytes lies outside the ", ref->length,
              "-byte mapping");
  TORCH_CHECK(offset % element == 0, "tensor at offset ", offset, " is not aligned to its ",
              element, "-byte elements");
  char* data = static_cast<char*>(ref->base) + offset;
  MappingRef keep = ref;  // one reference per tensor, dropped by the storage's deleter
  auto t = at::from_blob(
      data, dims(shape, ndim), [keep](void*) mutable { keep.reset(); },
      at::TensorOptions().dtype(type));
  return wrap(std::move(t));
  XMOD_CATCH(nullptr)
}

void xmod_mapping_close(xmod_mapping h) {
  if (h == nullptr) return;
  delete reinterpret_cast<MappingRef*>(h);
}

int64_t xmod_mapping_live_count(void) { return g_live_mappings.load(); }
int64_t xmod_mapping_bytes(void) { return g_mapped_bytes.load(); }

}  // extern "C"
