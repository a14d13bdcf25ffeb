// api/openapi.yaml against the router: every route the router serves is documented and every
// documented route is served, with plausible parameters and response codes; every $ref
// resolves; and a live GET of each route answers with a documented code.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <functional>
#include <map>
#include <set>

#include "api/dto/field_names.h"
#include "api/handlers/router.h"
#include "tests/api/handlers/sample_policies.h"
#include "tests/support/api_harness.h"

namespace ipsec::testing {
namespace {

constexpr const char* kMethods[] = {"get", "put", "post", "delete", "patch", "head", "options"};

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    doc_ = YAML::LoadFile(std::string(IPSEC_SOURCE_DIR) + "/api/openapi.yaml");
    for (const auto& route : api_.router().Routes()) {
      served_[route.method + " " + route.path_template] = route;
    }
  }

  // "#/components/parameters/X" -> the node.
  YAML::Node Resolve(const YAML::Node& node) const {
    if (!node.IsMap() || !node["$ref"]) return node;
    std::string ref = node["$ref"].as<std::string>();
    if (ref.rfind("#/", 0) != 0) return YAML::Node();
    YAML::Node cur = YAML::Clone(doc_);
    size_t start = 2;
    while (start <= ref.size()) {
      size_t end = ref.find('/', start);
      if (end == std::string::npos) end = ref.size();
      std::string key = ref.substr(start, end - start);
      if (!cur.IsMap() || !cur[key]) return YAML::Node();
      cur = cur[key];
      start = end + 1;
    }
    return cur;
  }

  struct Operation {
    std::string key;  // "GET /v1/policies"
    std::string method;
    std::string path;
    YAML::Node path_item;
    YAML::Node op;
  };

  std::vector<Operation> Operations() const {
    std::vector<Operation> out;
    for (const auto& path : doc_["paths"]) {
      for (const char* m : kMethods) {
        if (!path.second[m]) continue;
        std::string p = path.first.as<std::string>();
        out.push_back(Operation{Upper(m) + " " + p, Upper(m), p, path.second, path.second[m]});
      }
    }
    return out;
  }

  // Parameters of an operation (path-item level and operation level), refs resolved.
  std::vector<YAML::Node> Parameters(const Operation& o) const {
    std::vector<YAML::Node> out;
    for (const YAML::Node* holder : {&o.path_item, &o.op}) {
      if (!(*holder)["parameters"]) continue;
      for (const auto& p : (*holder)["parameters"]) out.push_back(Resolve(p));
    }
    return out;
  }

  std::set<std::string> ParamNames(const Operation& o, const std::string& in) const {
    std::set<std::string> out;
    for (const auto& p : Parameters(o)) {
      if (p["in"] && p["in"].as<std::string>() == in) out.insert(p["name"].as<std::string>());
    }
    return out;
  }

  std::set<int> Codes(const Operation& o) const {
    std::set<int> out;
    for (const auto& r : o.op["responses"]) out.insert(std::stoi(r.first.as<std::string>()));
    return out;
  }

  YAML::Node doc_;
  ApiHarness api_;
  std::map<std::string, api::handlers::RouteInfo> served_;
};

TEST_F(OpenApiTest, DocumentAndRouterAgreeOnRoutes) {
  ASSERT_TRUE(doc_["openapi"]);
  EXPECT_EQ(doc_["openapi"].as<std::string>().substr(0, 2), "3.");
  std::set<std::string> documented;
  for (const auto& o : Operations()) documented.insert(o.key);
  for (const auto& [key, route] : served_) {
    EXPECT_TRUE(documented.count(key)) << key << " is served but not in api/openapi.yaml";
  }
  for (const auto& key : documented) {
    EXPECT_TRUE(served_.count(key)) << key << " is in api/openapi.yaml but not served";
  }
}

