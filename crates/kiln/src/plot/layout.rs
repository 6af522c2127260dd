//! A layered (Sugiyama-style) layout of a directed graph of boxes, top to bottom:
//!
//! 1. rank = the longest path from a source, over the edges that point forward in node
//!    order (the others — a shared layer fed by its own output — are drawn as back edges);
//! 2. an edge spanning several ranks gets a virtual point in each rank it crosses;
//! 3. the order within each rank comes from barycentre sweeps (down, then up, repeated),
//!    keeping the order with the fewest crossings;
//! 4. x positions: each box as close as possible to the mean of its neighbours' positions
//!    while keeping the order and the gaps (an exact least-squares fit per rank, by pool
//!    adjacent violators), alternating down and up passes;
//! 5. edges leave a box's bottom and enter the next box's top at spread ports.

use super::style::Style;

/// A box's place: top-left corner and size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    /// Left.
    pub x: f64,
    /// Top.
    pub y: f64,
    /// Width.
    pub w: f64,
    /// Height.
    pub h: f64,
}

impl Rect {
    /// The horizontal centre.
    pub fn cx(&self) -> f64 {
        self.x + self.w / 2.0
    }
}

/// How one edge is drawn.
#[derive(Clone, Debug, PartialEq)]
pub struct Route {
    /// Source box.
    pub from: usize,
    /// Target box.
    pub to: usize,
    /// Forward edges: the start on the source's bottom, then pairs of points where the
    /// edge enters and leaves each rank it crosses, then the end on the target's top —
    /// straight within a rank, an S-curve between ranks. Back edges: the start on the
    /// source's right side and the end on the target's right side.
    pub points: Vec<(f64, f64)>,
    /// Whether this edge points up (or to its own box) and is drawn around the right side.
    pub back: bool,
}

/// A laid-out graph.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    /// Width of the picture.
    pub width: f64,
    /// Height of the picture.
    pub height: f64,
    /// Each box, in input order.
    pub boxes: Vec<Rect>,
    /// Each distinct edge, in input order.
    pub routes: Vec<Route>,
    /// Each box's rank (0 = top).
    pub ranks: Vec<usize>,
}

