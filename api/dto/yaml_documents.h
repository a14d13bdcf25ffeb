#pragma once

// YAML::LoadAll without yaml-cpp 0.7's endless loop. After a complete document, a stray ","
// (or a body that is only ",") makes 0.7's parser hand out the same empty document forever
// without reading further, and LoadAll collects them until memory runs out
// (jbeder/yaml-cpp#1040, fixed upstream by PR #1319 after 0.8.0; Debian 12 ships 0.7.0): a
// 1-octet YAML request body would take the API down.

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

namespace ipsec::api::dto {

// The documents of a YAML stream, as YAML::LoadAll gives them. Throws YAML::ParserException
// ("stray content where a document should start", at that position) when the parser stops
// reading, and whatever LoadAll throws otherwise.
std::vector<YAML::Node> LoadYamlDocuments(const std::string& text);

}  // namespace ipsec::api::dto
