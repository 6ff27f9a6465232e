#include "error_channel.h"

namespace xmod {
namespace {
thread_local std::string t_error;
thread_local bool t_has_error = false;
thread_local std::string t_scratch;
}  // namespace

void set_error(std::string message) {
  t_error = std::move(message);
  t_has_error = true;
}

const char* last_error() { return t_has_error ? t_error.c_str() : nullptr; }

void clear_error() {
  t_has_error = false;
  t_error.clear();
}

const char* keep_string(std::string s, int64_t* len) {
  t_scratch = std::move(s);
  if (len != nullptr) *len = static_cast<int64_t>(t_scratch.size());
  return t_scratch.c_str();
}
}  // namespace xmod
