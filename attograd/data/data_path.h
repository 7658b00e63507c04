#pragma once
// Finding datasets: --data, then $ATTOGRAD_DATA, then the shared/data folder beside the source tree
// (a --data given is the only folder looked in); and the cache folder archives are extracted into.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ag::data {

/// The folders searched for data: `flag` alone where it is not empty (the user named the folder:
/// finding another dataset elsewhere would train on data they did not ask for); otherwise
/// $ATTOGRAD_DATA, then <source dir>/../shared/data (fixed at configure time).
std::vector<std::filesystem::path> data_search_path(const std::string& flag = "");

/// The first folder of the search path for which `has_dataset(folder)` is true. Otherwise raises an
/// ag::Error that lists every folder tried and says where to get the dataset (`how_to_get`).
std::filesystem::path find_data(const std::string& flag, const std::string& dataset_name,
                                const std::function<bool(const std::filesystem::path&)>& has_dataset,
                                const std::string& how_to_get);

/// The --data for a run that recorded the folder it trained on (`recorded`, from its checkpoint; ""
/// in old runs): `flag` where given, else `recorded` while it exists, else "" (the default search,
/// with a note on stderr that the recorded folder is gone).
std::string data_flag_for_run(const std::string& flag, const std::string& recorded);

/// $XDG_CACHE_HOME/attograd, or ~/.cache/attograd (created if missing).
std::filesystem::path cache_dir();

}  // namespace ag::data
