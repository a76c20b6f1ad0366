#!/usr/bin/env python
"""Mutation testing for NetStudio: do the tests notice when the code is wrong?

``make mutation`` (or ``.venv/bin/python scripts/mutation.py``) makes small
mistakes ("mutants") in the engine's core modules and in ``ui/document/``, one
at a time, runs the tests that reach each mistake, and reports which mistakes
no test noticed.  It needs nothing beyond ``make setup``: the mutants are made
with Python's ``ast``, and the line-to-test map with ``sys.settrace``.

How it works
------------
1. **Map** (a subprocess): the whole test pool (``tests/engine`` and
   ``tests/ui``) runs once under a tracer that records, per test, the lines of
   the target files it executes, its duration and whether it passed.
2. **Mutants**: every function and method body of the target files is walked;
   each mutation below is one mutant.  Code outside functions (module and class
   level constants, default argument values, decorators, annotations) and
   f-strings (messages) are not mutated.

   - arithmetic ``+ -``, ``* /``, ``// /``, ``% //``, ``** *``, shifts, ``| &``
     (also in ``+=``, etc.); unary ``-x`` -> ``x`` and ``not x`` -> ``x``
   - comparisons ``< <=``, ``> >=``, ``== !=``, ``is``/``is not``, ``in``/``not in``
   - boolean operators ``and`` <-> ``or``
   - constants ``0 -> 1``, ``1 -> 0``, ``n -> n + 1``, ``True`` <-> ``False``
   - ``return x`` -> ``return None``
   - a statement inside a branch (``if``/``else``, loop, ``try``, ``with``)
     removed (replaced by ``pass``)
   - the first two positional arguments of a call swapped
3. **Run**: one pytest process collects the pool once and then, for each
   mutant, forks; the child compiles the mutated module from memory and swaps
   the ``__code__`` of the live function that contains the mutant (so no file
   is ever written: the tree may be shared with others), then runs only the
   tests that executed the mutant's lines, fastest first, stopping at the first
   failure.  A test that runs past ``10 x`` its mapped time (+ 10 s) kills the
   mutant too (a hang counts as killed).  A baseline child without a mutant
   runs first; a test that fails there is left out of the pool.
4. **Report**: killed / total per module and overall, the survivors with
   ``file:line``, the function and the change, and the mutants marked
   equivalent (with the reason) in :data:`EQUIVALENT`, which do not count.
   The report is printed and written to ``build/mutation/report.txt`` (and
   ``report.json``).

Options: ``--only netstudio/init`` (a path prefix, repeatable), ``--sample N
--seed S`` (a reproducible random sample, stratified per module),
``--jobs J``, ``--list`` (the mutants, no run), ``--show ID`` (one mutant's
diff, to apply by hand), ``--reuse-map`` (skip step 1 when neither the targets
nor the tests changed since the last map).  Exit status 0 when the score is at
least ``--min-score`` (default 90).
"""

from __future__ import annotations

import argparse
import ast
import difflib
import gc
import hashlib
import importlib
import json
import os
import random
import select
import signal
import subprocess
import sys
import time
import types
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# NETSTUDIO_MUTATION_DIR keeps separate maps and reports apart (several runs side by side).
OUT_DIR = Path(os.environ.get("NETSTUDIO_MUTATION_DIR") or ROOT / "build" / "mutation")
TARGETS = ("netstudio/tensors/", "netstudio/analysis/", "netstudio/compiler/", "netstudio/params/",
           "netstudio/init/", "netstudio/files/atomic.py", "ui/document/")
TEST_POOL = ("tests/engine", "tests/ui")
NO_MUTATE = "pragma: no mutate"