/// Lays out boxes of the given `(width, height)` connected by `edges` (source, target;
/// duplicates are drawn once).
///
/// ```
/// use kiln::plot::{layout::layout, style::STYLE};
/// let l = layout(&[(80.0, 30.0), (80.0, 30.0), (80.0, 30.0)], &[(0, 1), (0, 2)], &STYLE);
/// assert_eq!(l.ranks, vec![0, 1, 1]);
/// assert!(l.boxes[1].x + l.boxes[1].w <= l.boxes[2].x);
/// ```
pub fn layout(sizes: &[(f64, f64)], edges: &[(usize, usize)], style: &Style) -> Layout {
    let n = sizes.len();
    let mut distinct: Vec<(usize, usize)> = Vec::new();
    for &e in edges {
        if e.0 < n && e.1 < n && !distinct.contains(&e) {
            distinct.push(e);
        }
    }
    // 1. Ranks over the edges that are not back edges of a depth-first search.
    let (topo, back) = depth_first(n, &distinct);
    let forward: Vec<(usize, usize)> = distinct.iter().copied().filter(|e| !back.contains(e)).collect();
    let mut rank = vec![0usize; n];
    for &v in &topo {
        for &(a, b) in &forward {
            if a == v {
                rank[b] = rank[b].max(rank[a] + 1);
            }
        }
    }
    // 2. Virtual points: vertex ids n.. ; each forward edge becomes a chain.
    let mut vrank: Vec<usize> = rank.clone();
    let mut width: Vec<f64> = sizes.iter().map(|s| s.0).collect();
    let mut chains: Vec<Vec<usize>> = Vec::new();
    for &(a, b) in &forward {
        let mut chain = vec![a];
        for r in rank[a] + 1..rank[b] {
            vrank.push(r);
            width.push(0.0);
            chain.push(vrank.len() - 1);
        }
        chain.push(b);
        chains.push(chain);
    }
    let total = vrank.len();
    let mut up: Vec<Vec<usize>> = vec![Vec::new(); total];
    let mut down: Vec<Vec<usize>> = vec![Vec::new(); total];
    for chain in &chains {
        for w in chain.windows(2) {
            down[w[0]].push(w[1]);
            up[w[1]].push(w[0]);
        }
    }
    let ranks_count = vrank.iter().max().map_or(0, |r| r + 1);
    let mut layers: Vec<Vec<usize>> = vec![Vec::new(); ranks_count];
    for (v, &r) in vrank.iter().enumerate() {
        layers[r].push(v);
    }
    // 3. Order within ranks.
    order_ranks(&mut layers, &up, &down);
    // 4. x positions.
    let sep = |a: usize, b: usize| {
        let gap = if a < n && b < n {
            style.node_gap
        } else {
            style.node_gap / 2.0
        };
        (width[a] + width[b]) / 2.0 + gap
    };
    let mut x = vec![0.0f64; total];
    for layer in &layers {
        let mut at = 0.0;
        for (i, &v) in layer.iter().enumerate() {
            if i > 0 {
                at += sep(layer[i - 1], v);
            }
            x[v] = at;
        }
        let shift = at / 2.0;
        layer.iter().for_each(|&v| x[v] -= shift);
    }
    for pass in 0..8 {
        let (sweep, neighbours): (Vec<usize>, &Vec<Vec<usize>>) = if pass % 2 == 0 {
            ((1..ranks_count).collect(), &up)
        } else {
            ((0..ranks_count.saturating_sub(1)).rev().collect(), &down)
        };
        for r in sweep {
            let desired: Vec<f64> = layers[r]
                .iter()
                .map(|&v| mean(neighbours[v].iter().map(|&u| x[u])).unwrap_or(x[v]))
                .collect();
            let placed = fit_in_order(&desired, &layers[r], &sep);
            for (&v, p) in layers[r].iter().zip(placed) {
                x[v] = p;
            }
        }
    }
    // 5. y positions and boxes.
    let heights: Vec<f64> = (0..ranks_count)
        .map(|r| {
            layers[r]
                .iter()
                .filter(|&&v| v < n)
                .map(|&v| sizes[v].1)
                .fold(0.0, f64::max)
        })
        .collect();
    let mut top = vec![0.0f64; ranks_count];
    for r in 1..ranks_count {
        top[r] = top[r - 1] + heights[r - 1] + style.rank_gap;
    }
    let left = (0..total).map(|v| x[v] - width[v] / 2.0).fold(f64::INFINITY, f64::min);
    let dx = style.margin - if left.is_finite() { left } else { 0.0 };
    let dy = style.margin;
    let boxes: Vec<Rect> = (0..n)
        .map(|v| Rect {
            x: x[v] - sizes[v].0 / 2.0 + dx,
            y: top[rank[v]] + (heights[rank[v]] - sizes[v].1) / 2.0 + dy,
            w: sizes[v].0,
            h: sizes[v].1,
        })
        .collect();
    // Ports: a box's outgoing edges leave in the order of where they go next; incoming
    // edges arrive in the order of where they come from.
    let mut out_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut in_edges: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (k, chain) in chains.iter().enumerate() {
        out_edges[chain[0]].push(k);
        in_edges[chain[chain.len() - 1]].push(k);
    }
    let mut start = vec![0.0f64; chains.len()];
    let mut end = vec![0.0f64; chains.len()];
    for v in 0..n {
        let mut outs = out_edges[v].clone();
        outs.sort_by(|&a, &b| x[chains[a][1]].total_cmp(&x[chains[b][1]]));
        for (i, off) in ports(outs.len(), sizes[v].0).into_iter().enumerate() {
            start[outs[i]] = boxes[v].cx() + off;
        }
        let mut ins = in_edges[v].clone();
        ins.sort_by(|&a, &b| {
            let prev = |k: usize| x[chains[k][chains[k].len() - 2]];
            prev(a).total_cmp(&prev(b))
        });
        for (i, off) in ports(ins.len(), sizes[v].0).into_iter().enumerate() {
            end[ins[i]] = boxes[v].cx() + off;
        }
    }
    let mut routes = Vec::new();
    for &(a, b) in &distinct {
        if !back.contains(&(a, b)) {
            let k = forward.iter().position(|&e| e == (a, b)).unwrap_or(0);
            let chain = &chains[k];
            let mut points = vec![(start[k], boxes[a].y + boxes[a].h)];
            for &v in &chain[1..chain.len() - 1] {
                let r = vrank[v];
                points.push((x[v] + dx, top[r] + dy));
                points.push((x[v] + dx, top[r] + heights[r] + dy));
            }
            points.push((end[k], boxes[b].y));
            routes.push(Route {
                from: a,
                to: b,
                points,
                back: false,
            });
        } else {
            let (s, t) = (&boxes[a], &boxes[b]);
            routes.push(Route {
                from: a,
                to: b,
                points: vec![(s.x + s.w, s.y + s.h * 0.7), (t.x + t.w, t.y + t.h * 0.3)],
                back: true,
            });
        }
    }
    let back_room = if routes.iter().any(|r| r.back) { 48.0 } else { 0.0 };
    let right = boxes.iter().map(|b| b.x + b.w).fold(0.0, f64::max);
    let right = (n..total).map(|v| x[v] + dx).fold(right, f64::max);
    let bottom = boxes.iter().map(|b| b.y + b.h).fold(0.0, f64::max);
    Layout {
        width: right + style.margin + back_room,
        height: bottom + style.margin,
        boxes,
        routes,
        ranks: rank,
    }
}

