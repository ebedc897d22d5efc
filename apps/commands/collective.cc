// `ptsim collective`: modelled collective times in nccl-tests' columns.
#include <algorithm>
#include <iostream>
#include <limits>
#include <memory>
#include <string>

#include "../cli_common.h"
#include "ptsim/costmodel/hardware.h"
#include "ptsim/io/collective_report.h"
#include "ptsim/io/input_error.h"

namespace ptsim::apps {
namespace {

struct CollectiveOptions {
  std::string cluster = "dgx-a100";
  int nodes = 1;
  int gpus = 0;  // 0: every GPU of the nodes
  std::string op = "all_reduce";
  std::string bytes = "1K:8G";
  bool json = false;
};

int run_collective(const CollectiveOptions& opt) {
  auto cluster = costmodel::find_node_preset(opt.cluster);
  if (!cluster) {
    std::string known;
    for (const auto& n : costmodel::node_preset_names()) known += (known.empty() ? "" : ", ") + n;
    throw io::InputError("--cluster", "unknown node preset '" + opt.cluster + "'; known: " + known);
  }
  // Keeps nodes x GPUs per node (an int) within 2^31 - 1.
  const int max_nodes = std::numeric_limits<int>::max() / cluster->gpus_per_node;
  if (opt.nodes < 1 || opt.nodes > max_nodes) {
    throw io::InputError("--nodes", "must be between 1 and " + std::to_string(max_nodes) + ", got " +
                                        std::to_string(opt.nodes));
  }
  cluster->num_nodes = opt.nodes;
  const int gpus = opt.gpus == 0 ? cluster->num_gpus() : opt.gpus;
  if (gpus < 1 || gpus > cluster->num_gpus()) {
    throw io::InputError("--gpus", "must be between 1 and the " + std::to_string(cluster->num_gpus()) +
                                       " GPUs of the nodes");
  }
  costmodel::CollectiveOp op;
  if (!costmodel::parse_collective_op(opt.op, op)) {
    throw io::InputError("--op", "unknown collective '" + opt.op +
                                     "'; known: all_reduce, all_gather, reduce_scatter, all_to_all, "
                                     "broadcast, send_recv");
  }
  // Consecutive ranks fill NVLink domains first, as NCCL's ranks do on a job's nodes.
  const int per_domain = std::min(gpus, cluster->domain_size());
  if (gpus % per_domain != 0) {
    throw io::InputError("--gpus", std::to_string(gpus) + " does not fill whole NVLink domains of " +
                                       std::to_string(cluster->domain_size()));
  }
  costmodel::GroupShape shape{gpus, per_domain, gpus / per_domain, cluster->pod_gpus > 0 && gpus > cluster->pod_gpus};
  if (op == costmodel::CollectiveOp::send_recv) shape = {2, gpus > per_domain ? 1 : 2, gpus > per_domain ? 2 : 1, false};
  const auto rows = io::collective_sweep(op, shape, io::parse_size_range(opt.bytes), *cluster);
  if (opt.json) {
    std::cout << io::collective_json(op, shape, *cluster, rows).dump(2) << "\n";
  } else {
    std::cout << io::collective_table(op, shape, *cluster, rows);
  }
  return kExitOk;
}

}  // namespace

void add_collective_command(CLI::App& app, CommandList& commands) {
  auto opt = std::make_shared<CollectiveOptions>();
  auto* sub = app.add_subcommand("collective", "modelled collective times in nccl-tests' columns");
  sub->add_option("--cluster", opt->cluster, "node preset")->capture_default_str();
  sub->add_option("--nodes", opt->nodes, "number of nodes")->capture_default_str();
  sub->add_option("--gpus", opt->gpus, "GPUs in the group (default: all of the nodes)");
  sub->add_option("--op", opt->op, "all_reduce, all_gather, reduce_scatter, all_to_all, broadcast, send_recv")
      ->capture_default_str();
  sub->add_option("--bytes", opt->bytes, "size or range MIN:MAX (K, M, G binary), doubling")->capture_default_str();
  sub->add_flag("--json", opt->json, "print JSON instead of the table");
  commands.push_back({sub, [opt] { return run_collective(*opt); }});
}

}  // namespace ptsim::apps
