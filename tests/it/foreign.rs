//! Files drift did not write: pandas + pyarrow fixtures (`tests/data/foreign/make.py`) with
//! every codec, several row groups, data page v2, pandas categoricals and nullable dtypes, a
//! non-default index, datetimes and nested lists. Counts are checked against pandas'
//! (`expected.json`); every codec must give the same report.

use crate::support::{check_json, column, test};

fn path(name: &str) -> String {
    format!("{}/tests/data/foreign/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn pandas_files_in_every_codec() {
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path("expected.json")).unwrap()).unwrap();
    let mut first: Option<serde_json::Value> = None;
    for codec in ["snappy", "gzip", "zstd", "brotli", "lz4", "none"] {
        let (code, rep) = check_json(&[&path(&format!("reference_{codec}.parquet"))], &[&path("current.parquet")], &[]);
        assert_eq!(code, 1, "{codec}: f64 was shifted by half a standard deviation");
        for (name, want) in expected.as_object().unwrap() {
            let col = column(&rep, name);
            let missing = |side: &str| col[side]["nulls"].as_u64().unwrap() + col[side]["nan"].as_u64().unwrap();
            assert_eq!(missing("reference"), want["reference_missing"].as_u64().unwrap(), "{codec} {name}");
            assert_eq!(missing("current"), want["current_missing"].as_u64().unwrap(), "{codec} {name}");
            assert_eq!(col["reference"]["count"], want["reference_count"], "{codec} {name}");
        }
        let f64col = column(&rep, "f64");
        let mean = f64col["reference"]["stats"]["mean"].as_f64().unwrap();
        assert!((mean - expected["f64"]["reference_mean"].as_f64().unwrap()).abs() < 1e-12, "{codec}");
        assert_eq!(f64col["current"]["stats"]["median"], expected["f64"]["current_median"], "{codec}");
        assert_eq!(test(f64col, "ks")["drift"], true, "{codec}");
        assert_eq!(column(&rep, "cat")["kind"], "categorical", "pandas categoricals are dictionaries");
        let skipped: Vec<(&str, &str)> = rep["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| (k["column"].as_str().unwrap(), k["reason"].as_str().unwrap()))
            .collect();
        assert_eq!(
            skipped,
            vec![("__index_level_0__", "pandas index column"), ("when", "temporal column"), ("tags", "nested type")],
            "{codec}"
        );
        match &first {
            None => first = Some(rep["columns"].clone()),
            Some(f) => assert_eq!(&rep["columns"], f, "{codec} gives another report than snappy"),
        }
    }
}
