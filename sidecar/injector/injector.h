#pragma once

// The sidecar injector's logic (issue 5): a Kubernetes mutating admission webhook that adds the
// ipsec-sidecar container to pods that ask for it. Pure: an AdmissionReview (JSON) in, an
// AdmissionReview with a JSONPatch (RFC 6902) out; no sockets, no files (main.cc serves it).
//
// Which pods: the MutatingWebhookConfiguration (deploy/injector) sends two kinds of request,
// told apart by the path:
//   kNamespace  (/mutate/namespace): the pod's namespace is labelled ipsec-injection=enabled;
//               every pod is injected unless annotated ipsec.sidecar/inject: "false".
//   kAnnotated  (/mutate/annotated): any other namespace; a pod is injected only when annotated
//               ipsec.sidecar/inject: "true".
// A pod that already has a container named as the template's (a re-invocation, or a manifest
// with the sidecar written in) is left alone, so injection is idempotent.
//
// What is added (the template, deploy/injector/sidecar-template.yaml, the same container and
// volumes as deploy/components/sidecar): the sidecar as the FIRST init container with
// restartPolicy: Always (a native sidecar: up before the other init containers and the
// application), its volumes, the label ipsec.sidecar/secured: "true" (the NetworkPolicy and the
// PodMonitor select it) and the annotation ipsec.sidecar/status: injected. The policy scope:
// the annotation ipsec.sidecar/namespace-policy: NAME mounts ConfigMap NAME as the namespace
// scope instead of ipsec-namespace-policy (FAQ 20: closest policy wins).
//
// A pod that asked for the sidecar but cannot get it (a volume name already taken) is refused
// (allowed: false, with the reason): starting it without IPsec would be a silent downgrade.

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "engine/common/result.h"

namespace ipsec::sidecar::injector {

using Json = nlohmann::json;

inline constexpr std::string_view kInjectAnnotation = "ipsec.sidecar/inject";
inline constexpr std::string_view kStatusAnnotation = "ipsec.sidecar/status";
inline constexpr std::string_view kPolicyAnnotation = "ipsec.sidecar/namespace-policy";
inline constexpr std::string_view kSecuredLabel = "ipsec.sidecar/secured";
inline constexpr std::string_view kNamespacePolicyVolume = "ipsec-namespace-policy";

enum class Mode { kNamespace, kAnnotated };

// The container and volumes to add, validated once at start-up.
struct Template {
  Json container;  // one Kubernetes Container object; its "name" identifies the sidecar
  Json volumes;    // an array of Volume objects
};

// Parses the template file's text (YAML or JSON): `initContainer` (a Container with a name and
// an image) and `volumes` (a list of Volumes with names). Errors say what is missing.
Result<Template> ParseTemplate(std::string_view text);

struct Decision {
  bool inject = false;
  std::string reason;  // for the log and the response's audit annotation
};

// Whether `pod` (a Pod object) gets the sidecar in `mode`.
Decision Decide(const Json& pod, Mode mode, const Template& tmpl);

// The JSONPatch that injects the sidecar into `pod`, or an error saying why it cannot.
Result<Json> BuildPatch(const Json& pod, const Template& tmpl);

// A whole AdmissionReview request (the body the API server POSTs) to the AdmissionReview
// response body. An error only for a body that is not an AdmissionReview v1 request (the
// server answers 400); a pod that cannot be injected is a normal response with allowed: false.
Result<Json> Review(std::string_view body, Mode mode, const Template& tmpl);

}  // namespace ipsec::sidecar::injector