# Mutants that cannot change behaviour, keyed by (file, function, line within the function, change):
# they are listed apart and do not count.  Give the reason; keep this list short and honest, and look
# again when the function changes (a key that no longer matches is reported).
EQUIVALENT: dict[tuple[str, str, int, str], str] = {
    # netstudio/tensors/ (the heatmap's engine)
    ('netstudio/tensors/frame_capture.py', 'FrameCapturer.__init__', 10, 'False  ->  True'):
        'select() clears step_pending before any capture can use it, and capture() without a selection returns first',
    ('netstudio/tensors/frame_capture.py', 'FrameCapturer.__init__', 11, '0.0  ->  1.0'):
        'time.monotonic() counts from boot: 0.0 and 1.0 both lie long before now, so wait_ms is 0 either way',
    ('netstudio/tensors/heatmap_picture.py', 'symmetric_limit', 3, '0.0  ->  1.0'):
        'with no finite value the limit falls back to 1.0 anyway',
    ('netstudio/tensors/heatmap_picture.py', 'kernel_grid', 10, '1 < out_ch <= MAX_GRID_LINES  ->  1 <= out_ch <= MAX_GRID_LINES'):
        'with one kernel down, range(1, out_ch) draws no line anyway',
    ('netstudio/tensors/heatmap_picture.py', 'kernel_grid', 14, '1 < in_ch <= MAX_GRID_LINES  ->  1 <= in_ch <= MAX_GRID_LINES'):
        'with one kernel across, range(1, in_ch) draws no line anyway',
    ('netstudio/tensors/heatmap_picture.py', 'kernel_grid', 10, '1  ->  0'):
        'out_ch is at least 1 (an empty tensor has no tile), and with 1 range(1, out_ch) draws no line',
    ('netstudio/tensors/heatmap_picture.py', 'block_reduce', 11, '2  ->  3'):
        "pad[:3] adds the channels' (0, 0), which pads nothing",
    ('netstudio/tensors/layout.py', 'stored_count', 6, '0  ->  1'):
        'a one-element tensor stores its one value: min(1, span 1) < 1 fails and None comes back anyway',
    ('netstudio/tensors/layout.py', 'stored_count', 7, 'remove `return None`'):
        'an empty tensor collapses to 0 elements spanning 0: 0 < 0 fails and None comes back anyway',
    ('netstudio/tensors/layout.py', 'display_tensor', 20, 't.numel() > max_numel  ->  t.numel() >= max_numel'):
        '_leading returns a tensor of max_numel elements as it is',
    ('netstudio/tensors/layout.py', 'narrow_repeats', 2, 'n > 1  ->  n >= 1'):
        'slicing a size-1 dimension by 0:1 keeps all of it',
    ('netstudio/tensors/layout.py', '_leading', 2, 't.numel() <= max_numel  ->  t.numel() < max_numel'):
        'at the limit it is only given 1-D tensors (nested, sparse values), and [0:max_numel] keeps them whole',
    ('netstudio/tensors/layout.py', '_leading', 3, 'remove `return t`'):
        'under the limit it is only given 1-D tensors (nested, sparse values), and [0:max_numel] keeps them whole',
    ('netstudio/tensors/layout.py', '_leading', 4, 'math.prod(t.shape[k + 1:]) <= max_numel  ->  math.prod(t.shape[k + 1:]) < max_numel'):
        'when the trailing dimensions hold exactly max_numel, the next k takes all of them: the same slice',
    ('netstudio/tensors/number_text.py', 'format_value', 5, 'dtype == torch.float32 or dtype == torch.bfloat16  ->  dtype == torch.float32 and dtype == torch.bfloat16'):
        'float32 and bfloat16 then reach the float8 branch, which returns the same string',
    ('netstudio/tensors/number_text.py', 'format_value', 6, 'remove `return str(np.float32(value.float().item()))`'):
        'float32 and bfloat16 then reach the float8 branch, which returns the same string',
    ('netstudio/tensors/stats.py', '_pieces', 4, '1  ->  0'):
        'a 1-D tensor then takes the rows branch with rows of one element: the same _CHUNK pieces',
    ('netstudio/tensors/stats.py', '_pieces', 7, '(row := math.prod(x.shape[1:])) <= _CHUNK  ->  (row := math.prod(x.shape[1:])) < _CHUNK'):
        'a row of exactly _CHUNK elements is one piece either way',
    ('netstudio/tensors/stats.py', '_pieces', 7, '1  ->  0'):
        'rows read one per piece, not several: the same values in order (statistics equal to rounding)',
    ('netstudio/tensors/stats.py', 'tensor_stats', 11, 'src.size <= _CHUNK  ->  src.size < _CHUNK'):
        'a source of exactly _CHUNK values is read twice instead of kept: the same pieces both times',
    ('netstudio/tensors/stats.py', '_pieces', 2, 'x.ndim == 0 or x.numel() <= _CHUNK  ->  x.ndim == 0 and x.numel() <= _CHUNK'):
        'a tensor of at most _CHUNK values then takes the 1-D or rows branch, which yields it as one piece too',
    ('netstudio/tensors/stats.py', '_pieces', 2, 'x.numel() <= _CHUNK  ->  x.numel() < _CHUNK'):
        'a tensor of exactly _CHUNK values then takes the 1-D or rows branch, which yields it as one piece too',
    ('netstudio/tensors/stats.py', '_first_pass', 19, 'count += x.numel()  ->  count -= x.numel()'):
        'count is only compared with 0, and -n is as far from 0 as n',
    ('netstudio/tensors/stats.py', '_second_pass', 6, 'top != 0 and (not _NARROW_SAFE[0] <= top <= _NARROW_SAFE[1])  ->  top != 0 or not _NARROW_SAFE[0] <= top <= _NARROW_SAFE[1]'):
        'only more big float32 pieces are summed in float64 (slower): the statistics move below float32 rounding, if at all',
    ('netstudio/tensors/stats.py', '_second_pass', 6, '0  ->  1'):
        'only more big float32 pieces are summed in float64 (slower): the statistics move below float32 rounding, if at all',
    ('netstudio/tensors/stats.py', '_second_pass', 6, '1  ->  0'):
        'only more big float32 pieces are summed in float64 (slower): the statistics move below float32 rounding, if at all',
    ('netstudio/tensors/stats.py', '_second_pass', 6, '_NARROW_SAFE[0] <= top <= _NARROW_SAFE[1]  ->  _NARROW_SAFE[0] < top <= _NARROW_SAFE[1]'):
        'only more big float32 pieces are summed in float64 (slower): the statistics move below float32 rounding, if at all',
    ('netstudio/tensors/stats.py', '_second_pass', 6, '_NARROW_SAFE[0] <= top <= _NARROW_SAFE[1]  ->  _NARROW_SAFE[0] <= top < _NARROW_SAFE[1]'):
        'only more big float32 pieces are summed in float64 (slower): the statistics move below float32 rounding, if at all',
    ('netstudio/tensors/view2d.py', 'element_at', 16, '2  ->  3'):
        'the largest magnitude still outranks the sign (3 > 1)',
    ('netstudio/tensors/view2d.py', 'element_at', 16, 'values > 0  ->  values >= 0'):
        'a tie of largest magnitude m > 0 is between +m and -m, which >= 0 tells apart as > 0 does; at m = 0 the first wins either way',
    ('netstudio/tensors/view2d.py', '_layout', 13, 'remove `return (t, (), None)`'):
        'a 2-d tensor then takes the slice path with no leading index: t[()] is the same 2-d view',
    ('netstudio/tensors/view2d.py', 'reduce_max_abs', 16, '1  ->  0'):
        'a (1, 1) block then goes through folds that return x, and torch.where builds the same float32 values anew',
    ('netstudio/tensors/view2d.py', 'reduce_max_abs', 17, 'remove `return x.to(torch.float32, copy=True)`'):
        'a (1, 1) block then goes through folds that return x, and torch.where builds the same float32 values anew',
    ('netstudio/tensors/view2d.py', 'element_at', 4, '1  ->  0'):
        'a one-element block through the general path finds its only element: the same index and value',
    ('netstudio/tensors/view2d.py', 'element_at', 6, 'remove `return (index, tensor[index])`'):
        'a one-element block through the general path finds its only element: the same index and value',
    ('netstudio/tensors/view2d.py', '_fold_rows', 7, '1  ->  0'):
        'with step 1 the loop copies x and folds nothing: the same values',
    ('netstudio/tensors/view2d.py', '_fold_rows', 8, 'remove `return x`'):
        'with step 1 the loop copies x and folds nothing: the same values',
    ('netstudio/tensors/view2d.py', '_fold_rows', 10, '1  ->  0'):
        'folding row 0 into itself: maximum and minimum are idempotent',
    ('netstudio/tensors/view2d.py', '_fold_rows', 13, 'op(dest, part, out=dest)  ->  op(part, dest, out=dest)'):
        'torch.maximum and torch.minimum are symmetric, NaN included',
    ('netstudio/tensors/view2d.py', '_fold_cols', 3, '1  ->  0'):
        'with step 1 each column is reduced alone: the same values',
    ('netstudio/tensors/view2d.py', '_fold_cols', 4, 'remove `return x`'):
        'with step 1 each column is reduced alone: the same values',
    ('netstudio/tensors/view2d.py', '_fold_cols', 9, '-1  ->  1'):
        'x[:, full:] is 2-D: dim 1 is dim -1',
    ('netstudio/tensors/view2d.py', '_fold_cols', 10, 'len(parts) > 1  ->  len(parts) >= 1'):
        'torch.cat of one tensor is that tensor',
    ('netstudio/analysis/network_size.py', 'node_bytes', 11, '0  ->  1'):
        "a Constant's node info always has its output, so the 'else' size is never used",
    ('netstudio/analysis/shapes.py', 'ShapeInference._infer_code', 5, 'remove `return _CODE_CACHE[key]`'):
        'without the cached answer the same inference runs again and gives the same NodeInfo',
    ('netstudio/analysis/shapes.py', 'ShapeInference.infer', 36, 'not info.inputs and ins  ->  not info.inputs or ins'):
        'with no inputs both set info.inputs to (): the same value',
    ('netstudio/analysis/shapes.py', 'ShapeInference._check_ties', 3, 'remove `continue`'):
        'an untied node has no info at (path, None), so the next test skips it anyway',
    ('netstudio/analysis/shapes.py', 'ShapeInference._check_ties', 12, 'set(mine.params) | set(theirs.params)  ->  set(mine.params) & set(theirs.params)'):
        "a tied node's parameters come from its owner's hyperparameters: both have the same names",
    ('netstudio/analysis/tie_candidates.py', '_fits_here', 11, 'return False  ->  return None'):
        "callers only test the result's truth (all(...)): None is as false as False",
    ('netstudio/analysis/tie_candidates.py', '_fits_here', 13, 'return False  ->  return None'):
        "callers only test the result's truth (all(...)): None is as false as False",
    ('netstudio/analysis/tie_candidates.py', '_fits_here', 18, 'return False  ->  return None'):
        "callers only test the result's truth (all(...)): None is as false as False",
    ('netstudio/analysis/tie_candidates.py', '_fits_here', 9, 'return False  ->  return None'):
        "callers only test the result's truth (all(...)): None is as false as False",
    ('netstudio/analysis/shapes.py', 'ShapeInference._infer_code', 3, 'True  ->  False'):
        'the key order of the arguments only splits the cache: a miss infers the same NodeInfo again',
    ('netstudio/analysis/shapes.py', 'ShapeInference._name', 1, "d.kind != 'sequential' or node.name  ->  d.kind != 'sequential' and node.name"):
        'only an unnamed graph node takes the other way, and the checker keeps those out of inference',
    ('netstudio/analysis/structure.py', 'DefinitionChecker._check_names', 4, "d.kind == 'sequential'  ->  d.kind != 'sequential'"):
        "'Sequential' is itself a valid class name: checking it or not finds nothing either way",
    ('netstudio/analysis/structure.py', 'DefinitionChecker._check_names', 15, "d.kind == 'sequential'  ->  d.kind != 'sequential'"):
        'positions are unique and a name that looks like one is refused above: unnamed children never clash',
    ('netstudio/analysis/structure.py', 'DefinitionChecker._check_edges', 13, 'remove `continue`'):
        'a node of unknown type has no input or output ports, so the rest of the loop reports nothing',
    ('netstudio/analysis/structure.py', 'DefinitionChecker._check_sequential', 17, 'return {n.id: i for i, n in enumerate(chain)}  ->  return None'):
        'effective_name given no index computes the same one from d.chain()',
    ('netstudio/analysis/tie_candidates.py', '_fits_here', 5, 'spec.infer is not None  ->  spec.infer is None'):
        "the owner differs from the node only in input-sized keys, compared below; else its rule meets the input the node's own did",
    ('netstudio/analysis/tie_candidates.py', '_fits_here', 6, 'remove `spec.infer(owner_params, inputs)`'):
        "the owner differs from the node only in input-sized keys, compared below; else its rule meets the input the node's own did",
    ('netstudio/analysis/tie_candidates.py', '_fits_here', 11, 'remove `return False`'):
        'parameter shapes differ only through input-sized keys, and then the size comparison below returns False too',
    ('netstudio/compiler/build.py', '_Builder._graph', 33, 'remove `continue`'):
        'an Output node has no output ports, so nothing after the removed continue runs for it',
    ('netstudio/compiler/graph_module.py', 'BlockModule.recompile', 5, 'return result  ->  return None'):
        "torch.fx's callers of recompile() ignore the code object it returns",
    ('netstudio/params/net_index.py', 'NetIndex._walk', 9, '0  ->  1'):
        'a placeholder, overwritten when the walk leaves the module',
    ('netstudio/params/net_index.py', 'NetIndex._walk', 9, '0  ->  1'):
        'a placeholder, overwritten when the walk leaves the module',
    ('netstudio/params/net_index.py', 'NetIndex._walk', 6, '0  ->  1'):
        'a placeholder, overwritten when the walk leaves the module',
    ('netstudio/params/tied_gradients.py', '_Recorder.__init__', 17, 'len(names[id(child)]) > 1  ->  len(names[id(child)]) >= 1'):
        'wrapping an unshared child in a call site changes no name: its only name is its site',
    ('netstudio/params/tied_gradients.py', '_Recorder.__init__', 17, '1  ->  0'):
        'wrapping an unshared child in a call site changes no name: its only name is its site',
    ('netstudio/init/schemes.py', '_seed_custom', 2, 't.abs() >= 5  ->  t.abs() > 5'):
        'U(-10, 10) gives exactly +-5.0 with probability ~0: no test can tell > from >=',
    ('netstudio/init/schemes.py', 'ArgSpec.check', 13, 'value > 0  ->  value >= 0'):
        'only values beyond +-1e30 get here, never 0',
    ('netstudio/init/schemes.py', 'ArgSpec.check', 13, '0  ->  1'):
        'only values beyond +-1e30 get here, never within (0, 1]',
    ('netstudio/compiler/build.py', '_require_valid_names', 3, "d.kind == 'sequential'  ->  d.kind != 'sequential'"):
        "it only lets a graph named 'Sequential' skip the class-name check, a name the rule accepts anyway",
    ('netstudio/compiler/seeding.py', 'seed_on_materialize', 6, 'False  ->  True'):
        "the catalog's lazy layers (LazyLinear, LazyConv2d, LazyBatchNorm) have no submodules to recurse into",
    ('netstudio/compiler/seeding.py', 'seed_on_materialize', 7, 'remove `return`'):
        "torch's materializing pre-hook runs first and raises unless every parameter got its shape",
    ('netstudio/init/assignments.py', 'DeferredInit._materialized', 4, 'remove `return`'):
        'with nothing ready, _run(only=set()) fills nothing and every pending parameter stays pending',
    ('netstudio/init/replay.py', '_can_skip', 3, 'return False  ->  return None'):
        "callers only test the result's truth: None is as false as False",
    ('netstudio/init/replay.py', '_can_skip', 6, 'return False  ->  return None'):
        "callers only test the result's truth: None is as false as False",
    ('netstudio/init/replay.py', '_Skipping._first_failing', 5, '0  ->  1'):
        'no scheme has min_ndim 1, so it only skips a shortcut: the search below finds nothing failing too',
    ('netstudio/init/replay.py', '_Skipping._first_failing', 6, 'remove `return []`'):
        'a shortcut: with min_ndim 0 and no reset needed, the search below finds nothing failing either',
    ('netstudio/init/replay.py', '_Skipping._take', 7, 'remove `return taken`'):
        "a single-parameter plan's occurrence range is empty (first = end = 0): the code below takes nothing",
    ('netstudio/init/replay.py', '_Skipping._take', 17, '1  ->  0'):
        '_claim has just pointed slot i at i + 1, so _find(parent, i) ends at the same free slot',
    ('netstudio/init/replay.py', '_find', 3, 'remove `parent[i] = parent[parent[i]]`'):
        'path halving only shortens later searches: each still ends at the same free slot',
    ('netstudio/init/replay.py', '_Waiting._materialized', 5, 'remove `return`'):
        'with nothing ready every group and edit is still lazy: the code below keeps them all, and the hook',
    ('netstudio/params/direct_edits.py', '_is_finite', 3, 'return False  ->  return None'):
        "callers only test the result's truth: None is as false as False",
    ('netstudio/params/direct_edits.py', '_is_finite', 7, 'return False  ->  return None'):
        "callers only test the result's truth: None is as false as False",
    ('netstudio/params/direct_edits.py', '_is_finite', 7, 'remove `return False`'):
        "the function then returns None, and callers only test the result's truth",
    ('netstudio/params/tied_gradients.py', 'aligned', 3, '0.0  ->  1.0'):
        'the default is used only with no finite value, and log10(1) = 0 gives the same decimals as 0 does',
    ('netstudio/files/atomic.py', '_create_temp', 7, "os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_BINARY', 0)  ->  (os.O_WRONLY | os.O_CREAT | os.O_EXCL) & getattr(os, 'O_BINARY', 0)"):
        "O_BINARY is absent on POSIX, where the default 0 (or 1, O_WRONLY's own bit) changes no flag",
    ('netstudio/files/atomic.py', '_remove_if_dead', 4, 'return False  ->  return None'):
        "callers only test the result's truth: None is as false as False",
    ('netstudio/files/atomic.py', '_remove_if_old', 2, 'return False  ->  return None'):
        "callers only test the result's truth: None is as false as False",
    ('netstudio/files/atomic.py', '_remove_if_dead', 7, "os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOC...  ->  (os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0)) & getattr(os, 'O_NONBL..."):
        'the flags only matter for a symlink or FIFO, which the S_ISREG check before excludes (a race aside)',
    ('netstudio/files/atomic.py', '_remove_if_dead', 17, 'return False  ->  return None'):
        "callers only test the result's truth: None is as false as False",
    ('netstudio/files/atomic.py', '_keep_backup', 7, '3  ->  4'):
        'the third attempt re-raises (attempt == 2) before a fourth could start',
    ('netstudio/files/atomic.py', '_keep_backup', 19, 'remove `return`'):
        'another round links and renames the same file again: the same backup',
    ('netstudio/files/atomic.py', '_remove_if_dead', 7, "os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0)  ->  os.O_RDONLY & getattr(os, 'O_NOFOLLOW', 0)"):
        'the flags only matter for a symlink or FIFO, which the S_ISREG check before excludes (a race aside)',
    ('netstudio/files/atomic.py', '_remove_if_dead', 12, 'return False  ->  return None'):
        "callers only test the result's truth: None is as false as False",
    ('netstudio/files/atomic.py', '_remove_if_dead', 7, '0  ->  1'):
        'O_NOFOLLOW and O_NONBLOCK exist on POSIX: the getattr default is never used',
    ('netstudio/files/atomic.py', '_unlink_quietly', 2, 'True  ->  False'):
        'FileNotFoundError is an OSError, which _unlink_quietly swallows anyway',
    ('netstudio/files/atomic.py', '_remove_if_dead', 7, '0  ->  1'):
        'O_NOFOLLOW and O_NONBLOCK exist on POSIX: the getattr default is never used',
    ('ui/document/controller.py', 'DocumentController._start_check', 1, 'self._generation += 1  ->  self._generation -= 1'):
        'any new generation number works: it only has to differ from the last',
    ('ui/document/controller.py', 'DocumentController.__init__', 12, '0  ->  1'):
        'the generation only has to change at each check, not start at 0',
    ('ui/document/controller.py', 'DocumentController.__init__', 14, '1  ->  0'):
        'Qt runs a pool with a zero limit on one thread all the same',
    ('ui/document/controller.py', 'DocumentController.close', 6, '5000  ->  5001'):
        'waiting 5001 instead of 5000 ms for the checking thread',
    ('ui/document/controller.py', 'DocumentController.__init__', 16, '0  ->  1'):
        'a 1 ms instead of 0 ms single-shot timer: only when, not what, is checked',
    ('ui/document/relay.py', '_Relay.__init__', 6, 'True  ->  False'):
        'a repeating coalescing timer finds nothing pending after its flush: the same calls, more wakeups',
    ('ui/document/relay.py', 'listen', 14, 'False  ->  True'):
        "forward takes *args, so psygnal's argument-count check passes either way",
    ('ui/document/weight_commands.py', 'WeightCommand.__init__', 10, 'False  ->  True'):
        'execute() sets _skip_redo before any redo can read it',
    ('ui/document/weight_commands.py', 'ApplyInitializers._do', 3, "remove `raise NetStudioError(self.session.error or 'The network c...`"):
        "unreachable: execute() first snapshots the tensors through session._require, which raises this sentence",
    ('ui/document/weight_commands.py', 'ApplyInitializers._do', 3, "self.session.error or 'The network cannot be built.'  ->  self.session.error and 'The network cannot be built.'"):
        "unreachable: execute() first snapshots the tensors through session._require, which raises this sentence",
    ('ui/document/weight_commands.py', 'ApplyInitializers._keep', 4, 'remove `pending.remove()`'):
        'a DeferredInit hooks only the modules of its pending parameters: with none pending it holds nothing to remove',
    ('ui/document/controller.py', 'DocumentController.stop_runs', 8, 'not busy and (not done.done())  ->  not busy or not done.done()'):
        'busy_changed(True) only follows a busy_changed(False), which already completed the future and disconnected',
    ('netstudio/files/atomic.py', '_create_temp', 7, '0  ->  1'):
        "O_BINARY is absent on POSIX, and the default 1 is O_WRONLY's own bit, set already",
    ('netstudio/files/atomic.py', 'sweep_stale_temp_files', 21, 'remove `continue`'):
        "the try is the loop body's last statement: continue and pass both go on to the next entry",
    ('ui/document/weight_commands.py', '_changed', 2, 'torch.equal(before[name], value)  ->  torch.equal(value, before[name])'):
        'torch.equal is symmetric',
}


