"""The operations a reviewer performs, written once for the CLI and the app.

Each function here composes the store, review and decision layers into one user-level step
(open an experiment's review, open a pair and step its failures, read the decision log, list a
pair's drift columns). The surfaces only parse input and render what comes back: the CLI calls
these in its commands, the app calls them in its thread workers (so they take the worker's
connection as their first argument and never touch Textual).

Modules, one per kind of operation:

* `store`: open a store, refuse an unknown experiment or baseline before the app starts;
* `load`: load native records or import another tool's log, all or nothing;
* `review`: open a store's experiment and review it against a baseline;
* `cases`: list a run's cases; open a baseline/candidate pair, filter it, page it, step its
  failures, open a case;
* `drift`: a column's drift between two runs, the columns it can be measured on, a metric's trend;
* `flips`: the cases whose outcome changed across a candidate's repeats;
* `decisions`: read the decision log with the state of each signed file;
* `decide`: the place for drafting, signing and co-signing a decision (see its docstring).
"""
