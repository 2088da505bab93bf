"""Load one or more mapping files into a validated ``TwinModel``, reporting every error with its position.

Validation runs in phases: the file skeleton, the ``twin``/``gateway`` sections, sources (base model, then
the adapter's own ``config_model``, sources.py), assets (with profile instances expanded, assets.py), points
(addresses validated by the source's adapter, points.py), and finally cross-file checks. Nothing connects
anywhere here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from pydantic import ValidationError

from gateway.config.analytics import resolve_analytics, wants_derived_source
from gateway.config.assets import asset, build_assets, top_level_point
from gateway.config.context import Ctx
from gateway.config.envvars import checked, unset_report
from gateway.config.errors import ConfigError, ConfigErrors
from gateway.config.history import resolve_history
from gateway.config.locations import build_locations, location
from gateway.config.models import MappingFile
from gateway.config.points import build_points
from gateway.config.profiles import ProfileLibrary, builtin_profile_dir
from gateway.config.sources import check_sources, source
from gateway.config.topology import resolve_relations
from gateway.config.validation import pydantic_errors
from gateway.config.vocabulary import collect_vocabulary
from gateway.config.yamlmarks import Marked, load_yaml
from gateway.model import TwinModel, TwinSettings
from gateway.northbound.registry import service_specs
from gateway.rules.spec import DERIVED_SOURCE, derived_source


def load_mappings(
    files: Sequence[str | Path],
    *,
    env: Mapping[str, str] | None = None,
    texts: Mapping[str, str] | None = None,
    notes: list[ConfigError] | None = None,
) -> TwinModel:
    """Validate mapping files together and build the twin model; raise ``ConfigErrors`` listing every problem.

    ``texts`` maps file names to content, for tests and tools that build mappings in memory. With ``notes``
    given, unset ``${VAR}``s are notes appended to it instead of errors (a check without the secrets).
    """
    ctx = Ctx()
    marked: list[Marked] = []
    docs = _read(files, env, texts, ctx, marked)
    for doc, skel in docs:
        _twin_section(ctx, doc, skel)
    settings = ctx.settings or TwinSettings()
    library = _profile_library(settings, [d for d, _ in docs])
    ctx.profiles = library
    ctx.vocabulary = collect_vocabulary(docs, ctx.errors)
    for doc, skel in docs:
        _central_view(ctx, settings, doc, skel)
        _gateway_section(ctx, doc, skel)
        for i, raw in enumerate(skel.sources):
            source(ctx, doc, ("sources", i), raw)
    for doc, skel in docs:
        for i, raw in enumerate(skel.locations):
            location(ctx, doc, ("locations", i), raw)
        for i, raw in enumerate(skel.assets):
            asset(ctx, doc, ("assets", i), raw, library)
        for i, raw in enumerate(skel.points):
            top_level_point(ctx, doc, ("points", i), raw)
    ctx.errors.extend(library.errors)

    model = TwinModel(settings=settings, services=ctx.services, files=[str(f) for f in files], profiles=library)
    model.sources = ctx.sources
    model.source_origins = ctx.source_origins
    # the terms each adapter in use writes, for the twin's ontology graph and the SHACL check
    model.ontology_fragments = sorted({str(f) for a in ctx.adapters.values() if (f := a.ontology()) is not None})
    model.locations.update(build_locations(ctx))  # first: assets and points name their location
    model.assets.update(build_assets(ctx))
    model.points.update(build_points(ctx))
    resolve_relations(ctx, model.assets, model.points, model.locations)
    model.vocabulary = ctx.vocabulary
    check_sources(ctx, model.points)
    model.history = resolve_history(ctx, model, marked)  # each point's history policy (gateway/config/history.py)
    # derived points' expressions, alarm rules, anomaly detectors (gateway/config/analytics.py; None: none)
    model.analytics = resolve_analytics(ctx, model, marked, texts)
    if wants_derived_source(ctx, model.analytics):
        model.sources[DERIVED_SOURCE] = derived_source()
    if not ctx.errors:  # a service's check needs a sound model
        _check_services(ctx, model)
    unset = unset_report(marked, as_notes=notes is not None)
    (ctx.errors if notes is None else notes).extend(unset)
    if ctx.errors:
        raise ConfigErrors(ctx.follow.annotate(ctx.errors))
    return model


def _read(
    files: Sequence[str | Path],
    env: Mapping[str, str] | None,
    texts: Mapping[str, str] | None,
    ctx: Ctx,
    marked: list[Marked],
) -> list[tuple[Marked, MappingFile]]:
    """Each file parsed (positions kept) and its skeleton checked; ``marked`` gets every parsed document."""
    docs: list[tuple[Marked, MappingFile]] = []
    for f in files:
        name = str(f)
        doc, errs = load_yaml(name, None if texts is None else texts.get(name), env, report_unset=False)
        ctx.errors.extend(errs)
        marked.append(doc)
        if doc.data is None:
            if not errs:
                ctx.errors.append(ConfigError(name, 1, 1, "", "the file is empty"))
            continue
        if not isinstance(doc.data, dict):
            ctx.errors.append(doc.error((), "a mapping file must be a YAML mapping (sources:, assets:, ...)"))
            continue
        try:
            skeleton = MappingFile.model_validate(doc.data)
        except ValidationError as exc:
            ctx.errors.extend(pydantic_errors(exc, doc, model=MappingFile))
            continue
        docs.append((doc, skeleton))
    return docs


# -- sections -----------------------------------------------------------------------------------


def _twin_section(ctx: Ctx, doc: Marked, skel: MappingFile) -> None:
    if skel.twin is None:
        return
    here = f"{doc.file}:{doc.mark(('twin',))[0]}"
    if ctx.settings is not None:
        ctx.errors.append(
            doc.error(("twin",), f"the twin: section may appear in one file only (already in {ctx.settings_at})")
        )
        return
    settings = checked(TwinSettings, skel.twin, doc, ("twin",), ctx.errors)
    if settings is None:
        return
    # profile paths are relative to the file that names them
    base = Path(doc.file).parent
    paths = [str((base / p).resolve()) for p in settings.profile_paths]
    if settings.store is not None and not Path(settings.store).is_absolute():
        settings = settings.model_copy(update={"store": str((base / settings.store).resolve())})
    ctx.settings = settings.model_copy(update={"profile_paths": paths})
    ctx.settings_at = here


def _central_view(ctx: Ctx, settings: TwinSettings, doc: Marked, skel: MappingFile) -> None:
    """A central view (``twin: remote:``) takes every asset and point from the shared store: none of its own."""
    if settings.remote is None:
        return
    for section in ("sources", "locations", "assets", "points"):
        if getattr(skel, section):
            ctx.errors.append(
                doc.error(
                    (section,),
                    f"a central view (twin: remote:) has no {section} of its own: it serves those of the gateways "
                    "replicating into the shared store (docs/scale-out.md)",
                )
            )
    for section in ("analytics", "alarms", "anomaly"):
        if getattr(skel, section):
            ctx.errors.append(
                doc.error(
                    (section,),
                    f"a central view (twin: remote:) computes no {section}: give them to the gateway that owns the "
                    "points, whose results it then serves (docs/scale-out.md)",
                )
            )


def _gateway_section(ctx: Ctx, doc: Marked, skel: MappingFile) -> None:
    if not skel.gateway:
        return
    specs = service_specs()
    for name, raw in skel.gateway.items():
        path = ("gateway", name)
        spec = specs.get(name)
        if spec is None:
            known = ", ".join(sorted(specs)) or "none installed"
            ctx.errors.append(doc.error(path, f"unknown gateway section '{name}' (known: {known})"))
            continue
        if name in ctx.services:
            ctx.errors.append(doc.error(path, f"gateway.{name} is configured in more than one file"))
            continue
        cfg = checked(spec.config_model, raw if raw is not None else {}, doc, path, ctx.errors)
        if cfg is not None:
            ctx.services[name] = cfg
            ctx.service_docs[name] = doc


def _check_services(ctx: Ctx, model: TwinModel) -> None:
    """Each service's checks against the assets and points (topic collisions...), at the section's file:line."""
    specs = service_specs()
    for name, cfg in ctx.services.items():
        doc = ctx.service_docs[name]
        for issue in specs[name].check_model(cfg, model):
            ctx.errors.append(doc.error(("gateway", name, *issue.path), issue.message))


def _profile_library(settings: TwinSettings, docs: list[Marked]) -> ProfileLibrary:
    lib = ProfileLibrary()
    for p in settings.profile_paths:
        lib.add_dir(Path(p))
    for doc in docs:
        lib.add_dir(Path(doc.file).parent / "profiles")
    lib.add_dir(builtin_profile_dir())
    return lib
