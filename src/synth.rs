//! Deterministic synthetic data: the demo pair shipped in `examples/data/`, the benchmark
//! tables and test fixtures. A seeded xoshiro256** generator, so the same seed gives the same
//! bytes on every machine; no `rand` dependency.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use arrow_array::builder::{BooleanBuilder, Float64Builder, Int64Builder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch, TimestampMillisecondArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

mod demo_model;

pub use demo_model::{HOLDOUT_ROWS, demo_holdout, demo_labels};

/// xoshiro256** seeded through SplitMix64.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator for `seed`.
    pub fn new(seed: u64) -> Rng {
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng { s: [next(), next(), next(), next()] }
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Standard normal (Box-Muller, one value per call).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Index drawn with the given (unnormalised) weights.
    pub fn choose(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut u = self.uniform() * total;
        for (i, w) in weights.iter().enumerate() {
            if u < *w {
                return i;
            }
            u -= w;
        }
        weights.len() - 1
    }

    /// Poisson by inversion (small means).
    pub fn poisson(&mut self, mean: f64) -> i64 {
        let l = (-mean).exp();
        let (mut k, mut p) = (0i64, 1.0);
        loop {
            p *= self.uniform();
            if p <= l {
                return k;
            }
            k += 1;
        }
    }
}

/// Which side of the demo pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoSide {
    /// Training-time data.
    Reference,
    /// Production data with drift.
    Current,
}

/// The demo table: a checkout-conversion model's features and prediction. The current side
/// has real-looking problems: customers got older (`age`), the model's score moved, a broken
/// join made `basket_value` 6% null instead of 1%, a new market (`BR`) appeared in `country`,
/// `legacy_flag` was dropped and `promo_code` added. The rest is stable, `latency_ms` included
/// (the model's serving latency: lognormal around 45 ms with a slow tail, 0.5% of requests
/// taking 1-3 s, the same on both sides; drawn from a stream of its own, so the other columns
/// are the values they were before it was added). After them, the model's `request_id` and
/// `prediction` (`"1"` when `score` is at least 0.5), from no random draw.
pub fn demo_batch(side: DemoSide) -> RecordBatch {
    let cur = side == DemoSide::Current;
    let (rows, seed) = if cur { (8_000, 2) } else { (20_000, 1) };
    let mut rng = Rng::new(seed);
    let mut age = Int64Builder::new();
    let mut income = Float64Builder::new();
    let mut minutes = Float64Builder::new();
    let mut basket = Float64Builder::new();
    let mut items = Int64Builder::new();
    let mut score = Float64Builder::new();
    let mut country = StringDictionaryBuilder::<Int32Type>::new();
    let mut device = StringDictionaryBuilder::<Int32Type>::new();
    let mut returning = BooleanBuilder::new();
    let mut legacy = BooleanBuilder::new();
    let mut promo = StringDictionaryBuilder::<Int32Type>::new();
    let mut ts = Vec::with_capacity(rows);
    let latency = demo_latency(rows, seed);
    let countries = ["US", "DE", "FR", "GB", "JP", "BR"];
    let country_w: [f64; 6] =
        if cur { [0.36, 0.20, 0.12, 0.14, 0.10, 0.08] } else { [0.45, 0.20, 0.12, 0.13, 0.10, 0.0] };
    let base_ms: i64 = if cur { 1_767_225_600_000 } else { 1_735_689_600_000 };
    for i in 0..rows {
        let a = (40.0 + 12.0 * rng.normal() + if cur { 4.0 } else { 0.0 }).clamp(18.0, 90.0);
        age.append_value(a.round() as i64);
        income.append_value((10.3 + 0.6 * rng.normal()).exp().round());
        minutes.append_value((-8.0 * (1.0 - rng.uniform()).ln() * 100.0).round() / 100.0);
        let null_rate = if cur { 0.06 } else { 0.01 };
        if rng.uniform() < null_rate {
            basket.append_null();
        } else {
            basket.append_value(((3.5 + 0.8 * rng.normal()).exp() * 100.0).round() / 100.0);
        }
        items.append_value(1 + rng.poisson(2.0));
        let logit = -1.2 + 0.9 * rng.normal() + if cur { 0.35 } else { 0.0 };
        score.append_value(1.0 / (1.0 + (-logit).exp()));
        country.append_value(countries[rng.choose(&country_w)]);
        device.append_value(["ios", "android", "web"][rng.choose(&[0.45, 0.35, 0.20])]);
        returning.append_value(rng.uniform() < 0.4);
        if cur {
            if rng.uniform() < 0.3 {
                promo.append_value(["SPRING", "VIP10", "FREESHIP"][rng.choose(&[0.5, 0.3, 0.2])]);
            } else {
                promo.append_null();
            }
        } else {
            legacy.append_value(rng.uniform() < 0.02);
        }
        ts.push(base_ms + i as i64 * 60_000);
    }
    let mut fields = demo_fields(cur);
    let score = score.finish();
    let model = demo_model::model_columns(side, &score);
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(TimestampMillisecondArray::from(ts)),
        Arc::new(age.finish()),
        Arc::new(income.finish()),
        Arc::new(minutes.finish()),
        Arc::new(basket.finish()),
        Arc::new(items.finish()),
        Arc::new(score),
        Arc::new(country.finish()),
        Arc::new(device.finish()),
        Arc::new(returning.finish()),
    ];
    columns.push(if cur { Arc::new(promo.finish()) } else { Arc::new(legacy.finish()) });
    columns.push(Arc::new(arrow_array::Float64Array::from(latency)));
    for (field, column) in model {
        fields.push(field);
        columns.push(column);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).expect("demo schema matches its columns")
}

