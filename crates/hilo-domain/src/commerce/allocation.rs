//! Choosing where an order's stock comes from, purely: the pickup store first, then the
//! nearest, then the highest priority; one location serving the whole order when one
//! can, split across locations when none can.

use std::cmp::Ordering;
use std::collections::BTreeMap;

/// A location that may serve the order, with what it can promise of each SKU.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub location: String,
    /// The store the customer chose (pickup, reserve): always first.
    pub preferred: bool,
    /// From the customer, when their position is known.
    pub distance_km: Option<f64>,
    pub priority: i64,
    pub available: BTreeMap<String, i64>,
}

/// Units of one line taken from one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub line: usize,
    pub location: String,
    pub quantity: i64,
}

/// A line that cannot be served, and how many units of it could be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shortage {
    pub line: usize,
    pub available: i64,
}

/// Orders candidates: preferred first, then nearest (unknown distances last), then
/// highest priority, then by id so the choice is the same every time.
pub fn rank(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| {
        b.preferred
            .cmp(&a.preferred)
            .then_with(|| match (a.distance_km, b.distance_km) {
                (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => Ordering::Equal,
            })
            .then_with(|| b.priority.cmp(&a.priority))
            .then_with(|| a.location.cmp(&b.location))
    });
}

/// Plans where each line's units (`(sku, quantity)`) come from, among `candidates`
/// already ranked. With `split` false, one location must serve the whole order.
pub fn plan(
    lines: &[(String, i64)],
    candidates: &[Candidate],
    split: bool,
) -> Result<Vec<Allocation>, Shortage> {
    // One location for everything keeps the order in one parcel, one pickup.
    if let Some(whole) = candidates.iter().find(|c| serves_all(c, lines)) {
        return Ok(lines
            .iter()
            .enumerate()
            .map(|(line, (_, quantity))| Allocation {
                line,
                location: whole.location.clone(),
                quantity: *quantity,
            })
            .collect());
    }
    if !split {
        return Err(first_shortage(candidates.first(), lines));
    }
    let mut left: Vec<BTreeMap<String, i64>> =
        candidates.iter().map(|c| c.available.clone()).collect();
    let mut allocations = Vec::new();
    for (line, (sku, quantity)) in lines.iter().enumerate() {
        let mut wanted = *quantity;
        let total: i64 = left
            .iter()
            .map(|l| l.get(sku).copied().unwrap_or(0).max(0))
            .sum();
        if total < wanted {
            return Err(Shortage {
                line,
                available: total,
            });
        }
        for (candidate, stock) in candidates.iter().zip(left.iter_mut()) {
            if wanted == 0 {
                break;
            }
            let have = stock.get(sku).copied().unwrap_or(0).max(0);
            let take = have.min(wanted);
            if take > 0 {
                stock.insert(sku.clone(), have - take);
                wanted -= take;
                allocations.push(Allocation {
                    line,
                    location: candidate.location.clone(),
                    quantity: take,
                });
            }
        }
    }
    Ok(allocations)
}

fn serves_all(candidate: &Candidate, lines: &[(String, i64)]) -> bool {
    let mut wanted: BTreeMap<&str, i64> = BTreeMap::new();
    for (sku, quantity) in lines {
        *wanted.entry(sku).or_default() += quantity;
    }
    wanted
        .iter()
        .all(|(sku, quantity)| candidate.available.get(*sku).copied().unwrap_or(0) >= *quantity)
}