# ================================================================= mutants
@dataclass
class Mutant:
    id: int
    file: str            # relative to ROOT
    line: int
    end_line: int
    unit: str            # qualname of the module- or class-level function holding it
    unit_line: int       # its co_firstlineno
    index: int           # the node's position in ast.walk(tree)
    op: str
    arg: object
    change: str

    @property
    def key(self) -> tuple[str, str, int, str]:
        return self.file, self.unit, self.line - self.unit_line, self.change

    @property
    def module(self) -> str:
        return self.file


BINOP = {ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult, ast.FloorDiv: ast.Div,
         ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult, ast.LShift: ast.RShift, ast.RShift: ast.LShift,
         ast.BitOr: ast.BitAnd, ast.BitAnd: ast.BitOr, ast.BitXor: ast.BitOr}
CMPOP = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq,
         ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is, ast.In: ast.NotIn, ast.NotIn: ast.In}
BRANCHY = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.Try, ast.With, ast.AsyncWith, ast.ExceptHandler)
# Builtins whose swapped arguments only raise TypeError (or, for min/max, change nothing).
NO_SWAP = {"isinstance", "issubclass", "getattr", "setattr", "hasattr", "map", "filter", "min", "max", "divmod"}
REMOVABLE = (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Raise, ast.Return, ast.Continue,
             ast.Break, ast.Delete)


