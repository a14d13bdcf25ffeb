#pragma once

// Messages as tasks see them: decoded, decrypted and checked against the payload rules by the
// task manager (inbound), or a list of payloads the task manager encodes and protects
// (outbound). Tasks never touch bytes on the wire.

#include <vector>

#include "engine/common/bytes.h"
#include "engine/common/endpoint.h"
#include "engine/ike/codec/header.h"
#include "engine/ike/codec/payload.h"

namespace ipsec::engine::ike {

struct InMessage {
  codec::Header header;
  std::vector<codec::PayloadEntry> payloads;  // plaintext ones, then the decrypted inner ones
  ByteSpan raw;  // the datagram as received; valid only during Process()
  Endpoint local;
  Endpoint remote;

  template <typename T>
  const T* Find(codec::PayloadType type) const {
    return codec::FindPayload<T>(payloads, type);
  }
  template <typename T>
  std::vector<const T*> FindAll(codec::PayloadType type) const {
    std::vector<const T*> out;
    for (const auto& e : payloads) {
      if (e.type != type) continue;
      if (const T* p = std::get_if<T>(&e.payload)) out.push_back(p);
    }
    return out;
  }
  const codec::NotifyPayload* Notify(codec::NotifyType type) const {
    return codec::FindNotify(payloads, type);
  }
  const codec::NotifyPayload* ErrorNotify() const { return codec::FindErrorNotify(payloads); }
};

struct OutMessage {
  codec::ExchangeType exchange = codec::ExchangeType::kInformational;
  bool response = false;
  std::vector<codec::PayloadEntry> payloads;  // all inside SK except in IKE_SA_INIT

  template <typename T>
  void Add(codec::PayloadType type, T payload) {
    payloads.push_back(codec::PayloadEntry{type, false, codec::Payload(std::move(payload))});
  }
  void AddNotify(codec::NotifyType type, Bytes data = {},
                 codec::ProtocolId protocol = codec::ProtocolId::kNone, Bytes spi = {}) {
    codec::NotifyPayload n;
    n.protocol = protocol;
    n.spi = std::move(spi);
    n.type = type;
    n.data = std::move(data);
    Add(codec::PayloadType::kNotify, std::move(n));
  }
  // An error response carrying only this notification (RFC 7296 §2.21).
  void ReplaceWithError(codec::NotifyType type, Bytes data = {}) {
    payloads.clear();
    AddNotify(type, std::move(data));
  }
};

}  // namespace ipsec::engine::ike
