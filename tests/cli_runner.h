// Runs the ptsim binary as a user does, for the whole-program tests: exit code, stdout and
// stderr of one command, scenario files written to a per-test temporary folder.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace ptsim::testing_cli {

namespace fs = std::filesystem;

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A folder of its own for the running test.
inline fs::path temp_dir() {
  const auto* info = testing::UnitTest::GetInstance()->current_test_info();
  fs::path dir = fs::temp_directory_path() / ("ptsim_cli_" + std::to_string(getpid())) /
                 (std::string(info->test_suite_name()) + "." + info->name());
  fs::create_directories(dir);
  return dir;
}

// `ptsim ARGS` (ARGS as a shell would split them), output captured to files.
inline CommandResult run_ptsim(const std::string& args, const std::string& tag = "run") {
  const fs::path dir = temp_dir();
  const fs::path out = dir / (tag + ".stdout");
  const fs::path err = dir / (tag + ".stderr");
  const std::string cmd = std::string("'") + PTSIM_BINARY + "' " + args + " >'" + out.string() + "' 2>'" +
                          err.string() + "'";
  const int status = std::system(cmd.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline fs::path write_file(const std::string& name, const std::string& text) {
  const fs::path file = temp_dir() / name;
  std::ofstream(file, std::ios::binary) << text;
  return file;
}

}  // namespace ptsim::testing_cli