def _short(node: ast.AST, limit: int = 70) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _is_text(node: ast.AST) -> bool:
    return isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)))


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    parents = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    return parents


def _skipped_subtrees(tree: ast.AST) -> set[int]:
    """ids of nodes never mutated: annotations, decorators, defaults, f-strings, docstrings."""
    skip: set[int] = set()

    def drop(node):
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            args = node.args
            for a in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
                if a is not None:
                    drop(a.annotation)
            for d in args.defaults + [d for d in args.kw_defaults if d is not None]:
                drop(d)
            if not isinstance(node, ast.Lambda):
                drop(node.returns)
                for d in node.decorator_list:
                    drop(d)
        elif isinstance(node, ast.ClassDef):
            for d in node.decorator_list + node.bases + node.keywords:
                drop(d)
        elif isinstance(node, ast.AnnAssign):
            drop(node.annotation)
        elif isinstance(node, ast.JoinedStr):
            drop(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Module)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                drop(first)
    return skip


def _units(tree: ast.Module) -> dict[int, tuple[str, int]]:
    """node id -> (qualname, first line) of the outermost function holding it whose parents are
    all classes: the function object that exists while the module is loaded."""
    owner: dict[int, tuple[str, int]] = {}

    def visit(body, prefix):
        for node in body:
            if isinstance(node, ast.ClassDef):
                visit(node.body, prefix + node.name + ".")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno] + [d.lineno for d in node.decorator_list])
                unit = (prefix + node.name, first)
                for stmt in node.body:
                    for n in ast.walk(stmt):
                        owner[id(n)] = unit
            elif isinstance(node, (ast.If, ast.Try)):   # e.g. definitions under `if TYPE_CHECKING`
                for block in _blocks(node):
                    visit(block, prefix)
            else:   # lambdas in module or class level data (a table of fill functions, say)
                for lam in _outer_lambdas(node):
                    lambdas.setdefault((prefix + "<lambda>", lam.lineno), []).append(lam)
    lambdas: dict[tuple[str, int], list[ast.Lambda]] = {}
    visit(tree.body, "")
    for unit, found in lambdas.items():
        if len(found) == 1:   # two lambdas on one line could not be told apart
            for n in ast.walk(found[0].body):
                owner[id(n)] = unit
    return owner


def _outer_lambdas(node: ast.AST) -> list[ast.Lambda]:
    found, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ast.Lambda):
            found.append(n)
        elif not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack.extend(ast.iter_child_nodes(n))
    return found


def _blocks(node: ast.AST) -> list[list]:
    blocks = []
    for name in ("body", "orelse", "finalbody"):
        block = getattr(node, name, None)
        if isinstance(block, list) and block:
            blocks.append(block)
    for handler in getattr(node, "handlers", []) or []:
        blocks.append(handler.body)
    return blocks


def _mutations(node: ast.AST, parent: ast.AST | None, source_lines: list[str]):
    """(op, arg, change) for each mutation of ``node``."""
    if isinstance(node, ast.BinOp) and type(node.op) in BINOP:
        if _is_text(node.left) or _is_text(node.right):
            return
        new = ast.BinOp(node.left, BINOP[type(node.op)](), node.right)
        yield "binop", None, f"{_short(node)}  ->  {_short(new)}"
    elif isinstance(node, ast.AugAssign) and type(node.op) in BINOP:
        new = ast.AugAssign(node.target, BINOP[type(node.op)](), node.value)
        yield "augop", None, f"{_short(node)}  ->  {_short(new)}"
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        yield "unary", None, f"{_short(node)}  ->  {_short(node.operand)}"
    elif isinstance(node, ast.Compare):
        for i, op in enumerate(node.ops):
            if type(op) in CMPOP:
                ops = list(node.ops)
                ops[i] = CMPOP[type(op)]()
                new = ast.Compare(node.left, ops, node.comparators)
                yield "cmp", i, f"{_short(node)}  ->  {_short(new)}"
    elif isinstance(node, ast.BoolOp):
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        yield "boolop", None, f"{_short(node)}  ->  {_short(ast.BoolOp(other, node.values))}"
    elif isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool):
            yield "const", not value, f"{value!r}  ->  {not value!r}"
        elif isinstance(value, int):
            new = 1 if value == 0 else 0 if value == 1 else value + 1
            yield "const", new, f"{value!r}  ->  {new!r}"
        elif isinstance(value, float):
            new = 1.0 if value == 0.0 else value + 1.0
            yield "const", new, f"{value!r}  ->  {new!r}"
    elif isinstance(node, ast.Return) and node.value is not None and not (
            isinstance(node.value, ast.Constant) and node.value.value is None):
        yield "return_none", None, f"{_short(node)}  ->  return None"
    elif isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in NO_SWAP):
        positional = node.args
        for i in range(min(2, len(positional) - 1)):   # the first and second, the second and third
            a, b = positional[i], positional[i + 1]
            if isinstance(a, ast.Starred) or isinstance(b, ast.Starred) or ast.dump(a) == ast.dump(b):
                continue
            yield "swap", i, f"{_short(node)}  ->  {_short(_swapped(node, i))}"
    if isinstance(node, REMOVABLE) and isinstance(parent, BRANCHY):
        if isinstance(node, ast.Expr) and (isinstance(node.value, ast.Constant)):
            return   # a docstring or `...`
        yield "remove", None, f"remove `{_short(node, 60)}`"


