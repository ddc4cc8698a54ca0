"""Runs a Pulumi program under the mock engine and records every registration.

The planner and the tests share this harness, so what the planner shows is what the
tests assert on. Options that `Mocks.new_resource` never sees (parent, protect,
retainOnDelete, dependencies) are read from the register request itself.
"""

import asyncio
import gc
import json
import runpy
import sys
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pulumi
from pulumi.runtime import config as runtime_config
from pulumi.runtime import rpc, settings
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.stack import Stack
from pulumi.runtime.sync_await import _ensure_event_loop

from mlinfra.planner import plan_cache
from mlinfra.planner.mock_cloud import ArmMocks
from mlinfra.planner.stack_references import (
    ReferenceNotPlanned,
    StackReferenceError,
    named_references,
    plan_missing,
    referenced_outputs,
    references_current,
)
from mlinfra.planner.stackfile import SECRET_PLACEHOLDER, StackConfig, StackFileError, load_stack_config

_SECRET_SIG = rpc._special_secret_sig
_RESOURCE_SIG = rpc._special_resource_sig
_UNKNOWN = rpc.UNKNOWN


@dataclass
class Resource:
    """One registration, in the shape of the planner's JSON contract."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str | None
    inputs: dict[str, Any]
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool = False
    replace_on_changes: list[str] = field(default_factory=list)
    ignore_changes: list[str] = field(default_factory=list)
    additional_secret_outputs: list[str] = field(default_factory=list)
    provider: str | None = None
    """URN of the explicit provider the resource uses; None for a default provider (or a component)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "custom": self.custom,
            "parent": self.parent,
            "inputs": self.inputs,
            "dependencies": self.dependencies,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "deleteBeforeReplace": self.delete_before_replace,
            "replaceOnChanges": self.replace_on_changes,
            "ignoreChanges": self.ignore_changes,
            "additionalSecretOutputs": self.additional_secret_outputs,
            "provider": self.provider,
        }


@dataclass
class Plan:
    project: str
    stack: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    lookups: list[dict[str, Any]] = field(default_factory=list)
    """Invokes the program made: {"token", "args", "result"} (mocked answers; not in the JSON)."""
    references: dict[str, str] = field(default_factory=dict)
    """Stack references the run answered: name as the program wrote it -> plan key of the plan
    that answered it. The plan cache checks them before it hands this plan out again (not in
    the JSON)."""

    def of_type(self, type_: str) -> list[Resource]:
        return [resource for resource in self.resources if resource.type == type_]

    def one(self, type_: str) -> Resource:
        found = self.of_type(type_)
        if len(found) != 1:
            raise AssertionError(f"expected one {type_}, found {len(found)}")
        return found[0]

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> "Plan":
        """The Plan `dataclasses.asdict` turned into `stored` (the plan cache's entries)."""
        resources = [Resource(**resource) for resource in stored["resources"]]
        return cls(
            stored["project"],
            stored["stack"],
            resources,
            stored["outputs"],
            stored["lookups"],
            dict(stored.get("references", {})),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "version": 1,
            "project": self.project,
            "stack": self.stack,
            "resources": [resource.to_json() for resource in self.resources],
            "outputs": self.outputs,
        }


DISABLE_DEFAULT_PROVIDERS = "pulumi:disable-default-providers"
"""Stack config key: packages whose default provider the engine refuses (`*` for all), pulumi/pulumi#8829."""


class DefaultProviderDisabled(Exception):
    """A resource or invoke of a package whose default provider is disabled names no explicit provider."""


def disabled_default_providers(values: dict[str, str]) -> frozenset[str]:
    """The packages listed under `pulumi:disable-default-providers` (the engine gets it as a JSON list)."""
    raw = values.get(DISABLE_DEFAULT_PROVIDERS)
    if not raw:
        return frozenset()
    try:
        packages = json.loads(raw)
    except json.JSONDecodeError:
        packages = None
    if not isinstance(packages, list) or not all(isinstance(p, str) for p in packages):
        raise StackFileError(f"{DISABLE_DEFAULT_PROVIDERS}: expected a list of package names, got {raw!r}")
    return frozenset(packages)


