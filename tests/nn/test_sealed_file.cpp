// Sealed files: every damage to a file attograd wrote is refused before libhdf5 parses it, a dataset
// cannot claim more bytes than the file holds, and a failed write leaves the old file as it was.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <filesystem>
#include <fstream>

#include "attograd/nn/hdf5.h"
#include "attograd/nn/linear.h"
#include "attograd/nn/sealed_file.h"
#include "attograd/train/run_checkpoint.h"
#include "tests/test_util.h"

namespace {

namespace fs = std::filesystem;
using ag::testing::error_of;
using ag::testing::expect_mentions;
using ag::testing::TempDir;

std::string sealed_bytes() {
  ag::manual_seed(3);
  ag::nn::Linear layer(6, 5);
  ag::H5File file("mem.h5", ag::H5File::Mode::Create);
  for (const auto& [name, t] : layer.state_dict()) file.write("/model/" + name, t);
  file.write("/vocab/words", std::vector<std::string>{"<pad>", "café", "good"});
  file.set_attr("/", "config", std::string(R"({"x": 1})"));
  return file.bytes();
}

TEST(SealedFile, EverySingleBitFlipIsRefused) {
  const std::string good = sealed_bytes();
  EXPECT_EQ(ag::verify_seal(good, "good.h5"), ag::SealState::Sealed);
  ASSERT_NO_THROW(ag::H5File::from_bytes(good, "good.h5").read_strings("/vocab/words"));
  // Every bit of the seal and the first KB of HDF5, then every 61st byte of the rest.
  for (size_t byte = 0; byte < good.size(); byte += byte < 1536 ? 1 : 61)
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[byte] = static_cast<char>(bad[byte] ^ (1 << bit));
      const std::string message = error_of([&] { ag::H5File::from_bytes(bad, "bad.h5"); });
      ASSERT_NE(message.find("bad.h5"), std::string::npos) << "byte " << byte << " bit " << bit << ": " << message;
    }
}

TEST(SealedFile, TruncationAndForeignBytesAreRefusedNamingTheFile) {
  const std::string good = sealed_bytes();
  expect_mentions(error_of([&] { ag::verify_seal(good.substr(0, good.size() - 1), "cut.h5"); }),
                  {"cut.h5", "truncated", std::to_string(good.size())});
  expect_mentions(error_of([&] { ag::verify_seal(good.substr(0, 100), "tiny.h5"); }), {"tiny.h5", "truncated"});
  expect_mentions(error_of([&] { ag::verify_seal("not hdf5 at all", "text.h5"); }), {"text.h5", "not an HDF5 file"});
  expect_mentions(error_of([&] { ag::verify_seal("", "empty.h5"); }), {"empty.h5"});
  std::string grown = good + "x";  // bytes appended after the seal was made
  expect_mentions(error_of([&] { ag::verify_seal(grown, "grown.h5"); }), {"grown.h5", "says"});
}

TEST(SealedFile, CheckpointsAreTheSameBytesForTheSameState) {
  TempDir tmp;
  ag::manual_seed(4);
  ag::nn::Linear layer(3, 2);
  const ag::train::Checkpoint c = ag::train::make_checkpoint(layer);
  ag::train::save_checkpoint((tmp.path / "a.h5").string(), c);
  ag::train::save_checkpoint((tmp.path / "b.h5").string(), c);
  EXPECT_EQ(ag::read_whole_file((tmp.path / "a.h5").string()), ag::read_whole_file((tmp.path / "b.h5").string()))
      << "no timestamps or uninitialised bytes in the file";
}

// An unsealed file (from h5py or another HDF5 writer) whose dataset claims far more elements than
// the file holds: refused before anything is allocated for it.
TEST(SealedFile, ADatasetClaimingMoreThanTheFileHoldsIsRefusedBeforeReading) {
  TempDir tmp;
  const std::string path = (tmp.path / "bomb.h5").string();
  {
    const hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const hid_t group = H5Gcreate2(file, "/model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    const hsize_t dims[2] = {25000, 20000};  // 2 GB of float32, never written
    const hid_t space = H5Screate_simple(2, dims, nullptr);
    const hid_t set = H5Dcreate2(file, "/model/embedding.weight", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT,
                                 H5P_DEFAULT);
    H5Dclose(set), H5Sclose(space), H5Gclose(group), H5Fclose(file);
  }
  EXPECT_LT(fs::file_size(path), 100000u);
  const ag::H5File file(path, ag::H5File::Mode::Read);
  EXPECT_EQ(file.shape_of("/model/embedding.weight"), (ag::Shape{25000, 20000})) << "the shape alone is cheap";
  expect_mentions(error_of([&] { file.read_tensor("/model/embedding.weight"); }),
                  {"bomb.h5", "embedding.weight", "500000000 elements", "holds 0 bytes"});
  expect_mentions(error_of([&] { ag::nn::load_state_dict_file(path); }), {"bomb.h5", "embedding.weight"});
}

TEST(SealedFile, NonFiniteWeightsAreNeverSavedAndNeverLoaded) {
  TempDir tmp;
  ag::manual_seed(5);
  ag::nn::Linear layer(3, 2);
  const std::string good = (tmp.path / "good.h5").string();
  ag::train::save_checkpoint(good, ag::train::make_checkpoint(layer));
  const std::string before = ag::read_whole_file(good);
  layer.named_parameters()[0].second.data()[4] = NAN;
  expect_mentions(error_of([&] { ag::train::save_checkpoint(good, ag::train::make_checkpoint(layer)); }),
                  {"save_checkpoint", good, "weight", "nan", "flat index 4"});
  EXPECT_EQ(ag::read_whole_file(good), before) << "the good checkpoint is untouched";

  // A file holding NaN weights (here a plain state dict, which may hold anything) is no checkpoint.
  const std::string state_dict = (tmp.path / "nan.h5").string();
  ag::nn::save_state_dict(state_dict, layer.state_dict());
  expect_mentions(error_of([&] { ag::train::load_checkpoint(state_dict); }), {"load_checkpoint", "nan.h5", "weight", "nan"});
}

TEST(SealedFile, AFailedWriteLeavesTheOldFileAndNoTemporary) {
  TempDir tmp;
  const std::string path = (tmp.path / "out.txt").string();
  ag::write_file_atomically(path, "old");
  fs::create_directory(ag::temporary_path_for(path));  // the temporary cannot be created
  expect_mentions(error_of([&] { ag::write_file_atomically(path, "new"); }), {path, "untouched"});
  EXPECT_EQ(ag::read_whole_file(path), "old");
  fs::remove(ag::temporary_path_for(path));
  ag::write_file_atomically(path, "new");
  EXPECT_EQ(ag::read_whole_file(path), "new");
  EXPECT_FALSE(fs::exists(ag::temporary_path_for(path)));
  expect_mentions(error_of([&] { ag::write_file_atomically((tmp.path / "no" / "such" / "dir.txt").string(), "x"); }),
                  {"dir.txt", "No such file"});
  expect_mentions(error_of([&] { ag::read_whole_file((tmp.path / "absent").string()); }), {"absent", "does not exist"});
}

}  // namespace