def _swapped(call: ast.Call, i: int) -> ast.Call:
    args = list(call.args)
    args[i], args[i + 1] = args[i + 1], args[i]
    return ast.Call(call.func, args, call.keywords)


def generate(rel: str, text: str) -> list[Mutant]:
    tree = ast.parse(text, filename=rel)
    lines = text.splitlines()
    skip = _skipped_subtrees(tree)
    units = _units(tree)
    parents = _parents(tree)
    mutants = []
    for index, node in enumerate(ast.walk(tree)):
        if id(node) in skip or id(node) not in units or not hasattr(node, "lineno"):
            continue
        if NO_MUTATE in lines[node.lineno - 1]:
            continue
        unit, unit_line = units[id(node)]
        for op, arg, change in _mutations(node, parents.get(node), lines):
            mutants.append(Mutant(0, rel, node.lineno, getattr(node, "end_lineno", None) or node.lineno,
                                  unit, unit_line, index, op, arg, change))
    return mutants


def apply(tree: ast.Module, m: Mutant) -> ast.Module:
    """Apply ``m`` to a fresh parse of its file, in place."""
    nodes = list(ast.walk(tree))
    node = nodes[m.index]
    parent = _parents(tree).get(node)
    new: ast.AST
    if m.op == "binop":
        new = ast.BinOp(node.left, BINOP[type(node.op)](), node.right)
    elif m.op == "augop":
        new = ast.AugAssign(node.target, BINOP[type(node.op)](), node.value)
    elif m.op == "unary":
        new = node.operand
    elif m.op == "cmp":
        ops = list(node.ops)
        ops[m.arg] = CMPOP[type(ops[m.arg])]()
        new = ast.Compare(node.left, ops, node.comparators)
    elif m.op == "boolop":
        new = ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
    elif m.op == "const":
        new = ast.Constant(m.arg)
    elif m.op == "return_none":
        new = ast.Return(ast.Constant(None))
    elif m.op == "swap":
        new = _swapped(node, m.arg)
    elif m.op == "remove":
        new = ast.Pass()
    else:
        raise ValueError(m.op)
    ast.copy_location(new, node)
    for name, value in ast.iter_fields(parent):
        if value is node:
            setattr(parent, name, new)
            break
        if isinstance(value, list) and any(v is node for v in value):
            value[[i for i, v in enumerate(value) if v is node][0]] = new
            break
    else:
        raise ValueError("node not found in its parent")
    return ast.fix_missing_locations(tree)


def target_files(only: list[str]) -> list[str]:
    files = []
    for target in TARGETS:
        path = ROOT / target
        found = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for f in found:
            rel = f.relative_to(ROOT).as_posix()
            if not only or any(rel.startswith(o) for o in only):
                files.append(rel)
    return files


def all_mutants(files: list[str], texts: dict[str, str]) -> list[Mutant]:
    mutants: list[Mutant] = []
    for rel in files:
        for m in generate(rel, texts[rel]):
            m.id = len(mutants) + 1
            mutants.append(m)
    return mutants


def code_of(code: types.CodeType, qualname: str, first: int) -> types.CodeType | None:
    """The code object of ``qualname`` starting at line ``first`` inside a module's code."""
    stack = [code]
    while stack:
        c = stack.pop()
        if c.co_qualname == qualname and c.co_firstlineno == first:
            return c
        stack.extend(k for k in c.co_consts if isinstance(k, types.CodeType))
    return None


def show(m: Mutant, text: str) -> str:
    tree = apply(ast.parse(text), m)
    old = ast.parse(text)
    # Unparse the unit alone, before and after, to show a readable diff.
    def unit_text(t):
        for node in ast.walk(t):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == m.unit.split(".")[-1] \
                    and min([node.lineno] + [d.lineno for d in node.decorator_list]) == m.unit_line:
                return ast.unparse(node).splitlines(keepends=True)
        return []
    return "".join(difflib.unified_diff(unit_text(old), unit_text(tree), f"{m.file} (original)",
                                        f"{m.file} (mutant {m.id})"))


# ================================================================= step 1: the line -> tests map
class Tracer:
    """A pytest plugin: per test, the target lines it runs, its duration and outcome."""

    def __init__(self, files: list[str]):
        self.files = {str(ROOT / f): f for f in files}
        self.tests: list[dict] = []
        self.lines: dict[str, dict[int, list[int]]] = defaultdict(lambda: defaultdict(list))
        self.current: set = set()
        self.imported: set | None = None   # lines run before the first test: module level, at import

    def _local(self, frame, event, arg):
        if event == "line":
            self.current.add((frame.f_code.co_filename, frame.f_lineno))
        return self._local

    def _global(self, frame, event, arg):
        if frame.f_code.co_filename in self.files:
            self.current.add((frame.f_code.co_filename, frame.f_lineno))
            return self._local
        return None

    def pytest_configure(self, config):
        _quiet_hypothesis()

    def pytest_runtest_protocol(self, item, nextitem):
        import threading
        if self.imported is None:
            sys.settrace(None)
            self.imported = self.current
        self.current = set()
        self._failed = False
        start = time.perf_counter()
        threading.settrace(self._global)
        sys.settrace(self._global)
        try:
            from _pytest.runner import runtestprotocol
            reports = runtestprotocol(item, nextitem=nextitem, log=True)
        finally:
            sys.settrace(None)
            threading.settrace(None)
        duration = time.perf_counter() - start
        passed = not any(r.failed or r.skipped for r in reports)
        index = len(self.tests)
        self.tests.append({"nodeid": item.nodeid, "duration": duration, "passed": passed})
        for filename, line in self.current:
            self.lines[self.files[filename]][line].append(index)
        return True


