"""Reference values for tests/roc_auc.rs (nn_core::metrics::roc_auc), from scikit-learn.

Run: /work/venv-sk/bin/python scripts/reference/roc_auc.py (scikit-learn, numpy; versions in
requirements-sklearn.txt). It prints the cases as Rust literals; they are pasted into the test.
"""
import numpy as np
import sklearn
from sklearn.metrics import roc_auc_score

print("// scikit-learn", sklearn.__version__)
rng = np.random.default_rng(14)

cases = []
# Many ties: scores on a grid of 0.1 (as a sigmoid output rounded), labels correlated with them.
s = np.round(rng.uniform(0, 1, 40), 1).astype(np.float32)
y = (rng.uniform(0, 1, 40) < 0.2 + 0.6 * s).astype(int)
cases.append(("ties", s, y))
# No ties, unbalanced (7 positives of 30).
s = rng.normal(0, 1, 30).astype(np.float32)
y = np.zeros(30, dtype=int)
y[rng.choice(30, 7, replace=False)] = 1
cases.append(("unbalanced", s, y))
# All scores equal: 0.5 whatever the labels.
cases.append(("constant", np.full(6, 0.3, dtype=np.float32), np.array([1, 0, 0, 1, 0, 0])))
# Perfectly wrong: 0.
cases.append(("reversed", np.array([0.9, 0.8, 0.2, 0.1], dtype=np.float32), np.array([0, 0, 1, 1])))

for name, s, y in cases:
    auc = roc_auc_score(y, s.astype(np.float64))
    print(f"// {name}")
    print("scores: [" + ", ".join(f"{float(v)!r}" for v in s) + "]")
    print("labels: [" + ", ".join(str(int(v)) for v in y) + "]")
    print(f"auc: {auc!r}")
