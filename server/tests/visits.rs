//! Visits against a real Redis and a brute force over the same random event streams: visits,
//! page views, durations, bounces, entry and exit pages, sources and devices per visit, pages
//! viewed, visitors and current visitors, with events sent out of order, by two processes, over
//! bucket boundaries; and the same numbers filtered by a source, a page or a device.

mod support;

use std::collections::{BTreeMap, HashMap};

use app::events::{Event, PAGE_VIEW};
use app::web::{Ranked, WebFilter, WebReport};
use server::ingest::web::source;
use support::{RedisServer, Rng, TestApp, now_ms};

const TIMEOUT_MS: i64 = 30 * 60_000;
const SITE: &str = "site.test";
const DESKTOP: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
const PHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
const PATHS: [&str; 5] = ["/", "/pricing", "/docs", "/blog/redis", "/signup"];
const REFERRERS: [&str; 5] = [
    "",
    "https://www.google.com/",
    "https://t.co/abc",
    "https://blog.rust-lang.org/",
    "https://www.site.test/",
];
const CAMPAIGNS: [&str; 3] = [
    "",
    "?utm_source=newsletter&utm_medium=email",
    "?utm_campaign=launch&utm_source=hn",
];

/// One user's events, the device they use, and what each event says of its visit's source.
struct User {
    phone: bool,
    events: Vec<Event>,
}

fn random_users(rng: &mut Rng, from: i64, to: i64) -> Vec<User> {
    (0..60)
        .map(|n| {
            let mut ts = rng.between(from, from + (to - from) / 2);
            let mut events = Vec::new();
            while ts < to && events.len() < 30 {
                let page = rng.chance(0.8);
                let path = PATHS[rng.below(PATHS.len() as u64) as usize];
                let campaign = CAMPAIGNS[rng.below(CAMPAIGNS.len() as u64) as usize];
                let referrer = REFERRERS[rng.below(REFERRERS.len() as u64) as usize];
                let mut properties = BTreeMap::new();
                properties.insert(
                    "url".to_owned(),
                    format!("https://www.{SITE}{path}{campaign}"),
                );
                properties.insert("path".to_owned(), path.to_owned());
                properties.insert("referrer".to_owned(), referrer.to_owned());
                events.push(Event {
                    event: if page {
                        PAGE_VIEW.to_owned()
                    } else {
                        "signup".to_owned()
                    },
                    user_id: format!("user-{n}"),
                    ts,
                    properties,
                });
                // Mostly within a visit; sometimes a pause that ends it, sometimes one right at
                // the timeout (still the same visit).
                ts += match rng.below(10) {
                    0 | 1 => rng.between(TIMEOUT_MS + 1, 3 * TIMEOUT_MS),
                    2 => TIMEOUT_MS,
                    _ => rng.between(1_000, 8 * 60_000),
                };
            }
            User {
                phone: n % 3 == 0,
                events,
            }
        })
        .collect()
}

