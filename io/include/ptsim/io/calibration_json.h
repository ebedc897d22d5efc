// JSON of the calibration tool: measured hardware profiles (read by the cost model through
// cluster.profile, written by `ptsim-calibrate fit`), raw measurement files (written by
// `ptsim-calibrate gpu|nccl|import-nccl-tests`, read by `fit`) and nccl-tests' own -J
// output. Every reader rejects unknown keys and bad values with an InputError naming the
// file and the JSON path (docs/calibration.md has the formats).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "ptsim/costmodel/measurements.h"
#include "ptsim/costmodel/profile.h"
#include "ptsim/io/input_error.h"

namespace ptsim::io {

inline constexpr std::string_view kProfileFormat = "ptsim-profile/1";
inline constexpr std::string_view kMeasurementsFormat = "ptsim-measurements/1";

costmodel::HardwareProfile parse_profile_file(const std::filesystem::path& file);
costmodel::HardwareProfile parse_profile_text(std::string_view text, const std::string& file);
std::string profile_to_json(const costmodel::HardwareProfile& profile);

// Reads a profile and attaches it to the cluster's GPU; a profile measured on another GPU
// than cluster.gpu (by preset name) is an InputError at error_path.
void attach_profile(costmodel::ClusterSpec& cluster, const std::filesystem::path& file, const std::string& error_path);

costmodel::Measurements parse_measurements_file(const std::filesystem::path& file);
costmodel::Measurements parse_measurements_text(std::string_view text, const std::string& file);
std::string measurements_to_json(const costmodel::Measurements& m);

// nccl-tests' -J file (src/util.cu: "config" with "devices", "results" rows with
// "out_of_place" / "in_place" objects). The collective comes from each row's
// "experiment_name" or the program name in "args"; ranks from the devices list times
// nthreads x ngpus, nodes from the distinct host names. In-place times where present.
costmodel::Measurements parse_nccl_tests_json(std::string_view text, const std::string& file);

// nccl-tests' program or experiment names ("all_reduce_perf", "AllReduce") as ops.
bool nccl_tests_op(std::string_view name, costmodel::CollectiveOp& out);

}  // namespace ptsim::io
