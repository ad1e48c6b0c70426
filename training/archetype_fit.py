"""Fit the weekly archetypes (`inference_code.archetypes`) by EM, choosing how many by held-out
likelihood.

A latent-class model: each contact belongs to one of K archetypes at one of a few levels; an
archetype is a weekly shape (a logit per cell: day type x hour), a level shifts the whole shape
up or down on the logit scale (people of one shape still answer more or less often overall: fit
without levels, the mixture spent its archetypes on how often people answer and gave a minority's
shape none); a contact's calls are Bernoulli draws from its archetype's curve at its level; the
archetype shares depend on the contact's time zone, the level shares are the population's. EM
alternates the contacts' posteriors and the curves (a few Newton steps per cell, every level's
calls pooled through its offset). The curves are estimated smooth across neighbouring hours (a
Gaussian kernel over the circular hour) and each day type is pulled towards the archetype's
all-week curve, so a cell the dialer rarely calls still gets a sensible rate. Zone shares are
pulled towards the population's, so a zone with few contacts borrows the others' mix.

K is chosen on contacts held out of the fit by the marginal likelihood of their calls (too few
archetypes cannot tell people apart, too many fit noise: both predict unseen contacts worse):
the fewest archetypes whose held-out likelihood is within one standard error of the best (the
one-standard-error rule: beyond that point the candidates are indistinguishable on held-out
contacts, and the simpler one generalizes more reliably). Seeded, so deterministic.

The hour smoothing is chosen the same way, before K (`hour_sigma_candidates`).

The settings (levels at -1, 0, +1 logit, at most 10 archetypes: 30 components, as many as the 32
archetypes before levels, so serving and training cost what they did; the smoothing candidates)
were chosen by held-out capture per behaviour group and history depth on the three generator
settings (`make bench-quality`; docs/model.md has the comparison).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from inference_code.archetypes import HOURS, N_CELLS, N_DAYTYPES, Archetypes
from inference_code.week_days import WEEK


@dataclass(frozen=True)
class ArchetypeSettings:
    # At most 10 archetypes x 3 levels: each component is 96 numbers shipped and one number per
    # training row's posterior.
    candidates: tuple[int, ...] = (1, 2, 4, 6, 8, 10)
    levels: tuple[float, ...] = (-1.0, 0.0, 1.0)  # logit offsets of a shape's levels
    iterations: int = 40
    selection_iterations: int = 25
    refit_iterations: int = 15  # a refit starts from fitted archetypes (`refit`)
    newton_steps: int = 6  # per M-step, for each cell's logit
    holdout_fraction: float = 0.2
    max_selection_contacts: int = 20_000  # K is chosen on at most this many contacts
    hour_sigma: float = 1.0  # when not chosen (no candidates, or too few contacts to hold out)
    # The hour smoothing is chosen like K, on held-out contacts' likelihood (at
    # `sigma_selection_k` archetypes, before K): the smoothest within one standard error of the
    # best. Peaks as narrow as a lunch hour blur under a wide kernel. Not below 0.7 hours:
    # held-out likelihood prefers 0.5 on all three generator settings, but it has no calls where
    # the dialer never calls, and there a narrower kernel borrows too little from the
    # neighbouring hours (measured: office's night owls and flat people lost more than lunch
    # people gained; docs/model.md).
    hour_sigma_candidates: tuple[float, ...] = (0.7, 1.0)
    sigma_selection_k: int = 6
    daytype_strength: float = 5.0
    population_strength: float = 2.0
    zone_strength: float = 20.0  # pseudo-contacts pulling a zone's shares to the population's
    random_state: int = 0


_GAP = np.abs(np.arange(HOURS)[:, None] - np.arange(HOURS)[None, :])
_CLIP = 1e-3
MAX_STEP = 1.0  # logits per Newton step (`_newton`)


def _kernel(sigma: float) -> np.ndarray:
    gap = np.minimum(_GAP, HOURS - _GAP)
    return np.exp(-(gap**2) / (2 * sigma**2)) if sigma > 0 else np.eye(HOURS)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _CLIP, 1 - _CLIP)
    return np.log(p / (1 - p))


@dataclass
class _Fit:
    shapes: np.ndarray  # (K, N_CELLS) logits
    weights: np.ndarray  # (K,)
    zone_weights: np.ndarray  # (Z, K)
    level_weights: np.ndarray  # (L,)
    levels: np.ndarray  # (L,) logit offsets

    @property
    def rates(self) -> np.ndarray:
        """(K * L, N_CELLS) every component's answer probability, archetype-major."""
        x = self.shapes[:, None, :] + self.levels[None, :, None]
        return np.clip(_sigmoid(x), _CLIP, 1 - _CLIP).reshape(-1, N_CELLS)

    def log_prior(self, zone: np.ndarray) -> np.ndarray:
        """(C, K * L) each contact's log prior of each component: its zone's row of the
        zones' table (computed once a zone, not once a contact)."""
        joint = self.zone_weights[:, :, None] * self.level_weights[None, None, :]
        return np.log(joint.reshape(len(self.zone_weights), -1))[zone]


