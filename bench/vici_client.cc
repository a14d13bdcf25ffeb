#include "bench/vici_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ipsec::bench {
namespace {

void PutU16(std::string& out, size_t v) {
  out.push_back(static_cast<char>((v >> 8) & 0xff));
  out.push_back(static_cast<char>(v & 0xff));
}

void PutU32(std::string& out, size_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xff));
}

}  // namespace

bool ViciPacketIsNamed(ViciPacketType type) {
  return type == ViciPacketType::kCmdRequest || type == ViciPacketType::kEventRegister ||
         type == ViciPacketType::kEventUnregister || type == ViciPacketType::kEvent;
}

void ViciMessageBuilder::Name(const std::string& name) {
  bytes_.push_back(static_cast<char>(name.size() & 0xff));  // names are at most 255 octets
  bytes_.append(name, 0, 255);
}

void ViciMessageBuilder::Value(const std::string& value) {
  PutU16(bytes_, value.size());  // values are at most 65535 octets
  bytes_.append(value, 0, 65535);
}

ViciMessageBuilder& ViciMessageBuilder::KeyValue(const std::string& key, const std::string& value) {
  bytes_.push_back(static_cast<char>(ViciElement::kKeyValue));
  Name(key);
  Value(value);
  return *this;
}

ViciMessageBuilder& ViciMessageBuilder::BeginSection(const std::string& name) {
  bytes_.push_back(static_cast<char>(ViciElement::kSectionStart));
  Name(name);
  return *this;
}

ViciMessageBuilder& ViciMessageBuilder::EndSection() {
  bytes_.push_back(static_cast<char>(ViciElement::kSectionEnd));
  return *this;
}

ViciMessageBuilder& ViciMessageBuilder::BeginList(const std::string& name) {
  bytes_.push_back(static_cast<char>(ViciElement::kListStart));
  Name(name);
  return *this;
}

ViciMessageBuilder& ViciMessageBuilder::ListItem(const std::string& value) {
  bytes_.push_back(static_cast<char>(ViciElement::kListItem));
  Value(value);
  return *this;
}

ViciMessageBuilder& ViciMessageBuilder::EndList() {
  bytes_.push_back(static_cast<char>(ViciElement::kListEnd));
  return *this;
}

std::string EncodeViciPacket(ViciPacketType type, const std::string& name,
                             const std::string& message) {
  std::string body;
  body.push_back(static_cast<char>(type));
  if (ViciPacketIsNamed(type)) {
    body.push_back(static_cast<char>(name.size() & 0xff));
    body.append(name, 0, 255);
  }
  body += message;
  std::string out;
  PutU32(out, body.size());
  return out + body;
}

std::optional<std::string> ViciPacket::Get(const std::string& path) const {
  for (const auto& [k, v] : values) {
    if (k == path) return v;
  }
  return std::nullopt;
}

