"""Reference values for tests/metrics.rs, from scikit-learn.

Run: python scripts/reference/metrics.py (needs scikit-learn; any recent version). The numbers it
prints are pasted into tests/metrics.rs; the classification reports are compared character for
character.
"""
import numpy as np
import sklearn
from sklearn.metrics import (
    accuracy_score,
    classification_report,
    confusion_matrix,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

print("scikit-learn", sklearn.__version__)

# Three classes, 20 samples, every kind of mistake.
y_true = [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2]
y_pred = [0, 0, 0, 0, 1, 2, 1, 1, 1, 1, 0, 2, 2, 2, 2, 2, 2, 2, 1, 0]
# Four classes: class 3 never occurs, class 2 is never predicted (zero_division=0).
z_true = [0, 0, 1, 1, 1, 2, 2, 0]
z_pred = [0, 1, 1, 1, 0, 0, 1, 0]

for name, t, p, labels in [("three", y_true, y_pred, [0, 1, 2]), ("four", z_true, z_pred, [0, 1, 2, 3])]:
    print(f"== {name}")
    print("accuracy", repr(accuracy_score(t, p)))
    print("confusion", confusion_matrix(t, p, labels=labels).tolist())
    for avg in [None, "macro", "weighted"]:
        prf = precision_recall_fscore_support(t, p, labels=labels, average=avg, zero_division=0)
        print(avg, [np.asarray(v).tolist() if v is not None else None for v in prf])
    print(classification_report(t, p, labels=labels, zero_division=0, digits=2), end="")
    print("--")

names = ["setosa", "versicolor", "virginica"]
print("== named")
print(classification_report(y_true, y_pred, labels=[0, 1, 2], target_names=names, zero_division=0), end="")
print("--")

# Top-k on four classes, no ties.
scores = np.array(
    [
        [0.1, 0.5, 0.3, 0.1],
        [0.7, 0.1, 0.15, 0.05],
        [0.2, 0.3, 0.4, 0.1],
        [0.05, 0.05, 0.1, 0.8],
        [0.25, 0.35, 0.3, 0.1],
        [0.4, 0.3, 0.2, 0.1],
    ],
    dtype=np.float32,
)
s_true = [2, 0, 0, 1, 3, 3]
for k in [1, 2, 3, 4]:
    print("top", k, repr(top_k_accuracy_score(s_true, scores, k=k, labels=[0, 1, 2, 3])))
