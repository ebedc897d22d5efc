#include "ptsim/costmodel/gpu_prices.h"

namespace ptsim::costmodel {

std::optional<double> default_price_per_gpu_hour_usd(std::string_view gpu_name) {
  // pricegpu.pages.dev/blog/h100-vs-a100-cloud-price, "typical on-demand range, early
  // 2026": A100 80GB SXM $1.49-2.49, H100 SXM 80GB $2.49-3.99; the midpoints.
  if (gpu_name == "a100-sxm-80gb") return (1.49 + 2.49) / 2;
  if (gpu_name == "h100-sxm-80gb") return (2.49 + 3.99) / 2;
  // That page has no H200; mercatus-ai.com/blog/cloud-gpu-pricing (May 2026), specialty
  // clouds' on-demand H200 SXM $3.50-4.50 (its H100 SXM range there, $2.50-3.50, brackets
  // the H100 midpoint above): the midpoint. GB200 has none: it is rented per Grace-Blackwell
  // superchip or NVL72 rack, not per GPU, so users give its price (--price-per-gpu-hour).
  if (gpu_name == "h200-sxm-141gb") return (3.50 + 4.50) / 2;
  return std::nullopt;
}

}  // namespace ptsim::costmodel
