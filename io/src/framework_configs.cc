#include "ptsim/io/framework_configs.h"

#include <fmt/format.h>

#include <initializer_list>
#include <map>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "ptsim/io/input_error.h"

namespace ptsim::io {
namespace {

using strategies::Layout;
using strategies::Recompute;
using strategies::Schedule;

std::string layout_summary(const strategies::Scenario& s) {
  const Layout& l = s.layout;
  return fmt::format("tp {} pp {} dp {} cp {} ep {}, micro-batch {}, {} schedule, virtual stages {}, recompute {}, "
                     "sequence parallel {}, ZeRO {}",
                     l.tp, l.pp, l.dp, l.cp, l.ep, l.micro_batch_size, to_string(l.schedule), l.virtual_stages,
                     to_string(l.recompute), l.sequence_parallel ? "on" : "off", l.zero_stage);
}

std::int64_t to_int(const std::string& value, const std::string& what) {
  try {
    std::size_t used = 0;
    const long long x = std::stoll(value, &used);
    if (used != value.size() || x < 0) throw std::invalid_argument("");
    return x;
  } catch (const std::exception&) {
    throw InputError(what, "'" + value + "' is not a non-negative integer");
  }
}

// A parallel degree, batch or layer count: at least 1 and at most 2^30, so products of a
// few of them cannot overflow.
constexpr std::int64_t kMaxCount = std::int64_t{1} << 30;

std::int64_t to_count(const std::string& value, const std::string& what) {
  const std::int64_t x = to_int(value, what);
  if (x < 1 || x > kMaxCount) throw InputError(what, "'" + value + "' is not between 1 and 2^30");
  return x;
}

// Virtual stages per pipeline rank from layers per virtual stage: num_layers / (pp x per_chunk).
std::int64_t virtual_stages_from_layers(const strategies::Scenario& s, std::int64_t pp, std::int64_t per_chunk,
                                        const std::string& what) {
  const std::int64_t layers = s.model.num_layers;
  if (layers % per_chunk != 0 || (layers / per_chunk) % pp != 0) {
    throw InputError(what, fmt::format("{} layers per virtual stage x pp {} do not divide the model's {} layers",
                                       per_chunk, pp, layers));
  }
  return layers / per_chunk / pp;
}

// GPUs / (tp x pp x cp), checked (one factor at a time, so nothing overflows).
std::int64_t data_parallel(const strategies::Scenario& s, std::int64_t tp, std::int64_t pp, std::int64_t cp) {
  std::int64_t rest = s.cluster.num_gpus();
  for (const std::int64_t f : {tp, pp, cp}) {
    if (f <= 0 || rest % f != 0) {
      throw InputError("config", fmt::format("tp {} x pp {} x cp {} does not divide {} GPUs", tp, pp, cp,
                                             s.cluster.num_gpus()));
    }
    rest /= f;
  }
  return rest;
}

std::string torchtitan_schedule(const Layout& l) {
  if (l.virtual_stages > 1) return "Interleaved1F1B";
  return l.schedule == Schedule::gpipe ? "GPipe" : "1F1B";
}

// key = value pairs of a torchtitan config, "section.key" -> value text.
std::vector<std::pair<std::string, std::string>> torchtitan_keys(const strategies::Scenario& s) {
  const Layout& l = s.layout;
  const bool shard = l.zero_stage > 0;
  std::vector<std::pair<std::string, std::string>> kv = {
      {"training.local_batch_size", std::to_string(s.training.global_batch_size / l.dp)},
      {"training.global_batch_size", std::to_string(s.training.global_batch_size)},
      {"training.seq_len", std::to_string(s.training.seq_length)},
      {"parallelism.data_parallel_replicate_degree", std::to_string(shard ? 1 : l.dp)},
      {"parallelism.data_parallel_shard_degree", std::to_string(shard ? l.dp : 1)},
      {"parallelism.fsdp_reshard_after_forward", l.zero_stage >= 3 && l.reshard_after_forward ? "\"always\"" : "\"never\""},
      {"parallelism.tensor_parallel_degree", std::to_string(l.tp)},
      {"parallelism.enable_async_tensor_parallel", l.tp_comm_overlap ? "true" : "false"},
      {"parallelism.pipeline_parallel_degree", std::to_string(l.pp)},
      {"parallelism.pipeline_parallel_schedule", "\"" + torchtitan_schedule(l) + "\""},
      {"parallelism.pipeline_parallel_microbatch_size", std::to_string(l.micro_batch_size)},
      {"parallelism.context_parallel_degree", std::to_string(l.cp)},
      {"parallelism.expert_parallel_degree", std::to_string(l.ep)},
  };
  // Keys stay grouped by section: TOML forbids opening a table twice.
  if (l.pp > 1 && l.num_layers_in_first_pipeline_stage == 0 && l.num_layers_in_last_pipeline_stage == 0) {
    kv.push_back({"parallelism.pipeline_parallel_layers_per_stage",
                  std::to_string(s.model.num_layers / (l.pp * l.virtual_stages))});
  }
  kv.push_back({"activation_checkpoint.mode", "\"" + std::string(to_string(l.recompute)) + "\""});
  if (l.recompute == Recompute::selective) kv.push_back({"activation_checkpoint.selective_ac_option", "\"op\""});
  return kv;
}

std::string torchtitan_notes(const Layout& l) {
  std::string out;
  if (l.schedule == Schedule::sequential) out += "# schedule sequential: torchtitan has no such schedule; 1F1B is given\n";
  if (l.schedule == Schedule::zb_h1) {
    out += "# schedule zb-h1: torchtitan's zero-bubble schedules (InterleavedZeroBubble, ZBVZeroBubble) are not ZB-H1; "
           "1F1B is given\n";
  }
  if (l.zero_stage == 3 && !l.reshard_after_forward) {
    out += "# zero_stage 3 without reshard after forward: fsdp_reshard_after_forward \"never\" keeps the gathered "
           "parameters from forward to backward\n";
  }
  if (l.zero_stage == 1) {
    out += "# zero_stage 1: FSDP shards parameters and gradients too; the closest is a shard degree with "
           "fsdp_reshard_after_forward \"never\" (ZeRO-2)\n";
  }
  if (l.num_layers_in_first_pipeline_stage > 0 || l.num_layers_in_last_pipeline_stage > 0) {
    out += fmt::format("# uneven stages: first {} and last {} layers: set parallelism.pipeline_parallel_split_points\n",
                       l.num_layers_in_first_pipeline_stage, l.num_layers_in_last_pipeline_stage);
  }
  return out;
}

}  // namespace

std::string megatron_flags(const strategies::Scenario& s) {
  const Layout& l = s.layout;
  std::vector<std::string> flags = {
      fmt::format("--tensor-model-parallel-size {}", l.tp),
      fmt::format("--pipeline-model-parallel-size {}", l.pp),
      fmt::format("--context-parallel-size {}", l.cp),
      fmt::format("--expert-model-parallel-size {}", l.ep),
      fmt::format("--micro-batch-size {}", l.micro_batch_size),
      fmt::format("--global-batch-size {}", s.training.global_batch_size),
      fmt::format("--seq-length {}", s.training.seq_length),
  };
  std::string notes;
  const bool uneven = l.num_layers_in_first_pipeline_stage > 0 || l.num_layers_in_last_pipeline_stage > 0;
  if (l.virtual_stages > 1 && uneven) {
    // Layers per chunk differ between the first/last and the middle stages: Megatron-Core
    // takes the chunk count instead (it may not be combined with the per-chunk layer flag).
    flags.push_back(fmt::format("--num-virtual-stages-per-pipeline-rank {}", l.virtual_stages));
  } else if (l.virtual_stages > 1) {
    flags.push_back(fmt::format("--num-layers-per-virtual-pipeline-stage {}", s.model.num_layers / (l.pp * l.virtual_stages)));
  }
  if (l.num_layers_in_first_pipeline_stage > 0) {
    flags.push_back(fmt::format("--decoder-first-pipeline-num-layers {}", l.num_layers_in_first_pipeline_stage));
  }
  if (l.num_layers_in_last_pipeline_stage > 0) {
    flags.push_back(fmt::format("--decoder-last-pipeline-num-layers {}", l.num_layers_in_last_pipeline_stage));
  }
  if (l.sequence_parallel) flags.push_back("--sequence-parallel");
  if (l.recompute == Recompute::selective) flags.push_back("--recompute-granularity selective");
  if (l.recompute == Recompute::full) {
    flags.push_back("--recompute-granularity full");
    flags.push_back("--recompute-method uniform");
    flags.push_back("--recompute-num-layers 1");
  }
  if (l.zero_stage == 1 || l.zero_stage == 2) flags.push_back("--use-distributed-optimizer");
  if (l.zero_stage == 2) notes += "# zero_stage 2: Megatron's distributed optimizer reduce-scatters gradients and shards optimizer states\n";
  if (l.zero_stage == 3) flags.push_back("--use-torch-fsdp2");
  if (l.overlap_grad_reduce) flags.push_back("--overlap-grad-reduce");
  if (l.tp_comm_overlap) flags.push_back("--tp-comm-overlap");
  if (l.cp > 1 && l.cp_comm == strategies::ContextParallelComm::all_gather) flags.push_back("--cp-comm-type all_gather");
  if (s.training.grad_reduce_in_fp32) flags.push_back("--accumulate-allreduce-grads-in-fp32");
  if (s.training.precision == costmodel::Dtype::bf16) flags.push_back("--bf16");
  if (s.training.precision == costmodel::Dtype::fp16) flags.push_back("--fp16");
  if (l.schedule != Schedule::one_f_one_b) {
    notes += fmt::format("# schedule {}: Megatron-LM runs 1F1B (interleaved with virtual stages); no flag selects it\n",
                         to_string(l.schedule));
  }
  std::string out = fmt::format("# Megatron-LM flags from ptsim search: {}\n# {}\n", s.name, layout_summary(s)) + notes;
  for (std::size_t i = 0; i < flags.size(); ++i) out += flags[i] + (i + 1 < flags.size() ? " \\\n" : "\n");
  return out;
}

Layout read_megatron_flags(const std::string& text, const strategies::Scenario& s) {
  Layout l = s.layout;
  l.tp = l.pp = l.cp = l.ep = l.virtual_stages = 1;
  l.sequence_parallel = l.overlap_grad_reduce = l.tp_comm_overlap = false;
  l.recompute = Recompute::none;
  l.zero_stage = 0;
  l.schedule = Schedule::one_f_one_b;
  l.num_layers_in_first_pipeline_stage = l.num_layers_in_last_pipeline_stage = 0;
  std::int64_t layers_per_virtual = 0;
  std::int64_t virtual_per_rank = 0;
  std::istringstream lines(text);
  std::string line;
  std::vector<std::string> words;
  while (std::getline(lines, line)) {
    if (!line.empty() && line[0] == '#') continue;
    std::istringstream in(line);
    for (std::string w; in >> w;) {
      if (w != "\\") words.push_back(w);
    }
  }
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& f = words[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= words.size()) throw InputError(f, "needs a value");
      return words[++i];
    };
    if (f == "--tensor-model-parallel-size") l.tp = to_count(value(), f);
    else if (f == "--pipeline-model-parallel-size") l.pp = to_count(value(), f);
    else if (f == "--context-parallel-size") l.cp = to_count(value(), f);
    else if (f == "--expert-model-parallel-size") l.ep = to_count(value(), f);
    else if (f == "--micro-batch-size") l.micro_batch_size = to_count(value(), f);
    else if (f == "--num-layers-per-virtual-pipeline-stage") layers_per_virtual = to_count(value(), f);
    else if (f == "--num-virtual-stages-per-pipeline-rank") virtual_per_rank = to_count(value(), f);
    else if (f == "--decoder-first-pipeline-num-layers") l.num_layers_in_first_pipeline_stage = to_count(value(), f);
    else if (f == "--decoder-last-pipeline-num-layers") l.num_layers_in_last_pipeline_stage = to_count(value(), f);
    else if (f == "--sequence-parallel") l.sequence_parallel = true;
    else if (f == "--recompute-granularity") l.recompute = value() == "full" ? Recompute::full : Recompute::selective;
    else if (f == "--use-distributed-optimizer") l.zero_stage = 1;
    else if (f == "--use-torch-fsdp2") l.zero_stage = 3;
    else if (f == "--overlap-grad-reduce") l.overlap_grad_reduce = true;
    else if (f == "--tp-comm-overlap") l.tp_comm_overlap = true;
    else if (f == "--cp-comm-type") l.cp_comm = value() == "all_gather" ? strategies::ContextParallelComm::all_gather : strategies::ContextParallelComm::ring;
    else if (f == "--global-batch-size" || f == "--seq-length" || f == "--recompute-method" || f == "--recompute-num-layers") value();
    else if (f == "--bf16" || f == "--fp16" || f == "--accumulate-allreduce-grads-in-fp32") continue;
    else throw InputError(f, "not a flag ptsim emits");
  }
  if (layers_per_virtual > 0 && virtual_per_rank > 0) {
    throw InputError("--num-virtual-stages-per-pipeline-rank", "cannot be combined with --num-layers-per-virtual-pipeline-stage");
  }
  if (layers_per_virtual > 0) {
    l.virtual_stages = virtual_stages_from_layers(s, l.pp, layers_per_virtual, "--num-layers-per-virtual-pipeline-stage");
  }
  if (virtual_per_rank > 0) l.virtual_stages = virtual_per_rank;
  l.dp = data_parallel(s, l.tp, l.pp, l.cp);
  return l;
}

