#include "engine/ike/codec/vendor_id_payload.h"

namespace ipsec::engine::ike::codec {

Result<VendorIdPayload> DecodeVendorIdPayload(ByteSpan body) {
  return VendorIdPayload{Bytes(body.begin(), body.end())};
}

void EncodeVendorIdPayload(const VendorIdPayload& vid, ByteWriter& out) { out.WriteBytes(vid.id); }

}  // namespace ipsec::engine::ike::codec
