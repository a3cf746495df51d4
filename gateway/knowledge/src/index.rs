//! One helpdesk's index: a tantivy index on disk (or in memory for tests) with one title and
//! one body field per analyzer language, reconciled against complete listings and searched
//! with BM25.
//!
//! A document is indexed in the fields of its language only (see [`crate::analysis`]); a
//! query is analyzed with every language's analyzer and searched in every field, so a German
//! question finds German articles stemmed the German way and a Chinese question finds Chinese
//! ones by bigrams. Titles weigh twice as much as bodies.
//!
//! Reconciling a listing re-indexes only what changed (by a content hash per document) and
//! removes what the listing no longer has, in one commit: a sync that fails midway leaves the
//! index as it was.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use deskbridge_core::{KnowledgeDoc, KnowledgeError, KnowledgeHit, KnowledgeKind};
use sha2::{Digest, Sha256};
use tantivy::collector::TopDocs;
use tantivy::query::{AllQuery, BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::analysis::{Lang, detect};

/// Most documents one helpdesk's index holds; a bigger listing is refused whole.
pub const MAX_DOCS: usize = 50_000;
/// Most results one search returns.
pub const MAX_RESULTS: usize = 20;
/// Most distinct terms of a query used per field (the rest of a long question adds little).
const MAX_QUERY_TERMS: usize = 64;
/// A body up to this many characters is returned whole as its snippet (a macro, a short
/// answer); longer ones give their best-matching passage.
const WHOLE_BODY_CHARS: usize = 800;
/// Length of a passage taken from a longer body, in characters.
const SNIPPET_CHARS: usize = 400;
/// Memory the indexing thread may buffer before it flushes a segment (tantivy's minimum).
const WRITER_MEMORY: usize = 15_000_000;
/// Bump when the schema or the analyzers change: an index built by another version is
/// rebuilt (it is a cache of the helpdesk's own knowledge; the next sync refills it).
const SCHEMA_VERSION: u32 = 1;
/// File in the index directory that records [`SCHEMA_VERSION`].
const VERSION_FILE: &str = "deskbridge-knowledge.json";

/// The index's fields.
#[derive(Debug, Clone)]
struct Fields {
    id: Field,
    kind: Field,
    lang: Field,
    url: Field,
    hash: Field,
    /// Per language, in [`Lang::ALL`] order: (title, body).
    text: Vec<(Lang, Field, Field)>,
}

impl Fields {
    fn schema() -> (Schema, Fields) {
        let mut builder = Schema::builder();
        let id = builder.add_text_field("id", STRING | STORED);
        let kind = builder.add_text_field("kind", STRING | STORED);
        let lang = builder.add_text_field("lang", STRING | STORED);
        let url = builder.add_text_field("url", STORED);
        let hash = builder.add_text_field("hash", STORED);
        let text = Lang::ALL
            .iter()
            .map(|&l| {
                let options = TextOptions::default()
                    .set_indexing_options(
                        TextFieldIndexing::default()
                            .set_tokenizer(&l.analyzer_name())
                            .set_index_option(IndexRecordOption::WithFreqs),
                    )
                    .set_stored();
                let title = builder.add_text_field(&format!("title_{}", l.code()), options.clone());
                let body = builder.add_text_field(&format!("body_{}", l.code()), options);
                (l, title, body)
            })
            .collect();
        (
            builder.build(),
            Fields {
                id,
                kind,
                lang,
                url,
                hash,
                text,
            },
        )
    }

    fn for_lang(&self, lang: Lang) -> (Field, Field) {
        self.text
            .iter()
            .find(|(l, _, _)| *l == lang)
            .map(|(_, title, body)| (*title, *body))
            .unwrap_or((self.text[0].1, self.text[0].2))
    }
}

/// What one reconciliation changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncReport {
    /// Documents new to the index.
    pub added: usize,
    /// Documents whose content changed.
    pub updated: usize,
    /// Documents the listing no longer has.
    pub removed: usize,
    /// Documents already indexed as they are.
    pub unchanged: usize,
    /// Documents skipped (an unusable id).
    pub skipped: usize,
}

