// Reading the files ptsim is given (scenarios, HuggingFace configs, validation sets, and
// every input added later) with a size limit, so that a path like /dev/zero or a
// multi-gigabyte log is refused instead of filling memory. Callers open the file and
// word their own errors; this only bounds the read.
#pragma once

#include <cstddef>
#include <istream>
#include <optional>
#include <string>

namespace ptsim::io {

// No input ptsim reads is near this size; the largest checked-in one is a few KiB.
inline constexpr std::size_t kMaxInputFileBytes = std::size_t{64} << 20;  // 64 MiB

// The rest of `in`, or nullopt when it holds more than max_bytes.
std::optional<std::string> read_at_most(std::istream& in, std::size_t max_bytes = kMaxInputFileBytes);

// "is larger than 64 MiB (ptsim reads input files of at most 64 MiB)".
std::string too_large_reason();

}  // namespace ptsim::io
