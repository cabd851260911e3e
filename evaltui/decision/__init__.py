"""Signed decision files: the record, its canonical bytes, SSHSIG signatures, verification.

Import what you need from its module (`decision.draft`, `decision.record`, `decision.keys`,
`decision.writer`, `decision.verify`, `decision.log`, ...): the package itself exports nothing,
so importing it does not import `cryptography`. The sequence the CLI and the app share (draft,
check the choices, load the signer, sign and write, verify) belongs in the application layer,
`evaltui.actions.decide`.
"""
