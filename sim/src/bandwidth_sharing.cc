#include "ptsim/sim/bandwidth_sharing.h"

#include "flow_slots.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <limits>
#include <stdexcept>

namespace ptsim::sim {
namespace {

constexpr std::uint32_t kNotInHeap = std::numeric_limits<std::uint32_t>::max();

// Rates within one part in 1e12 are the same rate: rounding noise, not a change.
bool same_rate(double a, double b) {
  return std::abs(a - b) <= 1e-12 * std::max(std::abs(a), std::abs(b));
}

}  // namespace

// ---- MaxMinFairSharing ----------------------------------------------------------------

MaxMinFairSharing::MaxMinFairSharing(FlowNetwork network)
    : net_(network), slots_(std::make_unique<detail::FlowSlots>()) {
  const std::size_t links = net_.num_links();
  const std::size_t flows = net_.num_flows();
  if (links + flows >= kNotInHeap) throw std::length_error("MaxMinFairSharing: too many links and flows");
  num_links_ = static_cast<std::uint32_t>(links);
  members_.resize(links);
  link_seen_.assign(links, 0);
  link_touched_.assign(links, 0);
  remaining_capacity_.assign(links, 0.0);
  unfrozen_.assign(links, 0);
  link_heap_pos_.assign(links, kNotInHeap);
}

MaxMinFairSharing::~MaxMinFairSharing() = default;

double MaxMinFairSharing::rate_bytes_per_s(FlowId flow) const {
  const std::uint32_t slot = slots_->find(flow);
  return slot == detail::FlowSlots::kNone ? 0.0 : active_[slot].rate;
}

void MaxMinFairSharing::add_flow(FlowId flow) {
  // Per link member entry and per heap entry: 8 and 16 bytes (the heap holds a component).
  static_assert(sizeof(Member) == 8 && sizeof(Level) == 16);
  const std::uint32_t slot = slots_->insert(flow);
  if (slot == active_.size()) active_.emplace_back();
  Active& a = active_[slot];
  a.flow = flow;
  a.rate = 0;
  a.seen = 0;
  a.heap_pos = kNotInHeap;
  a.live = true;
  const auto path = net_.path(flow);
  a.member_pos.resize(path.size());
  for (std::uint32_t k = 0; k < path.size(); ++k) {
    auto& on_link = members_[path[k]];
    a.member_pos[k] = static_cast<std::uint32_t>(on_link.size());
    on_link.push_back(Member{slot, k});
  }
  added_.push_back(slot);
}

void MaxMinFairSharing::remove_flow(FlowId flow) {
  assert(slots_->find(flow) != detail::FlowSlots::kNone && "removing a flow that is not active");
  const std::uint32_t slot = slots_->erase(flow);  // its entries stay valid until reused
  Active& a = active_[slot];
  const auto path = net_.path(flow);
  for (std::uint32_t k = 0; k < path.size(); ++k) {
    auto& on_link = members_[path[k]];
    const std::uint32_t pos = a.member_pos[k];
    on_link[pos] = on_link.back();
    active_[on_link[pos].slot].member_pos[on_link[pos].entry] = pos;
    on_link.pop_back();
  }
  a.rate = 0;
  a.live = false;
  removed_.push_back(flow);
}

// Visiting a link or flow also readies it for filling: a link starts with its whole
// capacity shared by all its flows, a capped flow with its cap; heap order comes later.
void MaxMinFairSharing::visit_link(LinkId link) {
  if (link_seen_[link] == epoch_) return;
  link_seen_[link] = epoch_;
  component_links_.push_back(link);
  const auto n = static_cast<std::uint32_t>(members_[link].size());
  unfrozen_[link] = n;
  remaining_capacity_[link] = net_.link_capacity_bytes_per_s[link];
  if (n > 0) {
    link_heap_pos_[link] = static_cast<std::uint32_t>(heap_.size());
    heap_.push_back(Level{remaining_capacity_[link] / n, link, 0});
  }
}

void MaxMinFairSharing::visit_flow(std::uint32_t slot) {
  Active& a = active_[slot];
  a.seen = epoch_;
  ++component_size_;
  const double cap = net_.max_rate(a.flow);
  if (cap > 0) {
    a.heap_pos = static_cast<std::uint32_t>(heap_.size());
    heap_.push_back(Level{cap, num_links_ + a.flow, slot});
  }
  for (LinkId l : net_.path(a.flow)) visit_link(l);
}

void MaxMinFairSharing::recompute(std::vector<FlowId>& changed) {
  changed.clear();
  changed_rates_.clear();
  if (added_.empty() && removed_.empty()) return;
  ++epoch_;
  component_links_.clear();
  component_size_ = 0;
  heap_.clear();
  for (FlowId f : removed_) {
    for (LinkId l : net_.path(f)) visit_link(l);
  }
  for (const std::uint32_t slot : added_) {
    // A flow added and removed again since the last recompute is no longer live (its slot
    // may since hold another added flow, which is then visited either way).
    if (active_[slot].live && active_[slot].seen != epoch_) visit_flow(slot);
  }
  added_.clear();
  removed_.clear();
  // Breadth-first over links: every active flow on a component link joins, with its links.
  for (std::size_t i = 0; i < component_links_.size(); ++i) {
    for (const Member& m : members_[component_links_[i]]) {
      if (active_[m.slot].seen != epoch_) visit_flow(m.slot);
    }
  }
  changed_ = &changed;
  fill();
  changed_ = nullptr;
}

// Freezes the flow in `slot` at `rate` and reports it if that is a change. Frozen flows
// are those whose stamp was moved past this recompute's epoch.
void MaxMinFairSharing::freeze(std::uint32_t slot, double rate) {
  Active& a = active_[slot];
  a.seen = frozen_epoch_;
  --component_size_;
  if (!same_rate(rate, a.rate)) {
    a.rate = rate;
    changed_->push_back(a.flow);
    changed_rates_.push_back(rate);
  }
  if (net_.max_rate(a.flow) > 0) heap_erase(num_links_ + a.flow, slot);
  for (LinkId l : net_.path(a.flow)) {
    remaining_capacity_[l] -= rate;
    --unfrozen_[l];
    if (link_touched_[l] != touch_epoch_) {
      link_touched_[l] = touch_epoch_;
      touched_.push_back(l);
    }
  }
}

// Progressive filling: the heap's smallest level is the next bottleneck. Freezing a flow
// at level x on a link whose share is s >= x leaves that link a share (r - x) / (n - 1)
// >= s, so levels only rise; the max() with the current level keeps that true under
// rounding, and keeps every rate > 0.
void MaxMinFairSharing::fill() {
  level_ = 0;
  frozen_epoch_ = ++epoch_;
  heapify();

  while (!heap_.empty()) {
    const Level top = heap_.front();
    heap_erase(top.node, top.slot);
    level_ = std::max(level_, top.share);
    ++touch_epoch_;  // each link touched below is updated once
    if (top.node >= num_links_) {
      freeze(top.slot, top.share);
    } else {
      for (const Member& m : members_[top.node]) {
        if (active_[m.slot].seen != frozen_epoch_) freeze(m.slot, level_);
      }
    }
    // Many keys changed (a link shared by many flows was the bottleneck): rebuilding the
    // heap in O(size) beats one O(log size) update per key.
    const bool rebuild = touched_.size() * 4 > heap_.size();
    for (LinkId l : touched_) {
      if (unfrozen_[l] == 0) {  // all its flows are frozen: it is no longer a candidate
        if (!rebuild) {
          heap_erase(l, 0);
        } else if (link_heap_pos_[l] != kNotInHeap) {
          heap_[link_heap_pos_[l]].share = -1.0;  // dropped by the rebuild below
        }
        continue;
      }
      const double share = std::max(std::max(remaining_capacity_[l], 0.0) / unfrozen_[l], level_);
      if (rebuild) {
        heap_[link_heap_pos_[l]].share = share;
      } else {
        heap_set(l, share);
      }
    }
    touched_.clear();
    if (rebuild) {
      std::size_t kept = 0;
      for (std::size_t i = 0; i < heap_.size(); ++i) {
        if (heap_[i].share < 0) {
          heap_pos(heap_[i]) = kNotInHeap;
        } else {
          heap_[kept] = heap_[i];
          heap_pos(heap_[kept]) = static_cast<std::uint32_t>(kept);
          ++kept;
        }
      }
      heap_.resize(kept);
      heapify();
    }
  }
  assert(component_size_ == 0 && "progressive filling left a flow without a rate");
}

bool MaxMinFairSharing::Level::operator<(const Level& other) const {
  return share != other.share ? share < other.share : node < other.node;
}

std::uint32_t& MaxMinFairSharing::heap_pos(const Level& level) {
  return level.node < num_links_ ? link_heap_pos_[level.node] : active_[level.slot].heap_pos;
}

// Links only: flows enter the heap when visited and leave it when frozen.
void MaxMinFairSharing::heap_set(std::uint32_t node, double share) {
  const std::uint32_t i = link_heap_pos_[node];
  if (i == kNotInHeap) {
    link_heap_pos_[node] = static_cast<std::uint32_t>(heap_.size());
    heap_.push_back(Level{share, node, 0});
    sift_up(heap_.size() - 1);
    return;
  }
  const double old = heap_[i].share;
  heap_[i].share = share;
  if (share < old) sift_up(i); else sift_down(i);
}

void MaxMinFairSharing::heap_erase(std::uint32_t node, std::uint32_t slot) {
  std::uint32_t& pos = node < num_links_ ? link_heap_pos_[node] : active_[slot].heap_pos;
  const std::uint32_t i = pos;
  if (i == kNotInHeap) return;
  pos = kNotInHeap;
  const Level last = heap_.back();
  heap_.pop_back();
  if (last.node == node) return;
  heap_[i] = last;
  heap_pos(last) = i;
  sift_up(i);
  sift_down(heap_pos(last));
}

void MaxMinFairSharing::heapify() {
  for (std::size_t i = heap_.size() / 2; i-- > 0;) sift_down(i);
}

void MaxMinFairSharing::sift_up(std::size_t i) {
  const Level moving = heap_[i];
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!(moving < heap_[parent])) break;
    heap_[i] = heap_[parent];
    heap_pos(heap_[i]) = static_cast<std::uint32_t>(i);
    i = parent;
  }
  heap_[i] = moving;
  heap_pos(moving) = static_cast<std::uint32_t>(i);
}

