// Default rental price per GPU-hour for the GPU presets that have a published range, for
// the search's cost objectives; users override it (--price-per-gpu-hour). Midpoints of
// the on-demand ranges listed in docs/search.md with their source.
#pragma once

#include <optional>
#include <string_view>

namespace ptsim::costmodel {

std::optional<double> default_price_per_gpu_hour_usd(std::string_view gpu_name);

}  // namespace ptsim::costmodel