def _quiet_hypothesis() -> None:
    """Derandomised examples (a mutant is killed or not, the same every run), no example database."""
    try:
        from hypothesis import settings
    except ImportError:
        return
    settings.register_profile("mutation", derandomize=True, database=None, deadline=None, print_blob=False)
    settings.load_profile("mutation")


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fingerprints(files: list[str]) -> tuple[str, dict[str, str]]:
    """(a digest of the targets and the pool's helpers, a digest per test file).  A test file's
    lines stay valid while the first is unchanged, so only changed test files are mapped again."""
    h = hashlib.sha256()
    test_files: dict[str, str] = {}
    helpers = []
    for pool in TEST_POOL:
        for path in sorted((ROOT / pool).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            if path.name.startswith("test_"):
                test_files[rel] = _digest(path)
            else:
                helpers.append(path)
    for path in [ROOT / f for f in sorted(files)] + [ROOT / "tests" / "conftest.py"] + helpers:
        if path.exists():
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    return h.hexdigest(), test_files


def map_tests(files: list[str], out: Path, paths: list[str]) -> None:
    """Step 1, in this (sub)process, for the test files ``paths``."""
    import pytest
    tracer = Tracer(files)
    sys.settrace(tracer._global)     # until the first test: what importing the modules runs
    try:
        code = pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", *paths], plugins=[tracer])
    finally:
        sys.settrace(None)
    imported: dict[str, list[int]] = defaultdict(list)
    for filename, line in tracer.imported or tracer.current:
        imported[tracer.files[filename]].append(line)
    data = {"tests": tracer.tests,
            "lines": {f: {str(k): v for k, v in lines.items()} for f, lines in tracer.lines.items()},
            "imported": imported, "exit": int(code)}
    out.write_text(json.dumps(data))


def update_map(map_path: Path, full: bool) -> dict | None:
    """The line -> tests map, brought up to date: everything mapped again when a target or a
    helper changed (or ``full``), else only the test files that changed since."""
    base, test_files = fingerprints(target_files([]))
    old = json.loads(map_path.read_text()) if map_path.exists() and not full else None
    if old is None or old.get("base") != base:
        old, todo = None, sorted(test_files)
    else:
        todo = sorted(f for f, digest in test_files.items() if old["files"].get(f) != digest)
    if old is not None and not todo and set(old["files"]) == set(test_files):
        return old
    start = time.monotonic()
    what = "the whole pool" if old is None else f"{len(todo)} changed test file(s)"
    say(f"mapping lines to tests ({what} runs once, traced) ...")
    part = map_path.with_suffix(".part.json")
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--map-only", str(part), "--", *todo],
                          stdout=subprocess.DEVNULL) if todo else None
    if proc is not None and (proc.returncode != 0 or not part.exists()):
        say("mapping failed")
        return None
    new = json.loads(part.read_text()) if todo else {"tests": [], "lines": {}}
    part.unlink(missing_ok=True)
    tests, lines = [], defaultdict(lambda: defaultdict(list))
    if old is not None:     # keep the unchanged files' tests, renumbered
        keep = {i: t for i, t in enumerate(old["tests"])
                if t["nodeid"].split("::")[0] in test_files and t["nodeid"].split("::")[0] not in todo}
        renumber = {i: n for n, i in enumerate(keep)}
        tests = list(keep.values())
        for rel, by_line in old["lines"].items():
            for line, hits in by_line.items():
                lines[rel][line] += [renumber[i] for i in hits if i in renumber]
    offset = len(tests)
    tests += new["tests"]
    for rel, by_line in new["lines"].items():
        for line, hits in by_line.items():
            lines[rel][line] += [offset + i for i in hits]
    imported = {rel: sorted(set(old.get("imported", {}).get(rel, []) if old else []) | set(found))
                for rel, found in new.get("imported", {}).items()}
    data = {"base": base, "files": test_files, "tests": tests, "lines": lines, "imported": imported}
    map_path.write_text(json.dumps(data))
    say(f"mapped in {time.monotonic() - start:.0f} s")
    return json.loads(map_path.read_text())


# ================================================================= step 3: the runs
@dataclass
class Outcome:
    status: str                 # killed | survived | timeout | crash | uncovered | not-applied | error | equivalent
    detail: str = ""
    seconds: float = 0.0
    tests: int = 0
    setup: float = 0.0          # seconds from the fork to the first test


@dataclass
class Child:
    mutant: Mutant | None
    pid: int
    fd: int
    tests: list[int]
    started: float
    buffer: bytes = b""
    current: int = -1
    deadline: float = 0.0
    failed: int | None = None
    note: str = ""
    status: str = ""             # timeout | crash | not-applied | error, once known
    first_test: float = 0.0      # when the first test started (the mutant applied)


class Runner:
    """A pytest plugin that collects the pool once, then forks a child per mutant."""

    def __init__(self, args, mutants, texts, mapping):
        self.args, self.mutants, self.texts, self.mapping = args, mutants, texts, mapping
        self.items = {}
        self.outcomes: dict[int, Outcome] = {}
        self.baseline_failures: list[str] = []
        self.completed = False
        self.reach: dict[int, int] = {}     # mutant id -> how many tests reach it

    def pytest_configure(self, config):
        _quiet_hypothesis()

    def pytest_collection_modifyitems(self, session, config, items):
        self.items = {item.nodeid: item for item in items}

    def pytest_runtestloop(self, session):
        run_mutants(self, session)
        self.completed = True
        return True


def _live_functions(files: list[str]) -> dict[tuple[str, str, int], list[types.FunctionType]]:
    wanted = {str(ROOT / f): f for f in files}
    live: dict[tuple[str, str, int], list] = defaultdict(list)
    for obj in gc.get_objects():
        if type(obj) is types.FunctionType:   # not isinstance: some objects warn when asked their __class__
            code = obj.__code__
            rel = wanted.get(code.co_filename)
            if rel is not None:
                live[(rel, code.co_qualname, code.co_firstlineno)].append(obj)
    return live


def _module_name(rel: str) -> str:
    name = rel[:-3].replace("/", ".")
    return name[: -len(".__init__")] if name.endswith(".__init__") else name


def run_mutants(runner: Runner, session) -> None:
    args, texts, mapping = runner.args, runner.texts, runner.mapping
    files = sorted({m.file for m in runner.mutants})
    for rel in files:
        importlib.import_module(_module_name(rel))
    live = _live_functions(files)

    # The module as loaded must be the text we mutate: compile it and compare each function's code.
    originals = {rel: compile(ast.parse(texts[rel]), str(ROOT / rel), "exec") for rel in files}
    stale = set()
    for (rel, qualname, first), funcs in live.items():
        code = code_of(originals[rel], qualname, first)
        if code is None or any(f.__code__.co_code != code.co_code for f in funcs):
            stale.add(rel)
    for rel in sorted(stale):
        say(f"warning: {rel} changed since it was imported; its mutants are skipped (run again)")

    tests = mapping["tests"]
    usable = [i for i, t in enumerate(tests) if t["passed"] and t["nodeid"] in runner.items]
    order = sorted(usable, key=lambda i: (tests[i]["duration"], tests[i]["nodeid"]))
    rank = {i: r for r, i in enumerate(order)}

    def covering(m: Mutant) -> list[int]:
        lines = mapping["lines"].get(m.file, {})
        found = set()
        for line in range(m.line, m.end_line + 1):
            found.update(lines.get(str(line), ()))
        return sorted((i for i in found if i in rank), key=rank.__getitem__)

    # How focused each test is on each file: the share of the target lines it runs that lie there.
    per_test: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for rel, lines in mapping["lines"].items():
        for hits in lines.values():
            for i in hits:
                per_test[i][rel] += 1
    totals = {i: sum(counts.values()) for i, counts in per_test.items()}

    def choose(m: Mutant, found: list[int]) -> list[int]:
        """At most ``--max-tests`` of the tests that reach a mutant: those most focused on its file
        first (a module's own tests), then the fastest; they run fastest first."""
        if not args.max_tests or len(found) <= args.max_tests:
            return found
        focus = {i: per_test[i][m.file] / totals[i] for i in found}
        picked = sorted(found, key=lambda i: (-round(focus[i], 1), rank[i]))[: args.max_tests]
        return sorted(picked, key=rank.__getitem__)

    stale_keys = [k for k in EQUIVALENT if k[0] in files and k not in {m.key for m in runner.mutants}]
    if stale_keys and not args.ids and not args.sample:
        say(f"note: {len(stale_keys)} entries of EQUIVALENT match no mutant any more: {stale_keys}")

    # One temporary folder for every child (pytest would make and prune one per process).
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        factory.getbasetemp()

    # Baseline: every test some mutant needs, in one child, without a mutant.
    plan = []
    for m in runner.mutants:
        if m.key in EQUIVALENT:
            runner.outcomes[m.id] = Outcome("equivalent", EQUIVALENT[m.key])
        elif m.file in stale:
            runner.outcomes[m.id] = Outcome("not-applied", "file changed during the run")
        elif (m.file, m.unit, m.unit_line) not in live:
            runner.outcomes[m.id] = Outcome("not-applied", f"no live function {m.unit} (line {m.unit_line})")
        else:
            found = covering(m)
            imported = set(mapping.get("imported", {}).get(m.file, ()))
            if not found and imported & set(range(m.line, m.end_line + 1)):
                runner.outcomes[m.id] = Outcome("import-time", "runs only while its module is imported")
            elif not found:
                runner.outcomes[m.id] = Outcome("uncovered", "no test runs this line")
            else:
                runner.reach[m.id] = len(found)
                plan.append((m, choose(m, found)))
    needed = sorted({i for _, chosen in plan for i in chosen}, key=rank.__getitem__)
    say(f"{len(runner.mutants)} mutants, {len(plan)} reached by tests; baseline of {len(needed)} tests ...")
    start = time.monotonic()
    failing = baseline(runner, session, needed, tests)
    if failing:
        runner.baseline_failures = [tests[i]["nodeid"] for i in sorted(failing)]
        say(f"left out of the pool (fail without a mutant): {runner.baseline_failures}")
        plan = [(m, [i for i in chosen if i not in failing]) for m, chosen in plan]
        for m, chosen in plan:
            if not chosen:
                runner.outcomes[m.id] = Outcome("uncovered", "only baseline-failing tests run this line")
        plan = [(m, chosen) for m, chosen in plan if chosen]
    say(f"baseline done in {time.monotonic() - start:.0f} s; running {len(plan)} mutants with {args.jobs} jobs")

    # The mutants, args.jobs at a time.
    pending = list(reversed(plan))
    running: dict[int, Child] = {}
    done = 0
    start = time.monotonic()
    last_note = start
    while pending or running:
        while pending and len(running) < args.jobs:
            m, chosen = pending.pop()
            child = fork_child(runner, session, m, chosen, texts[m.file], live[(m.file, m.unit, m.unit_line)])
            running[child.fd] = child
        poll(running, tests, runner, m_done := [])
        done += len(m_done)
        if time.monotonic() - last_note > 30:
            last_note = time.monotonic()
            rate = done / max(1e-9, last_note - start)
            left = len(pending) + len(running)
            say(f"  {done}/{len(plan)} mutants, about {left / max(rate, 1e-9) / 60:.0f} min left")


