#pragma once
// Builders of catalogue documents and sources for tests.

#include <string>
#include <vector>

#include <tributary/catalogue/document.hpp>
#include <tributary/collector/source/in_process.hpp>

namespace tributary::testing {

/// One service as environment `env` collects it: one entry, one detail per version.
inline service make_service(const std::string& env, const std::string& member_code, const std::string& subsystem,
                            const std::string& code, std::vector<std::string> versions = {"v1"},
                            const std::string& instance_prefix = "EE") {
  service s;
  environment_entry e;
  e.environment = env;
  e.owner = "Owner of " + member_code + " in " + env;
  e.access = {"xroad"};
  for (const auto& v : versions) {
    service_detail d;
    d.version = v;
    d.title = code + " " + v + " (" + env + ")";
    d.summary = "summary of " + code;
    d.description = "description of " + code + " in " + env;
    d.type = "rest";
    d.pricing = {"free"};
    d.data = {"public"};
    d.openapi = json_string::from_text("openapi: 3.0.0\ninfo:\n  title: \"" + code + "\"\n");
    d.collected = "2021-02-19T12:00:00Z";
    d.xroad = {instance_prefix + "-" + env, "GOV", member_code, subsystem, v.empty() ? code : code + "-" + v};
    e.details.push_back(std::move(d));
  }
  s.environments.push_back(std::move(e));
  s.id = service_id(s.environments.front().details.front().xroad, env);
  return s;
}

/// A source for `env`: `providers` providers, each with `services_each` services. Services whose
/// number is a multiple of `shared_every` exist (with the same id) in every environment; the others
/// only in `env`.
inline in_process_source make_source(const std::string& env, int providers, int services_each, int shared_every = 2) {
  in_process_source src;
  for (int p = 0; p < providers; ++p) {
    const std::string code = "7000" + std::to_string(p);
    const std::string subsystem = "sub" + std::to_string(p) + "-public";
    std::vector<service> services;
    for (int s = 0; s < services_each; ++s) {
      const bool shared = shared_every > 0 && s % shared_every == 0;
      const std::string name = shared ? "svc" + std::to_string(s) : env + "only" + std::to_string(s);
      services.push_back(make_service(env, code, subsystem, name, {"v1", "v2"}));
    }
    src.add({"EE-" + env + "/GOV/" + code + "/" + subsystem, "Provider " + code}, std::move(services));
  }
  return src;
}

}  // namespace tributary::testing