/// The report computed from the users' events directly: visits split at gaps over the timeout,
/// counted in the bucket (`width`) of their start when it falls in `[from, to)`.
fn brute_force(
    users: &[User],
    visitors: &Visitors,
    (from, to): (i64, i64),
    width: i64,
    now: i64,
    filters: &[WebFilter],
) -> WebReport {
    let first = from - from.rem_euclid(width);
    let in_range = |ts: i64| {
        let bucket = ts - ts.rem_euclid(width);
        bucket >= first && bucket < to
    };
    let mut report = WebReport::default();
    let mut rankings: HashMap<&str, HashMap<String, u64>> = HashMap::new();
    for user in users {
        let mut events: Vec<&Event> = user.events.iter().collect();
        events.sort_by_key(|event| event.ts);
        let mut visits: Vec<Vec<&Event>> = Vec::new();
        for event in events {
            match visits.last_mut() {
                Some(visit) if event.ts - visit.last().unwrap().ts <= TIMEOUT_MS => {
                    visit.push(event)
                }
                _ => visits.push(vec![event]),
            }
        }
        visits.retain(|visit| filters.iter().all(|filter| admits(user, visit, filter)));
        if visits
            .last()
            .is_some_and(|visit| visit.last().unwrap().ts >= now - 5 * 60_000)
        {
            report.current_visitors += 1;
        }
        let mut viewed = false;
        for event in visits.iter().flatten() {
            if event.event == PAGE_VIEW && in_range(event.ts) {
                viewed = true;
                *rankings
                    .entry("page")
                    .or_default()
                    .entry(event.properties["path"].clone())
                    .or_default() += 1;
            }
        }
        report.visitors += u64::from(viewed);
        for visit in visits {
            let start = visit[0].ts;
            if !in_range(start) {
                continue;
            }
            let pages: Vec<&&Event> = visit.iter().filter(|e| e.event == PAGE_VIEW).collect();
            report.visits += 1;
            report.pageviews += pages.len() as u64;
            report.duration_ms += (visit.last().unwrap().ts - start) as u64;
            if pages.len() <= 1 && visit.iter().all(|e| e.event == PAGE_VIEW) {
                report.bounces += 1;
            }
            let mut rank = |name: &'static str, value: Option<String>| {
                if let Some(value) = value.filter(|v| !v.is_empty()) {
                    *rankings.entry(name).or_default().entry(value).or_default() += 1;
                }
            };
            rank("entry", pages.first().map(|e| e.properties["path"].clone()));
            rank("exit", pages.last().map(|e| e.properties["path"].clone()));
            let landing = visit[0];
            let source = source(
                &landing.properties["url"],
                &landing.properties["referrer"],
                &[SITE.to_owned()],
            );
            rank("channel", Some(source.channel.as_str().to_owned()));
            rank("referrer", source.referrer);
            rank("utm_source", source.utm.source);
            rank("utm_medium", source.utm.medium);
            rank("utm_campaign", source.utm.campaign);
            rank(
                "browser",
                Some(if user.phone { "Safari" } else { "Chrome" }.to_owned()),
            );
            rank(
                "os",
                Some(if user.phone { "iOS" } else { "Windows" }.to_owned()),
            );
            rank(
                "device",
                Some(if user.phone { "mobile" } else { "desktop" }.to_owned()),
            );
            rank(
                "visitor",
                Some(visitors[&(landing.user_id.clone(), landing.ts)].to_owned()),
            );
        }
    }
    for (name, values) in rankings {
        let mut ranked: Vec<Ranked> = values
            .into_iter()
            .map(|(value, visits)| Ranked { value, visits })
            .collect();
        ranked.sort_by(|a, b| b.visits.cmp(&a.visits).then_with(|| a.value.cmp(&b.value)));
        report.rankings.insert(name.to_owned(), ranked);
    }
    report
}

/// Whether a visit (its events in time order) has the value `filter` asks for.
fn admits(user: &User, visit: &[&Event], filter: &WebFilter) -> bool {
    let pages: Vec<&str> = visit
        .iter()
        .filter(|e| e.event == PAGE_VIEW)
        .map(|e| e.properties["path"].as_str())
        .collect();
    let landing = visit[0];
    let source = source(
        &landing.properties["url"],
        &landing.properties["referrer"],
        &[SITE.to_owned()],
    );
    let value = filter.value.as_str();
    match filter.ranking.as_str() {
        "page" => pages.contains(&value),
        "entry" => pages.first() == Some(&value),
        "channel" => source.channel.as_str() == value,
        "device" => value == if user.phone { "mobile" } else { "desktop" },
        other => panic!("the brute force does not filter by {other}"),
    }
}

/// Only the rankings the brute force fills (the report lists every ranking, empty or not).
fn filled(mut report: WebReport) -> WebReport {
    report.rankings.retain(|_, ranked| !ranked.is_empty());
    report
}

/// `report` is `expected`, but for its visitors, a HyperLogLog's estimate: within 2 % (or one)
/// of the exact number.
fn assert_estimated(report: WebReport, mut expected: WebReport) {
    let error = report.visitors.abs_diff(expected.visitors);
    assert!(
        error <= (expected.visitors / 50).max(1),
        "{} visitors estimated, {} exactly",
        report.visitors,
        expected.visitors
    );
    expected.visitors = report.visitors;
    assert_eq!(filled(report), expected);
}

fn filter(ranking: &str, value: &str) -> WebFilter {
    WebFilter {
        ranking: ranking.to_owned(),
        value: value.to_owned(),
    }
}