impl SyncReport {
    /// Whether anything in the index changed.
    pub fn changed(&self) -> bool {
        self.added + self.updated + self.removed > 0
    }
}

/// One helpdesk's knowledge index.
pub struct KnowledgeIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
    /// Id → content hash of every document the index holds.
    held: Mutex<HashMap<String, String>>,
    /// One reconciliation at a time.
    writing: Mutex<()>,
}

impl std::fmt::Debug for KnowledgeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KnowledgeIndex")
            .field("documents", &self.len())
            .finish_non_exhaustive()
    }
}

fn index_error(e: impl std::fmt::Display) -> KnowledgeError {
    KnowledgeError::Index(e.to_string())
}

impl KnowledgeIndex {
    /// Opens the index in `dir`, creating it (and the directory) if needed. An index written
    /// with another schema version is deleted and started afresh.
    pub fn open(dir: &Path) -> Result<KnowledgeIndex, KnowledgeError> {
        let (schema, fields) = Fields::schema();
        let version_path = dir.join(VERSION_FILE);
        let current = std::fs::read_to_string(&version_path)
            .ok()
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .and_then(|v| v["schema"].as_u64());
        if current != Some(u64::from(SCHEMA_VERSION)) && dir.exists() {
            tracing::info!(dir = %dir.display(), "knowledge index from another version: rebuilding");
            std::fs::remove_dir_all(dir).map_err(index_error)?;
        }
        std::fs::create_dir_all(dir).map_err(index_error)?;
        let index = if current == Some(u64::from(SCHEMA_VERSION)) {
            Index::open_in_dir(dir).map_err(index_error)?
        } else {
            let index = Index::create_in_dir(dir, schema).map_err(index_error)?;
            std::fs::write(
                &version_path,
                serde_json::json!({ "schema": SCHEMA_VERSION }).to_string(),
            )
            .map_err(index_error)?;
            index
        };
        KnowledgeIndex::with_index(index, fields)
    }

    /// An index held in memory (tests, benchmarks).
    pub fn in_memory() -> Result<KnowledgeIndex, KnowledgeError> {
        let (schema, fields) = Fields::schema();
        KnowledgeIndex::with_index(Index::create_in_ram(schema), fields)
    }

    fn with_index(index: Index, fields: Fields) -> Result<KnowledgeIndex, KnowledgeError> {
        for lang in Lang::ALL {
            index
                .tokenizers()
                .register(&lang.analyzer_name(), lang.analyzer());
        }
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(index_error)?;
        let knowledge = KnowledgeIndex {
            index,
            reader,
            fields,
            held: Mutex::new(HashMap::new()),
            writing: Mutex::new(()),
        };
        let held = knowledge.read_held()?;
        *knowledge.held.lock().map_err(index_error)? = held;
        Ok(knowledge)
    }

