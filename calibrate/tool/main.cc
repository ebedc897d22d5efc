// ptsim-calibrate: measures a GPU node (gpu, nccl; CUDA builds only), imports nccl-tests
// logs, and fits measurements into the hardware profile the cost model reads
// (docs/calibration.md). Exit codes as ptsim: 0 ok, 1 no GPU or device failure, 2 bad input.
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ptsim/calibrate/fit.h"
#include "ptsim/calibrate/nccl_tests_text.h"
#include "ptsim/costmodel/hardware.h"
#include "ptsim/io/calibration_json.h"
#include "ptsim/io/input_error.h"
#ifdef PTSIM_CALIBRATE_CUDA
#include "../cuda/benchmarks.h"
#endif

namespace {

using namespace ptsim;

constexpr int kExitOk = 0, kExitDevice = 1, kExitBadInput = 2;

struct DeviceUnavailable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

void write_output(const std::string& path, const std::string& text) {
  if (path.empty() || path == "-") {
    std::cout << text;
    return;
  }
  std::ofstream out(path, std::ios::binary);
  if (!out) throw io::InputError("-o", "cannot open '" + path + "' for writing");
  out << text;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw io::InputError(path, "cannot open file");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

costmodel::Measurements import_log(const std::string& path, const std::optional<costmodel::CollectiveOp>& op) {
  const std::string text = read_file(path);
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '{') return io::parse_nccl_tests_json(text, path);
  return calibrate::parse_nccl_tests_text(text, path, op);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ptsim-calibrate: measure GPU kernels and NCCL collectives, import nccl-tests logs, fit a profile"};
  app.require_subcommand(1);
  std::string output;
  bool quick = false;
  std::int64_t min_bytes = 1024, max_bytes = std::int64_t{8} << 30;
  std::vector<std::string> logs, inputs, sources;
  std::string op_name, gpu_name;

  auto* gpu = app.add_subcommand("gpu", "time cuBLASLt GEMMs, attention, memory-bound kernels, copies, launches on GPU 0");
  gpu->add_option("-o,--output", output, "measurements file (default: stdout)");
  gpu->add_flag("--quick", quick, "a small grid: smoke test only");
  auto* nccl = app.add_subcommand("nccl", "time every NCCL collective over all GPUs of this node (one process)");
  nccl->add_option("-o,--output", output, "measurements file (default: stdout)");
  nccl->add_option("--min-bytes", min_bytes, "smallest size")->capture_default_str();
  nccl->add_option("--max-bytes", max_bytes, "largest size")->capture_default_str();
  auto* imp = app.add_subcommand("import-nccl-tests", "read nccl-tests text logs or -J JSON files");
  imp->add_option("logs", logs, "nccl-tests output files")->required()->check(CLI::ExistingFile);
  imp->add_option("--op", op_name, "collective of text logs that do not name it (all_reduce, all_gather, ...)");
  imp->add_option("-o,--output", output, "measurements file (default: stdout)");
  auto* fit = app.add_subcommand("fit", "measurements -> profile JSON (GEMM tables, bandwidth curves, alpha-beta fits)");
  fit->add_option("measurements", inputs, "measurement files")->required()->check(CLI::ExistingFile);
  fit->add_option("--gpu", gpu_name, "GPU preset the measurements were taken on (its peaks give efficiencies)")->required();
  fit->add_option("--source", sources, "extra provenance lines for the profile's sources");
  fit->add_option("-o,--output", output, "profile file (default: stdout)");
  CLI11_PARSE(app, argc, argv);

  try {
    if (*gpu || *nccl) {
#ifdef PTSIM_CALIBRATE_CUDA
      try {
        costmodel::Measurements m;
        if (*gpu) {
          calibrate::cuda::GpuOptions opt;
          opt.quick = quick;
          m = calibrate::cuda::measure_gpu(opt);
        } else {
          calibrate::cuda::NcclOptions opt;
          opt.min_bytes = min_bytes;
          opt.max_bytes = max_bytes;
          m = calibrate::cuda::measure_nccl(opt);
        }
        write_output(output, io::measurements_to_json(m));
      } catch (const calibrate::cuda::DeviceError& e) {
        throw DeviceUnavailable(e.what());
      }
#else
      throw DeviceUnavailable("built without the CUDA toolkit and NCCL: only import-nccl-tests and fit are available");
#endif
    } else if (*imp) {
      std::optional<costmodel::CollectiveOp> op;
      if (!op_name.empty()) {
        costmodel::CollectiveOp parsed{};
        if (!costmodel::parse_collective_op(op_name, parsed) && !io::nccl_tests_op(op_name, parsed)) {
          throw io::InputError("--op", "unknown collective '" + op_name + "'");
        }
        op = parsed;
      }
      std::vector<costmodel::Measurements> parts;
      for (const auto& log : logs) parts.push_back(import_log(log, op));
      write_output(output, io::measurements_to_json(calibrate::merge(parts)));
    } else if (*fit) {
      const auto preset = costmodel::find_gpu_preset(gpu_name);
      if (!preset) throw io::InputError("--gpu", "unknown GPU preset '" + gpu_name + "'");
      std::vector<costmodel::Measurements> parts;
      for (const auto& f : inputs) parts.push_back(io::parse_measurements_file(f));
      costmodel::Measurements all = calibrate::merge(parts);
      all.sources.insert(all.sources.end(), sources.begin(), sources.end());
      write_output(output, io::profile_to_json(calibrate::fit_profile(all, *preset)));
    }
  } catch (const DeviceUnavailable& e) {
    std::cerr << "ptsim-calibrate: error: " << e.what() << "\n";
    return kExitDevice;
  } catch (const io::InputError& e) {
    std::cerr << "ptsim-calibrate: error: " << e.what() << "\n";
    return kExitBadInput;
  }
  return kExitOk;
}
