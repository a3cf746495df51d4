//! Budgets that fail closed: tokens and money per provider, per plugin and per helpdesk, per
//! UTC day and per month.
//!
//! Before a call to a paid provider, [`Budgets::reserve`] charges the call's *ceiling* — its
//! estimated prompt plus its whole `max_tokens`, priced at the provider's rates — to every
//! counter with a limit, and refuses ([`FailureKind::BudgetExhausted`]) when any of them would
//! pass its limit: no call is ever made that a budget has not let through. The charge is
//! durable before the call goes out ([`SpendStore::store`] with `durable`), so a restart — or
//! a crash in the middle of the call — never resets a counter. After the call,
//! [`Budgets::settle`] replaces the ceiling by what the provider reported; a call whose usage
//! cannot be read (no usage in the answer, a timeout after the request left) keeps its
//! ceiling; a call the provider refused before working (an HTTP error, no connection) is
//! refunded. The built-in engine is free and not counted.
//!
//! Counters live in memory (the truth for this process) and in a [`SpendStore`] (the truth
//! across restarts): `scope|period` → tokens and cost in millionths of the currency unit, e.g.
//! `plugin:suggest-reply|day:2026-12-04`. Only scopes with a limit are counted.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::{FailureKind, ProviderError, Usage};

/// Limits of one scope; `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budget {
    /// Tokens per UTC day.
    pub daily_tokens: Option<u64>,
    /// Tokens per calendar month (UTC).
    pub monthly_tokens: Option<u64>,
    /// Money per UTC day, in the prices' currency.
    pub daily_cost: Option<f64>,
    /// Money per calendar month.
    pub monthly_cost: Option<f64>,
}

impl Budget {
    fn is_empty(&self) -> bool {
        self.daily_tokens.is_none()
            && self.monthly_tokens.is_none()
            && self.daily_cost.is_none()
            && self.monthly_cost.is_none()
    }
}

/// A provider's prices per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prices {
    /// Per million prompt tokens.
    pub input_per_million: f64,
    /// Per million answer tokens.
    pub output_per_million: f64,
}

impl Prices {
    /// What `usage` costs, in millionths of the currency unit (rounded up).
    pub fn cost_micros(&self, usage: Usage) -> u64 {
        // A million tokens at price p cost p units = p * 1e6 micros: one token costs p micros.
        let micros = f64::from(usage.input_tokens) * self.input_per_million
            + f64::from(usage.output_tokens) * self.output_per_million;
        if micros.is_finite() && micros > 0.0 {
            micros.ceil() as u64
        } else {
            0
        }
    }
}

/// What a counter holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Spend {
    /// Tokens.
    pub tokens: u64,
    /// Cost, millionths of the currency unit.
    pub cost_micros: u64,
}

/// Where counters survive restarts.
pub trait SpendStore: Send + Sync {
    /// The stored value of each counter (zero when absent).
    fn load(&self, counter: &str) -> Result<Spend, String>;
    /// Stores counter values; on disk before returning when `durable`.
    fn store(&self, values: &[(String, Spend)], durable: bool) -> Result<(), String>;
}

/// Counters in memory only (tests, `plugin run`).
#[derive(Debug, Default)]
pub struct MemorySpend {
    values: Mutex<BTreeMap<String, Spend>>,
}

impl SpendStore for MemorySpend {
    fn load(&self, counter: &str) -> Result<Spend, String> {
        Ok(locked(&self.values)
            .get(counter)
            .copied()
            .unwrap_or_default())
    }

    fn store(&self, values: &[(String, Spend)], _durable: bool) -> Result<(), String> {
        locked(&self.values).extend(values.iter().cloned());
        Ok(())
    }
}

fn locked<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// The UTC day and month a call falls in: `2026-12-04`, `2026-12`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// `YYYY-MM`.
    pub month: String,
}

impl Period {
    /// The period of `now`.
    pub fn of(now: time::OffsetDateTime) -> Period {
        let date = now.to_offset(time::UtcOffset::UTC).date();
        let (year, month, day) = (date.year(), u8::from(date.month()), date.day());
        Period {
            day: format!("{year:04}-{month:02}-{day:02}"),
            month: format!("{year:04}-{month:02}"),
        }
    }

    /// The period now.
    pub fn now() -> Period {
        Period::of(time::OffsetDateTime::now_utc())
    }
}

/// A scope a budget applies to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BudgetScope {
    /// Every call to one provider.
    Provider(String),
    /// Every call of one plugin.
    Plugin(String),
    /// Every call for one helpdesk's tickets.
    Helpdesk(String),
}