    /// Id → hash of every document in the index, read from its stored fields.
    fn read_held(&self) -> Result<HashMap<String, String>, KnowledgeError> {
        let searcher = self.reader.searcher();
        let total = usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX);
        let mut held = HashMap::with_capacity(total);
        if total == 0 {
            return Ok(held);
        }
        let all = searcher
            .search(&AllQuery, &TopDocs::with_limit(total).order_by_score())
            .map_err(index_error)?;
        for (_, address) in all {
            let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
            if let (Some(id), Some(hash)) = (
                text_of(&doc, self.fields.id),
                text_of(&doc, self.fields.hash),
            ) {
                held.insert(id.to_owned(), hash.to_owned());
            }
        }
        Ok(held)
    }

    /// Documents in the index.
    pub fn len(&self) -> usize {
        self.held.lock().map(|held| held.len()).unwrap_or(0)
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes the documents whose id starts with `scope` exactly `listing`: adds new ones,
    /// re-indexes changed ones, removes the rest — in one commit. Documents of `listing`
    /// outside `scope` are skipped (a source cannot overwrite another's documents).
    pub fn reconcile(
        &self,
        scope: &str,
        listing: Vec<KnowledgeDoc>,
    ) -> Result<SyncReport, KnowledgeError> {
        let _one_at_a_time = self.writing.lock().map_err(index_error)?;
        let mut report = SyncReport::default();
        let mut incoming: HashMap<String, KnowledgeDoc> = HashMap::new();
        for doc in listing {
            match doc.bounded() {
                Some(doc) if doc.id.starts_with(scope) => {
                    incoming.insert(doc.id.clone(), doc);
                }
                _ => report.skipped += 1,
            }
        }
        let held = self.held.lock().map_err(index_error)?.clone();
        let others = held.keys().filter(|id| !id.starts_with(scope)).count();
        if incoming.len() + others > MAX_DOCS {
            return Err(KnowledgeError::Index(format!(
                "{} documents would exceed the limit of {MAX_DOCS} per helpdesk",
                incoming.len() + others
            )));
        }
        let mut writer: IndexWriter = self
            .index
            .writer_with_num_threads(1, WRITER_MEMORY)
            .map_err(index_error)?;
        let mut next = held.clone();
        for (id, doc) in &incoming {
            let hash = content_hash(doc);
            match held.get(id) {
                Some(old) if *old == hash => {
                    report.unchanged += 1;
                    continue;
                }
                Some(_) => report.updated += 1,
                None => report.added += 1,
            }
            writer.delete_term(Term::from_field_text(self.fields.id, id));
            writer
                .add_document(self.document(doc, &hash))
                .map_err(index_error)?;
            next.insert(id.clone(), hash);
        }
        let gone: Vec<String> = held
            .keys()
            .filter(|id| id.starts_with(scope) && !incoming.contains_key(*id))
            .cloned()
            .collect();
        for id in &gone {
            writer.delete_term(Term::from_field_text(self.fields.id, id));
            next.remove(id);
        }
        report.removed = gone.len();
        if report.changed() {
            writer.commit().map_err(index_error)?;
            self.reader.reload().map_err(index_error)?;
            *self.held.lock().map_err(index_error)? = next;
        }
        Ok(report)
    }

    fn document(&self, doc: &KnowledgeDoc, hash: &str) -> TantivyDocument {
        let lang = detect(
            doc.locale.as_deref(),
            &format!("{} {}", doc.title, doc.body),
        );
        let (title, body) = self.fields.for_lang(lang);
        let mut out = TantivyDocument::default();
        out.add_text(self.fields.id, &doc.id);
        out.add_text(self.fields.kind, doc.kind.as_str());
        out.add_text(self.fields.lang, lang.code());
        if let Some(url) = &doc.url {
            out.add_text(self.fields.url, url);
        }
        out.add_text(self.fields.hash, hash);
        out.add_text(title, &doc.title);
        out.add_text(body, &doc.body);
        out
    }

    /// The best `k` documents for `query` (at most [`MAX_RESULTS`]), best first. An empty
    /// query, or one with no searchable word, finds nothing.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<KnowledgeHit>, KnowledgeError> {
        let k = k.clamp(1, MAX_RESULTS);
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // Per body field, the query's content terms, to judge coverage below.
        let mut terms_by_field: HashMap<Field, Vec<Term>> = HashMap::new();
        for &(lang, title, body) in &self.fields.text {
            let terms = query_terms(lang, query);
            for (field, boost) in [(title, 2.0), (body, 1.0)] {
                let field_terms: Vec<Term> = terms
                    .iter()
                    .map(|t| Term::from_field_text(field, t))
                    .collect();
                for term in &field_terms {
                    let query = TermQuery::new(term.clone(), IndexRecordOption::WithFreqs);
                    clauses.push((
                        Occur::Should,
                        Box::new(BoostQuery::new(Box::new(query), boost)),
                    ));
                }
            }
            let coverage_terms = query_terms(lang, &without_chatter(query))
                .iter()
                .map(|t| Term::from_field_text(body, t))
                .collect();
            terms_by_field.insert(body, coverage_terms);
        }
        if clauses.is_empty() {
            return Ok(Vec::new());
        }
        let query = BooleanQuery::new(clauses);
        let searcher = self.reader.searcher();
        let top = searcher
            .search(&query, &TopDocs::with_limit(k).order_by_score())
            .map_err(index_error)?;
        let mut generators: HashMap<Field, SnippetGenerator> = HashMap::new();
        let total_docs = searcher.num_docs();
        let mut hits = Vec::with_capacity(top.len());
        for (score, address) in top {
            let doc: TantivyDocument = searcher.doc(address).map_err(index_error)?;
            let lang = text_of(&doc, self.fields.lang)
                .and_then(|code| Lang::ALL.into_iter().find(|l| l.code() == code))
                .unwrap_or(Lang::Other);
            let (title_field, body_field) = self.fields.for_lang(lang);
            let title = text_of(&doc, title_field).unwrap_or_default().to_owned();
            let body = text_of(&doc, body_field).unwrap_or_default();
            let snippet = if body.chars().count() <= WHOLE_BODY_CHARS {
                body.to_owned()
            } else {
                let generator = match generators.entry(body_field) {
                    std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        let mut generator = SnippetGenerator::create(&searcher, &query, body_field)
                            .map_err(index_error)?;
                        generator.set_max_num_chars(SNIPPET_CHARS);
                        e.insert(generator)
                    }
                };
                let fragment = generator
                    .snippet_from_doc(&doc)
                    .fragment()
                    .trim()
                    .to_owned();
                if fragment.is_empty() {
                    opening(body, SNIPPET_CHARS)
                } else {
                    fragment
                }
            };
            let relevance = coverage(
                &searcher,
                total_docs,
                lang,
                &format!("{title}\n{body}"),
                terms_by_field
                    .get(&body_field)
                    .map(Vec::as_slice)
                    .unwrap_or(&[]),
            )?;
            hits.push(KnowledgeHit {
                id: text_of(&doc, self.fields.id).unwrap_or_default().to_owned(),
                kind: kind_from(text_of(&doc, self.fields.kind).unwrap_or_default()),
                title,
                snippet,
                url: text_of(&doc, self.fields.url).map(str::to_owned),
                score,
                relevance,
            });
        }
        Ok(hits)
    }
}

