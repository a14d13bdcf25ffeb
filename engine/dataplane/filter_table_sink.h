#pragma once

// What a data path that classifies packets itself needs from the policy service: the policy in
// force and its compiled filter table, on every change (engine/service publishes it).

#include <memory>

#include "engine/common/result.h"
#include "engine/policy/classifier.h"
#include "engine/policy/model.h"

namespace ipsec::engine::dataplane {

class FilterTableSink {
 public:
  virtual ~FilterTableSink() = default;
  // `policy` null: none in force (everything permitted). Called from the service's thread,
  // serialized. An error: the table could not be made true in the pod (routes, nftables); the
  // service is then not ready (/readyz) until a later table is applied.
  virtual Status OnFilterTable(const policy::Policy* policy,
                               std::shared_ptr<const policy::Classifier> classifier) = 0;
};

}  // namespace ipsec::engine::dataplane
