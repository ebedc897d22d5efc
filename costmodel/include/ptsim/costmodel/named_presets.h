// Lookup by name in a list of presets (any struct with a `name` member): the one helper
// behind every find_*_preset / *_preset_names pair, so they all behave the same.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ptsim::costmodel {

template <class T>
std::optional<T> find_named(std::vector<T> presets, std::string_view name) {
  for (auto& p : presets) {
    if (p.name == name) return std::move(p);
  }
  return std::nullopt;
}

template <class T>
std::vector<std::string> names_of(const std::vector<T>& presets) {
  std::vector<std::string> names;
  for (const auto& p : presets) names.push_back(p.name);
  return names;
}

}  // namespace ptsim::costmodel
