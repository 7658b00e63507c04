#pragma once
// Tiny datasets the examples' tests write themselves (an aclImdb tree, a Multi30k-named corpus) and
// the tiny transformer they train on the corpus.

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "examples/translate/train.h"

namespace ag::testing {

// A tiny aclImdb tree: positive reviews use "good great fine", negative "bad awful poor", with
// shared filler words, so a model can learn them in a few steps.
inline std::filesystem::path make_tiny_dataset(const std::filesystem::path& root, int per_class) {
  const char* positive[] = {"good", "great", "fine", "lovely"};
  const char* negative[] = {"bad", "awful", "poor", "dull"};
  const char* filler[] = {"the", "movie", "plot", "actor", "scene", "film"};
  for (const std::string split : {"train", "test"})
    for (int label = 0; label < 2; ++label)
      for (int i = 0; i < per_class; ++i) {
        std::string text;
        for (int w = 0; w < 6 + (i * 7) % 9; ++w)
          text += std::string(w % 3 == 1 ? (label ? positive : negative)[(i + w) % 4] : filler[(i * 5 + w) % 6]) + " ";
        const std::filesystem::path file = root / "aclImdb" / split / (label ? "pos" : "neg") / (std::to_string(i) + "_" + (label ? "9" : "2") + ".txt");
        std::filesystem::create_directories(file.parent_path());
        std::ofstream(file) << text;
      }
  return root;
}

inline const std::vector<std::string> kWords = {"ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen", "ibis", "jay"};

// n pairs of 3-6 words; the target is the source reversed.
inline std::pair<std::vector<std::string>, std::vector<std::string>> reverse_pairs(int n, uint32_t seed) {
  std::mt19937 gen(seed);
  std::vector<std::string> src, trg;
  for (int i = 0; i < n; ++i) {
    const int len = 3 + static_cast<int>(gen() % 4);
    std::vector<std::string> words;
    for (int k = 0; k < len; ++k) words.push_back(kWords[gen() % kWords.size()]);
    std::string s, t;
    for (int k = 0; k < len; ++k) {
      s += (k ? " " : "") + words[k];
      t += (k ? " " : "") + words[len - 1 - k];
    }
    src.push_back(s), trg.push_back(t);
  }
  return {src, trg};
}

inline void write_lines(const std::filesystem::path& file, const std::vector<std::string>& lines) {
  std::ofstream out(file);
  for (const auto& l : lines) out << l << '\n';
}

// train/val/test files in Multi30k's naming (plain text) under dir.
inline std::filesystem::path make_reverse_corpus(const std::filesystem::path& dir, int train_pairs) {
  std::filesystem::create_directories(dir);
  const std::pair<std::string, int> splits[] = {{"train", train_pairs}, {"val", 40}, {"test_2016_flickr", 40}};
  uint32_t seed = 7;
  for (const auto& [split, n] : splits) {
    const auto [src, trg] = reverse_pairs(n, seed++);
    write_lines(dir / (split + ".lc.norm.tok.de"), src);
    write_lines(dir / (split + ".lc.norm.tok.en"), trg);
  }
  return dir;
}


// A 2+2-layer transformer of width 32 on such a corpus, one thread, no dropout: the translation
// tests' own recipe.
inline translate::TrainOptions tiny_transformer(const std::filesystem::path& data, const std::filesystem::path& out) {
  translate::TrainOptions o;
  o.data_dir = data.string();
  o.out_dir = out.string();
  o.model.arch = "transformer";
  o.model.d_model = 32;
  o.model.encoder_layers = 2;
  o.model.decoder_layers = 2;
  o.model.heads = 4;
  o.model.feed_forward = 64;
  o.model.max_len = 16;
  o.model.dropout = 0.0f;
  o.lr = 3e-3;
  o.schedule = "inverse-sqrt";  // the tiny runs' own recipe: some are only a dozen steps long
  o.warmup = 50;
  o.max_tokens = 240;
  o.threads = 1;
  return o;
}

}  // namespace ag::testing