std::optional<ViciPacket> DecodeViciPacket(const std::string& packet, std::string* error) {
  size_t pos = 0;
  auto fail = [&](const std::string& what) -> std::optional<ViciPacket> {
    *error = what + " at offset " + std::to_string(pos);
    return std::nullopt;
  };
  auto name = [&](std::string* out) {
    if (pos >= packet.size()) return false;
    size_t len = static_cast<uint8_t>(packet[pos++]);
    if (packet.size() - pos < len) return false;
    *out = packet.substr(pos, len);
    pos += len;
    return true;
  };
  auto value = [&](std::string* out) {
    if (packet.size() - pos < 2) return false;
    size_t len = (static_cast<size_t>(static_cast<uint8_t>(packet[pos])) << 8) |
                 static_cast<uint8_t>(packet[pos + 1]);
    pos += 2;
    if (packet.size() - pos < len) return false;
    *out = packet.substr(pos, len);
    pos += len;
    return true;
  };
  if (packet.empty()) return fail("empty packet");
  ViciPacket p;
  uint8_t type = static_cast<uint8_t>(packet[pos++]);
  if (type > static_cast<uint8_t>(ViciPacketType::kEvent)) return fail("unknown packet type");
  p.type = static_cast<ViciPacketType>(type);
  if (ViciPacketIsNamed(p.type) && !name(&p.name)) return fail("truncated packet name");
  std::vector<std::string> path;  // open sections and lists
  auto prefix = [&]() {
    std::string s;
    for (const auto& part : path) s += part + ".";
    return s;
  };
  bool in_list = false;
  while (pos < packet.size()) {
    uint8_t element = static_cast<uint8_t>(packet[pos++]);
    std::string key, val;
    switch (static_cast<ViciElement>(element)) {
      case ViciElement::kSectionStart:
        if (in_list) return fail("section inside a list");
        if (!name(&key)) return fail("truncated section name");
        path.push_back(key);
        break;
      case ViciElement::kSectionEnd:
        if (in_list || path.empty()) return fail("unbalanced section end");
        path.pop_back();
        break;
      case ViciElement::kKeyValue:
        if (in_list) return fail("key/value inside a list");
        if (!name(&key) || !value(&val)) return fail("truncated key/value");
        p.values.emplace_back(prefix() + key, val);
        break;
      case ViciElement::kListStart:
        if (in_list) return fail("nested list");
        if (!name(&key)) return fail("truncated list name");
        path.push_back(key + "[]");
        in_list = true;
        break;
      case ViciElement::kListItem:
        if (!in_list) return fail("list item outside a list");
        if (!value(&val)) return fail("truncated list item");
        {
          std::string full = prefix();
          full.pop_back();  // the list's own path, without the trailing '.'
          p.values.emplace_back(full, val);
        }
        break;
      case ViciElement::kListEnd:
        if (!in_list) return fail("unbalanced list end");
        path.pop_back();
        in_list = false;
        break;
      default:
        --pos;
        return fail("unknown element type " + std::to_string(element));
    }
  }
  if (!path.empty()) return fail("unterminated section or list");
  return p;
}

ViciConnection::~ViciConnection() {
  if (fd_ >= 0) close(fd_);
}

bool ViciConnection::Connect(const std::string& uri, std::string* error) {
  std::string path = uri;
  if (path.rfind("unix://", 0) == 0) path = path.substr(7);
  sockaddr_un addr{};
  if (path.size() >= sizeof(addr.sun_path)) {
    *error = "vici socket path too long: " + path;
    return false;
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0 || connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    *error = "connect " + path + ": " + std::strerror(errno);
    return false;
  }
  return true;
}

bool ViciConnection::Send(const std::string& encoded, std::string* error) {
  size_t done = 0;
  while (done < encoded.size()) {
    ssize_t n = send(fd_, encoded.data() + done, encoded.size() - done, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      *error = std::string("vici send: ") + std::strerror(errno);
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

std::optional<ViciPacket> ViciConnection::Receive(int timeout_ms, std::string* error) {
  error->clear();
  for (;;) {
    if (buffer_.size() >= 4) {
      size_t len = (static_cast<size_t>(static_cast<uint8_t>(buffer_[0])) << 24) |
                   (static_cast<size_t>(static_cast<uint8_t>(buffer_[1])) << 16) |
                   (static_cast<size_t>(static_cast<uint8_t>(buffer_[2])) << 8) |
                   static_cast<uint8_t>(buffer_[3]);
      if (buffer_.size() >= 4 + len) {
        std::string packet = buffer_.substr(4, len);
        buffer_.erase(0, 4 + len);
        return DecodeViciPacket(packet, error);
      }
    }
    pollfd pfd{fd_, POLLIN, 0};
    int r = poll(&pfd, 1, timeout_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) {
      *error = std::string("vici poll: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (r == 0) return std::nullopt;  // timeout
    char buf[65536];
    ssize_t n = recv(fd_, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      *error =
          n == 0 ? "vici: connection closed" : std::string("vici recv: ") + std::strerror(errno);
      return std::nullopt;
    }
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace ipsec::bench
