// libtorch's errors into the error channel.
#include <c10/util/Exception.h>

#include "common.h"

namespace xmod {
void set_error_from_current_exception() {
  try {
    throw;
  } catch (const c10::Error& e) {
    set_error(e.what_without_backtrace());  // what() would append a C++ backtrace
  } catch (const std::exception& e) {
    set_error(e.what());
  } catch (...) {
    set_error("unknown native error");
  }
}
}  // namespace xmod

extern "C" const char* xmod_last_error(void) { return xmod::last_error(); }
extern "C" void xmod_clear_error(void) { xmod::clear_error(); }
