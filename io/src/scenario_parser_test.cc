#include "ptsim/io/scenario_parser.h"

#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "ptsim/costmodel/units.h"
#include "ptsim/io/calibration_json.h"
#include "scenario_text.h"

namespace ptsim::io {
namespace {

using costmodel::Dtype;
using nlohmann::json;
using ::testing::HasSubstr;
namespace units = costmodel::units;

// A small scenario with everything inline: 1 node x 8 GPUs, tp 2 x pp 2 x dp 2.
json inline_scenario() {
  return json::parse(R"({
    "name": "tiny",
    "model": {"num_layers": 4, "hidden_size": 256, "num_attention_heads": 8, "vocab_size": 1024},
    "cluster": {
      "gpu": {"peak_tflops": {"bf16": 100}, "hbm_bandwidth_gb_per_s": 1000,
              "hbm_capacity_gib": 40, "nvlink_bandwidth_gb_per_s": 100},
      "num_nodes": 1,
      "network_bandwidth_gbit_per_s": 100
    },
    "training": {"seq_length": 128, "global_batch_size": 16},
    "layout": {"tp": 2, "pp": 2, "dp": 2}
  })");
}

// GPT-3 175B on 1024 A100s, the Megatron-LM SC21 layout.
json preset_scenario() {
  return json::parse(R"({
    "model": "gpt3-175b",
    "cluster": {"preset": "dgx-a100", "num_gpus": 1024},
    "training": {"seq_length": 2048, "global_batch_size": 1536},
    "layout": {"tp": 8, "pp": 16, "dp": 8}
  })");
}

InputError error_of(const json& doc) {
  try {
    parse_scenario(doc);
  } catch (const InputError& e) {
    return e;
  }
  ADD_FAILURE() << "expected an InputError for " << doc.dump();
  return InputError("", "");
}

std::string message_of(const json& doc) { return error_of(doc).what(); }

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Every member of a Scenario, for comparing two parses.
std::string summary(const strategies::Scenario& s) {
  std::ostringstream o;
  o << std::setprecision(12);
  const auto& m = s.model;
  o << s.name << '|' << m.name << ' ' << m.num_layers << ' ' << m.hidden_size << ' '
    << m.num_attention_heads << ' ' << m.num_query_groups << ' ' << m.ffn_hidden_size << ' '
    << m.vocab_size << ' ' << m.swiglu << ' ' << to_string(m.normalization) << ' '
    << m.add_bias_linear << ' ' << to_string(m.position_embedding_type) << ' '
    << m.untie_embeddings_and_output_weights << '|';
  const auto& c = s.cluster;
  const auto& g = c.gpu;
  o << c.name << ' ' << c.num_nodes << ' ' << c.gpus_per_node << ' '
    << c.network_bandwidth_bytes_per_s << '|' << g.name;
  for (double p : g.peak_flops) o << ' ' << p;
  o << ' ' << g.hbm_bandwidth_bytes_per_s << ' ' << g.hbm_capacity_bytes << ' '
    << g.nvlink_bandwidth_bytes_per_s;
  const auto& e = g.efficiency;
  o << ' ' << e.gemm_flops_fraction << ' ' << e.attention_flops_fraction << ' '
    << e.memory_bandwidth_fraction << ' ' << e.kernel_launch_overhead_s << ' '
    << e.nvlink_bandwidth_fraction << ' ' << e.network_bandwidth_fraction << ' '
    << e.intra_node_step_latency_s << ' ' << e.inter_node_step_latency_s << '|';
  const auto& t = s.training;
  o << t.seq_length << ' ' << t.global_batch_size << ' ' << to_string(t.precision) << ' '
    << to_string(t.attention) << ' ' << t.grad_reduce_in_fp32 << '|';
  const auto& l = s.layout;
  o << l.dp << ' ' << l.tp << ' ' << l.pp << ' ' << l.micro_batch_size << ' '
    << to_string(l.schedule) << ' ' << to_string(l.recompute);
  return o.str();
}

// --- accepted inputs -------------------------------------------------------------------

TEST(ScenarioParser, PresetModelAndCluster) {
  const strategies::Scenario s = parse_scenario(preset_scenario());
  EXPECT_EQ(s.name, "scenario");
  EXPECT_EQ(s.model.name, "gpt3-175b");
  EXPECT_EQ(s.model.num_layers, 96);
  EXPECT_EQ(s.model.hidden_size, 12288);
  EXPECT_EQ(s.model.num_query_groups, 96);
  EXPECT_EQ(s.cluster.name, "dgx-a100");
  EXPECT_EQ(s.cluster.gpu.name, "a100-sxm-80gb");
  EXPECT_EQ(s.cluster.num_nodes, 128);
  EXPECT_EQ(s.cluster.gpus_per_node, 8);
  EXPECT_EQ(s.cluster.num_gpus(), 1024);
  EXPECT_DOUBLE_EQ(s.cluster.network_bandwidth_bytes_per_s, units::gbit_per_s(200));
  EXPECT_EQ(s.training.precision, Dtype::bf16);
  EXPECT_EQ(s.layout.schedule, strategies::Schedule::one_f_one_b);
  EXPECT_EQ(s.num_microbatches(), 192);
}

TEST(ScenarioParser, PresetModelAsObjectEqualsPresetName) {
  json doc = preset_scenario();
  doc["model"] = {{"preset", "gpt3-175b"}};
  EXPECT_EQ(summary(parse_scenario(doc)), summary(parse_scenario(preset_scenario())));
}

TEST(ScenarioParser, PresetWithOverrides) {
  json doc = preset_scenario();
  doc["model"] = {{"preset", "llama3-8b"}, {"num_layers", 16}};
  const strategies::Scenario s = parse_scenario(doc);
  EXPECT_EQ(s.model.name, "llama3-8b (modified)");
  EXPECT_EQ(s.model.num_layers, 16);
  EXPECT_EQ(s.model.hidden_size, 4096);
  EXPECT_EQ(s.model.num_query_groups, 8);  // from the preset, not num_attention_heads
  EXPECT_EQ(s.model.ffn_hidden_size, 14336);
  EXPECT_TRUE(s.model.swiglu);
  EXPECT_EQ(s.model.normalization, strategies::Normalization::rmsnorm);
}

TEST(ScenarioParser, InlineModelDefaults) {
  const strategies::Scenario s = parse_scenario(inline_scenario());
  EXPECT_EQ(s.name, "tiny");
  EXPECT_EQ(s.model.name, "custom");
  EXPECT_EQ(s.model.num_query_groups, 8);  // multi-head attention
  EXPECT_EQ(s.model.ffn_hidden_size, 4 * 256);
  EXPECT_FALSE(s.model.swiglu);
  EXPECT_EQ(s.model.normalization, strategies::Normalization::layernorm);
  EXPECT_TRUE(s.model.add_bias_linear);
  EXPECT_EQ(s.model.position_embedding_type, strategies::PositionEmbedding::learned_absolute);
  EXPECT_FALSE(s.model.untie_embeddings_and_output_weights);
}

