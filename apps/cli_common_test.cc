// Exit codes of run_command: the mapping every ptsim subcommand goes through, including
// kExitInternal, which no well-formed input reaches from the command line.
#include "cli_common.h"

#include <gtest/gtest.h>

#include <sstream>
#include <stdexcept>

#include "ptsim/io/input_error.h"

namespace ptsim::apps {
namespace {

TEST(RunCommand, PassesTheCommandsOwnCodeThrough) {
  std::ostringstream err;
  EXPECT_EQ(run_command([] { return kExitOk; }, err), 0);
  EXPECT_EQ(run_command([] { return kExitDoesNotFit; }, err), 3);
  EXPECT_EQ(err.str(), "");
}

TEST(RunCommand, InputErrorIsBadInputOnOneLine) {
  std::ostringstream err;
  EXPECT_EQ(run_command([]() -> int { throw io::InputError("layout.tp", "must be a positive integer, got 0"); }, err), 2);
  EXPECT_EQ(err.str(), "ptsim: error: layout.tp: must be a positive integer, got 0\n");
}

TEST(RunCommand, AnyOtherExceptionIsAnInternalError) {
  std::ostringstream err;
  EXPECT_EQ(run_command([]() -> int { throw std::logic_error("broken invariant"); }, err), 1);
  EXPECT_EQ(err.str(), "ptsim: internal error: broken invariant\n");
  std::ostringstream err2;
  EXPECT_EQ(run_command([]() -> int { throw 42; }, err2), 1);
  EXPECT_EQ(err2.str(), "ptsim: internal error: unknown exception\n");
}

TEST(RunCommand, ExitCodesAreTheDocumentedOnes) {
  EXPECT_EQ(kExitOk, 0);
  EXPECT_EQ(kExitInternal, 1);
  EXPECT_EQ(kExitBadInput, 2);
  EXPECT_EQ(kExitDoesNotFit, 3);
}

}  // namespace
}  // namespace ptsim::apps
