#pragma once

// A small client of strongSwan's VICI protocol (the control socket of charon), enough to drive
// load tests: pipelined `initiate` requests and `child-updown` / `ike-updown` events.
//
// Wire format (strongSwan's vici README):
//   transport: each packet is prefixed by a 32-bit big-endian length of what follows;
//   packet:    one type octet (CMD_REQUEST 0, CMD_RESPONSE 1, CMD_UNKNOWN 2, EVENT_REGISTER 3,
//              EVENT_UNREGISTER 4, EVENT_CONFIRM 5, EVENT_UNKNOWN 6, EVENT 7); the named types
//              (0, 3, 4, 7) follow with a name (8-bit length, then the octets); the rest is a
//              message;
//   message:   elements: SECTION_START 1 (name), SECTION_END 2, KEY_VALUE 3 (name, 16-bit
//              big-endian value length, value), LIST_START 4 (name), LIST_ITEM 5 (16-bit length,
//              value), LIST_END 6.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ipsec::bench {

enum class ViciPacketType : uint8_t {
  kCmdRequest = 0,
  kCmdResponse = 1,
  kCmdUnknown = 2,
  kEventRegister = 3,
  kEventUnregister = 4,
  kEventConfirm = 5,
  kEventUnknown = 6,
  kEvent = 7,
};
bool ViciPacketIsNamed(ViciPacketType type);

enum class ViciElement : uint8_t {
  kSectionStart = 1,
  kSectionEnd = 2,
  kKeyValue = 3,
  kListStart = 4,
  kListItem = 5,
  kListEnd = 6,
};

// Builds a message (the part after the packet type and name).
class ViciMessageBuilder {
 public:
  ViciMessageBuilder& KeyValue(const std::string& key, const std::string& value);
  ViciMessageBuilder& BeginSection(const std::string& name);
  ViciMessageBuilder& EndSection();
  ViciMessageBuilder& BeginList(const std::string& name);
  ViciMessageBuilder& ListItem(const std::string& value);
  ViciMessageBuilder& EndList();
  const std::string& bytes() const { return bytes_; }

 private:
  void Name(const std::string& name);
  void Value(const std::string& value);
  std::string bytes_;
};

// A whole transport segment: length, type, name (for named types), message.
std::string EncodeViciPacket(ViciPacketType type, const std::string& name,
                             const std::string& message = "");

// A decoded packet. `values` flattens the message's key/values as "section.sub.key" paths
// (list items as "list[]"), in order.
struct ViciPacket {
  ViciPacketType type = ViciPacketType::kCmdResponse;
  std::string name;
  std::vector<std::pair<std::string, std::string>> values;
  // The first value at `path`, if any.
  std::optional<std::string> Get(const std::string& path) const;
};

// Decodes one packet (without the 4-octet length). nullopt with `error` when malformed.
std::optional<ViciPacket> DecodeViciPacket(const std::string& packet, std::string* error);

// A blocking connection to a vici UNIX socket.
class ViciConnection {
 public:
  ViciConnection() = default;
  ~ViciConnection();
  ViciConnection(const ViciConnection&) = delete;
  ViciConnection& operator=(const ViciConnection&) = delete;

  // `uri` as swanctl takes it: unix:///path or a plain path.
  bool Connect(const std::string& uri, std::string* error);
  // Writes a whole encoded packet.
  bool Send(const std::string& encoded, std::string* error);
  // Reads the next packet; nullopt on timeout (error empty) or failure (error set).
  std::optional<ViciPacket> Receive(int timeout_ms, std::string* error);

  int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buffer_;
};

}  // namespace ipsec::bench
