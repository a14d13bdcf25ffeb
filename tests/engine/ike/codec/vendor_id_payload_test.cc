#include "engine/ike/codec/vendor_id_payload.h"

#include <gtest/gtest.h>

#include "tests/engine/ike/codec/codec_test_util.h"

namespace ipsec::engine::ike::codec {
namespace {

TEST(VendorIdPayloadTest, RoundTripIncludingEmpty) {
  for (const Bytes& id : {Bytes{}, testing::Hex("882fe56d6fd20dbc2251613b2ebe5beb")}) {
    const VendorIdPayload vid{id};
    const Bytes bytes = testing::EncodeWith(vid, EncodeVendorIdPayload);
    EXPECT_EQ(bytes, id);
    Result<VendorIdPayload> decoded = DecodeVendorIdPayload(bytes);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded.value(), vid);
  }
}

}  // namespace
}  // namespace ipsec::engine::ike::codec