void MaxMinFairSharing::sift_down(std::size_t i) {
  const Level moving = heap_[i];
  const std::size_t n = heap_.size();
  while (true) {
    std::size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && heap_[child + 1] < heap_[child]) ++child;
    if (!(heap_[child] < moving)) break;
    heap_[i] = heap_[child];
    heap_pos(heap_[i]) = static_cast<std::uint32_t>(i);
    i = child;
  }
  heap_[i] = moving;
  heap_pos(moving) = static_cast<std::uint32_t>(i);
}

// ---- FifoSharing ----------------------------------------------------------------------

FifoSharing::FifoSharing(FlowNetwork network) : net_(network) {
  const std::size_t flows = net_.num_flows();
  queues_.resize(net_.num_links());
  active_.assign(flows, 0);
  rate_.assign(flows, 0.0);
  seen_.assign(flows, 0);
  solo_rate_.resize(flows);
  for (FlowId f = 0; f < flows; ++f) {
    double r = std::numeric_limits<double>::infinity();
    for (LinkId l : net_.path(f)) r = std::min(r, net_.link_capacity_bytes_per_s[l]);
    const double cap = net_.max_rate(f);
    if (cap > 0) r = std::min(r, cap);
    solo_rate_[f] = r;
  }
}

void FifoSharing::add_flow(FlowId flow) {
  assert(!active_[flow] && "flow added twice");
  active_[flow] = 1;
  rate_[flow] = 0;
  added_.push_back(flow);
}