/// Whether each event's user was new when its batch was sent (`(user, ts)` → `new` or
/// `returning`), as the filter of users seen must tell.
type Visitors = HashMap<(String, i64), &'static str>;

fn note_visitors(
    batch: &[&Event],
    seen: &mut std::collections::HashSet<String>,
    visitors: &mut Visitors,
) {
    let new: std::collections::HashSet<&str> = batch
        .iter()
        .map(|event| event.user_id.as_str())
        .filter(|user| !seen.contains(*user))
        .collect();
    for event in batch {
        let label = if new.contains(event.user_id.as_str()) {
            "new"
        } else {
            "returning"
        };
        visitors.insert((event.user_id.clone(), event.ts), label);
    }
    seen.extend(new.into_iter().map(str::to_owned));
}

async fn send(app: &TestApp, user_agent: &str, events: &[&Event]) {
    support::store_events(app, Some(user_agent), &events, events.len()).await;
}

/// The events of the users on a phone (or not), shuffled.
fn shuffled_events<'a>(users: &'a [User], phone: bool, rng: &mut Rng) -> Vec<&'a Event> {
    let mut events: Vec<&Event> = users
        .iter()
        .filter(|user| user.phone == phone)
        .flat_map(|user| &user.events)
        .collect();
    for index in (1..events.len()).rev() {
        events.swap(index, rng.below(index as u64 + 1) as usize);
    }
    events
}

/// Random event streams sent shuffled, in batches alternating between two processes, give the
/// same visits as a brute force over the sorted streams: over six hours (minute counts, a
/// range starting mid-hour) and over ten (hour counts).
#[tokio::test]
async fn visits_match_a_brute_force_over_shuffled_streams() {
    let redis = RedisServer::start();
    let first = TestApp::start_with_prefix(&redis.url(), "visits:").await;
    let second = TestApp::start_with_prefix(&redis.url(), "visits:").await;
    let now = now_ms();
    let mut rng = Rng::new(7);
    let users = random_users(&mut rng, now - 10 * 3_600_000, now - 60_000);
    let mut seen = std::collections::HashSet::new();
    let mut visitors = Visitors::new();
    for (phone, user_agent) in [(false, DESKTOP), (true, PHONE)] {
        let events = shuffled_events(&users, phone, &mut rng);
        for (n, batch) in events.chunks(40).enumerate() {
            note_visitors(batch, &mut seen, &mut visitors);
            send(if n % 2 == 0 { &first } else { &second }, user_agent, batch).await;
        }
    }
    assert!(users.iter().map(|u| u.events.len()).sum::<usize>() > 500);

    let asked = now_ms();
    let (from, to) = (now - 6 * 3_600_000 + 17 * 60_000, now);
    let report = first
        .state
        .store
        .visit_report(SITE, from, to, asked)
        .await
        .unwrap();
    let expected = brute_force(&users, &visitors, (from, to), 60_000, asked, &[]);
    assert!(
        expected.visits > 50 && expected.bounces > 0 && expected.current_visitors > 0,
        "{expected:?}"
    );
    assert_estimated(report, expected);

    let (from, to) = (now - 11 * 3_600_000, now + 1);
    let report = second
        .state
        .store
        .visit_report(SITE, from, to, asked)
        .await
        .unwrap();
    assert_estimated(
        report,
        brute_force(&users, &visitors, (from, to), 3_600_000, asked, &[]),
    );
    let other = first
        .state
        .store
        .visit_report("other.test", from, to, asked)
        .await
        .unwrap();
    assert_eq!(other.visits, 0);
}