class RecordingMonitor(MockMonitor):
    """A MockMonitor that keeps each register request's inputs and options, and refuses, as the
    engine does, a default provider the stack config disables."""

    def __init__(self, mocks: pulumi.runtime.Mocks):
        super().__init__(mocks)
        self.registrations: list[Resource] = []
        self.lookups: list[dict[str, Any]] = []
        self.disabled_providers: frozenset[str] = frozenset()
        """Packages whose default provider is refused; `record` sets it from the stack config."""
        self.refusals: list[str] = []

    def _require_explicit_provider(self, token: str, provider: str, what: str) -> None:
        package = token.split(":", 1)[0]
        if provider or package == "pulumi" or not self.disabled_providers & {package, "*"}:
            return
        message = (
            f"Default provider for '{package}' disabled ({DISABLE_DEFAULT_PROVIDERS}). "
            f"{what} '{token}' must use an explicit provider."
        )
        self.refusals.append(message)
        raise DefaultProviderDisabled(message)

    def Invoke(self, request):
        self._require_explicit_provider(request.tok, request.provider, "invoke")
        response = super().Invoke(request)
        self.lookups.append(
            {
                "token": request.tok,
                "args": redact(rpc.deserialize_properties(request.args)),
                "result": redact(rpc.deserialize_properties(getattr(response, "return"))),
            }
        )
        return response

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them: the parent's whole qualified type, and none for
        children of the root stack (MockMonitor keeps only the parent's last type)."""
        parent_type = parent.split("::")[2] if parent else ""
        if parent_type and parent_type != "pulumi:pulumi:Stack":
            type_ = f"{parent_type}${type_}"
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{type_}::{name}"

    def ReadResource(self, request):
        self._require_explicit_provider(request.type, request.provider, f"resource {request.name}")
        # A read (a StackReference, a `get`) creates nothing, but the plan shows where values came from.
        self.registrations.append(
            Resource(
                urn=self.make_urn(request.parent, request.type, request.name),
                type=request.type,
                name=request.name,
                custom=True,
                parent=request.parent or None,
                inputs={"id": request.id},
                dependencies=sorted(set(request.dependencies)),
                protect=False,
                retain_on_delete=False,
                provider=provider_urn(request.provider),
            )
        )
        return super().ReadResource(request)

    def RegisterResource(self, request):
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.custom:
            self._require_explicit_provider(request.type, request.provider, f"resource {request.name}")
        self.registrations.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent or None,
                inputs=redact(rpc.deserialize_properties(request.object, keep_unknowns=True)),
                dependencies=sorted(set(request.dependencies)),
                protect=bool(request.protect),
                retain_on_delete=bool(request.retainOnDelete),
                delete_before_replace=bool(request.deleteBeforeReplace),
                replace_on_changes=sorted(request.replaceOnChanges),
                ignore_changes=sorted(request.ignoreChanges),
                additional_secret_outputs=sorted(request.additionalSecretOutputs),
                provider=provider_urn(request.provider),
            )
        )
        return super().RegisterResource(request)


def provider_urn(reference: str) -> str | None:
    """The URN in a provider reference (`<urn>::<id>`); None when the request names no provider."""
    return reference.rsplit("::", 1)[0] if reference else None


