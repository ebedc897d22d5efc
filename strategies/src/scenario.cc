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

std::string_view to_string(Recompute r) {
  switch (r) {
    case Recompute::none: return "none";
    case Recompute::selective: return "selective";
    case Recompute::full: return "full";
  }
  return "?";
}

std::string_view to_string(AttentionKernel a) {
  return a == AttentionKernel::flash ? "flash" : "unfused";
}

std::string_view to_string(ContextParallelComm c) {
  return c == ContextParallelComm::ring ? "ring" : "all_gather";
}

std::string_view to_string(RankOrder o) {
  switch (o) {
    case RankOrder::tp_dp_pp: return "tp-dp-pp";
    case RankOrder::tp_pp_dp: return "tp-pp-dp";
    case RankOrder::dp_tp_pp: return "dp-tp-pp";
    case RankOrder::dp_pp_tp: return "dp-pp-tp";
    case RankOrder::pp_tp_dp: return "pp-tp-dp";
    case RankOrder::pp_dp_tp: return "pp-dp-tp";
  }
  return "?";
}

}  // namespace ptsim::strategies
