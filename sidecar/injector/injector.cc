#include "sidecar/injector/injector.h"

#include <array>
#include <cctype>

#include "api/dto/text.h"

namespace ipsec::sidecar::injector {
namespace {

// RFC 4648 §4 (the AdmissionReview's `patch` is base64 of the JSONPatch, with padding).
std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i < in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) v |= uint8_t(in[i + 1]) << 8;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

// RFC 6901 §3: "~" -> "~0", "/" -> "~1" in a reference token.
std::string PointerToken(std::string_view key) {
  std::string out;
  for (char c : key) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

const Json* Field(const Json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  auto it = j.find(std::string(key));
  return it == j.end() ? nullptr : &*it;
}

std::string StringField(const Json& j, std::string_view key) {
  const Json* f = Field(j, key);
  return f != nullptr && f->is_string() ? f->get<std::string>() : "";
}

std::string Annotation(const Json& pod, std::string_view key) {
  const Json* meta = Field(pod, "metadata");
  const Json* annotations = meta != nullptr ? Field(*meta, "annotations") : nullptr;
  return annotations != nullptr ? StringField(*annotations, key) : "";
}

bool HasContainerNamed(const Json& pod, const std::string& name) {
  const Json* spec = Field(pod, "spec");
  if (spec == nullptr) return false;
  for (const char* list : {"containers", "initContainers"}) {
    const Json* l = Field(*spec, list);
    if (l == nullptr || !l->is_array()) continue;
    for (const auto& c : *l) {
      if (StringField(c, "name") == name) return true;
    }
  }
  return false;
}

// RFC 1123 subdomain, as Kubernetes names ConfigMaps: lowercase alphanumerics, '-' and '.',
// starting and ending alphanumeric, at most 253 characters.
bool IsDns1123Subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) { return std::islower(uint8_t(c)) || std::isdigit(uint8_t(c)); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  for (char c : s) {
    if (!alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

Json Op(const std::string& path, Json value) {
  return Json{{"op", "add"}, {"path", path}, {"value", std::move(value)}};
}

// Adds `key: value` to the metadata map `map` ("labels" or "annotations").
void AddMetadataEntry(const Json& pod, const std::string& map, std::string_view key,
                      const std::string& value, Json& patch) {
  const Json* meta = Field(pod, "metadata");
  const Json* existing = meta != nullptr ? Field(*meta, map) : nullptr;
  if (meta == nullptr) {
    patch.push_back(Op("/metadata", Json{{map, Json{{std::string(key), value}}}}));
  } else if (existing == nullptr || !existing->is_object()) {
    patch.push_back(Op("/metadata/" + map, Json{{std::string(key), value}}));
  } else {
    patch.push_back(Op("/metadata/" + map + "/" + PointerToken(key), value));
  }
}

Json ResponseFor(const std::string& uid, bool allowed, const std::string& message) {
  Json response = {{"uid", uid}, {"allowed", allowed}};
  if (!allowed) response["status"] = {{"code", 403}, {"message", message}};
  if (!message.empty()) response["auditAnnotations"] = {{"injection", message}};
  return Json{{"apiVersion", "admission.k8s.io/v1"},
              {"kind", "AdmissionReview"},
              {"response", std::move(response)}};
}

}  // namespace

Result<Template> ParseTemplate(std::string_view text) {
  auto parsed = api::dto::ParseJsonOrYaml(text);
  if (!parsed.ok()) return parsed.error();
  const Json& j = *parsed;
  Template t;
  const Json* container = Field(j, "initContainer");
  if (container == nullptr || !container->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "template: `initContainer` (a Kubernetes Container) is missing");
  }
  if (StringField(*container, "name").empty() || StringField(*container, "image").empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "template: `initContainer` needs a `name` and an `image`");
  }
  if (StringField(*container, "restartPolicy") != "Always") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "template: `initContainer.restartPolicy` must be Always (a native sidecar)");
  }
  t.container = *container;
  const Json* volumes = Field(j, "volumes");
  t.volumes = volumes != nullptr ? *volumes : Json::array();
  if (!t.volumes.is_array()) {
    return MakeError(ErrorCode::kInvalidArgument, "template: `volumes` must be a list");
  }
  for (const auto& v : t.volumes) {
    if (StringField(v, "name").empty()) {
      return MakeError(ErrorCode::kInvalidArgument, "template: every volume needs a `name`");
    }
  }
  return t;
}

Decision Decide(const Json& pod, Mode mode, const Template& tmpl) {
  const std::string name = tmpl.container.value("name", "");
  const std::string inject = Annotation(pod, kInjectAnnotation);
  if (HasContainerNamed(pod, name)) return {false, "already has a container named " + name};
  const Json* spec = Field(pod, "spec");
  if (spec != nullptr && spec->value("hostNetwork", false)) {
    return {false, "hostNetwork pod: the sidecar would take over the node's network"};
  }
  if (mode == Mode::kNamespace) {
    if (inject == "false") return {false, "annotated ipsec.sidecar/inject: \"false\""};
    return {true, "namespace labelled ipsec-injection=enabled"};
  }
  if (inject == "true") return {true, "annotated ipsec.sidecar/inject: \"true\""};
  return {false, "not annotated ipsec.sidecar/inject: \"true\""};
}

