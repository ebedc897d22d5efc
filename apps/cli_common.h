// Shared pieces of the ptsim command line: exit codes, the command registry every
// subcommand file adds itself to, and scenario loading with file-named errors.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "ptsim/strategies/scenario.h"

namespace ptsim::apps {

// Exit codes, the same for every command (README "Exit codes").
constexpr int kExitOk = 0;
constexpr int kExitInternal = 1;
constexpr int kExitBadInput = 2;
constexpr int kExitDoesNotFit = 3;
constexpr int kExitAccuracyLost = 4;  // ptsim validate --check: a set's error exceeds its guard

// A registered subcommand: the CLI11 node (set when the user named it) and what runs it.
struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;
};
using CommandList = std::vector<Command>;

// Each file under apps/commands/ defines one of these; ptsim_main.cc calls them in order.
void add_simulate_command(CLI::App& app, CommandList& commands);
void add_collective_command(CLI::App& app, CommandList& commands);
void add_validate_command(CLI::App& app, CommandList& commands);
void add_sweep_command(CLI::App& app, CommandList& commands);
void add_info_commands(CLI::App& app, CommandList& commands);  // schema, presets
void add_search_commands(CLI::App& app, CommandList& commands);  // search, merge
void add_plan_command(CLI::App& app, CommandList& commands);

// Runs a command and maps what escapes it to an exit code, printing one line to `err`:
// io::InputError and sim::TimeOverflow (an absurd input: a step longer than the clock's 292
// years) -> kExitBadInput ("ptsim: error: ..."), any other exception ->
// kExitInternal ("ptsim: internal error: ..."); otherwise the command's own code.
int run_command(const std::function<int()>& command, std::ostream& err);
void add_partition_command(CLI::App& app, CommandList& commands);

// Reads a scenario file; field errors name the file too ("x.json: layout.tp: ...").
strategies::Scenario load_scenario(const std::string& file);

}  // namespace ptsim::apps