def redact(value: Any) -> Any:
    """Wire values as a reader should see them: secrets as "[secret]", references as URNs, keys sorted."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == _SECRET_SIG:
            return SECRET_PLACEHOLDER
        if value.get(rpc._special_sig_key) == _RESOURCE_SIG:
            return value.get("urn")
        return {key: redact(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [redact(item) for item in value]
    if value == _UNKNOWN:
        return "[unknown]"
    if isinstance(value, float) and value.is_integer():
        return int(value)  # the wire has only floats; 7.0 was an int in the program
    return value


MAX_RUNS = 16
"""Runs of one program at most: each run after the first follows the planning of a stack it
referenced and found no plan of (`mlinfra.planner.stack_references`)."""


def record(program: Callable[[], None], config: StackConfig) -> Plan:
    """Run `program` as stack `config.stack` under the mock engine and return what it registered.

    Exceptions the program raises propagate; a ConfigError's problems are set against the files
    `config` came from (which the program, run without the CLI, cannot know). Stack
    references are answered by planning the referenced stack of the program's project
    (`mlinfra.planner.stack_references`); one that cannot be raises `StackReferenceError`. A run that
    referenced a stack with no plan at hand is run again once that stack is planned.
    """
    _plan_named_references(program, config)
    for _ in range(MAX_RUNS):
        try:
            return _record_run(program, config)
        except ReferenceNotPlanned as missing:
            plan_missing(missing, plan_config)
        except Exception as error:
            if hasattr(error, "sources"):  # a ConfigError: name the files this config came from
                error.sources = config.sources  # type: ignore[attr-defined]
            raise
    raise StackReferenceError(
        f"stack {config.stack}: still referencing unplanned stacks after {MAX_RUNS} runs"
    )


def _plan_named_references(program: Callable[[], None], config: StackConfig) -> None:
    """Plan first the stacks the config names by their full name, so that the program's first run
    finds them planned instead of finishing a run only to be run again (docs/benchmarks.md,
    "Planner against the floor"). Only a head start: what the run references is still what counts,
    and a name that is no reference, or fails, is left to the run to report."""
    project_dir = getattr(program, "project_dir", DEFAULT_PROJECT_DIR)
    beside = config.source.parent if config.source is not None else None
    for name in named_references(config.values, config.project):
        try:
            referenced_outputs(project_dir, name, config.stack, beside)
        except ReferenceNotPlanned as missing:
            with suppress(Exception):  # the program's own run reports it, in its own words
                plan_missing(missing, plan_config)
        except Exception:  # not one of this project's stacks after all, or a cycle: the run says so
            continue


def _record_run(program: Callable[[], None], config: StackConfig) -> Plan:
    """One run of `program` (see `record`)."""
    project_dir = getattr(program, "project_dir", DEFAULT_PROJECT_DIR)
    beside = config.source.parent if config.source is not None else None
    answered: dict[str, str] = {}  # the references this run answered, for the plan cache
    mocks = ArmMocks(
        config.values, lambda name: referenced_outputs(project_dir, name, config.stack, beside, answered)
    )
    monitor = RecordingMonitor(mocks)
    monitor.disabled_providers = disabled_default_providers(config.values)
    _ensure_event_loop().set_exception_handler(quiet_unread_errors)  # the loop the SDK runs on
    settings.ROOT.set(None)  # a fresh root stack per run, so exports don't leak between runs
    runtime_config.set_all_config(dict(config.values), list(config.secret_keys))
    pulumi.runtime.set_mocks(
        mocks, project=config.project, stack=config.stack, preview=False, monitor=monitor
    )
    outputs: dict[str, Any] = {}

    async def collect_outputs(exported: dict[str, Any]) -> None:
        for name, value in exported.items():
            output = pulumi.Output.from_input(value)
            secret = await output.is_secret()
            outputs[name] = SECRET_PLACEHOLDER if secret else redact(await output.future())

    async def finish(result: Any) -> None:
        if result is not None:  # a test program may return an Output or awaitable to wait for
            await pulumi.Output.from_input(result).future()
        root = settings.get_root_resource()  # the Stack, which holds what pulumi.export registered
        await collect_outputs(dict(root.outputs) if isinstance(root, Stack) else {})

    def run() -> Awaitable[None]:
        return finish(program())

    # pulumi.runtime.test runs the returned awaitable to completion and returns nothing; its
    # functools.wraps makes a type checker see `run`'s own (awaitable) return type instead.
    in_mock_engine = cast(Callable[[], None], pulumi.runtime.test(run))
    try:
        with fewer_collections():
            in_mock_engine()
    except Exception:
        if not monitor.refusals and not mocks.reference_errors:
            raise
    # Reported here whatever the SDK made of the refusal (an invoke's error can end up in an
    # output nobody awaits, or wrapped in another exception); this program's own refusal comes
    # before what its stack references met.
    if monitor.refusals:
        raise DefaultProviderDisabled("; ".join(dict.fromkeys(monitor.refusals)))
    if mocks.reference_errors:
        # A reference that cannot be answered outranks one that is only not planned yet.
        unanswerable = [e for e in mocks.reference_errors if not isinstance(e, ReferenceNotPlanned)]
        first = (unanswerable or mocks.reference_errors)[0]
        raise first if isinstance(first, StackReferenceError) else StackReferenceError(str(first))
    plan = Plan(
        project=config.project,
        stack=config.stack,
        outputs=dict(sorted(outputs.items())),
        lookups=monitor.lookups,
        references=dict(sorted(answered.items())),
    )
    plan.resources = canonical_order(monitor.registrations)
    return plan


def quiet_unread_errors(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The event loop's exception handler while the planner runs programs: the failures of a run
    that stopped at its first error are not logged again when their futures are freed.

    A run refused by config leaves SDK futures holding errors nobody reads; each one's finalizer
    would log "... exception was never retrieved" with a traceback, whenever the collector frees
    it, and on Python 3.11 formatting that traceback inside another `ast.parse` fails that parse
    (SystemError). The error that matters has reached `record`'s caller already."""
    if str(context.get("message", "")).endswith("exception was never retrieved"):
        return
    loop.default_exception_handler(context)


