// Validates JSON documents against the contract schemas in contracts/ (valijson).
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "support/test_data.h"

namespace spinescreen::testing {

// Empty when `doc` validates against `schemaJson` (draft 7 keywords); else the violations, one
// a line.
inline std::string violationsOf(const nlohmann::json& doc, nlohmann::json schemaJson) {
  // valijson speaks draft 7; the keywords the schemas use mean the same there.
  schemaJson.erase("$schema");
  valijson::Schema schema;
  valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
  valijson::adapters::NlohmannJsonAdapter schemaAdapter(schemaJson);
  parser.populateSchema(schemaAdapter, schema);
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(doc);
  if (validator.validate(schema, target, &results)) return {};
  std::ostringstream os;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    std::string context;
    for (const auto& c : error.context) context += c;
    os << context << ": " << error.description << '\n';
  }
  return os.str();
}

// Empty when `doc` validates against contracts/<schemaFile>; else the violations.
inline std::string schemaViolations(const nlohmann::json& doc, const std::string& schemaFile) {
  std::ifstream in(sourceDir() + "/contracts/" + schemaFile);
  if (!in) return "cannot open schema " + schemaFile;
  return violationsOf(doc, nlohmann::json::parse(in));
}

inline std::string reportViolations(const nlohmann::json& doc) {
  return schemaViolations(doc, "report.schema.json");
}

inline nlohmann::json readJsonFile(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace spinescreen::testing
