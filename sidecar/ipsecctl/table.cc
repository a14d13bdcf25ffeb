#include "sidecar/ipsecctl/table.h"

#include <algorithm>

namespace ipsec::sidecar::ipsecctl {
namespace {

void Pad(std::ostream& out, size_t width, size_t used) {
  for (size_t i = used; i < width; ++i) out << ' ';
}

}  // namespace

size_t DisplayWidth(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;  // count lead bytes only
  }
  return width;
}

void Table::Print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size(), 0);
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = DisplayWidth(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i) {
      widths[i] = std::max(widths[i], DisplayWidth(row[i]));
    }
  }
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < headers_.size(); ++i) {
      const std::string cell = i < cells.size() ? cells[i] : "";
      line += cell;
      if (i + 1 < headers_.size()) line.append(widths[i] + 2 - DisplayWidth(cell), ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out << line << '\n';
  };
  print_row(headers_);
  for (const auto& row : rows_) print_row(row);
}

void KeyValues::Print(std::ostream& out) const {
  size_t width = 0;
  for (const auto& [key, value] : lines_) width = std::max(width, DisplayWidth(key) + 1);
  for (const auto& [key, value] : lines_) {
    out << key << ':';
    Pad(out, width + 2, DisplayWidth(key) + 1);
    out << value << '\n';
  }
}

}  // namespace ipsec::sidecar::ipsecctl
