#pragma once

// Small builders for prometheus::MetricFamily values produced at scrape time by the custom
// collectors of this module (no registry: the values are read fresh on every scrape).

#include <prometheus/metric_family.h>

#include <string>
#include <utility>
#include <vector>

namespace ipsec::sidecar::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

prometheus::MetricFamily GaugeFamily(std::string name, std::string help);
prometheus::MetricFamily CounterFamily(std::string name, std::string help);
// Appends one sample; the value goes to the gauge or counter slot by the family's type.
void AddSample(prometheus::MetricFamily& family, double value, const Labels& labels = {});
// A family with exactly one unlabelled sample.
prometheus::MetricFamily Gauge(std::string name, std::string help, double value);
prometheus::MetricFamily Counter(std::string name, std::string help, double value);

}  // namespace ipsec::sidecar::metrics