TEST_F(OpenApiTest, ParametersMatchTheRouter) {
  std::set<std::string> ids;
  for (const auto& o : Operations()) {
    SCOPED_TRACE(o.key);
    ASSERT_TRUE(o.op["operationId"]);
    EXPECT_TRUE(ids.insert(o.op["operationId"].as<std::string>()).second) << "duplicate id";
    EXPECT_TRUE(o.op["summary"]);
    std::set<std::string> template_params;
    for (size_t open = o.path.find('{'); open != std::string::npos;
         open = o.path.find('{', open + 1)) {
      size_t close = o.path.find('}', open);
      ASSERT_NE(close, std::string::npos);
      template_params.insert(o.path.substr(open + 1, close - open - 1));
    }
    EXPECT_EQ(ParamNames(o, "path"), template_params);
    for (const auto& p : Parameters(o)) {
      if (p["in"].as<std::string>() == "path") {
        EXPECT_TRUE(p["required"].as<bool>());
      }
    }
    auto served = served_.find(o.key);
    if (served == served_.end()) continue;
    std::set<std::string> query(served->second.query_params.begin(),
                                served->second.query_params.end());
    EXPECT_EQ(ParamNames(o, "query"), query);
  }
}

TEST_F(OpenApiTest, ResponseCodesArePlausible) {
  const std::set<int> allowed = {200, 201, 202, 204, 400, 401, 404,
                                 409, 412, 413, 415, 500, 501, 503};
  for (const auto& o : Operations()) {
    SCOPED_TRACE(o.key);
    std::set<int> codes = Codes(o);
    for (int c : codes) EXPECT_TRUE(allowed.count(c)) << c;
    EXPECT_TRUE(codes.count(200) || codes.count(201) || codes.count(202) || codes.count(204));
    // An action on a resource (POST .../rekey): no body, 202 while it runs.
    const bool action = o.method == "POST" && o.path.ends_with("/rekey");
    const bool is_public = o.path == "/healthz" || o.path == "/readyz";
    EXPECT_EQ(codes.count(401), is_public ? 0u : 1u);
    if (is_public) {
      EXPECT_TRUE(o.op["security"] && o.op["security"].size() == 0);
    }
    const bool body = (o.method == "POST" || o.method == "PUT") && !action;
    EXPECT_EQ(static_cast<bool>(o.op["requestBody"]), body);
    if (body) {
      for (int c : {400, 413, 415}) EXPECT_TRUE(codes.count(c)) << c;
      YAML::Node rb = Resolve(o.op["requestBody"]);
      EXPECT_TRUE(rb["content"]["application/json"]);
      const bool policy_body = o.path.rfind("/v1/policies", 0) == 0;
      EXPECT_EQ(static_cast<bool>(rb["content"]["application/yaml"]), policy_body);
    }
    const bool has_path_params = o.path.find('{') != std::string::npos;
    if (has_path_params && (o.method == "GET" || o.method == "DELETE")) {
      EXPECT_TRUE(codes.count(404));
    }
    if (o.path.rfind("/v1/policies/{name}/", 0) == 0) {
      EXPECT_TRUE(codes.count(404));
    }
    if (o.method == "POST") {
      EXPECT_TRUE(codes.count(o.path == "/v1/match" ? 200 : action ? 202 : 201));
    }
    if (o.method == "DELETE") {
      const bool returns_body = o.path == "/v1/policies" || o.path == "/v1/assignment";
      EXPECT_TRUE(codes.count(returns_body ? 200 : 204));
    }
    const bool policy_write = o.method != "GET" && o.path.rfind("/v1/policies/{name}", 0) == 0;
    if (policy_write) {
      EXPECT_TRUE(codes.count(412));
      EXPECT_TRUE(codes.count(503));
      EXPECT_TRUE(ParamNames(o, "header").count("If-Match"));
    }
    const bool item_put = o.method == "PUT" && o.path.rfind("/v1/policies/{name}", 0) == 0 &&
                          o.path.find("default-response-rule") == std::string::npos;
    if (item_put) {
      EXPECT_TRUE(codes.count(200));
      EXPECT_TRUE(codes.count(201));
    }
    for (const char* in_use : {"/v1/policies/{name}", "/v1/policies/{name}/filter-lists/{list}",
                               "/v1/policies/{name}/filter-actions/{action}"}) {
      if (o.method == "DELETE" && o.path == in_use) {
        EXPECT_TRUE(codes.count(409));
      }
    }
    for (const auto& r : o.op["responses"]) EXPECT_TRUE(Resolve(r.second)["description"]);
  }
}

