"""The live network of a document: the compiled module and its weights, the
device, the sample input, the last output, gradients and loss history.

The document is the graph; the session is what it compiles to, kept in step:
when the graph changes (not mere moves), the network is rebuilt and every
tensor keeps its value by node identity (:mod:`netstudio.tensor_keeper`), so
trained weights survive renames, reorderings and edits that are undone.  A big
graph is rebuilt once its edits pause instead (``SYNC_REBUILD_LIMIT``), and its app builds it
on a worker thread (``build_from``) while views show the network as last built (``network_now``).
Stored tensors that fit nowhere are kept too (:mod:`netstudio.unplaced`).
Panels read the session and follow its events.  Runs may happen on a worker
thread: ``lock`` guards the module, and saves take their copy of the weights
between two steps (:mod:`netstudio.weights_snapshot`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import torch
from psygnal import Signal, SignalGroup
from torch import nn
from torch.nn.parameter import is_lazy

from .compiler import compile_project
from .devices import move_to, replicate_for_all_gpus, resolve_device
from .analysis import CheckResult
from .errors import NetStudioError
from .gc_pause import gc_paused
from .files.weights_import import ImportReport, import_weights
from .graph import Document, Project
from .compiler.initialize import recorded_assignments
from .graph.module_paths import paths_of_node
from .init.assignments import DeferredInit, InitAssignment, apply_assignments, defer_until_materialized
from .params.direct_edits import DirectEdit
from .params.tree import ParamTree, build_param_tree
from .run import forward
from .run.modes import RunMode
from .tensor_keeper import Identity, TensorKeeper, tensor_identities, tensors_of
from .session_runs import SessionRuns
from .unplaced import UnplacedTensor, place, unplaced_after_import
from .weights_snapshot import SnapshotRequests, WeightsSnapshot

SYNC_REBUILD_LIMIT = 2_000
"""The most nodes (all definitions together) whose network is rebuilt inside each edit's document event.

