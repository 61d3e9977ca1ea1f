#pragma once
// What the catalogue searches in a PostgreSQL store: a service's title, summary and description. The
// store knows no document shape (postgres_options::search_fields); the catalogue names its fields here,
// and the executables open their stores with it, so the search index exists before the first write.

#include <tributary/index/postgres.hpp>

namespace tributary {

/// `base` with the catalogue's search fields: postgres_index::search finds services by their words.
[[nodiscard]] inline postgres_options catalogue_postgres_options(postgres_options base = {}) {
  base.search_fields = {"title", "summary", "description"};
  return base;
}

}  // namespace tributary
