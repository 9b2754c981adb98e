//! Minimum-cost flow by cost scaling and push-relabel (Goldberg and Tarjan; Goldberg's CS2,
//! as OR-Tools' `min_cost_flow.cc` and LEMON's `CostScaling` implement it), on integer costs.
//!
//! Costs are multiplied by `n + 1` (n nodes) so that ε = 1 in scaled units is below 1/n in
//! original units: a flow that is 1-optimal in scaled units is then optimal, because a cycle
//! of at most n arcs with reduced costs ≥ −1 each costs more than −(n + 1) scaled, i.e. more
//! than −1 original, and original costs are integers. Each phase (`refine`) divides ε by
//! `ALPHA`, saturates every arc that became admissible and pushes the resulting excesses
//! towards deficits along admissible arcs (reduced cost < 0), lowering the potential of a node
//! that has none (`relabel`). Two of CS2's heuristics are kept: look-ahead before a push (do
//! not push into a node that would only have to push it back) and the global price update
//! (a Dijkstra over ε-buckets from the deficits, run now and then), which on these bipartite
//! assignment graphs cuts the relabels by an order of magnitude.
//!
//! Reduced cost: `rc(v→w) = cost + π(v) − π(w)`; relabels only lower π.

use std::collections::VecDeque;

/// Divisor of ε between phases. OR-Tools uses 5, LEMON 16; 8 measured best on the
/// assignment benchmark here (fewer phases, each not much longer).
const ALPHA: i64 = 8;

/// One arc of the problem as the caller states it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ArcSpec {
    pub tail: u32,
    pub head: u32,
    pub capacity: i32,
    /// Original (unscaled) cost per unit.
    pub cost: i64,
}

/// A warm start: the flow of every arc (in the caller's arc order, the new arcs at 0) and the
/// scaled potentials of a previous solve on the same nodes, and the ε at which to resume.
pub(crate) struct WarmStart<'a> {
    pub flow: &'a [i32],
    pub potential: &'a [i64],
    pub epsilon: i64,
}

/// What a solve did, for the solver's figures.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub phases: u64,
    pub pushes: u64,
    pub relabels: u64,
    pub price_updates: u64,
}

/// The residual network in compressed rows: the arcs out of node `v` (forward arcs of the
/// problem and the reverse of arcs into `v`) are `first[v]..first[v + 1]`.
pub(crate) struct Network {
    first: Vec<u32>,
    head: Vec<u32>,
    /// The slot of the same arc in the other direction.
    opposite: Vec<u32>,
    /// Scaled cost; the reverse slot holds its negation.
    cost: Vec<i64>,
    residual: Vec<i32>,
    /// Slot of each caller's arc in the forward direction.
    forward_slot: Vec<u32>,
    capacity: Vec<i32>,
    pub(crate) potential: Vec<i64>,
    excess: Vec<i64>,
    current: Vec<u32>,
    /// `n + 1`: original cost × scale = scaled cost.
    pub(crate) scale: i64,
    pub(crate) counters: Counters,
    relabels_since_update: u64,
}

