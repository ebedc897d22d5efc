#include "ptsim/io/input_error.h"

#include <utility>

namespace ptsim::io {
namespace {

std::string join(const std::string& path, const std::string& reason) {
  return path.empty() ? reason : path + ": " + reason;
}

}  // namespace

InputError::InputError(std::string path, std::string reason)
    : std::runtime_error(join(path, reason)), path_(std::move(path)), reason_(std::move(reason)) {}

}  // namespace ptsim::io