// Errors repeat a key of a request body only when it is one of the API's field names
// (api/dto/field_names.h; docs/api.md, "Errors"): that list and the properties of every
// documented request body are the same set, so a new field cannot be missed in either.
TEST_F(OpenApiTest, RequestBodyFieldsAreTheApiFieldNames) {
  std::set<std::string> documented;
  std::set<std::string> seen_refs;
  std::function<void(const YAML::Node&)> collect = [&](const YAML::Node& raw) {
    if (!raw.IsMap()) return;
    if (raw["$ref"]) {
      if (!seen_refs.insert(raw["$ref"].as<std::string>()).second) return;
      return collect(Resolve(raw));
    }
    if (raw["properties"]) {
      for (const auto& prop : raw["properties"]) {
        documented.insert(prop.first.as<std::string>());
        collect(prop.second);
      }
    }
    if (raw["items"]) collect(raw["items"]);
    for (const char* any : {"oneOf", "anyOf", "allOf"}) {
      if (!raw[any]) continue;
      for (const auto& alt : raw[any]) collect(alt);
    }
  };
  for (const auto& o : Operations()) {
    if (!o.op["requestBody"]) continue;
    YAML::Node body = Resolve(o.op["requestBody"]);
    ASSERT_TRUE(body["content"]) << o.key;
    for (const auto& media : body["content"]) collect(media.second["schema"]);
  }
  ASSERT_FALSE(documented.empty());
  for (const auto& name : documented) {
    EXPECT_TRUE(api::dto::IsFieldName(name))
        << "'" << name << "' is a request field in api/openapi.yaml but not in field_names.cc";
  }
  for (const auto& name : api::dto::FieldNames()) {
    EXPECT_TRUE(documented.count(std::string(name)))
        << "'" << name << "' is in field_names.cc but no request body in api/openapi.yaml has it";
  }
}

TEST_F(OpenApiTest, EveryRefResolves) {
  std::function<void(const YAML::Node&)> walk = [&](const YAML::Node& n) {
    if (n.IsMap()) {
      if (n["$ref"]) {
        EXPECT_TRUE(Resolve(n).IsDefined() && !Resolve(n).IsNull()) << n["$ref"].as<std::string>();
      }
      for (const auto& kv : n) walk(kv.second);
    } else if (n.IsSequence()) {
      for (const auto& item : n) walk(item);
    }
  };
  walk(doc_);
}

// Each GET route, called for real, answers with a documented code.
TEST_F(OpenApiTest, LiveGetsAnswerWithDocumentedCodes) {
  ASSERT_EQ(Code(api_.Post("/v1/policies", WebPolicy())), 201);
  const std::map<std::string, std::string> values = {{"{name}", "web"},
                                                     {"{rule}", "db"},
                                                     {"{list}", "to-db"},
                                                     {"{action}", "require"},
                                                     {"{template}", "respond-only"},
                                                     {"{id}", "none"}};
  for (const auto& o : Operations()) {
    if (o.method != "GET") continue;
    SCOPED_TRACE(o.key);
    std::string target = o.path;
    for (const auto& [param, value] : values) {
      for (size_t at; (at = target.find(param)) != std::string::npos;) {
        target.replace(at, param.size(), value);
      }
    }
    int code = Code(api_.Get(target));
    EXPECT_TRUE(Codes(o).count(code)) << target << " answered " << code;
  }
}

}  // namespace
}  // namespace ipsec::testing
