// The sidecar injection webhook's AdmissionReview handling, with fixtures (fixtures/*.json):
// the response's JSONPatch is applied to the fixture's pod (nlohmann's RFC 6902 patch) and the
// result checked as the API server would store it.
#include "sidecar/injector/injector.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "api/dto/text.h"

namespace ipsec::sidecar::injector {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Fixture(const std::string& name) {
  std::string text = ReadFile(std::string(IPSEC_INJECTOR_FIXTURES) + "/" + name);
  EXPECT_FALSE(text.empty()) << "fixture " << name << " missing";
  return text;
}

Template ShippedTemplate() {
  auto t =
      ParseTemplate(ReadFile(std::string(IPSEC_DEPLOY_DIR) + "/injector/sidecar-template.yaml"));
  EXPECT_TRUE(t.ok()) << t.error().ToString();
  return t.ok() ? *t : Template{};
}

std::string Base64Decode(const std::string& in) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
  };
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = value(c);
    if (v < 0) continue;  // padding
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

struct Outcome {
  Json response;
  Json pod;  // the request's pod with the patch applied (unchanged without one)
};

Outcome RunFixture(const std::string& fixture, Mode mode) {
  const std::string body = Fixture(fixture);
  auto out = Review(body, mode, ShippedTemplate());
  EXPECT_TRUE(out.ok()) << out.error().ToString();
  Outcome o;
  if (!out.ok()) return o;
  o.response = (*out)["response"];
  o.pod = Json::parse(body)["request"]["object"];
  if (o.response.contains("patch")) {
    EXPECT_EQ(o.response["patchType"], "JSONPatch");
    Json patch = Json::parse(Base64Decode(o.response["patch"].get<std::string>()));
    o.pod = o.pod.patch(patch);  // throws (fails the test) on an invalid patch
  }
  return o;
}

TEST(InjectorTest, AnnotatedPodGetsTheNativeSidecarFirstWithItsVolumesAndLabel) {
  Outcome o = RunFixture("pod-annotated.json", Mode::kAnnotated);
  EXPECT_EQ(o.response["uid"], "705ab4f5-6393-11e8-b7cc-42010a800002");
  EXPECT_EQ(o.response["allowed"], true);
  ASSERT_TRUE(o.response.contains("patch"));
  const Json& inits = o.pod["spec"]["initContainers"];
  ASSERT_EQ(inits.size(), 1u);
  EXPECT_EQ(inits[0]["name"], "ipsec-sidecar");
  EXPECT_EQ(inits[0]["restartPolicy"], "Always");
  EXPECT_EQ(inits[0]["securityContext"]["privileged"], false);
  EXPECT_EQ(inits[0]["securityContext"]["capabilities"]["add"],
            Json::array({"NET_ADMIN", "NET_RAW", "NET_BIND_SERVICE"}));
  // The pod's own volume stays first; ours follow.
  const Json& volumes = o.pod["spec"]["volumes"];
  ASSERT_GT(volumes.size(), 1u);
  EXPECT_EQ(volumes[0]["name"], "kube-api-access-x1");
  bool tun = false;
  for (const auto& v : volumes) {
    if (v["name"] == "dev-net-tun") {
      tun = true;
      EXPECT_EQ(v["hostPath"]["type"], "CharDevice");
      EXPECT_EQ(v["hostPath"]["path"], "/dev/net/tun");
    }
  }
  EXPECT_TRUE(tun);
  EXPECT_EQ(o.pod["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(o.pod["metadata"]["labels"]["ipsec.sidecar/secured"], "true");
  EXPECT_EQ(o.pod["metadata"]["annotations"]["ipsec.sidecar/status"], "injected");
  EXPECT_EQ(o.pod["metadata"]["annotations"]["ipsec.sidecar/inject"], "true");
}

TEST(InjectorTest, UnannotatedPodIsLeftAloneOutsideEnabledNamespaces) {
  Outcome o = RunFixture("pod-plain.json", Mode::kAnnotated);
  EXPECT_EQ(o.response["allowed"], true);
  EXPECT_FALSE(o.response.contains("patch"));
}

TEST(InjectorTest, EnabledNamespaceInjectsBeforeExistingInitContainers) {
  Outcome o = RunFixture("pod-plain.json", Mode::kNamespace);
  ASSERT_TRUE(o.response.contains("patch"));
  const Json& inits = o.pod["spec"]["initContainers"];
  ASSERT_EQ(inits.size(), 2u);
  EXPECT_EQ(inits[0]["name"], "ipsec-sidecar");  // up before "migrate" needs the network
  EXPECT_EQ(inits[1]["name"], "migrate");
  // A pod without labels or annotations gets both maps.
  EXPECT_EQ(o.pod["metadata"]["labels"]["ipsec.sidecar/secured"], "true");
  EXPECT_EQ(o.pod["metadata"]["annotations"]["ipsec.sidecar/status"], "injected");
  EXPECT_EQ(o.pod["metadata"]["name"], "plain");
}

TEST(InjectorTest, PodOptsOutInAnEnabledNamespace) {
  Outcome o = RunFixture("pod-opted-out.json", Mode::kNamespace);
  EXPECT_EQ(o.response["allowed"], true);
  EXPECT_FALSE(o.response.contains("patch"));
  EXPECT_NE(o.response["auditAnnotations"]["injection"].get<std::string>().find("false"),
            std::string::npos);
}

TEST(InjectorTest, PodThatAskedForIpsecButCannotHaveItIsRefusedNotDowngraded) {
  Outcome o = RunFixture("pod-volume-conflict.json", Mode::kAnnotated);
  EXPECT_EQ(o.response["allowed"], false);
  EXPECT_FALSE(o.response.contains("patch"));
  EXPECT_NE(o.response["status"]["message"].get<std::string>().find("ipsec-state"),
            std::string::npos);
}

TEST(InjectorTest, ReinvocationIsIdempotent) {
  Outcome o = RunFixture("pod-already-injected.json", Mode::kAnnotated);
  EXPECT_EQ(o.response["allowed"], true);
  EXPECT_FALSE(o.response.contains("patch"));
}

TEST(InjectorTest, OtherObjectsAndOperationsPassUntouched) {
  Outcome o = RunFixture("deployment-update.json", Mode::kNamespace);
  EXPECT_EQ(o.response["allowed"], true);
  EXPECT_FALSE(o.response.contains("patch"));
}

TEST(InjectorTest, NamespacePolicyAnnotationPicksTheConfigMap) {
  Json review = Json::parse(Fixture("pod-annotated.json"));
  review["request"]["object"]["metadata"]["annotations"]["ipsec.sidecar/namespace-policy"] =
      "payments-policy";
  auto out = Review(review.dump(), Mode::kAnnotated, ShippedTemplate());
  ASSERT_TRUE(out.ok());
  Json pod = review["request"]["object"].patch(
      Json::parse(Base64Decode((*out)["response"]["patch"].get<std::string>())));
  bool found = false;
  for (const auto& v : pod["spec"]["volumes"]) {
    if (v["name"] == "ipsec-namespace-policy") {
      found = true;
      EXPECT_EQ(v["configMap"]["name"], "payments-policy");
    }
  }
  EXPECT_TRUE(found);
  review["request"]["object"]["metadata"]["annotations"]["ipsec.sidecar/namespace-policy"] =
      "../etc";
  out = Review(review.dump(), Mode::kAnnotated, ShippedTemplate());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["response"]["allowed"], false);
}

TEST(InjectorTest, HostNetworkPodsAreNeverInjected) {
  Json review = Json::parse(Fixture("pod-plain.json"));
  review["request"]["object"]["spec"]["hostNetwork"] = true;
  auto out = Review(review.dump(), Mode::kNamespace, ShippedTemplate());
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["response"]["allowed"], true);
  EXPECT_FALSE((*out)["response"].contains("patch"));
}