/// A topological order of the graph without its back edges, and the back edges: the edges
/// a depth-first search (from each vertex in input order) finds pointing to a vertex still
/// on its stack — a self loop, or a shared layer fed by its own output.
fn depth_first(n: usize, edges: &[(usize, usize)]) -> (Vec<usize>, Vec<(usize, usize)>) {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        New,
        Open,
        Done,
    }
    let mut state = vec![State::New; n];
    let mut finished = Vec::with_capacity(n);
    let mut back = Vec::new();
    for root in 0..n {
        if state[root] != State::New {
            continue;
        }
        // (vertex, index of the next edge to look at)
        let mut stack = vec![(root, 0usize)];
        state[root] = State::Open;
        while let Some(&(v, next)) = stack.last() {
            match (next..edges.len()).find(|&i| edges[i].0 == v) {
                Some(i) => {
                    if let Some(top) = stack.last_mut() {
                        top.1 = i + 1;
                    }
                    let b = edges[i].1;
                    match state[b] {
                        State::New => {
                            state[b] = State::Open;
                            stack.push((b, 0));
                        }
                        State::Open => back.push(edges[i]),
                        State::Done => {}
                    }
                }
                None => {
                    state[v] = State::Done;
                    finished.push(v);
                    stack.pop();
                }
            }
        }
    }
    finished.reverse();
    (finished, back)
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0usize), |(s, c), v| (s + v, c + 1));
    (count > 0).then(|| sum / count as f64)
}

/// Offsets from a box's centre for `k` edges on one side of a box `w` wide.
fn ports(k: usize, w: f64) -> Vec<f64> {
    let step = if k > 1 {
        (w * 0.6 / (k - 1) as f64).min(24.0)
    } else {
        0.0
    };
    (0..k).map(|i| (i as f64 - (k as f64 - 1.0) / 2.0) * step).collect()
}

/// Positions for `layer`'s vertices, in order and at least `sep` apart, closest (least
/// squares) to `desired`: with `o_i` the cumulative minimum separation, `x_i - o_i` must
/// not decrease, an isotonic regression solved by pool adjacent violators.
fn fit_in_order(desired: &[f64], layer: &[usize], sep: &dyn Fn(usize, usize) -> f64) -> Vec<f64> {
    let mut offset = vec![0.0f64; layer.len()];
    for i in 1..layer.len() {
        offset[i] = offset[i - 1] + sep(layer[i - 1], layer[i]);
    }
    // Blocks of (sum, count), each with value sum / count.
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for (d, o) in desired.iter().zip(&offset) {
        blocks.push((d - o, 1));
        while blocks.len() > 1 {
            let (s2, c2) = blocks[blocks.len() - 1];
            let (s1, c1) = blocks[blocks.len() - 2];
            if s1 / c1 as f64 <= s2 / c2 as f64 {
                break;
            }
            blocks.pop();
            let last = blocks.len() - 1;
            blocks[last] = (s1 + s2, c1 + c2);
        }
    }
    let mut out = Vec::with_capacity(layer.len());
    for (s, c) in blocks {
        out.extend(std::iter::repeat_n(s / c as f64, c));
    }
    out.iter().zip(&offset).map(|(y, o)| y + o).collect()
}

