#include "input_file.h"

#include <algorithm>

namespace ptsim::io {

std::optional<std::string> read_at_most(std::istream& in, std::size_t max_bytes) {
  std::string text;
  char buffer[1 << 16];
  while (in) {
    const std::size_t want = std::min(sizeof buffer, max_bytes + 1 - text.size());
    in.read(buffer, static_cast<std::streamsize>(want));
    text.append(buffer, static_cast<std::size_t>(in.gcount()));
    if (text.size() > max_bytes) return std::nullopt;
  }
  return text;
}

std::string too_large_reason() {
  return "is larger than " + std::to_string(kMaxInputFileBytes >> 20) + " MiB (ptsim reads input files of at most " +
         std::to_string(kMaxInputFileBytes >> 20) + " MiB)";
}

}  // namespace ptsim::io
