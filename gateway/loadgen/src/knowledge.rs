//! `deskbridge-load knowledge`: how fast a knowledge base of `--articles` documents is built
//! and searched.
//!
//! It generates a deterministic corpus — articles about a few dozen support topics, each a
//! title and 80–400 words of sentences drawn from the topic's vocabulary and a shared one,
//! 85 % English, 5 % each German, French and Chinese (the analyzers differ by language) — and
//! indexes it into a fresh on-disk index in one reconciliation (the first sync), timing it.
//! Then it runs `--queries` searches (`k` = 3, the suggest-reply default) with questions built
//! the same way, one after the other on one thread, and reports p50/p99/max latency per
//! search (relevance and snippets included, as the `knowledge` import returns them), the
//! index size on disk and the peak RSS.

use std::time::{Duration, Instant};

use anyhow::Context;
use deskbridge_core::{KnowledgeDoc, KnowledgeKind};
use deskbridge_knowledge::KnowledgeIndex;
use serde_json::json;

/// `deskbridge-load knowledge`'s options.
#[derive(clap::Args)]
pub(crate) struct KnowledgeArgs {
    /// Articles in the corpus.
    #[arg(long, default_value_t = 10_000)]
    articles: usize,
    /// Searches measured (after 200 warm-up searches).
    #[arg(long, default_value_t = 5_000)]
    queries: usize,
}

const TOPICS: &[(&str, &[&str])] = &[
    (
        "Refunds",
        &[
            "refund", "money", "return", "days", "damaged", "broken", "receipt", "original",
            "payment", "card",
        ],
    ),
    (
        "Shipping",
        &[
            "shipping",
            "delivery",
            "parcel",
            "courier",
            "tracking",
            "express",
            "address",
            "delay",
            "warehouse",
            "customs",
        ],
    ),
    (
        "Passwords",
        &[
            "password",
            "reset",
            "login",
            "sign-in",
            "account",
            "email",
            "link",
            "expired",
            "security",
            "two-factor",
        ],
    ),
    (
        "Invoices",
        &[
            "invoice",
            "billing",
            "vat",
            "company",
            "address",
            "pdf",
            "download",
            "tax",
            "number",
            "correction",
        ],
    ),
    (
        "Subscriptions",
        &[
            "subscription",
            "plan",
            "upgrade",
            "downgrade",
            "cancel",
            "renewal",
            "trial",
            "annual",
            "monthly",
            "seats",
        ],
    ),
    (
        "Warranty",
        &[
            "warranty",
            "repair",
            "serial",
            "defect",
            "replacement",
            "years",
            "manufacturer",
            "claim",
            "proof",
            "purchase",
        ],
    ),
    (
        "Exchanges",
        &[
            "exchange", "size", "colour", "swap", "label", "store", "voucher", "credit", "stock",
            "variant",
        ],
    ),
    (
        "Privacy",
        &[
            "privacy", "data", "delete", "export", "gdpr", "consent", "cookies", "personal",
            "request", "erasure",
        ],
    ),
];

const SHARED: &[&str] = &[
    "our",
    "team",
    "customers",
    "within",
    "please",
    "contact",
    "support",
    "order",
    "you",
    "can",
    "the",
    "we",
    "will",
    "your",
    "if",
    "after",
    "before",
    "a",
    "and",
    "to",
    "for",
    "with",
];

const GERMAN: &[&str] = &[
    "Rückerstattung",
    "Bestellung",
    "Lieferung",
    "Passwort",
    "Rechnung",
    "Garantie",
    "Umtausch",
    "Datenschutz",
    "und",
    "die",
    "der",
    "wir",
    "Sie",
    "innerhalb",
    "Tagen",
];
const FRENCH: &[&str] = &[
    "remboursement",
    "commande",
    "livraison",
    "mot",
    "passe",
    "facture",
    "garantie",
    "échange",
    "données",
    "et",
    "les",
    "nous",
    "vous",
    "sous",
    "jours",
];
const CHINESE: &[&str] = &[
    "退款", "订单", "快递", "密码", "发票", "保修", "换货", "隐私", "我们", "您", "天内", "申请",
    "联系", "客服",
];

/// A small deterministic generator (xorshift): the same corpus on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, words: &[&'a str]) -> &'a str {
        words[self.below(words.len())]
    }
}

fn text(rng: &mut Rng, topic: &[&str], words: usize, language: usize) -> String {
    let mut out = String::new();
    for i in 0..words {
        let word = match language {
            1 => rng.pick(GERMAN),
            2 => rng.pick(FRENCH),
            3 => rng.pick(CHINESE),
            _ if rng.below(3) == 0 => rng.pick(SHARED),
            _ => rng.pick(topic),
        };
        if language != 3 && i > 0 {
            out.push(' ');
        }
        out.push_str(word);
        if i % 12 == 11 {
            out.push_str(if language == 3 { "。" } else { "." });
        }
    }
    out
}

fn corpus(articles: usize) -> Vec<KnowledgeDoc> {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    (0..articles)
        .map(|i| {
            let (name, vocabulary) = TOPICS[i % TOPICS.len()];
            let language = match rng.below(20) {
                0 => 1,
                1 => 2,
                2 => 3,
                _ => 0,
            };
            let words = 80 + rng.below(320);
            KnowledgeDoc {
                id: format!("zendesk:article:{i}"),
                kind: if i % 10 == 0 {
                    KnowledgeKind::Macro
                } else {
                    KnowledgeKind::Article
                },
                title: format!("{name}: {}", text(&mut rng, vocabulary, 4, language)),
                body: text(&mut rng, vocabulary, words, language),
                url: Some(format!("https://help.example.com/hc/articles/{i}")),
                locale: None,
                updated_at: None,
            }
        })
        .collect()
}

fn questions(count: usize) -> Vec<String> {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    (0..count)
        .map(|i| {
            let (_, vocabulary) = TOPICS[rng.below(TOPICS.len())];
            let language = if i % 10 == 9 { 3 } else { 0 };
            let words = 8 + rng.below(24);
            format!("Hello, {}?", text(&mut rng, vocabulary, words, language))
        })
        .collect()
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
                .sum()
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[Duration], p: f64) -> u64 {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    u64::try_from(sorted[at].as_micros()).unwrap_or(u64::MAX)
}

pub(crate) fn run(args: &KnowledgeArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir().context("temp dir")?;
    let docs = corpus(args.articles);
    let started = Instant::now();
    let index = KnowledgeIndex::open(dir.path()).context("opening the index")?;
    let report = index.reconcile("zendesk:", docs).context("indexing")?;
    let build = started.elapsed();
    let warm = questions(200);
    for q in &warm {
        index.search(q, 3).context("search")?;
    }
    let mut times = Vec::with_capacity(args.queries);
    let mut empty = 0usize;
    for q in questions(args.queries) {
        let started = Instant::now();
        let hits = index.search(&q, 3).context("search")?;
        times.push(started.elapsed());
        empty += usize::from(hits.is_empty());
    }
    times.sort_unstable();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "articles": report.added,
            "index_build_ms": u64::try_from(build.as_millis()).unwrap_or(u64::MAX),
            "index_bytes": dir_size(dir.path()),
            "queries": times.len(),
            "queries_without_hits": empty,
            "search_p50_us": percentile(&times, 0.50),
            "search_p99_us": percentile(&times, 0.99),
            "search_max_us": percentile(&times, 1.0),
            "peak_rss_mib": crate::ai::peak_rss_kib().map(|k| k / 1024),
        }))?
    );
    Ok(())
}
