// The contract every ptsim fuzz target checks: an input is either accepted or refused with
// an io::InputError whose message is one line; any other exception, a crash, a sanitizer
// report, a hang or a runaway allocation is a bug. A target is one file whose
// LLVMFuzzerTestOneInput calls expect_accept_or_input_error (docs/hardening.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string_view>

#include "ptsim/io/input_error.h"

namespace ptsim::fuzz {

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* what, const char* detail) {
  std::fprintf(stderr, "ptsim fuzz: %s: %s\n", what, detail);
  std::abort();
}

// Runs parse(); returns normally when it succeeds or throws a one-line InputError.
template <class Fn>
void expect_accept_or_input_error(Fn&& parse) {
  try {
    parse();
  } catch (const io::InputError& e) {
    const std::string_view message = e.what();
    if (message.empty()) fail("InputError with an empty message", "");
    if (message.find('\n') != std::string_view::npos) fail("InputError message is more than one line", e.what());
  } catch (const std::exception& e) {
    fail("exception other than InputError", e.what());
  } catch (...) {
    fail("non-standard exception", "");
  }
}

}  // namespace ptsim::fuzz
