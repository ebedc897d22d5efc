#include "ptsim/strategies/pipeline_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <tuple>

#include "ptsim/sim/task_simulator.h"
#include "ptsim/strategies/step_metrics.h"
#include "ptsim/strategies/task_labels.h"

namespace ptsim::strategies {
namespace {

using sim::Time;

// A pipeline of p identical stages: each block one task of t_f or t_b, each transfer t_c.
struct UniformPipeline {
  sim::TaskGraph graph;
  sim::Timeline timeline;
  // Per stage, per micro-batch: forward start and backward end.
  std::vector<std::vector<std::pair<sim::TaskId, sim::TaskId>>> blocks;

  // With v > 1 (interleaved), each of a stage's v chunks takes tf / v and tb / v. Under
  // zb-h1 the B pass takes tb and the W pass tw; a micro-batch is in flight until its W.
  UniformPipeline(Schedule schedule, int p, std::int64_t m, Time tf, Time tb, Time tc, int v = 1,
                  Time tw = Time::zero()) {
    std::vector<sim::StreamId> compute, send;
    std::vector<sim::LinkId> tx, rx;
    for (int s = 0; s < p; ++s) {
      const auto proc = graph.add_process("stage " + std::to_string(s));
      compute.push_back(graph.add_stream(proc, "compute"));
      send.push_back(graph.add_stream(proc, "send"));
      tx.push_back(graph.add_link(proc, "tx"));
      rx.push_back(graph.add_link(proc, "rx"));
    }
    blocks.assign(static_cast<std::size_t>(p), std::vector<std::pair<sim::TaskId, sim::TaskId>>(static_cast<std::size_t>(m)));
    PipelineHooks hooks;
    hooks.emit_block = [&, v](int s, int chunk, std::int64_t j, Phase ph) {
      const bool fwd = ph == Phase::forward;
      const Time t = fwd ? tf : ph == Phase::backward ? tb : tw;
      const auto kind = fwd ? TaskKind::forward : ph == Phase::backward ? TaskKind::backward : TaskKind::weight_grad;
      const auto id = graph.add_task(compute[s], Time::ns(t.count_ns() / v), static_cast<std::uint32_t>(kind));
      // Keep the first chunk's forward and the first chunk's backward (the last to run).
      auto& b = blocks[s][static_cast<std::size_t>(j)];
      if (chunk == 0) (fwd ? b.first : b.second) = id;
      return BlockTasks{{id}, {id}};
    };
    hooks.emit_transfer = [&](int from, int to, std::int64_t, Phase, std::span<sim::TaskId> out) {
      const std::array<sim::LinkId, 2> links{tx[from], rx[to]};
      out[0] = graph.add_task(std::span<const sim::StreamId>(&send[from], 1), links, tc,
                              static_cast<std::uint32_t>(TaskKind::comm_pp));
    };
    hooks.emit_tail = [](int, std::span<const sim::TaskId>) {};
    lower_pipeline(schedule, p, m, hooks, graph, v);
    timeline = sim::simulate(graph);
  }

