#pragma once
// service_record: the X-Road catalogue's record model. A document is a `service` (document.hpp), its
// entries the environments' `environment_entry`s; its JSON is document_json.hpp's. The catalogue's
// names for the collector's generic types follow.

#include <string>
#include <string_view>
#include <vector>

#include <tributary/catalogue/document.hpp>
#include <tributary/catalogue/document_json.hpp>
#include <tributary/catalogue/document_text.hpp>
#include <tributary/collector/concepts.hpp>
#include <tributary/collector/source/in_process.hpp>

namespace tributary {

struct service_record {
  using record_model_concept = record_model_tag;
  using document = service;
  using entry = environment_entry;
  using parser = document_parser;

  [[nodiscard]] static std::string_view id(const service& s) noexcept { return s.id; }
  [[nodiscard]] static std::vector<environment_entry>& entries(service& s) noexcept { return s.environments; }
  [[nodiscard]] static const std::vector<environment_entry>& entries(const service& s) noexcept {
    return s.environments;
  }
  [[nodiscard]] static std::string_view environment(const environment_entry& e) noexcept { return e.environment; }
  static void mark_stale(environment_entry& e) noexcept { e.stale = true; }
  static void write(std::string& out, const service& s) { append_json(out, s); }

  // Documents as text (text_record_model): see document_text.hpp for what is read this way.
  using text_record_concept = text_record_tag;
  using text_document = tributary::text_document;
  using text_entry = tributary::text_entry;
  [[nodiscard]] static bool read_text(std::string_view json, text_document& into) { return into.read(json); }
  [[nodiscard]] static std::string_view id(const text_document& d) noexcept { return d.id(); }
  [[nodiscard]] static text_entry* text_entry_of(text_document& d, std::string_view environment) noexcept {
    return d.entry(environment);
  }
  static void mark_stale(text_entry& e) noexcept { e.stale = true; }
};
static_assert(record_model<service_record> && text_record_model<service_record>);

/// What collecting one X-Road provider produced.
using provider_outcome = basic_provider_outcome<service>;
/// Services held in memory, for tests and demos.
using in_process_source = basic_in_process_source<service_record>;

}  // namespace tributary
