// `ptsim search SCENARIO.json`: every valid layout of the scenario's model, cluster and
// batch (the layout fields the file gives stay fixed), ranked; `--emit` prints the best as
// framework config, `--shard i/N` writes one slice as JSON lines for `ptsim merge`; under
// `mpirun -n K` (MPI builds) the ranks share the work and rank 0 prints (search_mpi.h).
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <fstream>
#include <thread>
#include <tuple>

#include "../cli_common.h"
#include "../search_mpi.h"
#include "ptsim/costmodel/gpu_prices.h"
#include "ptsim/io/framework_configs.h"
#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"
#include "ptsim/io/search_report.h"

namespace ptsim::apps {
namespace {

struct SearchOptions {
  std::string scenario;
  std::size_t top = 10;
  std::string objective = "step-time";
  double price = 0;
  unsigned threads = 0;
  std::int64_t max_full_tasks = strategies::SearchOptions{}.max_full_tasks;
  bool json = false;
  std::string emit;
  std::string shard;
  std::vector<std::int64_t> gpus;
  std::int64_t mpi_chunks = 0;
};

#ifdef PTSIM_HAVE_MPI
using MpiSessionPtr = const MpiSession*;
#else
using MpiSessionPtr = const void*;  // never set: without MPI there is no session
#endif

std::pair<std::int64_t, std::int64_t> parse_shard(const std::string& text, const char* what) {
  const auto slash = text.find('/');
  try {
    if (slash == std::string::npos) throw std::invalid_argument("");
    std::size_t a = 0, b = 0;
    const long long i = std::stoll(text.substr(0, slash), &a);
    const long long n = std::stoll(text.substr(slash + 1), &b);
    if (a != slash || b != text.size() - slash - 1 || n < 1 || i < 0 || i >= n) throw std::invalid_argument("");
    return {i, n};
  } catch (const std::exception&) {
    throw io::InputError(what, "'" + text + "' is not i/N with 0 <= i < N");
  }
}

// The search on this process (session null) or on every rank of an MPI session, of which
// only rank 0 prints.
int search_main(const SearchOptions& opt, MpiSessionPtr session) {
  io::SearchInput in = io::parse_search_scenario_file(opt.scenario);
  const strategies::Scenario& base = in.scenario;
  strategies::SearchOptions so;
  io::SearchSettings settings;
  if (opt.objective == "cost") so.objective = strategies::Objective::cost;
  else if (opt.objective == "tokens-per-dollar") so.objective = strategies::Objective::tokens_per_dollar;
  else if (opt.objective != "step-time") throw io::InputError("--objective", "must be step-time, cost or tokens-per-dollar");
  so.price_per_gpu_hour = opt.price;
  if (so.objective != strategies::Objective::step_time && so.price_per_gpu_hour <= 0) {
    const auto price = costmodel::default_price_per_gpu_hour_usd(base.cluster.gpu.name);
    if (!price) throw io::InputError("--price-per-gpu-hour", "needed: no default price for gpu " + base.cluster.gpu.name);
    so.price_per_gpu_hour = *price;
  }
  if (opt.top < 1) throw io::InputError("--top", "must be at least 1");
  so.top = opt.top;
  so.threads = opt.threads > 0 ? opt.threads : std::max(1u, std::thread::hardware_concurrency());
  if (opt.max_full_tasks < 1) throw io::InputError("--max-full-tasks", "must be at least 1");
  so.max_full_tasks = opt.max_full_tasks;
  for (std::int64_t g : opt.gpus) {
    const int per_node = base.cluster.gpus_per_node;
    if (g < 1 || (g >= per_node && g % per_node != 0)) {
      throw io::InputError("--gpus", fmt::format("{} is not below or a multiple of gpus_per_node {}", g, per_node));
    }
  }
  in.space.gpu_counts = opt.gpus;
  std::string shard = opt.shard;
  if (shard.empty()) {
    const char* id = std::getenv("SLURM_ARRAY_TASK_ID");
    const char* count = std::getenv("SLURM_ARRAY_TASK_COUNT");
    if (id && count) shard = std::string(id) + "/" + count;
  }
  const bool sharded = !shard.empty();
  if (sharded) std::tie(so.shard_index, so.shard_count) = parse_shard(shard, opt.shard.empty() ? "SLURM_ARRAY_TASK_ID" : "--shard");
  if (sharded && session) throw io::InputError("--shard", "not with mpirun: the MPI ranks share the search themselves");
  if (opt.mpi_chunks < 0) throw io::InputError("--mpi-chunks", "must be at least 1 (0: four per worker rank)");
  if (isatty(STDERR_FILENO) && !session) {
    so.progress = [](std::string_view phase, std::size_t done, std::size_t total) {
      std::cerr << fmt::format("\r  {:<9} {:>8}/{:<8}", phase, done, total) << std::flush;
    };
  }
  settings.objective = so.objective;
  settings.price_per_gpu_hour = so.price_per_gpu_hour;
  settings.top = so.top;
  strategies::SearchResult result;
#ifdef PTSIM_HAVE_MPI
  if (session) {
    std::optional<strategies::SearchResult> merged = mpi_search_layouts(*session, base, in.space, so, opt.mpi_chunks);
    if (!merged) return kExitOk;  // a worker rank: rank 0 prints
    result = std::move(*merged);
  } else {
    result = strategies::search_layouts(base, in.space, so);
  }
#else
  result = strategies::search_layouts(base, in.space, so);
#endif
  if (so.progress) std::cerr << "\r" << std::string(40, ' ') << "\r";
  if (sharded) {
    io::write_search_lines(std::cout, result);
    return kExitOk;
  }
  if (result.rows.empty()) {
    std::cout << io::search_report_table(base, settings, result);
    std::cerr << "ptsim: error: no valid layout fits in memory\n";
    return kExitDoesNotFit;
  }
  const strategies::Scenario best =
      strategies::with_layout(base, result.rows.front().num_gpus, result.rows.front().layout);
  if (opt.emit == "megatron") std::cout << io::megatron_flags(best);
  else if (opt.emit == "torchtitan") std::cout << io::torchtitan_toml(best) << "\n" << io::torchtitan_python(best);
  else if (opt.emit == "deepspeed") std::cout << io::deepspeed_json(best);
  else if (!opt.emit.empty()) throw io::InputError("--emit", "must be megatron, torchtitan or deepspeed");
  else if (opt.json) std::cout << io::search_report_json(base, settings, result).dump(2) << "\n";
  else std::cout << io::search_report_table(base, settings, result);
  return kExitOk;
}

int run_search(const SearchOptions& opt) {
  const std::optional<std::int64_t> ranks = mpi_launch_size();
  if (!ranks || *ranks == 1) return search_main(opt, nullptr);
#ifdef PTSIM_HAVE_MPI
  MpiSession session;
  if (session.rank() == 0) return search_main(opt, &session);
  // Every rank reads the same input and so fails the same way: rank 0 says it, once.
  std::ostringstream quiet;
  return run_command([&] { return search_main(opt, &session); }, quiet);
#else
  throw io::InputError("mpirun", fmt::format("{} ranks, but this ptsim was built without MPI (install openmpi-bin "
                                             "libopenmpi-dev and configure again; docs/search.md)", *ranks));
#endif
}

struct MergeOptions {
  std::string scenario;
  std::vector<std::string> shards;
  std::size_t top = 10;
  bool json = false;
  std::string objective = "step-time";
  double price = 0;
};

int run_merge(const MergeOptions& opt) {
  const io::SearchInput in = io::parse_search_scenario_file(opt.scenario);
  std::vector<strategies::SearchResult> parts;
  for (const std::string& file : opt.shards) {
    std::ifstream f(file, std::ios::binary);
    if (!f) throw io::InputError(file, "cannot open file");
    parts.push_back(io::read_search_lines(f, file));
  }
  const strategies::SearchResult result = strategies::merge_search_results(parts, opt.top);
  io::SearchSettings settings;
  settings.top = opt.top;
  if (opt.objective == "cost") settings.objective = strategies::Objective::cost;
  else if (opt.objective == "tokens-per-dollar") settings.objective = strategies::Objective::tokens_per_dollar;
  else if (opt.objective != "step-time") throw io::InputError("--objective", "must be step-time, cost or tokens-per-dollar");
  settings.price_per_gpu_hour = opt.price;
  if (settings.objective != strategies::Objective::step_time && settings.price_per_gpu_hour <= 0) {
    settings.price_per_gpu_hour = costmodel::default_price_per_gpu_hour_usd(in.scenario.cluster.gpu.name).value_or(0);
  }
  if (opt.json) std::cout << io::search_report_json(in.scenario, settings, result).dump(2) << "\n";
  else std::cout << io::search_report_table(in.scenario, settings, result);
  return result.rows.empty() ? kExitDoesNotFit : kExitOk;
}

}  // namespace

void add_search_commands(CLI::App& app, CommandList& commands) {
  auto opt = std::make_shared<SearchOptions>();
  auto* sub = app.add_subcommand("search", "rank every valid layout of a scenario (its layout fields fix knobs)");
  sub->add_option("scenario", opt->scenario, "scenario JSON file")->required();
  sub->add_option("--top", opt->top, "how many best layouts to rank exactly (default 10)");
  sub->add_option("--objective", opt->objective, "step-time (default), cost or tokens-per-dollar");
  sub->add_option("--price-per-gpu-hour", opt->price, "US dollars per GPU-hour for the cost objectives (default: docs/search.md)");
  sub->add_option("--threads", opt->threads, "worker threads (default: all cores)");
  sub->add_option("--max-full-tasks", opt->max_full_tasks,
                  "largest rank-by-rank simulation to run, in tasks (~90 bytes each; default 60000000)");
  sub->add_option("--gpus", opt->gpus, "GPU counts to try instead of the scenario's cluster size")->delimiter(',');
  sub->add_flag("--json", opt->json, "print the ranking as one JSON object");
  sub->add_option("--emit", opt->emit, "print the best layout as megatron flags, torchtitan config or deepspeed JSON");
  sub->add_option("--shard", opt->shard, "i/N: evaluate slice i of N and write JSON lines (also SLURM_ARRAY_TASK_ID/COUNT)");
  sub->add_option("--mpi-chunks", opt->mpi_chunks,
                  "under mpirun: pieces of the layout space rank 0 hands out (default 0: four per worker rank)");
  commands.push_back({sub, [opt] { return run_search(*opt); }});

  auto mopt = std::make_shared<MergeOptions>();
  auto* merge = app.add_subcommand("merge", "combine the JSON lines of `ptsim search --shard` runs into one ranking");
  merge->add_option("scenario", mopt->scenario, "the scenario the shards searched")->required();
  merge->add_option("shards", mopt->shards, "shard output files")->required();
  merge->add_option("--top", mopt->top, "how many layouts to rank (default 10)");
  merge->add_option("--objective", mopt->objective, "the objective the shards used");
  merge->add_option("--price-per-gpu-hour", mopt->price, "the price the shards used");
  merge->add_flag("--json", mopt->json, "print the ranking as one JSON object");
  commands.push_back({merge, [mopt] { return run_merge(*mopt); }});
}

}  // namespace ptsim::apps
