//! Model-quality metrics against scikit-learn's golden vectors (`tests/data/golden/quality.json`,
//! made by `make_quality_goldens.py` beside it; the scikit-learn version is in the file). Every
//! metric of every case: defined ones to 1e-12 absolute, undefined ones with the reason the
//! generator names (where scikit-learn says NaN, warns or substitutes a number).

use drift::quality::*;
use serde_json::Value as Json;

const TOL: f64 = 1e-12;

fn golden() -> Json {
    let path = format!("{}/tests/data/golden/quality.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cases<'a>(g: &'a Json, task: &str) -> &'a [Json] {
    let cases = g[task].as_array().unwrap_or_else(|| panic!("{task}: no cases"));
    assert!(cases.len() >= 5, "{task}: too few cases");
    cases
}

fn floats(v: &Json) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect()
}

fn bools(v: &Json) -> Vec<bool> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() == 1).collect()
}

fn strings(v: &Json) -> Vec<String> {
    v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_owned()).collect()
}

/// Every metric the case names equals scikit-learn's value, or is undefined with its reason;
/// and the performance holds no metric the case does not name.
fn compare(case: &Json, task: Task, perf: &Performance) {
    let name = case["name"].as_str().unwrap();
    let want = case["want"].as_object().unwrap();
    assert_eq!(perf.metrics.len(), want.len(), "{name}: metrics {:?}", perf.metrics);
    for (metric_name, expected) in want {
        let metric = Metric::from_name(task, metric_name).unwrap_or_else(|| panic!("{metric_name}"));
        let got = perf.get(metric).unwrap_or_else(|| panic!("{name}: {metric_name} missing"));
        match (got, expected.as_f64()) {
            (Value::Defined(g), Some(w)) => {
                assert!((g - w).abs() <= TOL, "{name}: {metric_name} {g:e} vs scikit-learn {w:e}");
            }
            (Value::Undefined(why), None) => {
                assert_eq!(why, case["undefined"][metric_name].as_str().unwrap(), "{name}: {metric_name}");
            }
            (got, _) => panic!("{name}: {metric_name} is {got:?}, want {expected}"),
        }
    }
    let json = serde_json::to_string(perf).unwrap();
    assert!(!json.contains("NaN") && !json.contains("inf"), "{name}: {json}");
}

#[test]
fn binary_metrics_match_scikit_learn() {
    let g = golden();
    for case in cases(&g, "binary") {
        let scores = case.get("scores").map(floats);
        let rows = Binary::new(bools(&case["labels"]), bools(&case["predicted"]), scores).unwrap();
        compare(case, Task::Binary, &binary(&rows));
    }
}

#[test]
fn multiclass_metrics_match_scikit_learn() {
    let g = golden();
    for case in cases(&g, "multiclass") {
        let perf = multiclass(&strings(&case["labels"]), &strings(&case["predicted"]));
        compare(case, Task::Multiclass, &perf);
    }
}

#[test]
fn regression_metrics_match_scikit_learn() {
    let g = golden();
    for case in cases(&g, "regression") {
        let rows = Regression::new(floats(&case["targets"]), floats(&case["predictions"])).unwrap();
        compare(case, Task::Regression, &regression(&rows));
    }
}

#[test]
fn learned_bands_match_numpy_over_scikit_learn_chunks() {
    let g = golden();
    for case in g["bands"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let (labels, scores) = (bools(&case["labels"]), floats(&case["scores"]));
        let rows = case["rows"].as_u64().unwrap() as usize;
        let values = chunk_values(labels.len(), rows, |r| roc_auc(&labels[r.clone()], &scores[r]));
        let want = floats(&case["chunk_values"]);
        assert_eq!(values.len(), want.len(), "{name}: chunks");
        for (got, want) in values.iter().zip(&want) {
            assert!((got.get().unwrap() - want).abs() <= TOL, "{name}: chunk {got:?} vs {want}");
        }
        let band = learned_band(&values).unwrap();
        for (what, got, key) in [("mean", band.mean, "mean"), ("std", band.std, "std"), ("lower", band.lower, "lower")]
        {
            let want = case[key].as_f64().unwrap();
            assert!((got - want).abs() <= TOL, "{name}: {what} {got:e} vs NumPy {want:e}");
        }
        assert!((band.upper - case["upper"].as_f64().unwrap()).abs() <= TOL, "{name}: upper");
        assert_eq!((band.chunks, band.few_chunks()), (want.len(), want.len() < FEW_CHUNKS), "{name}");
    }
}

#[test]
fn an_undefined_metric_is_null_with_its_reason_in_json() {
    let rows = Binary::new(vec![true, true], vec![true, false], Some(vec![0.9, 0.4])).unwrap();
    let json = serde_json::to_value(binary(&rows)).unwrap();
    let auc = json["metrics"].as_array().unwrap().iter().find(|m| m["metric"] == "roc_auc").unwrap();
    assert_eq!(
        auc,
        &serde_json::json!({"metric": "roc_auc", "value": null, "undefined": "only one class in the labels"})
    );
}
