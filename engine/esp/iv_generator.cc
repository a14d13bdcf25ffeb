#include "engine/esp/iv_generator.h"

#include <cstring>

#include "engine/crypto/random.h"

namespace ipsec::engine::esp {

Result<IvGenerator> IvGenerator::Create() {
  crypto::SystemRandom random;
  uint8_t key[16];
  uint8_t nonce[8];
  if (Status s = random.TryFill(MutableByteSpan(key, sizeof(key))); !s.ok()) return s.error();
  if (Status s = random.TryFill(MutableByteSpan(nonce, sizeof(nonce))); !s.ok()) {
    return s.error();
  }
  Result<crypto::CbcCipher> cipher =
      crypto::CbcCipher::Create(crypto::CbcAlgorithm::kAes128, ByteSpan(key, sizeof(key)));
  volatile uint8_t* wipe = key;  // the schedule lives in OpenSSL's context now
  for (size_t i = 0; i < sizeof(key); ++i) wipe[i] = 0;
  if (!cipher.ok()) return cipher.error();
  IvGenerator generator(std::move(cipher).value());
  std::memcpy(&generator.nonce_, nonce, sizeof(nonce));
  return generator;
}

Status IvGenerator::Next(uint8_t* out, size_t n) {
  if (n > 16) return MakeError(ErrorCode::kInvalidArgument, "IV longer than a block");
  // One block, nonce || counter, encrypted with a zero IV: AES-128-ECB of a never-repeating
  // input, i.e. a pseudo-random permutation's output.
  uint8_t block[16];
  const uint64_t counter = ++counter_;
  std::memcpy(block, &nonce_, 8);
  std::memcpy(block + 8, &counter, 8);
  static constexpr uint8_t kZeroIv[16] = {};
  if (Status s = cipher_.Encrypt(kZeroIv, ByteSpan(block, 16), block); !s.ok()) return s;
  std::memcpy(out, block, n);
  return Status::Ok();
}

}  // namespace ipsec::engine::esp