TEST(ScenarioParser, InlineModelAllFields) {
  json doc = inline_scenario();
  doc["model"] = json::parse(R"({"num_layers": 4, "hidden_size": 256, "num_attention_heads": 8,
      "num_query_groups": 2, "ffn_hidden_size": 688, "vocab_size": 1000, "swiglu": true,
      "normalization": "rmsnorm", "add_bias_linear": false, "position_embedding_type": "rope",
      "untie_embeddings_and_output_weights": true})");
  const auto m = parse_scenario(doc).model;
  EXPECT_EQ(m.num_query_groups, 2);
  EXPECT_EQ(m.ffn_hidden_size, 688);
  EXPECT_EQ(m.vocab_size, 1000);
  EXPECT_TRUE(m.swiglu);
  EXPECT_EQ(m.normalization, strategies::Normalization::rmsnorm);
  EXPECT_FALSE(m.add_bias_linear);
  EXPECT_EQ(m.position_embedding_type, strategies::PositionEmbedding::rope);
  EXPECT_TRUE(m.untie_embeddings_and_output_weights);
}

TEST(ScenarioParser, InlineClusterAndGpuInUnits) {
  const strategies::Scenario s = parse_scenario(inline_scenario());
  const auto& c = s.cluster;
  EXPECT_EQ(c.name, "custom");
  EXPECT_EQ(c.gpu.name, "custom");
  EXPECT_EQ(c.num_nodes, 1);
  EXPECT_EQ(c.gpus_per_node, 8);
  EXPECT_DOUBLE_EQ(c.gpu.peak(Dtype::bf16), units::tflops(100));
  EXPECT_EQ(c.gpu.peak(Dtype::fp8), 0);
  EXPECT_DOUBLE_EQ(c.gpu.hbm_bandwidth_bytes_per_s, units::gb_per_s(1000));
  EXPECT_DOUBLE_EQ(c.gpu.hbm_capacity_bytes, units::gib(40));
  EXPECT_DOUBLE_EQ(c.gpu.nvlink_bandwidth_bytes_per_s, units::gb_per_s(100));
  EXPECT_DOUBLE_EQ(c.network_bandwidth_bytes_per_s, units::gbit_per_s(100));
  const costmodel::Efficiency defaults;
  EXPECT_EQ(c.gpu.efficiency.gemm_flops_fraction, defaults.gemm_flops_fraction);
}

TEST(ScenarioParser, ClusterPresetWithNumGpusBelowANode) {
  json doc = preset_scenario();
  doc["model"] = "llama3-8b";
  doc["cluster"] = {{"preset", "dgx-h100"}, {"num_gpus", 4}};
  doc["training"]["global_batch_size"] = 8;
  doc["layout"] = {{"tp", 4}};
  const strategies::Scenario s = parse_scenario(doc);
  EXPECT_EQ(s.cluster.num_nodes, 1);
  EXPECT_EQ(s.cluster.gpus_per_node, 4);
  EXPECT_EQ(s.layout.dp, 1);
  EXPECT_EQ(s.layout.pp, 1);
}

TEST(ScenarioParser, ClusterPresetWithNumNodes) {
  json doc = preset_scenario();
  doc["cluster"] = {{"preset", "dgx-h100"}, {"num_nodes", 128}};
  const strategies::Scenario s = parse_scenario(doc);
  EXPECT_EQ(s.cluster.name, "dgx-h100");
  EXPECT_EQ(s.cluster.gpu.name, "h100-sxm-80gb");
  EXPECT_EQ(s.cluster.num_gpus(), 1024);
  EXPECT_DOUBLE_EQ(s.cluster.network_bandwidth_bytes_per_s, units::gbit_per_s(400));
}

TEST(ScenarioParser, ClusterGpuNameAndGpusPerNode) {
  json doc = preset_scenario();
  doc["cluster"] = {{"gpu", "h100-sxm-80gb"}, {"num_nodes", 256}, {"gpus_per_node", 4},
                    {"network_bandwidth_gbit_per_s", 400}};
  const strategies::Scenario s = parse_scenario(doc);
  EXPECT_EQ(s.cluster.name, "custom");
  EXPECT_EQ(s.cluster.gpu.name, "h100-sxm-80gb");
  EXPECT_EQ(s.cluster.gpus_per_node, 4);
  EXPECT_EQ(s.cluster.num_gpus(), 1024);
}

TEST(ScenarioParser, GpuPresetWithOverrides) {
  json doc = preset_scenario();
  doc["cluster"]["gpu"] = json::parse(
      R"({"preset": "h100-sxm-80gb", "hbm_bandwidth_gb_per_s": 1935, "peak_tflops": {"fp8": 0}})");
  const strategies::Scenario s = parse_scenario(doc);
  const auto h100 = *costmodel::find_gpu_preset("h100-sxm-80gb");
  EXPECT_EQ(s.cluster.name, "dgx-a100");
  EXPECT_EQ(s.cluster.gpu.name, "h100-sxm-80gb (modified)");
  EXPECT_DOUBLE_EQ(s.cluster.gpu.hbm_bandwidth_bytes_per_s, units::gb_per_s(1935));
  EXPECT_EQ(s.cluster.gpu.peak(Dtype::fp8), 0);
  EXPECT_EQ(s.cluster.gpu.peak(Dtype::bf16), h100.peak(Dtype::bf16));
  EXPECT_EQ(s.cluster.gpu.hbm_capacity_bytes, h100.hbm_capacity_bytes);
}

TEST(ScenarioParser, GpuOverridesWithoutGpuPresetStartFromTheNodePreset) {
  json doc = preset_scenario();
  doc["cluster"]["gpu"] = {{"hbm_capacity_gib", 40}};
  const strategies::Scenario s = parse_scenario(doc);
  EXPECT_EQ(s.cluster.gpu.name, "a100-sxm-80gb (modified)");
  EXPECT_DOUBLE_EQ(s.cluster.gpu.hbm_capacity_bytes, units::gib(40));
  EXPECT_DOUBLE_EQ(s.cluster.gpu.peak(Dtype::bf16), units::tflops(312));
}

TEST(ScenarioParser, EfficiencyOverridesInMicroseconds) {
  json doc = preset_scenario();
  doc["cluster"]["gpu"] = {{"efficiency", {{"gemm_flops_fraction", 0.5},
                                           {"kernel_launch_overhead_us", 9}}}};
  doc["cluster"]["efficiency"] = {{"kernel_launch_overhead_us", 3.5},
                                  {"intra_node_step_latency_us", 0},
                                  {"inter_node_step_latency_us", 12},
                                  {"network_bandwidth_fraction", 1}};
  const auto e = parse_scenario(doc).cluster.gpu.efficiency;
  EXPECT_DOUBLE_EQ(e.gemm_flops_fraction, 0.5);
  EXPECT_DOUBLE_EQ(e.kernel_launch_overhead_s, 3.5e-6);  // cluster.efficiency wins over gpu's
  EXPECT_DOUBLE_EQ(e.intra_node_step_latency_s, 0);
  EXPECT_DOUBLE_EQ(e.inter_node_step_latency_s, 12e-6);
  EXPECT_DOUBLE_EQ(e.network_bandwidth_fraction, 1);
  const auto a100 = *costmodel::find_gpu_preset("a100-sxm-80gb");
  EXPECT_EQ(e.attention_flops_fraction, a100.efficiency.attention_flops_fraction);
}

