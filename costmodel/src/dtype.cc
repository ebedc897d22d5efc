#include "ptsim/costmodel/dtype.h"

namespace ptsim::costmodel {

std::string_view to_string(Dtype d) {
  switch (d) {
    case Dtype::fp32: return "fp32";
    case Dtype::tf32: return "tf32";
    case Dtype::fp16: return "fp16";
    case Dtype::bf16: return "bf16";
    case Dtype::fp8: return "fp8";
  }
  return "?";
}

std::optional<Dtype> parse_dtype(std::string_view name) {
  for (Dtype d : kAllDtypes) {
    if (to_string(d) == name) return d;
  }
  return std::nullopt;
}

}  // namespace ptsim::costmodel