/// Every file of the demo, by its path under `examples/data/`: the pair, the model's holdout
/// and the late labels (`cargo run --example demo_data` writes them; a test checks the
/// committed files).
pub fn demo_files() -> Vec<(String, RecordBatch)> {
    let current = demo_batch(DemoSide::Current);
    let labels = demo_labels(&current);
    let mut files = vec![
        ("reference.parquet".to_owned(), demo_batch(DemoSide::Reference)),
        ("current.parquet".to_owned(), current),
        ("holdout.parquet".to_owned(), demo_holdout()),
    ];
    files.extend(labels.into_iter().map(|(name, batch)| (format!("labels/{name}"), batch)));
    files
}

/// The demo's schema: the current side has `promo_code` where the reference has `legacy_flag`.
fn demo_fields(current: bool) -> Vec<Field> {
    let mut fields = vec![
        Field::new("event_time", DataType::Timestamp(arrow_schema::TimeUnit::Millisecond, None), false),
        Field::new("age", DataType::Int64, false),
        Field::new("income", DataType::Float64, false),
        Field::new("session_minutes", DataType::Float64, false),
        Field::new("basket_value", DataType::Float64, true),
        Field::new("num_items", DataType::Int64, false),
        Field::new("score", DataType::Float64, false),
        Field::new("country", dict_type(), false),
        Field::new("device", dict_type(), false),
        Field::new("is_returning", DataType::Boolean, false),
    ];
    fields.push(if current {
        Field::new("promo_code", dict_type(), true)
    } else {
        Field::new("legacy_flag", DataType::Boolean, false)
    });
    fields.push(Field::new("latency_ms", DataType::Float64, false));
    fields
}

/// The demo's serving latencies (ms): lognormal around 45 ms (σ 0.45), and 0.5% slow
/// requests of 1-3 s; rounded to the microsecond.
fn demo_latency(rows: usize, seed: u64) -> Vec<f64> {
    let mut rng = Rng::new(seed + 1000);
    (0..rows)
        .map(|_| {
            let ms = if rng.uniform() < 0.005 {
                1000.0 + 2000.0 * rng.uniform()
            } else {
                45.0 * (0.45 * rng.normal()).exp()
            };
            (ms * 1000.0).round() / 1000.0
        })
        .collect()
}

fn dict_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// The benchmark table: `numeric` float columns (`num_00`..) and `categorical` string columns
/// (`cat_00`..), `rows` rows, with drift in some columns when `shifted` (every fourth numeric
/// column's mean moves by 0.3 sd, every other categorical column's mix changes).
pub fn bench_batches(
    rows: usize,
    numeric: usize,
    categorical: usize,
    shifted: bool,
    seed: u64,
) -> (Arc<Schema>, impl Iterator<Item = RecordBatch>) {
    let mut fields = Vec::new();
    for i in 0..numeric {
        fields.push(Field::new(format!("num_{i:02}"), DataType::Float64, true));
    }
    for i in 0..categorical {
        fields.push(Field::new(format!("cat_{i:02}"), DataType::Utf8, true));
    }
    let schema = Arc::new(Schema::new(fields));
    let chunk = 1 << 16;
    let s2 = schema.clone();
    let mut rng = Rng::new(seed);
    let labels: Vec<String> = (0..50).map(|i| format!("category_{i:02}")).collect();
    let iter = (0..rows.div_ceil(chunk)).map(move |c| {
        let n = chunk.min(rows - c * chunk);
        let mut cols: Vec<ArrayRef> = Vec::new();
        for i in 0..numeric {
            let mut b = Float64Builder::with_capacity(n);
            let shift = if shifted && i % 4 == 0 { 0.3 } else { 0.0 };
            for _ in 0..n {
                let x = match i % 3 {
                    0 => rng.normal() + shift,
                    1 => (rng.normal() * 0.5).exp() + shift,
                    _ => (rng.uniform() * 1000.0).round() / 10.0 + shift * 30.0,
                };
                b.append_value(x);
            }
            cols.push(Arc::new(b.finish()));
        }
        for i in 0..categorical {
            let mut b = arrow_array::builder::StringBuilder::with_capacity(n, n * 11);
            let skew = if shifted && i % 2 == 0 { 1.3 } else { 1.0 };
            for _ in 0..n {
                // Zipf-like over 50 labels
                let u = rng.uniform().powf(skew * 2.0);
                b.append_value(&labels[(u * 50.0) as usize % 50]);
            }
            cols.push(Arc::new(b.finish()));
        }
        RecordBatch::try_new(s2.clone(), cols).expect("bench schema matches its columns")
    });
    (schema, iter)
}

/// Writes batches to a snappy-compressed Parquet file with the writer's default (dictionary)
/// encoding, as most producers do.
pub fn write_parquet(path: &Path, schema: Arc<Schema>, batches: impl IntoIterator<Item = RecordBatch>) -> Result<()> {
    let file = File::create(path).with_context(|| format!("{}: cannot create", path.display()))?;
    let props = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut w = ArrowWriter::try_new(file, schema, Some(props))?;
    for b in batches {
        w.write(&b)?;
    }
    w.close()?;
    Ok(())
}
