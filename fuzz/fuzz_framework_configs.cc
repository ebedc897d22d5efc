// Fuzzes the ready-to-paste framework configs of `ptsim search --emit`, both ways:
//  1. the input as a scenario file: when the parser accepts it, its layout is emitted as
//     Megatron-LM flags, torchtitan TOML and DeepSpeed JSON and read back, and must come
//     back equal in every field the format carries (the mapping in docs/search.md; what a
//     format cannot say is listed below and kept from the scenario by the readers);
//  2. the input as a hand-edited config: each reader must accept it or refuse it with a
//     one-line error, and an accepted layout must multiply to the GPU count.
#include <string>

#include "fuzz_common.h"
#include "ptsim/io/framework_configs.h"
#include "ptsim/io/scenario_parser.h"
#include "test_scenario.h"

namespace {

using ptsim::strategies::Layout;
using ptsim::strategies::Scenario;
using ptsim::strategies::Schedule;

void check(bool ok, const char* format, const char* field) {
  if (!ok) ptsim::fuzz::fail(format, field);
}

void check_product(const Layout& l, const Scenario& s, const char* format) {
  check(l.tp * l.pp * l.cp * l.dp == s.cluster.num_gpus(), format, "read a layout whose product is not the GPU count");
}

// ZeRO as each format says it: Megatron's distributed optimizer is one flag for ZeRO 1 and
// 2; torchtitan shards with FSDP only over dp > 1, "never" resharding reads as ZeRO 2.
std::int64_t megatron_zero(const Layout& l) { return l.zero_stage == 2 ? 1 : l.zero_stage; }
std::int64_t torchtitan_zero(const Layout& l) {
  if (l.zero_stage == 0 || l.dp == 1) return 0;
  return l.zero_stage == 3 && l.reshard_after_forward ? 3 : 2;
}
// Megatron-LM runs 1F1B (interleaved with virtual stages) only; torchtitan adds GPipe.
Schedule megatron_schedule(const Layout&) { return Schedule::one_f_one_b; }
Schedule torchtitan_schedule(const Layout& l) {
  return l.schedule == Schedule::gpipe ? Schedule::gpipe : Schedule::one_f_one_b;
}

void round_trip(const Scenario& s) {
  const Layout& l = s.layout;
  const Layout m = ptsim::io::read_megatron_flags(ptsim::io::megatron_flags(s), s);
  check(m.tp == l.tp && m.pp == l.pp && m.dp == l.dp && m.cp == l.cp && m.ep == l.ep, "megatron", "degrees");
  check(m.micro_batch_size == l.micro_batch_size, "megatron", "micro_batch_size");
  check(m.virtual_stages == l.virtual_stages, "megatron", "virtual_stages");
  check(m.num_layers_in_first_pipeline_stage == l.num_layers_in_first_pipeline_stage &&
            m.num_layers_in_last_pipeline_stage == l.num_layers_in_last_pipeline_stage,
        "megatron", "uneven stages");
  check(m.recompute == l.recompute, "megatron", "recompute");
  check(m.sequence_parallel == l.sequence_parallel, "megatron", "sequence_parallel");
  check(m.zero_stage == megatron_zero(l), "megatron", "zero_stage");
  check(m.overlap_grad_reduce == l.overlap_grad_reduce && m.tp_comm_overlap == l.tp_comm_overlap, "megatron",
        "overlap flags");
  check(m.cp_comm == l.cp_comm, "megatron", "cp_comm");
  check(m.schedule == megatron_schedule(l), "megatron", "schedule");

  const Layout t = ptsim::io::read_torchtitan_toml(ptsim::io::torchtitan_toml(s), s);
  check(t.tp == l.tp && t.pp == l.pp && t.dp == l.dp && t.cp == l.cp && t.ep == l.ep, "torchtitan", "degrees");
  check(t.micro_batch_size == l.micro_batch_size, "torchtitan", "micro_batch_size");
  check(t.virtual_stages == l.virtual_stages, "torchtitan", "virtual_stages");
  check(t.recompute == l.recompute, "torchtitan", "recompute");
  check(t.zero_stage == torchtitan_zero(l), "torchtitan", "zero_stage");
  check(t.tp_comm_overlap == l.tp_comm_overlap, "torchtitan", "tp_comm_overlap");
  check(t.schedule == torchtitan_schedule(l), "torchtitan", "schedule");

  // DeepSpeed's JSON carries batch, ZeRO and TP; pipeline stages are code, CP absent.
  const Layout d = ptsim::io::read_deepspeed_json(ptsim::io::deepspeed_json(s), s);
  check(d.tp == l.tp && d.dp == l.dp && (l.cp > 1 || d.pp == l.pp), "deepspeed", "degrees");
  check(d.micro_batch_size == l.micro_batch_size, "deepspeed", "micro_batch_size");
  check(d.zero_stage == l.zero_stage && d.overlap_grad_reduce == l.overlap_grad_reduce, "deepspeed", "zero");
}

// The scenario hand-edited configs are read against: GPT-3 175B on 1,024 A100s.
const Scenario& base() {
  static const Scenario s = ptsim::strategies::testing::make_scenario("gpt3-175b", "dgx-a100", 2048, 1536, 8, 8, 16);
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = ptsim::fuzz::as_text(data, size);
  ptsim::fuzz::expect_accept_or_input_error([&] {
    round_trip(ptsim::io::parse_scenario_text(text, "fuzz.json", PTSIM_FUZZ_HF_DIR));
  });
  const std::string config(text);
  ptsim::fuzz::expect_accept_or_input_error(
      [&] { check_product(ptsim::io::read_megatron_flags(config, base()), base(), "megatron reader"); });
  ptsim::fuzz::expect_accept_or_input_error(
      [&] { check_product(ptsim::io::read_torchtitan_toml(config, base()), base(), "torchtitan reader"); });
  ptsim::fuzz::expect_accept_or_input_error(
      [&] { check_product(ptsim::io::read_deepspeed_json(config, base()), base(), "deepspeed reader"); });
  return 0;
}