TEST(ScenarioParser, DpDerivedWhenOmitted) {
  json doc = preset_scenario();
  doc["layout"].erase("dp");
  EXPECT_EQ(parse_scenario(doc).layout.dp, 8);
}

TEST(ScenarioParser, TrainingAndLayoutEnums) {
  json doc = preset_scenario();
  doc["training"].update(json::parse(
      R"({"precision": "fp16", "attention": "unfused", "grad_reduce_in_fp32": true})"));
  doc["layout"].update(
      json::parse(R"({"micro_batch_size": 2, "schedule": "gpipe", "recompute": "full", "pipeline_scatter_gather": true})"));
  const strategies::Scenario s = parse_scenario(doc);
  EXPECT_TRUE(s.layout.pipeline_scatter_gather);
  EXPECT_FALSE(parse_scenario(preset_scenario()).layout.pipeline_scatter_gather);
  EXPECT_EQ(s.training.precision, Dtype::fp16);
  EXPECT_EQ(s.training.attention, strategies::AttentionKernel::unfused);
  EXPECT_TRUE(s.training.grad_reduce_in_fp32);
  EXPECT_EQ(s.layout.micro_batch_size, 2);
  EXPECT_EQ(s.layout.schedule, strategies::Schedule::gpipe);
  EXPECT_EQ(s.layout.recompute, strategies::Recompute::full);
  EXPECT_EQ(s.num_microbatches(), 96);
}

TEST(ScenarioParser, DescriptionIsAccepted) {
  json doc = inline_scenario();
  doc["description"] = "anything at all";
  EXPECT_NO_THROW(parse_scenario(doc));
}

// --- cross-field rules -----------------------------------------------------------------

TEST(ScenarioParserErrors, LayoutProductMustEqualGpus) {
  json doc = preset_scenario();
  doc["layout"]["pp"] = 8;
  EXPECT_EQ(message_of(doc),
            "layout: dp (8) x tp (8) x pp (8) = 512 does not equal cluster.num_gpus 1024");
}

TEST(ScenarioParserErrors, TpMustDivideHeads) {
  json doc = preset_scenario();
  doc["model"] = "llama3-8b";
  doc["cluster"]["num_gpus"] = 3;
  doc["layout"] = {{"tp", 3}};
  const InputError e = error_of(doc);
  EXPECT_EQ(e.path(), "layout.tp");
  EXPECT_EQ(e.reason(), "3 does not divide model.num_attention_heads 32");
  EXPECT_EQ(std::string(e.what()), "layout.tp: 3 does not divide model.num_attention_heads 32");
}

TEST(ScenarioParserErrors, TpMustDivideQueryGroups) {
  json doc = inline_scenario();
  doc["model"] = {{"num_layers", 4}, {"hidden_size", 2304}, {"num_attention_heads", 24},
                  {"num_query_groups", 6}, {"vocab_size", 1024}};
  doc["layout"] = {{"tp", 4}, {"pp", 2}, {"dp", 1}};
  EXPECT_EQ(message_of(doc), "layout.tp: 4 does not divide model.num_query_groups 6");
}

TEST(ScenarioParserErrors, TpMustDivideFfnHiddenSize) {
  json doc = inline_scenario();
  doc["model"]["ffn_hidden_size"] = 1004;
  doc["layout"] = {{"tp", 8}};
  EXPECT_EQ(message_of(doc), "layout.tp: 8 does not divide model.ffn_hidden_size 1004");
}

TEST(ScenarioParserErrors, HeadsMustBeDivisibleByQueryGroups) {
  json doc = inline_scenario();
  doc["model"]["num_attention_heads"] = 24;
  doc["model"]["hidden_size"] = 2304;
  doc["model"]["num_query_groups"] = 5;
  EXPECT_EQ(message_of(doc),
            "model.num_attention_heads: 24 is not divisible by model.num_query_groups 5");
}

TEST(ScenarioParserErrors, HiddenSizeMustBeDivisibleByHeads) {
  json doc = inline_scenario();
  doc["model"]["hidden_size"] = 1000;
  doc["model"]["num_attention_heads"] = 24;
  EXPECT_EQ(message_of(doc),
            "model.hidden_size: 1000 is not divisible by model.num_attention_heads 24");
}

TEST(ScenarioParserErrors, PpMustDivideLayers) {
  json doc = preset_scenario();
  doc["model"] = {{"preset", "gpt3-175b"}, {"num_layers", 90}};
  EXPECT_EQ(message_of(doc), "layout.pp: 16 does not divide model.num_layers 90");
}

TEST(ScenarioParserErrors, GlobalBatchMustBeDivisibleByDpTimesMicroBatch) {
  json doc = preset_scenario();
  doc["training"]["global_batch_size"] = 1000;
  doc["layout"]["micro_batch_size"] = 3;
  EXPECT_EQ(message_of(doc),
            "training.global_batch_size: 1000 is not divisible by dp (8) x micro_batch_size "
            "(3) = 24");
}

TEST(ScenarioParserErrors, DpCannotBeDerived) {
  json doc = preset_scenario();
  doc["cluster"]["num_gpus"] = 24;
  doc["layout"] = {{"tp", 8}, {"pp", 2}};
  EXPECT_EQ(message_of(doc),
            "layout.dp: not given, and cluster.num_gpus 24 is not divisible by tp (8) x pp (2) "
            "= 16");
}

TEST(ScenarioParserErrors, NumGpusMustBeAMultipleOfGpusPerNode) {
  json doc = preset_scenario();
  doc["cluster"]["num_gpus"] = 1020;
  EXPECT_EQ(message_of(doc), "cluster.num_gpus: 1020 is not a multiple of cluster.gpus_per_node 8");
}

TEST(ScenarioParserErrors, NumGpusOrNumNodesExactlyOne) {
  json doc = preset_scenario();
  doc["cluster"]["num_nodes"] = 128;
  EXPECT_EQ(message_of(doc), "cluster: give either num_gpus or num_nodes, not both");
  doc["cluster"].erase("num_gpus");
  doc["cluster"].erase("num_nodes");
  EXPECT_EQ(message_of(doc), "cluster: give num_gpus or num_nodes");
}

TEST(ScenarioParserErrors, UnknownModelPreset) {
  json doc = preset_scenario();
  doc["model"] = {{"preset", "gpt4"}};
  EXPECT_EQ(message_of(doc), "model.preset: unknown model preset 'gpt4'; known: " +
                                 joined(strategies::model_preset_names()));
  EXPECT_THAT(message_of(doc), HasSubstr("known: gpt3-175b, megatron-1.7b, "));
  // The bare-string form reports at "model".
  doc["model"] = "gpt4";
  EXPECT_EQ(error_of(doc).path(), "model");
  EXPECT_THAT(error_of(doc).reason(), HasSubstr("unknown model preset 'gpt4'"));
}

