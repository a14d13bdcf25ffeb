#include "engine/crypto/dn.h"

#include <gtest/gtest.h>

#include "tests/engine/crypto/test_hex.h"

namespace ipsec::engine::crypto {
namespace {

using testing::Hex;

// DER of "C=CH, O=strongSwan, CN=moon" as a CA would encode it: PrintableString for C and O,
// UTF8String for CN (built by hand from X.501/X.520).
const Bytes kMoonDer =
    Hex("3035"                                            // SEQUENCE (RDNSequence)
        "310b 3009 0603550406 1302 4348"                  // SET { SEQ { countryName, "CH" } }
        "3113 3011 060355040a 130a 7374726f6e675377616e"  // organizationName "strongSwan"
        "3111 300f 0603550403 0c08 6d6f6f6e2e6f7267");    // commonName (UTF8) "moon.org"

TEST(DnTest, DerToStrongSwanStyleText) {
  Result<std::string> text = DnToString(kMoonDer);
  ASSERT_TRUE(text.ok()) << text.error().ToString();
  EXPECT_EQ(*text, "C=CH, O=strongSwan, CN=moon.org");
}

TEST(DnTest, TextRoundTripsAndMatches) {
  Result<Bytes> der = DnFromString("C=CH, O=strongSwan, CN=moon.org");
  ASSERT_TRUE(der.ok()) << der.error().ToString();
  EXPECT_TRUE(DnEqual(*der, kMoonDer));
  Result<std::string> back = DnToString(*der);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, "C=CH, O=strongSwan, CN=moon.org");
}

TEST(DnTest, MatchingIgnoresCaseSpacesAndStringTypes) {
  Result<Bytes> loose = DnFromString("C=ch,O=STRONGSWAN ,  CN=Moon.Org");
  ASSERT_TRUE(loose.ok());
  EXPECT_TRUE(DnEqual(*loose, kMoonDer));
  Result<Bytes> other = DnFromString("C=CH, O=strongSwan, CN=sun.org");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(DnEqual(*other, kMoonDer));
  Result<Bytes> reordered = DnFromString("CN=moon.org, O=strongSwan, C=CH");
  ASSERT_TRUE(reordered.ok());
  EXPECT_FALSE(DnEqual(*reordered, kMoonDer));  // RDN order matters
}

TEST(DnTest, EscapesEmailMultiValuedAndOids) {
  Result<Bytes> der =
      DnFromString("C=US, O=Acme\\, Inc., OU=a+OU=b, E=vpn@acme.example, 2.5.4.3=gw\\2b1");
  ASSERT_TRUE(der.ok()) << der.error().ToString();
  Result<std::string> text = DnToString(*der);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "C=US, O=Acme\\, Inc., OU=a + OU=b, emailAddress=vpn@acme.example, CN=gw\\+1");
  Result<Bytes> again = DnFromString(*text);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(DnEqual(*again, *der));
}

TEST(DnTest, Utf8Text) {
  Result<Bytes> der = DnFromString("C=CH, CN=Zürich");
  ASSERT_TRUE(der.ok());
  Result<std::string> text = DnToString(*der);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "C=CH, CN=Zürich");
}

// parse -> print -> parse: a value that begins or ends with a space prints it escaped
// (RFC 4514 §2.4: "\ "); reading the text back must keep that space, not trim it as the space
// around a separator. Found by fuzz/x509_fuzz ("CN=TesttARo Co\ " from a certificate).
TEST(DnTest, EscapedSpacesAtTheEdgesOfAValueRoundTrip) {
  for (const char* written : {"CN=Co\\20", "CN=\\20lead", "O=a\\20\\20, CN=x\\20 + OU=y"}) {
    SCOPED_TRACE(written);
    Result<Bytes> der = DnFromString(written);
    ASSERT_TRUE(der.ok()) << der.error().ToString();
    Result<std::string> printed = DnToString(*der);
    ASSERT_TRUE(printed.ok());
    Result<Bytes> again = DnFromString(*printed);
    ASSERT_TRUE(again.ok()) << *printed << ": " << again.error().ToString();
    EXPECT_TRUE(DnEqual(*again, *der));
    Result<std::string> reprinted = DnToString(*again);
    ASSERT_TRUE(reprinted.ok());
    EXPECT_EQ(*reprinted, *printed);
  }
}

