// A layout as ready-to-paste training framework configuration: Megatron-LM command-line
// flags, torchtitan's TOML job config (v0.2) and the same keys as Python JobConfig
// assignments, DeepSpeed's JSON config. Each has a reader that turns it back into a
// layout (what a test uses to check the emitted text says what ptsim means). What a
// framework cannot express is written as a comment (docs/search.md lists the mapping).
#pragma once

#include <cstdint>
#include <string>

#include "ptsim/strategies/scenario.h"

namespace ptsim::io {

std::string megatron_flags(const strategies::Scenario& scenario);
std::string torchtitan_toml(const strategies::Scenario& scenario);
std::string torchtitan_python(const strategies::Scenario& scenario);
std::string deepspeed_json(const strategies::Scenario& scenario);

// Readers: the layout the text describes, for `scenario`'s GPU count and model; fields the
// format cannot carry keep the value in scenario.layout. Throw InputError on bad text.
strategies::Layout read_megatron_flags(const std::string& text, const strategies::Scenario& scenario);
strategies::Layout read_torchtitan_toml(const std::string& text, const strategies::Scenario& scenario);
strategies::Layout read_deepspeed_json(const std::string& text, const strategies::Scenario& scenario);

}  // namespace ptsim::io
