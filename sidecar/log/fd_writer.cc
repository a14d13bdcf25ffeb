#include "sidecar/log/fd_writer.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <string>

namespace ipsec::sidecar::log {

Status WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(ErrorCode::kUnavailable, std::string("write failed: ") + strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

}  // namespace ipsec::sidecar::log