def _newton(answers: np.ndarray, calls: np.ndarray, levels: np.ndarray, strength: float,
            target: np.ndarray, start: np.ndarray, steps: int) -> np.ndarray:
    """Per cell, the logit x maximizing the levels' Bernoulli likelihood (answers and calls
    (K, L, ...) at x + level) plus `strength` pseudo-calls at rate sigmoid(target) (level 0).
    Each step is at most MAX_STEP logits: a full Newton step from a few logits away overshoots
    (the curvature vanishes in the tails) and can swing between the bounds for ever."""
    x = start.copy()
    offset = levels.reshape((1, -1) + (1,) * (answers.ndim - 2))
    pseudo = _sigmoid(target)
    for _ in range(steps):
        p = _sigmoid(x[:, None] + offset)
        q = _sigmoid(x)
        gradient = (answers - calls * p).sum(axis=1) + strength * (pseudo - q)
        curvature = (calls * p * (1 - p)).sum(axis=1) + strength * q * (1 - q) + 1e-9
        x = np.clip(x + np.clip(gradient / curvature, -MAX_STEP, MAX_STEP), -9.0, 9.0)
    return x


def _m_step_shapes(answers: np.ndarray, calls: np.ndarray, fit: _Fit, week_population: np.ndarray,
                   settings: ArchetypeSettings, kernel: np.ndarray) -> np.ndarray:
    """(K, N_CELLS) logits from expected answers and calls per component (K * L, N_CELLS)."""
    k, n_levels = fit.shapes.shape[0], len(fit.levels)
    a = answers.reshape(k, n_levels, N_DAYTYPES, HOURS) @ kernel
    n = calls.reshape(k, n_levels, N_DAYTYPES, HOURS) @ kernel
    current = fit.shapes.reshape(k, N_DAYTYPES, HOURS)
    week = _newton(a.sum(axis=2), n.sum(axis=2), fit.levels, settings.population_strength,
                   week_population[None, :], current.mean(axis=1), settings.newton_steps)
    shapes = _newton(a, n, fit.levels, settings.daytype_strength, week[:, None, :], current,
                     settings.newton_steps)
    return shapes.reshape(k, N_CELLS)


def _log_joint(calls: np.ndarray, answers: np.ndarray, fit: _Fit, zone: np.ndarray,
               misses: np.ndarray | None = None) -> np.ndarray:
    """(C, K * L) log prior + log-likelihood; `misses` (calls - answers), when the caller
    iterates, computed once."""
    rates = fit.rates
    misses = calls - answers if misses is None else misses
    return answers @ np.log(rates).T + misses @ np.log1p(-rates).T + fit.log_prior(zone)


