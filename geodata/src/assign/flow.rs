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
//! (a Dijkstra over ε-buckets from the deficits, run now and then): without it the medium
//! benchmark ran over 30 times longer.
//!
//! Reduced cost: `rc(v→w) = cost + π(v) − π(w)`; relabels only lower π.
//!
//! Pruned networks are solved by successive shortest paths instead (`solve_paths`): each
//! deficit (a place's need) is met from the nearest excess by a Dijkstra backwards over
//! reduced costs, and only the nodes that search settled change price, so the potentials
//! stay exactly feasible (every residual arc ≥ 0). On this network most searches end at
//! the place's nearest representative with room, and a re-solve after the proof adds arcs
//! starts from the previous flow and touches only the places whose arcs turned negative,
//! where a cost-scaling re-solve must run its phases over the whole network again.
#![expect(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "node and slot indices are checked to fit u32 when the network is built; ranks are capped below 2^31"
)]

use std::collections::VecDeque;

/// Divisor of ε between phases. OR-Tools uses 5, LEMON 16; on the assignment benchmark 5, 8
/// and 16 were within noise of each other (fewer phases, each longer).
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

/// A warm start of `solve_paths`: the flow of every arc (in the caller's arc order, the new
/// arcs at 0) and the exact potentials of a previous solve on the same nodes.
pub(crate) struct WarmStart<'a> {
    pub flow: &'a [i32],
    pub potential: &'a [i64],
}

