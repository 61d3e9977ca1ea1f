#pragma once
// Profiling the timed part of a benchmark alone: the profile modes of the suites (`--profile`) call
// perf_counting around the work they time, and a `perf record --control fifo:CTL,ACK --delay=-1` started
// around the process samples that work and nothing else (generating inputs, the untimed first round,
// tearing down). The FIFOs are named by TRIBUTARY_PERF_CTL and TRIBUTARY_PERF_ACK:
//
//   mkfifo ctl ack
//   TRIBUTARY_PERF_CTL=ctl TRIBUTARY_PERF_ACK=ack perf record --control fifo:ctl,ack -D -1 -g <suite> --profile ...

#include <cstdlib>
#include <fstream>
#include <string>

namespace tributary::bench {

/// Tells the perf started around this process to count (`on`) or not, and waits for its answer.
/// Without the two variables, nothing.
inline void perf_counting(bool on) {
  static const char* ctl = std::getenv("TRIBUTARY_PERF_CTL");
  static const char* ack = std::getenv("TRIBUTARY_PERF_ACK");
  if (!ctl || !ack) return;
  static std::ofstream to(ctl);
  static std::ifstream from(ack);
  to << (on ? "enable" : "disable") << std::endl;
  std::string reply;
  std::getline(from, reply, '\0');  // perf answers "ack\n\0"
}

}  // namespace tributary::bench
