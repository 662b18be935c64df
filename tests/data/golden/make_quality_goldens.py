#!/usr/bin/env python3
"""Golden vectors for model quality (issue 13, "realized performance").

Writes quality.json next to this script: binary, multiclass and regression cases (inputs next
to the expected values) with scikit-learn's numbers, and reference chunks with the learned
band (NannyML's rule: mean +- 3 standard deviations, NumPy's np.std, ddof 0).

drift reports a metric as *undefined, with a reason* where scikit-learn returns NaN, warns and
substitutes a value (zero_division, average_precision with no positive label, MAPE's epsilon
on zero targets) or raises; `undefined` below names the reason drift must give and `want` is
then null. Where scikit-learn offers `force_finite` it is False; `zero_division` is NaN.

- binary: accuracy_score; precision_score, recall_score, f1_score (pos_label=1); specificity as
  recall_score(pos_label=0); with a score: roc_auc_score (ties as scikit-learn: the trapezoid
  over distinct thresholds), average_precision_score, log_loss(labels=[0, 1]) (scores clipped
  to [eps, 1 - eps], float64 eps), brier_score_loss(pos_label=1), and the expected calibration
  error on calibration_curve(n_bins=10, strategy="uniform")'s bins: sum over bins of
  |positives - sum of scores| / n (the bins are sklearn's: np.searchsorted over the inner
  edges of np.linspace(0, 1, 11), so an edge value falls in the lower bin).
- multiclass: accuracy_score, f1_score(average="macro") and (average="weighted") over the union
  of the classes seen in labels and predictions.
- regression: mean_absolute_error, root_mean_squared_error, mean_absolute_percentage_error
  (undefined when a target is 0: scikit-learn divides by max(|y|, eps) instead), r2_score
  (force_finite=False; undefined on constant targets or fewer than two rows).

Run: `~/.cache/drift-ci-tools/sklearn-venv/bin/python tests/data/golden/make_quality_goldens.py`
(make the venv with `python3 -m venv` and `pip install scikit-learn`; the versions are
recorded in the file). The tests read the JSON only: they need no Python.
"""

import functools
import json
import math
import os
import warnings

import numpy as np
import sklearn
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve

HERE = os.path.dirname(os.path.abspath(__file__))
RNG = np.random.default_rng(20261203)


def finite(x):
    x = float(x)
    return x if math.isfinite(x) else None


