#include "ptsim/strategies/layout_search.h"

#include <algorithm>
#include <atomic>
#include <cassert>
#include <limits>
#include <numeric>
#include <optional>
#include <thread>

#include "ptsim/strategies/memory_model.h"
#include "ptsim/strategies/step_bound.h"
#include "ptsim/strategies/step_metrics.h"

namespace ptsim::strategies {
namespace {

std::vector<std::int64_t> divisors(std::int64_t n) {
  std::vector<std::int64_t> out;
  for (std::int64_t d = 1; d * d <= n; ++d) {
    if (n % d != 0) continue;
    out.push_back(d);
    if (d != n / d) out.push_back(n / d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

template <class T>
std::vector<T> or_fixed(const std::optional<T>& fixed, std::vector<T> all) {
  if (fixed) return {*fixed};
  return all;
}

// Runs fn(i) for i in [0, n) on `threads` threads (the caller's included); `progress`
// is called from the calling thread only.
template <class Fn>
void parallel_for(std::size_t n, unsigned threads, Fn&& fn, const std::function<void(std::size_t)>& progress) {
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> done{0};
  auto work = [&](bool report) {
    for (std::size_t i = next++; i < n; i = next++) {
      fn(i);
      const std::size_t d = ++done;
      if (report && progress) progress(d);
    }
  };
  std::vector<std::thread> pool;
  const auto extra = static_cast<unsigned>(threads > 1 ? std::min<std::size_t>(threads - 1, n) : 0);
  for (unsigned t = 0; t < extra; ++t) pool.emplace_back(work, false);
  work(true);
  for (auto& t : pool) t.join();
  if (progress) progress(n);
}

struct Candidate {
  std::int64_t index = 0;
  std::int64_t num_gpus = 0;
  Layout layout;
};

constexpr std::array kSchedules = {Schedule::sequential, Schedule::gpipe, Schedule::one_f_one_b, Schedule::zb_h1};
constexpr std::array kRecomputes = {Recompute::none, Recompute::selective, Recompute::full};

// Depth-first enumeration of the space, level by level (tp, cp, pp, ep, micro-batch,
// schedule, virtual stages, recompute, sequence parallelism, ZeRO). At each level the
// layout so far is checked with the most permissive values for the levels below; a broken
// rule discards the whole subtree at once (counted, not visited).
class Enumerator {
 public:
  Enumerator(const Scenario& base, const SearchSpace& space, std::int64_t gpus, SearchCounts& counts,
             std::vector<Candidate>& out, std::int64_t& next_index)
      : base_(base), space_(space), gpus_(gpus), counts_(counts), out_(out), next_index_(next_index) {}

  void run() {
    Layout l = base_.layout;
    level(0, l);
  }

 private:
  static constexpr int kLevels = 10;

  std::vector<std::int64_t> values(int lvl, const Layout& l) const {
    const auto& m = base_.model;
    switch (lvl) {
      case 0: return or_fixed(space_.tp, divisors(gpus_));
      case 1: return or_fixed(space_.cp, gpus_ % l.tp == 0 ? divisors(gpus_ / l.tp) : std::vector<std::int64_t>{1});
      case 2:
        return or_fixed(space_.pp, gpus_ % (l.tp * l.cp) == 0 ? divisors(gpus_ / (l.tp * l.cp))
                                                               : std::vector<std::int64_t>{1});
      case 3: return or_fixed(space_.ep, m.num_experts > 0 ? divisors(m.num_experts) : std::vector<std::int64_t>{1});
      case 4: return or_fixed(space_.micro_batch_size, divisors(base_.training.global_batch_size));
      case 5: {
        std::vector<std::int64_t> all;
        if (l.pp == 1) {
          // One stage: sequential, GPipe and 1F1B run the same order; ZB-H1's deferred
          // weight passes still differ.
          all = {static_cast<std::int64_t>(Schedule::one_f_one_b), static_cast<std::int64_t>(Schedule::zb_h1)};
        } else {
          for (Schedule s : kSchedules) all.push_back(static_cast<std::int64_t>(s));
        }
        if (space_.schedule) return {static_cast<std::int64_t>(*space_.schedule)};
        return all;
      }
      case 6: {
        if (l.schedule != Schedule::one_f_one_b || l.pp < 2) return or_fixed(space_.virtual_stages, {1});
        // Each stage's layers split evenly over its chunks (uneven stages: the first, the
        // last and the middle stages' counts all divisible by the chunk count).
        const std::int64_t first = l.num_layers_in_first_pipeline_stage;
        const std::int64_t last = l.num_layers_in_last_pipeline_stage;
        const std::int64_t middle_stages = l.pp - (first > 0 ? 1 : 0) - (last > 0 ? 1 : 0);
        const std::int64_t middle_layers = m.num_layers - first - last;
        if (middle_stages <= 0 || middle_layers <= 0 || middle_layers % middle_stages != 0) {
          return or_fixed(space_.virtual_stages, {1});
        }
        const std::int64_t chunk = std::gcd(std::gcd(middle_layers / middle_stages, first), last);
        return or_fixed(space_.virtual_stages, divisors(chunk));
      }
      case 7: {
        if (space_.recompute) return {static_cast<std::int64_t>(*space_.recompute)};
        std::vector<std::int64_t> all;
        for (Recompute r : kRecomputes) all.push_back(static_cast<std::int64_t>(r));
        return all;
      }
      case 8:
        if (space_.sequence_parallel) return {*space_.sequence_parallel ? 1 : 0};
        return l.tp > 1 ? std::vector<std::int64_t>{0, 1} : std::vector<std::int64_t>{0};
      case 9: return or_fixed(space_.zero_stage, l.dp * l.cp > 1 ? std::vector<std::int64_t>{0, 1, 2, 3}
                                                                 : std::vector<std::int64_t>{0});
    }
    return {};
  }

  // Sets level `lvl` of l to x (and dp once tp, cp, pp are known).
  void set(int lvl, Layout& l, std::int64_t x) const {
    switch (lvl) {
      case 0: l.tp = x; break;
      case 1: l.cp = x; break;
      case 2: {
        l.pp = x;
        set_stage_split(l);
        const std::int64_t model_parallel = l.tp * l.cp * l.pp;
        l.dp = space_.dp ? *space_.dp : (gpus_ % model_parallel == 0 ? gpus_ / model_parallel : 0);
        break;
      }
      case 3: l.ep = x; break;
      case 4: l.micro_batch_size = x; break;
      case 5: l.schedule = static_cast<Schedule>(x); break;
      case 6: l.virtual_stages = x; break;
      case 7: l.recompute = static_cast<Recompute>(x); break;
      case 8: l.sequence_parallel = x != 0; break;
      case 9: l.zero_stage = x; break;
    }
  }

  // The layers of the first and last stage. A split the scenario fixes is kept; otherwise
  // stages are even where pp divides the layers, and where it does not, Megatron-LM's
  // uneven split (--decoder-first/last-pipeline-num-layers) with the middle stages at
  // ceil(layers / pp) each and the remainder halved between the first and the last stage
  // (which also hold the embedding and the LM head), e.g. Llama 3 405B: 7 + 14 x 8 + 7.
  void set_stage_split(Layout& l) const {
    const Layout& fixed = base_.layout;
    if (fixed.num_layers_in_first_pipeline_stage > 0 || fixed.num_layers_in_last_pipeline_stage > 0) return;
    l.num_layers_in_first_pipeline_stage = l.num_layers_in_last_pipeline_stage = 0;
    const std::int64_t layers = base_.model.num_layers;
    if (l.pp < 2 || layers % l.pp == 0) return;
    const std::int64_t middle = (layers + l.pp - 1) / l.pp;
    const std::int64_t rest = layers - (l.pp - 2) * middle;
    if (rest < 2) return;  // no uneven split either: check_layout reports pp not dividing
    l.num_layers_in_first_pipeline_stage = (rest + 1) / 2;
    l.num_layers_in_last_pipeline_stage = rest / 2;
  }

  // l with the most permissive values for the open levels [open, kLevels).
  Layout permissive(const Layout& l, int open) const {
    Layout p = l;
    if (open <= 1) p.cp = 1;
    if (open <= 2) {
      p.pp = 1;
      p.dp = 0;
      set_stage_split(p);
    }
    if (open <= 3) p.ep = 1;
    if (open <= 4) p.micro_batch_size = 1;
    if (open <= 5) p.schedule = Schedule::one_f_one_b;
    if (open <= 6) p.virtual_stages = 1;
    if (open <= 7) p.recompute = Recompute::none;
    if (open <= 8) p.sequence_parallel = base_.layout.tp_comm_overlap;
    // Without reshard_after_forward only ZeRO 3 is valid.
    if (open <= 9) p.zero_stage = base_.layout.reshard_after_forward ? 0 : 3;
    return p;
  }

  // Leaves under l with levels [lvl, kLevels) still open.
  std::int64_t subtree(int lvl, Layout& l) const {
    if (lvl == kLevels) return 1;
    std::int64_t n = 0;
    for (std::int64_t x : values(lvl, l)) {
      Layout c = l;
      set(lvl, c, x);
      n += subtree(lvl + 1, c);
    }
    return n;
  }

  void level(int lvl, Layout& l) {
    if (lvl == kLevels) {
      ++counts_.enumerated;
      const std::int64_t index = next_index_++;
      if (auto problem = check_layout(l, base_.model, base_.training, gpus_)) {
        ++counts_.invalid[static_cast<std::size_t>(problem->rule)];
        return;
      }
      out_.push_back({index, gpus_, l});
      return;
    }
    for (std::int64_t x : values(lvl, l)) {
      Layout c = l;
      set(lvl, c, x);
      if (lvl + 1 < kLevels && lvl >= 2) {
        // pp fixes dp; from there on a broken rule holds for the whole subtree.
        const Layout probe = permissive(c, lvl + 1);
        if (probe.dp > 0) {
          if (auto problem = check_layout(probe, base_.model, base_.training, gpus_)) {
            const std::int64_t n = subtree(lvl + 1, c);
            counts_.enumerated += n;
            next_index_ += n;
            counts_.invalid[static_cast<std::size_t>(problem->rule)] += n;
            continue;
          }
        }
      }
      if (lvl == 2 && c.dp == 0) {  // tp x cp x pp does not divide the GPU count
        const std::int64_t n = subtree(lvl + 1, c);
        counts_.enumerated += n;
        next_index_ += n;
        counts_.invalid[static_cast<std::size_t>(LayoutRule::gpu_count)] += n;
        continue;
      }
      level(lvl + 1, c);
    }
  }

  const Scenario& base_;
  const SearchSpace& space_;
  std::int64_t gpus_;
  SearchCounts& counts_;
  std::vector<Candidate>& out_;
  std::int64_t& next_index_;
};

}  // namespace

void assign_layout(Scenario& s, const Scenario& base, std::int64_t num_gpus, const Layout& layout) {
  s.layout = layout;
  const int per_node = base.cluster.gpus_per_node;
  if (num_gpus < per_node) {
    s.cluster.num_nodes = 1;
    s.cluster.gpus_per_node = static_cast<int>(num_gpus);
  } else {
    s.cluster.num_nodes = static_cast<int>(num_gpus / per_node);
    s.cluster.gpus_per_node = per_node;
  }
}

namespace {

double score_of(const SearchOptions& o, std::int64_t gpus, double step_s) {
  if (o.objective == Objective::step_time) return step_s;
  return step_s * static_cast<double>(gpus) * o.price_per_gpu_hour / 3600.0;
}

// How to simulate s (lower_step's automatic choice, made once here): collapsed when its
// ranks are alike, every rank otherwise; nothing when lowering every rank would take more
// than o.max_full_tasks tasks (the collapsed lowering's tasks per rank times the GPUs).
std::optional<LoweringMode> simulation_mode(const Scenario& s, const SearchOptions& o) {
  if (!rank_asymmetry(s)) return LoweringMode::collapsed;
  // Without lowering first: every rank runs at least 8 kernels per layer and micro-batch
  // (forward and backward); the Llama-3-405B step of docs/performance.md has ~21.
  const Layout& l = s.layout;
  const double microbatches = static_cast<double>(s.training.global_batch_size / (l.dp * l.micro_batch_size));
  const double layers_per_rank = static_cast<double>(s.model.num_layers) / static_cast<double>(l.pp);
  if (8.0 * microbatches * layers_per_rank * static_cast<double>(s.cluster.num_gpus()) > static_cast<double>(o.max_full_tasks)) {
    return std::nullopt;
  }
  const LoweredStep collapsed = lower_step(s, LoweringMode::collapsed);
  const double per_rank =
      static_cast<double>(collapsed.graph.num_tasks()) / static_cast<double>(std::max<std::int64_t>(collapsed.simulated_ranks, 1));
  if (per_rank * static_cast<double>(s.cluster.num_gpus()) > static_cast<double>(o.max_full_tasks)) return std::nullopt;
  return LoweringMode::full;
}

// Simulates c into row, or returns false when it is too large to simulate.
bool simulate_row(const Scenario& base, const Candidate& c, const SearchOptions& o, SearchRow& row) {
  const Scenario s = with_layout(base, c.num_gpus, c.layout);
  const std::optional<LoweringMode> mode = simulation_mode(s, o);
  if (!mode) return false;
  const SimulatedStep step = simulate_step(s, *mode);
  row.index = c.index;
  row.num_gpus = c.num_gpus;
  row.layout = c.layout;
  row.step_time_s = step.result.step_time.seconds();
  row.score = score_of(o, c.num_gpus, row.step_time_s);
  row.mfu = step.result.mfu;
  row.tokens_per_s = step.result.tokens_per_s;
  row.peak_memory_bytes = step.result.memory.peak_bytes;
  row.capacity_bytes = step.result.memory.capacity_bytes;
  row.breakdown = step.result.breakdown;
  return true;
}

}  // namespace

std::string_view to_string(Objective o) {
  switch (o) {
    case Objective::step_time: return "step-time";
    case Objective::cost: return "cost";
    case Objective::tokens_per_dollar: return "tokens-per-dollar";
  }
  return "?";
}

bool row_before(const SearchRow& a, const SearchRow& b) {
  if (a.score != b.score) return a.score < b.score;
  return a.index < b.index;
}

Scenario with_layout(const Scenario& base, std::int64_t num_gpus, const Layout& layout) {
  Scenario s = base;
  assign_layout(s, base, num_gpus, layout);
  return s;
}

SearchResult search_layouts(const Scenario& base, const SearchSpace& space, const SearchOptions& options) {
  assert(options.shard_count >= 1 && options.shard_index >= 0 && options.shard_index < options.shard_count);
  SearchResult result;
  SearchCounts& counts = result.counts;
  std::vector<std::int64_t> gpu_counts = space.gpu_counts;
  if (gpu_counts.empty()) gpu_counts.push_back(base.cluster.num_gpus());

  std::vector<Candidate> valid;
  std::int64_t next_index = 0;
  for (std::int64_t g : gpu_counts) Enumerator(base, space, g, counts, valid, next_index).run();
  // The rule discards are the same on every shard: shard 0 reports them.
  if (options.shard_index != 0) {
    counts.enumerated = 0;
    counts.invalid.fill(0);
  }
  std::vector<Candidate> mine;
  for (const Candidate& c : valid) {
    if (c.index % options.shard_count == options.shard_index) mine.push_back(c);
  }
  counts.valid = static_cast<std::int64_t>(mine.size());

  auto report = [&](std::string_view phase, std::size_t total) -> std::function<void(std::size_t)> {
    if (!options.progress) return {};
    return [&options, phase, total](std::size_t done) { options.progress(phase, done, total); };
  };

  // Memory is closed-form: every layout that does not fit is dropped before any bound.
  // In chunks, each on one copy of the scenario (copying it per layout costs more than
  // the estimate).
  std::vector<char> fits(mine.size(), 0);
  constexpr std::size_t kChunk = 1024;
  parallel_for(
      (mine.size() + kChunk - 1) / kChunk, options.threads,
      [&](std::size_t chunk) {
        Scenario s = base;
        for (std::size_t i = chunk * kChunk; i < std::min(mine.size(), (chunk + 1) * kChunk); ++i) {
          assign_layout(s, base, mine[i].num_gpus, mine[i].layout);
          fits[i] = estimate_memory(s).fits ? 1 : 0;
        }
      },
      report("memory", (mine.size() + kChunk - 1) / kChunk));
  std::vector<Candidate> fitting;
  for (std::size_t i = 0; i < mine.size(); ++i) {
    if (fits[i]) fitting.push_back(mine[i]);
  }
  counts.does_not_fit = counts.valid - static_cast<std::int64_t>(fitting.size());

  // Layouts with the same bound_plan_layout share their stage plans: plan each group once.
  using PlanKey = std::array<std::int64_t, 11>;
  std::vector<PlanKey> plan_keys(fitting.size());
  for (std::size_t i = 0; i < fitting.size(); ++i) {
    const Layout k = bound_plan_layout(base.model, fitting[i].layout);
    plan_keys[i] = {fitting[i].num_gpus, k.tp, k.cp, k.pp, k.ep, k.micro_batch_size,
                    static_cast<std::int64_t>(k.recompute), k.sequence_parallel ? 1 : 0, k.zero_stage,
                    static_cast<std::int64_t>(k.schedule), k.virtual_stages};
  }
  std::vector<std::size_t> by_key(fitting.size());
  std::iota(by_key.begin(), by_key.end(), std::size_t{0});
  std::stable_sort(by_key.begin(), by_key.end(), [&](std::size_t a, std::size_t b) { return plan_keys[a] < plan_keys[b]; });
  std::vector<std::pair<std::size_t, std::size_t>> groups;  // [begin, end) in by_key
  for (std::size_t i = 0; i < by_key.size();) {
    std::size_t j = i + 1;
    while (j < by_key.size() && plan_keys[by_key[j]] == plan_keys[by_key[i]]) ++j;
    groups.emplace_back(i, j);
    i = j;
  }
  StagePlanCache plan_cache;
  std::vector<double> bound(fitting.size(), 0);
  parallel_for(
      groups.size(), options.threads,
      [&](std::size_t gi) {
        const auto [b, e] = groups[gi];
        const Layout planned = bound_plan_layout(base.model, fitting[by_key[b]].layout);
        Scenario s = with_layout(base, fitting[by_key[b]].num_gpus, planned);
        const std::vector<StagePlan> plans = plan_stages(s, &plan_cache);
        for (std::size_t k = b; k < e; ++k) {
          const Candidate& c = fitting[by_key[k]];
          assign_layout(s, base, c.num_gpus, c.layout);
          bound[by_key[k]] = score_of(options, c.num_gpus, step_time_lower_bound(s, plans).seconds());
        }
      },
      report("bounds", groups.size()));
  // Best first on the tightest bound known: every layout starts keyed by its closed-form
  // bound; the first time it reaches the front, its pipeline walk (pipeline_lower_bound,
  // tighter but linear in the step's blocks) is computed and it goes back keyed by the
  // larger of the two; the second time it is simulated. The search ends when the front's
  // key exceeds the N-th best simulated score: every layout left has a step time at least
  // its key. Ties go by enumeration index.
  struct Entry {
    double key = 0;
    std::int64_t index = 0;  // enumeration index
    std::size_t at = 0;      // in fitting
    bool walked = false;
  };
  auto after = [](const Entry& a, const Entry& b) {  // heap order: smallest key at the front
    if (a.key != b.key) return a.key > b.key;
    return a.index > b.index;
  };
  std::vector<Entry> heap;
  heap.reserve(fitting.size());
  for (std::size_t i = 0; i < fitting.size(); ++i) heap.push_back({bound[i], fitting[i].index, i, false});
  std::make_heap(heap.begin(), heap.end(), after);
  auto pop = [&] {
    std::pop_heap(heap.begin(), heap.end(), after);
    const Entry e = heap.back();
    heap.pop_back();
    return e;
  };
  auto push = [&](const Entry& e) {
    heap.push_back(e);
    std::push_heap(heap.begin(), heap.end(), after);
  };
  auto pipeline_bound = [&](const Candidate& c) {
    const std::vector<StagePlan> plans =
        plan_stages(with_layout(base, c.num_gpus, bound_plan_layout(base.model, c.layout)), &plan_cache);
    return score_of(options, c.num_gpus, pipeline_lower_bound(with_layout(base, c.num_gpus, c.layout), plans).seconds());
  };

  // Fixed-size waves, so that what is simulated does not depend on the thread count: walks
  // are computed kWave at a time, and a wave simulates up to kWave walked layouts whose
  // keys can still beat the N-th best as it stood when the wave began.
  constexpr std::size_t kWave = 8;
  const std::size_t top = std::max<std::size_t>(options.top, 1);
  std::vector<SearchRow>& rows = result.rows;
  std::int64_t walked = 0;
  std::vector<double> walked_key(fitting.size());  // a layout's key when it was taken to simulate
  while (!heap.empty()) {
    const double threshold = rows.size() >= top ? rows[top - 1].score : std::numeric_limits<double>::infinity();
    std::vector<std::size_t> wave;
    while (!heap.empty() && wave.size() < kWave && heap.front().key <= threshold) {
      std::vector<Entry> to_walk;
      while (!heap.empty() && to_walk.size() < kWave && wave.size() < kWave && heap.front().key <= threshold) {
        const Entry e = pop();
        if (e.walked) {
          walked_key[e.at] = e.key;
          wave.push_back(e.at);
        } else {
          to_walk.push_back(e);
        }
      }
      std::vector<double> walk(to_walk.size());
      parallel_for(to_walk.size(), options.threads, [&](std::size_t i) { walk[i] = pipeline_bound(fitting[to_walk[i].at]); }, {});
      for (std::size_t i = 0; i < to_walk.size(); ++i) {
        Entry e = to_walk[i];
        e.key = std::max(e.key, walk[i]);
        e.walked = true;
        push(e);
      }
      walked += static_cast<std::int64_t>(to_walk.size());
    }
    if (wave.empty()) break;
    std::vector<SearchRow> done(wave.size());
    std::vector<char> simulated(wave.size());
    parallel_for(
        wave.size(), options.threads,
        [&](std::size_t i) { simulated[i] = simulate_row(base, fitting[wave[i]], options, done[i]) ? 1 : 0; }, {});
    for (std::size_t i = 0; i < wave.size(); ++i) {
      if (simulated[i]) {
        ++counts.simulated;
        rows.push_back(done[i]);
      } else {
        counts.add_too_large(1, walked_key[wave[i]]);
      }
    }
    std::sort(rows.begin(), rows.end(), row_before);
    if (rows.size() > top) rows.resize(top);
    if (options.progress) options.progress("simulate", static_cast<std::size_t>(counts.simulated), fitting.size());
  }
  counts.pruned_by_pipeline_bound = walked - counts.simulated - counts.too_large;
  counts.pruned_by_bound = static_cast<std::int64_t>(fitting.size()) - counts.simulated - counts.too_large;
  return result;
}

bool ranking_unproven(const SearchResult& result, std::size_t top) {
  if (result.counts.too_large == 0) return false;
  if (result.rows.size() < std::max<std::size_t>(top, 1)) return true;
  return result.counts.too_large_min_score < result.rows[std::max<std::size_t>(top, 1) - 1].score;
}

SearchResult merge_search_results(const std::vector<SearchResult>& shards, std::size_t top) {
  SearchResult out;
  for (const SearchResult& r : shards) {
    SearchCounts& c = out.counts;
    c.enumerated += r.counts.enumerated;
    for (std::size_t i = 0; i < c.invalid.size(); ++i) c.invalid[i] += r.counts.invalid[i];
    c.valid += r.counts.valid;
    c.does_not_fit += r.counts.does_not_fit;
    c.simulated += r.counts.simulated;
    c.pruned_by_bound += r.counts.pruned_by_bound;
    c.pruned_by_pipeline_bound += r.counts.pruned_by_pipeline_bound;
    c.add_too_large(r.counts.too_large, r.counts.too_large_min_score);
    out.rows.insert(out.rows.end(), r.rows.begin(), r.rows.end());
  }
  std::sort(out.rows.begin(), out.rows.end(), row_before);
  if (out.rows.size() > top) out.rows.resize(top);
  return out;
}

}  // namespace ptsim::strategies