std::string torchtitan_toml(const strategies::Scenario& s) {
  std::string out = fmt::format("# torchtitan v0.2 job config (TOML) from ptsim search: {}\n# {}\n", s.name, layout_summary(s));
  out += torchtitan_notes(s.layout);
  std::string section;
  for (const auto& [key, value] : torchtitan_keys(s)) {
    const std::string sec = key.substr(0, key.find('.'));
    if (sec != section) {
      out += fmt::format("{}[{}]\n", section.empty() ? "" : "\n", sec);
      section = sec;
    }
    out += fmt::format("{} = {}\n", key.substr(key.find('.') + 1), value);
  }
  return out;
}

std::string torchtitan_python(const strategies::Scenario& s) {
  std::string out = fmt::format("# torchtitan JobConfig fields (Python) from ptsim search: {}\n# {}\n", s.name, layout_summary(s));
  out += torchtitan_notes(s.layout);
  for (auto [key, value] : torchtitan_keys(s)) {
    if (value == "true") value = "True";
    if (value == "false") value = "False";
    out += fmt::format("job_config.{} = {}\n", key, value);
  }
  return out;
}

Layout read_torchtitan_toml(const std::string& text, const strategies::Scenario& s) {
  std::map<std::string, std::string> kv;
  std::istringstream lines(text);
  std::string line, section;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      const auto close = line.find(']');
      if (close == std::string::npos) throw InputError("torchtitan config", "section header without ']': " + line);
      section = line.substr(1, close - 1);
      continue;
    }
    const auto eq = line.find(" = ");
    if (eq == std::string::npos) throw InputError("torchtitan config", "not 'key = value': " + line);
    std::string value = line.substr(eq + 3);
    if (value.size() >= 2 && value.front() == '"') value = value.substr(1, value.size() - 2);
    kv[section + "." + line.substr(0, eq)] = value;
  }
  auto get = [&](const std::string& key) {
    auto it = kv.find(key);
    if (it == kv.end()) throw InputError(key, "missing");
    return it->second;
  };
  auto count = [&](const std::string& key) { return to_count(get(key), key); };
  Layout l = s.layout;
  l.tp = count("parallelism.tensor_parallel_degree");
  l.pp = count("parallelism.pipeline_parallel_degree");
  l.cp = count("parallelism.context_parallel_degree");
  l.ep = count("parallelism.expert_parallel_degree");
  l.micro_batch_size = count("parallelism.pipeline_parallel_microbatch_size");
  const std::int64_t shard = count("parallelism.data_parallel_shard_degree");
  l.dp = count("parallelism.data_parallel_replicate_degree") * shard;
  l.zero_stage = shard > 1 ? (get("parallelism.fsdp_reshard_after_forward") == "always" ? 3 : 2) : 0;
  l.tp_comm_overlap = get("parallelism.enable_async_tensor_parallel") == "true";
  const std::string schedule = get("parallelism.pipeline_parallel_schedule");
  l.schedule = schedule == "GPipe" ? Schedule::gpipe : Schedule::one_f_one_b;
  l.virtual_stages = 1;
  if (schedule == "Interleaved1F1B") {
    // Uneven stages carry their split as a comment (split points), not a layer count:
    // the chunk count then stays the scenario's.
    const std::string key = "parallelism.pipeline_parallel_layers_per_stage";
    l.virtual_stages = kv.count(key) != 0 ? virtual_stages_from_layers(s, l.pp, count(key), key) : s.layout.virtual_stages;
  }
  const std::string mode = get("activation_checkpoint.mode");
  l.recompute = mode == "full" ? Recompute::full : mode == "selective" ? Recompute::selective : Recompute::none;
  if (l.dp != data_parallel(s, l.tp, l.pp, l.cp)) throw InputError("parallelism", "degrees do not multiply to the GPU count");
  return l;
}