def quiet(f, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return float(f(*args, **kwargs))
        except ValueError:
            return float("nan")


def ece(y, p):
    """ECE on calibration_curve's uniform bins, checked against calibration_curve itself."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    bins = np.linspace(0.0, 1.0, 11)
    ids = np.searchsorted(bins[1:-1], p)
    sums = np.bincount(ids, weights=p, minlength=10)
    true = np.bincount(ids, weights=y, minlength=10)
    total = np.bincount(ids, minlength=10)
    if len(set(y.tolist())) == 2:
        prob_true, prob_pred = calibration_curve(y, p, n_bins=10, strategy="uniform")
        nz = total != 0
        assert np.allclose(prob_true, true[nz] / total[nz]) and np.allclose(prob_pred, sums[nz] / total[nz])
    return float(np.sum(np.abs(true - sums)) / len(y))


def record(name, want, undefined, metric, value, reason):
    """One metric of a case: its finite value, or None with the reason it is undefined."""
    if reason is None:
        want[metric] = finite(value)
        assert want[metric] is not None, (name, metric, value)
    else:
        want[metric] = None
        undefined[metric] = reason


def binary(name, labels, predicted, scores=None):
    y = np.asarray(labels, dtype=int)
    yp = np.asarray(predicted, dtype=int)
    n = len(y)
    pos, neg = int(y.sum()), int(n - y.sum())
    ppos = int(yp.sum())
    tp = int(((y == 1) & (yp == 1)).sum())
    fp, fn = ppos - tp, pos - tp
    want, undefined = {}, {}
    put = functools.partial(record, name, want, undefined)

    empty = "no labelled rows" if n == 0 else None
    nan = float("nan")
    put("accuracy", quiet(skm.accuracy_score, y, yp) if n else nan, empty)
    put("precision", quiet(skm.precision_score, y, yp, zero_division=nan), empty or ("no positive predictions" if ppos == 0 else None))
    put("recall", quiet(skm.recall_score, y, yp, zero_division=nan), empty or ("no positive labels" if pos == 0 else None))
    put("f1", quiet(skm.f1_score, y, yp, zero_division=nan), empty or ("no positive labels or predictions" if tp + fp + fn == 0 else None))
    put("specificity", quiet(skm.recall_score, y, yp, pos_label=0, zero_division=nan), empty or ("no negative labels" if neg == 0 else None))
    case = {"name": name, "labels": y.tolist(), "predicted": yp.tolist()}
    if scores is not None:
        s = np.asarray(scores, dtype=float)
        case["scores"] = s.tolist()
        one_class = "only one class in the labels" if (pos == 0 or neg == 0) else None
        put("roc_auc", quiet(skm.roc_auc_score, y, s) if not (empty or one_class) else nan, empty or one_class)
        put("average_precision", quiet(skm.average_precision_score, y, s) if not (empty or pos == 0) else nan, empty or ("no positive labels" if pos == 0 else None))
        put("log_loss", quiet(skm.log_loss, y, s, labels=[0, 1]) if n else nan, empty)
        put("brier", quiet(skm.brier_score_loss, y, s, pos_label=1) if n else nan, empty)
        put("ece", ece(y, s) if n else nan, empty)
    case["want"] = want
    case["undefined"] = undefined
    return case


def multiclass(name, labels, predicted):
    y = np.asarray(labels, dtype=object)
    yp = np.asarray(predicted, dtype=object)
    n = len(y)
    want, undefined = {}, {}
    put = functools.partial(record, name, want, undefined)
    for metric, f in [
        ("accuracy", lambda: skm.accuracy_score(y, yp)),
        ("f1_macro", lambda: skm.f1_score(y, yp, average="macro", zero_division=np.nan)),
        ("f1_weighted", lambda: skm.f1_score(y, yp, average="weighted", zero_division=np.nan)),
    ]:
        put(metric, quiet(f) if n else float("nan"), None if n else "no labelled rows")
    return {"name": name, "labels": list(labels), "predicted": list(predicted), "want": want, "undefined": undefined}


def regression(name, targets, predictions):
    y = np.asarray(targets, dtype=float)
    yp = np.asarray(predictions, dtype=float)
    n = len(y)
    want, undefined = {}, {}
    put = functools.partial(record, name, want, undefined)

    empty = "no labelled rows" if n == 0 else None
    nan = float("nan")
    put("mae", quiet(skm.mean_absolute_error, y, yp) if n else nan, empty)
    put("rmse", quiet(skm.root_mean_squared_error, y, yp) if n else nan, empty)
    zero = "a target is zero (MAPE divides by it)" if n and (y == 0).any() else None
    put("mape", quiet(skm.mean_absolute_percentage_error, y, yp) if n and not zero else nan, empty or zero)
    r2 = quiet(skm.r2_score, y, yp, force_finite=False) if n else nan
    few = "fewer than two labelled rows" if n < 2 else None
    constant = "the targets are constant" if n >= 2 and not math.isfinite(r2) else None
    if n >= 2 and math.isfinite(r2):
        assert np.ptp(y) > 0
    put("r2", r2, (empty or few or constant))
    return {"name": name, "targets": y.tolist(), "predictions": yp.tolist(), "want": want, "undefined": undefined}


def band(name, labels, scores, rows):
    """NannyML's learned threshold: the metric on consecutive reference chunks of `rows` rows
    (an incomplete last chunk dropped), mean +- 3 * np.std (ddof 0)."""
    y = np.asarray(labels, dtype=int)
    s = np.asarray(scores, dtype=float)
    values = []
    for start in range(0, len(y) - rows + 1, rows):
        values.append(float(skm.roc_auc_score(y[start:start + rows], s[start:start + rows])))
    mean, std = float(np.mean(values)), float(np.std(values))
    return {
        "name": name, "labels": y.tolist(), "scores": s.tolist(), "rows": rows, "metric": "roc_auc",
        "chunk_values": values, "mean": mean, "std": std, "lower": mean - 3 * std, "upper": mean + 3 * std,
    }


def scored(n, signal, decimals):
    y = (RNG.random(n) < 0.35).astype(int)
    s = 1 / (1 + np.exp(-(signal * (y - 0.35) * 4 + RNG.normal(0, 1, n))))
    s = np.round(s, decimals) if decimals is not None else s
    return y, s


def main():
    y, s = scored(600, 0.8, 2)
    s[:12] = [0.0, 1.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0, 0.0, 0.6, 0.8]
    big_y, big_s = scored(5000, 0.6, None)
    bins = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
    binary_cases = [
        binary("hand_ties", [0, 0, 1, 1, 1, 0, 1, 0, 1, 0], [0, 1, 1, 1, 0, 0, 1, 0, 1, 1],
               [0.1, 0.6, 0.6, 0.8, 0.4, 0.4, 0.6, 0.1, 0.8, 0.6]),
        binary("rounded_scores_with_ties_and_edges", y, (s >= 0.5).astype(int), s),
        binary("continuous_5000", big_y, (big_s >= 0.4).astype(int), big_s),
        binary("every_score_on_a_bin_edge", [0, 1] * 11 + [1], [0, 1] * 11 + [0], bins + bins[::-1] + [0.45]),
        binary("edge_scores_decide_the_bin", [0, 1, 0, 1, 0, 1, 0, 1], [1, 0, 1, 1, 0, 0, 0, 0],
               [0.5, 0.45, 0.8, 0.75, 0.2, 0.15, 0.1, 0.05]),
        binary("one_class_positive", [1] * 8, [1, 1, 0, 1, 1, 1, 0, 1], [0.9, 0.8, 0.3, 0.7, 0.7, 0.95, 0.2, 0.6]),
        binary("one_class_negative", [0] * 8, [0, 1, 0, 0, 0, 1, 0, 0], [0.1, 0.8, 0.3, 0.2, 0.2, 0.55, 0.0, 0.4]),
        binary("no_positive_predictions", [0, 1, 0, 1, 0, 0], [0] * 6, [0.1, 0.4, 0.2, 0.45, 0.3, 0.1]),
        binary("all_negative_all_right", [0] * 5, [0] * 5, [0.1, 0.2, 0.3, 0.2, 0.0]),
        binary("perfect_separation", [0, 0, 0, 1, 1], [0, 0, 0, 1, 1], [0.0, 0.1, 0.2, 0.9, 1.0]),
        binary("all_scores_tied", [0, 1, 1, 0, 1], [1] * 5, [0.5] * 5),
        binary("single_row", [1], [1], [0.7]),
        binary("no_scores", [0, 1, 1, 0, 1, 1, 0], [0, 1, 0, 0, 1, 1, 1]),
        binary("empty", [], [], []),
    ]
    classes = np.array(["cat", "dog", "fox"])
    ml = RNG.choice(3, 400, p=[0.5, 0.3, 0.2])
    mp = np.where(RNG.random(400) < 0.7, ml, RNG.choice(3, 400))
    multiclass_cases = [
        multiclass("three_classes", classes[ml].tolist(), classes[mp].tolist()),
        multiclass("class_only_predicted", ["a", "b", "a", "b", "a"], ["a", "b", "c", "c", "a"]),
        multiclass("class_never_predicted", ["a", "b", "c", "c", "a", "b"], ["a", "b", "a", "b", "a", "b"]),
        multiclass("one_class", ["x", "x", "x"], ["x", "x", "x"]),
        multiclass("one_class_wrong", ["x", "x", "x"], ["y", "x", "z"]),
        multiclass("empty", [], []),
    ]
    t = RNG.gamma(2.0, 50.0, 300)
    regression_cases = [
        regression("gamma_targets", np.round(t, 3), np.round(t + RNG.normal(0, 20, 300), 3)),
        regression("zero_targets", [0.0, 2.0, 3.5, 0.0, 1.0], [0.5, 2.5, 3.0, 0.1, 1.0]),
        regression("negative_targets", [-3.0, -1.5, 2.0, 4.0, -0.5], [-2.0, -1.0, 1.0, 5.0, 0.5]),
        regression("constant_targets_wrong", [5.0, 5.0, 5.0, 5.0], [4.0, 5.0, 6.0, 5.5]),
        regression("constant_targets_exact", [5.0, 5.0, 5.0], [5.0, 5.0, 5.0]),
        regression("single_row", [3.0], [2.0]),
        regression("empty", [], []),
    ]
    ry, rs = scored(3000, 0.7, 3)
    bands = [band("roc_auc_chunks_of_500", ry, rs, 500), band("roc_auc_chunks_of_400_last_dropped", ry, rs, 400)]
    out = {
        "generated_by": "make_quality_goldens.py",
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
        "binary": binary_cases,
        "multiclass": multiclass_cases,
        "regression": regression_cases,
        "bands": bands,
    }
    with open(os.path.join(HERE, "quality.json"), "w") as f:
        json.dump(out, f)
        f.write("\n")


if __name__ == "__main__":
    main()