/// How much of the query a document covers, 0–1: the IDF-weighted share of the query's terms
/// (analyzed as the document's language) that occur in its title or body. A document sharing
/// only common words with a question scores low; one containing its rare words scores high.
fn coverage(
    searcher: &tantivy::Searcher,
    total_docs: u64,
    lang: Lang,
    text: &str,
    terms: &[Term],
) -> Result<f32, KnowledgeError> {
    if terms.is_empty() {
        return Ok(0.0);
    }
    let wanted_terms: Vec<String> = terms
        .iter()
        .filter_map(|t| t.value().as_str().map(str::to_owned))
        .collect();
    let wanted: HashSet<&str> = wanted_terms.iter().map(String::as_str).collect();
    let present = terms_present(lang, text, &wanted);
    let n = total_docs as f64;
    let mut matched = 0.0;
    let mut all = 0.0;
    for term in terms {
        let df = searcher.doc_freq(term).map_err(index_error)? as f64;
        let idf = (1.0 + (n - df + 0.5) / (df + 0.5)).ln();
        all += idf;
        if term.value().as_str().is_some_and(|t| present.contains(t)) {
            matched += idf;
        }
    }
    Ok(if all > 0.0 {
        (matched / all) as f32
    } else {
        0.0
    })
}

/// Words of a customer's question that say nothing about its topic ("I would like", "can
/// you", "bitte", "merci"), in the languages with analyzers; left out when judging coverage
/// (BM25 ranking weighs them down by itself).
const CHATTER: &[&str] = &[
    // English
    "i", "im", "i'm", "me", "my", "we", "our", "us", "you", "your", "want", "wanted", "need",
    "would", "like", "could", "can", "do", "does", "did", "please", "hello", "hi", "dear",
    "thanks", "thank", "help", "how", "what", "why", "when", "where", "get", "know", "am", "is",
    "are", "have", "has", "had", "there", "some", "any", "just", // German
    "ich", "mein", "meine", "meinen", "mir", "mich", "wir", "sie", "ihr", "ihre", "möchte",
    "moechte", "bitte", "hallo", "danke", "kann", "können", "koennen", "wie", "was", "warum",
    "habe", "hat", "gibt", // French
    "je", "j", "mon", "ma", "mes", "moi", "nous", "vous", "votre", "voudrais", "veux", "merci",
    "bonjour", "pouvez", "puis", "comment", "pourquoi", "quand", "ai", "avez",
    // Spanish
    "yo", "mi", "mis", "quiero", "quisiera", "hola", "gracias", "puedo", "puede", "como", "cómo",
    "tengo", "por", "favor",
];

