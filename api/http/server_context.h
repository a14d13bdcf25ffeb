#pragma once

// Internal to api/http: the state the server shares with its sessions. Sessions hold it by
// shared_ptr, so it outlives the last of them; it does not own the io_context (the Server
// does), which keeps pending handlers from forming a cycle with it.

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/http/server.h"
#include "api/http/token_auth.h"
#include "api/http/types.h"

namespace ipsec::api::http {

// What Stop() needs from a session. Both post to the session's strand; any thread.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  // Ends the session as soon as it is not serving a request: at once when it waits for a
  // request that has not begun, after its current response otherwise.
  virtual void BeginShutdown() = 0;
  // Closes the socket now, whatever the session is doing.
  virtual void ForceClose() = 0;
};

// The live sessions. Thread-safe.
class SessionRegistry {
 public:
  uint64_t Add(std::weak_ptr<SessionBase> session);
  void Remove(uint64_t id);
  std::vector<std::shared_ptr<SessionBase>> Live();
  size_t Size();
  // True when the registry became empty before `deadline`.
  bool WaitUntilEmpty(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mu_;
  std::condition_variable empty_;
  uint64_t next_id_ = 1;                                               // guarded by mu_
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions_;  // guarded by mu_
};

struct ServerContext {
  ServerContext(Server::Options options_in, Handler handler_in, Observer observer_in,
                LogHook log_in)
      : options(std::move(options_in)),
        handler(std::move(handler_in)),
        observer(std::move(observer_in)),
        log(std::move(log_in)),
        auth(options.token_file) {}

  // Calls the log hook, if any; swallows what it throws. Any thread.
  void Log(LogEvent event) const;
  bool IsPublic(std::string_view path) const;

  const Server::Options options;
  const Handler handler;
  const Observer observer;
  const LogHook log;
  TokenAuth auth;  // thread-safe
  // Set once by Start() before any session exists; null for a plain listener.
  std::unique_ptr<boost::asio::ssl::context> tls;
  std::atomic<bool> stopping{false};
  SessionRegistry sessions;
  std::atomic<uint64_t> accepted{0};
  std::atomic<uint64_t> requests{0};
};

}  // namespace ipsec::api::http
