// scenario_schema(): the schema-writing visitor over the field declarations of
// scenario_fields.h, the same declarations the parser reads with.
#include <charconv>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "ptsim/io/scenario_parser.h"
#include "scenario_fields.h"

namespace ptsim::io {
namespace {

using nlohmann::json;
using namespace fields;

// A default shown in user units: 2e-6 s / 1e-6 is 1.9999999999999998 us, shown as 2.
double round_for_display(double x) {
  const std::string text = fmt::format("{:.12g}", x);
  double rounded = x;
  std::from_chars(text.data(), text.data() + text.size(), rounded);
  return rounded;
}

// Builds the schema of one object. `enclosing_preset` is true when an enclosing object has
// a preset that may fill this one, so required_without_preset fields cannot be required.
class SchemaWriter {
 public:
  explicit SchemaWriter(bool enclosing_preset) : enclosing_preset_(enclosing_preset) {}

  template <class T, class Find>
  void preset(const Field& f, std::string_view kind, std::vector<std::string> (*names)(), Find,
              T&, PresetNaming) {
    preset_key_ = std::string(f.name);
    preset_names_ = names();
    add(f, {{"type", "string"}, {"enum", preset_names_}, {"x-preset-kind", kind}}, std::nullopt);
  }

  template <class T>
  void file_import(const Field& f, ImportFn<T>, T&) {
    import_key_ = std::string(f.name);
    add(f, {{"type", "string"}, {"minLength", 1}}, std::nullopt);
  }

  template <class Int>
  void integer(const Field& f, Int& member, IntRule rule) {
    add(f, {{"type", "integer"}, {"minimum", rule == IntRule::non_negative ? 0 : 1}, {"maximum", kMaxInteger}},
        json(static_cast<std::int64_t>(member)));
  }

  void number(const Field& f, double& member, NumberRule rule, UnitFn to_si) {
    json s = {{"type", "number"}};
    switch (rule) {
      case NumberRule::positive: s["exclusiveMinimum"] = 0; break;
      case NumberRule::non_negative: s["minimum"] = 0; break;
      case NumberRule::fraction:
        s["exclusiveMinimum"] = 0;
        s["maximum"] = 1;
        break;
    }
    add(f, std::move(s), json(round_for_display(member / to_si(1.0))));
  }

  void boolean(const Field& f, bool& member) { add(f, {{"type", "boolean"}}, json(member)); }

  void string(const Field& f, std::string& member) {
    add(f, {{"type", "string"}}, member.empty() ? std::nullopt : std::optional<json>(member));
  }

  template <class E, std::size_t N>
  void enumeration(const Field& f, E& member, const std::array<E, N>& values) {
    json names = json::array();
    for (E e : values) names.push_back(std::string(to_string(e)));
    add(f, {{"type", "string"}, {"enum", names}}, json(std::string(to_string(member))));
  }

  template <class Fn>
  void object(const Field& f, Fn&& declare) {
    SchemaWriter child(enclosing_preset_ || has_base());
    declare(child);
    add(f, child.finish(), std::nullopt);
  }

  template <class Fn>
  void object_or_preset(const Field& f, Fn&& declare) {
    SchemaWriter child(enclosing_preset_ || has_base());
    declare(child);
    json name = {{"type", "string"},
                 {"enum", child.preset_names_},
                 {"description", "a preset name alone, the same as {\"" + child.preset_key_ +
                                     "\": name}"}};
    add(f, {{"oneOf", json::array({std::move(name), child.finish()})}}, std::nullopt);
  }

  void exactly_one_of(std::string_view a, std::string_view b) {
    all_of_.push_back({{"oneOf", json::array({{{"required", json::array({a})}},
                                              {{"required", json::array({b})}}})}});
  }

  void at_most_one_of(std::string_view a, std::string_view b) {
    all_of_.push_back({{"not", {{"required", json::array({a, b})}}}});
  }

  json finish() const {
    json s = {{"type", "object"}, {"additionalProperties", false}, {"properties", properties_}};
    json required = required_;
    json all_of = all_of_;
    if (!required_without_preset_.empty() && !enclosing_preset_) {
      if (!has_base()) {
        for (const auto& name : required_without_preset_) required.push_back(name);
      } else {
        // A preset, or an imported file, or every required_without_preset field.
        json any_of = json::array();
        for (const std::string& key : {preset_key_, import_key_}) {
          if (!key.empty()) any_of.push_back({{"required", json::array({key})}});
        }
        any_of.push_back({{"required", required_without_preset_}});
        all_of.push_back({{"anyOf", std::move(any_of)}});
      }
    }
    if (!required.empty()) s["required"] = std::move(required);
    if (!all_of.empty()) s["allOf"] = std::move(all_of);
    return s;
  }

 private:
  // A preset or an imported file may fill this object.
  bool has_base() const { return !preset_key_.empty() || !import_key_.empty(); }

  void add(const Field& f, json s, std::optional<json> default_value) {
    const std::string name(f.name);
    s["description"] = std::string(f.description);
    if (!f.unit.empty()) s["x-unit"] = std::string(f.unit);
    switch (f.presence) {
      case Presence::optional:
        if (default_value) s["default"] = std::move(*default_value);
        break;
      case Presence::required: required_.push_back(name); break;
      case Presence::required_without_preset: required_without_preset_.push_back(name); break;
      case Presence::derived: break;
    }
    properties_[name] = std::move(s);
  }

  bool enclosing_preset_;
  std::string preset_key_;
  std::string import_key_;
  json preset_names_ = json::array();
  json properties_ = json::object();
  json required_ = json::array();
  json required_without_preset_ = json::array();
  json all_of_ = json::array();
};

}  // namespace

json scenario_schema() {
  ScenarioInput defaults;
  SchemaWriter writer(false);
  scenario_fields(writer, defaults);
  json schema = {
      {"$schema", "https://json-schema.org/draft/2020-12/schema"},
      {"title", "ptsim scenario"},
      {"description",
       "A model, a cluster, the training workload and the parallel layout (docs/scenario.md). "
       "Units are in the field names and in x-unit. Cross-field rules (dp x tp x pp = GPUs, "
       "divisibility) are checked by the parser, not by this schema."},
  };
  schema.update(writer.finish());
  return schema;
}

}  // namespace ptsim::io
