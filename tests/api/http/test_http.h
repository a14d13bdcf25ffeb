#pragma once

// Test tools for the HTTP server, client and CLI: temporary directories, a raw TCP client
// with timeouts (for requests a well-behaved client would never send), a server started on an
// ephemeral port, and a subprocess runner.

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/http/server.h"

namespace ipsec::api::http::testing {

// A directory removed with everything in it when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  // Writes `content` to path()/name and returns the full path.
  std::string Write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// Replaces `path` atomically (new inode), as Kubernetes does when it rotates a Secret.
void ReplaceFile(const std::string& path, const std::string& content);

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  bool closed = false;  // the server closed the connection before a complete response
};

// A blocking loopback TCP connection whose reads time out.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port);
  ~RawConnection();
  bool connected() const { return fd_ >= 0; }
  bool Send(const std::string& bytes);
  // Reads one response (Content-Length framed). `closed` when the peer closed first.
  RawResponse ReadResponse(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // True when the peer closes the connection within `timeout` (reads and drops data).
  bool WaitClosed(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
  std::string pending_;
};

// A plain "GET target" request with optional bearer token.
std::string GetRequest(const std::string& target, const std::string& token = "",
                       bool keep_alive = true);

// A server on 127.0.0.1, ephemeral port, started (the test fails if Start() fails).
std::unique_ptr<Server> StartServer(Server::Options options, Handler handler,
                                    Observer observer = {}, LogHook log = {});

// A handler answering 200 {"ok":true,"target":...} with route "/echo".
Handler EchoHandler();

struct ProcessResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] a path) with `env` added to an empty environment, `input` on stdin.
ProcessResult RunProcess(const std::vector<std::string>& argv,
                         const std::vector<std::string>& env = {}, const std::string& input = "");

}  // namespace ipsec::api::http::testing