def baseline(runner: Runner, session, needed: list[int], tests) -> set[int]:
    """Run ``needed`` in a child without a mutant, carrying on past failures; the failing ones.
    A test that hangs or crashes the child is failing too, and the rest run in a new child."""
    failing: set[int] = set()
    remaining = list(needed)
    while remaining:
        child = fork_child(runner, session, None, remaining, None, None, keep_going=True)
        running = {child.fd: child}
        while running:
            poll(running, tests, runner, [])
        if child.note:
            failing |= {int(i) for i in child.note.split()}
        if child.status in ("timeout", "crash", "error") and child.current >= 0:
            failing.add(remaining[child.current])
            remaining = remaining[child.current + 1:]
        else:
            break
    return failing


def fork_child(runner: Runner, session, m: Mutant | None, chosen: list[int], text, funcs,
               keep_going: bool = False) -> Child:
    from _pytest.runner import runtestprotocol
    from _pytest.warnings import catch_warnings_for_item
    tests = runner.mapping["tests"]
    items = [runner.items[tests[i]["nodeid"]] for i in chosen]
    r, w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:   # the child: never returns
        code = 4
        try:
            os.close(r)
            os.setpgid(0, 0)
            import faulthandler
            faulthandler.disable()    # a mutant that crashes is killed; its traceback is noise
            out = os.fdopen(w, "w", buffering=1)
            if m is not None:
                tree = apply(ast.parse(text), m)
                module_code = compile(tree, str(ROOT / m.file), "exec")
                new = code_of(module_code, m.unit, m.unit_line)
                if new is None:
                    out.write("N mutated function not found\n")
                    os._exit(3)
                try:
                    for f in funcs:
                        f.__code__ = new
                except ValueError as err:
                    out.write(f"N {err}\n")
                    os._exit(3)
            failures = []
            for n, item in enumerate(items):
                out.write(f"S {n}\n")
                nextitem = items[n + 1] if n + 1 < len(items) else None
                # pytest applies filterwarnings marks (and the ini's filters) around each test in a hook
                # wrapper that runtestprotocol alone skips: without it, warn-once warnings fail tests by
                # their order and count as false kills.
                with catch_warnings_for_item(config=item.config, ihook=item.ihook, when="runtest", item=item,
                                             record=False):
                    reports = runtestprotocol(item, nextitem=nextitem, log=False)
                if any(rep.failed for rep in reports):
                    if not keep_going:
                        out.write(f"F {n}\n")
                        out.flush()
                        os._exit(1)
                    failures.append(n)
            if failures:
                out.write("B " + " ".join(str(chosen[n]) for n in failures) + "\n")
            out.flush()
            code = 0
        except BaseException:
            import traceback
            try:
                out.write("E " + traceback.format_exc().replace("\n", " | ") + "\n")
                out.flush()
            except Exception:
                pass
        finally:
            os._exit(code)
    os.close(w)
    os.set_blocking(r, False)
    child = Child(m, pid, r, chosen, time.monotonic())
    child.deadline = time.monotonic() + 60 * runner.args.timeout_factor   # applying the mutant
    return child