std::string deepspeed_json(const strategies::Scenario& s) {
  const Layout& l = s.layout;
  const std::int64_t m = s.training.global_batch_size / (l.dp * l.micro_batch_size);
  nlohmann::ordered_json j;
  j["train_batch_size"] = s.training.global_batch_size;
  j["train_micro_batch_size_per_gpu"] = l.micro_batch_size;
  j["gradient_accumulation_steps"] = m;
  j["bf16"] = {{"enabled", s.training.precision == costmodel::Dtype::bf16}};
  j["fp16"] = {{"enabled", s.training.precision == costmodel::Dtype::fp16}};
  j["zero_optimization"] = {{"stage", l.zero_stage},
                            {"overlap_comm", l.overlap_grad_reduce},
                            {"reduce_scatter", true},
                            {"contiguous_gradients", true}};
  j["tensor_parallel"] = {{"autotp_size", l.tp}};
  j["activation_checkpointing"] = {{"partition_activations", l.recompute != Recompute::none && l.tp > 1},
                                   {"contiguous_memory_optimization", false},
                                   {"cpu_checkpointing", false}};
  return j.dump(2) + "\n";
}

Layout read_deepspeed_json(const std::string& text, const strategies::Scenario& s) {
  Layout l = s.layout;
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw InputError("deepspeed config", e.what());
  }
  // A key's value as a count (1 .. 2^30) or a flag; anything else names the key.
  auto at = [&](std::initializer_list<const char*> path) -> const nlohmann::json& {
    const nlohmann::json* node = &j;
    std::string name;
    for (const char* key : path) {
      if (!name.empty()) name += '.';
      name += key;
      if (!node->is_object() || !node->contains(key)) throw InputError(name, "missing");
      node = &(*node)[key];
    }
    return *node;
  };
  auto count = [&](std::initializer_list<const char*> path, const char* name) {
    const nlohmann::json& v = at(path);
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1 || v.get<std::int64_t>() > kMaxCount) {
      throw InputError(name, "is not an integer between 1 and 2^30");
    }
    return v.get<std::int64_t>();
  };
  const std::int64_t gbs = count({"train_batch_size"}, "train_batch_size");
  l.micro_batch_size = count({"train_micro_batch_size_per_gpu"}, "train_micro_batch_size_per_gpu");
  const std::int64_t gas = count({"gradient_accumulation_steps"}, "gradient_accumulation_steps");
  const nlohmann::json& stage = at({"zero_optimization", "stage"});
  if (!stage.is_number_integer() || stage.get<std::int64_t>() < 0 || stage.get<std::int64_t>() > 3) {
    throw InputError("zero_optimization.stage", "is not 0, 1, 2 or 3");
  }
  l.zero_stage = stage.get<std::int64_t>();
  const nlohmann::json& overlap = at({"zero_optimization", "overlap_comm"});
  if (!overlap.is_boolean()) throw InputError("zero_optimization.overlap_comm", "is not true or false");
  l.overlap_grad_reduce = overlap.get<bool>();
  l.tp = count({"tensor_parallel", "autotp_size"}, "tensor_parallel.autotp_size");
  if (gbs % l.micro_batch_size != 0 || (gbs / l.micro_batch_size) % gas != 0) {
    throw InputError("train_batch_size", "is not train_micro_batch_size_per_gpu x gradient_accumulation_steps x dp");
  }
  l.dp = gbs / l.micro_batch_size / gas;
  // Pipeline stages are the PipelineModule's num_stages in the training script.
  l.cp = 1;
  const std::int64_t g = s.cluster.num_gpus();
  if (g % l.dp != 0 || (g / l.dp) % l.tp != 0) throw InputError("deepspeed config", "dp x tp does not divide the GPUs");
  l.pp = g / l.dp / l.tp;
  return l;
}

}  // namespace ptsim::io
