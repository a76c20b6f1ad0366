"""Parameter initialization: schemes, the scopes they apply to, and stored assignments."""

from netstudio.init.assignments import (
    DeferredInit,
    InitAssignment,
    InitReport,
    apply_assignments,
    defer_until_materialized,
    derive_seed,
)
from netstudio.init.schemes import SCHEMES, ArgSpec, InitScheme, get_scheme, user_scheme
from netstudio.init.scopes import ResolvedParam, Scope, resolve

__all__ = [
    "SCHEMES",
    "ArgSpec",
    "DeferredInit",
    "InitAssignment",
    "InitReport",
    "InitScheme",
    "ResolvedParam",
    "Scope",
    "apply_assignments",
    "defer_until_materialized",
    "derive_seed",
    "get_scheme",
    "resolve",
    "user_scheme",
]
