#include "ptsim/io/sweep_document.h"

#include <charconv>
#include <cstdint>
#include <vector>

#include "ptsim/io/input_error.h"
#include "ptsim/io/scenario_parser.h"

namespace ptsim::io {
namespace {

using nlohmann::json;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    const std::size_t dot = path.find('.', start);
    parts.push_back(path.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

// The object schema of `name` under `schema` (looking inside oneOf/anyOf for objects that
// may also be a preset name), or nullptr.
const json* child_schema(const json& schema, const std::string& name) {
  if (schema.contains("properties") && schema["properties"].contains(name)) return &schema["properties"][name];
  for (const char* alt : {"oneOf", "anyOf"}) {
    if (!schema.contains(alt)) continue;
    for (const json& option : schema[alt]) {
      if (const json* found = child_schema(option, name)) return found;
    }
  }
  return nullptr;
}

bool schema_has_path(const std::string& path) {
  const json schema = scenario_schema();
  const json* at = &schema;
  for (const auto& part : split_path(path)) {
    if (part.empty()) return false;
    at = child_schema(*at, part);
    if (at == nullptr) return false;
  }
  return true;
}

json value_json(const std::string& text) {
  if (text == "true") return true;
  if (text == "false") return false;
  std::int64_t i = 0;
  const char* end = text.data() + text.size();
  if (auto [p, ec] = std::from_chars(text.data(), end, i); ec == std::errc() && p == end) return i;
  double d = 0;
  if (auto [p, ec] = std::from_chars(text.data(), end, d); ec == std::errc() && p == end) return d;
  return text;
}

// The object at `name` inside doc, made an object if absent; a preset name alone
// ("cluster": "dgx-a100") becomes {"preset": name}.
json& object_at(json& doc, const std::string& name) {
  json& o = doc[name];
  if (o.is_string()) o = json{{"preset", o.get<std::string>()}};
  if (o.is_null()) o = json::object();
  return o;
}

void set_path(json& doc, const std::string& path, json value) {
  const auto parts = split_path(path);
  json* at = &doc;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (!at->is_object()) return;  // the parser reports the bad type at the parent's path
    at = &object_at(*at, parts[i]);
  }
  if (at->is_object()) (*at)[parts.back()] = std::move(value);
}

std::int64_t layout_int(const json& doc, const char* name) {
  if (!doc.contains("layout") || !doc["layout"].is_object()) return 1;
  const json& l = doc["layout"];
  return l.contains(name) && l[name].is_number_integer() ? l[name].get<std::int64_t>() : 1;
}

void erase_in(json& doc, const char* object, const char* key) {
  if (doc.contains(object) && doc[object].is_object()) doc[object].erase(key);
}

}  // namespace

std::string sweep_key_path(const std::string& key) {
  std::string path;
  if (key.find('.') != std::string::npos) {
    path = key;
  } else if (key == "num_gpus" || key == "num_nodes") {
    path = "cluster." + key;
  } else if (schema_has_path("layout." + key)) {
    path = "layout." + key;
  } else if (schema_has_path("training." + key)) {
    path = "training." + key;
  } else if (schema_has_path("cluster." + key)) {
    path = "cluster." + key;
  } else {
    path = key;
  }
  if (!schema_has_path(path)) {
    throw InputError("--vary", "'" + key + "' names no scenario field (see `ptsim schema` and docs/scenario.md)");
  }
  return path;
}

json apply_sweep_value(json doc, const std::string& key, const std::string& value) {
  if (!doc.is_object()) return doc;  // the parser names the problem
  const std::string path = sweep_key_path(key);
  json v = value_json(value);
  if (path == "cluster.num_gpus" || path == "cluster.num_nodes") {
    object_at(doc, "cluster");
    erase_in(doc, "cluster", path == "cluster.num_gpus" ? "num_nodes" : "num_gpus");
    erase_in(doc, "layout", "dp");
  } else if (path == "layout.dp" && v.is_number_integer()) {
    const std::int64_t per_replica = layout_int(doc, "tp") * layout_int(doc, "cp") * layout_int(doc, "pp");
    const std::int64_t dp = v.get<std::int64_t>();
    if (dp > 0 && per_replica > 0 && dp <= (std::int64_t{1} << 40) / per_replica) {
      object_at(doc, "cluster");
      erase_in(doc, "cluster", "num_nodes");
      set_path(doc, "cluster.num_gpus", dp * per_replica);
    }
  } else if (path == "layout.tp" || path == "layout.pp" || path == "layout.cp") {
    erase_in(doc, "layout", "dp");
  }
  set_path(doc, path, std::move(v));
  return doc;
}

}  // namespace ptsim::io