Result<Json> BuildPatch(const Json& pod, const Template& tmpl) {
  const Json* spec = Field(pod, "spec");
  if (spec == nullptr || !spec->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "the pod has no spec");
  }
  const Json* meta = Field(pod, "metadata");
  if (meta != nullptr && !meta->is_object()) {
    return MakeError(ErrorCode::kInvalidArgument, "the pod's metadata is not an object");
  }
  Json volumes = tmpl.volumes;
  const std::string policy = Annotation(pod, kPolicyAnnotation);
  if (!policy.empty()) {
    if (!IsDns1123Subdomain(policy)) {
      return MakeError(ErrorCode::kInvalidArgument,
                       std::string(kPolicyAnnotation) + ": '" + policy +
                           "' is not a ConfigMap name (RFC 1123 subdomain)");
    }
    for (auto& v : volumes) {
      if (v.value("name", "") == kNamespacePolicyVolume && v.contains("configMap")) {
        v["configMap"]["name"] = policy;
      }
    }
  }
  Json patch = Json::array();
  // The sidecar first: a native sidecar before the other init containers starts before them.
  const Json* inits = Field(*spec, "initContainers");
  if (inits == nullptr || !inits->is_array() || inits->empty()) {
    patch.push_back(Op("/spec/initContainers", Json::array({tmpl.container})));
  } else {
    patch.push_back(Op("/spec/initContainers/0", tmpl.container));
  }
  const Json* pod_volumes = Field(*spec, "volumes");
  if (pod_volumes == nullptr || !pod_volumes->is_array() || pod_volumes->empty()) {
    patch.push_back(Op("/spec/volumes", volumes));
  } else {
    for (const auto& v : volumes) {
      const std::string vname = v.value("name", "");
      for (const auto& existing : *pod_volumes) {
        if (StringField(existing, "name") == vname) {
          return MakeError(
              ErrorCode::kAlreadyExists,
              "the pod already has a volume named '" + vname + "', which the IPsec sidecar needs");
        }
      }
      patch.push_back(Op("/spec/volumes/-", v));
    }
  }
  AddMetadataEntry(pod, "labels", kSecuredLabel, "true", patch);
  // After the labels op: a pod without metadata got a whole /metadata above, so annotations
  // are then added as a map of their own.
  Json with_labels = pod;
  with_labels["metadata"]["labels"][std::string(kSecuredLabel)] = "true";
  AddMetadataEntry(with_labels, "annotations", kStatusAnnotation, "injected", patch);
  return patch;
}

Result<Json> Review(std::string_view body, Mode mode, const Template& tmpl) {
  auto parsed = api::dto::ParseJson(body);
  if (!parsed.ok()) return parsed.error();
  const Json& review = *parsed;
  if (StringField(review, "apiVersion") != "admission.k8s.io/v1" ||
      StringField(review, "kind") != "AdmissionReview") {
    return MakeError(ErrorCode::kInvalidArgument,
                     "expected an admission.k8s.io/v1 AdmissionReview");
  }
  const Json* request = Field(review, "request");
  const std::string uid = request != nullptr ? StringField(*request, "uid") : "";
  if (uid.empty()) {
    return MakeError(ErrorCode::kInvalidArgument, "the AdmissionReview has no request.uid");
  }
  const Json* kind = Field(*request, "kind");
  const Json* pod = Field(*request, "object");
  if (kind == nullptr || StringField(*kind, "kind") != "Pod" ||
      StringField(*request, "operation") != "CREATE" || pod == nullptr || !pod->is_object()) {
    return ResponseFor(uid, true, "");  // not a pod being created: nothing to do
  }
  Decision d = Decide(*pod, mode, tmpl);
  if (!d.inject) {
    // A pod that explicitly asked for IPsec and cannot have it is refused, not downgraded.
    if (Annotation(*pod, kInjectAnnotation) == "true" && d.reason.rfind("already", 0) != 0) {
      return ResponseFor(uid, false, "IPsec sidecar requested but not injected: " + d.reason);
    }
    return ResponseFor(uid, true, "not injected: " + d.reason);
  }
  auto patch = BuildPatch(*pod, tmpl);
  if (!patch.ok()) {
    return ResponseFor(uid, false, "IPsec sidecar not injected: " + patch.error().message);
  }
  Json out = ResponseFor(uid, true, "injected: " + d.reason);
  out["response"]["patchType"] = "JSONPatch";
  out["response"]["patch"] = Base64(patch->dump());
  return out;
}

}  // namespace ipsec::sidecar::injector
