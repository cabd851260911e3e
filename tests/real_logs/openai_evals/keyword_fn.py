"""A local OpenAI Evals completion function: a keyword intent classifier (no model, no network)."""

from evals.api import CompletionFn, CompletionResult

KEYWORDS = {
    "refund": "refund",
    "money back": "refund",
    "cancel": "cancel",
    "parcel": "track_order",
    "address": "account",
}


class KeywordResult(CompletionResult):
    def __init__(self, text: str) -> None:
        self.text = text

    def get_completions(self) -> list[str]:
        return [self.text]


class KeywordCompletionFn(CompletionFn):
    def __init__(self, **kwargs) -> None:
        pass

    def __call__(self, prompt, **kwargs) -> KeywordResult:
        text = prompt[-1]["content"] if isinstance(prompt, list) else str(prompt)
        label = next((v for k, v in KEYWORDS.items() if k in text.lower()), "other")
        return KeywordResult(label)
