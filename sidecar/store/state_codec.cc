#include "sidecar/store/state_codec.h"

#include <algorithm>
#include <exception>
#include <nlohmann/json.hpp>
#include <set>

#include "api/dto/policy_json.h"
#include "engine/policy/validate.h"
#include "sidecar/store/checksum.h"

namespace ipsec::sidecar::store {
namespace {

using Json = nlohmann::json;
using engine::service::LocalState;
using engine::service::StoredPolicy;

// Every decoding fault is the same kind of error: the file is not a state we wrote.
Error Corrupt(const std::string& file, const std::string& what) {
  return MakeError(ErrorCode::kDataLoss, "state file " + file + " is corrupt: " + what, file);
}

// The canonical text the checksum covers. Throws on invalid UTF-8 (callers catch).
std::string Canonical(const Json& without_checksum) { return without_checksum.dump(); }

Result<Json> ParseText(std::string_view text, const std::string& file) {
  if (text.empty()) return Corrupt(file, "the file is empty");
  try {
    return Json::parse(text);
  } catch (const std::exception& e) {
    return Corrupt(file, std::string("not valid JSON (truncated or overwritten?): ") + e.what());
  }
}

// The envelope: format, version, checksum, and no unknown fields.
Status CheckEnvelope(Json& j, const std::string& file) {
  if (!j.is_object()) return Corrupt(file, "the top level is not a JSON object");
  static const std::set<std::string> kKnown = {"format",   "version",  "last_revision",
                                               "assigned", "policies", "checksum"};
  for (const auto& item : j.items()) {
    if (!kKnown.count(item.key())) return Corrupt(file, "unexpected field \"" + item.key() + "\"");
  }
  if (!j.contains("format") || j["format"] != kStateFormat) {
    return Corrupt(file, std::string("\"format\" is not \"") + kStateFormat + "\"");
  }
  if (!j.contains("version") || !j["version"].is_number_unsigned()) {
    return Corrupt(file, "\"version\" is missing or not a number");
  }
  if (j["version"].get<uint64_t>() != kStateVersion) {
    return Corrupt(file, "version " + j["version"].dump() + " is not the supported version " +
                             std::to_string(kStateVersion) + " (written by another release?)");
  }
  if (!j.contains("checksum") || !j["checksum"].is_string()) {
    return Corrupt(file, "\"checksum\" is missing or not a string");
  }
  const std::string stored = j["checksum"].get<std::string>();
  j.erase("checksum");
  const std::string computed = Crc32Text(Canonical(j));
  if (stored != computed) {
    return Corrupt(file, "checksum mismatch (stored " + stored + ", computed " + computed +
                             "): the content was damaged or edited");
  }
  return Status::Ok();
}

Result<StoredPolicy> DecodeEntry(const Json& entry, size_t index, uint64_t last_revision,
                                 const std::string& file) {
  const std::string at = "/policies/" + std::to_string(index);
  if (!entry.is_object() || entry.size() != 2 || !entry.contains("revision") ||
      !entry.contains("policy")) {
    return Corrupt(file, at + " is not {\"revision\": N, \"policy\": {...}}");
  }
  if (!entry["revision"].is_number_unsigned() || entry["revision"].get<uint64_t>() == 0 ||
      entry["revision"].get<uint64_t>() > last_revision) {
    return Corrupt(file, at + "/revision is not a number from 1 to last_revision (" +
                             std::to_string(last_revision) + ")");
  }
  auto policy = api::dto::PolicyFromJson(entry["policy"]);
  if (!policy.ok()) {
    return Corrupt(file, "the policy at " + at + "/policy" + policy.error().path +
                             " does not decode: " + policy.error().message);
  }
  if (Status valid = engine::policy::ValidatePolicy(*policy); !valid.ok()) {
    return Corrupt(file, "the policy at " + at + "/policy" + valid.error().path +
                             " is invalid: " + valid.error().message);
  }
  return StoredPolicy{std::move(policy).value(), entry["revision"].get<uint64_t>()};
}

Result<LocalState> DecodeBody(const Json& j, const std::string& file) {
  LocalState state;
  if (!j.contains("last_revision") || !j["last_revision"].is_number_unsigned()) {
    return Corrupt(file, "\"last_revision\" is missing or not a number");
  }
  state.last_revision = j["last_revision"].get<uint64_t>();
  if (!j.contains("assigned") || !(j["assigned"].is_null() || j["assigned"].is_string())) {
    return Corrupt(file, "\"assigned\" is missing or neither a name nor null");
  }
  if (j["assigned"].is_string()) state.assigned = j["assigned"].get<std::string>();
  if (!j.contains("policies") || !j["policies"].is_array()) {
    return Corrupt(file, "\"policies\" is missing or not a list");
  }
  std::set<std::string> names;
  for (size_t i = 0; i < j["policies"].size(); ++i) {
    auto entry = DecodeEntry(j["policies"][i], i, state.last_revision, file);
    if (!entry.ok()) return entry.error();
    if (!names.insert(entry->policy.name).second) {
      return Corrupt(file, "policy '" + entry->policy.name + "' is stored twice");
    }
    state.policies.push_back(std::move(entry).value());
  }
  if (state.assigned && !names.count(*state.assigned)) {
    return Corrupt(file, "the assigned policy '" + *state.assigned + "' is not stored");
  }
  std::sort(
      state.policies.begin(), state.policies.end(),
      [](const StoredPolicy& a, const StoredPolicy& b) { return a.policy.name < b.policy.name; });
  return state;
}

}  // namespace

Result<std::string> EncodeState(const LocalState& state) {
  try {
    Json j = Json::object();
    j["format"] = kStateFormat;
    j["version"] = static_cast<uint64_t>(kStateVersion);
    j["last_revision"] = state.last_revision;
    j["assigned"] = state.assigned ? Json(*state.assigned) : Json(nullptr);
    Json policies = Json::array();
    for (const StoredPolicy& p : state.policies) {
      policies.push_back(
          Json{{"revision", p.revision},
               {"policy", api::dto::PolicyToJson(p.policy, api::dto::SecretMode::kInclude)}});
    }
    j["policies"] = std::move(policies);
    j["checksum"] = Crc32Text(Canonical(j));
    return j.dump(2) + "\n";
  } catch (const std::exception&) {
    // what() would quote the offending bytes (of a preshared key, maybe): not repeated.
    return MakeError(ErrorCode::kInternal,
                     "cannot serialize the local state: a string in it is not valid UTF-8");
  }
}

Result<LocalState> DecodeState(std::string_view text, const std::string& file_name) {
  auto parsed = ParseText(text, file_name);
  if (!parsed.ok()) return parsed.error();
  try {
    Json j = std::move(parsed).value();
    if (Status s = CheckEnvelope(j, file_name); !s.ok()) return s.error();
    return DecodeBody(j, file_name);
  } catch (const std::exception& e) {  // a type nlohmann rejects in a place we did not check
    return Corrupt(file_name, e.what());
  }
}

}  // namespace ipsec::sidecar::store