TEST(ScenarioParserErrors, UnknownNodePreset) {
  json doc = preset_scenario();
  doc["cluster"]["preset"] = "dgx-b200";
  EXPECT_EQ(message_of(doc), "cluster.preset: unknown node preset 'dgx-b200'; known: " +
                                 joined(costmodel::node_preset_names()));
}

TEST(ScenarioParserErrors, UnknownGpuPreset) {
  json doc = preset_scenario();
  doc["cluster"]["gpu"] = "b200";
  EXPECT_EQ(message_of(doc), "cluster.gpu: unknown gpu preset 'b200'; known: " +
                                 joined(costmodel::gpu_preset_names()));
  doc["cluster"]["gpu"] = {{"preset", "b200"}};
  EXPECT_EQ(error_of(doc).path(), "cluster.gpu.preset");
}

TEST(ScenarioParserErrors, PrecisionNotSupportedByGpu) {
  json doc = preset_scenario();
  doc["training"]["precision"] = "fp8";
  EXPECT_EQ(message_of(doc),
            "training.precision: fp8 is not supported by gpu a100-sxm-80gb (its "
            "peak_tflops.fp8 is 0)");
}

// --- missing fields, unknown keys, wrong types ------------------------------------------

TEST(ScenarioParserErrors, MissingRequiredField) {
  json doc = preset_scenario();
  doc["training"].erase("global_batch_size");
  EXPECT_EQ(message_of(doc), "training.global_batch_size: required");
}

TEST(ScenarioParserErrors, MissingTopLevelSection) {
  for (const char* section : {"model", "cluster", "training", "layout"}) {
    json doc = preset_scenario();
    doc.erase(section);
    // The model is a transformer (model) or a layer graph (layer_graph).
    EXPECT_EQ(message_of(doc), section == std::string("model") ? std::string("give model or layer_graph")
                                                                : std::string(section) + ": required");
  }
}

TEST(ScenarioParserErrors, InlineModelNeedsItsSizes) {
  json doc = inline_scenario();
  doc["model"].erase("vocab_size");
  EXPECT_EQ(message_of(doc), "model.vocab_size: required unless a preset is given");
}

TEST(ScenarioParserErrors, ClusterWithoutPresetNeedsGpuAndNetwork) {
  json doc = inline_scenario();
  doc["cluster"].erase("gpu");
  EXPECT_EQ(message_of(doc), "cluster.gpu: required unless a preset is given");
  doc = inline_scenario();
  doc["cluster"].erase("network_bandwidth_gbit_per_s");
  EXPECT_EQ(message_of(doc),
            "cluster.network_bandwidth_gbit_per_s: required unless a preset is given");
  doc = inline_scenario();
  doc["cluster"]["gpu"].erase("hbm_capacity_gib");
  EXPECT_EQ(message_of(doc), "cluster.gpu.hbm_capacity_gib: required unless a preset is given");
}

TEST(ScenarioParserErrors, UnknownTopLevelKey) {
  json doc = preset_scenario();
  doc["modle"] = 1;
  EXPECT_EQ(message_of(doc), "modle: unknown field; did you mean 'model'?");
  doc = preset_scenario();
  doc["seed"] = 1;
  EXPECT_EQ(message_of(doc),
            "seed: unknown field; expected one of: name, description, model, layer_graph, cluster, "
            "training, layout");
}

TEST(ScenarioParserErrors, UnknownNestedKeysWithSuggestion) {
  json doc = preset_scenario();
  doc["model"] = {{"preset", "gpt3-175b"}, {"hiden_size", 4096}};
  EXPECT_EQ(message_of(doc), "model.hiden_size: unknown field; did you mean 'hidden_size'?");
  doc = preset_scenario();
  doc["cluster"]["efficiency"] = {{"gemm_flop_fraction", 0.5}};
  EXPECT_EQ(message_of(doc),
            "cluster.efficiency.gemm_flop_fraction: unknown field; did you mean "
            "'gemm_flops_fraction'?");
  doc = preset_scenario();
  doc["layout"]["expert_parallel"] = 1;
  EXPECT_THAT(message_of(doc), HasSubstr("layout.expert_parallel: unknown field; expected one of: tp"));
}

TEST(ScenarioParserErrors, UnknownKeyIsReportedBeforeMissingOnes) {
  json doc = inline_scenario();
  doc["model"].erase("num_layers");
  doc["model"]["num_layer"] = 4;
  EXPECT_EQ(message_of(doc), "model.num_layer: unknown field; did you mean 'num_layers'?");
}

TEST(ScenarioParserErrors, SectionOfWrongType) {
  json doc = preset_scenario();
  doc["layout"] = 5;
  EXPECT_EQ(message_of(doc), "layout: must be an object, got 5");
  doc = preset_scenario();
  doc["model"] = json::array({1});
  EXPECT_EQ(message_of(doc), "model: must be a preset name or an object, got an array");
  doc = preset_scenario();
  doc["cluster"]["gpu"] = 7;
  EXPECT_EQ(message_of(doc), "cluster.gpu: must be a preset name or an object, got 7");
  EXPECT_EQ(message_of(json::array()), "a scenario must be a JSON object, got an array");
}

TEST(ScenarioParserErrors, IntegersMustBePositiveJsonIntegers) {
  const std::vector<std::pair<json, std::string>> cases = {
      {-3, "-3"}, {0, "0"}, {2.5, "2.5"}, {96.0, "96.0"}, {"96", "string \"96\""},
      {true, "true"}, {nullptr, "null"}, {json::object(), "an object"},
  };
  for (const auto& [value, shown] : cases) {
    json doc = inline_scenario();
    doc["model"]["num_layers"] = value;
    EXPECT_EQ(message_of(doc), "model.num_layers: must be a positive integer, got " + shown);
  }
  json doc = inline_scenario();
  doc["layout"]["tp"] = 3000000000LL;
  EXPECT_EQ(message_of(doc), "layout.tp: must be at most 2147483647, got 3000000000");
  doc["layout"]["tp"] = json::parse("18446744073709551615");
  EXPECT_EQ(message_of(doc), "layout.tp: must be at most 2147483647, got 18446744073709551615");
}

