#include "engine/net/deadline_timer.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>

namespace ipsec::engine::net {

namespace asio = boost::asio;

struct DeadlineTimer::Impl {
  Impl(asio::io_context& context, std::function<void()> fn)
      : timer(context), on_deadline(std::move(fn)) {}
  asio::steady_timer timer;
  std::function<void()> on_deadline;
  // Completions of superseded waits can already be queued when the timer is re-armed; they
  // carry an older generation and are ignored. Shared with the queued completions, which may
  // outlive the timer.
  struct Token {
    bool alive = true;
    uint64_t generation = 0;
  };
  std::shared_ptr<Token> token = std::make_shared<Token>();
};

DeadlineTimer::DeadlineTimer(EventLoop& loop, std::function<void()> on_deadline)
    : impl_(std::make_unique<Impl>(loop.context(), std::move(on_deadline))) {}

DeadlineTimer::~DeadlineTimer() {
  impl_->token->alive = false;
  impl_->timer.cancel();
}

void DeadlineTimer::ArmAt(Clock::TimePoint deadline) {
  const uint64_t generation = ++impl_->token->generation;
  deadline_ = deadline;
  impl_->timer.expires_at(deadline);  // cancels the previous wait
  std::shared_ptr<Impl::Token> token = impl_->token;
  DeadlineTimer* self = this;
  impl_->timer.async_wait([token, generation, self](const boost::system::error_code& ec) {
    if (ec || !token->alive || token->generation != generation) return;
    self->deadline_.reset();
    self->impl_->on_deadline();
  });
}

void DeadlineTimer::Set(std::optional<Clock::TimePoint> deadline) {
  if (deadline) {
    ArmAt(*deadline);
  } else {
    Disarm();
  }
}

void DeadlineTimer::Disarm() {
  ++impl_->token->generation;
  deadline_.reset();
  impl_->timer.cancel();
}

}  // namespace ipsec::engine::net