/// What a solve did, for the solver's figures.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Counters {
    pub phases: u64,
    pub pushes: u64,
    pub relabels: u64,
    pub price_updates: u64,
    /// Successive shortest paths: augmenting paths, and nodes settled by their searches.
    pub paths: u64,
    pub settled: u64,
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
    /// The capacity of the arc through each slot, the sum of its two residuals: the
    /// searches backwards read a slot's opposite residual as `pair − residual`, in order,
    /// instead of at a random place.
    pair: Vec<i32>,
    /// For the shortest-path searches: the slots out of each node whose opposite has
    /// residual capacity (the arcs a backward search follows), each node's in its own
    /// segment `first[v]..first[v] + live_len[v]`, and each slot's place there. A
    /// representative's few assigned places, not its hundreds of candidates.
    live: Vec<u32>,
    live_len: Vec<u32>,
    live_pos: Vec<u32>,
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
    rank: Vec<u32>,
    buckets: Vec<Vec<u32>>,
    /// How far below 0 a residual arc's reduced cost may be once solved: 1 after cost
    /// scaling (1-optimal), 0 after successive shortest paths (exactly optimal).
    pub(crate) slack: i64,
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
        let mut pair = vec![0i32; slots];
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
            pair[f as usize] = a.capacity;
            pair[r as usize] = a.capacity;
            forward_slot.push(f);
        }
        let current = first[..n].to_vec();
        Self {
            first,
            head,
            opposite,
            cost,
            residual,
            pair,
            live: Vec::new(),
            live_len: Vec::new(),
            live_pos: Vec::new(),
            forward_slot,
            capacity: arcs.iter().map(|a| a.capacity).collect(),
            potential: vec![0; n],
            excess: supply.to_vec(),
            current,
            scale,
            counters: Counters::default(),
            relabels_since_update: 0,
            rank: Vec::new(),
            buckets: Vec::new(),
            slack: 1,
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

    /// Solves from scratch by cost scaling. Panics if the supplies cannot be routed (the
    /// caller always provides a way out: the unserved arcs).
    pub(crate) fn solve(&mut self) {
        let mut epsilon = self.cost.iter().map(|c| c.abs()).max().unwrap_or(0).max(1).saturating_mul(ALPHA);
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
        let mut active: VecDeque<u32> = (0..n).filter(|&v| self.excess[v] > 0).map(|v| v as u32).collect();
        // FIFO: on the benchmark a third less flow time than a stack (OR-Tools' choice).
        while let Some(v) = active.pop_front() {
            self.discharge(v as usize, epsilon, &mut active);
            // A price update every so often; how often follows CS2 (about once per n relabels).
            if self.relabels_since_update > n as u64 {
                self.update_prices(epsilon);
                active.retain(|&v| self.excess[v as usize] > 0);
            }
        }
    }

    fn discharge(&mut self, v: usize, epsilon: i64, active: &mut VecDeque<u32>) {
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
                        active.push_back(w as u32);
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
        // Settled nodes have the top bit set in `rank`.
        const SETTLED: u32 = 1 << 31;
        const UNREACHED: u32 = SETTLED - 1;
        self.counters.price_updates += 1;
        self.relabels_since_update = 0;
        let n = self.nodes();
        let mut remaining_excess: i64 = self.excess.iter().filter(|&&e| e > 0).sum();
        if remaining_excess == 0 {
            return;
        }
        // Buffers kept between updates: there are hundreds per solve.
        let mut rank = std::mem::take(&mut self.rank);
        let mut buckets = std::mem::take(&mut self.buckets);
        rank.clear();
        rank.resize(n, UNREACHED);
        for b in &mut buckets {
            b.clear();
        }
        if buckets.is_empty() {
            buckets.push(Vec::new());
        }
        for (v, r) in rank.iter_mut().enumerate() {
            if self.excess[v] < 0 {
                *r = 0;
                buckets[0].push(v as u32);
            }
        }
        // Ranks past this are not worth a bucket: such a node is left at the last level.
        let limit = (4 * n as u64 + 16).min(u64::from(UNREACHED - 1));
        let mut level = 0usize;
        'levels: while level < buckets.len() {
            // Within a level the order does not matter: a stack.
            while let Some(w) = buckets[level].pop() {
                let w = w as usize;
                if rank[w] as usize != level {
                    continue;
                }
                rank[w] |= SETTLED;
                if self.excess[w] > 0 {
                    remaining_excess -= self.excess[w];
                    if remaining_excess <= 0 {
                        break 'levels;
                    }
                }
                // Arcs v→w with residual capacity: the opposites of w's slots.
                for slot in self.first[w] as usize..self.first[w + 1] as usize {
                    // The residual of the opposite slot, without reading it (see `pair`).
                    if self.residual[slot] == self.pair[slot] {
                        continue;
                    }
                    let v = self.head[slot] as usize;
                    if rank[v] & SETTLED != 0 {
                        continue;
                    }
                    let rc = self.potential[v] - self.cost[slot] - self.potential[w];
                    let step = if rc < 0 { 0 } else { (rc / epsilon) as u64 + 1 };
                    let candidate = level as u64 + step;
                    if candidate < u64::from(rank[v]) && candidate <= limit {
                        rank[v] = candidate as u32;
                        let c = candidate as usize;
                        if buckets.len() <= c {
                            buckets.resize_with(c + 1, Vec::new);
                        }
                        buckets[c].push(v as u32);
                    }
                }
            }
            level += 1;
        }
        // Every node not settled has a tentative rank of at least `level` (those below were
        // all settled), so capping them there keeps every residual arc ε-optimal.
        let stop = level as u32;
        for (p, &r) in self.potential.iter_mut().zip(&rank) {
            let r = if r & SETTLED != 0 { r & !SETTLED } else { r.min(stop) };
            if r > 0 {
                *p -= epsilon * i64::from(r);
            }
        }
        self.current.copy_from_slice(&self.first[..n]);
        self.rank = rank;
        self.buckets = buckets;
    }

    /// Solves by successive shortest paths instead, from scratch or resuming from `warm`
    /// (whose potentials must be exactly feasible for the old arcs: `slack` 0). Each
    /// deficit is met from the nearest node with excess, found by a Dijkstra backwards
    /// over reduced costs, which stays local on this network: a place's search ends at the
    /// first representative with room (or whose unit the warm start freed), and only what
    /// it settled changes price. Ends exactly optimal (every residual arc has reduced cost
    /// ≥ 0), so `slack` becomes 0.
    pub(crate) fn solve_paths(&mut self, warm: Option<WarmStart<'_>>) {
        self.slack = 0;
        // `pushes` counts the cost-scaling pushes only.
        let pushes = self.counters.pushes;
        if let Some(w) = warm {
            for (i, &f) in w.flow.iter().enumerate() {
                let slot = self.forward_slot[i] as usize;
                let tail = self.head[self.opposite[slot] as usize] as usize;
                self.push(tail, slot, f);
            }
            self.potential.copy_from_slice(w.potential);
            self.reopen_violated();
        }
        // From scratch every potential is 0 and every representative's room is lent.
        let sink = self.sinks();
        self.lend_room(&sink);
        let n = self.nodes();
        self.build_live();
        let mut search = Search::new(n);
        // In node order, which is along the ground (see `mod.rs`): consecutive searches
        // touch the same memory. A scattered order settled a fifth fewer nodes on the
        // large benchmark but took a fifth longer.
        for t in 1..n {
            while self.excess[t] < 0 {
                self.shortest_path_to(t, &mut search);
            }
        }
        // What is left is excess at representatives and the source's deficit, if it lent
        // room: the room that is left goes back, then the rest finds its way forwards.
        self.return_room();
        for v in 1..n {
            while self.excess[v] > 0 {
                self.shortest_path_from(v, &mut search);
            }
        }
        while self.excess[0] < 0 {
            self.shortest_path_to(0, &mut search);
        }
        self.counters.pushes = pushes;
    }

    /// Makes the potentials exactly feasible again after arcs were added. A sink (a place:
    /// no arcs out) with an arc in of negative reduced cost gives back all the flow it
    /// receives, becoming a deficit again, and takes the highest price its arcs in allow.
    /// Each unit stays as excess at the node it came from (a representative), for a
    /// search to find.
    fn reopen_violated(&mut self) {
        let n = self.nodes();
        let sink = self.sinks();
        let mut reopened = vec![false; n];
        let mut queue: Vec<usize> = (0..n)
            .filter(|&v| {
                sink[v]
                    && (self.first[v] as usize..self.first[v + 1] as usize).any(|slot| {
                        let back = self.opposite[slot] as usize;
                        self.residual[back] > 0
                            && self.cost[back] + self.potential[self.head[slot] as usize] - self.potential[v] < 0
                    })
            })
            .collect();
        while let Some(v) = queue.pop() {
            if reopened[v] {
                continue;
            }
            reopened[v] = true;
            for slot in self.first[v] as usize..self.first[v + 1] as usize {
                let f = self.residual[slot];
                if f == 0 {
                    continue;
                }
                self.push(v, slot, f);
            }
            let price = (self.first[v] as usize..self.first[v + 1] as usize)
                .map(|slot| self.cost[self.opposite[slot] as usize] + self.potential[self.head[slot] as usize])
                .min();
            if let Some(price) = price {
                self.potential[v] = price;
            }
        }
    }

    /// Nodes without arcs out: the places.
    fn sinks(&self) -> Vec<bool> {
        let mut sink = vec![true; self.nodes()];
        for &slot in &self.forward_slot {
            sink[self.head[self.opposite[slot as usize] as usize] as usize] = false;
        }
        sink
    }

    /// Before a warm re-solve: the room of every representative priced as the source
    /// (node 0) moves to it as excess, so that a search ends at the first representative
    /// with room instead of passing through the source, whose arcs reach everything (the
    /// source keeps the matching deficit). The arc is tight (reduced cost 0), so pushing
    /// along it keeps every reduced cost as it was.
    fn lend_room(&mut self, sink: &[bool]) {
        for slot in self.first[0] as usize..self.first[1] as usize {
            let r = self.head[slot] as usize;
            let room = self.residual[slot];
            if !sink[r] && room > 0 && self.cost[slot] + self.potential[0] - self.potential[r] == 0 {
                self.push(0, slot, room);
            }
        }
    }

    /// After the sinks are met: what is left of the lent room goes back to the source
    /// along the same tight arcs.
    fn return_room(&mut self) {
        for slot in self.first[0] as usize..self.first[1] as usize {
            let r = self.head[slot] as usize;
            let back = self.opposite[slot] as usize;
            if self.excess[r] > 0 && self.cost[slot] + self.potential[0] - self.potential[r] == 0 {
                let amount = i32::try_from(self.excess[r].min(i64::from(self.residual[back]))).expect("a flow");
                self.push_live(r, back, amount);
            }
        }
    }

    /// Fills the live lists (see `live`) from the residual capacities as they are.
    fn build_live(&mut self) {
        let n = self.nodes();
        self.live = vec![0; self.head.len()];
        self.live_pos = vec![u32::MAX; self.head.len()];
        self.live_len = vec![0; n];
        for v in 0..n {
            for slot in self.first[v] as usize..self.first[v + 1] as usize {
                if self.residual[slot] < self.pair[slot] {
                    self.live_add(v, slot);
                }
            }
        }
    }

    fn live_add(&mut self, v: usize, slot: usize) {
        let at = self.first[v] + self.live_len[v];
        self.live[at as usize] = slot as u32;
        self.live_pos[slot] = at;
        self.live_len[v] += 1;
    }

    fn live_remove(&mut self, v: usize, slot: usize) {
        let at = self.live_pos[slot] as usize;
        self.live_len[v] -= 1;
        let last_at = (self.first[v] + self.live_len[v]) as usize;
        let last = self.live[last_at];
        self.live[at] = last;
        self.live_pos[last as usize] = at as u32;
        self.live_pos[slot] = u32::MAX;
    }

    /// `push`, keeping the live lists: `slot` may join its tail's, its opposite may leave
    /// its head's.
    fn push_live(&mut self, v: usize, slot: usize, amount: i32) {
        let opposite = self.opposite[slot] as usize;
        let was_full = self.residual[slot] == self.pair[slot];
        let opposite_was_short = self.residual[opposite] < self.pair[opposite];
        self.push(v, slot, amount);
        if was_full && self.residual[slot] < self.pair[slot] {
            self.live_add(v, slot);
        }
        if opposite_was_short && self.residual[opposite] == self.pair[opposite] {
            self.live_remove(self.head[slot] as usize, opposite);
        }
    }

    /// One augmentation into deficit `t` from the nearest node with excess, and the price
    /// update that keeps every residual arc's reduced cost ≥ 0: a node settled at distance
    /// δ < D (D the distance of the node found) rises by D − δ.
    fn shortest_path_to(&mut self, t: usize, search: &mut Search) {
        search.begin();
        search.reach(t, 0, u32::MAX);
        let mut found = None;
        // The distance of the nearest excess reached so far: nothing at or past it can be
        // settled before it, so it is not worth a place in the heap.
        let mut bound = i64::MAX;
        while let Some((d, v)) = search.heap.pop() {
            let v = v as usize;
            if search.stale(v, d) {
                continue;
            }
            if v != t && self.excess[v] > 0 {
                found = Some((v, d));
                break;
            }
            search.settle(v, d);
            self.counters.settled += 1;
            let live = self.first[v] as usize..(self.first[v] + self.live_len[v]) as usize;
            for at in live {
                let slot = self.live[at] as usize;
                let u = self.head[slot] as usize;
                if search.settled(u) {
                    continue;
                }
                let rc = self.potential[u] - self.cost[slot] - self.potential[v];
                debug_assert!(rc >= 0, "negative reduced cost {rc} in a shortest-path search");
                if d + rc < bound && search.improves(u, d + rc) {
                    search.reach(u, d + rc, self.opposite[slot]);
                    if u != t && self.excess[u] > 0 {
                        // Nothing left is nearer than d: an excess reached at no extra
                        // cost ends the search (a place whose nearest representative has
                        // room costs one settled node).
                        if rc == 0 {
                            found = Some((u, d));
                            break;
                        }
                        bound = d + rc;
                    }
                }
            }
            if found.is_some() {
                break;
            }
        }
        let (source, distance) = found.expect("a deficit that no excess can reach: infeasible");
        self.counters.paths += 1;
        let mut amount = self.excess[source].min(-self.excess[t]);
        let mut v = source;
        while v != t {
            let slot = search.pred(v);
            amount = amount.min(i64::from(self.residual[slot]));
            v = self.head[slot] as usize;
        }
        let amount = i32::try_from(amount).expect("bounded by a residual capacity");
        let mut v = source;
        while v != t {
            let slot = search.pred(v);
            self.push_live(v, slot, amount);
            v = self.head[slot] as usize;
        }
        for &(v, d) in &search.order {
            self.potential[v as usize] += distance - d;
        }
    }

    /// The same from excess `source` forwards to the nearest deficit: a settled node at
    /// distance δ < D falls by D − δ. For the units the warm start freed at representatives
    /// priced above the source that no place took: their way back to the source is short
    /// forwards, while backwards from the source every representative with room is at
    /// distance 0.
    fn shortest_path_from(&mut self, source: usize, search: &mut Search) {
        search.begin();
        search.reach(source, 0, u32::MAX);
        let mut found = None;
        while let Some((d, v)) = search.heap.pop() {
            let v = v as usize;
            if search.stale(v, d) {
                continue;
            }
            if v != source && self.excess[v] < 0 {
                found = Some((v, d));
                break;
            }
            search.settle(v, d);
            self.counters.settled += 1;
            for slot in self.first[v] as usize..self.first[v + 1] as usize {
                if self.residual[slot] == 0 {
                    continue;
                }
                let w = self.head[slot] as usize;
                if search.settled(w) {
                    continue;
                }
                let rc = self.cost[slot] + self.potential[v] - self.potential[w];
                debug_assert!(rc >= 0, "negative reduced cost {rc} in a shortest-path search");
                if search.improves(w, d + rc) {
                    search.reach(w, d + rc, slot as u32);
                    if rc == 0 && w != source && self.excess[w] < 0 {
                        found = Some((w, d));
                        break;
                    }
                }
            }
            if found.is_some() {
                break;
            }
        }
        let (sink, distance) = found.expect("an excess that reaches no deficit: infeasible");
        self.counters.paths += 1;
        let mut amount = self.excess[source].min(-self.excess[sink]);
        let mut w = sink;
        while w != source {
            let slot = search.pred(w);
            amount = amount.min(i64::from(self.residual[slot]));
            w = self.head[self.opposite[slot] as usize] as usize;
        }
        let amount = i32::try_from(amount).expect("bounded by a residual capacity");
        let mut w = sink;
        while w != source {
            let slot = search.pred(w);
            let v = self.head[self.opposite[slot] as usize] as usize;
            self.push_live(v, slot, amount);
            w = v;
        }
        for &(v, d) in &search.order {
            self.potential[v as usize] -= distance - d;
        }
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
                    bound = bound.min(self.cost[back] + self.potential[self.head[slot] as usize] + self.slack);
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
                    bound = bound.max(self.potential[self.head[slot] as usize] - self.cost[slot] - self.slack);
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

/// The reusable state of the shortest-path searches: distances and marks are stamped with
/// the search's number, so starting one costs nothing.
struct Search {
    stamp: u32,
    /// Per node, together so that a node touched is one cache line.
    marks: Vec<Mark>,
    heap: RadixHeap,
    /// Settled nodes and their distances, in order.
    order: Vec<(u32, i64)>,
}

#[derive(Clone, Copy)]
struct Mark {
    /// The search that last reached the node, and the one that settled it.
    reached: u32,
    done: u32,
    /// The slot the node was reached through.
    pred: u32,
    dist: i64,
}

impl Search {
    fn new(n: usize) -> Self {
        Self {
            stamp: 0,
            marks: vec![Mark { reached: 0, done: 0, pred: u32::MAX, dist: i64::MAX }; n],
            heap: RadixHeap::default(),
            order: Vec::new(),
        }
    }

    fn begin(&mut self) {
        self.stamp += 1;
        self.heap.clear();
        self.order.clear();
    }

    fn settled(&self, v: usize) -> bool {
        self.marks[v].done == self.stamp
    }

    /// Whether `d` is stale: the node is settled or was reached nearer since.
    fn stale(&self, v: usize, d: i64) -> bool {
        let m = &self.marks[v];
        m.done == self.stamp || d > m.dist
    }

    fn pred(&self, v: usize) -> usize {
        self.marks[v].pred as usize
    }

    fn settle(&mut self, v: usize, d: i64) {
        self.marks[v].done = self.stamp;
        self.order.push((v as u32, d));
    }

    fn improves(&self, v: usize, d: i64) -> bool {
        let m = &self.marks[v];
        m.reached != self.stamp || d < m.dist
    }

    fn reach(&mut self, v: usize, d: i64, pred: u32) {
        if self.improves(v, d) {
            let m = &mut self.marks[v];
            m.reached = self.stamp;
            m.dist = d;
            m.pred = pred;
            self.heap.push(d, v as u32);
        }
    }
}

/// A radix heap (Ahuja, Mehlhorn, Orlin and Tarjan): a Dijkstra's keys never fall below
/// the last one taken, so an entry only needs the bucket of the highest bit in which it
/// differs from that key. A push is a `Vec::push`; the searches make tens of millions.
struct RadixHeap {
    last: u64,
    len: usize,
    buckets: [Vec<(u64, u32)>; 65],
}

impl Default for RadixHeap {
    fn default() -> Self {
        Self { last: 0, len: 0, buckets: std::array::from_fn(|_| Vec::new()) }
    }
}

impl RadixHeap {
    fn bucket(&self, key: u64) -> usize {
        (u64::BITS - (key ^ self.last).leading_zeros()) as usize
    }

    fn push(&mut self, key: i64, v: u32) {
        let key = u64::try_from(key).expect("distances are not negative");
        debug_assert!(key >= self.last, "a key below the last one taken");
        let b = self.bucket(key);
        self.buckets[b].push((key, v));
        self.len += 1;
    }

    fn pop(&mut self) -> Option<(i64, u32)> {
        if self.len == 0 {
            return None;
        }
        if self.buckets[0].is_empty() {
            let i = self.buckets.iter().position(|b| !b.is_empty()).expect("len > 0");
            let moved = std::mem::take(&mut self.buckets[i]);
            self.last = moved.iter().map(|&(k, _)| k).min().expect("not empty");
            for &(k, v) in &moved {
                let b = self.bucket(k);
                self.buckets[b].push((k, v));
            }
            // Keep the allocation for the next time the bucket fills.
            let mut moved = moved;
            moved.clear();
            if self.buckets[i].is_empty() {
                self.buckets[i] = moved;
            }
        }
        self.len -= 1;
        let (k, v) = self.buckets[0].pop().expect("the least key is in bucket 0");
        Some((i64::try_from(k).expect("came from an i64"), v))
    }

    fn clear(&mut self) {
        for b in &mut self.buckets {
            b.clear();
        }
        self.last = 0;
        self.len = 0;
    }
}
