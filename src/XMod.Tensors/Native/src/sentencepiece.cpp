// SentencePiece training, loading (from a file or serialized bytes), encoding and decoding.
#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <stdexcept>

#include "error_channel.h"
#include "xmod_spm.h"

#ifndef XMOD_SENTENCEPIECE_VERSION
#define XMOD_SENTENCEPIECE_VERSION "unknown"
#endif

#define XMOD_TRY try {
#define XMOD_CATCH(sentinel)                       \
  }                                                \
  catch (const std::exception& e) {                \
    ::xmod::set_error(e.what());                   \
    return sentinel;                               \
  }                                                \
  catch (...) {                                    \
    ::xmod::set_error("unknown SentencePiece error"); \
    return sentinel;                               \
  }

using namespace xmod;

namespace {
sentencepiece::SentencePieceProcessor& proc(xmod_spm s) {
  if (s == nullptr) throw std::invalid_argument("null SentencePiece handle");
  return *reinterpret_cast<sentencepiece::SentencePieceProcessor*>(s);
}

void check(const sentencepiece::util::Status& st, const char* what) {
  if (!st.ok()) throw std::runtime_error(std::string(what) + ": " + st.ToString());
}
}  // namespace

extern "C" {

const char* xmod_spm_last_error(void) { return xmod::last_error(); }
void xmod_spm_clear_error(void) { xmod::clear_error(); }
const char* xmod_spm_version(void) { return XMOD_SENTENCEPIECE_VERSION; }
int32_t xmod_spm_abi_version(void) { return 1; }

int32_t xmod_spm_train(const char* args, uint32_t seed) {
  XMOD_TRY
  // SentencePiece 0.1.97 has no --random_seed flag; the seed of its sampling is process-wide.
  sentencepiece::SetRandomGeneratorSeed(seed);
  check(sentencepiece::SentencePieceTrainer::Train(args), "SentencePiece training failed");
  return 0;
  XMOD_CATCH(-1)
}

xmod_spm xmod_spm_load(const char* path) {
  XMOD_TRY
  auto p = std::make_unique<sentencepiece::SentencePieceProcessor>();
  check(p->Load(path), "cannot load SentencePiece model");
  return reinterpret_cast<xmod_spm>(p.release());
  XMOD_CATCH(nullptr)
}

xmod_spm xmod_spm_load_proto(const void* data, int64_t n) {
  XMOD_TRY
  auto p = std::make_unique<sentencepiece::SentencePieceProcessor>();
  check(p->LoadFromSerializedProto(
            absl::string_view(static_cast<const char*>(data), static_cast<size_t>(n))),
        "cannot load SentencePiece model");
  return reinterpret_cast<xmod_spm>(p.release());
  XMOD_CATCH(nullptr)
}

void xmod_spm_free(xmod_spm s) {
  delete reinterpret_cast<sentencepiece::SentencePieceProcessor*>(s);
}

int32_t xmod_spm_encode(xmod_spm s, const char* text, int64_t len, int32_t* out, int32_t cap) {
  XMOD_TRY
  std::vector<int> ids;
  check(proc(s).Encode(absl::string_view(text, static_cast<size_t>(len)), &ids), "encode failed");
  for (size_t k = 0; k < ids.size() && k < static_cast<size_t>(cap); k++) out[k] = ids[k];
  return static_cast<int32_t>(ids.size());
  XMOD_CATCH(-1)
}

const char* xmod_spm_decode(xmod_spm s, const int32_t* ids, int32_t n, int64_t* len) {
  XMOD_TRY
  std::vector<int> v(ids, ids + n);
  const int size = proc(s).GetPieceSize();
  for (int id : v)
    if (id < 0 || id >= size)
      throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary of " +
                              std::to_string(size));
  std::string text;
  check(proc(s).Decode(v, &text), "decode failed");
  return keep_string(std::move(text), len);
  XMOD_CATCH(nullptr)
}

int32_t xmod_spm_piece_to_id(xmod_spm s, const char* piece) {
  XMOD_TRY
  return proc(s).PieceToId(piece);
  XMOD_CATCH(-1)
}

const char* xmod_spm_id_to_piece(xmod_spm s, int32_t id) {
  XMOD_TRY
  const int size = proc(s).GetPieceSize();
  if (id < 0 || id >= size)
    throw std::out_of_range("token id " + std::to_string(id) + " is outside the vocabulary of " +
                            std::to_string(size));
  return keep_string(proc(s).IdToPiece(id));
  XMOD_CATCH(nullptr)
}

int32_t xmod_spm_vocab_size(xmod_spm s) {
  XMOD_TRY
  return proc(s).GetPieceSize();
  XMOD_CATCH(-1)
}

int32_t xmod_spm_special_ids(xmod_spm s, int32_t* out) {
  XMOD_TRY
  auto& p = proc(s);
  out[0] = p.unk_id();
  out[1] = p.bos_id();
  out[2] = p.eos_id();
  out[3] = p.pad_id();
  return 0;
  XMOD_CATCH(-1)
}

const char* xmod_spm_serialize(xmod_spm s, int64_t* len) {
  XMOD_TRY
  return keep_string(proc(s).serialized_model_proto(), len);
  XMOD_CATCH(nullptr)
}

}  // extern "C"
