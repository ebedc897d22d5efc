#include "ptsim/io/search_report.h"

#include <algorithm>

#include <fmt/format.h>

#include <array>
#include <numeric>

#include "ptsim/io/input_error.h"

namespace ptsim::io {
namespace {

using nlohmann::json;
using strategies::Breakdown;
using strategies::Layout;
using strategies::SearchCounts;
using strategies::SearchRow;

constexpr double kGiB = 1024.0 * 1024 * 1024;

json breakdown_json(const Breakdown& b) {
  return json{{"compute", b.compute_s},         {"recompute", b.recompute_s},     {"bubble", b.bubble_s},
              {"optimizer", b.optimizer_s},     {"exposed_tp", b.exposed_tp_s},   {"exposed_dp", b.exposed_dp_s},
              {"exposed_pp", b.exposed_pp_s},   {"exposed_cp", b.exposed_cp_s},   {"exposed_ep", b.exposed_ep_s}};
}

Breakdown breakdown_from(const json& j) {
  Breakdown b;
  b.compute_s = j.at("compute").get<double>();
  b.recompute_s = j.at("recompute").get<double>();
  b.bubble_s = j.at("bubble").get<double>();
  b.optimizer_s = j.at("optimizer").get<double>();
  b.exposed_tp_s = j.at("exposed_tp").get<double>();
  b.exposed_dp_s = j.at("exposed_dp").get<double>();
  b.exposed_pp_s = j.at("exposed_pp").get<double>();
  b.exposed_cp_s = j.at("exposed_cp").get<double>();
  b.exposed_ep_s = j.at("exposed_ep").get<double>();
  return b;
}

template <class E, std::size_t N>
E enum_from(const json& j, const std::array<E, N>& values) {
  const auto s = j.get<std::string>();
  for (E e : values) {
    if (strategies::to_string(e) == s) return e;
  }
  throw std::runtime_error("unknown value '" + s + "'");
}

Layout layout_from(const json& j) {
  Layout l;
  l.dp = j.at("dp").get<std::int64_t>();
  l.tp = j.at("tp").get<std::int64_t>();
  l.pp = j.at("pp").get<std::int64_t>();
  l.cp = j.at("cp").get<std::int64_t>();
  l.ep = j.at("ep").get<std::int64_t>();
  l.micro_batch_size = j.at("micro_batch_size").get<std::int64_t>();
  l.virtual_stages = j.at("virtual_stages").get<std::int64_t>();
  l.zero_stage = j.at("zero_stage").get<std::int64_t>();
  l.sequence_parallel = j.at("sequence_parallel").get<bool>();
  l.overlap_grad_reduce = j.at("overlap_grad_reduce").get<bool>();
  l.tp_comm_overlap = j.at("tp_comm_overlap").get<bool>();
  l.pipeline_scatter_gather = j.value("pipeline_scatter_gather", false);
  l.num_layers_in_first_pipeline_stage = j.at("num_layers_in_first_pipeline_stage").get<std::int64_t>();
  l.num_layers_in_last_pipeline_stage = j.at("num_layers_in_last_pipeline_stage").get<std::int64_t>();
  l.schedule = enum_from(j.at("schedule"), std::array{strategies::Schedule::sequential, strategies::Schedule::gpipe,
                                                      strategies::Schedule::one_f_one_b, strategies::Schedule::zb_h1});
  l.reshard_after_forward = j.at("reshard_after_forward").get<bool>();
  l.recompute = enum_from(j.at("recompute"), std::array{strategies::Recompute::none, strategies::Recompute::selective,
                                                        strategies::Recompute::full});
  l.cp_comm = enum_from(j.at("cp_comm"), std::array{strategies::ContextParallelComm::ring,
                                                    strategies::ContextParallelComm::all_gather});
  l.rank_order = enum_from(j.at("rank_order"),
                           std::array{strategies::RankOrder::tp_dp_pp, strategies::RankOrder::tp_pp_dp,
                                      strategies::RankOrder::dp_tp_pp, strategies::RankOrder::dp_pp_tp,
                                      strategies::RankOrder::pp_tp_dp, strategies::RankOrder::pp_dp_tp});
  return l;
}

json row_json(const SearchRow& r) {
  return json{{"index", r.index},
              {"num_gpus", r.num_gpus},
              {"layout", layout_json(r.layout)},
              {"step_time_s", r.step_time_s},
              {"score", r.score},
              {"mfu", r.mfu},
              {"tokens_per_s", r.tokens_per_s},
              {"peak_memory_bytes", r.peak_memory_bytes},
              {"capacity_bytes", r.capacity_bytes},
              {"breakdown_s", breakdown_json(r.breakdown)}};
}

SearchRow row_from(const json& j) {
  SearchRow r;
  r.index = j.at("index").get<std::int64_t>();
  r.num_gpus = j.at("num_gpus").get<std::int64_t>();
  r.layout = layout_from(j.at("layout"));
  r.step_time_s = j.at("step_time_s").get<double>();
  r.score = j.at("score").get<double>();
  r.mfu = j.at("mfu").get<double>();
  r.tokens_per_s = j.at("tokens_per_s").get<double>();
  r.peak_memory_bytes = j.at("peak_memory_bytes").get<double>();
  r.capacity_bytes = j.at("capacity_bytes").get<double>();
  r.breakdown = breakdown_from(j.at("breakdown_s"));
  return r;
}

}  // namespace

json search_counts_json(const SearchCounts& c) {
  json invalid = json::object();
  for (std::size_t i = 0; i < c.invalid.size(); ++i) {
    invalid[std::string(to_string(static_cast<strategies::LayoutRule>(i)))] = c.invalid[i];
  }
  return json{{"enumerated", c.enumerated},         {"invalid", invalid},
              {"valid", c.valid},                   {"does_not_fit", c.does_not_fit},
              {"simulated", c.simulated},           {"pruned_by_bound", c.pruned_by_bound},
              {"pruned_by_pipeline_bound", c.pruned_by_pipeline_bound},
              {"too_large_to_simulate", c.too_large},  {"too_large_min_bound", c.too_large_min_score}};
}

namespace {

SearchCounts counts_from(const json& j) {
  SearchCounts c;
  c.enumerated = j.at("enumerated").get<std::int64_t>();
  for (std::size_t i = 0; i < c.invalid.size(); ++i) {
    c.invalid[i] = j.at("invalid").at(std::string(to_string(static_cast<strategies::LayoutRule>(i)))).get<std::int64_t>();
  }
  c.valid = j.at("valid").get<std::int64_t>();
  c.does_not_fit = j.at("does_not_fit").get<std::int64_t>();
  c.simulated = j.at("simulated").get<std::int64_t>();
  c.pruned_by_bound = j.at("pruned_by_bound").get<std::int64_t>();
  c.pruned_by_pipeline_bound = j.at("pruned_by_pipeline_bound").get<std::int64_t>();
  c.too_large = j.at("too_large_to_simulate").get<std::int64_t>();
  c.too_large_min_score = j.at("too_large_min_bound").get<double>();
  return c;
}

}  // namespace

std::string layout_text(const Layout& l) {
  std::string s = fmt::format("tp{} pp{} dp{}", l.tp, l.pp, l.dp);
  if (l.num_layers_in_first_pipeline_stage > 0 || l.num_layers_in_last_pipeline_stage > 0) {
    // Uneven stages: layers of the first and last stage, as in "pp16(7,7)".
    s.insert(s.find(" dp"), fmt::format("({},{})", l.num_layers_in_first_pipeline_stage, l.num_layers_in_last_pipeline_stage));
  }
  if (l.cp > 1) s += fmt::format(" cp{}", l.cp);
  if (l.ep > 1) s += fmt::format(" ep{}", l.ep);
  s += fmt::format(" mbs{} {}", l.micro_batch_size, to_string(l.schedule));
  if (l.virtual_stages > 1) s += fmt::format(" v{}", l.virtual_stages);
  if (l.recompute != strategies::Recompute::none) s += fmt::format(" rc-{}", to_string(l.recompute));
  if (l.sequence_parallel) s += " sp";
  if (l.zero_stage > 0) s += fmt::format(" z{}", l.zero_stage);
  return s;
}

json layout_json(const Layout& l) {
  return json{{"tp", l.tp},
              {"pp", l.pp},
              {"dp", l.dp},
              {"cp", l.cp},
              {"cp_comm", std::string(to_string(l.cp_comm))},
              {"ep", l.ep},
              {"micro_batch_size", l.micro_batch_size},
              {"schedule", std::string(to_string(l.schedule))},
              {"virtual_stages", l.virtual_stages},
              {"recompute", std::string(to_string(l.recompute))},
              {"sequence_parallel", l.sequence_parallel},
              {"zero_stage", l.zero_stage},
              {"reshard_after_forward", l.reshard_after_forward},
              {"overlap_grad_reduce", l.overlap_grad_reduce},
              {"tp_comm_overlap", l.tp_comm_overlap},
              {"pipeline_scatter_gather", l.pipeline_scatter_gather},
              {"num_layers_in_first_pipeline_stage", l.num_layers_in_first_pipeline_stage},
              {"num_layers_in_last_pipeline_stage", l.num_layers_in_last_pipeline_stage},
              {"rank_order", std::string(to_string(l.rank_order))}};
}

json search_report_json(const strategies::Scenario& base, const SearchSettings& settings,
                        const strategies::SearchResult& result) {
  json ranking = json::array();
  const double tokens_per_step =
      static_cast<double>(base.training.global_batch_size * base.training.seq_length);
  for (const SearchRow& r : result.rows) {
    json row = row_json(r);
    if (settings.objective != strategies::Objective::step_time) {
      row["cost_per_step_usd"] = r.score;
      row["tokens_per_usd"] = r.score > 0 ? tokens_per_step / r.score : 0.0;
    }
    ranking.push_back(std::move(row));
  }
  json out{{"scenario", base.name},
           {"objective", std::string(to_string(settings.objective))},
           {"top", settings.top},
           {"counts", search_counts_json(result.counts)},
           {"ranking", ranking}};
  if (settings.objective != strategies::Objective::step_time) out["price_per_gpu_hour_usd"] = settings.price_per_gpu_hour;
  return out;
}

std::string search_report_table(const strategies::Scenario& base, const SearchSettings& settings,
                                const strategies::SearchResult& result) {
  const SearchCounts& c = result.counts;
  std::string out = fmt::format("ptsim search: {}\n", base.name);
  out += fmt::format("  model {}, {} x {}, global batch {} x seq {}\n", base.model.name,
                     base.cluster.num_gpus(), base.cluster.gpu.name, base.training.global_batch_size,
                     base.training.seq_length);
  out += fmt::format(
      "  layouts: {} enumerated, {} valid, {} do not fit in memory, {} simulated, {} pruned by the lower bound "
      "({} of them by the pipeline walk)\n",
      c.enumerated, c.valid, c.does_not_fit, c.simulated, c.pruned_by_bound, c.pruned_by_pipeline_bound);
  if (c.too_large > 0) {
    out += fmt::format(
        "  {} layouts not simulated: their ranks are placed unlike each other and simulating every rank would take "
        "more than --max-full-tasks tasks; their lowest lower bound is {:.3f}{}\n",
        c.too_large, c.too_large_min_score, settings.objective == strategies::Objective::step_time ? " s" : "");
    if (strategies::ranking_unproven(result, settings.top)) {
      out += "  WARNING: that bound is below the ranking's last score, so a better layout may be among them "
             "(raise --max-full-tasks if memory allows: about 90 bytes a task)\n";
    }
  }
  for (std::size_t i = 0; i < c.invalid.size(); ++i) {
    if (c.invalid[i] > 0) {
      out += fmt::format("    {:>10} invalid: {}\n", c.invalid[i], to_string(static_cast<strategies::LayoutRule>(i)));
    }
  }
  const bool cost = settings.objective != strategies::Objective::step_time;
  out += fmt::format("  ranked by {}{}\n\n", to_string(settings.objective),
                     cost ? fmt::format(" at ${:.2f} per GPU-hour", settings.price_per_gpu_hour) : "");
  std::size_t lw = 44;  // the layout column: as wide as the longest layout
  for (const SearchRow& r : result.rows) lw = std::max(lw, layout_text(r.layout).size());
  out += fmt::format("  {:>3}  {:>6}  {:<{}} {:>10} {:>6} {:>9}  {:>8} {:>8} {:>8} {:>8} {:>8}{}\n", "#", "GPUs", "layout", lw,
                     "step", "MFU", "mem GiB", "compute", "bubble", "exp.TP", "exp.DP", "other",
                     cost ? fmt::format(" {:>10}", settings.objective == strategies::Objective::cost ? "$/step" : "tok/$")
                          : "");
  const double tokens_per_step = static_cast<double>(base.training.global_batch_size * base.training.seq_length);
  int rank = 0;
  for (const SearchRow& r : result.rows) {
    const Breakdown& b = r.breakdown;
    const double other = b.recompute_s + b.optimizer_s + b.exposed_pp_s + b.exposed_cp_s + b.exposed_ep_s;
    std::string extra;
    if (settings.objective == strategies::Objective::cost) extra = fmt::format(" {:>10.4f}", r.score);
    if (settings.objective == strategies::Objective::tokens_per_dollar) {
      extra = fmt::format(" {:>10.0f}", r.score > 0 ? tokens_per_step / r.score : 0.0);
    }
    out += fmt::format("  {:>3}  {:>6}  {:<{}} {:>9.3f}s {:>5.1f}% {:>9.1f}  {:>7.3f}s {:>7.3f}s {:>7.3f}s {:>7.3f}s {:>7.3f}s{}\n",
                       ++rank, r.num_gpus, layout_text(r.layout), lw, r.step_time_s, 100 * r.mfu,
                       r.peak_memory_bytes / kGiB, b.compute_s, b.bubble_s, b.exposed_tp_s, b.exposed_dp_s, other, extra);
  }
  return out;
}

void write_search_lines(std::ostream& out, const strategies::SearchResult& result) {
  out << json{{"counts", search_counts_json(result.counts)}}.dump() << "\n";
  for (const SearchRow& r : result.rows) out << json{{"row", row_json(r)}}.dump() << "\n";
}

strategies::SearchResult read_search_lines(std::istream& in, const std::string& source) {
  strategies::SearchResult result;
  std::string line;
  int number = 0;
  bool have_counts = false;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    try {
      const json j = json::parse(line);
      if (j.contains("counts")) {
        if (have_counts) throw std::runtime_error("a second counts line");
        result.counts = counts_from(j.at("counts"));
        have_counts = true;
      } else {
        result.rows.push_back(row_from(j.at("row")));
      }
    } catch (const std::exception& e) {
      throw InputError(source, fmt::format("line {}: not a ptsim search shard line: {}", number, e.what()));
    }
  }
  if (!have_counts) throw InputError(source, "no counts line: not the output of ptsim search --shard");
  return result;
}

}  // namespace ptsim::io
