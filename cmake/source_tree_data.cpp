// Compiled into every program and test built in this source tree, never into the library (the
// top-level CMakeLists.txt adds it to attograd's build-tree interface): makes the datasets folder
// beside the checkout, ATTOGRAD_SOURCE_TREE_DATA_DIR, the last place the default data search looks,
// so `bash tools/main.sh` and the tests find it with no environment set, while an installed
// attograd holds no path of this machine.
#include "attograd/data/data_path.h"

namespace {

const bool source_tree_data_added = (ag::data::add_fallback_data_dir(ATTOGRAD_SOURCE_TREE_DATA_DIR), true);

}  // namespace
