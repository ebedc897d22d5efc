#include "ptsim/io/input_error.h"

#include <utility>

namespace ptsim::io {
namespace {

// Control characters (a newline in a JSON key or a preset name) are shown escaped, so
// an error is always one line whatever the input held.
std::string one_line(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += c;
    }
  }
  return out;
}

std::string join(const std::string& path, const std::string& reason) {
  return one_line(path.empty() ? reason : path + ": " + reason);
}

}  // namespace

InputError::InputError(std::string path, std::string reason)
    : std::runtime_error(join(path, reason)), path_(std::move(path)), reason_(std::move(reason)) {}

}  // namespace ptsim::io