TEST(ScenarioParserErrors, NumbersBooleansStringsAndEnums) {
  json doc = preset_scenario();
  doc["cluster"]["efficiency"] = {{"gemm_flops_fraction", 1.5}};
  EXPECT_EQ(message_of(doc),
            "cluster.efficiency.gemm_flops_fraction: must be a number in (0, 1], got 1.5");
  doc["cluster"]["efficiency"] = {{"gemm_flops_fraction", 0}};
  EXPECT_EQ(message_of(doc),
            "cluster.efficiency.gemm_flops_fraction: must be a number in (0, 1], got 0");
  doc["cluster"]["efficiency"] = {{"kernel_launch_overhead_us", -1}};
  EXPECT_EQ(message_of(doc),
            "cluster.efficiency.kernel_launch_overhead_us: must be a non-negative number, got -1");
  doc = preset_scenario();
  doc["cluster"]["network_bandwidth_gbit_per_s"] = "400";
  EXPECT_EQ(message_of(doc),
            "cluster.network_bandwidth_gbit_per_s: must be a positive number, got string \"400\"");
  doc = preset_scenario();
  doc["training"]["grad_reduce_in_fp32"] = "yes";
  EXPECT_EQ(message_of(doc),
            "training.grad_reduce_in_fp32: must be true or false, got string \"yes\"");
  doc = preset_scenario();
  doc["name"] = 3;
  EXPECT_EQ(message_of(doc), "name: must be a string, got 3");
  doc = preset_scenario();
  doc["training"]["precision"] = "bf61";
  EXPECT_EQ(message_of(doc),
            "training.precision: must be one of fp32, tf32, fp16, bf16, fp8; got string \"bf61\"; "
            "did you mean 'bf16'?");
  doc["training"]["precision"] = 16;
  EXPECT_EQ(message_of(doc),
            "training.precision: must be one of fp32, tf32, fp16, bf16, fp8; got 16");
  doc = preset_scenario();
  doc["model"] = {{"preset", 175}};
  EXPECT_EQ(message_of(doc), "model.preset: must be a model preset name, got 175");
}

// --- files -----------------------------------------------------------------------------

std::filesystem::path write_temp(const std::string& name, const std::string& text) {
  const auto path = std::filesystem::path(::testing::TempDir()) / name;
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(ScenarioParserFile, ParsesAFile) {
  const auto path = write_temp("ptsim_ok.json", preset_scenario().dump(2));
  EXPECT_EQ(parse_scenario_file(path).model.name, "gpt3-175b");
}

TEST(ScenarioParserFile, MissingFile) {
  const auto path = std::filesystem::path(::testing::TempDir()) / "ptsim_no_such_file.json";
  try {
    parse_scenario_file(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.path(), path.string());
    EXPECT_EQ(e.reason(), "cannot open file");
  }
}

TEST(ScenarioParserFile, InvalidJsonGivesLineAndColumn) {
  const auto path =
      write_temp("ptsim_bad.json", "{\n  \"model\": \"gpt3-175b\",\n  \"cluster\": ]\n}\n");
  try {
    parse_scenario_file(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(e.path(), path.string());
    EXPECT_THAT(e.reason(), HasSubstr("invalid JSON at line 3, column 14: syntax error"));
    EXPECT_THAT(e.reason(), ::testing::Not(HasSubstr("json.exception")));
  }
}

TEST(ScenarioParserFile, DuplicateKeysAreRejected) {
  const auto path =
      write_temp("ptsim_dup.json", R"({"model": "gpt3-175b", "layout": {"tp": 8, "tp": 4}})");
  try {
    parse_scenario_file(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()), "layout.tp: given more than once");
  }
}

TEST(ScenarioParserFile, EveryScenarioInTheRepositoryParses) {
  const std::filesystem::path dir = std::filesystem::path(PTSIM_SOURCE_DIR) / "scenarios";
  int parsed = 0;
  if (std::filesystem::is_directory(dir)) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".json") continue;
      // scenarios/validation/ holds validation sets (io/validation_set.h), tested apart.
      if (entry.path().parent_path().filename() == "validation") continue;
      // scenarios/search/ holds search spaces: the layout may be absent or partial.
      const bool search = entry.path().parent_path().filename() == "search";
      SCOPED_TRACE(entry.path().string());
      EXPECT_NO_THROW({
        try {
          // scenarios/profiles/ holds hardware profiles and the measurements they came from.
          if (entry.path().parent_path().filename() == "profiles") {
            parse_profile_file(entry.path());
          } else if (entry.path().parent_path().filename() == "measurements") {
            parse_measurements_file(entry.path());
          } else if (search) {
            parse_search_scenario_file(entry.path());
          } else {
            parse_scenario_file(entry.path());
          }
        } catch (const InputError& e) {
          ADD_FAILURE() << e.what();
        }
      });
      ++parsed;
    }
  }
  if (parsed == 0) GTEST_SKIP() << "no scenario files under " << dir.string();
}

TEST(ScenarioText, LineColumn) {
  EXPECT_EQ(line_column("", 1).line, 1u);
  const std::string text = "ab\ncd\n";
  EXPECT_EQ(line_column(text, 1).line, 1u);
  EXPECT_EQ(line_column(text, 1).column, 1u);
  EXPECT_EQ(line_column(text, 4).line, 2u);
  EXPECT_EQ(line_column(text, 4).column, 1u);
  EXPECT_EQ(line_column(text, 5).column, 2u);
  EXPECT_EQ(line_column(text, 7).line, 3u);  // past the end
  EXPECT_EQ(line_column(text, 7).column, 1u);
}

TEST(ScenarioText, ClosestName) {
  const std::vector<std::string> names = {"num_layers", "hidden_size", "tp"};
  EXPECT_EQ(closest_name("hiddensize", names), "hidden_size");
  EXPECT_EQ(closest_name("num_layer", names), "num_layers");
  EXPECT_EQ(closest_name("pp", names), "tp");
  EXPECT_EQ(closest_name("vocab", names), std::nullopt);
}

// --- the schema ------------------------------------------------------------------------

// Calls visit(path, schema) for every object schema and every leaf field in `schema`.
void walk(const json& schema, const std::string& path,
          const std::function<void(const std::string&, const json&)>& visit) {
  if (schema.contains("oneOf") && !schema.contains("properties")) {
    for (const json& alternative : schema["oneOf"]) {
      if (alternative.value("type", "") == "object") walk(alternative, path, visit);
    }
    return;
  }
  visit(path, schema);
  if (schema.contains("properties")) {
    for (const auto& [name, sub] : schema["properties"].items()) {
      walk(sub, path.empty() ? name : path + "." + name, visit);
    }
  }
}

bool is_object_schema(const json& s) { return s.contains("properties"); }

json& at_path(json& doc, const std::string& path) {
  json* node = &doc;
  std::string rest = path;
  while (!rest.empty()) {
    const auto dot = rest.find('.');
    const std::string key = rest.substr(0, dot);
    rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
    if (!node->contains(key) || !(*node)[key].is_object()) {
      if (!rest.empty()) (*node)[key] = json::object();
    }
    node = &(*node)[key];
  }
  return *node;
}

TEST(ScenarioSchema, Header) {
  const json schema = scenario_schema();
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema["type"], "object");
  EXPECT_EQ(schema["additionalProperties"], false);
  EXPECT_EQ(schema["required"], json({"cluster", "training", "layout"}));  // and one of model, layer_graph
}

