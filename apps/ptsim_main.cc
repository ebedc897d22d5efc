// ptsim: the command-line front end. Each subcommand lives in apps/commands/ and adds itself
// to the list below; this file parses arguments (CLI11), runs the chosen command and maps
// errors to exit codes: 0 success, 1 internal error, 2 bad input (scenario, arguments,
// unwritable output), 3 the layout does not fit in memory (still simulated and reported).
#include <CLI/CLI.hpp>

#include <iostream>
#include <string>

#include "cli_common.h"

int main(int argc, char** argv) {
  using namespace ptsim::apps;
  CLI::App app{"ptsim: simulate parallel training of large neural networks before renting the cluster"};
  app.set_version_flag("--version", std::string("ptsim ") + PTSIM_VERSION);
  app.require_subcommand(1);

  CommandList commands;
  add_simulate_command(app, commands);
  add_collective_command(app, commands);
  add_validate_command(app, commands);
  add_sweep_command(app, commands);
  add_info_commands(app, commands);
  add_search_commands(app, commands);
  add_plan_command(app, commands);
  add_partition_command(app, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitBadInput;
  }

  for (const auto& command : commands) {
    if (*command.app) return run_command(command.run, std::cerr);
  }
  return kExitInternal;
}
