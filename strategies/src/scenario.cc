#include "ptsim/strategies/scenario.h"

namespace ptsim::strategies {

namespace {

// Layers on each stage (all chunks together); validated in io/: p >= 2 when uneven, the
// middle stages split the rest evenly.
std::int64_t layers_on_stage(const Scenario& sc, std::int64_t s) {
  const std::int64_t p = sc.layout.pp;
  const std::int64_t f = sc.layout.num_layers_in_first_pipeline_stage;
  const std::int64_t l = sc.layout.num_layers_in_last_pipeline_stage;
  if (f == 0 && l == 0) return sc.model.num_layers / p;
  if (s == 0 && f > 0) return f;
  if (s == p - 1 && l > 0) return l;
  const std::int64_t even_stages = p - (f > 0 ? 1 : 0) - (l > 0 ? 1 : 0);
  return (sc.model.num_layers - f - l) / even_stages;
}

}  // namespace

StageLayers Scenario::chunk_layers(std::int64_t stage, std::int64_t chunk) const {
  const std::int64_t v = layout.virtual_stages;
  std::int64_t per_round = 0;  // layers of one chunk on every stage
  std::int64_t before = 0;     // this chunk's earlier stages
  for (std::int64_t s = 0; s < layout.pp; ++s) {
    const std::int64_t n = layers_on_stage(*this, s) / v;
    if (s < stage) before += n;
    per_round += n;
  }
  return {chunk * per_round + before, layers_on_stage(*this, stage) / v};
}

StageLayers Scenario::stage_layers(std::int64_t stage) const {
  if (layout.virtual_stages > 1) return {chunk_layers(stage, 0).first, layers_on_stage(*this, stage)};
  const std::int64_t p = layout.pp;
  const std::int64_t first_n = layout.num_layers_in_first_pipeline_stage;
  const std::int64_t last_n = layout.num_layers_in_last_pipeline_stage;
  if (first_n == 0 && last_n == 0) {
    const std::int64_t per = model.num_layers / p;
    return {stage * per, per};
  }
  // Validated in io/: p >= 2, the middle stages split the rest evenly.
  const std::int64_t f = first_n > 0 ? first_n : -1;
  const std::int64_t l = last_n > 0 ? last_n : -1;
  const std::int64_t fixed = (f > 0 ? f : 0) + (l > 0 ? l : 0);
  const std::int64_t even_stages = p - (f > 0 ? 1 : 0) - (l > 0 ? 1 : 0);
  const std::int64_t middle = even_stages > 0 ? (model.num_layers - fixed) / even_stages : 0;
  auto count_of = [&](std::int64_t s) {
    if (s == 0 && f > 0) return f;
    if (s == p - 1 && l > 0) return l;
    return middle;
  };
  std::int64_t start = 0;
  for (std::int64_t s = 0; s < stage; ++s) start += count_of(s);
  return {start, count_of(stage)};
}

std::string_view to_string(Schedule s) {
  switch (s) {
    case Schedule::sequential: return "sequential";
    case Schedule::gpipe: return "gpipe";
    case Schedule::one_f_one_b: return "1f1b";
    case Schedule::zb_h1: return "zb-h1";
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
