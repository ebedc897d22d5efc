#include "ptsim/costmodel/gpu_prices.h"

namespace ptsim::costmodel {

std::optional<double> default_price_per_gpu_hour_usd(std::string_view gpu_name) {
  // pricegpu.pages.dev/blog/h100-vs-a100-cloud-price, "typical on-demand range, early
  // 2026": A100 80GB SXM $1.49-2.49, H100 SXM 80GB $2.49-3.99; the midpoints.
  if (gpu_name == "a100-sxm-80gb") return (1.49 + 2.49) / 2;
  if (gpu_name == "h100-sxm-80gb") return (2.49 + 3.99) / 2;
  return std::nullopt;
}

}  // namespace ptsim::costmodel