impl std::fmt::Display for BudgetScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BudgetScope::Provider(name) => write!(f, "provider:{name}"),
            BudgetScope::Plugin(id) => write!(f, "plugin:{id}"),
            BudgetScope::Helpdesk(name) => write!(f, "helpdesk:{name}"),
        }
    }
}

/// One limited counter's state, for `/api/v1/status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BudgetStatus {
    /// `provider:NAME`, `plugin:ID` or `helpdesk:NAME`.
    pub scope: String,
    /// `day:YYYY-MM-DD` or `month:YYYY-MM`.
    pub period: String,
    /// Tokens counted (in-flight calls at their ceiling).
    pub tokens: u64,
    /// The token limit, if any.
    pub token_limit: Option<u64>,
    /// Money counted.
    pub cost: f64,
    /// The money limit, if any.
    pub cost_limit: Option<f64>,
    /// Whether a limit is reached: calls in this scope are refused.
    pub exhausted: bool,
}

/// A charge made before a call, to be settled after it.
#[derive(Debug)]
#[must_use = "a reservation is settled after the call"]
pub struct Reservation {
    counters: Vec<String>,
    charged: Spend,
    prices: Prices,
}

/// How a call ended, for [`Budgets::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The provider answered and reported `Usage`.
    Used(Usage),
    /// The provider may have worked but its usage is unknown: keep the ceiling.
    Unknown,
    /// The provider refused before working: refund.
    Refused,
}

/// Every configured budget and its counters.
pub struct Budgets {
    limits: BTreeMap<BudgetScope, Budget>,
    prices: BTreeMap<String, Prices>,
    store: Arc<dyn SpendStore>,
    /// Counters loaded so far (a counter is read from the store once, then kept here).
    counters: Mutex<BTreeMap<String, Spend>>,
    /// Writes go out one at a time, each carrying the newest values, so an older snapshot
    /// never lands after a newer one.
    writer: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Budgets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Budgets")
            .field("limits", &self.limits)
            .field("prices", &self.prices)
            .finish_non_exhaustive()
    }
}

impl Budgets {
    /// What `usage` of `provider` costs in millionths of the currency, if its prices are
    /// configured.
    pub fn cost_micros(&self, provider: &str, usage: Usage) -> Option<u64> {
        self.prices
            .get(provider)
            .map(|prices| prices.cost_micros(usage))
    }

    /// Budgets with `limits`, providers' `prices` and counters kept in `store`. Scopes whose
    /// budget is empty are dropped.
    pub fn new(
        limits: BTreeMap<BudgetScope, Budget>,
        prices: BTreeMap<String, Prices>,
        store: Arc<dyn SpendStore>,
    ) -> Budgets {
        Budgets {
            limits: limits.into_iter().filter(|(_, b)| !b.is_empty()).collect(),
            prices,
            store,
            counters: Mutex::default(),
            writer: tokio::sync::Mutex::new(()),
        }
    }

    /// Whether any budget is configured.
    pub fn is_empty(&self) -> bool {
        self.limits.is_empty()
    }

    /// The limited scopes a call of `plugin` for `helpdesk` to `provider` touches, with their
    /// counters for `period`.
    fn counters_for(
        &self,
        provider: &str,
        plugin: &str,
        helpdesk: Option<&str>,
        period: &Period,
    ) -> Vec<(String, String, Budget, bool)> {
        let scopes = [
            Some(BudgetScope::Provider(provider.to_owned())),
            Some(BudgetScope::Plugin(plugin.to_owned())),
            helpdesk.map(|h| BudgetScope::Helpdesk(h.to_owned())),
        ];
        let mut out = Vec::new();
        for scope in scopes.into_iter().flatten() {
            if let Some(budget) = self.limits.get(&scope) {
                out.push((
                    scope.to_string(),
                    format!("{scope}|day:{}", period.day),
                    *budget,
                    true,
                ));
                out.push((
                    scope.to_string(),
                    format!("{scope}|month:{}", period.month),
                    *budget,
                    false,
                ));
            }
        }
        out
    }

    fn current(&self, counters: &mut BTreeMap<String, Spend>, key: &str) -> Result<Spend, String> {
        if let Some(spend) = counters.get(key) {
            return Ok(*spend);
        }
        let stored = self.store.load(key)?;
        counters.insert(key.to_owned(), stored);
        Ok(stored)
    }

