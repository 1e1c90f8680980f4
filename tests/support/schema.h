// Validates JSON documents against the contract schemas in contracts/ (valijson).
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "support/test_data.h"

namespace spinescreen::testing {

// Empty when `doc` validates against contracts/<schemaFile>; else the violations, one a line.
inline std::string schemaViolations(const nlohmann::json& doc, const std::string& schemaFile) {
  std::ifstream in(sourceDir() + "/contracts/" + schemaFile);
  if (!in) return "cannot open schema " + schemaFile;
  nlohmann::json schemaJson = nlohmann::json::parse(in);
  // valijson speaks draft 7; the keywords the contracts use mean the same there.
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

inline std::string reportViolations(const nlohmann::json& doc) {
  return schemaViolations(doc, "report.schema.json");
}

inline nlohmann::json readJsonFile(const std::string& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

}  // namespace spinescreen::testing
