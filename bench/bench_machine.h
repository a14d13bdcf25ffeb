#pragma once

// What the benchmarks read about the machine and processes they run on (/proc), for their
// reports: shared by the lab benchmarks so each prints the same machine line.

#include <fstream>
#include <sstream>
#include <string>

namespace ipsec::bench {

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// /proc/loadavg without its newline.
inline std::string LoadAvg() {
  std::string l = ReadText("/proc/loadavg");
  while (!l.empty() && l.back() == '\n') l.pop_back();
  return l;
}

// The first "model name" of /proc/cpuinfo.
inline std::string CpuModel() {
  std::istringstream in(ReadText("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown";
}

}  // namespace ipsec::bench
