#include "engine/crypto/key_exchange.h"

#include <gtest/gtest.h>

#include "tests/engine/crypto/test_hex.h"

namespace ipsec::engine::crypto {
namespace {

using testing::Hex;
using testing::Repeat;
using testing::SecretHex;

constexpr Group kAllGroups[] = {Group::kModp1024,  Group::kModp2048, Group::kModp3072,
                                Group::kEcp256,    Group::kEcp384,   Group::kEcp521,
                                Group::kCurve25519};

std::unique_ptr<KeyExchange> FromPrivate(Group group, const Bytes& priv) {
  Result<std::unique_ptr<KeyExchange>> ke = KeyExchange::FromPrivateForTest(group, priv);
  EXPECT_TRUE(ke.ok()) << ke.error().ToString();
  return ke.ok() ? std::move(ke).value() : nullptr;
}

struct Vector {
  const char* source;
  Group group;
  Bytes private_i, public_i, private_r, public_r, shared;
};

std::vector<Vector> Vectors() {
  return {
      {"RFC 7748 §6.1", Group::kCurve25519,
       Hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a"),
       Hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
       Hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb"),
       Hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
       Hex("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")},
      {"RFC 8031 Appendix A", Group::kCurve25519,
       Hex("751fb4308655b476b6789b7325f9ea8cddd16a58533ff6d9e60009464a5f9d94"),
       Hex("48d5ddd4061257ba166fa3f9bbdb74f1a4e81c089384fa77f790709f0dfbc766"),
       Hex("0a54645253290d60ddadd0e030bacd9e5501efdc220755a1e978f1b839a05688"),
       Hex("0be7c1f5aad87d7e448662673298a443478b859745179eaf564c79c0ef6eee25"),
       Hex("c74950607a12327f3204d94b6825bfb068b7f8319a9e3708ed3d43ce8130c950")},
      {"RFC 5903 §8.1", Group::kEcp256,
       Hex("C88F01F5 10D9AC3F 70A292DA A2316DE5 44E9AAB8 AFE84049 C62A9C57 862D1433"),
       Hex("DAD0B653 94221CF9 B051E1FE CA5787D0 98DFE637 FC90B9EF 945D0C37 72581180"
           "5271A046 1CDB8252 D61F1C45 6FA3E59A B1F45B33 ACCF5F58 389E0577 B8990BB3"),
       Hex("C6EF9C5D 78AE012A 011164AC B397CE20 88685D8F 06BF9BE0 B283AB46 476BEE53"),
       Hex("D12DFB52 89C8D4F8 1208B702 70398C34 2296970A 0BCCB74C 736FC755 4494BF63"
           "56FBF3CA 366CC23E 8157854C 13C58D6A AC23F046 ADA30F83 53E74F33 039872AB"),
       Hex("D6840F6B 42F6EDAF D13116E0 E1256520 2FEF8E9E CE7DCE03 812464D0 4B9442DE")},
      {"RFC 5903 §8.2", Group::kEcp384,
       Hex("099F3C70 34D4A2C6 99884D73 A375A67F 7624EF7C 6B3C0F16 0647B674 14DCE655"
           "E35B5380 41E649EE 3FAEF896 783AB194"),
       Hex("667842D7 D180AC2C DE6F74F3 7551F557 55C7645C 20EF73E3 1634FE72 B4C55EE6"
           "DE3AC808 ACB4BDB4 C88732AE E95F41AA"
           "9482ED1F C0EEB9CA FC498462 5CCFC23F 65032149 E0E144AD A0241815 35A0F38E"
           "EB9FCFF3 C2C947DA E69B4C63 4573A81C"),
       Hex("41CB0779 B4BDB85D 47846725 FBEC3C94 30FAB46C C8DC5060 855CC9BD A0AA2942"
           "E0308312 916B8ED2 960E4BD5 5A7448FC"),
       Hex("E558DBEF 53EECDE3 D3FCCFC1 AEA08A89 A987475D 12FD950D 83CFA417 32BC509D"
           "0D1AC43A 0336DEF9 6FDA41D0 774A3571"
           "DCFBEC7A ACF31964 72169E83 8430367F 66EEBE3C 6E70C416 DD5F0C68 759DD1FF"
           "F83FA401 42209DFF 5EAAD96D B9E6386C"),
       Hex("11187331 C279962D 93D60424 3FD592CB 9D0A926F 422E4718 7521287E 7156C5C4"
           "D6031355 69B9E9D0 9CF5D4A2 70F59746")},
      {"RFC 5903 §8.3", Group::kEcp521,
       Hex("0037ADE9 319A89F4 DABDB3EF 411AACCC A5123C61 ACAB57B5 393DCE47 608172A0"
           "95AA85A3 0FE1C295 2C6771D9 37BA9777 F5957B26 39BAB072 462F68C2 7A57382D 4A52"),
       Hex("0015417E 84DBF28C 0AD3C278 713349DC 7DF153C8 97A1891B D98BAB43 57C9ECBE"
           "E1E3BF42 E00B8E38 0AEAE57C 2D107564 94188594 2AF5A7F4 601723C4 195D176C ED3E"
           "017CAE20 B6641D2E EB695786 D8C94614 6239D099 E18E1D5A 514C739D 7CB4A10A"
           "D8A78801 5AC405D7 799DC75E 7B7D5B6C F2261A6A 7F150743 8BF01BEB 6CA3926F 9582"),
       Hex("0145BA99 A847AF43 793FDD0E 872E7CDF A16BE30F DC780F97 BCCC3F07 8380201E"
           "9C677D60 0B343757 A3BDBF2A 3163E4C2 F869CCA7 458AA4A4 EFFC311F 5CB15168 5EB9"),
       Hex("00D0B397 5AC4B799 F5BEA16D 5E13E9AF 971D5E9B 984C9F39 728B5E57 39735A21"
           "9B97C356 436ADC6E 95BB0352 F6BE64A6 C2912D4E F2D0433C ED2B6171 640012D9 460F"
           "015C6822 6383956E 3BD066E7 97B623C2 7CE0EAC2 F551A10C 2C724D98 52077B87"
           "220B6536 C5C408A1 D2AEBB8E 86D678AE 49CB5709 1F473229 6579AB44 FCD17F0F C56A"),
       Hex("01144C7D 79AE6956 BC8EDB8E 7C787C45 21CB086F A64407F9 7894E5E6 B2D79B04"
           "D1427E73 CA4BAA24 0A347868 59810C06 B3C715A3 A8CC3151 F2BEE417 996D19F3 DDEA")},
  };
}

TEST(KeyExchangeTest, GroupTable) {
  EXPECT_EQ(PublicValueSize(Group::kModp1024), 128u);
  EXPECT_EQ(PublicValueSize(Group::kModp2048), 256u);
  EXPECT_EQ(PublicValueSize(Group::kModp3072), 384u);
  EXPECT_EQ(PublicValueSize(Group::kEcp256), 64u);
  EXPECT_EQ(PublicValueSize(Group::kEcp384), 96u);
  EXPECT_EQ(PublicValueSize(Group::kEcp521), 132u);
  EXPECT_EQ(PublicValueSize(Group::kCurve25519), 32u);
  EXPECT_EQ(SharedSecretSize(Group::kEcp521), 66u);
  EXPECT_EQ(SharedSecretSize(Group::kModp2048), 256u);
  EXPECT_TRUE(IsSupportedGroup(31));
  EXPECT_TRUE(IsSupportedGroup(2));
  EXPECT_FALSE(IsSupportedGroup(5));
  EXPECT_FALSE(IsSupportedGroup(0));
  EXPECT_TRUE(IsLegacy(Group::kModp1024));
  EXPECT_FALSE(IsLegacy(Group::kModp2048));
  EXPECT_STREQ(GroupName(Group::kEcp384), "ECP-384");
}

TEST(KeyExchangeTest, KnownAnswers) {
  for (const Vector& v : Vectors()) {
    std::unique_ptr<KeyExchange> i = FromPrivate(v.group, v.private_i);
    std::unique_ptr<KeyExchange> r = FromPrivate(v.group, v.private_r);
    ASSERT_TRUE(i && r) << v.source;
    EXPECT_EQ(ToHex(i->PublicValue()), ToHex(v.public_i)) << v.source;
    EXPECT_EQ(ToHex(r->PublicValue()), ToHex(v.public_r)) << v.source;
    Result<SecretBytes> shared_i = i->ComputeShared(v.public_r);
    Result<SecretBytes> shared_r = r->ComputeShared(v.public_i);
    ASSERT_TRUE(shared_i.ok()) << v.source << ": " << shared_i.error().ToString();
    ASSERT_TRUE(shared_r.ok()) << v.source << ": " << shared_r.error().ToString();
    EXPECT_EQ(SecretHex(*shared_i), ToHex(v.shared)) << v.source;
    EXPECT_EQ(SecretHex(*shared_r), ToHex(v.shared)) << v.source;
  }
}

TEST(KeyExchangeTest, EveryGroupAgreesAndEncodesAtFullWidth) {
  for (Group group : kAllGroups) {
    Result<std::unique_ptr<KeyExchange>> a = KeyExchange::Generate(group);
    Result<std::unique_ptr<KeyExchange>> b = KeyExchange::Generate(group);
    ASSERT_TRUE(a.ok() && b.ok()) << GroupName(group);
    EXPECT_EQ((*a)->group(), group);
    EXPECT_EQ((*a)->PublicValue().size(), PublicValueSize(group)) << GroupName(group);
    EXPECT_NE((*a)->PublicValue(), (*b)->PublicValue());
    Result<SecretBytes> ab = (*a)->ComputeShared((*b)->PublicValue());
    Result<SecretBytes> ba = (*b)->ComputeShared((*a)->PublicValue());
    ASSERT_TRUE(ab.ok()) << GroupName(group) << ": " << ab.error().ToString();
    ASSERT_TRUE(ba.ok()) << GroupName(group) << ": " << ba.error().ToString();
    EXPECT_EQ(*ab, *ba) << GroupName(group);
    EXPECT_EQ(ab->size(), SharedSecretSize(group)) << GroupName(group);
  }
}

TEST(KeyExchangeTest, ModpSecretsKeepLeadingZeros) {
  // RFC 7296 §2.14: g^ir is padded with zeros to the prime's length. Exponents chosen so that
  // the secret starts with a zero byte; the values were computed with Python's pow().
  Bytes x(128, 0);
  x[126] = 0x12;
  x[127] = 0x0d;
  std::unique_ptr<KeyExchange> ke = FromPrivate(Group::kModp1024, x);
  ASSERT_TRUE(ke);
  EXPECT_EQ(ToHex(ke->PublicValue()),
            "458b808282be5e353ccfddfeaa32e8fe08fd44497f9e3b28d7c65483e8fded56fc721d22314b9e7c"
            "5cf2698a0218745d73b06ee2ad040d2f4b73c30bbd8f1b7ad63ea86b20968ab19e49cac203538447"
            "729bf6a3b719b2043144c74829f0549fc3867941d57b265354f5e0200bf98a3da88bc75513bcddab"
            "ebfb6eedb8fe17a3");
  Result<SecretBytes> s = ke->ComputeShared(
      Hex("39f9d522d4d35d0235b6fac98b57235cef28b2fb8674469f05b24162e8852efc32fbab3d93aefd6620e6b5e0"
          "72fccfec59587917efcbf9899a0e2ae9e644661ca0f8da1112cbbd9629e3f89215373eb1586a5a8a1f948e"
          "43b85558b265edb6efcd7f48f3a6502af21a7eafcd2289498f2804000ec89333b6883e116ff13c91e0"));
  ASSERT_TRUE(s.ok()) << s.error().ToString();
  EXPECT_EQ(SecretHex(*s),
            "00e29fbdb750bdf5933a38e016e366829128ea8017925b19e38e70834b7b1d5d694b7240c1b300cd"
            "2d231ec8e44ca5c23e7224965829e6f6b4f1a2fc46bc9133c8c190b006c471b0ef3e83cfa484fc62"
            "f400c86d390baa6c3ac6bb7a31f8125d262120cb6b2588a1336411d9951e324f1f18c81549f2d60e"
            "a799c692854b7e4f");
}

void ExpectRejected(const KeyExchange& ke, const Bytes& peer, const char* check, const char* what) {
  Result<SecretBytes> s = ke.ComputeShared(peer);
  ASSERT_FALSE(s.ok()) << GroupName(ke.group()) << " accepted " << what;
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument) << what;
  EXPECT_NE(s.error().message.find(check), std::string::npos) << what << ": " << s.error().message;
}

TEST(KeyExchangeTest, RejectsPeerValuesOfTheWrongLength) {
  for (Group group : kAllGroups) {
    Result<std::unique_ptr<KeyExchange>> ke = KeyExchange::Generate(group);
    ASSERT_TRUE(ke.ok());
    const Bytes& own = (*ke)->PublicValue();
    ExpectRejected(**ke, {}, "length 0", "empty");
    ExpectRejected(**ke, Bytes(own.begin(), own.end() - 1), "length", "short");
    Bytes tagged = own;
    tagged.insert(tagged.begin(), 0x04);  // SEC 1 form: not IKEv2's (RFC 5903 §7)
    ExpectRejected(**ke, tagged, "length", "0x04-prefixed");
  }
}

TEST(KeyExchangeTest, RejectsModpValuesOutOfRange) {
  // RFC 7296 §2.12, RFC 6989 §2.1: 1 < y < p-1.
  const Bytes p_minus_1 =
      Hex("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A0879"
          "8E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B"
          "0BFF5CB6F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFE");
  Bytes p = p_minus_1;
  p[127] = 0xff;
  Bytes one(128, 0);
  one[127] = 1;
  Bytes two(128, 0);
  two[127] = 2;
  Result<std::unique_ptr<KeyExchange>> ke = KeyExchange::Generate(Group::kModp1024);
  ASSERT_TRUE(ke.ok());
  ExpectRejected(**ke, Bytes(128, 0), "1 < y < p-1", "0");
  ExpectRejected(**ke, one, "1 < y < p-1", "1");
  ExpectRejected(**ke, p_minus_1, "1 < y < p-1", "p-1");
  ExpectRejected(**ke, p, "1 < y < p-1", "p");
  ExpectRejected(**ke, Bytes(128, 0xff), "1 < y < p-1", "2^1024-1");
  EXPECT_TRUE((*ke)->ComputeShared(two).ok());  // 2 is the generator: a valid value
  Result<std::unique_ptr<KeyExchange>> ke2048 = KeyExchange::Generate(Group::kModp2048);
  ASSERT_TRUE(ke2048.ok());
  ExpectRejected(**ke2048, Bytes(256, 0), "1 < y < p-1", "0");
  ExpectRejected(**ke2048, Bytes(256, 0xff), "1 < y < p-1", "2^2048-1");
}

TEST(KeyExchangeTest, RejectsPointsOffTheCurve) {
  for (Group group : {Group::kEcp256, Group::kEcp384, Group::kEcp521}) {
    Result<std::unique_ptr<KeyExchange>> ke = KeyExchange::Generate(group);
    Result<std::unique_ptr<KeyExchange>> peer = KeyExchange::Generate(group);
    ASSERT_TRUE(ke.ok() && peer.ok());
    Bytes off = (*peer)->PublicValue();
    off[off.size() - 1] ^= 1;  // y changed: (x, y) no longer satisfies the curve equation
    ExpectRejected(**ke, off, "not a point on the curve", "y flipped");
    ExpectRejected(**ke, Bytes(PublicValueSize(group), 0), "not a point on the curve", "(0,0)");
    ExpectRejected(**ke, Bytes(PublicValueSize(group), 0xff), "not a point on the curve",
                   "coordinates >= p");
  }
}

TEST(KeyExchangeTest, RejectsX25519LowOrderPoints) {
  // RFC 8031 §2.3 / RFC 7748 §6.1: a low-order u gives an all-zero secret.
  Result<std::unique_ptr<KeyExchange>> ke = KeyExchange::Generate(Group::kCurve25519);
  ASSERT_TRUE(ke.ok());
  Bytes zero(32, 0);
  Bytes one(32, 0);
  one[0] = 1;
  // u = 325606250916557431795983626356110631294008115727848805560023387167927233504, a
  // point of order 8 (little-endian).
  const Bytes order8 = Hex("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
  ExpectRejected(**ke, zero, "all-zero shared secret", "u = 0");
  ExpectRejected(**ke, one, "all-zero shared secret", "u = 1");
  ExpectRejected(**ke, order8, "all-zero shared secret", "order 8");
}

TEST(KeyExchangeTest, UnsupportedGroupsAndBadTestKeys) {
  Result<std::unique_ptr<KeyExchange>> five = KeyExchange::Generate(static_cast<Group>(5));
  ASSERT_FALSE(five.ok());
  EXPECT_EQ(five.error().code, ErrorCode::kUnimplemented);
  EXPECT_NE(five.error().message.find("group 5"), std::string::npos);
  EXPECT_FALSE(KeyExchange::FromPrivateForTest(Group::kCurve25519, Repeat(1, 31)).ok());
  EXPECT_FALSE(KeyExchange::FromPrivateForTest(Group::kEcp256, Repeat(1, 33)).ok());
}

}  // namespace
}  // namespace ipsec::engine::crypto