    /// Charges `ceiling` (estimated prompt, whole `max_tokens`) to every limited counter of
    /// the call, durably, or refuses when one would pass its limit. `None`: no budget applies
    /// (or the provider is the free built-in engine).
    pub async fn reserve(
        &self,
        provider: &str,
        plugin: &str,
        helpdesk: Option<&str>,
        ceiling: Usage,
        period: &Period,
    ) -> Result<Option<Reservation>, ProviderError> {
        let refuse =
            |message: String| ProviderError::new(provider, FailureKind::BudgetExhausted, message);
        if provider == crate::LOCAL {
            return Ok(None);
        }
        let limited = self.counters_for(provider, plugin, helpdesk, period);
        if limited.is_empty() {
            return Ok(None);
        }
        let prices = self.prices.get(provider).copied().unwrap_or_default();
        let charge = Spend {
            tokens: u64::from(ceiling.input_tokens) + u64::from(ceiling.output_tokens),
            cost_micros: prices.cost_micros(ceiling),
        };
        {
            let mut counters = locked(&self.counters);
            for (scope, key, budget, daily) in &limited {
                let now = self.current(&mut counters, key).map_err(|e| {
                    refuse(format!(
                        "the budget counters cannot be read ({e}); no call is made"
                    ))
                })?;
                let (token_limit, cost_limit) = if *daily {
                    (budget.daily_tokens, budget.daily_cost)
                } else {
                    (budget.monthly_tokens, budget.monthly_cost)
                };
                let period = if *daily { "daily" } else { "monthly" };
                if let Some(limit) = token_limit
                    && now.tokens.saturating_add(charge.tokens) > limit
                {
                    return Err(refuse(format!(
                        "the {period} token budget of {scope} is spent ({} of {limit} tokens used; this call may need {})",
                        now.tokens, charge.tokens
                    )));
                }
                if let Some(limit) = cost_limit
                    && now.cost_micros.saturating_add(charge.cost_micros) > to_micros(limit)
                {
                    return Err(refuse(format!(
                        "the {period} cost budget of {scope} is spent ({:.4} of {limit} used; this call may cost up to {:.4})",
                        from_micros(now.cost_micros),
                        from_micros(charge.cost_micros)
                    )));
                }
            }
            for (_, key, _, _) in &limited {
                let spend = counters.entry(key.clone()).or_default();
                spend.tokens = spend.tokens.saturating_add(charge.tokens);
                spend.cost_micros = spend.cost_micros.saturating_add(charge.cost_micros);
            }
        }
        let keys: Vec<String> = limited.into_iter().map(|(_, key, _, _)| key).collect();
        let reservation = Reservation {
            counters: keys,
            charged: charge,
            prices,
        };
        if let Err(e) = self.persist(&reservation.counters, true).await {
            // Not on disk: the call does not go out, and the charge is taken back.
            self.adjust(&reservation, Spend::default());
            return Err(refuse(format!(
                "the budget counters cannot be saved ({e}); no call is made"
            )));
        }
        Ok(Some(reservation))
    }

    /// Replaces a reservation's charge by what the call really used.
    pub async fn settle(&self, reservation: Reservation, outcome: Outcome) {
        let actual = match outcome {
            Outcome::Used(usage) => Spend {
                tokens: u64::from(usage.input_tokens) + u64::from(usage.output_tokens),
                cost_micros: reservation.prices.cost_micros(usage),
            },
            Outcome::Unknown => reservation.charged,
            Outcome::Refused => Spend::default(),
        };
        if actual == reservation.charged {
            return;
        }
        self.adjust(&reservation, actual);
        // Losing this write only leaves the (higher) ceiling on disk: the safe side.
        if let Err(e) = self.persist(&reservation.counters, false).await {
            tracing::warn!(error = %e, "saving budget counters failed; they stay at the call's ceiling on disk");
        }
    }

    fn adjust(&self, reservation: &Reservation, actual: Spend) {
        let mut counters = locked(&self.counters);
        for key in &reservation.counters {
            let spend = counters.entry(key.clone()).or_default();
            spend.tokens = spend
                .tokens
                .saturating_sub(reservation.charged.tokens)
                .saturating_add(actual.tokens);
            spend.cost_micros = spend
                .cost_micros
                .saturating_sub(reservation.charged.cost_micros)
                .saturating_add(actual.cost_micros);
        }
    }

