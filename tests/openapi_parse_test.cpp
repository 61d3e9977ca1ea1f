// The two readings of an OpenAPI document (catalogue/source/openapi.hpp): simdjson's of a JSON document
// and yaml-cpp's of anything, which must agree. Every fixture (a YAML one in its JSON form as well) and
// a generated set of JSON documents go through both; bad input (malformed, deep, large) still gets the
// errors yaml-cpp gave it.

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include <tributary/catalogue/source/openapi.hpp>

namespace tributary {
namespace {

namespace fs = std::filesystem;
using detail::openapi_reading;

const fs::path fixtures = (std::getenv("TRIBUTARY_SOURCE_DIR") ? fs::path(std::getenv("TRIBUTARY_SOURCE_DIR"))
                                                               : fs::path(__FILE__).parent_path().parent_path()) /
                          "examples" / "xroad" / "fixtures";

std::string describe(const openapi_reading& r) {
  std::ostringstream out;
  out << "verdict " << static_cast<int>(r.what) << " message [" << r.message << "] title [" << r.title << "] summary ["
      << r.summary << "] description [" << r.description << "] links [" << r.links << "] links_dropped ["
      << r.links_dropped << "] pricing [";
  for (const auto& p : r.pricing) out << p << ",";
  out << "] data [";
  for (const auto& d : r.data) out << d << ",";
  out << "]";
  return out.str();
}

/// `text` with every escaped UTF-16 surrogate pair (\ud83d\ude00) written as the UTF-8 of its character.
std::string surrogates_as_utf8(const std::string& text) {
  auto hex = [&](std::size_t at) { return std::stoul(text.substr(at, 4), nullptr, 16); };
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text.compare(i, 2, "\\u") == 0 && i + 12 <= text.size() && text.compare(i + 6, 2, "\\u") == 0) {
      const auto high = hex(i + 2), low = hex(i + 8);
      if (high >= 0xD800 && high < 0xDC00 && low >= 0xDC00 && low < 0xE000) {
        const auto cp = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
        i += 11;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

/// Both readings of `text`; true when the JSON one read it (rather than leaving it to yaml-cpp).
bool expect_same_reading(const std::string& text, const std::string& what) {
  detail::openapi_parsers parsers;
  auto yaml = detail::read_openapi_yaml(text);
  if (yaml.message.find("invalid unicode") != std::string::npos) {
    // The one difference (openapi.hpp): yaml-cpp refuses an escaped surrogate pair; simdjson reads
    // the character, as yaml-cpp reads it written as UTF-8.
    const auto utf8 = surrogates_as_utf8(text);
    EXPECT_NE(utf8, text) << what << ": yaml-cpp refused something else";
    yaml = detail::read_openapi_yaml(utf8);
  }
  const auto json = detail::read_openapi_json(text, parsers);
  if (json) {
    EXPECT_EQ(describe(*json), describe(yaml)) << what << "\n" << text.substr(0, 2000);
  }
  EXPECT_EQ(describe(detail::read_openapi(text, parsers)), describe(yaml)) << what;
  return json.has_value();
}

/// A YAML document in its JSON form, as yaml_to_json spells it (no size limit).
std::optional<std::string> as_json(const std::string& yaml) {
  try {
    std::string out;
    detail::yaml_to_json(YAML::Load(yaml), out, std::size_t{1} << 30);
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

TEST(OpenApiParse, EveryFixtureReadsTheSameThroughBothParsers) {
  std::size_t specs = 0, json_read = 0;
  for (const auto& entry : fs::recursive_directory_iterator(fixtures)) {
    if (!entry.is_regular_file() || entry.path().parent_path().filename() != "specs") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    const std::string text = buffer.str();
    ++specs;
    if (expect_same_reading(text, entry.path().string())) ++json_read;
    if (const auto converted = as_json(text))
      if (expect_same_reading(*converted, entry.path().string() + " as JSON")) ++json_read;
  }
  EXPECT_GT(specs, 50u);
  EXPECT_GT(json_read, specs / 2) << "the JSON reading read too few of them";
}

/// splitmix64, so the set is the same on every run.
struct rng {
  std::uint64_t state;
  std::uint64_t next() {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  template <std::size_t N>
  const char* pick(const char* const (&options)[N]) {
    return options[next() % N];
  }
};

// JSON values for each field, the odd ones included: every type, YAML's booleans in every case, escapes
// and non-ASCII text, numbers (the JSON reading leaves those to yaml-cpp), nothing at all.
const char* const titles[] = {R"("Population register")", R"("")", "null", "true", "42", R"({"a":1})", R"(["x"])",
                              R"("caf\u00e9 \u20ac \ud83d\ude00")", R"("tab\tand \"quotes\" \\ \/")", "-0.5e3",
                              R"("  spaced  ")", R"("line one\nline two")"};
const char* const descriptions[] = {R"("First line.\nSecond line.")", R"("\n\n   \n  After blanks \n")", R"("")", "null",
                                    "false", "7", R"(["a"])", R"("\u00e4ri- ja riigiasutustele \u2014 \"x\"")"};
const char* const summaries[] = {R"("Short")", R"("")", "null", "true", R"({"x":1})", "1.5"};
const char* const categories[] = {R"("open")", R"("PUBLIC")", R"(["open","Health"])", R"(["open",null])", R"(["open",["x"]])",
                                  R"({"a":"b"})", "null", R"([])", R"("secret")", R"(["personal", "financial", "official"])",
                                  "true", R"([1])"};
const char* const pricings[] = {R"("free")", R"("Paid")", R"(["free","paid"])", R"("gratis")", "null", R"([{"a":1}])"};
const char* const hides[] = {"true", "false", R"("yes")", R"("On")", R"("tRUE")", R"("Y")", R"("no")", "1", "0", "null",
                             R"("")", R"({"a":true})", R"("TRUE")", R"("off")"};
const char* const links[] = {R"([{"title":"Docs","url":"https://example.ee/docs"}])",
                             R"({"a":[true,false,null,"x"],"b":{"c":"\u00e9\n"}})",
                             R"([])",
                             "null",
                             R"("just text")",
                             R"([{"n":1}])",
                             R"({"k":"v","k":"w"})",
                             R"([[[["deep"]]]])",
                             R"({"\u0041":"escaped key","quote\"d":"x"})"};

std::string member(const char* key, const char* value) { return std::string("\"") + key + "\":" + value; }

TEST(OpenApiParse, AGeneratedSetReadsTheSameThroughBothParsers) {
  rng r{20261205};
  std::size_t json_read = 0;
  constexpr std::size_t count = 3000;
  for (std::size_t i = 0; i < count; ++i) {
    std::vector<std::string> info;
    std::vector<std::function<std::string()>> again;  // another member of each name written
    auto maybe = [&](const char* key, const auto& options, std::uint64_t one_in) {
      auto make = [&r, key, &options] { return member(key, r.pick(options)); };
      if (r.next() % one_in == 0) return;
      info.push_back(make());
      again.push_back(make);
    };
    maybe("title", titles, 20);
    maybe("description", descriptions, 5);
    maybe("summary", summaries, 5);
    maybe("x-category", categories, 5);
    maybe("x-pricing", pricings, 5);
    if (r.next() % 4 == 0) info.push_back(member("x-hide-api-catalogue", r.pick(hides)));
    maybe("x-links", links, 5);
    if (r.next() % 5 == 0 && !again.empty()) info.push_back(again[r.next() % again.size()]());  // the first counts
    std::string doc = "{\"openapi\":\"3.0.1\",";
    switch (r.next() % 12) {
      case 0: doc += "\"info\":null,"; break;
      case 1: doc += "\"info\":[1],"; break;
      default: {
        doc += "\"info\":{";
        for (std::size_t k = 0; k < info.size(); ++k) doc += (k ? "," : "") + info[k];
        doc += "},";
      }
    }
    doc += R"("paths":{"/x":{"get":{"responses":{"200":{"description":"ok"}}}}}})";
    if (r.next() % 3 == 0) doc = " \n\t" + doc + "\n";  // whitespace around it
    if (expect_same_reading(doc, "generated document " + std::to_string(i))) ++json_read;
  }
  EXPECT_GT(json_read, count / 2) << "the JSON reading read too few of them";
}

TEST(OpenApiParse, BadInputGetsTheErrorsItAlwaysGot) {
  const std::string deep = "{\"info\":{\"title\":\"t\",\"x-links\":" + std::string(3000, '[') + std::string(3000, ']') + "}}";
  std::string large = R"({"info":{"title":"t","x-links":[)";
  for (int i = 0; i < 20000; ++i) large += (i ? "," : "") + std::string(R"({"url":"https://example.ee/a"})");
  large += "]}}";
  const std::vector<std::string> bad{
    R"({"info":{"title":"t")",                       // truncated
    R"({"info":{"title":"t"}} trailing)",            // trailing garbage
    R"({"info":{"title":"t",}})",                    // a trailing comma (YAML's flow style takes it)
    R"({info: {title: unquoted}})",                  // YAML flow style, not JSON
    "{\"info\":{\"title\":\"caf\xe9\"}}",            // Latin-1
    "{\"info\":{\"title\":\"\\u00e9\"}, \"x\": \"\\q\"}",  // an escape JSON does not know
    "{",
    "{}",
    "[]",
    deep,
    large,
  };
  for (const auto& text : bad) {
    const auto reading = detail::read_openapi(text);
    EXPECT_EQ(describe(reading), describe(detail::read_openapi_yaml(text))) << text.substr(0, 200);
  }
  // The messages themselves, as before.
  EXPECT_EQ(detail::read_openapi("{").message.rfind("malformed OpenAPI document (neither YAML nor JSON)", 0), 0u)
    << detail::read_openapi("{").message;
  EXPECT_EQ(detail::read_openapi("[]").message, "the OpenAPI document is not a YAML or JSON object");
  EXPECT_EQ(detail::read_openapi("{\"info\":{\"title\":\"caf\xe9\"}}").message, "the OpenAPI document is not valid UTF-8");
  const auto big = detail::read_openapi(large);
  EXPECT_EQ(big.what, openapi_reading::verdict::keep);
  EXPECT_TRUE(big.links.empty());
  EXPECT_NE(big.links_dropped.find("KiB"), std::string::npos) << big.links_dropped;
}

}  // namespace
}  // namespace tributary