def _em(calls: np.ndarray, answers: np.ndarray, zone: np.ndarray, n_zones: int, k: int,
        iterations: int, settings: ArchetypeSettings, start: _Fit | None = None) -> _Fit:
    rng = np.random.default_rng(settings.random_state)
    kernel = _kernel(settings.hour_sigma)
    rate = answers.sum() / max(calls.sum(), 1)
    population = (answers.sum(axis=0) + 10 * rate) / (calls.sum(axis=0) + 10)
    week_population = _logit(population.reshape(N_DAYTYPES, HOURS).mean(axis=0))
    levels = np.asarray(settings.levels if start is None else start.levels, dtype=np.float64)
    fit = start or _Fit(_logit(population)[None, :] + rng.normal(0, 0.4, (k, N_CELLS)),
                        np.full(k, 1 / k), np.full((n_zones, k), 1 / k),
                        np.full(len(levels), 1 / len(levels)), levels)
    misses = calls - answers
    for _ in range(iterations):
        posterior = Archetypes.posterior(_log_joint(calls, answers, fit, zone, misses),
                                         in_place=True)
        by_shape = posterior.reshape(len(calls), k, len(levels))
        # The sums numpy's reductions give, in their order (each level after the other; every
        # (contact, archetype) row after the other), without their per-row loops over 3 levels.
        per_contact = by_shape[:, :, 0].copy()
        for level in range(1, len(levels)):
            per_contact += by_shape[:, :, level]
        weights = per_contact.mean(axis=0) + 1e-6
        weights /= weights.sum()
        rows = by_shape.reshape(-1, len(levels))
        level_weights = np.array([np.cumsum(rows[:, level])[-1] for level in range(len(levels))]
                                 ) + 1e-6
        level_weights /= level_weights.sum()
        # each zone's sum in contact order, as np.add.at adds (at a tenth of its cost)
        per_zone = np.stack([np.bincount(zone, weights=per_contact[:, j], minlength=n_zones)
                             for j in range(k)], axis=1)
        zone_weights = ((per_zone + settings.zone_strength * weights)
                        / (per_zone.sum(axis=1, keepdims=True) + settings.zone_strength))
        shapes = _m_step_shapes(posterior.T @ answers, posterior.T @ calls, fit,
                                week_population, settings, kernel)
        fit = _Fit(shapes, weights, zone_weights, level_weights, levels)
    return fit


def held_out_log_likelihood(calls: np.ndarray, answers: np.ndarray, zone: np.ndarray,
                            fit: _Fit) -> np.ndarray:
    """Per contact, log P(its calls' outcomes) under the mixture (its archetype unknown)."""
    log_joint = _log_joint(calls, answers, fit, zone)
    top = log_joint.max(axis=1)
    return top + np.log(np.exp(log_joint - top[:, None]).sum(axis=1))


def one_standard_error_choice(per_contact: dict[float, np.ndarray], simplest_first: bool = True
                              ) -> float:
    """The simplest candidate (the smallest K; with simplest_first=False the largest, as for the
    smoothest hour kernel) whose total held-out log-likelihood is within one standard error (of
    the paired per-contact difference) of the best candidate's."""
    best = max(per_contact, key=lambda k: per_contact[k].sum())
    for k in sorted(per_contact, reverse=not simplest_first):
        diff = per_contact[best] - per_contact[k]
        if diff.sum() <= np.sqrt(len(diff)) * diff.std(ddof=1):
            return k
    return best


@dataclass(frozen=True)
class Selection:
    k: int
    held_out_log_likelihood: dict[int, float]
    contacts: int
    hour_sigma: float = ArchetypeSettings.hour_sigma
    by_hour_sigma: dict[float, float] | None = None  # held-out log-likelihood per candidate

    def to_dict(self) -> dict[str, object]:
        return {"chosen": self.k, "held_out_contacts": self.contacts,
                "held_out_log_likelihood": {str(k): round(v, 1)
                                            for k, v in self.held_out_log_likelihood.items()},
                "hour_sigma": self.hour_sigma,
                "held_out_log_likelihood_by_hour_sigma": {
                    str(s): round(v, 1) for s, v in (self.by_hour_sigma or {}).items()}}


def chosen_hour_sigma(selection: dict) -> float:
    """The hour smoothing a fit chose (`Selection.to_dict`); a model from before it was chosen
    was fitted with the default."""
    sigma = selection.get("hour_sigma", ArchetypeSettings.hour_sigma)
    if isinstance(sigma, bool) or not isinstance(sigma, (int, float)) or not (
            0 <= sigma < float("inf")):
        raise ValueError(f"archetypes.selection.hour_sigma must be a finite number >= 0 (hours), "
                         f"got {sigma!r}")
    return float(sigma)


