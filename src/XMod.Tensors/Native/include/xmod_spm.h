// The flat C API of the SentencePiece shim (libxmod_spm.so).
//
// A library of its own because Debian's libsentencepiece exports the symbols of the protobuf-lite
// it embeds: linked into the libtorch shim, they interpose libtorch's libprotobuf at load time and
// crash its static initialisers. Loaded separately (RTLD_LOCAL), each keeps its own protobuf.
// Same conventions as xmod_native.h: no exception crosses, errors through xmod_spm_last_error().
#pragma once
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XMOD_API __attribute__((visibility("default")))

typedef struct xmod_spm_s* xmod_spm;  // a SentencePiece processor

XMOD_API const char* xmod_spm_last_error(void);
XMOD_API void xmod_spm_clear_error(void);
XMOD_API const char* xmod_spm_version(void);
XMOD_API int32_t xmod_spm_abi_version(void);

// ---- SentencePiece -------------------------------------------------------------------------
XMOD_API int32_t xmod_spm_train(const char* args, uint32_t seed);  // Trainer::Train flags
XMOD_API xmod_spm xmod_spm_load(const char* path);
XMOD_API xmod_spm xmod_spm_load_proto(const void* data, int64_t n);
XMOD_API void xmod_spm_free(xmod_spm s);
// Writes at most cap ids; returns the total count (call again with a bigger buffer if larger).
XMOD_API int32_t xmod_spm_encode(xmod_spm s, const char* text, int64_t len, int32_t* out,
                                 int32_t cap);
XMOD_API const char* xmod_spm_decode(xmod_spm s, const int32_t* ids, int32_t n, int64_t* len);
XMOD_API int32_t xmod_spm_piece_to_id(xmod_spm s, const char* piece);
XMOD_API const char* xmod_spm_id_to_piece(xmod_spm s, int32_t id);
XMOD_API int32_t xmod_spm_vocab_size(xmod_spm s);
XMOD_API int32_t xmod_spm_special_ids(xmod_spm s, int32_t* unk_bos_eos_pad);
XMOD_API const char* xmod_spm_serialize(xmod_spm s, int64_t* len);

#ifdef __cplusplus
}
#endif