void FifoSharing::pop_finished(LinkId link) {
  Queue& q = queues_[link];
  while (q.head < q.flows.size() && !active_[q.flows[q.head]]) ++q.head;
  if (q.head == q.flows.size()) {
    q.flows.clear();
    q.head = 0;
  } else if (q.head >= 64 && 2 * q.head >= q.flows.size()) {
    q.flows.erase(q.flows.begin(), q.flows.begin() + static_cast<std::ptrdiff_t>(q.head));
    q.head = 0;
  }
  if (q.head < q.flows.size()) candidates_.push_back(q.flows[q.head]);
}

void FifoSharing::remove_flow(FlowId flow) {
  assert(active_[flow] && "removing a flow that is not active");
  active_[flow] = 0;
  rate_[flow] = 0;
  for (LinkId l : net_.path(flow)) {
    const Queue& q = queues_[l];
    if (q.head < q.flows.size() && q.flows[q.head] == flow) pop_finished(l);
  }
}

bool FifoSharing::is_head_everywhere(FlowId flow) const {
  for (LinkId l : net_.path(flow)) {
    const Queue& q = queues_[l];
    if (q.flows[q.head] != flow) return false;
  }
  return true;
}

void FifoSharing::recompute(std::vector<FlowId>& changed) {
  changed.clear();
  changed_rates_.clear();
  // Flows added together arrive in id order, behind every flow already queued.
  std::sort(added_.begin(), added_.end());
  for (FlowId f : added_) {
    if (!active_[f]) continue;
    for (LinkId l : net_.path(f)) queues_[l].flows.push_back(f);
    candidates_.push_back(f);
  }
  added_.clear();
  ++epoch_;
  for (FlowId f : candidates_) {
    if (seen_[f] == epoch_) continue;
    seen_[f] = epoch_;
    if (!active_[f] || rate_[f] > 0 || !is_head_everywhere(f)) continue;
    rate_[f] = solo_rate_[f];
    changed.push_back(f);
    changed_rates_.push_back(rate_[f]);
  }
  candidates_.clear();
}

std::unique_ptr<BandwidthSharing> make_bandwidth_sharing(SharingPolicy policy, FlowNetwork network) {
  switch (policy) {
    case SharingPolicy::max_min:
      return std::make_unique<MaxMinFairSharing>(network);
    case SharingPolicy::fifo:
      return std::make_unique<FifoSharing>(network);
  }
  throw std::invalid_argument("make_bandwidth_sharing: unknown policy");
}

}  // namespace ptsim::sim
