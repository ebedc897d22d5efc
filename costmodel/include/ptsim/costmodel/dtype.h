// Numeric formats a GPU computes and stores in, with their storage size. Peak throughput
// per format lives in GpuSpec.
#pragma once

#include <array>
#include <optional>
#include <string_view>

namespace ptsim::costmodel {

enum class Dtype { fp32, tf32, fp16, bf16, fp8 };
inline constexpr std::array<Dtype, 5> kAllDtypes = {Dtype::fp32, Dtype::tf32, Dtype::fp16,
                                                     Dtype::bf16, Dtype::fp8};

constexpr double bytes_per_element(Dtype d) {
  switch (d) {
    case Dtype::fp32:
    case Dtype::tf32: return 4;
    case Dtype::fp16:
    case Dtype::bf16: return 2;
    case Dtype::fp8: return 1;
  }
  return 0;
}

std::string_view to_string(Dtype d);
std::optional<Dtype> parse_dtype(std::string_view name);

}  // namespace ptsim::costmodel