    async fn persist(&self, keys: &[String], durable: bool) -> Result<(), String> {
        let _one_at_a_time = self.writer.lock().await;
        let values: Vec<(String, Spend)> = {
            let counters = locked(&self.counters);
            keys.iter()
                .map(|k| (k.clone(), counters.get(k).copied().unwrap_or_default()))
                .collect()
        };
        let store = Arc::clone(&self.store);
        // The store may fsync: off the async threads.
        match tokio::task::spawn_blocking(move || store.store(&values, durable)).await {
            Ok(result) => result,
            Err(e) => Err(e.to_string()),
        }
    }

    /// Every limited counter of `period`.
    pub fn status(&self, period: &Period) -> Vec<BudgetStatus> {
        let mut counters = locked(&self.counters);
        let mut out = Vec::new();
        for (scope, budget) in &self.limits {
            for daily in [true, false] {
                let (label, token_limit, cost_limit) = if daily {
                    (
                        format!("day:{}", period.day),
                        budget.daily_tokens,
                        budget.daily_cost,
                    )
                } else {
                    (
                        format!("month:{}", period.month),
                        budget.monthly_tokens,
                        budget.monthly_cost,
                    )
                };
                if token_limit.is_none() && cost_limit.is_none() {
                    continue;
                }
                let key = format!("{scope}|{label}");
                let spend = self.current(&mut counters, &key).unwrap_or_default();
                let exhausted = token_limit.is_some_and(|l| spend.tokens >= l)
                    || cost_limit.is_some_and(|l| spend.cost_micros >= to_micros(l));
                out.push(BudgetStatus {
                    scope: scope.to_string(),
                    period: label,
                    tokens: spend.tokens,
                    token_limit,
                    cost: from_micros(spend.cost_micros),
                    cost_limit,
                    exhausted,
                });
            }
        }
        out
    }
}

fn to_micros(amount: f64) -> u64 {
    if amount.is_finite() && amount > 0.0 {
        (amount * 1_000_000.0).floor() as u64
    } else {
        0
    }
}

