"""A local promptfoo provider (exec:): a keyword intent classifier. argv[1] is the rendered prompt."""

import sys

prompt = sys.argv[1]
if "crash" in prompt:
    sys.exit("classifier crashed on this input")
KEYWORDS = {
    "refund": "refund",
    "money back": "refund",
    "cancel": "cancel",
    "parcel": "track_order",
    "address": "account",
    "password": "account",
}
print(next((label for word, label in KEYWORDS.items() if word in prompt.lower()), "other"))