// An attribute OpenSSL has no name for prints as its dotted OID and "#" with the hex of its
// value's BER (RFC 4514 §2.4); that text reads back to the same Name. Before, the OID was an
// "unknown DN attribute" and "#..." was taken as text. Found by fuzz/x509_fuzz (an issuer
// "1.37.4.3=#0C084F646420526F6F74").
TEST(DnTest, UnknownAttributesRoundTripAsOidAndHex) {
  // SEQUENCE { SET { SEQUENCE { OID 1.2.3.4, UTF8String "x" } },
  //            SET { SEQUENCE { commonName, BMPString "a" } } }
  const Bytes der = Hex("3019 310a 3008 06032a0304 0c0178 310b 3009 0603550403 1e020061");
  Result<std::string> text = DnToString(der);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "1.2.3.4=#0C0178, CN=a");
  Result<Bytes> again = DnFromString(*text);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(DnEqual(*again, der));
  Result<std::string> reprinted = DnToString(*again);
  ASSERT_TRUE(reprinted.ok());
  EXPECT_EQ(*reprinted, *text);
  // A written "#" value must be BER of a string; a literal '#' is escaped ("\#").
  EXPECT_FALSE(DnFromString("CN=#zz").ok());
  EXPECT_FALSE(DnFromString("CN=#0C05").ok());  // shorter than its length says
  Result<Bytes> hash = DnFromString("CN=\\#1");
  ASSERT_TRUE(hash.ok());
  EXPECT_EQ(DnToString(*hash).value(), "CN=\\#1");
}

// A certificate's PrintableString with a Latin-1 octet ("U\xd3", which OpenSSL accepts on
// parsing) prints as UTF-8 ("C=UÓ"); the text reads back as a UTF8String of the same name
// (PrintableString cannot hold it). Found by fuzz/x509_fuzz.
TEST(DnTest, CharactersOutsideTheUsualStringTypeRoundTrip) {
  // SEQUENCE { SET { SEQUENCE { countryName, PrintableString "U\xd3" } } }
  const Bytes der = Hex("300d 310b 3009 0603550406 1302 55d3");
  Result<std::string> text = DnToString(der);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "C=U\xc3\x93");
  Result<Bytes> again = DnFromString(*text);
  ASSERT_TRUE(again.ok()) << again.error().ToString();
  EXPECT_TRUE(DnEqual(*again, der));
  Result<std::string> reprinted = DnToString(*again);
  ASSERT_TRUE(reprinted.ok());
  EXPECT_EQ(*reprinted, *text);
  EXPECT_FALSE(DnFromString("C=U\xc3\x93X").ok());  // a country is still two characters
}

TEST(DnTest, RefusesMalformedInput) {
  for (const char* bad : {"", "   ", "CN", "CN=", "XX=foo", "CN=a\\", "C=USA"}) {
    Result<Bytes> der = DnFromString(bad);
    EXPECT_FALSE(der.ok()) << "\"" << bad << "\"";
    if (!der.ok()) {
      EXPECT_EQ(der.error().code, ErrorCode::kInvalidArgument) << bad;
    }
  }
  EXPECT_FALSE(DnToString(Hex("3003")).ok());
  EXPECT_FALSE(DnToString(Concat({kMoonDer, Hex("00")})).ok());  // trailing byte
  EXPECT_FALSE(DnEqual(Hex("3003"), kMoonDer));
}

}  // namespace
}  // namespace ipsec::engine::crypto