TEST(ScenarioSchema, ListsKnownFieldsWithUnitsAndDefaults) {
  const json schema = scenario_schema();
  const json& props = schema["properties"];
  EXPECT_EQ(props["layout"]["properties"]["tp"]["default"], 1);
  EXPECT_EQ(props["layout"]["properties"]["tp"]["minimum"], 1);
  EXPECT_EQ(props["layout"]["properties"]["schedule"]["default"], "1f1b");
  EXPECT_FALSE(props["layout"]["properties"]["dp"].contains("default"));
  EXPECT_EQ(props["training"]["properties"]["precision"]["enum"],
            json({"fp32", "tf32", "fp16", "bf16", "fp8"}));
  const json& model = props["model"]["oneOf"][1];
  EXPECT_TRUE(model["properties"].contains("hidden_size"));
  EXPECT_EQ(model["properties"]["normalization"]["enum"], json({"layernorm", "rmsnorm"}));
  const json& gpu = props["cluster"]["properties"]["gpu"]["oneOf"][1];
  EXPECT_EQ(gpu["properties"]["hbm_bandwidth_gb_per_s"]["x-unit"], "GB/s");
  EXPECT_EQ(gpu["properties"]["peak_tflops"]["properties"]["bf16"]["x-unit"], "TFLOP/s");
  const json& efficiency = gpu["properties"]["efficiency"]["properties"];
  EXPECT_EQ(efficiency["kernel_launch_overhead_us"]["default"], 2.0);  // 2e-6 s shown in us
  EXPECT_EQ(efficiency["gemm_flops_fraction"]["maximum"], 1);
  // cluster.efficiency overrides the GPU's values; absent, a field keeps them.
  const json& overrides = props["cluster"]["properties"]["efficiency"]["properties"];
  EXPECT_FALSE(overrides["kernel_launch_overhead_us"].contains("default"));
  EXPECT_EQ(overrides["kernel_launch_overhead_us"]["x-unit"], "us");
}

// The parser and the schema accept exactly the same keys in every object: an unknown key
// gets "expected one of: ..." listing what the parser knows, compared with the schema.
TEST(ScenarioSchema, EveryObjectHasTheParsersKeys) {
  int objects = 0;
  walk(scenario_schema(), "", [&](const std::string& path, const json& s) {
    if (!is_object_schema(s)) return;
    SCOPED_TRACE(path);
    json doc = inline_scenario();
    if (path.rfind("layer_graph", 0) == 0) doc.erase("model");  // one of the two models
    json& object = path.empty() ? doc : at_path(doc, path);
    object["zzzzzzzz"] = 1;
    const InputError e = error_of(doc);
    EXPECT_EQ(e.path(), path.empty() ? "zzzzzzzz" : path + ".zzzzzzzz");
    const std::string prefix = "unknown field; expected one of: ";
    ASSERT_EQ(e.reason().rfind(prefix, 0), 0u) << e.reason();
    std::set<std::string> parser_keys;
    std::stringstream list(e.reason().substr(prefix.size()));
    for (std::string key; std::getline(list, key, ',');) {
      parser_keys.insert(key.substr(key.find_first_not_of(' ')));
    }
    std::set<std::string> schema_keys;
    for (const auto& [name, sub] : s["properties"].items()) schema_keys.insert(name);
    EXPECT_EQ(parser_keys, schema_keys);
    ++objects;
  });
  // root, model, layer_graph, cluster, gpu, peak_tflops, two efficiency objects, training, layout
  EXPECT_EQ(objects, 10);
}

// Any field the schema lists is accepted by the parser (never "unknown field").
TEST(ScenarioSchema, EveryListedFieldIsAccepted) {
  int leaves = 0;
  walk(scenario_schema(), "", [&](const std::string& path, const json& s) {
    if (is_object_schema(s)) return;
    SCOPED_TRACE(path);
    json value = 1;
    if (s.contains("default")) {
      value = s["default"];
    } else if (s.contains("enum")) {
      value = s["enum"][0];
    } else if (s["type"] == "string") {
      value = "text";
    }
    json doc = inline_scenario();
    at_path(doc, path) = value;
    try {
      parse_scenario(doc);
    } catch (const InputError& e) {
      EXPECT_THAT(e.reason(), ::testing::Not(HasSubstr("unknown field"))) << e.what();
    }
    ++leaves;
  });
  EXPECT_GT(leaves, 50);
}

// Giving a field its schema default changes nothing: the schema's defaults are the parser's.
TEST(ScenarioSchema, DefaultsAreWhatTheParserUses) {
  const std::string baseline = summary(parse_scenario(inline_scenario()));
  int checked = 0;
  walk(scenario_schema(), "", [&](const std::string& path, const json& s) {
    if (!s.contains("default")) return;
    json doc = inline_scenario();
    json& field = at_path(doc, path);
    if (!field.is_null()) return;  // given in the baseline
    SCOPED_TRACE(path);
    field = s["default"];
    EXPECT_EQ(summary(parse_scenario(doc)), baseline);
    ++checked;
  });
  EXPECT_GE(checked, 20);
}

std::string read_docs() {
  const auto docs_path = std::filesystem::path(PTSIM_SOURCE_DIR) / "docs" / "scenario.md";
  std::ifstream in(docs_path);
  EXPECT_TRUE(in) << docs_path;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ScenarioSchema, DocsDescribeEveryField) {
  const std::string docs = read_docs();
  ASSERT_FALSE(docs.empty());
  walk(scenario_schema(), "", [&](const std::string& path, const json& s) {
    if (path.empty() || is_object_schema(s)) return;
    EXPECT_THAT(docs, HasSubstr("`" + path + "`")) << "docs/scenario.md lacks " << path;
  });
}

TEST(ScenarioSchema, DocsExamplesParse) {
  const std::string docs = read_docs();
  const std::string open = "```json\n";
  int examples = 0;
  for (auto start = docs.find(open); start != std::string::npos; start = docs.find(open, start)) {
    start += open.size();
    const auto end = docs.find("```", start);
    ASSERT_NE(end, std::string::npos);
    const std::string example = docs.substr(start, end - start);
    SCOPED_TRACE(example);
    try {
      parse_scenario(json::parse(example));
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
    ++examples;
    start = end;
  }
  EXPECT_GE(examples, 3);
}

}  // namespace
}  // namespace ptsim::io

namespace ptsim::io {
namespace {

TEST(ScenarioParserTopology, PodsOversubscriptionDomainsAndRankOrder) {
  json doc = preset_scenario();
  doc["cluster"]["pod_gpus"] = 256;
  doc["cluster"]["oversubscription"] = 7;
  doc["layout"]["rank_order"] = "dp-tp-pp";
  const auto s = parse_scenario(doc);
  EXPECT_EQ(s.cluster.pod_gpus, 256);
  EXPECT_DOUBLE_EQ(s.cluster.oversubscription, 7);
  EXPECT_EQ(s.cluster.domain_size(), 8);
  EXPECT_EQ(s.layout.rank_order, strategies::RankOrder::dp_tp_pp);

  json nvl = preset_scenario();
  nvl["cluster"] = json::parse(R"({"preset": "gb200-nvl72", "num_gpus": 1152})");
  nvl["layout"]["dp"] = 9;
  nvl["training"]["global_batch_size"] = 1152;
  const auto g = parse_scenario(nvl);
  EXPECT_EQ(g.cluster.gpus_per_node, 4);
  EXPECT_EQ(g.cluster.domain_size(), 72);
  EXPECT_EQ(g.cluster.gpu.name, "gb200");
}

TEST(ScenarioParserTopology, BadTopologyValues) {
  json under = preset_scenario();
  under["cluster"]["oversubscription"] = 0.5;
  EXPECT_EQ(message_of(under), "cluster.oversubscription: 0.5 is below 1 (N means N:1 between pods)");
  json domain = preset_scenario();
  domain["cluster"]["nvlink_domain_gpus"] = 12;
  EXPECT_EQ(message_of(domain), "cluster.nvlink_domain_gpus: 12 is not a multiple of cluster.gpus_per_node 8");
  json pod = preset_scenario();
  pod["cluster"]["pod_gpus"] = 100;
  EXPECT_EQ(message_of(pod), "cluster.pod_gpus: 100 is not a multiple of the NVLink domain size 8");
  json order = preset_scenario();
  order["layout"]["rank_order"] = "tp-cp-dp-pp";
  EXPECT_NE(message_of(order).find("layout.rank_order:"), std::string::npos);
}

}  // namespace
}  // namespace ptsim::io

