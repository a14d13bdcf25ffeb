#pragma once

// Tables for people, one per API resource (shapes in docs/api.md). Every view reads its JSON
// defensively: a missing field prints "-", an unexpected type prints as compact JSON, so a
// newer daemon never makes the CLI fail.

#include <initializer_list>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace ipsec::sidecar::ipsecctl {

// ordered: tables and -o json keep the API's field order.
using Json = nlohmann::ordered_json;

// One JSON value as a table cell: strings as they are, null "-", booleans yes/no, arrays
// joined with ",", objects as compact JSON.
std::string Cell(const Json& value);

// j[key], or null when j is not an object or has no such key.
const Json& Field(const Json& j, std::string_view key);
// Cell(Field(j, key)).
std::string Str(const Json& j, std::string_view key);
// j[key] when it is an array, else an empty array.
const Json& Array(const Json& j, std::string_view key);
// Concatenation without operator+ chains (GCC 12 -Wrestrict false positives, PR105329).
std::string Cat(std::initializer_list<std::string_view> parts);
std::string Join(const std::vector<std::string>& parts, std::string_view separator);

void PrintPolicyList(const Json& list, std::ostream& out);
void PrintPolicy(const Json& policy, std::string_view revision, std::ostream& out);
void PrintAssignment(const Json& status, std::ostream& out);
void PrintGenericFilters(const Json& filters, std::ostream& out);
void PrintSpecificFilters(const Json& filters, std::ostream& out);
void PrintSas(const Json& sas, std::ostream& out);
void PrintStats(const Json& stats, std::ostream& out);
void PrintMatch(const Json& decision, std::ostream& out);
void PrintTemplates(const Json& templates, std::ostream& out);

}  // namespace ipsec::sidecar::ipsecctl
