#pragma once
// Finding datasets: --data, then $ATTOGRAD_DATA, then the user data folder
// ($XDG_DATA_HOME/attograd, or ~/.local/share/attograd), then any folders the program added (a
// --data given is the only folder looked in); and the cache folder archives are extracted into.

#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace ag::data {

/// The folders searched for data: `flag` alone where it is not empty (the user named the folder:
/// finding another dataset elsewhere would train on data they did not ask for); otherwise
/// $ATTOGRAD_DATA (when set), user_data_dir() (when there is a home), then the fallback folders in
/// the order add_fallback_data_dir() added them.
std::vector<std::filesystem::path> data_search_path(const std::string& flag = "");

/// The user's own data folder: $XDG_DATA_HOME/attograd, or ~/.local/share/attograd; empty when
/// neither $XDG_DATA_HOME nor $HOME is set. Not created: it is only looked in.
std::filesystem::path user_data_dir();

/// Adds `dir` to the end of the default search (after user_data_dir(); never when --data is given),
/// for every later search in this process; a folder already there is not added twice. For a program
/// that knows a folder of its own: the programs and tests built in attograd's source tree add the
/// shared/data folder beside it. Thread-safe.
void add_fallback_data_dir(const std::filesystem::path& dir);

/// The first folder of the search path for which `has_dataset(folder)` is true. Otherwise raises an
/// ag::Error that lists every folder tried and says where to get the dataset (`how_to_get`).
std::filesystem::path find_data(const std::string& flag, const std::string& dataset_name,
                                const std::function<bool(const std::filesystem::path&)>& has_dataset,
                                const std::string& how_to_get);

/// The --data for a run that recorded the folder it trained on (`recorded`, from its checkpoint;
/// empty when the checkpoint holds none): `flag` where given, else `recorded` while it exists, else
/// "" (the default search, with a note on stderr that the recorded folder is gone).
std::string data_flag_for_run(const std::string& flag, const std::string& recorded);

/// $XDG_CACHE_HOME/attograd, or ~/.cache/attograd (created if missing).
std::filesystem::path cache_dir();

}  // namespace ag::data