/// Orders each rank by barycentre sweeps, keeping the order with the fewest crossings.
fn order_ranks(layers: &mut [Vec<usize>], up: &[Vec<usize>], down: &[Vec<usize>]) {
    let total = up.len();
    let mut pos = vec![0usize; total];
    let index = |layers: &[Vec<usize>], pos: &mut Vec<usize>| {
        for layer in layers {
            for (i, &v) in layer.iter().enumerate() {
                pos[v] = i;
            }
        }
    };
    index(layers, &mut pos);
    let mut best = layers.to_vec();
    let mut best_crossings = crossings(layers, down, &pos);
    for round in 0..12 {
        let downward = round % 2 == 0;
        let sweep: Vec<usize> = if downward {
            (1..layers.len()).collect()
        } else {
            (0..layers.len().saturating_sub(1)).rev().collect()
        };
        let neighbours = if downward { up } else { down };
        for r in sweep {
            let mut keyed: Vec<(f64, usize, usize)> = layers[r]
                .iter()
                .map(|&v| {
                    let key = mean(neighbours[v].iter().map(|&u| pos[u] as f64)).unwrap_or(pos[v] as f64);
                    (key, pos[v], v)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            layers[r] = keyed.into_iter().map(|(_, _, v)| v).collect();
            for (i, &v) in layers[r].iter().enumerate() {
                pos[v] = i;
            }
        }
        let c = crossings(layers, down, &pos);
        if c < best_crossings {
            best_crossings = c;
            best = layers.to_vec();
        }
    }
    layers.clone_from_slice(&best);
}

/// Edge crossings between adjacent ranks.
fn crossings(layers: &[Vec<usize>], down: &[Vec<usize>], pos: &[usize]) -> usize {
    let mut count = 0;
    for layer in layers {
        let edges: Vec<(usize, usize)> = layer
            .iter()
            .flat_map(|&v| down[v].iter().map(move |&w| (pos[v], pos[w])))
            .collect();
        for (i, a) in edges.iter().enumerate() {
            for b in &edges[i + 1..] {
                if (a.0 < b.0 && a.1 > b.1) || (a.0 > b.0 && a.1 < b.1) {
                    count += 1;
                }
            }
        }
    }
    count
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plot::style::STYLE;

    #[test]
    fn a_chain_is_one_straight_column() {
        let l = layout(&[(100.0, 40.0), (60.0, 40.0), (100.0, 40.0)], &[(0, 1), (1, 2)], &STYLE);
        assert_eq!(l.ranks, vec![0, 1, 2]);
        let centres: Vec<f64> = l.boxes.iter().map(Rect::cx).collect();
        assert!(centres.iter().all(|c| (c - centres[0]).abs() < 1e-9), "{centres:?}");
        assert_eq!(l.boxes[1].y, l.boxes[0].y + 40.0 + STYLE.rank_gap);
        assert_eq!(
            l.routes[0].points,
            vec![(centres[0], l.boxes[0].y + 40.0), (centres[0], l.boxes[1].y)]
        );
    }

    #[test]
    fn ranks_are_longest_paths_and_long_edges_bend_around() {
        // 0 → 1 → 2 → 3 and a skip 0 → 3: the skip crosses ranks 1 and 2 beside the boxes.
        let sizes = [(80.0, 30.0); 4];
        let l = layout(&sizes, &[(0, 1), (1, 2), (2, 3), (0, 3)], &STYLE);
        assert_eq!(l.ranks, vec![0, 1, 2, 3]);
        let skip = l.routes.iter().find(|r| (r.from, r.to) == (0, 3)).unwrap();
        assert_eq!(skip.points.len(), 6);
        for &(px, _) in &skip.points[1..5] {
            let b1 = l.boxes[1];
            assert!(px >= b1.x + b1.w + STYLE.node_gap / 2.0 - 1e-9 || px <= b1.x - STYLE.node_gap / 2.0 + 1e-9);
        }
    }

    #[test]
    fn barycentres_remove_avoidable_crossings() {
        // Sources 0, 1; 1 feeds 2 and 0 feeds 3: drawn in input order the edges would cross.
        let sizes = [(50.0, 20.0); 4];
        let l = layout(&sizes, &[(1, 2), (0, 3)], &STYLE);
        let (b0, b1, b2, b3) = (l.boxes[0], l.boxes[1], l.boxes[2], l.boxes[3]);
        assert_eq!((b0.cx() < b1.cx()), (b3.cx() < b2.cx()));
    }

    #[test]
    fn pool_adjacent_violators_keeps_order_and_gaps() {
        let sep = |_: usize, _: usize| 10.0;
        assert_eq!(fit_in_order(&[0.0, 0.0], &[0, 1], &sep), vec![-5.0, 5.0]);
        assert_eq!(fit_in_order(&[0.0, 50.0], &[0, 1], &sep), vec![0.0, 50.0]);
        assert_eq!(fit_in_order(&[5.0, 0.0, 40.0], &[0, 1, 2], &sep), vec![-2.5, 7.5, 40.0]);
    }

    #[test]
    fn a_source_listed_late_is_still_on_top() {
        // Box 2 feeds box 1: a forward edge, whatever the input order.
        let l = layout(&[(50.0, 20.0); 3], &[(0, 1), (2, 1)], &STYLE);
        assert_eq!(l.ranks, vec![0, 1, 0]);
        assert!(l.routes.iter().all(|r| !r.back));
    }

    #[test]
    fn a_self_loop_is_a_back_edge() {
        let l = layout(&[(50.0, 20.0), (50.0, 20.0)], &[(0, 1), (1, 1), (0, 1)], &STYLE);
        assert_eq!(l.routes.len(), 2);
        assert!(l.routes[1].back && !l.routes[0].back);
        assert!(l.width >= l.boxes[1].x + 50.0 + 48.0);
    }
}