fn from_micros(micros: u64) -> f64 {
    micros as f64 / 1_000_000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn period() -> Period {
        Period {
            day: "2026-12-04".into(),
            month: "2026-12".into(),
        }
    }

    fn usage(input: u32, output: u32) -> Usage {
        Usage {
            input_tokens: input,
            output_tokens: output,
        }
    }

    /// 1,000 tokens a day and `monthly_cost` a month for suggest-reply; `cloud` charges 1,000
    /// micros a prompt token and 2,000 an answer token.
    fn budgets_costing(store: Arc<dyn SpendStore>, monthly_cost: f64) -> Budgets {
        Budgets::new(
            BTreeMap::from([(
                BudgetScope::Plugin("suggest-reply".into()),
                Budget {
                    daily_tokens: Some(1_000),
                    monthly_cost: Some(monthly_cost),
                    ..Budget::default()
                },
            )]),
            BTreeMap::from([(
                "cloud".to_owned(),
                Prices {
                    input_per_million: 1_000.0,
                    output_per_million: 2_000.0,
                },
            )]),
            store,
        )
    }

    fn budgets(store: Arc<dyn SpendStore>) -> Budgets {
        budgets_costing(store, 1_000.0)
    }

    #[test]
    fn periods_are_utc_days_and_months() {
        // 2026-12-31 23:30 at UTC-2 is already 2027-01-01 in UTC.
        let offset = time::UtcOffset::from_hms(-2, 0, 0).expect("offset");
        let at = time::OffsetDateTime::from_unix_timestamp(1_798_767_000)
            .expect("time")
            .to_offset(offset);
        assert_eq!(at.day(), 31);
        assert_eq!(
            Period::of(at),
            Period {
                day: "2027-01-01".into(),
                month: "2027-01".into()
            }
        );
    }

    #[test]
    fn prices_are_per_million_and_round_up() {
        let prices = Prices {
            input_per_million: 0.15,
            output_per_million: 0.60,
        };
        // 1,000 in + 500 out = 0.00015 + 0.0003 = 0.00045 units = 450 micros.
        assert_eq!(prices.cost_micros(usage(1_000, 500)), 450);
        assert_eq!(prices.cost_micros(usage(1, 0)), 1);
        assert_eq!(Prices::default().cost_micros(usage(1_000, 1_000)), 0);
    }

    #[tokio::test]
    async fn a_budget_refuses_the_call_that_would_pass_it_and_settles_to_actual_use() {
        let store = Arc::new(MemorySpend::default());
        let budgets = budgets(store.clone());
        let p = period();
        let first = budgets
            .reserve("cloud", "suggest-reply", Some("acme"), usage(300, 300), &p)
            .await
            .expect("within")
            .expect("counted");
        // The ceiling (600) is charged while in flight.
        assert_eq!(budgets.status(&p)[0].tokens, 600);
        assert_eq!(
            budgets.status(&p)[1].cost,
            0.9,
            "the month's money counter too"
        );
        let refused = budgets
            .reserve("cloud", "suggest-reply", Some("acme"), usage(300, 300), &p)
            .await
            .expect_err("600 + 600 > 1,000");
        assert_eq!(refused.kind, FailureKind::BudgetExhausted);
        assert!(
            refused
                .message
                .contains("daily token budget of plugin:suggest-reply")
        );
        budgets.settle(first, Outcome::Used(usage(100, 50))).await;
        assert_eq!(budgets.status(&p)[0].tokens, 150);
        // Now it fits; a call whose usage is unknown keeps its ceiling.
        let second = budgets
            .reserve("cloud", "suggest-reply", None, usage(300, 300), &p)
            .await
            .expect("within")
            .expect("counted");
        budgets.settle(second, Outcome::Unknown).await;
        assert_eq!(budgets.status(&p)[0].tokens, 750);
        assert!(!budgets.status(&p)[0].exhausted);
        // Another plugin, the free local engine: not counted.
        assert!(
            budgets
                .reserve("cloud", "summarize", None, usage(9_000, 9_000), &p)
                .await
                .expect("no budget")
                .is_none()
        );
        assert!(
            budgets
                .reserve("local", "suggest-reply", None, usage(9_000, 9_000), &p)
                .await
                .expect("free")
                .is_none()
        );
    }

    #[tokio::test]
    async fn counters_survive_a_restart_and_a_refused_call_is_refunded() {
        let store: Arc<dyn SpendStore> = Arc::new(MemorySpend::default());
        let p = period();
        {
            let budgets = budgets(Arc::clone(&store));
            let held = budgets
                .reserve("cloud", "suggest-reply", None, usage(400, 400), &p)
                .await
                .expect("within")
                .expect("counted");
            // The process dies mid-call: the ceiling is already on disk.
            drop(held);
        }
        let restarted = budgets(Arc::clone(&store));
        assert_eq!(restarted.status(&p)[0].tokens, 800);
        let refused = restarted
            .reserve("cloud", "suggest-reply", None, usage(200, 100), &p)
            .await
            .expect_err("800 + 300 > 1,000");
        assert_eq!(refused.kind, FailureKind::BudgetExhausted);
        let small = restarted
            .reserve("cloud", "suggest-reply", None, usage(100, 50), &p)
            .await
            .expect("fits")
            .expect("counted");
        restarted.settle(small, Outcome::Refused).await;
        assert_eq!(restarted.status(&p)[0].tokens, 800);
    }

    #[tokio::test]
    async fn money_budgets_use_the_providers_prices() {
        let budgets = budgets_costing(Arc::new(MemorySpend::default()), 1.0);
        let p = period();
        // 1,000 micros per input token, 2,000 per output: 200 + 200 tokens cost 0.6 units.
        let held = budgets
            .reserve("cloud", "suggest-reply", None, usage(200, 200), &p)
            .await
            .expect("0.6 of 1.0")
            .expect("counted");
        budgets.settle(held, Outcome::Unknown).await;
        let refused = budgets
            .reserve("cloud", "suggest-reply", None, usage(200, 200), &p)
            .await
            .expect_err("1.2 > 1.0");
        assert!(refused.message.contains("monthly cost budget"), "{refused}");
    }

    struct Broken;
    impl SpendStore for Broken {
        fn load(&self, _: &str) -> Result<Spend, String> {
            Ok(Spend::default())
        }
        fn store(&self, _: &[(String, Spend)], _: bool) -> Result<(), String> {
            Err("disk full".into())
        }
    }

    #[tokio::test]
    async fn counters_that_cannot_be_saved_mean_no_call() {
        let budgets = budgets(Arc::new(Broken));
        let refused = budgets
            .reserve("cloud", "suggest-reply", None, usage(10, 10), &period())
            .await
            .expect_err("fail closed");
        assert_eq!(refused.kind, FailureKind::BudgetExhausted);
        assert!(refused.message.contains("disk full"));
        assert_eq!(budgets.status(&period())[0].tokens, 0, "charge taken back");
    }
}
