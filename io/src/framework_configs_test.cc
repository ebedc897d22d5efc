// Each emitted framework config reads back into the layout it was emitted from.
#include "ptsim/io/framework_configs.h"

#include <gtest/gtest.h>

#include <functional>

#include "ptsim/io/input_error.h"

#include "ptsim/strategies/model.h"

namespace ptsim::io {
namespace {

strategies::Scenario gpt3() {
  strategies::Scenario s;
  s.name = "t";
  s.model = *strategies::find_model_preset("gpt3-175b");
  s.cluster = *costmodel::find_node_preset("dgx-a100");
  s.cluster.num_nodes = 128;
  s.training.seq_length = 2048;
  s.training.global_batch_size = 1536;
  s.layout.tp = 8;
  s.layout.pp = 8;
  s.layout.dp = 16;
  s.layout.micro_batch_size = 2;
  s.layout.virtual_stages = 3;
  s.layout.sequence_parallel = true;
  s.layout.recompute = strategies::Recompute::selective;
  s.layout.overlap_grad_reduce = true;
  s.layout.tp_comm_overlap = true;
  return s;
}

void expect_same(const strategies::Layout& a, const strategies::Layout& b) {
  EXPECT_EQ(a.tp, b.tp);
  EXPECT_EQ(a.pp, b.pp);
  EXPECT_EQ(a.dp, b.dp);
  EXPECT_EQ(a.cp, b.cp);
  EXPECT_EQ(a.ep, b.ep);
  EXPECT_EQ(a.micro_batch_size, b.micro_batch_size);
  EXPECT_EQ(a.virtual_stages, b.virtual_stages);
  EXPECT_EQ(a.schedule, b.schedule);
  EXPECT_EQ(a.recompute, b.recompute);
  EXPECT_EQ(a.sequence_parallel, b.sequence_parallel);
  EXPECT_EQ(a.zero_stage, b.zero_stage);
  EXPECT_EQ(a.overlap_grad_reduce, b.overlap_grad_reduce);
  EXPECT_EQ(a.tp_comm_overlap, b.tp_comm_overlap);
}

TEST(FrameworkConfigs, MegatronFlagsReadBack) {
  strategies::Scenario s = gpt3();
  s.layout.zero_stage = 1;
  const std::string text = megatron_flags(s);
  EXPECT_NE(text.find("--num-layers-per-virtual-pipeline-stage 4 \\\n"), std::string::npos) << text;
  EXPECT_NE(text.find("--use-distributed-optimizer"), std::string::npos);
  expect_same(read_megatron_flags(text, s), s.layout);
  s.layout.virtual_stages = 1;
  s.layout.recompute = strategies::Recompute::full;
  s.layout.cp = 2;
  s.layout.dp = 8;
  s.layout.zero_stage = 3;
  expect_same(read_megatron_flags(megatron_flags(s), s), s.layout);
}

TEST(FrameworkConfigs, TorchtitanTomlReadsBack) {
  strategies::Scenario s = gpt3();
  s.layout.zero_stage = 3;
  s.layout.sequence_parallel = true;  // torchtitan's TP is always sequence-parallel
  const std::string text = torchtitan_toml(s);
  EXPECT_NE(text.find("[parallelism]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pipeline_parallel_schedule = \"Interleaved1F1B\""), std::string::npos) << text;
  strategies::Layout back = read_torchtitan_toml(text, s);
  back.overlap_grad_reduce = s.layout.overlap_grad_reduce;  // FSDP always overlaps; not a key
  expect_same(back, s.layout);
  s.layout.zero_stage = 0;
  s.layout.virtual_stages = 1;
  s.layout.schedule = strategies::Schedule::gpipe;
  s.layout.recompute = strategies::Recompute::none;
  back = read_torchtitan_toml(torchtitan_toml(s), s);
  back.overlap_grad_reduce = s.layout.overlap_grad_reduce;
  expect_same(back, s.layout);
  EXPECT_NE(torchtitan_python(s).find("job_config.parallelism.tensor_parallel_degree = 8\n"), std::string::npos);
}

TEST(FrameworkConfigs, DeepSpeedJsonReadsBack) {
  strategies::Scenario s = gpt3();
  s.layout.virtual_stages = 1;
  s.layout.zero_stage = 2;
  expect_same(read_deepspeed_json(deepspeed_json(s), s), s.layout);
}

TEST(FrameworkConfigs, TorchtitanTomlOpensEachTableOnce) {
  // TOML forbids defining a table twice; the pipeline's layers per stage once came after
  // [activation_checkpoint] and reopened [parallelism].
  const std::string text = torchtitan_toml(gpt3());
  for (const char* table : {"[training]", "[parallelism]", "[activation_checkpoint]"}) {
    const auto first = text.find(table);
    ASSERT_NE(first, std::string::npos) << table;
    EXPECT_EQ(text.find(table, first + 1), std::string::npos) << table << " opened twice:\n" << text;
  }
}

TEST(FrameworkConfigs, UnevenInterleavedStagesUseTheChunkCountFlag) {
  // Megatron-Core: with --decoder-first/last-pipeline-num-layers the chunk count is given
  // by --num-virtual-stages-per-pipeline-rank; layers per chunk differ between stages.
  strategies::Scenario s = gpt3();
  s.layout.pp = 8;
  s.layout.virtual_stages = 2;
  s.layout.num_layers_in_first_pipeline_stage = 6;
  s.layout.num_layers_in_last_pipeline_stage = 6;
  const std::string text = megatron_flags(s);
  EXPECT_NE(text.find("--num-virtual-stages-per-pipeline-rank 2 \\\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("--num-layers-per-virtual-pipeline-stage"), std::string::npos) << text;
  expect_same(read_megatron_flags(text, s), s.layout);
  EXPECT_EQ(read_torchtitan_toml(torchtitan_toml(s), s).virtual_stages, 2);
}

std::string error_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const InputError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(FrameworkConfigs, ReadersRefuseZeroHugeAndMismatchedCountsNamingTheField) {
  const strategies::Scenario s = gpt3();
  EXPECT_EQ(error_of([&] { read_megatron_flags("--pipeline-model-parallel-size 0 --num-layers-per-virtual-pipeline-stage 1", s); }),
            "--pipeline-model-parallel-size: '0' is not between 1 and 2^30");
  EXPECT_EQ(error_of([&] { read_megatron_flags("--tensor-model-parallel-size 4611686018427387904", s); }),
            "--tensor-model-parallel-size: '4611686018427387904' is not between 1 and 2^30");
  EXPECT_EQ(error_of([&] { read_megatron_flags("--pipeline-model-parallel-size 8 --num-layers-per-virtual-pipeline-stage 5", s); }),
            "--num-layers-per-virtual-pipeline-stage: 5 layers per virtual stage x pp 8 do not divide the model's 96 layers");
  EXPECT_EQ(error_of([&] { read_torchtitan_toml("[parallelism\n", s); }),
            "torchtitan config: section header without ']': [parallelism");
  EXPECT_EQ(error_of([&] { read_deepspeed_json(R"({"train_batch_size": 1536, "train_micro_batch_size_per_gpu": 1,
      "gradient_accumulation_steps": 0})", s); }),
            "gradient_accumulation_steps: is not an integer between 1 and 2^30");
  EXPECT_EQ(error_of([&] { read_deepspeed_json(R"({"train_batch_size": 1e300})", s); }),
            "train_batch_size: is not an integer between 1 and 2^30");
  EXPECT_EQ(error_of([&] { read_deepspeed_json(R"({"train_batch_size": 1536, "train_micro_batch_size_per_gpu": 1,
      "gradient_accumulation_steps": 1, "zero_optimization": {"stage": 1, "overlap_comm": false},
      "tensor_parallel": {"autotp_size": 3}})", s); }),
            "deepspeed config: dp x tp does not divide the GPUs");
}

}  // namespace
}  // namespace ptsim::io