Rebuilding compiles the whole graph: instant for a normal project, but seconds for 10,000 blocks, too long
for the GUI thread on every edit.  Above the limit an edit only makes the session stale (``went_stale``);
the app rebuilds once the edits pause, and whatever needs the network sooner gets it from ``ensure_built``.
Tests lower it to try the deferred path on a small project."""


@dataclass(frozen=True)
class BuildStamp:
    """Which version of the document a snapshot shows, as far as building is concerned: a network built
    from the snapshot is installed only while the document still has this stamp (see ``build_from``)."""

    generation: int   # the document's graph_generation
    recipe: int       # counts changes of initializer settings (a node's, the project's initializers and edits)


@dataclass
class _Compiled:
    """A network compiled from a project (or why none could be), not installed yet."""

    module: nn.Module | None
    error: Exception | None
    skipped: list[str] = field(default_factory=list)
    identities: dict[str, Identity] = field(default_factory=dict)


@dataclass(frozen=True)
class AppliedInitializer:
    """What ``apply_initializer`` did: the values before, and the pending lazy part."""

    before: dict[str, torch.Tensor]
    deferred: DeferredInit
    index: int


class SessionEvents(SignalGroup):
    rebuilt = Signal()                  # a new module replaced the old one (or none could be built)
    weights_changed = Signal(object)    # names of changed tensors, or None for "any"
    device_changed = Signal(str)
    ran = Signal(str)                   # "forward", "backward" or "train"
    went_stale = Signal()               # an edit left a big network to rebuild later (see SYNC_REBUILD_LIMIT)
    wanted = Signal()                   # a view asked for a big network never built yet (see network_now)


class NetworkSession(SessionRuns):
    def __init__(self, document: Document, weights: dict[str, torch.Tensor] | None = None):
        self.document = document
        self.events = SessionEvents()
        self.lock = threading.RLock()
        self.device = torch.device("cpu")
        self.error: str | None = None
        self.skipped: list[str] = []   # recorded initializers/edits that no longer apply to the graph
        self.last_mode: RunMode | None = None   # the mode of the last forward, backward or training run
        self.weights_version = 0       # counts weight changes, so autosave writes them only when they moved
        self.events.weights_changed.connect(self._count_weights_change)
        self._deferred: tuple[nn.Module, bool] | None = None   # deferred_now's answer for one module
        self._tree: tuple[nn.Module, int, str, ParamTree] | None = None   # tree()'s answer, made by build_from
        self.input: torch.Tensor | None = None
        self.output: torch.Tensor | None = None
        self.gradients: dict[str, torch.Tensor] = {}
        self.losses: list[float] = []
        self.weights_modified = weights is not None
        self._module: nn.Module | None = None
        self._last_good: nn.Module | None = None   # kept while the graph is invalid, for its weights
        self._built_generation: int | None = None   # the document's graph_generation the module was built at
        self._built_seed: int | None = None
        self._pending_weights = weights
        self._identities: dict[str, Identity] = {}     # of the current (or last good) module's tensors
        self.keeper = TensorKeeper()
        self.unplaced: dict[str, UnplacedTensor] = {}  # stored tensors that fit nowhere, kept until discarded
        self._snapshots = SnapshotRequests()
        self._recipe = 0                # see BuildStamp
        self._building = False          # build_from holds the lock
        self._missed_inits: set[tuple[str, str]] = set()   # node initializer changes build_from kept out
        document.events.changed.connect(self._on_document_changed)
        document.events.reset.connect(self._on_document_changed)
        document.events.node_changed.connect(self._on_node_changed)
        document.events.settings_changed.connect(self._on_settings_changed)

    def _count_weights_change(self, *_) -> None:
        self.weights_version += 1
        self._deferred = None   # a first forward materializes lazy layers, and says so through this event

    def start_over(self, weights: dict[str, torch.Tensor] | None = None,
                   unplaced: dict[str, torch.Tensor] | None = None) -> None:
        """Forget the current network before another project replaces the document's (open, new, revert).

        The next build keeps nothing from the old network and takes ``weights``
        (those stored in the opened file) instead; ``unplaced`` are the file's
        tensors that fit nowhere when it was saved, tried again at each build.
        """
        with self.lock:
            self._module, self._last_good, self._built_generation = None, None, None
            self._identities = {}
            self.keeper = TensorKeeper()
            self._pending_weights = weights
            self.unplaced = {name: UnplacedTensor(t, "it did not fit when the file was saved")
                             for name, t in (unplaced or {}).items()}
            self.weights_modified = weights is not None or bool(unplaced)
            self.input = self.output = None
            self.gradients, self.losses = {}, []

    def state(self) -> dict[str, Any]:
        """Everything ``start_over`` replaces, for ``restore_state`` if opening another project fails."""
        with self.lock:
            return dict(vars(self))

    def restore_state(self, state: dict[str, Any]) -> None:
        with self.lock:
            vars(self).update({k: v for k, v in state.items()
                               if k not in ("lock", "document", "events", "_recipe", "_building", "_missed_inits")})
        self.events.rebuilt.emit()

    def close(self) -> None:
        """Stop following the document (the app calls this when a window closes)."""
        self.document.events.changed.disconnect(self._on_document_changed)
        self.document.events.reset.disconnect(self._on_document_changed)
        self.document.events.node_changed.disconnect(self._on_node_changed)
        self.document.events.settings_changed.disconnect(self._on_settings_changed)

    # -- the module --------------------------------------------------------------------
    @property
    def module(self) -> nn.Module | None:
        """The network as last built (None before the first build, or when invalid: see ``error``).
        Reading it never builds; ``ensure_built`` does."""
        return self._module

    @property
    def stale(self) -> bool:
        """Whether the graph changed since the network was built (say, during a run)."""
        return self._built_generation != self.document.graph_generation

    def ensure_built(self) -> nn.Module | None:
        """The network for the graph as it is now: rebuilt first if the graph changed since (after the build
        another thread may be running, which is then not repeated)."""
        if self.stale:
            with self.lock:
                if self.stale:
                    self.rebuild()
        return self._module

    @property
    def big(self) -> bool:
        """Whether the graph has more than ``SYNC_REBUILD_LIMIT`` nodes: building takes seconds."""
        return sum(len(d.nodes) for d in self.document.project.definitions.values()) > SYNC_REBUILD_LIMIT

    @property
    def pending(self) -> bool:
        """A big graph whose network is out of date: views show it as last built (``network_now``) while
        the app builds it on a worker thread."""
        return self.stale and self.big

    def network_now(self) -> nn.Module | None:
        """The network for views, never built on the calling thread for a big graph: up to date for a small
        one (as ``ensure_built``); for a big one ``module`` as last built (None before its first build, for
        which ``wanted`` asks the owner to build it off the GUI thread; later edits say ``went_stale``)."""
        if not self.stale:
            return self._module
        if not self.big:
            return self.ensure_built()
        if self._built_generation is None:
            self.events.wanted.emit()
        return self._module

    def stamp(self) -> BuildStamp:
        """The document's version for ``build_from``; taken with the snapshot, on the thread that edits."""
        return BuildStamp(self.document.graph_generation, self._recipe)

    def rebuild(self) -> None:
        """Compile the graph again; every tensor keeps its value by node identity, and the values of
        removed or resized blocks are kept for undo (see :mod:`netstudio.tensor_keeper`).

        Never raises: a failure leaves ``module`` None and says why in ``error``, and
        the last good network is kept so its weights come back once the graph is valid
        again (an edge re-routed through a moment of invalid graph loses nothing).
        A new project seed draws everything afresh (the old values stay kept, for undo).
        """
        with self.lock, gc_paused():
            project = self.document.project
            generation = self.document.graph_generation
            self._install(self._compile(project), project, generation)
        self.events.rebuilt.emit()

    def build_from(self, project: Project, stamp: BuildStamp, result: CheckResult | None = None) -> bool:
        """``rebuild`` for a worker thread: build from ``project``, an immutable snapshot of the document
        taken at ``stamp`` (``result``, its check, spares checking it again), and install the network as
        ``rebuild`` does, provided the document still has that stamp afterwards; else change nothing.
        True when installed.  The owner asks again while the session is ``stale``.

        It holds ``lock`` throughout, as a run does: nothing else uses the network or the global random
        generator (seeded builds draw from it) meanwhile; the GUI thread only ever tries the lock, and
        ``ensure_built`` waits for this build instead of repeating it.  A node's initializer setting
        changed meanwhile is applied afterwards by ``apply_missed_inits``."""
        installed = False
        with self.lock:
            if stamp != self.stamp() or not self.stale:
                return False
            self._building = True
            try:
                with gc_paused():
                    compiled = self._compile(project, result)
                    if stamp == self.stamp():
                        self._install(compiled, project, stamp.generation)
                        installed = True
                        module = self._module
                        if module is not None:   # what views read first: made here, not on their thread
                            self._tree = (module, self.weights_version, str(self.device), build_param_tree(module))
            finally:
                self._building = False
                self._serve_snapshots()   # a save asked for the weights meanwhile
        if installed:
            self.events.rebuilt.emit()
        return installed

    def _compile(self, project: Project, result: CheckResult | None = None) -> _Compiled:
        """The network of ``project`` on ``device``, not yet installed; touches nothing of the session's."""
        try:
            skipped: list[str] = []
            module = compile_project(project, device=self.device, result=result, skipped=skipped)
            return _Compiled(module, None, skipped, tensor_identities(project, tensors_of(module)))
        except Exception as err:  # reported by _install
            return _Compiled(None, err)

    def _install(self, compiled: _Compiled, project: Project, generation: int) -> None:
        """Make ``compiled`` the network (holding ``lock``), carrying values over from the one it replaces."""
        old = self._module or self._last_good
        try:
            if compiled.error is not None:
                raise compiled.error
            module, identities = compiled.module, compiled.identities
            self.skipped = compiled.skipped
            if (old is not None and not all(is_lazy(t) for t in tensors_of(old).values())) or len(self.keeper):
                self._materialize(module)
                filled = self.keeper.carry_over(old, self._identities, self._built_seed, module, identities,
                                                project.seed)
                fresh = set(tensors_of(module)) - filled
            else:
                fresh = set(tensors_of(module))
            if self._pending_weights is not None:
                self._materialize(module)
                state = self._pending_weights
                report = import_weights(module, state, strict=False)
                self.unplaced.update(unplaced_after_import(report, state))
                self._pending_weights = None
            elif self.unplaced:
                self._materialize(module)
                self.unplaced = place(module, self.unplaced, tensors_of(module), fresh)
        except Exception as err:  # a rebuild runs inside document events: it must never raise
            self._module, self._last_good = None, old
            self.error = str(err) if isinstance(err, NetStudioError) else \
                f"The network cannot be built: {type(err).__name__}: {err}."
        else:
            self._module, self._last_good, self.error = module, None, None
            self._built_seed, self._identities = project.seed, identities
        self._built_generation = generation
        self.output, self.gradients = None, {}

    @property
    def notices(self) -> list[str]:
        """Sentences about what could not be applied or kept: recorded initializers or edits that no
        longer fit, stored tensors that fit nowhere, values not kept for undo."""
        return [*self.skipped, *(u.describe(name) for name, u in self.unplaced.items()), *self.keeper.dropped]

    def discard_unplaced(self) -> dict[str, UnplacedTensor]:
        """The user's Discard: forget the stored tensors that fit nowhere; returns them, for undo."""
        with self.lock:
            gone, self.unplaced = self.unplaced, {}
        self.events.rebuilt.emit()
        return gone

    def restore_unplaced(self, unplaced: dict[str, UnplacedTensor]) -> None:
        with self.lock:
            self.unplaced = {**unplaced, **self.unplaced}
        self.events.rebuilt.emit()

    def _on_document_changed(self) -> None:
        """Keep a built network in step with the graph (a network never built waits for ``ensure_built``);
        a big one only goes stale, and says so, for its owner to ``catch_up`` when the edits pause."""
        if self._built_generation is None or not self.stale:
            return
        if self.big:
            self.events.went_stale.emit()
            return
        self.catch_up()

    def catch_up(self) -> bool:
        """Rebuild a built network the graph has left behind (one never built still waits for
        ``ensure_built``).  Never waits for a run holding the network, as the GUI thread calls it:
        False then, and ``ensure_built`` after the run rebuilds it."""
        if self._built_generation is None or not self.stale:
            return True
        if not self.lock.acquire(blocking=False):
            return False
        try:
            self.rebuild()
        finally:
            self.lock.release()
        return True

    def _on_node_changed(self, definition: str, node_id: str, field: str) -> None:
        """A node's own initializer settings changed: apply them to the live network now."""
        if field != "init":
            return
        self._recipe += 1
        if self._module is None:
            return
        if not self.lock.acquire(blocking=False):
            if self._building:
                self._missed_inits.add((definition, node_id))
            return
        try:
            self._apply_node_init(definition, node_id)
        finally:
            self.lock.release()
        self.events.weights_changed.emit(None)

    def _apply_node_init(self, definition: str, node_id: str) -> None:
        module = self._module
        if module is None:
            return
        try:
            project = self.document.project
            paths = set(paths_of_node(project, definition, node_id))
            seed = project.seed or 0
            for index, assignment in enumerate(recorded_assignments(project)):
                target = assignment.scope.param or ""
                if target.rpartition(".")[0] in paths or ("" in paths and "." not in target):
                    apply_assignments(module, [assignment], seed, first_index=index)
                    defer_until_materialized(module, [assignment], seed, first_index=index)
        except NetStudioError as err:
            self.error = str(err)

    def apply_missed_inits(self) -> bool:
        """Apply the node initializer settings changed while ``build_from`` held the network (on the thread
        that edits, after the build).  False when something holds the network still: ask again later."""
        if not self._missed_inits:
            return True
        if not self.lock.acquire(blocking=False):
            return False
        try:
            missed, self._missed_inits = self._missed_inits, set()
            project = self.document.project
            for definition, node_id in sorted(missed):
                if definition in project.definitions and node_id in project.definitions[definition].nodes:
                    self._apply_node_init(definition, node_id)
        finally:
            self.lock.release()
        self.events.weights_changed.emit(None)
        return True

    def _on_settings_changed(self, key: str) -> None:
        if key in ("initializers", "edits"):
            self._recipe += 1

    def tree(self) -> ParamTree | None:
        module = self.ensure_built()
        if module is None:
            return None
        known = self._tree   # made by build_from; shapes change only with weights_changed (a first forward)
        if known is not None and known[0] is module and known[1:3] == (self.weights_version, str(self.device)):
            return known[3]
        self._tree = None
        return build_param_tree(module)

    @property
    def deferred_now(self) -> bool:
        """Whether the current network still waits for its first forward; never builds anything.

        Asked once per block by the canvas, so the answer is kept for the module until weights change
        (a first forward materializes lazy layers and emits ``weights_changed``)."""
        module = self._module
        if module is None:
            return True
        known = self._deferred
        if known is not None and known[0] is module:
            return known[1]
        deferred = any(is_lazy(t) for t in tensors_of(module).values())
        self._deferred = (module, deferred)
        return deferred

    @property
    def materialized(self) -> bool:
        module = self.ensure_built()
        return module is not None and not any(is_lazy(t) for t in tensors_of(module).values())

    # -- weights ------------------------------------------------------------------------
    def apply_initializer(self, assignment: InitAssignment) -> AppliedInitializer:
        """Record the assignment in the project and apply it now.

        Parameters not created yet (lazy modules) get their values at the first forward pass;
        the returned ``deferred`` handle cancels that (undo), and ``index`` (the assignment's
        place in the replayed list, which seeds its draws) lets redo register it again.
        """
        with self.lock:
            module = self._require()
            project = self.document.project
            before = self.snapshot_tensors()
            index = len(recorded_assignments(project))
            seed = project.seed or 0
            apply_assignments(module, [assignment], seed, first_index=index)
            deferred = defer_until_materialized(module, [assignment], seed, first_index=index)
            if project.edits:
                self.weights_modified = True   # replay puts edits after every initializer: save the values
            self.document.set_setting("initializers", project.initializers + [assignment.to_dict()])
        self.events.weights_changed.emit(None)
        return AppliedInitializer(before, deferred, index)

    def defer_initializer(self, assignment: InitAssignment, index: int) -> DeferredInit:
        """Register again the deferred part of an initializer recorded at ``index`` (redo)."""
        with self.lock:
            return defer_until_materialized(self._require(), [assignment], self.document.project.seed or 0,
                                            first_index=index)

    def apply_edit(self, edit: DirectEdit) -> dict[str, torch.Tensor]:
        with self.lock:
            module = self._require()
            before = self.snapshot_tensors([edit.name])
            edit.apply(module)
            self.document.set_setting("edits", self.document.project.edits + [edit.to_dict()])
            self.weights_modified = True
        self.events.weights_changed.emit((edit.name,))
        return before

    def snapshot_tensors(self, names: list[str] | None = None) -> dict[str, torch.Tensor]:
        module = self._require()
        tensors = tensors_of(module)
        return {k: v.detach().clone() for k, v in tensors.items()
                if (names is None or k in names) and not is_lazy(v)}

    def restore_tensors(self, values: dict[str, torch.Tensor]) -> None:
        """Put back values from ``snapshot_tensors`` (undo of an initializer or edit)."""
        with self.lock:
            module = self._require()
            tensors = tensors_of(module)
            with torch.no_grad():
                for name, value in values.items():
                    if name in tensors and not is_lazy(tensors[name]) and tensors[name].shape == value.shape:
                        tensors[name].copy_(value)
        self.events.weights_changed.emit(tuple(values))

    def import_weights(self, source: Any, strict: bool = False) -> ImportReport:
        with self.lock:
            module = self._require()
            self._materialize(module)
            report = import_weights(module, source, strict=strict)
            self.weights_modified = True
        self.events.weights_changed.emit(None)
        return report

    def weights_for_saving(self) -> dict[str, torch.Tensor] | None:
        """The state_dict to store in the project file, or None when the seed reproduces it.

        Call it while holding ``lock`` (or use ``request_snapshot``).  It never rebuilds:
        while the graph is invalid, or changed during a run, the live (or last good)
        network's weights, or those still waiting to be loaded, are saved, so a save
        never drops trained weights; tensors that fit nowhere then stay unplaced.
        """
        if not self.weights_modified:
            return None
        if self._pending_weights is not None:
            return dict(self._pending_weights)
        module = self._module or self._last_good
        if module is None or any(is_lazy(t) for t in tensors_of(module).values()):
            return None
        return {k: v.detach() for k, v in module.state_dict().items()}

    def request_snapshot(self):
        """A ``concurrent.futures.Future`` of a consistent :class:`WeightsSnapshot` (copies): at once when
        nothing holds the network, else at the end of the running step."""
        return self._snapshots.request(self.lock, self._take_snapshot)

    def _take_snapshot(self) -> WeightsSnapshot:
        weights = self.weights_for_saving()
        copies = {k: v.detach().clone() for k, v in weights.items()} if weights is not None else None
        return WeightsSnapshot(copies, {name: u.tensor for name, u in self.unplaced.items()})

    def _serve_snapshots(self) -> None:
        """The weights are whole now (between steps, or a run ends): answer waiting saves."""
        if self._snapshots.pending:
            self._snapshots.serve(self._take_snapshot)

    def _runner(self, module: nn.Module) -> nn.Module:
        """What runs the network: on a GPU with others beside it, a replica on each of them
        (the seed's MirroredStrategy, as nn.DataParallel); otherwise the network itself."""
        return replicate_for_all_gpus(module) if self.device.type == "cuda" else module

    def _materialize(self, module: nn.Module) -> None:
        """Give lazy modules their shapes (and their recorded initialization) with one forward on zeros,
        so that weights loaded afterwards are not overwritten by first-forward initialization."""
        if not any(is_lazy(t) for t in tensors_of(module).values()):
            return
        example = self.example_shape()
        if example is None:
            return
        with torch.no_grad():
            forward(module, torch.zeros(example[0], dtype=example[1], device=self.device))

    # -- devices ------------------------------------------------------------------------
    def move_to(self, device: str | torch.device) -> None:
        target = resolve_device(device)
        with self.lock:
            if self._module is not None:
                self._module, self.input = move_to(self._module, target, self.input)
            elif self.input is not None:
                self.input = self.input.to(target)
            self.device = target
            self.output, self.gradients = None, {}
        self.events.device_changed.emit(str(target))
