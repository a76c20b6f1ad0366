"""The mutants marked equivalent: pure data, kept apart from the tool's code because it is long and
grows as mutants are examined.  A mutant whose key is here is listed with the reason and not counted."""

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
    ('netstudio/analysis/shapes.py', 'ShapeInference._infer_code', 8, 'remove `return _CODE_CACHE[key]`'):
        'without the cached answer the same inference runs again and gives the same NodeInfo',
    ('netstudio/analysis/shapes.py', 'ShapeInference.infer', 38, 'not info.inputs and ins  ->  not info.inputs or ins'):
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
    ('netstudio/analysis/shapes.py', 'ShapeInference._infer_code', 6, 'True  ->  False'):
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
    ('netstudio/compiler/build.py', '_Builder._graph', 37, 'remove `continue`'):
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
    ('netstudio/analysis/shapes.py', 'ShapeInference._name', 2, 'remove `return node.name`'):
        "a graph node's effective name is its own name: the longer way round gives the same",
    ('netstudio/analysis/shapes.py', 'ShapeInference._infer_code', 33, 'not isinstance(results, (tuple, list)) or len(results) != len(outpu...  ->  not isinstance(results, (tuple, list)) and len(results) != len(outp...'):
        "several output ports come from a tuple written in every return, so the result is a tuple of that length",
}