impl Network {
    /// Builds the network for `supply` (positive at sources, negative at deficits; it must
    /// sum to 0) and `arcs`.
    pub(crate) fn new(supply: &[i64], arcs: &[ArcSpec]) -> Self {
        let n = supply.len();
        let slots = 2 * arcs.len();
        assert!(u32::try_from(slots).is_ok() && u32::try_from(n).is_ok(), "network too large");
        let mut first = vec![0u32; n + 1];
        for a in arcs {
            first[a.tail as usize + 1] += 1;
            first[a.head as usize + 1] += 1;
        }
        for v in 0..n {
            first[v + 1] += first[v];
        }
        let mut fill = first.clone();
        let scale = i64::try_from(n).expect("node count fits i64") + 1;
        let mut head = vec![0u32; slots];
        let mut opposite = vec![0u32; slots];
        let mut cost = vec![0i64; slots];
        let mut residual = vec![0i32; slots];
        let mut forward_slot = Vec::with_capacity(arcs.len());
        for a in arcs {
            let f = fill[a.tail as usize];
            fill[a.tail as usize] += 1;
            let r = fill[a.head as usize];
            fill[a.head as usize] += 1;
            let scaled = a.cost.checked_mul(scale).expect("scaled cost overflows i64");
            head[f as usize] = a.head;
            head[r as usize] = a.tail;
            opposite[f as usize] = r;
            opposite[r as usize] = f;
            cost[f as usize] = scaled;
            cost[r as usize] = -scaled;
            residual[f as usize] = a.capacity;
            forward_slot.push(f);
        }
        let current = first[..n].to_vec();
        Self {
            first,
            head,
            opposite,
            cost,
            residual,
            forward_slot,
            capacity: arcs.iter().map(|a| a.capacity).collect(),
            potential: vec![0; n],
            excess: supply.to_vec(),
            current,
            scale,
            counters: Counters::default(),
            relabels_since_update: 0,
        }
    }

    fn nodes(&self) -> usize {
        self.excess.len()
    }

    fn reduced(&self, v: usize, slot: usize) -> i64 {
        self.cost[slot] + self.potential[v] - self.potential[self.head[slot] as usize]
    }

    fn push(&mut self, v: usize, slot: usize, amount: i32) {
        self.residual[slot] -= amount;
        self.residual[self.opposite[slot] as usize] += amount;
        self.excess[v] -= i64::from(amount);
        self.excess[self.head[slot] as usize] += i64::from(amount);
        self.counters.pushes += 1;
    }

    /// Solves from scratch, or resumes from `warm`. Panics if the supplies cannot be routed
    /// (the caller always provides a way out: the unserved arcs).
    pub(crate) fn solve(&mut self, warm: Option<WarmStart<'_>>) {
        let mut epsilon = match warm {
            Some(w) => {
                for (i, &f) in w.flow.iter().enumerate() {
                    let slot = self.forward_slot[i] as usize;
                    let tail = self.head[self.opposite[slot] as usize] as usize;
                    self.push(tail, slot, f);
                }
                self.potential.copy_from_slice(w.potential);
                // Already ε-optimal at `w.epsilon`: the first phase is the next one down.
                w.epsilon.max(1)
            }
            None => self.cost.iter().map(|c| c.abs()).max().unwrap_or(0).max(1).saturating_mul(ALPHA),
        };
        while epsilon > 1 {
            epsilon = (epsilon / ALPHA).max(1);
            self.refine(epsilon);
        }
    }

    /// One phase: make the flow ε-optimal.
    fn refine(&mut self, epsilon: i64) {
        self.counters.phases += 1;
        let n = self.nodes();
        for v in 0..n {
            for slot in self.first[v] as usize..self.first[v + 1] as usize {
                if self.residual[slot] > 0 && self.reduced(v, slot) < 0 {
                    self.push(v, slot, self.residual[slot]);
                }
            }
        }
        self.current.copy_from_slice(&self.first[..n]);
        self.update_prices(epsilon);
        let mut active: Vec<u32> = (0..n).filter(|&v| self.excess[v] > 0).map(|v| v as u32).collect();
        while let Some(v) = active.pop() {
            self.discharge(v as usize, epsilon, &mut active);
            // A price update every so often; how often follows CS2 (about once per n relabels).
            if self.relabels_since_update > n as u64 {
                self.update_prices(epsilon);
                active.retain(|&v| self.excess[v as usize] > 0);
                active.sort_unstable();
                active.dedup();
            }
        }
    }

