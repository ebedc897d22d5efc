#include "cli_common.h"

#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"

namespace ptsim::apps {

strategies::Scenario load_scenario(const std::string& file) {
  try {
    return io::parse_scenario_file(file);
  } catch (const io::InputError& e) {
    if (e.path() == file) throw;
    throw io::InputError(file, e.what());
  }
}

}  // namespace ptsim::apps