namespace ptsim::io {
namespace {

TEST(ScenarioParserStrategies, InterleavingSequenceParallelAndZero) {
  json doc = preset_scenario();
  doc["layout"]["virtual_stages"] = 3;
  doc["layout"]["sequence_parallel"] = true;
  doc["layout"]["recompute"] = "selective";
  doc["layout"]["zero_stage"] = 1;
  const auto s = parse_scenario(doc);
  EXPECT_EQ(s.layout.virtual_stages, 3);
  EXPECT_TRUE(s.layout.sequence_parallel);
  EXPECT_EQ(s.layout.recompute, strategies::Recompute::selective);
  EXPECT_EQ(s.layout.zero_stage, 1);

  json bad = preset_scenario();
  bad["layout"]["virtual_stages"] = 5;
  EXPECT_EQ(message_of(bad), "layout.virtual_stages: pp (16) x virtual_stages (5) = 80 does not divide model.num_layers 96");
  json gpipe = preset_scenario();
  gpipe["layout"]["virtual_stages"] = 2;
  gpipe["layout"]["schedule"] = "gpipe";
  EXPECT_EQ(message_of(gpipe), "layout.virtual_stages: 2 needs layout.schedule 1f1b (interleaved)");
  json zero = preset_scenario();
  zero["layout"]["zero_stage"] = 4;
  EXPECT_EQ(message_of(zero), "layout.zero_stage: 4 is not 0, 1, 2 or 3");
  json negative = preset_scenario();
  negative["layout"]["zero_stage"] = -1;
  EXPECT_EQ(message_of(negative), "layout.zero_stage: must be a non-negative integer, got -1");
  json seq = preset_scenario();
  seq["training"]["seq_length"] = 2050;
  seq["layout"]["sequence_parallel"] = true;
  EXPECT_EQ(message_of(seq), "layout.sequence_parallel: needs training.seq_length 2050 divisible by tp 8");
}

}  // namespace
}  // namespace ptsim::io

namespace ptsim::io {
namespace {

TEST(ScenarioParserStrategies, ContextParallel) {
  json doc = preset_scenario();
  doc["layout"] = json::parse(R"({"tp": 8, "cp": 2, "pp": 16, "cp_comm": "all_gather"})");
  const auto s = parse_scenario(doc);
  EXPECT_EQ(s.layout.cp, 2);
  EXPECT_EQ(s.layout.dp, 4);
  EXPECT_EQ(s.layout.cp_comm, strategies::ContextParallelComm::all_gather);
  json mismatch = preset_scenario();
  mismatch["layout"]["cp"] = 2;
  EXPECT_EQ(message_of(mismatch), "layout: dp (8) x tp (8) x cp (2) x pp (16) = 2048 does not equal cluster.num_gpus 1024");
  json odd = preset_scenario();
  odd["layout"] = json::parse(R"({"tp": 8, "cp": 16, "pp": 8})");
  odd["training"]["seq_length"] = 2000;
  EXPECT_EQ(message_of(odd), "layout.cp: 16 needs training.seq_length 2000 divisible by 2 x cp = 32 (load-balanced causal chunks)");
  json unfused = preset_scenario();
  unfused["layout"] = json::parse(R"({"tp": 8, "cp": 2, "pp": 16})");
  unfused["training"]["attention"] = "unfused";
  EXPECT_EQ(message_of(unfused), "layout.cp: 2 needs training.attention flash");
}

}  // namespace
}  // namespace ptsim::io

namespace ptsim::io {
namespace {

TEST(ScenarioParserStrategies, ExpertParallelism) {
  json doc = preset_scenario();
  doc["model"] = "mixtral-8x7b";
  doc["training"]["seq_length"] = 4096;
  doc["layout"] = json::parse(R"({"tp": 8, "pp": 4, "dp": 32, "ep": 8})");
  const auto s = parse_scenario(doc);
  EXPECT_EQ(s.layout.ep, 8);
  EXPECT_EQ(s.model.num_experts, 8);
  json bad = doc;
  bad["layout"]["ep"] = 3;
  EXPECT_EQ(message_of(bad), "layout.ep: 3 does not divide model.num_experts 8");
  json too_many = doc;
  too_many["layout"] = json::parse(R"({"tp": 8, "pp": 16, "dp": 8, "ep": 8})");
  too_many["model"] = json::parse(R"({"preset": "mixtral-8x7b", "num_layers": 32, "num_experts": 16})");
  too_many["layout"]["ep"] = 16;
  EXPECT_EQ(message_of(too_many), "layout.ep: 16 does not divide dp (8) x cp (1) = 8: experts are split over data-parallel ranks");
  json dense = preset_scenario();
  dense["layout"]["ep"] = 2;
  EXPECT_EQ(message_of(dense), "layout.ep: 2 needs a mixture-of-experts model (model.num_experts > 0)");
  json topk = doc;
  topk["model"] = json::parse(R"({"preset": "mixtral-8x7b", "moe_router_topk": 9})");
  EXPECT_EQ(message_of(topk), "model.moe_router_topk: 9 is more than model.num_experts 8");
}

}  // namespace
}  // namespace ptsim::io

namespace ptsim::io {
namespace {

TEST(ScenarioParserStrategies, UnevenPipeline) {
  json doc = preset_scenario();
  doc["model"] = "llama3-405b";
  doc["training"]["seq_length"] = 8192;
  doc["layout"] = json::parse(R"({"tp": 8, "pp": 16, "dp": 8, "num_layers_in_first_pipeline_stage": 7,
                                  "num_layers_in_last_pipeline_stage": 7})");
  const auto s = parse_scenario(doc);
  EXPECT_EQ(s.stage_layers(0).count, 7);
  EXPECT_EQ(s.stage_layers(1).first, 7);
  EXPECT_EQ(s.stage_layers(1).count, 8);
  EXPECT_EQ(s.stage_layers(15).first, 119);
  EXPECT_EQ(s.stage_layers(15).count, 7);
  json bad = doc;
  bad["layout"]["num_layers_in_last_pipeline_stage"] = 6;
  EXPECT_EQ(message_of(bad), "layout.num_layers_in_first_pipeline_stage: first 7 + last 6 leave 113 of model.num_layers 126 "
                             "for the other 14 stages, which must split them evenly, at least one each");
  json even = preset_scenario();
  even["model"] = "llama3-405b";
  even["layout"] = json::parse(R"({"tp": 8, "pp": 16, "dp": 8})");
  EXPECT_EQ(message_of(even), "layout.pp: 16 does not divide model.num_layers 126");
}

}  // namespace
}  // namespace ptsim::io