def fit(calls: np.ndarray, answers: np.ndarray, zones: np.ndarray,
        settings: ArchetypeSettings | None = None) -> tuple[Archetypes, Selection]:
    """Archetypes from contacts' calls and answers per cell, (C, N_CELLS) each, and their zones
    (C,); rows in a fixed order (contact id), so the fit is deterministic."""
    settings = settings or ArchetypeSettings()
    if calls.shape[1:] != (N_CELLS,) or answers.shape != calls.shape:
        raise ValueError(f"calls and answers must be (contacts, {N_CELLS}), got "
                         f"{calls.shape} and {answers.shape}")
    names, zone = np.unique(np.asarray(zones, dtype=str), return_inverse=True)
    rng = np.random.default_rng(settings.random_state)
    chosen = np.arange(len(calls))
    if len(chosen) > settings.max_selection_contacts:
        chosen = np.sort(rng.choice(chosen, settings.max_selection_contacts, replace=False))
    held_out = rng.random(len(chosen)) < settings.holdout_fraction
    fit_rows, test_rows = chosen[~held_out], chosen[held_out]
    per_contact: dict[int, np.ndarray] = {}
    by_sigma: dict[float, np.ndarray] = {}
    if len(test_rows) > 1 and len(fit_rows):
        for sigma in settings.hour_sigma_candidates:
            trial = _em(calls[fit_rows], answers[fit_rows], zone[fit_rows], len(names),
                        settings.sigma_selection_k, settings.selection_iterations,
                        replace(settings, hour_sigma=sigma))
            by_sigma[sigma] = held_out_log_likelihood(calls[test_rows], answers[test_rows],
                                                      zone[test_rows], trial)
        if by_sigma:
            settings = replace(settings, hour_sigma=float(
                one_standard_error_choice(by_sigma, simplest_first=False)))
        for k in settings.candidates:
            trial = _em(calls[fit_rows], answers[fit_rows], zone[fit_rows], len(names), k,
                        settings.selection_iterations, settings)
            per_contact[k] = held_out_log_likelihood(calls[test_rows], answers[test_rows],
                                                     zone[test_rows], trial)
    k = int(one_standard_error_choice(per_contact)) if per_contact else min(settings.candidates)
    scores = {k: float(v.sum()) for k, v in per_contact.items()}
    final = _em(calls, answers, zone, len(names), k, settings.iterations, settings)
    return _archetypes(final, names), Selection(
        k, scores, len(test_rows), settings.hour_sigma,
        {s: float(v.sum()) for s, v in by_sigma.items()})


def _archetypes(fit: _Fit, zone_names: np.ndarray) -> Archetypes:
    def components(shares: np.ndarray) -> np.ndarray:
        # At least one in a million: metadata rounds shares to 6 decimals, and a share rounded
        # to 0 would be a component no evidence could ever select (a log of 0 at serving).
        joint = np.maximum((shares[:, None] * fit.level_weights[None, :]).ravel(), 1e-6)
        return joint / joint.sum()

    return Archetypes(fit.rates, components(fit.weights),
                      {str(name): components(fit.zone_weights[i])
                       for i, name in enumerate(zone_names)},
                      tuple(float(level) for level in fit.levels), WEEK)


def _start(archetypes: Archetypes, zone_names: np.ndarray) -> _Fit:
    """The EM state `archetypes` was shipped from: shapes, archetype and level shares (a model
    shipped before levels existed is one level at offset 0)."""
    levels = np.asarray(archetypes.levels, dtype=np.float64)
    k, n_levels = archetypes.shapes, len(levels)
    middle = int(np.argmin(np.abs(levels)))
    rates = archetypes.rates.reshape(k, n_levels, N_CELLS)
    shares = archetypes.weights.reshape(k, n_levels)
    zone_weights = np.array([archetypes.zone_weights.get(str(n), archetypes.weights)
                             for n in zone_names]).reshape(len(zone_names), k, n_levels)
    return _Fit(_logit(rates[:, middle]) - levels[middle], shares.sum(axis=1),
                zone_weights.sum(axis=2), shares.sum(axis=0) / shares.sum(), levels)


def refit(calls: np.ndarray, answers: np.ndarray, zones: np.ndarray, start: Archetypes,
          settings: ArchetypeSettings | None = None) -> Archetypes:
    """The same archetypes and levels, refit on other contacts (every call, or a cross-fitting
    fold) by EM started from `start`'s curves and shares: cheaper than a fit from scratch, and
    the refit archetype k stays the fitted archetype k."""
    settings = settings or ArchetypeSettings()
    names, zone = np.unique(np.asarray(zones, dtype=str), return_inverse=True)
    final = _em(calls, answers, zone, len(names), start.shapes, settings.refit_iterations,
                settings, _start(start, names))
    return _archetypes(final, names)