/// Two processes writing the same users' events at the same moment: each write that finds a
/// user's visits changed since it read them reads again, and the counts stay exact.
#[tokio::test]
async fn visits_stay_exact_when_two_processes_write_the_same_users_at_once() {
    let redis = RedisServer::start();
    let first = TestApp::start_with_prefix(&redis.url(), "race:").await;
    let second = TestApp::start_with_prefix(&redis.url(), "race:").await;
    let now = now_ms();
    let mut rng = Rng::new(11);
    let users = random_users(&mut rng, now - 5 * 3_600_000, now - 60_000);
    let retries = server::telemetry::metrics().web_write_retries();
    for (phone, user_agent) in [(false, DESKTOP), (true, PHONE)] {
        let events = shuffled_events(&users, phone, &mut rng);
        for pair in events.chunks(60) {
            let (one, other) = pair.split_at(pair.len() / 2);
            tokio::join!(
                send(&first, user_agent, one),
                send(&second, user_agent, other)
            );
        }
    }
    assert!(
        server::telemetry::metrics().web_write_retries() > retries,
        "no write ever met another: the race was not run"
    );
    // Which of two simultaneous first events saw its user new is not decided by the streams:
    // only that each visit is one or the other.
    let without_visitor = |mut report: WebReport| {
        let visitor = report.rankings.remove("visitor").unwrap_or_default();
        (report, visitor.iter().map(|r| r.visits).sum::<u64>())
    };
    let asked = now_ms();
    let (from, to) = (now - 6 * 3_600_000, now + 1);
    let (report, labelled) = without_visitor(filled(
        first
            .state
            .store
            .visit_report(SITE, from, to, asked)
            .await
            .unwrap(),
    ));
    let everyone_new: Visitors = users
        .iter()
        .flat_map(|user| &user.events)
        .map(|event| ((event.user_id.clone(), event.ts), "new"))
        .collect();
    let (mut expected, _) = without_visitor(brute_force(
        &users,
        &everyone_new,
        (from, to),
        3_600_000,
        asked,
        &[],
    ));
    assert!(expected.visits > 50, "{expected:?}");
    expected.visitors = report.visitors;
    assert_eq!(report, expected);
    assert_eq!(labelled, expected.visits);
}

/// A report filtered by a source, a page, an entry page or a device (or two at once), worked
/// out from the raw event log, counts exactly the visits that have it: the brute force over the
/// same shuffled streams, over six hours (minutes) and ten (hours); without filters it gives the
/// counts' numbers, with the visitors exact.
#[tokio::test]
async fn filtered_reports_match_a_brute_force() {
    let redis = RedisServer::start();
    let app = TestApp::start_with_prefix(&redis.url(), "filtered:").await;
    let now = now_ms();
    let mut rng = Rng::new(23);
    let users = random_users(&mut rng, now - 10 * 3_600_000, now - 60_000);
    let mut seen = std::collections::HashSet::new();
    let mut visitors = Visitors::new();
    for (phone, user_agent) in [(false, DESKTOP), (true, PHONE)] {
        let events = shuffled_events(&users, phone, &mut rng);
        for batch in events.chunks(50) {
            note_visitors(batch, &mut seen, &mut visitors);
            send(&app, user_agent, batch).await;
        }
    }
    let store = &app.state.store;
    let asked = now_ms();
    let cases: [&[WebFilter]; 6] = [
        &[],
        &[filter("channel", "email")],
        &[filter("page", "/pricing")],
        &[filter("entry", "/docs")],
        &[
            filter("device", "mobile"),
            filter("channel", "organic_search"),
        ],
        &[filter("channel", "no such channel")],
    ];
    for (range, width) in [
        ((now - 6 * 3_600_000 + 17 * 60_000, now), 60_000),
        ((now - 11 * 3_600_000, now + 1), 3_600_000),
    ] {
        for filters in cases {
            let report = store
                .filtered_visit_report(SITE, range, filters, asked)
                .await
                .unwrap();
            let expected = brute_force(&users, &visitors, range, width, asked, filters);
            if filters.is_empty() {
                assert!(expected.visits > 50, "{expected:?}");
            }
            assert_eq!(filled(report), expected, "filtered by {filters:?}");
        }
    }
    // Each filter picked some visits and left others.
    let all = brute_force(
        &users,
        &visitors,
        (now - 11 * 3_600_000, now + 1),
        3_600_000,
        asked,
        &[],
    );
    for filters in &cases[1..5] {
        let some = brute_force(
            &users,
            &visitors,
            (now - 11 * 3_600_000, now + 1),
            3_600_000,
            asked,
            filters,
        );
        assert!(
            some.visits > 0 && some.visits < all.visits,
            "{filters:?}: {some:?}"
        );
    }
    // A filter by a ranking that does not exist is refused by name.
    let refused = store
        .analytics(
            app::events::AnalyticsQuery::Web {
                site: SITE.to_owned(),
                from: now - 3_600_000,
                to: now,
                filters: vec![filter("colour", "red")],
            },
            asked,
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("`colour`"), "{refused}");
}
