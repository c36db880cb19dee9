#include "irq_table.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>

namespace norman::nsim {

namespace {

// Its only job is to make a blocked write() return EINTR (no SA_RESTART).
void on_write_limit(int /*sig*/) {}

int write_limit_signal() { return SIGRTMIN + 7; }

}  // namespace

IrqTable::~IrqTable() {
  if (timer_ok_) ::timer_delete(timer_);
}

void IrqTable::set(std::uint32_t vector, UniqueFd fd) {
  if (fd) {
    fds_[vector] = std::move(fd);
  } else {
    fds_.erase(vector);
  }
}

// A timer that signals the calling thread, made on first use (and
// again if another thread fires interrupts).
bool IrqTable::arm_ready() {
  const int tid = ::gettid();
  if (timer_ok_ && timer_tid_ == tid) return true;
  if (timer_ok_) {
    ::timer_delete(timer_);
    timer_ok_ = false;
  }
  struct sigaction sa {};
  sa.sa_handler = on_write_limit;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: the write must return
  if (::sigaction(write_limit_signal(), &sa, nullptr) != 0) return false;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, write_limit_signal());
  ::pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  sigevent ev{};
  ev.sigev_notify = SIGEV_THREAD_ID;
  ev.sigev_signo = write_limit_signal();
#ifdef sigev_notify_thread_id
  ev.sigev_notify_thread_id = tid;
#else
  ev._sigev_un._tid = tid;
#endif
  if (::timer_create(CLOCK_MONOTONIC, &ev, &timer_) != 0) return false;
  timer_ok_ = true;
  timer_tid_ = tid;
  return true;
}

void IrqTable::fire(std::uint32_t vector) {
  auto it = fds_.find(vector);
  if (it == fds_.end()) {
    ++unregistered_;
    return;
  }
  const int fd = it->second.get();
  const int fl = ::fcntl(fd, F_GETFL);
  if (fl >= 0 && (fl & O_NONBLOCK) == 0) {
    ++tampered_;
    (void)::fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  }
  // Should a client clear O_NONBLOCK again between the fcntl and the
  // write, the timer's signal ends the write. A signal is always taken
  // before fire() returns (at the latest when the disarming call returns),
  // so it never interrupts anything else.
  const bool limited = arm_ready();
  if (limited) {
    // Periodic, not one-shot: had the thread been descheduled past the
    // first expiry before write() began, a single signal would be spent.
    itimerspec t{};
    t.it_value.tv_nsec = kWriteLimitNs;
    t.it_interval.tv_nsec = kWriteLimitNs;
    ::timer_settime(timer_, 0, &t, nullptr);
  }
  const std::uint64_t one = 1;
  const ssize_t n = ::write(fd, &one, sizeof(one));
  const int err = errno;
  if (limited) {
    const itimerspec off{};
    ::timer_settime(timer_, 0, &off, nullptr);
  }
  if (n == static_cast<ssize_t>(sizeof(one))) {
    ++delivered_;
  } else if (err == EAGAIN) {
    ++saturated_;
  } else if (err == EINTR) {
    ++blocked_;
    std::fprintf(stderr,
                 "nsim: interrupt vector %u: its eventfd blocked a write (a client "
                 "cleared O_NONBLOCK and filled it); vector unbound\n",
                 vector);
    fds_.erase(it);
  } else {
    // Not an eventfd, or closed under us: counted as delivered once
    // attempted, nothing else can be done from the device side.
    ++delivered_;
  }
}

}  // namespace norman::nsim
