"""
=======================================================
The precision study behind ``quboclf bench classifier``
=======================================================

``quboclf bench classifier`` reproduces the study of arXiv 2603.02958: the QUBO-trained head at
several bit precisions against ``SGDClassifier(loss="log_loss")`` and ``LogisticRegression()``,
all on the same random convolution features, repeated over seeds. This example calls the
functions the command line runs (in :mod:`quboclf.studies`) on a small configuration, so that it
builds in seconds; the full tables are on :doc:`/reproducing`. The command line equivalent is::

    quboclf bench classifier --dataset digits --bits 2 4 8 --seeds 0 --max-iter 20
"""

# %%
# Run the study
# -------------
# Each seed draws its own stratified 70/30 split of digits and its own random filters; every
# head of that seed sees the same features. One record per (seed, model) comes back.
from quboclf.studies import (
    classifier_study,
    classifier_table,
    format_table,
    plot_classifier,
    summarize_classifier,
)

records = classifier_study("digits", bits=[2, 4, 8], seeds=[0], max_iter=20)
print(records[-1])

# %%
# Summarise over seeds
# --------------------
# Mean ± standard deviation over seeds (here one) of the test accuracy, the fit time and its
# ratio to SGD's on the same seed, the training objective, and the size of each QUBO the head
# solves: ``d K`` binary variables per class per sweep. ``LR rounded`` is a logistic regression
# with the head's objective, rounded to the head's grid with the best scales.
summary = summarize_classifier(records)
print(format_table(*classifier_table(summary)))

# %%
# Plot
# ----
# The float baselines are horizontal lines (bands of ± one standard deviation when there are
# several seeds); the QUBO head and the rounded logistic regression are one point per bit
# precision.
fig = plot_classifier(summary, title="digits, seed 0, 20 iterations")