namespace ptsim::io {
namespace {

TEST(ScenarioParserStrategies, ZeroBubbleScheduleAndItsLimits) {
  json doc = preset_scenario();
  doc["layout"]["schedule"] = "zb-h1";
  doc["layout"]["overlap_grad_reduce"] = true;
  EXPECT_EQ(parse_scenario(doc).layout.schedule, strategies::Schedule::zb_h1);
  json interleaved = doc;
  interleaved["layout"]["virtual_stages"] = 2;
  EXPECT_EQ(message_of(interleaved), "layout.virtual_stages: 2 needs layout.schedule 1f1b (interleaved)");
  json fsdp = doc;
  fsdp["layout"]["zero_stage"] = 3;
  EXPECT_EQ(message_of(fsdp), "layout.schedule: zb-h1 is not supported with layout.zero_stage 3 (FSDP gathers "
                              "parameters per pass; ZB-H1 defers weight gradients past them)");
}

TEST(ScenarioParserStrategies, ReshardAfterForwardNeedsZeroThree) {
  json doc = preset_scenario();
  EXPECT_TRUE(parse_scenario(doc).layout.reshard_after_forward);
  doc["layout"]["reshard_after_forward"] = false;
  EXPECT_EQ(message_of(doc), "layout.reshard_after_forward: false needs layout.zero_stage 3 (FSDP); zero_stage is 0");
  doc["layout"]["zero_stage"] = 3;
  EXPECT_FALSE(parse_scenario(doc).layout.reshard_after_forward);
}

TEST(ScenarioParserStrategies, InterleavedUnevenPipelineFollowsMegatron) {
  json doc = preset_scenario();
  doc["model"] = "llama3-405b";
  doc["layout"] = json::parse(R"({"tp": 8, "pp": 16, "dp": 8, "virtual_stages": 2,
                                  "num_layers_in_first_pipeline_stage": 8,
                                  "num_layers_in_last_pipeline_stage": 6})");
  const auto s = parse_scenario(doc);
  EXPECT_EQ(s.chunk_layers(0, 0).count, 4);
  EXPECT_EQ(s.chunk_layers(1, 0).first, 4);
  EXPECT_EQ(s.chunk_layers(15, 0).count, 3);
  EXPECT_EQ(s.chunk_layers(0, 1).first, 63);  // chunk 0 of every stage: 4 + 14 x 4 + 3 layers
  json odd = doc;
  odd["layout"]["num_layers_in_first_pipeline_stage"] = 7;
  odd["layout"]["num_layers_in_last_pipeline_stage"] = 7;
  EXPECT_EQ(message_of(odd), "layout.num_layers_in_first_pipeline_stage: 7 is not divisible by layout.virtual_stages 2 "
                             "(each stage's layers are split evenly over its model chunks)");
  json middle = doc;
  middle["layout"]["virtual_stages"] = 4;
  middle["layout"]["num_layers_in_first_pipeline_stage"] = 8;
  middle["layout"]["num_layers_in_last_pipeline_stage"] = 20;
  EXPECT_EQ(message_of(middle), "layout.virtual_stages: 4 does not divide the 7 layers of each of the 14 middle stages "
                                "(model.num_layers minus the first and last stages' layers, split evenly)");
}

}  // namespace
}  // namespace ptsim::io

namespace ptsim::io {
namespace {

// An inline-preset model with `fields` overriding it, on one DGX H100 node with tp 1.
json model_scenario(json model) {
  json doc = json::parse(R"({
    "cluster": {"preset": "dgx-h100", "num_nodes": 1},
    "training": {"seq_length": 1024, "global_batch_size": 8},
    "layout": {"tp": 1, "pp": 1, "dp": 8}
  })");
  doc["model"] = std::move(model);
  return doc;
}

TEST(ScenarioParser, LayerPatternMlaAndEncoderFields) {
  const auto deepseek = parse_scenario(model_scenario({{"preset", "deepseek-v3"}, {"num_layers", 4}}));
  EXPECT_EQ(deepseek.model.kv_lora_rank, 512);
  EXPECT_EQ(deepseek.model.layer_kind(2), strategies::LayerKind::dense);
  EXPECT_EQ(deepseek.model.layer_kind(3), strategies::LayerKind::moe);
  const auto qwen = parse_scenario(model_scenario({{"preset", "qwen2-57b-a14b"}, {"decoder_sparse_step", 2}}));
  EXPECT_EQ(qwen.model.layer_kind(0), strategies::LayerKind::dense);
  EXPECT_EQ(qwen.model.layer_kind(1), strategies::LayerKind::moe);
  const auto bert = parse_scenario(model_scenario({{"preset", "gpt3-175b"}, {"num_layers", 2}, {"causal", false},
                                                   {"norm_placement", "post"}, {"output_head", "mlm"},
                                                   {"num_token_types", 2}}));
  EXPECT_FALSE(bert.model.causal);
  EXPECT_EQ(bert.model.norm_placement, strategies::NormPlacement::post);
  EXPECT_EQ(bert.model.output_head, strategies::OutputHead::mlm);
  EXPECT_EQ(bert.model.num_token_types, 2);
}

TEST(ScenarioParserErrors, MlaAndLayerPatternFields) {
  EXPECT_EQ(message_of(model_scenario({{"preset", "deepseek-v3"}, {"q_lora_rank", 0}})),
            "model.q_lora_rank: must be positive with multi-head latent attention (model.kv_lora_rank 512); "
            "queries projected without a latent are not modelled");
  EXPECT_EQ(message_of(model_scenario({{"preset", "llama3-8b"}, {"v_head_dim", 128}})),
            "model.v_head_dim: needs model.kv_lora_rank > 0 (multi-head latent attention)");
  EXPECT_EQ(message_of(model_scenario({{"preset", "deepseek-v3"}, {"num_query_groups", 8}})),
            "model.num_query_groups: 8 differs from model.num_attention_heads 128: multi-head latent attention "
            "has a key and value per head");
  EXPECT_EQ(message_of(model_scenario({{"preset", "deepseek-v3"}, {"num_layers", 2}})),
            "model.first_k_dense_replace: 3 is more than model.num_layers 2");
  EXPECT_EQ(message_of(model_scenario({{"preset", "mixtral-8x7b"}, {"moe_shared_expert_gate", true}})),
            "model.moe_shared_expert_gate: needs a shared expert (model.moe_shared_expert_intermediate_size > 0)");
  EXPECT_EQ(error_of(model_scenario({{"preset", "qwen2-57b-a14b"}, {"decoder_sparse_step", 0}})).path(),
            "model.decoder_sparse_step");
  EXPECT_EQ(error_of(model_scenario({{"preset", "bert-large"}, {"norm_placement", "middle"}})).path(),
            "model.norm_placement");
}

}  // namespace
}  // namespace ptsim::io
