// The one error type for bad user input (scenario files, profiles, command-line values):
// it names the offending field by its dotted path ("layout.tp") and says why, so a user
// can find and fix it. Broken invariants are asserts, not InputErrors.
#pragma once

#include <stdexcept>
#include <string>

namespace ptsim::io {

class InputError : public std::runtime_error {
 public:
  // what() is "path: reason", or just "reason" when path is empty (the whole document);
  // always one line: control characters from the input are shown escaped (\n, \x01).
  InputError(std::string path, std::string reason);

  const std::string& path() const { return path_; }
  const std::string& reason() const { return reason_; }

 private:
  std::string path_;
  std::string reason_;
};

}  // namespace ptsim::io
