"""Draft, sign and co-sign a decision: the one sequence the CLI's `decide` and the app's decide
screen will share.

Not written yet: the drafting and signing flow (`decision/draft.py`, `decision/record.py`,
`cli/commands_decision.py: decide`, `tui/screens/decide.py`) is being reworked on its own
branch. When it lands, its sequence (check the choices, find the signer and the default
reviewer, build the record, sign it, write it and append it to the log) moves here as one
function per step the user sees, e.g. `draft_decision(con, review, choices) -> Draft` and
`sign_decision(draft, signer, reviewer) -> SignedDecision`, each raising EvaltuiError with
`field=` set to the form field it concerns (`reviewer`, `key`, `choice`). Then the CLI command
and the screen's worker call them and keep only parsing and rendering.
"""
