#pragma once

// Aligned text tables for people, in the manner of `netsh ipsec dynamic show` and `swanctl
// --list-*`: an upper-case header row, columns padded with two spaces, no borders. The last
// column is not padded, so lines carry no trailing blanks.

#include <ostream>
#include <string>
#include <utility>
#include <vector>

namespace ipsec::sidecar::ipsecctl {

class Table {
 public:
  explicit Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

  // A row with fewer cells than headers is padded with empty cells.
  void AddRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }

  void Print(std::ostream& out) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<std::string>> rows_;
};

// "Key:  value" lines with the values aligned.
class KeyValues {
 public:
  void Add(std::string key, std::string value) {
    lines_.emplace_back(std::move(key), std::move(value));
  }
  void Print(std::ostream& out) const;

 private:
  std::vector<std::pair<std::string, std::string>> lines_;
};

// Display width of UTF-8 text (code points; no East Asian width rules).
size_t DisplayWidth(const std::string& text);

}  // namespace ipsec::sidecar::ipsecctl
