"""The fast validator (fastjsonschema) never accepts a project the full one (jsonschema) refuses.

``validate_project`` asks jsonschema only when fastjsonschema says no, so a
project fastjsonschema waved through that jsonschema would refuse would reach
the rest of NetStudio unchecked.  On the fuzzer's mutations of every example,
the two must agree whenever fastjsonschema says yes.
"""

from __future__ import annotations

import json

from hypothesis import given

from netstudio.serialization import validate
from netstudio.serialization.json_limits import value_problem

from .test_fuzz_projects import FUZZ, mutated_json


@FUZZ
@given(data=mutated_json())
def test_what_the_fast_validator_accepts_the_full_one_accepts(data):
    try:
        project = json.loads(data)
    except (ValueError, RecursionError):
        return
    if not isinstance(project, dict) or value_problem(project) is not None:
        return
    if validate._well_formed(project):
        assert next(validate._VALIDATOR.iter_errors(project), None) is None


def test_the_tuple_of_an_edge_end_is_checked_by_both():
    """``prefixItems`` (draft 2020-12) is ``items`` for the fast one: a number as a node id is refused."""
    project = {"format": "netstudio-project", "version": 1, "root": "main", "definitions": {"main": {
        "kind": "graph", "nodes": [], "edges": [{"id": "e1", "src": [5, "out"], "dst": ["n2", "in"]}]}}}
    assert not validate._well_formed(project)
    assert validate.validate_project(project) == [("$.definitions.main.edges[0].src[0]", "5 is not of type 'string'")]
