//! Real-world landing addresses and referrers, as browsers send them.

use super::*;

fn own() -> Vec<String> {
    vec!["example.com".to_owned(), "www.example.org".to_owned()]
}

fn of(page: &str, referrer: &str) -> Source {
    source(page, referrer, &own())
}

#[test]
fn no_referrer_and_no_campaign_is_direct() {
    let source = of("https://example.com/pricing", "");
    assert_eq!(source.channel, Channel::Direct);
    assert_eq!(source.referrer, None);
    assert_eq!(source.utm, Utm::default());
}

#[test]
fn search_engines_in_any_country_are_organic_search() {
    for referrer in [
        "https://www.google.com/",
        "https://www.google.co.uk/",
        "https://www.google.de/",
        "https://www.bing.com/search?q=livedash&form=QBLH",
        "https://duckduckgo.com/",
        "https://search.yahoo.co.jp/search?p=livedash",
        "https://yandex.ru/search/?text=livedash",
        "https://www.ecosia.org/search?q=livedash",
        "https://search.brave.com/search?q=livedash",
        "https://www.baidu.com/link?url=abc",
        "android-app://com.google.android.googlequicksearchbox/",
    ] {
        let source = of("https://example.com/", referrer);
        assert_eq!(source.channel, Channel::OrganicSearch, "{referrer}");
        assert!(source.referrer.is_some(), "{referrer}");
    }
    assert_eq!(
        of("https://example.com/", "https://www.google.co.uk/").referrer,
        Some("google.co.uk".to_owned())
    );
}

#[test]
fn social_networks_are_social() {
    for referrer in [
        "https://t.co/AbCdEf123",
        "https://l.facebook.com/l.php?u=https%3A%2F%2Fexample.com%2F",
        "https://lm.facebook.com/",
        "https://www.linkedin.com/",
        "https://out.reddit.com/t3_abc?url=https%3A%2F%2Fexample.com",
        "https://old.reddit.com/r/rust/comments/abc/",
        "https://news.ycombinator.com/item?id=40000000",
        "https://www.youtube.com/",
        "https://l.instagram.com/?u=https%3A%2F%2Fexample.com",
        "https://bsky.app/profile/someone.bsky.social",
        "android-app://com.linkedin.android/",
    ] {
        assert_eq!(
            of("https://example.com/", referrer).channel,
            Channel::Social,
            "{referrer}"
        );
    }
    // A campaign from a social network without a referrer (apps send none).
    let source = of(
        "https://example.com/?utm_source=facebook&utm_campaign=launch",
        "",
    );
    assert_eq!(source.channel, Channel::Social);
}

#[test]
fn the_five_utm_parameters_are_read_and_decoded() {
    let source = of(
        "https://example.com/landing?utm_source=newsletter-weekly&utm_medium=email&utm_campaign=spring%20sale&utm_term=redis+dashboards&utm_content=header_link&other=1",
        "",
    );
    assert_eq!(
        source.utm,
        Utm {
            source: Some("newsletter-weekly".to_owned()),
            medium: Some("email".to_owned()),
            campaign: Some("spring sale".to_owned()),
            term: Some("redis dashboards".to_owned()),
            content: Some("header_link".to_owned()),
        }
    );
    assert_eq!(source.channel, Channel::Email);
}

#[test]
fn parameter_names_ignore_case_and_the_first_value_wins() {
    let source = of(
        "https://example.com/?UTM_Source=Partner&utm_source=second&utm_medium=",
        "",
    );
    assert_eq!(source.utm.source.as_deref(), Some("Partner"));
    assert_eq!(source.utm.medium, None);
    assert_eq!(source.channel, Channel::Referral);
}

#[test]
fn paid_media_and_ad_click_ids_are_paid() {
    for page in [
        "https://example.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand",
        "https://example.com/?utm_source=linkedin&utm_medium=paid_social",
        "https://example.com/?gclid=Cj0KCQiA8fW9BhC8ARIsACwHqYo",
        "https://example.com/?msclkid=4f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c",
        "https://example.com/?utm_medium=display&utm_source=adnetwork",
    ] {
        assert_eq!(
            of(page, "https://www.google.com/").channel,
            Channel::Paid,
            "{page}"
        );
    }
    // Facebook adds fbclid to every outbound link, paid or not.
    assert_eq!(
        of(
            "https://example.com/?fbclid=IwAR2abc",
            "https://l.facebook.com/"
        )
        .channel,
        Channel::Social
    );
}

#[test]
fn webmail_and_email_campaigns_are_email() {
    assert_eq!(
        of("https://example.com/", "https://mail.google.com/").channel,
        Channel::Email
    );
    assert_eq!(
        of(
            "https://example.com/",
            "android-app://com.google.android.gm/"
        )
        .channel,
        Channel::Email
    );
    assert_eq!(
        of("https://example.com/?utm_source=newsletter", "").channel,
        Channel::Email
    );
}

#[test]
fn other_sites_are_referrals() {
    let source = of(
        "https://example.com/blog/post",
        "https://blog.rust-lang.org/2026/11/01/news.html",
    );
    assert_eq!(source.channel, Channel::Referral);
    assert_eq!(source.referrer.as_deref(), Some("blog.rust-lang.org"));
    // `?ref=` names the source where no UTM does.
    let source = of("https://example.com/?ref=producthunt", "");
    assert_eq!(source.utm.source.as_deref(), Some("producthunt"));
    assert_eq!(source.channel, Channel::Referral);
}

#[test]
fn the_site_itself_is_no_referrer() {
    for referrer in [
        "https://example.com/previous",
        "https://www.example.com/previous",
        "https://docs.example.com/guide",
        "https://example.org/",
        "https://EXAMPLE.COM./",
    ] {
        let source = of("https://example.com/next", referrer);
        assert_eq!(source.referrer, None, "{referrer}");
        assert_eq!(source.channel, Channel::Direct, "{referrer}");
    }
    // The page's own host counts even when not configured.
    let source = source(
        "https://shop.other.net/cart",
        "https://shop.other.net/",
        &[],
    );
    assert_eq!(source.referrer, None);
    // A domain that merely ends the same way is another site.
    assert_eq!(
        of("https://example.com/", "https://notexample.com/").referrer,
        Some("notexample.com".to_owned())
    );
}

#[test]
fn unreadable_addresses_are_ignored_not_refused() {
    let source = of("not a url", "javascript:alert(1)");
    assert_eq!(source.channel, Channel::Direct);
    assert_eq!(source.referrer, None);
    let long = format!("https://example.com/?utm_campaign={}", "é".repeat(300));
    let campaign = of(&long, "").utm.campaign.unwrap();
    assert!(campaign.len() <= MAX_VALUE_LEN && campaign.starts_with('é'));
}
