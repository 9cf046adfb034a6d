"""Structured output as vLLM takes it, compiled to grammars for constrained decoding (xgrammar)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

KINDS = ("json", "regex", "choice", "grammar", "json_object")


class GrammarError(ValueError):
    """The request's constraint is malformed or cannot be compiled (HTTP 400)."""


@dataclass(frozen=True)
class Constraint:
    kind: str  # one of KINDS
    spec: str  # schema JSON, regex, EBNF, or JSON list of choices
    any_whitespace: bool = True

    @property
    def key(self) -> tuple[str, str, bool]:
        return (self.kind, self.spec, self.any_whitespace)


def constraint_of(
    structured_outputs: dict[str, Any] | None,
    response_format: dict[str, Any] | None,
    *,
    disable_any_whitespace: bool = True,
) -> Constraint | None:
    """The one constraint a chat request asks for, from either vLLM field.

    JSON may hold free whitespace only where the request says `disable_any_whitespace:
    false` or the server's default allows it: a small model given the choice loops on
    newlines until max_tokens (vLLM's server-wide switch of the same name)."""
    any_ws = not disable_any_whitespace
    if structured_outputs:
        if structured_outputs.get("disable_any_whitespace") is not None:
            any_ws = not structured_outputs["disable_any_whitespace"]
        given = [
            k
            for k in ("json", "regex", "choice", "grammar", "json_object")
            if _set(k, structured_outputs)
        ]
        if len(given) > 1:
            raise GrammarError(
                "You can only use one kind of structured outputs constraint "
                f"but multiple are specified: {structured_outputs}"
            )
        if given:
            kind = given[0]
            value = structured_outputs[kind]
            if kind == "json":
                spec = value if isinstance(value, str) else json.dumps(value)
                return Constraint("json", spec, any_ws)
            if kind == "choice":
                if (
                    not isinstance(value, list)
                    or not value
                    or not all(isinstance(c, str) for c in value)
                ):
                    raise GrammarError(
                        "structured_outputs.choice must be a non-empty list of strings"
                    )
                return Constraint("choice", json.dumps(value), any_ws)
            if kind == "json_object":
                return Constraint("json_object", "", any_ws)
            if not isinstance(value, str):
                raise GrammarError(f"structured_outputs.{kind} must be a string")
            return Constraint(kind, value, any_ws)
    if response_format:
        form = response_format.get("type")
        if form == "json_schema":
            schema = (response_format.get("json_schema") or {}).get("schema")
            if schema is None:
                raise GrammarError("response_format.json_schema.schema is required")
            return Constraint("json", json.dumps(schema), any_ws)
        if form == "json_object":
            return Constraint("json_object", "", any_ws)
        if form not in (None, "text"):
            raise GrammarError(f"unsupported response_format type: {form!r}")
    return None


def _set(key: str, fields: dict[str, Any]) -> bool:
    value = fields.get(key)
    return value is not None and value is not False


class GrammarCompiler:
    """Compiles constraints for one tokenizer, caching each compiled grammar."""

    def __init__(self, tokenizer: Any, vocab_size: int, cache_size: int = 128) -> None:
        import xgrammar as xgr

        self._xgr = xgr
        info = xgr.TokenizerInfo.from_huggingface(tokenizer, vocab_size=vocab_size)
        self._compiler = xgr.GrammarCompiler(info, max_threads=1)
        self.vocab_size = vocab_size
        self._cache: dict[tuple[str, str, bool], Any] = {}
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def compile(self, constraint: Constraint) -> Any:
        with self._lock:
            found = self._cache.get(constraint.key)
        if found is not None:
            return found
        try:
            compiled = self._compile(constraint)
        except (RuntimeError, ValueError, TypeError) as exc:
            raise GrammarError(f"cannot compile the {constraint.kind} constraint: {exc}") from exc
        with self._lock:
            if len(self._cache) >= self._cache_size:
                self._cache.pop(next(iter(self._cache)))
            self._cache[constraint.key] = compiled
        return compiled

    def _compile(self, c: Constraint) -> Any:
        if c.kind == "json":
            try:
                json.loads(c.spec)
            except json.JSONDecodeError as exc:
                raise GrammarError(f"the JSON schema is not valid JSON: {exc}") from exc
            return self._compiler.compile_json_schema(c.spec, any_whitespace=c.any_whitespace)
        if c.kind == "json_object":  # as vLLM compiles it: any object, not any JSON value
            return self._compiler.compile_json_schema(
                '{"type": "object"}', any_whitespace=c.any_whitespace
            )
        if c.kind == "regex":
            return self._compiler.compile_regex(c.spec)
        if c.kind == "choice":
            options = " | ".join(json.dumps(choice) for choice in json.loads(c.spec))
            return self._compiler.compile_grammar(f"root ::= {options}")
        return self._compiler.compile_grammar(c.spec)

    def matcher(self, compiled: Any) -> Any:
        return self._xgr.GrammarMatcher(compiled)

    def bitmask(self, rows: int) -> Any:
        return self._xgr.allocate_token_bitmask(rows, self.vocab_size)

    def apply(self, logits: Any, bitmask: Any, rows: list[int]) -> None:
        self._xgr.apply_token_bitmask_inplace(logits, bitmask.to(logits.device), indices=rows)
