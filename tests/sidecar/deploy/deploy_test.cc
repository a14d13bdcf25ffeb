// The Kubernetes manifests (deploy/) and the Helm chart (charts/ipsec-sidecar) agree with the
// code and with each other on the parts that matter (issue 5):
//  - every policy a ConfigMap ships is valid and compiles (the daemon would refuse it otherwise);
//  - every flag the sidecar container is given is one ipsec-sidecar accepts;
//  - the chart's sidecar template, rendered with the default values, is the webhook's template;
//  - the chart's alert rules are deploy/base's.
// Rendering the overlays with `kubectl kustomize` is tests/deploy/kustomize_test.sh's job.
#include <gtest/gtest.h>

#include <filesystem>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

#include "api/dto/policy_json.h"
#include "api/dto/text.h"
#include "engine/policy/compiler.h"
#include "engine/policy/validate.h"
#include "tests/support/lab.h"
#include "tests/support/process.h"

namespace ipsec {
namespace {

using api::dto::Json;

std::string Source(const std::string& relative) {
  std::ifstream in(std::string(IPSEC_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in.good()) << relative << " missing";
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// All YAML documents of a multi-document file, parsed.
std::vector<Json> Documents(const std::string& relative) {
  std::vector<Json> out;
  std::string text = Source(relative);
  size_t start = 0;
  while (start <= text.size()) {
    size_t sep = text.find("\n---", start);
    std::string doc =
        text.substr(start, sep == std::string::npos ? std::string::npos : sep - start);
    auto parsed = api::dto::ParseJsonOrYaml(doc);
    EXPECT_TRUE(parsed.ok()) << relative << ": " << parsed.error().ToString();
    if (parsed.ok() && !parsed->is_null()) out.push_back(*parsed);
    if (sep == std::string::npos) break;
    start = sep + 4;
  }
  return out;
}

void ExpectPolicyCompiles(const std::string& where, const std::string& yaml) {
  auto json = api::dto::ParseYaml(yaml);
  ASSERT_TRUE(json.ok()) << where << ": " << json.error().ToString();
  auto parsed = api::dto::PolicyFromJson(*json);
  ASSERT_TRUE(parsed.ok()) << where << ": " << parsed.error().ToString();
  Status valid = engine::policy::ValidatePolicy(*parsed);
  ASSERT_TRUE(valid.ok()) << where << ": " << valid.error().ToString();
  auto table = engine::policy::CompilePolicy(*parsed, engine::policy::CompileContext{});
  ASSERT_TRUE(table.ok()) << where << ": " << table.error().ToString();
}

TEST(DeployTest, EveryShippedPolicyIsValidAndCompiles) {
  int policies = 0;
  for (const char* file :
       {"deploy/base/cluster-policy.yaml", "deploy/examples/two-tier/namespace-policy.yaml",
        "deploy/examples/strongswan-gateway/namespace-policy.yaml"}) {
    for (const Json& doc : Documents(file)) {
      if (doc.value("kind", "") != "ConfigMap") continue;
      for (auto& [key, value] : doc["data"].items()) {
        if (key != "policy.yaml") continue;
        ExpectPolicyCompiles(std::string(file) + " " + key, value.get<std::string>());
        ++policies;
      }
    }
  }
  EXPECT_EQ(policies, 3);
}

// The documentation's example policies (docs/policy-model.md, the demo, the FAQ behaviours'
// integration test use them) are valid and compile.
TEST(DeployTest, EveryDocumentedExamplePolicyIsValidAndCompiles) {
  int policies = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(IPSEC_SOURCE_DIR) + "/docs/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    ExpectPolicyCompiles(entry.path().string(), Source("docs/examples/" +
                                                       entry.path().filename().string()));
    ++policies;
  }
  EXPECT_GE(policies, 5);
}

// The long options ipsec-sidecar --help lists.
std::set<std::string> SidecarFlags() {
  auto r = testing::Run({testing::SidecarBinary(), "--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> flags;
  std::regex flag("--[a-z0-9-]+");
  for (auto it = std::sregex_iterator(r.out.begin(), r.out.end(), flag);
       it != std::sregex_iterator(); ++it) {
    flags.insert(it->str());
  }
  return flags;
}

TEST(DeployTest, SidecarArgsAreFlagsTheDaemonAccepts) {
  const std::set<std::string> known = SidecarFlags();
  ASSERT_GT(known.size(), 20u);
  auto check = [&](const std::string& where, const Json& container) {
    ASSERT_TRUE(container.contains("args")) << where;
    for (const auto& arg : container["args"]) {
      std::string a = arg.get<std::string>();
      std::string name = a.substr(0, a.find('='));
      EXPECT_TRUE(known.count(name)) << where << ": ipsec-sidecar has no flag " << name;
    }
  };
  auto component = Documents("deploy/components/sidecar/sidecar-patch.yaml");
  ASSERT_EQ(component.size(), 1u);
  check("deploy/components/sidecar", component[0]["spec"]["template"]["spec"]["initContainers"][0]);
  auto tmpl = Documents("deploy/injector/sidecar-template.yaml");
  ASSERT_EQ(tmpl.size(), 1u);
  check("deploy/injector/sidecar-template.yaml", tmpl[0]["initContainer"]);
}

TEST(DeployTest, ChartSidecarTemplateWithDefaultValuesIsTheWebhooksTemplate) {
  std::string chart = Source("charts/ipsec-sidecar/files/sidecar-template.yaml");
  auto values = api::dto::ParseYaml(Source("charts/ipsec-sidecar/values.yaml"));
  ASSERT_TRUE(values.ok()) << values.error().ToString();
  // The few `{{ .Values.x.y }}` the template uses, with the chart's defaults.
  std::regex placeholder(R"(\{\{ \.Values\.([A-Za-z.]+) \}\})");
  std::string rendered;
  auto begin = std::sregex_iterator(chart.begin(), chart.end(), placeholder);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    rendered += chart.substr(last, it->position() - last);
    Json v = *values;
    std::stringstream path(it->str(1));
    for (std::string part; std::getline(path, part, '.');) v = v[part];
    rendered += v.is_string() ? v.get<std::string>() : v.dump();
    last = it->position() + it->length();
  }
  rendered += chart.substr(last);
  auto from_chart = api::dto::ParseYaml(rendered);
  ASSERT_TRUE(from_chart.ok()) << from_chart.error().ToString();
  auto deploy = Documents("deploy/injector/sidecar-template.yaml");
  ASSERT_EQ(deploy.size(), 1u);
  Json expected = deploy[0];
  // kustomize's `images:` rewrites the image; the chart names it from its values.
  expected["initContainer"]["image"] = (*values)["image"]["repository"].get<std::string>() + ":" +
                                       (*values)["image"]["tag"].get<std::string>();
  EXPECT_EQ(*from_chart, expected);
}

TEST(DeployTest, ChartAlertRulesAreTheKustomizeBasesRules) {
  auto chart = api::dto::ParseYaml(Source("charts/ipsec-sidecar/files/prometheus-rules.yaml"));
  ASSERT_TRUE(chart.ok()) << chart.error().ToString();
  auto base = Documents("deploy/base/prometheusrule.yaml");
  ASSERT_EQ(base.size(), 1u);
  EXPECT_EQ(*chart, base[0]["spec"]);
}

}  // namespace
}  // namespace ipsec
