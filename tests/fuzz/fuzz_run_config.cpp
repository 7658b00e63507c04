// Fuzz target: the model configs that travel as JSON inside checkpoints (imdb::ModelConfig and
// translate::TranslationConfig::from_json, then validate()), on the input as text. Expected: a
// config whose sizes are sane (positive where a model needs them, nowhere near terabytes) and that
// survives to_json/from_json unchanged, or an ag::Error. A nlohmann exception escaping, or
// undefined behaviour in a conversion, is a finding.
#include <cstdint>
#include <string>

#include "attograd/core/error.h"
#include "examples/imdb/model.h"
#include "examples/translate/model.h"
#include "tests/fuzz/fuzz_util.h"

namespace {

using ag::fuzz::broken;

constexpr double kMaxParameters = 0x1p31;

void check_imdb(const std::string& text) {
  imdb::ModelConfig c;
  try {
    c = imdb::ModelConfig::from_json(text);
  } catch (const ag::Error&) {
    return;
  }
  if (c.vocab_size < 3 || c.maxlen < 1 || c.embed_dim < 1 || c.hidden < 1) broken("imdb: a size below its minimum");
  if (!(c.dropout >= 0 && c.dropout < 1)) broken("imdb: dropout outside [0, 1)");
  if (static_cast<double>(c.vocab_size) * static_cast<double>(c.embed_dim) > kMaxParameters) broken("imdb: an absurd embedding");
  const imdb::ModelConfig again = imdb::ModelConfig::from_json(c.to_json());
  if (again.to_json() != c.to_json()) broken("imdb: to_json/from_json changed the config");
}

void check_translate(const std::string& text) {
  translate::TranslationConfig c;
  try {
    c = translate::TranslationConfig::from_json(text);
    c.validate();
  } catch (const ag::Error&) {
    return;
  }
  const bool transformer = c.arch == "transformer";
  const double width = static_cast<double>(transformer ? c.d_model : c.embed);
  if (width < 1 || c.src_vocab < translate::kNumSpecials || c.trg_vocab < translate::kNumSpecials)
    broken("translate: a size below its minimum");
  if (static_cast<double>(c.src_vocab + c.trg_vocab) * width > kMaxParameters) broken("translate: absurd embeddings");
  if (transformer && (c.heads < 1 || c.d_model % c.heads != 0 || c.max_len < 1)) broken("translate: bad heads or max_len");
  const translate::TranslationConfig again = translate::TranslationConfig::from_json(c.to_json());
  if (again.to_json() != c.to_json()) broken("translate: to_json/from_json changed the config");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  check_imdb(text);
  check_translate(text);
  return 0;
}