    fn discharge(&mut self, v: usize, epsilon: i64, active: &mut Vec<u32>) {
        while self.excess[v] > 0 {
            let end = self.first[v + 1] as usize;
            let mut slot = self.current[v] as usize;
            while slot < end {
                if self.residual[slot] > 0 && self.reduced(v, slot) < 0 {
                    let w = self.head[slot] as usize;
                    // Look-ahead: a node without deficit and without an admissible arc
                    // would push the flow straight back; relabel it first, which may make
                    // this arc inadmissible.
                    if self.excess[w] >= 0 && !self.has_admissible(w) {
                        self.relabel(w, epsilon);
                        if self.reduced(v, slot) >= 0 {
                            slot += 1;
                            continue;
                        }
                    }
                    let amount = i64::from(self.residual[slot]).min(self.excess[v]);
                    let amount = i32::try_from(amount).expect("bounded by the residual capacity");
                    let was_active = self.excess[w] > 0;
                    self.push(v, slot, amount);
                    if !was_active && self.excess[w] > 0 {
                        active.push(w as u32);
                    }
                    if self.excess[v] == 0 {
                        break;
                    }
                }
                slot += 1;
            }
            self.current[v] = slot.min(end) as u32;
            if self.excess[v] > 0 {
                self.relabel(v, epsilon);
            }
        }
    }

    /// Whether `v` has an admissible arc from its current one on (moving the current arc).
    fn has_admissible(&mut self, v: usize) -> bool {
        let end = self.first[v + 1] as usize;
        let mut slot = self.current[v] as usize;
        while slot < end {
            if self.residual[slot] > 0 && self.reduced(v, slot) < 0 {
                self.current[v] = slot as u32;
                return true;
            }
            slot += 1;
        }
        self.current[v] = end as u32;
        false
    }

    /// Lowers π(v) as far as ε-optimality allows: the best residual arc gets reduced cost −ε.
    fn relabel(&mut self, v: usize, epsilon: i64) {
        self.counters.relabels += 1;
        self.relabels_since_update += 1;
        let mut best = i64::MIN;
        for slot in self.first[v] as usize..self.first[v + 1] as usize {
            if self.residual[slot] > 0 {
                best = best.max(self.potential[self.head[slot] as usize] - self.cost[slot]);
            }
        }
        assert!(best > i64::MIN || self.excess[v] <= 0, "a node with excess has no residual arc: infeasible");
        if best > i64::MIN {
            self.potential[v] = best - epsilon;
        }
        self.current[v] = self.first[v];
    }

