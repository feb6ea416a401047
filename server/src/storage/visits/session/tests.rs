use super::*;

const TIMEOUT: i64 = 30 * 60_000;
const HORIZON: i64 = 86_400_000;
const MINUTE: i64 = 60_000;

fn page(ts: i64, path: &str) -> Hit<'_> {
    Hit {
        ts,
        page: true,
        path,
        dimensions: "direct\t\t\t\t\t\t\tChrome\tLinux\tdesktop\tnew".to_owned(),
    }
}

fn click(ts: i64) -> Hit<'static> {
    Hit {
        ts,
        page: false,
        path: "",
        dimensions: String::new(),
    }
}

/// Every count of `visits` from scratch, as deltas.
fn counted(visits: &[Visit]) -> Deltas {
    let mut deltas = Deltas::default();
    for visit in visits {
        deltas.count(visit, 1);
    }
    deltas.prune();
    deltas
}

fn same(a: &Deltas, b: &Deltas) -> bool {
    a.numbers == b.numbers && a.ranks == b.ranks
}

#[test]
fn page_views_within_the_timeout_make_one_visit() {
    let (mut visits, mut deltas) = (Vec::new(), Deltas::default());
    let start = 1_000 * MINUTE;
    advance(
        &mut visits,
        &[page(start, "/a")],
        TIMEOUT,
        HORIZON,
        &mut deltas,
    );
    let latest = advance(
        &mut visits,
        &[page(start + 10 * MINUTE, "/b")],
        TIMEOUT,
        HORIZON,
        &mut deltas,
    );
    deltas.prune();
    assert_eq!(latest, start + 10 * MINUTE);
    assert_eq!(visits.len(), 1);
    let minute = deltas.numbers[&(0, start)];
    assert_eq!(minute, [1, 2, 10 * MINUTE, 0]);
    assert_eq!(deltas.ranks[&((0, start), "entry")]["/a"], 1);
    assert_eq!(deltas.ranks[&((0, start), "exit")]["/b"], 1);
    assert!(!deltas.ranks[&((0, start), "exit")].contains_key("/a"));
    assert_eq!(
        deltas.ranks[&((1, start - start % 3_600_000), "browser")]["Chrome"],
        1
    );
}

#[test]
fn a_single_page_view_is_a_bounce_unless_something_else_happened() {
    let (mut visits, mut deltas) = (Vec::new(), Deltas::default());
    advance(&mut visits, &[page(0, "/")], TIMEOUT, HORIZON, &mut deltas);
    assert_eq!(deltas.numbers[&(0, 0)][3], 1);
    advance(&mut visits, &[click(MINUTE)], TIMEOUT, HORIZON, &mut deltas);
    deltas.prune();
    assert_eq!(deltas.numbers[&(0, 0)], [1, 1, MINUTE, 0]);
}

#[test]
fn an_event_between_two_visits_joins_them() {
    let (mut visits, mut deltas) = (Vec::new(), Deltas::default());
    let hits = [page(0, "/a"), page(50 * MINUTE, "/c")];
    advance(&mut visits, &hits, TIMEOUT, HORIZON, &mut deltas);
    assert_eq!(visits.len(), 2);
    advance(
        &mut visits,
        &[page(25 * MINUTE, "/b")],
        TIMEOUT,
        HORIZON,
        &mut deltas,
    );
    assert_eq!(visits.len(), 1);
    // Two visits, then one: the user's count of visits went up by one in all.
    assert_eq!(deltas.visits, 1);
    deltas.prune();
    assert!(same(&deltas, &counted(&visits)));
    assert_eq!(deltas.numbers[&(0, 0)], [1, 3, 50 * MINUTE, 0]);
    assert!(!deltas.numbers.contains_key(&(0, 50 * MINUTE)));
}

#[test]
fn an_earlier_event_moves_the_start_and_the_entry_page() {
    let (mut visits, mut deltas) = (Vec::new(), Deltas::default());
    advance(
        &mut visits,
        &[page(90 * MINUTE, "/b")],
        TIMEOUT,
        HORIZON,
        &mut deltas,
    );
    advance(
        &mut visits,
        &[page(70 * MINUTE, "/a")],
        TIMEOUT,
        HORIZON,
        &mut deltas,
    );
    deltas.prune();
    assert!(same(&deltas, &counted(&visits)));
    // Counted in the hour it now starts in, not the one it started in before.
    assert_eq!(deltas.numbers[&(1, 3_600_000)], [1, 2, 20 * MINUTE, 0]);
    assert_eq!(deltas.ranks[&((1, 3_600_000), "entry")]["/a"], 1);
}

#[test]
fn an_event_older_than_the_horizon_is_a_visit_of_its_own() {
    let (mut visits, mut deltas) = (Vec::new(), Deltas::default());
    let now = 10 * HORIZON;
    advance(
        &mut visits,
        &[page(now, "/")],
        TIMEOUT,
        HORIZON,
        &mut deltas,
    );
    advance(
        &mut visits,
        &[page(now - HORIZON - 1, "/old")],
        TIMEOUT,
        HORIZON,
        &mut deltas,
    );
    assert_eq!(visits.len(), 1);
    let old = now - HORIZON - 1;
    assert_eq!(deltas.numbers[&(0, old - old % MINUTE)], [1, 1, 0, 1]);
}

/// Random hits in random order, in random batches: the deltas always add up to the counts of
/// the visits that result.
#[test]
fn deltas_add_up_to_the_visits_counted_from_scratch() {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = |below: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % below
    };
    let paths = ["/a", "/b", "/c"];
    for _ in 0..200 {
        let (mut visits, mut deltas) = (Vec::new(), Deltas::default());
        let mut pending: Vec<Hit<'_>> = (0..next(12) + 1)
            .map(|_| {
                let ts = i64::try_from(next(4 * 3_600_000)).unwrap();
                if next(4) == 0 {
                    click(ts)
                } else {
                    page(ts, paths[usize::try_from(next(3)).unwrap()])
                }
            })
            .collect();
        while !pending.is_empty() {
            let take = usize::try_from(next(3) + 1).unwrap().min(pending.len());
            let mut batch: Vec<Hit<'_>> = pending.drain(..take).collect();
            batch.sort_by_key(|hit| hit.ts);
            advance(&mut visits, &batch, TIMEOUT, HORIZON, &mut deltas);
        }
        deltas.prune();
        assert!(same(&deltas, &counted(&visits)), "{visits:?}");
        assert_eq!(
            deltas.visits,
            i64::try_from(visits.len()).unwrap(),
            "{visits:?}"
        );
    }
}
