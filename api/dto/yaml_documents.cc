#include "api/dto/yaml_documents.h"

#include <yaml-cpp/eventhandler.h>

#include <sstream>

namespace ipsec::api::dto {
namespace {

// Notes where each document starts; nothing else.
class DocumentStarts final : public YAML::EventHandler {
 public:
  YAML::Mark last;
  bool any = false;
  bool stuck = false;

  void OnDocumentStart(const YAML::Mark& mark) override {
    // A document starting where the last one did: the parser read nothing in between.
    stuck = any && mark.pos == last.pos;
    last = mark;
    any = true;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

}  // namespace

std::vector<YAML::Node> LoadYamlDocuments(const std::string& text) {
  // A first pass sees the documents go by and stops a parser that no longer reads. Parsing is
  // deterministic, so once this pass ends, LoadAll over the same text ends too.
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentStarts starts;
  while (parser.HandleNextDocument(starts)) {
    if (starts.stuck) {
      throw YAML::ParserException(starts.last, "stray content where a document should start");
    }
  }
  return YAML::LoadAll(text);
}

}  // namespace ipsec::api::dto