TEST(InjectorTest, BadBodiesAreErrorsNotCrashes) {
  Template t = ShippedTemplate();
  for (const char* body : {"", "{", "[]", "null", R"({"kind": "AdmissionReview"})",
                           R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"})",
                           R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                               "request": {"uid": 7}})"}) {
    EXPECT_FALSE(Review(body, Mode::kNamespace, t).ok()) << body;
  }
  // A pod whose fields have the wrong types is answered, not crashed on.
  const char* odd = R"({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
    "request": {"uid": "u", "kind": {"kind": "Pod"}, "operation": "CREATE",
                "object": {"metadata": [], "spec": {"initContainers": 5, "volumes": "x"}}}})";
  auto out = Review(odd, Mode::kNamespace, t);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ((*out)["response"]["uid"], "u");
}

TEST(InjectorTest, TemplateErrorsSayWhatIsMissing) {
  EXPECT_FALSE(ParseTemplate("volumes: []").ok());
  EXPECT_FALSE(ParseTemplate("initContainer: {name: x}").ok());
  auto no_restart = ParseTemplate("initContainer: {name: x, image: y}");
  ASSERT_FALSE(no_restart.ok());
  EXPECT_NE(no_restart.error().message.find("restartPolicy"), std::string::npos);
  EXPECT_TRUE(ParseTemplate("initContainer: {name: x, image: y, restartPolicy: Always}").ok());
}

// The webhook and the kustomize component add the same container and volumes.
TEST(InjectorTest, TemplateMatchesTheKustomizeComponent) {
  auto component = api::dto::ParseJsonOrYaml(
      ReadFile(std::string(IPSEC_DEPLOY_DIR) + "/components/sidecar/sidecar-patch.yaml"));
  ASSERT_TRUE(component.ok()) << component.error().ToString();
  const Json& spec = (*component)["spec"]["template"]["spec"];
  Template t = ShippedTemplate();
  EXPECT_EQ(spec["initContainers"][0], t.container)
      << "deploy/injector/sidecar-template.yaml and deploy/components/sidecar/sidecar-patch.yaml "
         "differ";
  EXPECT_EQ(spec["volumes"], t.volumes);
}

}  // namespace
}  // namespace ipsec::sidecar::injector