GC_THRESHOLDS = (50_000, 10, 10)
"""The cyclic collector's thresholds while a program runs (Python's default is (700, 10, 10))."""


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the program with the objects that already exist frozen and young collections rarer.

    A plan allocates a few hundred thousand short-lived SDK objects (Outputs, futures, tasks) next
    to the million the provider SDKs' modules hold; with the default thresholds the collector's
    passes cost about 40% of a plan (docs/benchmarks.md, "Garbage collection"). Frozen objects are
    never scanned; both settings are put back afterwards, so nothing outlives the run.
    """
    thresholds = gc.get_threshold()
    frozen_by_caller = gc.get_freeze_count() > 0  # then theirs to undo, not ours
    if not frozen_by_caller:
        gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        # The run's garbage goes now (about 0.1 s; the frozen heap is not scanned), not at some
        # later allocation: the finalizers of the SDK's unretrieved futures log tracebacks, and
        # Python 3.11 formatting one inside another `ast.parse` fails that parse (SystemError).
        gc.collect()
        gc.set_threshold(*thresholds)
        if not frozen_by_caller:
            gc.unfreeze()


def canonical_order(resources: list[Resource]) -> list[Resource]:
    """Parents before children; siblings by dependency depth, then name. A component sits at
    the depth of its shallowest child, so it follows what its children wait for.

    Registrations arrive in whatever order outputs resolve; this order does not depend on
    it, so two runs print byte-identical plans.
    """
    by_urn = {resource.urn: resource for resource in resources}
    depth: dict[str, int] = {}

    def level(urn: str) -> int:
        if urn not in depth:
            depth[urn] = 0  # guards against cycles, which Pulumi forbids anyway
            deps = [dep for dep in by_urn[urn].dependencies if dep in by_urn]
            depth[urn] = 1 + max((level(dep) for dep in deps), default=-1)
        return depth[urn]

    children: dict[str | None, list[Resource]] = {}
    for resource in resources:
        parent = resource.parent if resource.parent in by_urn else None
        children.setdefault(parent, []).append(resource)

    def rank(resource: Resource) -> int:
        kids = children.get(resource.urn)
        return min(rank(kid) for kid in kids) if kids and not resource.custom else level(resource.urn)

    ordered: list[Resource] = []

    def visit(parent: str | None) -> None:
        for child in sorted(children.get(parent, []), key=lambda r: (rank(r), r.name, r.urn)):
            ordered.append(child)
            visit(child.urn)

    visit(None)
    return ordered


DEFAULT_PROJECT_DIR = Path(__file__).resolve().parents[2]
"""Where stack references of an ad-hoc program (a test's) are looked up: this project."""


def main_program(project_dir: Path) -> Callable[[], None]:
    """The project's real `__main__.py`, as a program `record` can run."""
    if str(project_dir) not in sys.path:
        sys.path.insert(0, str(project_dir))

    def program() -> None:
        runpy.run_path(str(project_dir / "__main__.py"), run_name="__main__")

    program.project_dir = project_dir  # type: ignore[attr-defined]  # stack references resolve here
    return program


def plan_stack(project_dir: Path, stack: str, config_file: Path | None = None) -> Plan:
    """Plan the project's real `__main__.py` with the stack's real config file (or `config_file`)."""
    return plan_config(project_dir, load_stack_config(project_dir, stack, config_file))


def plan_config(project_dir: Path, config: StackConfig) -> Plan:
    """Plan the project's real `__main__.py` with `config`; a plan of the same inputs made before
    is read from the plan cache (`mlinfra.planner.plan_cache`)."""
    directory = plan_cache.cache_dir(project_dir)
    key = plan_cache.plan_key(project_dir, config)
    stored = plan_cache.load(directory, key)
    if stored is not None and references_current(project_dir, config, stored, directory):
        return Plan.from_dict(stored)
    plan = record(main_program(project_dir), config)
    plan_cache.store(directory, key, plan)
    return plan