/// `text` without [`CHATTER`] words (whole words, any case).
fn without_chatter(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|word| !word.is_empty() && !CHATTER.contains(&word.to_lowercase().as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Which of `wanted` occur in `text` under `lang`'s analyzer (the whole text is read: a
/// match may come late in a long article).
fn terms_present(lang: Lang, text: &str, wanted: &HashSet<&str>) -> HashSet<String> {
    let mut analyzer = lang.analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut present = HashSet::new();
    while let Some(token) = tantivy::tokenizer::TokenStream::next(&mut stream) {
        if wanted.contains(token.text.as_str()) && !present.contains(&token.text) {
            present.insert(token.text.clone());
            if present.len() == wanted.len() {
                break;
            }
        }
    }
    present
}

/// The distinct terms of `text` under `lang`'s analyzer, first [`MAX_QUERY_TERMS`] of them.
fn query_terms(lang: Lang, text: &str) -> Vec<String> {
    let mut analyzer = lang.analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut seen = HashSet::new();
    let mut terms = Vec::new();
    while let Some(token) = tantivy::tokenizer::TokenStream::next(&mut stream) {
        if seen.insert(token.text.clone()) {
            terms.push(token.text.clone());
            if terms.len() == MAX_QUERY_TERMS {
                break;
            }
        }
    }
    terms
}

/// The first `chars` characters of `text`, cut back to a word boundary.
fn opening(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        None => text.trim().to_owned(),
        Some((cut, _)) => {
            let head = &text[..cut];
            let at_word = head.rfind(char::is_whitespace).unwrap_or(cut);
            format!("{}…", head[..at_word].trim_end())
        }
    }
}

fn text_of(doc: &TantivyDocument, field: Field) -> Option<&str> {
    doc.get_first(field).and_then(|value| value.as_str())
}

fn kind_from(name: &str) -> KnowledgeKind {
    match name {
        "macro" => KnowledgeKind::Macro,
        "canned_response" => KnowledgeKind::CannedResponse,
        "markdown" => KnowledgeKind::Markdown,
        _ => KnowledgeKind::Article,
    }
}

/// The hash that decides whether a document must be re-indexed.
fn content_hash(doc: &KnowledgeDoc) -> String {
    let mut hasher = Sha256::new();
    for part in [
        doc.kind.as_str(),
        &doc.title,
        &doc.body,
        doc.url.as_deref().unwrap_or_default(),
        doc.locale.as_deref().unwrap_or_default(),
    ] {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}
