// The thread-local error channel and string scratch; no libtorch here, so the SentencePiece shim
// (a separate library, see CMakeLists.txt) compiles it too.
#pragma once
#include <cstdint>
#include <string>

namespace xmod {
void set_error(std::string message);
const char* last_error();  // nullptr when no error is pending
void clear_error();
// Thread-local scratch that backs every string the shim returns.
const char* keep_string(std::string s, int64_t* len = nullptr);
}  // namespace xmod
