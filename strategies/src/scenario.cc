#include "ptsim/strategies/scenario.h"

namespace ptsim::strategies {

std::string_view to_string(Schedule s) {
  switch (s) {
    case Schedule::sequential: return "sequential";
    case Schedule::gpipe: return "gpipe";
    case Schedule::one_f_one_b: return "1f1b";
  }
  return "?";
}

std::string_view to_string(Recompute r) { return r == Recompute::none ? "none" : "full"; }

std::string_view to_string(AttentionKernel a) {
  return a == AttentionKernel::flash ? "flash" : "unfused";
}

}  // namespace ptsim::strategies