/// The first line `candidate` cannot serve, counting what earlier lines of the same
/// SKU took (called once it is known not to serve them all).
fn first_shortage(candidate: Option<&Candidate>, lines: &[(String, i64)]) -> Shortage {
    let mut left = candidate.map(|c| c.available.clone()).unwrap_or_default();
    for (line, (sku, quantity)) in lines.iter().enumerate() {
        let have = left.get(sku).copied().unwrap_or(0).max(0);
        if have < *quantity {
            return Shortage {
                line,
                available: have,
            };
        }
        left.insert(sku.clone(), have - quantity);
    }
    Shortage {
        line: 0,
        available: 0,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn candidate(location: &str, km: Option<f64>, stock: &[(&str, i64)]) -> Candidate {
        Candidate {
            location: location.into(),
            preferred: false,
            distance_km: km,
            priority: 0,
            available: stock.iter().map(|(s, q)| ((*s).into(), *q)).collect(),
        }
    }

    fn lines(items: &[(&str, i64)]) -> Vec<(String, i64)> {
        items.iter().map(|(s, q)| ((*s).into(), *q)).collect()
    }

    #[test]
    fn the_preferred_then_the_nearest_serves_the_whole_order() {
        let mut candidates = vec![
            candidate("far", Some(30.0), &[("A", 5), ("B", 5)]),
            candidate("near", Some(2.0), &[("A", 5), ("B", 5)]),
            candidate("chosen", Some(9.0), &[("A", 1)]),
        ];
        candidates[2].preferred = true;
        rank(&mut candidates);
        assert_eq!(candidates[0].location, "chosen");
        assert_eq!(candidates[1].location, "near");
        let plan = plan(&lines(&[("A", 2), ("B", 1)]), &candidates, true).unwrap();
        assert!(plan.iter().all(|a| a.location == "near"));
    }

    #[test]
    fn a_line_splits_when_no_location_has_it_all() {
        let candidates = vec![
            candidate("one", Some(1.0), &[("A", 2)]),
            candidate("two", Some(2.0), &[("A", 3)]),
        ];
        let plan = plan(&lines(&[("A", 4)]), &candidates, true).unwrap();
        assert_eq!(
            plan,
            vec![
                Allocation {
                    line: 0,
                    location: "one".into(),
                    quantity: 2
                },
                Allocation {
                    line: 0,
                    location: "two".into(),
                    quantity: 2
                },
            ]
        );
        assert_eq!(
            super::plan(&lines(&[("A", 4)]), &candidates, false),
            Err(Shortage {
                line: 0,
                available: 2
            })
        );
        assert_eq!(
            super::plan(&lines(&[("A", 3), ("A", 3)]), &candidates, true),
            Err(Shortage {
                line: 1,
                available: 2
            })
        );
    }

    proptest! {
        #[test]
        fn never_beyond_what_is_available(
            stock in proptest::collection::vec(proptest::collection::vec(0i64..6, 3), 1..5),
            wanted in proptest::collection::vec((0usize..3, 1i64..8), 1..5),
            split in any::<bool>(),
        ) {
            let skus = ["A", "B", "C"];
            let candidates: Vec<Candidate> = stock.iter().enumerate().map(|(i, levels)| Candidate {
                location: format!("L{i}"),
                preferred: false,
                distance_km: Some(i as f64),
                priority: 0,
                available: skus.iter().zip(levels).map(|(s, q)| ((*s).to_owned(), *q)).collect(),
            }).collect();
            let order: Vec<(String, i64)> =
                wanted.iter().map(|(s, q)| (skus[*s].to_owned(), *q)).collect();
            match plan(&order, &candidates, split) {
                Ok(allocations) => {
                    for (line, (_, quantity)) in order.iter().enumerate() {
                        let got: i64 = allocations.iter().filter(|a| a.line == line).map(|a| a.quantity).sum();
                        prop_assert_eq!(got, *quantity);
                    }
                    for candidate in &candidates {
                        for sku in skus {
                            let taken: i64 = allocations.iter()
                                .filter(|a| a.location == candidate.location && order[a.line].0 == sku)
                                .map(|a| a.quantity).sum();
                            prop_assert!(taken <= candidate.available[sku]);
                        }
                    }
                    if !split {
                        let first = &allocations[0].location;
                        prop_assert!(allocations.iter().all(|a| &a.location == first));
                    }
                }
                Err(shortage) => {
                    // Refused only when the SKU's demand up to that line exceeds all there is
                    // (or, unsplit, what one location has).
                    let sku = &order[shortage.line].0;
                    let demand: i64 = order[..=shortage.line].iter().filter(|(s, _)| s == sku).map(|(_, q)| q).sum();
                    let supply: i64 = if split {
                        candidates.iter().map(|c| c.available[sku.as_str()]).sum()
                    } else {
                        candidates.iter().map(|c| c.available[sku.as_str()]).max().unwrap_or(0)
                    };
                    prop_assert!(demand > supply || !split);
                    prop_assert!(shortage.available < order[shortage.line].1);
                }
            }
        }
    }
}
