// The MPI half of `ptsim search` (apps/search_mpi.h): rank 0 serves chunks on request and
// merges; the other ranks evaluate chunks with strategies::search_layouts (shard i of C) and
// send back their rows as the JSON lines of `ptsim search --shard`. Built with MPI only
// where CMake found it (PTSIM_HAVE_MPI); mpi_launch_size is always here, so that a build
// without MPI can refuse to run under mpirun instead of printing K copies of the search.
#include "../search_mpi.h"

#include <cstdlib>
#include <string>

#ifdef PTSIM_HAVE_MPI
#include <mpi.h>

#include <iostream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "../cli_common.h"
#include "ptsim/io/search_report.h"
#endif

namespace ptsim::apps {

std::optional<std::int64_t> mpi_launch_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"}) {
    if (const char* v = std::getenv(name)) {
      char* end = nullptr;
      const long long n = std::strtoll(v, &end, 10);
      if (end != v && *end == '\0' && n >= 1) return n;
    }
  }
  return std::nullopt;
}

#ifdef PTSIM_HAVE_MPI
namespace {

constexpr int kTagResult = 1;  // worker -> rank 0: the previous chunk's JSON lines ("" at first)
constexpr int kTagChunk = 2;   // rank 0 -> worker: the chunk index to evaluate, -1 to stop

void check(int rc, const char* what) {
  if (rc != MPI_SUCCESS) throw std::runtime_error(std::string("MPI: ") + what + " failed");
}

std::optional<strategies::SearchResult> serve_or_work(const MpiSession& session, const strategies::Scenario& base,
                                                      const strategies::SearchSpace& space,
                                                      strategies::SearchOptions so, std::int64_t count);

}  // namespace

MpiSession::MpiSession() {
  int provided = 0;
  check(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
  check(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
}

MpiSession::~MpiSession() { MPI_Finalize(); }

std::optional<strategies::SearchResult> mpi_search_layouts(const MpiSession& session,
                                                           const strategies::Scenario& base,
                                                           const strategies::SearchSpace& space,
                                                           const strategies::SearchOptions& options,
                                                           std::int64_t chunks) {
  strategies::SearchOptions so = options;
  so.progress = nullptr;
  const int workers = session.size() - 1;
  if (workers == 0) {  // one rank: the single-process search
    so.shard_index = 0;
    so.shard_count = 1;
    return strategies::search_layouts(base, space, so);
  }
  const std::int64_t count = chunks > 0 ? chunks : 4 * static_cast<std::int64_t>(workers);
  try {
    return serve_or_work(session, base, space, so, count);
  } catch (const std::exception& e) {
    // One rank failing mid-protocol would leave the others waiting: end them all.
    std::cerr << "ptsim: internal error: MPI rank " << session.rank() << ": " << e.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, kExitInternal);
    throw;
  }
}

namespace {

std::optional<strategies::SearchResult> serve_or_work(const MpiSession& session, const strategies::Scenario& base,
                                                      const strategies::SearchSpace& space,
                                                      strategies::SearchOptions so, std::int64_t count) {
  const int workers = session.size() - 1;
  if (session.rank() != 0) {
    // Ask for work, sending the last chunk's rows with the request, until told to stop.
    std::string lines;
    while (true) {
      check(MPI_Send(lines.data(), static_cast<int>(lines.size()), MPI_CHAR, 0, kTagResult, MPI_COMM_WORLD), "MPI_Send");
      std::int64_t chunk = -1;
      check(MPI_Recv(&chunk, 1, MPI_INT64_T, 0, kTagChunk, MPI_COMM_WORLD, MPI_STATUS_IGNORE), "MPI_Recv");
      if (chunk < 0) return std::nullopt;
      so.shard_index = chunk;
      so.shard_count = count;
      std::ostringstream out;
      io::write_search_lines(out, strategies::search_layouts(base, space, so));
      lines = out.str();
    }
  }

  // Rank 0: answer each request with the next chunk (or stop), keep each chunk's result.
  std::vector<strategies::SearchResult> parts;
  std::int64_t next = 0;
  int stopped = 0;
  std::string buffer;
  while (stopped < workers) {
    MPI_Status status;
    check(MPI_Probe(MPI_ANY_SOURCE, kTagResult, MPI_COMM_WORLD, &status), "MPI_Probe");
    int size = 0;
    check(MPI_Get_count(&status, MPI_CHAR, &size), "MPI_Get_count");
    buffer.resize(static_cast<std::size_t>(size));
    check(MPI_Recv(buffer.data(), size, MPI_CHAR, status.MPI_SOURCE, kTagResult, MPI_COMM_WORLD, MPI_STATUS_IGNORE),
          "MPI_Recv");
    if (size > 0) {
      std::istringstream in(buffer);
      parts.push_back(io::read_search_lines(in, "MPI rank " + std::to_string(status.MPI_SOURCE)));
    }
    std::int64_t chunk = -1;
    if (next < count) {
      chunk = next++;
    } else {
      ++stopped;
    }
    check(MPI_Send(&chunk, 1, MPI_INT64_T, status.MPI_SOURCE, kTagChunk, MPI_COMM_WORLD), "MPI_Send");
  }
  // Counts summed (chunk 0 carries the rule discards), rows re-ranked by score then
  // enumeration index: the order chunks arrived in does not matter.
  return strategies::merge_search_results(parts, std::max<std::size_t>(so.top, 1));
}

}  // namespace
#endif

}  // namespace ptsim::apps
