#include "cli_common.h"

#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/sim/time.h"

#include <exception>

namespace ptsim::apps {

int run_command(const std::function<int()>& command, std::ostream& err) {
  try {
    return command();
  } catch (const io::InputError& e) {
    err << "ptsim: error: " << e.what() << "\n";
    return kExitBadInput;
  } catch (const sim::TimeOverflow& e) {
    err << "ptsim: error: " << e.what() << ": the scenario's sizes, batch or bandwidths are out of any real range\n";
    return kExitBadInput;
  } catch (const std::exception& e) {
    err << "ptsim: internal error: " << e.what() << "\n";
    return kExitInternal;
  } catch (...) {
    err << "ptsim: internal error: unknown exception\n";
    return kExitInternal;
  }
}

strategies::Scenario load_scenario(const std::string& file) {
  try {
    return io::parse_scenario_file(file);
  } catch (const io::InputError& e) {
    if (e.path() == file) throw;
    throw io::InputError(file, e.what());
  }
}

}  // namespace ptsim::apps