  // Largest number of micro-batches between forward start and backward end on a stage.
  int max_in_flight(int stage) const {
    std::vector<std::pair<std::int64_t, int>> ev;
    for (const auto& [f, b] : blocks[stage]) {
      ev.push_back({timeline.start[f].count_ns(), +1});
      ev.push_back({timeline.end[b].count_ns(), -1});
    }
    std::sort(ev.begin(), ev.end(), [](auto a, auto b) { return a.first != b.first ? a.first < b.first : a.second < b.second; });
    int now = 0, most = 0;
    for (auto [t, d] : ev) most = std::max(most, now += d);
    return most;
  }
};

TEST(StageOrder, OneFOneBWarmsUpSteadiesAndDrains) {
  const auto order = stage_order(Schedule::one_f_one_b, 1, 4, 6);
  const std::vector<PipelineStep> expected = {
      {0, Phase::forward}, {1, Phase::forward}, {2, Phase::forward}, {0, Phase::backward},
      {3, Phase::forward}, {1, Phase::backward}, {4, Phase::forward}, {2, Phase::backward},
      {5, Phase::forward}, {3, Phase::backward}, {4, Phase::backward}, {5, Phase::backward}};
  EXPECT_EQ(order, expected);
}

TEST(StageOrder, EverySchedulRunsEachMicroBatchOnceEachWay) {
  for (Schedule sch : {Schedule::sequential, Schedule::gpipe, Schedule::one_f_one_b}) {
    for (int p : {1, 2, 5}) {
      for (std::int64_t m : {1, 3, 8}) {
        for (int s = 0; s < p; ++s) {
          const auto order = stage_order(sch, s, p, m);
          ASSERT_EQ(order.size(), static_cast<std::size_t>(2 * m));
          for (std::int64_t j = 0; j < m; ++j) {
            const auto f = std::find(order.begin(), order.end(), PipelineStep{j, Phase::forward});
            const auto b = std::find(order.begin(), order.end(), PipelineStep{j, Phase::backward});
            ASSERT_NE(f, order.end());
            ASSERT_NE(b, order.end());
            EXPECT_LT(f, b);
          }
        }
      }
    }
  }
}

TEST(PipelineClosedForm, SequentialIsTheSumOfStageTimes) {
  const Time tf = Time::us(300), tb = Time::us(700), tc = Time::us(40);
  for (int p : {1, 2, 4, 7}) {
    for (std::int64_t m : {1, 3}) {
      UniformPipeline pipe(Schedule::sequential, p, m, tf, tb, tc);
      EXPECT_EQ(pipe.timeline.makespan, m * (p * (tf + tb) + 2 * (p - 1) * tc)) << p << " " << m;
    }
  }
}

TEST(PipelineClosedForm, GPipeMakespanAndBubble) {
  const Time tf = Time::us(250), tb = Time::us(500);
  for (int p : {1, 2, 4, 8}) {
    for (std::int64_t m : {1, 4, 16}) {
      UniformPipeline pipe(Schedule::gpipe, p, m, tf, tb, Time::zero());
      EXPECT_EQ(pipe.timeline.makespan, (m + p - 1) * (tf + tb)) << p << " " << m;
      // Bubble fraction (p-1)/(m+p-1) on every stage.
      const auto breakdown = breakdown_per_process(pipe.graph, pipe.timeline);
      for (const auto& b : breakdown) {
        EXPECT_DOUBLE_EQ(b.bubble_s, ((p - 1) * (tf + tb)).seconds());
        EXPECT_NEAR(b.bubble_s / pipe.timeline.makespan.seconds(),
                    static_cast<double>(p - 1) / static_cast<double>(m + p - 1), 1e-12);
      }
    }
  }
}

TEST(PipelineClosedForm, GPipeWithTransfersAddsTwoTransfersPerHop) {
  const Time tf = Time::us(250), tb = Time::us(500), tc = Time::us(30);
  for (int p : {2, 4}) {
    UniformPipeline pipe(Schedule::gpipe, p, 8, tf, tb, tc);
    EXPECT_EQ(pipe.timeline.makespan, (8 + p - 1) * (tf + tb) + 2 * (p - 1) * tc);
  }
}

TEST(PipelineClosedForm, OneFOneBWithSynchronousTransfersPaysEachExchange) {
  // Megatron's p2p exchange is synchronous: a stage's next block waits for its send, which
  // starts only once the receiver has finished the block before the one consuming it.
  // One micro-batch crosses p - 1 links each way: p (tf + tb) + 2 (p - 1) tc. In the steady
  // state an inner stage exchanges after its forward and after its backward, and each
  // exchange holds it for a transfer: every further micro-batch adds tf + tb + 2 tc (GPipe,
  // asynchronous, adds tf + tb).
  const Time tf = Time::us(250), tb = Time::us(500), tc = Time::us(30);
  for (int p : {2, 3, 4, 8}) {
    UniformPipeline one(Schedule::one_f_one_b, p, 1, tf, tb, tc);
    EXPECT_EQ(one.timeline.makespan, p * (tf + tb) + 2 * (p - 1) * tc) << "p=" << p;
    if (p < 3) continue;
    for (std::int64_t m : {static_cast<std::int64_t>(p), 2 * static_cast<std::int64_t>(p)}) {
      UniformPipeline a(Schedule::one_f_one_b, p, m, tf, tb, tc);
      UniformPipeline b(Schedule::one_f_one_b, p, m + 1, tf, tb, tc);
      EXPECT_EQ(b.timeline.makespan - a.timeline.makespan, tf + tb + 2 * tc) << "p=" << p << " m=" << m;
      UniformPipeline async(Schedule::gpipe, p, m, tf, tb, tc);
      EXPECT_GT(a.timeline.makespan, async.timeline.makespan);
    }
  }
}

TEST(PipelineClosedForm, OneFOneBMatchesGPipeWithAtMostPInFlight) {
  const Time tf = Time::us(250), tb = Time::us(500);
  for (int p : {1, 2, 4, 8}) {
    for (std::int64_t m : {1, 3, 8, 32}) {
      UniformPipeline one(Schedule::one_f_one_b, p, m, tf, tb, Time::zero());
      UniformPipeline gpipe(Schedule::gpipe, p, m, tf, tb, Time::zero());
      EXPECT_EQ(one.timeline.makespan, gpipe.timeline.makespan) << p << " " << m;
      EXPECT_EQ(one.timeline.makespan, (m + p - 1) * (tf + tb));
      EXPECT_LE(one.max_in_flight(0), p);
      for (int s = 0; s < p; ++s) EXPECT_LE(one.max_in_flight(s), p - s);
      // GPipe holds every micro-batch at once on stage 0.
      EXPECT_EQ(gpipe.max_in_flight(0), m);
    }
  }
}

TEST(StageOrder, InterleavedMatchesMegatron) {
  // p = 2, v = 2, m = 4 on stage 0: warm-up 2(p-1-s) + (v-1)p = 4 chunk-forwards.
  const auto order = stage_order(Schedule::one_f_one_b, 0, 2, 4, 2);
  ASSERT_EQ(order.size(), 16u);
  const std::vector<PipelineStep> warmup = {{0, Phase::forward, 0}, {1, Phase::forward, 0},
                                            {0, Phase::forward, 1}, {1, Phase::forward, 1}};
  EXPECT_EQ(std::vector<PipelineStep>(order.begin(), order.begin() + 4), warmup);
  EXPECT_EQ(order[4], (PipelineStep{2, Phase::forward, 0}));
  EXPECT_EQ(order[5], (PipelineStep{0, Phase::backward, 1}));  // backwards start from the last chunk
  EXPECT_EQ(chunks_in_flight(Schedule::one_f_one_b, 0, 2, 4, 2), 5);
}

TEST(PipelineClosedForm, InterleavingShrinksTheBubbleByTheVirtualStageFactor) {
  // Bubble (p-1)(tf+tb)/v: the interleaved schedule's makespan is (m + (p-1)/v)(tf+tb).
  const Time tf = Time::us(240), tb = Time::us(480);
  for (int p : {2, 4}) {
    for (int v : {2, 3}) {
      for (std::int64_t m : {static_cast<std::int64_t>(p), 2 * static_cast<std::int64_t>(p), 8 * static_cast<std::int64_t>(p)}) {
        UniformPipeline plain(Schedule::one_f_one_b, p, m, tf, tb, Time::zero());
        UniformPipeline inter(Schedule::one_f_one_b, p, m, tf, tb, Time::zero(), v);
        const Time bubble_plain = plain.timeline.makespan - m * (tf + tb);
        const Time bubble_inter = inter.timeline.makespan - m * (tf + tb);
        EXPECT_EQ(bubble_plain, (p - 1) * (tf + tb));
        EXPECT_EQ(bubble_inter, Time::ns(((p - 1) * (tf + tb)).count_ns() / v)) << "p=" << p << " v=" << v << " m=" << m;
      }
    }
  }
}

TEST(PipelineClosedForm, InterleavedSynchronousExchangeNeverDeadlocksAndPaysItsTransfers) {
  // The interleaved schedule exchanges once per steady-state forward-backward pair, with
  // receives posted at the exchange before the consuming chunk. Its dependencies must form
  // no cycle for any p, v and m (the simulator throws on a cycle); paid transfers lengthen
  // the step, free ones give the closed form (InterleavingShrinksTheBubble... above).
  const Time tf = Time::us(240), tb = Time::us(480), tc = Time::us(20);
  for (int p : {2, 3, 4, 5, 8}) {
    for (int v : {2, 3, 4}) {
      for (std::int64_t m : {static_cast<std::int64_t>(p), 2 * static_cast<std::int64_t>(p), 3 * static_cast<std::int64_t>(p)}) {
        UniformPipeline free(Schedule::one_f_one_b, p, m, tf, tb, Time::zero(), v);
        UniformPipeline paid(Schedule::one_f_one_b, p, m, tf, tb, tc, v);
        EXPECT_GT(paid.timeline.makespan, free.timeline.makespan) << "p=" << p << " v=" << v << " m=" << m;
        EXPECT_EQ(free.timeline.makespan, m * (tf + tb) + Time::ns(((p - 1) * (tf + tb)).count_ns() / v));
      }
    }
  }
}

TEST(StageOrder, ZeroBubbleH1DefersWeightPassesByTheStageIndex) {
  // p = 4, stage 2, m = 6: 1F1B's warm-up (1 forward) and F/B pairs; W of micro-batch
  // j - 2 after B of j; the last two W passes after the last B.
  const auto order = stage_order(Schedule::zb_h1, 2, 4, 6);
  const auto F = Phase::forward, B = Phase::backward, W = Phase::weight;
  const std::vector<PipelineStep> expected = {
      {0, F}, {1, F}, {0, B}, {2, F}, {1, B}, {3, F}, {2, B}, {0, W}, {4, F}, {3, B}, {1, W},
      {5, F}, {4, B}, {2, W}, {5, B}, {3, W}, {4, W}, {5, W}};
  EXPECT_EQ(order, expected);
  // Stage 0 runs each W right after its B; the last stage lags p - 1 micro-batches.
  const auto first = stage_order(Schedule::zb_h1, 0, 4, 6);
  EXPECT_EQ(first[4], (PipelineStep{0, B}));
  EXPECT_EQ(first[5], (PipelineStep{0, W}));
  const auto last = stage_order(Schedule::zb_h1, 3, 4, 6);
  EXPECT_EQ(std::vector<PipelineStep>(last.begin(), last.begin() + 9),
            (std::vector<PipelineStep>{{0, F}, {0, B}, {1, F}, {1, B}, {2, F}, {2, B}, {3, F}, {3, B}, {0, W}}));
}

TEST(StageOrder, ZeroBubbleH1RunsEachPassOnceInDependencyOrder) {
  for (int p : {1, 2, 5}) {
    for (std::int64_t m : {1, 3, 8}) {
      for (int s = 0; s < p; ++s) {
        const auto order = stage_order(Schedule::zb_h1, s, p, m);
        ASSERT_EQ(order.size(), static_cast<std::size_t>(3 * m));
        for (std::int64_t j = 0; j < m; ++j) {
          const auto f = std::find(order.begin(), order.end(), PipelineStep{j, Phase::forward});
          const auto b = std::find(order.begin(), order.end(), PipelineStep{j, Phase::backward});
          const auto w = std::find(order.begin(), order.end(), PipelineStep{j, Phase::weight});
          ASSERT_NE(w, order.end());
          EXPECT_LT(f, b);
          EXPECT_LT(b, w);
        }
        EXPECT_EQ(chunks_in_flight(Schedule::zb_h1, s, p, m, 1), std::min<std::int64_t>(p, m));
      }
    }
  }
}

TEST(PipelineClosedForm, ZeroBubbleH1BubbleIsTfPlusTbMinusTw) {
  // Qi et al. 2023: ZB-H1's bubble is (p-1)(tF + tB - tW) against 1F1B's (p-1)(tF + tB + tW)
  // (1F1B's backward is B + W), for m >= p, tW <= tF, equal stages and free transfers; every stage
  // holds at most p micro-batches between F and W, as 1F1B's first stage does.
  for (const auto& [tf, tb, tw] : {std::tuple{Time::us(300), Time::us(300), Time::us(300)},
                                   std::tuple{Time::us(250), Time::us(400), Time::us(200)},
                                   std::tuple{Time::us(100), Time::us(170), Time::us(90)},
                                   std::tuple{Time::us(250), Time::us(400), Time::us(350)}}) {
    for (int p : {2, 4, 8}) {
      for (std::int64_t m : {static_cast<std::int64_t>(p), 2 * static_cast<std::int64_t>(p) + 1, std::int64_t{32}}) {
        UniformPipeline zb(Schedule::zb_h1, p, m, tf, tb, Time::zero(), 1, tw);
        UniformPipeline one(Schedule::one_f_one_b, p, m, tf, tb + tw, Time::zero());
        // With tW > tF the W passes no longer fill the drain: (p-1) tB.
        const Time bubble = tw <= tf ? (p - 1) * (tf + tb - tw) : (p - 1) * tb;
        EXPECT_EQ(zb.timeline.makespan, m * (tf + tb + tw) + bubble) << p << " " << m;
        EXPECT_EQ(one.timeline.makespan, m * (tf + tb + tw) + (p - 1) * (tf + tb + tw));
        for (int s = 0; s < p; ++s) EXPECT_EQ(zb.max_in_flight(s), p) << s;
        // Every nanosecond of every stage is compute or bubble, once.
        for (const auto& b : breakdown_per_process(zb.graph, zb.timeline)) {
          EXPECT_DOUBLE_EQ(b.compute_s, (m * (tf + tb + tw)).seconds());
          EXPECT_DOUBLE_EQ(b.compute_s + b.bubble_s, zb.timeline.makespan.seconds());
        }
      }
    }
  }
}

TEST(PeakActivation, OneFOneBHoldsInFlightTimesPerMicroBatch) {
  for (int s = 0; s < 4; ++s) {
    EXPECT_DOUBLE_EQ(peak_activation_bytes(stage_order(Schedule::one_f_one_b, s, 4, 8), 10, 7),
                     10.0 * static_cast<double>(chunks_in_flight(Schedule::one_f_one_b, s, 4, 8, 1)));
  }
}

TEST(PeakActivation, ZeroBubbleH1FirstStageMatchesOneFOneBLastHoldsWeightGradInputs) {
  // Stage 0 runs W right after B: p M_B, as under 1F1B. The last stage keeps p - 1
  // micro-batches waiting for W beside the one between F and B: M_B + (p-1) M_W.
  const double mb = 34, mw = 32;
  for (int p : {2, 4, 8}) {
    EXPECT_DOUBLE_EQ(peak_activation_bytes(stage_order(Schedule::zb_h1, 0, p, 16), mb, mw), p * mb);
    EXPECT_DOUBLE_EQ(peak_activation_bytes(stage_order(Schedule::zb_h1, p - 1, p, 16), mb, mw), mb + (p - 1) * mw);
  }
}

}  // namespace
}  // namespace ptsim::strategies
