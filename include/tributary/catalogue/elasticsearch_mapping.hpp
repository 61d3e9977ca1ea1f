#pragma once
// The Elasticsearch mapping of the X-Road catalogue document (document.hpp), which the executables pass
// in elasticsearch_options::mappings when they open an Elasticsearch or OpenSearch store. The engine's
// backend knows no document shape; this is the catalogue's.

#include <string>
#include <string_view>

#include <tributary/detail/json_text.hpp>

namespace tributary {

/// The mapping of the catalogue document, `id_field` (elasticsearch_options::id_field) as the keyword
/// scans sort on. Fields it does not name are kept in _source but not indexed (dynamic: false), so other
/// documents never grow the mapping.
[[nodiscard]] inline std::string catalogue_elasticsearch_mapping(std::string_view id_field = "tributary_id") {
  const std::string kw = R"({"type":"keyword"})";
  const std::string text = R"({"type":"text"})";
  const std::string text_kw = R"({"type":"text","fields":{"keyword":{"type":"keyword","ignore_above":256}}})";
  std::string m = R"({"dynamic":false,"properties":{)";
  detail::append_quoted(m, id_field);
  m += ":" + kw + ",";
  m += "\"id\":" + kw + ",\"title\":" + text_kw + ",\"summary\":" + text + ",\"description\":" + text +
       ",\"owner\":" + text_kw + ",\"type\":" + kw + ",\"pricing\":" + kw + ",\"data\":" + kw + ",\"access\":" + kw;
  m += R"(,"environments":{"type":"nested","properties":{"environment":)" + kw + ",\"owner\":" + text_kw +
       ",\"access\":" + kw + R"(,"stale":{"type":"boolean"})";
  m += R"(,"details":{"type":"nested","properties":{"version":)" + kw + ",\"title\":" + text_kw +
       ",\"summary\":" + text + ",\"description\":" + text + ",\"type\":" + kw + ",\"pricing\":" + kw +
       ",\"data\":" + kw;
  // x-links has any shape and the OpenAPI text can be megabytes: kept in _source, never indexed.
  m += R"(,"links":{"type":"object","enabled":false},"openApiString":{"type":"text","index":false})";
  m += R"(,"collected":{"type":"date","ignore_malformed":true})";
  m += R"(,"xroadIdentifier":{"properties":{"instance":)" + kw + ",\"memberClass\":" + kw +
       ",\"memberCode\":" + kw + ",\"subsystemCode\":" + kw + ",\"serviceCode\":" + kw + "}}";
  m += "}}}}}}";
  return m;
}

}  // namespace tributary
