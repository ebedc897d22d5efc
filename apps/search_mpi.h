// `mpirun -n K ptsim search`: the layout search spread over K processes (optional build,
// PTSIM_MPI). Rank 0 hands out chunks of the layout space (shard i of C of the enumeration,
// the `--shard` code path) to the other ranks as they ask for work, collects each chunk's
// exact top N and merges them; every layout of the global top N is in its chunk's top N,
// so rank 0's ranking is the single-process one (docs/search.md, "MPI").
#pragma once

#include <cstdint>
#include <optional>

#include "ptsim/strategies/layout_search.h"

namespace ptsim::apps {

// The world size mpirun/mpiexec gave this process (OpenMPI's OMPI_COMM_WORLD_SIZE, or the
// PMI_SIZE of MPICH and Slurm); nullopt when not started by one.
std::optional<std::int64_t> mpi_launch_size();

#ifdef PTSIM_HAVE_MPI
// MPI_Init on construction (threads funnelled: only the calling thread talks MPI),
// MPI_Finalize on destruction.
class MpiSession {
 public:
  MpiSession();
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  int rank_ = 0;
  int size_ = 1;
};

// Runs the search over every rank of the session; `chunks` pieces of the space (0: four
// per worker). Returns the merged result on rank 0 and nullopt on the others. The options'
// shard fields are ignored; its threads are each rank's.
std::optional<strategies::SearchResult> mpi_search_layouts(const MpiSession& session,
                                                           const strategies::Scenario& base,
                                                           const strategies::SearchSpace& space,
                                                           const strategies::SearchOptions& options,
                                                           std::int64_t chunks);
#endif

}  // namespace ptsim::apps