def poll(running: dict[int, Child], tests, runner: Runner, finished: list) -> None:
    ready, _, _ = select.select(list(running), [], [], 0.5)
    now = time.monotonic()
    for fd in list(running):
        child = running[fd]
        eof = False
        if fd in ready:
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                chunk = b""
            eof = chunk == b"" and fd in ready
            child.buffer += chunk
            *lines, child.buffer = child.buffer.split(b"\n")
            for raw in lines:
                kind, _, rest = raw.decode(errors="replace").partition(" ")
                if kind == "S":
                    child.current = int(rest)
                    child.first_test = child.first_test or now
                    limit = tests[child.tests[child.current]]["duration"]
                    child.deadline = now + (10 * limit + 10) * runner.args.timeout_factor
                elif kind == "F":
                    child.failed = int(rest)
                elif kind == "B":
                    child.note = rest
                elif kind in ("N", "E"):
                    child.status = "not-applied" if kind == "N" else "error"
                    child.note = rest
        timed_out = not eof and now > child.deadline
        if timed_out:
            try:
                os.killpg(child.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if eof or timed_out:
            _, status = os.waitpid(child.pid, 0)
            os.close(fd)
            del running[fd]
            seconds = now - child.started
            if timed_out:
                child.status = "timeout"
            elif os.WIFSIGNALED(status):
                child.status = "crash"
            finished.append(child)
            m = child.mutant
            if m is None:
                continue
            code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
            ran = child.current + 1
            if child.status == "timeout":
                test = tests[child.tests[child.current]]["nodeid"] if child.current >= 0 else "(applying)"
                outcome = Outcome("killed", f"timeout in {test}", seconds, ran)
            elif child.status == "crash":
                outcome = Outcome("killed", f"crash (signal {os.WTERMSIG(status)})", seconds, ran)
            elif code == 1 and child.failed is not None:
                outcome = Outcome("killed", tests[child.tests[child.failed]]["nodeid"], seconds, ran)
            elif code == 0:
                outcome = Outcome("survived", f"{len(child.tests)} of the {runner.reach.get(m.id)} tests that "
                                              f"reach it pass", seconds, ran)
            elif code == 3:
                outcome = Outcome("not-applied", child.note, seconds, 0)
            else:
                outcome = Outcome("error", child.note or f"exit {code}", seconds, ran)
            outcome.setup = max(0.0, (child.first_test or now) - child.started)
            runner.outcomes[m.id] = outcome


# ================================================================= step 4: the report
_SAY = None


def say(text: str) -> None:
    """Progress, on the terminal even while pytest captures fds 1 and 2."""
    global _SAY
    if _SAY is None:
        _SAY = os.fdopen(os.dup(2), "w", buffering=1)
    print(text, file=_SAY, flush=True)


def report(mutants: list[Mutant], outcomes: dict[int, Outcome], args, elapsed: float, extra: list[str]) -> tuple[str, float]:
    by_file: dict[str, list[Mutant]] = defaultdict(list)
    for m in mutants:
        by_file[m.file].append(m)
    lines = ["NetStudio mutation score", "=" * 24, ""]
    if args.sample:
        lines.append(f"Sample: {len(mutants)} mutants drawn with seed {args.seed}, stratified per module.")
    lines.append(f"{'module':44} {'killed':>7} {'total':>6} {'score':>7} {'surv':>5} {'uncov':>5} {'equiv':>5} {'n/a':>4}")
    tot_k = tot_n = 0
    for rel in sorted(by_file):
        ms = by_file[rel]
        st = [outcomes.get(m.id, Outcome("not-run")).status for m in ms]
        killed = st.count("killed")
        counted = len(ms) - st.count("equivalent") - st.count("not-applied") - st.count("not-run") \
            - st.count("import-time")
        tot_k += killed
        tot_n += counted
        score = 100.0 * killed / counted if counted else 100.0
        lines.append(f"{rel:44} {killed:7} {counted:6} {score:6.1f}% {st.count('survived'):5} "
                     f"{st.count('uncovered'):5} {st.count('equivalent'):5} "
                     f"{st.count('not-applied') + st.count('import-time'):4}")
    overall = 100.0 * tot_k / tot_n if tot_n else 100.0
    lines.append(f"{'OVERALL':44} {tot_k:7} {tot_n:6} {overall:6.1f}%")
    lines.append("")
    lines.append("(total = all mutants less those marked equivalent, those that could not be applied and those run "
                 "only at import (n/a); a survivor or an uncovered mutant counts as not killed)")
    for status, title in (("survived", "Survivors (the tests that reach them all pass)"),
                          ("uncovered", "Not reached by any test"),
                          ("error", "Errors in the tool"),
                          ("not-applied", "Could not be applied (not counted)"),
                          ("import-time", "Run only while the module is imported, before any test: the tool "
                                          "swaps code in loaded modules, so it cannot try these (not counted)"),
                          ("equivalent", "Marked equivalent (not counted)")):
        chosen = [m for m in mutants if outcomes.get(m.id, Outcome("not-run")).status == status]
        if not chosen:
            continue
        lines += ["", f"{title}: {len(chosen)}"]
        for m in sorted(chosen, key=lambda m: (m.file, m.line)):
            o = outcomes[m.id]
            why = f"  [{o.detail}]" if status in ("equivalent", "not-applied", "error", "survived") else ""
            lines.append(f"  #{m.id:<5} {m.file}:{m.line}  {m.unit}: {m.change}{why}")
    lines += ["", *extra, f"Run time: {elapsed / 60:.1f} min with {args.jobs} jobs."]
    return "\n".join(lines), overall


# ================================================================= a hand-made mutant, in memory
def try_edit(rel: str, old: str, new: str, pytest_args: list[str]) -> int:
    """Run pytest with ``old`` replaced by ``new`` in ``rel``, in this process only: the functions of
    the loaded module get the edited code, and no file changes.  The edit must keep the line count."""
    import pytest
    text = (ROOT / rel).read_text()
    if text.count(old) != 1:
        say(f"the text to replace occurs {text.count(old)} times in {rel}, not once")
        return 2
    edited = text.replace(old, new)
    if edited.count("\n") != text.count("\n"):
        say("the edit must keep the number of lines")
        return 2
    importlib.import_module(_module_name(rel))
    code = compile(edited, str(ROOT / rel), "exec")
    swapped = 0
    for (_, qualname, first), funcs in _live_functions([rel]).items():
        new_code = code_of(code, qualname, first)
        for f in funcs:
            if new_code is not None and new_code.co_code != f.__code__.co_code or \
                    new_code is not None and new_code.co_consts != f.__code__.co_consts:
                f.__code__ = new_code
                swapped += 1
    say(f"{rel}: {swapped} function(s) now run the edited code")
    if not swapped:
        return 2
    return int(pytest.main(["-p", "no:cacheprovider", *pytest_args]))


# ================================================================= main
def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--only", action="append", default=[], help="mutate only files under this path (repeatable)")
    p.add_argument("--sample", type=int, default=0, help="mutate a random sample of N mutants")
    p.add_argument("--seed", type=int, default=9, help="the sample's seed")
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--max-tests", type=int, default=40,
                   help="run at most N of the tests that reach a mutant, spread over test files (0: all)")
    p.add_argument("--timeout-factor", type=float, default=1.0, help="scale the per-test time limits")
    p.add_argument("--min-score", type=float, default=90.0)
    p.add_argument("--list", action="store_true", help="list the mutants and stop")
    p.add_argument("--show", type=int, action="append", default=[], help="print mutant ID's diff and stop")
    p.add_argument("--ids", type=str, default="", help="run only these mutant ids (comma separated)")
    p.add_argument("--remap", action="store_true", help="map every test again, even those unchanged")
    p.add_argument("--stale-map", action="store_true", help=argparse.SUPPRESS)   # reuse it anyway (tool work)
    p.add_argument("--map-only", metavar="OUT", help=argparse.SUPPRESS)   # then the test files to map
    p.add_argument("--try", dest="try_edit", nargs=3, metavar=("FILE", "OLD", "NEW"),
                   help="run the tests given after -- with OLD replaced by NEW in FILE, in memory only")
    argv = list(sys.argv[1:] if argv is None else argv)
    pytest_args = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[: argv.index("--")] if "--" in argv else argv
    args = p.parse_args(argv)
    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("OMP_NUM_THREADS", "1")

    if args.try_edit:
        return try_edit(*args.try_edit, pytest_args)
    files = target_files(args.only)
    if args.map_only:
        map_tests(target_files([]), Path(args.map_only), pytest_args or list(TEST_POOL))
        return 0
    say("")   # takes its copy of fd 2 before pytest captures it
    texts = {rel: (ROOT / rel).read_text() for rel in files}
    mutants = all_mutants(files, texts)
    if args.show:
        for i in args.show:
            m = next(m for m in mutants if m.id == i)
            print(f"#{m.id} {m.file}:{m.line} {m.unit}: {m.change}")
            print(show(m, texts[m.file]))
        return 0
    if args.list:
        for m in mutants:
            print(f"#{m.id:<5} {m.file}:{m.line}  {m.unit}: {m.change}")
        print(f"{len(mutants)} mutants")
        return 0
    if args.ids:
        wanted = {int(x) for x in args.ids.split(",") if x}
        mutants = [m for m in mutants if m.id in wanted]
    if args.sample and args.sample < len(mutants):
        rng = random.Random(args.seed)
        by_file = defaultdict(list)
        for m in mutants:
            by_file[m.file].append(m)
        share = args.sample / len(mutants)
        chosen = []
        for rel in sorted(by_file):
            group = by_file[rel]
            chosen += rng.sample(group, max(1, round(len(group) * share)))
        mutants = sorted(chosen, key=lambda m: m.id)

    started = time.monotonic()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    map_path = OUT_DIR / "map.json"
    mapping = json.loads(map_path.read_text()) if args.stale_map and map_path.exists() else \
        update_map(map_path, full=args.remap)
    if mapping is None:
        return 2
    failing = [t["nodeid"] for t in mapping["tests"] if not t["passed"]]

    import pytest
    runner = Runner(args, mutants, texts, mapping)
    pytest.main(["-q", "-p", "no:cacheprovider", "-p", "no:randomly", *TEST_POOL], plugins=[runner])
    if not runner.completed:
        say("the mutation run did not complete (see pytest's message above)")
        return 2
    extra = []
    if failing:
        extra.append(f"Tests that failed or were skipped in the map, left out: {len(failing)}")
    if runner.baseline_failures:
        extra.append(f"Tests that failed in the forked baseline, left out: {runner.baseline_failures}")
    text, overall = report(mutants, runner.outcomes, args, time.monotonic() - started, extra)
    (OUT_DIR / "report.txt").write_text(text + "\n")
    (OUT_DIR / "report.json").write_text(json.dumps(
        [{"id": m.id, "file": m.file, "line": m.line, "unit": m.unit, "change": m.change,
          **vars(runner.outcomes.get(m.id, Outcome("not-run")))} for m in mutants], indent=1))
    print(text)
    return 0 if overall >= args.min_score else 1


if __name__ == "__main__":
    try:
        code = main()
    finally:
        if _SAY is not None:
            _SAY.close()
    sys.exit(code)