    /// CS2's global price update: the distance of every node to the set of deficits in the
    /// residual graph, counted in ε, with an arc of reduced cost c "costing" ⌊c/ε⌋ + 1
    /// buckets (admissible arcs cost 0), found by a bucketed Dijkstra backwards from the
    /// deficits. Lowering each π by ε × distance keeps the flow ε-optimal and makes a path of
    /// admissible arcs from every node with excess to a deficit.
    fn update_prices(&mut self, epsilon: i64) {
        self.counters.price_updates += 1;
        self.relabels_since_update = 0;
        let n = self.nodes();
        if !self.excess.iter().any(|&e| e > 0) {
            return;
        }
        let unreached = u32::MAX;
        let mut rank = vec![unreached; n];
        let mut buckets: Vec<Vec<u32>> = vec![Vec::new()];
        for v in 0..n {
            if self.excess[v] < 0 {
                rank[v] = 0;
                buckets[0].push(v as u32);
            }
        }
        let mut remaining_excess: i64 = self.excess.iter().filter(|&&e| e > 0).sum();
        let mut settled = vec![false; n];
        // Ranks past this are not worth a bucket: such a node is left at the last level.
        let limit = 4 * n as u64 + 16;
        let mut level = 0usize;
        let mut queue = VecDeque::new();
        'levels: while level < buckets.len() {
            let bucket = std::mem::take(&mut buckets[level]);
            queue.extend(bucket);
            while let Some(w) = queue.pop_front() {
                let w = w as usize;
                if settled[w] || rank[w] as usize != level {
                    continue;
                }
                settled[w] = true;
                if self.excess[w] > 0 {
                    remaining_excess -= self.excess[w];
                    if remaining_excess <= 0 {
                        break 'levels;
                    }
                }
                // Arcs v→w with residual capacity: the opposites of w's slots.
                for slot in self.first[w] as usize..self.first[w + 1] as usize {
                    let back = self.opposite[slot] as usize;
                    if self.residual[back] == 0 {
                        continue;
                    }
                    let v = self.head[slot] as usize;
                    if settled[v] {
                        continue;
                    }
                    let rc = self.reduced(v, back);
                    let step = if rc < 0 { 0 } else { (rc / epsilon) as u64 + 1 };
                    let candidate = level as u64 + step;
                    if candidate < u64::from(rank[v]) && candidate <= limit {
                        rank[v] = candidate as u32;
                        if step == 0 {
                            queue.push_back(v as u32);
                        } else {
                            let c = candidate as usize;
                            if buckets.len() <= c {
                                buckets.resize_with(c + 1, Vec::new);
                            }
                            buckets[c].push(v as u32);
                        }
                    }
                }
            }
            level += 1;
        }
        // Every node not settled has a tentative rank of at least `level` (those below were
        // all settled), so capping them there keeps every residual arc ε-optimal.
        let stop = level as u32;
        for v in 0..n {
            let r = if settled[v] { rank[v] } else { rank[v].min(stop) };
            if r > 0 {
                self.potential[v] -= epsilon * i64::from(r);
            }
        }
        self.current.copy_from_slice(&self.first[..n]);
    }

    /// Σ flow × scaled cost.
    pub(crate) fn cost_scaled(&self) -> i128 {
        self.forward_slot
            .iter()
            .zip(&self.capacity)
            .map(|(&slot, &cap)| i128::from(cap - self.residual[slot as usize]) * i128::from(self.cost[slot as usize]))
            .sum()
    }

    /// The flow on each of the caller's arcs.
    pub(crate) fn flows(&self) -> Vec<i32> {
        self.forward_slot.iter().zip(&self.capacity).map(|(&slot, &cap)| cap - self.residual[slot as usize]).collect()
    }

    /// Moves each node's potential to the end of its feasible interval that helps the
    /// optimality proof of dropped arcs `rep → place`: representatives as high and places
    /// as low as 1-optimality of the arcs present allows. The flow stays 1-optimal.
    pub(crate) fn tighten(&mut self, raise: impl Iterator<Item = usize>, lower: impl Iterator<Item = usize>) {
        for v in raise {
            // Residual arcs into v bound π(v) from above: cost + π(u) − π(v) ≥ −1.
            let mut bound = i64::MAX;
            for slot in self.first[v] as usize..self.first[v + 1] as usize {
                let back = self.opposite[slot] as usize;
                if self.residual[back] > 0 {
                    bound = bound.min(self.cost[back] + self.potential[self.head[slot] as usize] + 1);
                }
            }
            if bound < i64::MAX {
                self.potential[v] = bound;
            }
        }
        for v in lower {
            // Residual arcs out of v bound π(v) from below: cost + π(v) − π(w) ≥ −1.
            let mut bound = i64::MIN;
            for slot in self.first[v] as usize..self.first[v + 1] as usize {
                if self.residual[slot] > 0 {
                    bound = bound.max(self.potential[self.head[slot] as usize] - self.cost[slot] - 1);
                }
            }
            if bound > i64::MIN {
                self.potential[v] = bound;
            }
        }
    }

    /// The two terms of the Lagrangian lower bound on the optimum (see `prune.rs`), in scaled
    /// units: −Σ supply × π, and Σ over the arcs present of capacity × max(0, −reduced cost).
    pub(crate) fn lagrangian_terms(&self, supply: &[i64]) -> (i128, i128) {
        let mut negative = 0i128;
        for (&slot, &cap) in self.forward_slot.iter().zip(&self.capacity) {
            let slot = slot as usize;
            let tail = self.head[self.opposite[slot] as usize] as usize;
            let rc = self.reduced(tail, slot);
            if rc < 0 {
                negative += i128::from(cap) * i128::from(-rc);
            }
        }
        let supply_term = supply.iter().zip(&self.potential).map(|(&b, &p)| -i128::from(b) * i128::from(p)).sum();
        (supply_term, negative)
    }
}
